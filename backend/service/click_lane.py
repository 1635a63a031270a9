"""The click lane: prompts and embedding warm-ups, beside the job worker, so that a click never waits for a
language job.

A second thread, with its own view of the segmenter: the job's loaded SAM when it is the same checkpoint (the
weights are shared, the predictor's state is not), or its own load. On a GPU both lanes' kernels interleave;
a prompt costs one mask decode on a cached embedding. The alternative, prompts interleaved by the job worker
between its batches, would make a click wait up to a whole batch (16 tiles, seconds). Prompts come before
warm-ups; a newer prompt of the same session replaces an older one still waiting, so no stale previews queue.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import contract

from ..errors import UserError
from ..geo.access import RasterAccess
from ..geo.raster import PixelWindow, RasterSource, raster_identity
from ..geo.tiling import grid_windows_near
from ..models.embedding_cache import EmbeddingCache, shared_cache, window_key
from ..models.segmenter import supports_encoding
from ..prompt import PromptAnswer, segment_prompt

log = logging.getLogger(__name__)

MAX_WARM_TILES = 16  # tiles encoded ahead for one view: the ones nearest its centre
OPEN_RASTERS = 4
PROMPT_TIMEOUT_S = 300.0  # the first prompt may load the segmenter


class SupersededError(UserError):
    """A newer prompt of the same session came before this one was answered."""

    http_status = 409
    code = "superseded"


@dataclass
class _Prompt:
    request: contract.PromptSpec
    segmenter: Path  # the checkpoint the request's segmenter resolves to
    future: Future


@dataclass
class _Warm:
    request: contract.EncodeSpec
    segmenter: Path
    window: PixelWindow  # one tile of the job grid under the request's bounds


SegmenterSource = Callable[[Path], Any]  # resolved checkpoint -> a segmenter only this lane uses


class ClickLane:
    """One thread for prompts and warm-ups; request handlers hand work over and wait for prompts only."""

    def __init__(
        self, segmenter_for: SegmenterSource, access: RasterAccess | None = None, cache: EmbeddingCache | None = None
    ):
        self._segmenter_for = segmenter_for
        self.access = access or RasterAccess()
        self.cache = cache
        self._prompts: deque[_Prompt] = deque()
        self._warm: deque[_Warm] = deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._rasters: OrderedDict[tuple, RasterSource] = OrderedDict()
        self._thread = threading.Thread(target=self._loop, name="think2map-clicks", daemon=True)
        self.answered = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        with self._cond:
            self._stopping = True
            for item in self._prompts:
                item.future.set_exception(UserError("The server is shutting down.", "shutting_down"))
            self._prompts.clear()
            self._warm.clear()
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout)
        for source in self._rasters.values():
            source.close()

    # -- from request handlers ----------------------------------------------------------------------------
    def prompt(self, request: contract.PromptSpec, segmenter: Path) -> PromptAnswer:
        """Segment ``request`` on the lane and wait for the answer (``UserError`` for bad prompts)."""
        item = _Prompt(request, segmenter, Future())
        session = request.session
        with self._cond:
            if self._stopping:
                raise UserError("The server is shutting down.", "shutting_down")
            if session is not None:
                for old in [p for p in self._prompts if p.request.session == session]:
                    self._prompts.remove(old)
                    old.future.set_exception(SupersededError("A newer prompt replaced this one.", "superseded"))
            self._prompts.append(item)
            self._cond.notify_all()
        return item.future.result(PROMPT_TIMEOUT_S)

    def warm(self, request: contract.EncodeSpec, segmenter: Path) -> dict:
        """Queue the encoding of the job-grid tiles under the request's bounds (nearest the centre first, at most
        16).

        Warm-ups of the same session still waiting are replaced. Returns how many windows there are, how many
        are cached already and how many were queued.
        """
        # Its own handle: the lane's open rasters are the lane thread's alone (GDAL handles are not shared).
        with _open(request, self.access) as source:
            area = source.window_from_bounds(request.bounds)
            cx, cy = area.col_off + area.width / 2, area.row_off + area.height / 2
            box = (area.col_off, area.row_off, area.col_end, area.row_end)
            under = grid_windows_near(source.width, source.height, request.tile_size, request.overlap, box)
            under.sort(key=lambda w: (w.col_off + w.width / 2 - cx) ** 2 + (w.row_off + w.height / 2 - cy) ** 2)
            under = under[:MAX_WARM_TILES]
            cached = [w for w in under if self._cached(source, w, segmenter)]
        todo = [w for w in under if w not in cached]
        with self._cond:
            if request.session is not None:
                self._warm = deque(w for w in self._warm if w.request.session != request.session)
            self._warm.extend(_Warm(request, segmenter, w) for w in todo)
            self._cond.notify_all()
        return {"windows": len(under), "cached": len(cached), "queued": len(todo)}

    def cancel_warm(self, session: str | None = None) -> int:
        """Drop the waiting warm-ups (of ``session``, or all); how many were dropped."""
        with self._cond:
            before = len(self._warm)
            self._warm = deque(w for w in self._warm if session is not None and w.request.session != session)
            return before - len(self._warm)

    def info(self) -> dict:
        with self._cond:
            return {
                "prompts_waiting": len(self._prompts),
                "warm_ups_waiting": len(self._warm),
                "prompts_answered": self.answered,
            }

    # -- the lane's thread --------------------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._prompts and not self._warm and not self._stopping:
                    self._cond.wait()
                if self._stopping:
                    return
                item = self._prompts.popleft() if self._prompts else self._warm.popleft()
            try:
                if isinstance(item, _Prompt):
                    self._answer(item)
                else:
                    self._encode(item)
            except UserError as exc:  # a warm-up on a raster that cannot be read: one line, no traceback
                log.warning("a warm-up was dropped: %s", exc)
            except Exception:  # the lane must survive anything one request does
                log.exception("the click lane failed on a request")

    def _answer(self, item: _Prompt) -> None:
        if not item.future.set_running_or_notify_cancel():
            return
        try:
            source = self._source(item.request)
            segmenter = self._segmenter_for(item.segmenter)
            answer = segment_prompt(source, item.request, segmenter, self._cache())
        except BaseException as exc:  # handed to the waiting request, which turns it into a message
            item.future.set_exception(exc)
            return
        self.answered += 1
        item.future.set_result(answer)

    def _encode(self, item: _Warm) -> None:
        source = self._source(item.request)
        segmenter = self._segmenter_for(item.segmenter)
        cache = self._cache()
        if not supports_encoding(segmenter) or cache is None or self._cached(source, item.window, item.segmenter):
            return
        image, _ = source.read(item.window)
        cache.put(window_key(source, item.window, segmenter), segmenter.encode([image])[0])
        cache.note_encoded()

    def _cache(self) -> EmbeddingCache | None:
        return self.cache if self.cache is not None else shared_cache()

    def _cached(self, source: RasterSource, window: PixelWindow, segmenter_path: Path) -> bool:
        cache = self._cache()
        segmenter = self._segmenter_for(segmenter_path)
        return cache is not None and cache.peek(window_key(source, window, segmenter))

    def _source(self, request: contract.RasterSpec) -> RasterSource:
        """The raster as ``request`` reads it, kept open for the next prompts (opened again when the file changed);
        lane thread only."""
        raster = request.raster
        key = (raster, request.bands, request.pixel_coords)
        source = self._rasters.get(key)
        if source is not None:
            if raster_identity(raster) == source.identity:
                self._rasters.move_to_end(key)
                return source
            source.close()
            del self._rasters[key]
        source = _open(request, self.access)
        self._rasters[key] = source
        while len(self._rasters) > OPEN_RASTERS:
            _, old = self._rasters.popitem(last=False)
            old.close()
        return source


def _open(request: contract.RasterSpec, access: RasterAccess) -> RasterSource:
    return RasterSource(request.raster, request.bands, pixel_coords=request.pixel_coords, access=access)
