"""An LRU cache of SAM image embeddings, shared by queries and clicks: a second query, or a click, on an area
already encoded skips the encoder.

Keys name exactly what the encoder saw: the raster file (path, modification time, size), the window (and the
size it was read at), the bands, and the segmenter's checkpoint. Values are the segmenters' embedding objects,
which report their size in ``nbytes``; the cache holds at most ``max_bytes`` of them in memory and drops the
least recently used first. With a folder, embeddings are also kept on disk (at most ``max_disk_bytes``), so they
outlive the process; a rewritten raster or checkpoint has another key, so a stale file is never read.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_MB = 1024
DEFAULT_DISK_MB = 4096
ENV_MB = "THINK2MAP_EMBEDDING_CACHE_MB"
ENV_DIR = "THINK2MAP_EMBEDDING_CACHE_DIR"
ENV_DISK_MB = "THINK2MAP_EMBEDDING_CACHE_DISK_MB"


def segmenter_identity(segmenter: Any) -> Hashable:
    """A key for one loaded segmenter: its ``cache_id`` (one per checkpoint) when it encodes ahead, else its id."""
    from .segmenter import EncodingSegmenter

    if isinstance(segmenter, EncodingSegmenter) and segmenter.cache_id:
        return segmenter.cache_id
    return (type(segmenter).__name__, id(segmenter))


def embedding_key(raster: tuple, window: Sequence[int], bands: Sequence[int], segmenter: Any) -> tuple:
    """The cache key of one tile's embedding (``raster``: the raster's identity, ``geo.raster.raster_identity``)."""
    return (raster, tuple(int(v) for v in window), tuple(int(b) for b in bands), segmenter_identity(segmenter))


def window_key(source: Any, window: Any, segmenter: Any, out_shape: tuple[int, int] | None = None) -> tuple:
    """The key of a window's embedding, the one every reader uses (a job's tiles, a click, a warm-up): the open
    raster (a ``geo.raster.RasterSource``: its identity and bands), the window (``PixelWindow``), the segmenter,
    and the size it was read at when not its own (a window larger than the encoder's input)."""
    bounds = (window.col_off, window.row_off, window.width, window.height) + tuple(out_shape or ())
    return embedding_key(source.identity, bounds, source.bands, segmenter)


class EmbeddingCache:
    """A thread-safe LRU bounded by the total ``nbytes`` of its values. ``max_bytes=0`` disables it.

    ``folder``: keep embeddings on disk too, at most ``max_disk_bytes`` (the oldest go first).
    """

    def __init__(self, max_bytes: int, folder: str | Path | None = None, max_disk_bytes: int = 0) -> None:
        self.max_bytes = max(0, int(max_bytes))
        self.folder = Path(folder).expanduser() if folder else None
        self.max_disk_bytes = max(0, int(max_disk_bytes))
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self.disk_hits = 0
        self.encoded = 0  # embeddings made by the encoder and stored here (told by the callers)

    def __len__(self) -> int:
        return len(self._items)

    def keys(self) -> list[Hashable]:
        """The keys held in memory, least recently used first."""
        with self._lock:
            return list(self._items)

    def peek(self, key: Hashable) -> bool:
        """Whether ``key`` is held (in memory or on disk), without counting a hit or a miss."""
        with self._lock:
            if key in self._items:
                return True
        return self.folder is not None and self._disk_path(key).is_file()

    def note_encoded(self, n: int = 1) -> None:
        with self._lock:
            self.encoded += n

    def stats(self) -> dict:
        """Counters for ``/health``: entries and bytes in memory, hits, misses, encodes, and what is on disk."""
        with self._lock:
            out = {
                "entries": len(self._items),
                "bytes": self.bytes,
                "max_bytes": self.max_bytes,
                "hits": self.hits,
                "misses": self.misses,
                "encoded": self.encoded,
                "disk_hits": self.disk_hits,
            }
        if self.folder is not None:
            files = list(self.folder.glob("*.pt")) if self.folder.is_dir() else []
            out.update(disk_entries=len(files), disk_bytes=sum(f.stat().st_size for f in files if f.exists()))
        return out

    def get(self, key: Hashable) -> Any | None:
        """The value, marked most recently used, or None (counted as a miss); from disk when only there."""
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
                self.hits += 1
                return item[0]
        value = self._load(key)
        with self._lock:
            if value is None:
                self.misses += 1
                return None
            self.hits += 1
            self.disk_hits += 1
        self._remember(key, value)
        return value

    def put(self, key: Hashable, value: Any) -> None:
        """Store ``value`` (its size is ``value.nbytes``); values larger than the whole budget are not kept."""
        self._remember(key, value)
        self._save(key, value)

    def _remember(self, key: Hashable, value: Any) -> None:
        size = int(getattr(value, "nbytes", 0))
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            if size > self.max_bytes:
                return
            self._items[key] = (value, size)
            self.bytes += size
            while self.bytes > self.max_bytes:
                _, (_, dropped) = self._items.popitem(last=False)
                self.bytes -= dropped

    def clear(self) -> None:
        """Forget what is in memory (the disk copies stay: they hold no GPU memory)."""
        with self._lock:
            self._items.clear()
            self.bytes = 0

    # -- on disk ----------------------------------------------------------------------------------------------
    def _disk_path(self, key: Hashable) -> Path:
        if self.folder is None:
            raise RuntimeError("folder is not set")
        return self.folder / (hashlib.sha256(repr(key).encode()).hexdigest()[:32] + ".pt")

    def _save(self, key: Hashable, value: Any) -> None:
        if self.folder is None or not hasattr(value, "features"):
            return
        import torch

        path = self._disk_path(key)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            temp = path.with_suffix(f".{os.getpid()}.part")
            data = {"features": _to_cpu(value.features), "hw": list(value.hw), "nbytes": int(value.nbytes)}
            torch.save(data, temp)
            os.replace(temp, path)  # a reader never sees half a file
            self._trim_disk()
        except OSError as exc:  # a full or read-only folder costs speed, never a job
            log.warning("could not keep an embedding on disk in %s: %s", self.folder, exc)

    def _load(self, key: Hashable) -> Any | None:
        if self.folder is None:
            return None
        path = self._disk_path(key)
        if not path.is_file():
            return None
        import torch

        from .segmenter import Embedding

        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
            path.touch()  # recently used: trimmed last
            return Embedding(data["features"], tuple(data["hw"]), int(data["nbytes"]))
        except Exception as exc:  # noqa: BLE001 - a damaged file is dropped, and the tile is encoded again
            log.warning("dropping an unreadable embedding %s: %s", path.name, exc)
            path.unlink(missing_ok=True)
            return None

    def _trim_disk(self) -> None:
        files = sorted(self.folder.glob("*.pt"), key=lambda f: f.stat().st_mtime_ns)
        total = sum(f.stat().st_size for f in files)
        while files and total > self.max_disk_bytes:
            oldest = files.pop(0)
            total -= oldest.stat().st_size
            oldest.unlink(missing_ok=True)


def _to_cpu(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_cpu(v) for v in value]
    return value.detach().cpu() if hasattr(value, "detach") else value


_shared: EmbeddingCache | None = None


def shared_cache() -> EmbeddingCache:
    """The process-wide cache of the pipeline and the click lane.

    Its budget is ``$THINK2MAP_EMBEDDING_CACHE_MB`` (1024 MB); ``$THINK2MAP_EMBEDDING_CACHE_DIR`` keeps embeddings
    on disk as well, at most ``$THINK2MAP_EMBEDDING_CACHE_DISK_MB`` (4096 MB).
    """
    global _shared
    if _shared is None:
        folder = os.environ.get(ENV_DIR) or None
        _shared = EmbeddingCache(
            int(_env_mb(ENV_MB, DEFAULT_MB) * 2**20), folder, int(_env_mb(ENV_DISK_MB, DEFAULT_DISK_MB) * 2**20)
        )
    return _shared


def _env_mb(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default
