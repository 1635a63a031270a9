"""One prompt over one raster (a click or a box, :class:`contract.PromptSpec`): points and a box in the raster's
CRS, one SAM prediction, polygons back. :mod:`.pipeline` is its sibling for a query over many tiles.

The window is the tile of the job grid that holds the prompts, so that a click and a query share their SAM
embedding (a query over an area warms the clicks there, and the other way round); a window already encoded
that holds the prompts is taken first. Prompts across a tile border get a window centred on them; a box larger
than a tile gets a window around it, read at the encoder's resolution. The polygons come from the same code
as a job's (``tile_pieces`` and ``finish_geometry``), so a click and a query give the same outline for the
same mask.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import numpy as np
import shapely
import shapely.affinity

import contract

from .errors import UserError
from .features import Feature, feature_properties
from .geo.areas import area_function, area_unit
from .geo.geometry import finish_geometry, tile_pieces
from .geo.raster import PixelWindow, RasterSource
from .geo.tiling import Tile, check_tiling, grid_windows_near
from .models.embedding_cache import EmbeddingCache, window_key
from .models.prompts import Instance
from .models.segmenter import CandidateSegmenter, Segmenter, supports_encoding

ENCODER_SIDE = 1024  # SAM's input: a larger window is read at this size, the encoder would shrink it anyway
MARGIN_PX = 24  # prompts this close to a window's edge get a window centred on them instead


@dataclass
class PromptAnswer:
    """The polygons of one prompt, where they were found, and what it cost."""

    features: list[Feature]
    window: tuple[int, int, int, int]
    cached: bool
    scale: float
    seconds: float
    encoded: bool = False
    crs: object = None  # the raster's CRS, which the polygons are in (None: pixel coordinates)


def check_prompts(request: contract.PromptSpec) -> None:
    """Refuse prompts that cannot be segmented, with one clear message each."""
    if not request.points and request.box is None:
        raise UserError("Give at least one point or a box.", "no_prompt")
    if len(request.points) > contract.PROMPT_POINTS_MAX:
        raise UserError(
            f"{len(request.points)} points is too many for one prompt; use at most {contract.PROMPT_POINTS_MAX}.",
            "too_many_points",
            points=len(request.points),
            max=contract.PROMPT_POINTS_MAX,
        )
    values = [v for p in request.points for v in p[:2]] + list(request.box or ())
    if not all(np.isfinite(values)):
        raise UserError("Prompt coordinates must be finite numbers.", "bad_prompt")
    if any(int(p[2]) not in (0, 1) for p in request.points):
        raise UserError("A point's label is 1 (inside the object) or 0 (outside).", "bad_prompt")
    if request.box is not None:
        x0, y0, x1, y1 = request.box
        if not (x1 > x0 and y1 > y0):
            raise UserError("The box has no size: drag a rectangle around the object.", "empty_box")
    if request.box is None and not any(int(p[2]) == 1 for p in request.points):
        raise UserError("Give at least one positive point (inside the object), or a box.", "no_positive_point")


def segment_prompt(
    source: RasterSource,
    request: contract.PromptSpec,
    segmenter: Segmenter,
    cache: EmbeddingCache | None = None,
    min_area_px: float = contract.MIN_AREA_PX_DEFAULT,
) -> PromptAnswer:
    """Segment what the prompts point at, on ``source`` opened as the request says (raster, bands, coordinates);
    polygons in the raster's CRS with the query results' attributes."""
    started = time.perf_counter()
    check_prompts(request)
    check_tiling(request.tile_size, request.overlap)
    cols, rows, box_px = _to_pixels(source, request)
    bbox = _pixel_bbox(cols, rows, box_px, source.width, source.height)
    grid = request.tile_size, request.overlap
    window, out_shape = choose_window(source.width, source.height, bbox, *grid, _cached(cache, source, segmenter))
    key = window_key(source, window, segmenter, out_shape)
    embedding = cache.get(key) if cache is not None and supports_encoding(segmenter) else None
    if embedding is None and request.only_cached:
        return PromptAnswer([], _tuple(window), False, 1.0, time.perf_counter() - started, crs=source.crs)
    image, valid = source.read(window, out_shape)
    scale = window.width / image.shape[1]
    encoded = embedding is None
    if embedding is None and supports_encoding(segmenter):
        embedding = segmenter.encode([image])[0]
        if cache is not None:
            cache.put(key, embedding)
            cache.note_encoded()
    if embedding is not None:
        segmenter.set_embedding(embedding)
    else:
        segmenter.set_image(image)
    instance = _instance(cols, rows, box_px, request.points, window, scale)
    if request.multimask and isinstance(segmenter, CandidateSegmenter):
        candidates = segmenter.predict_candidates(instance)
    else:
        candidates = [segmenter.predict(instance)]
    place = area_function(source.crs)
    features = []
    for rank, (mask, score) in enumerate(candidates):
        geom = mask_outline(mask & valid, score, window, scale, min_area_px)
        if geom is None:
            continue
        geom = finish_geometry(geom, source.georef.to_map, scale, min_area_px)
        if geom is not None:
            features.append(Feature(geom, _properties(source, segmenter, request, geom, score, rank, place)))
    seconds = time.perf_counter() - started
    return PromptAnswer(features, _tuple(window), not encoded, scale, seconds, encoded, source.crs)


def mask_outline(
    mask: np.ndarray, score: float, window: PixelWindow, scale: float, min_area_px: float
) -> shapely.Geometry | None:
    """The mask (window-sized, or ``scale`` times smaller) as one geometry in raster pixel coordinates.

    Made by the job's own ``tile_pieces``, on a tile whose core is the whole window.
    """
    h, w = mask.shape
    frame = PixelWindow(0, 0, w, h)
    pieces = tile_pieces(Tile(0, 0, 0, frame, frame), [mask], [score], None, {}, min_hole_px=min_area_px)
    if not pieces:
        return None
    # The pieces are the mask's connected parts: disjoint, so they make a MultiPolygon as they are.
    geom = pieces[0].geometry if len(pieces) == 1 else shapely.MultiPolygon([p.geometry for p in pieces])
    return shapely.affinity.affine_transform(geom, [scale, 0, 0, scale, window.col_off, window.row_off])


def choose_window(
    width: int,
    height: int,
    bbox: tuple[float, float, float, float],
    tile_size: int,
    overlap: int,
    cached: list[PixelWindow] | None = None,
) -> tuple[PixelWindow, tuple[int, int] | None]:
    """The window to read for prompts covering ``bbox`` (col0, row0, col1, row1), and the size to read it at.

    A cached window that holds them, else the job grid's tile that does, else one centred on them.
    """
    for window in cached or []:
        if _holds(window, bbox, width, height):
            return window, None
    for window in grid_windows_near(width, height, tile_size, overlap, bbox):
        if _holds(window, bbox, width, height):
            return window, None
    c0, r0, c1, r1 = bbox
    side = max(c1 - c0, r1 - r0) + 2 * MARGIN_PX
    size = max(tile_size, int(np.ceil(side * 1.1)))
    w, h = min(size, width), min(size, height)
    col = int(min(max(0, (c0 + c1) / 2 - w / 2), width - w))
    row = int(min(max(0, (r0 + r1) / 2 - h / 2), height - h))
    window = PixelWindow(col, row, w, h)
    if max(w, h) <= max(tile_size, ENCODER_SIDE):
        return window, None
    f = ENCODER_SIDE / max(w, h)
    return window, (max(1, round(h * f)), max(1, round(w * f)))


def _holds(window: PixelWindow, bbox, width: int, height: int) -> bool:
    """Whether ``bbox`` lies inside ``window`` with a margin (except along the raster's own edges)."""
    c0, r0, c1, r1 = bbox
    left = 0 if window.col_off == 0 else MARGIN_PX
    top = 0 if window.row_off == 0 else MARGIN_PX
    right = 0 if window.col_end == width else MARGIN_PX
    bottom = 0 if window.row_end == height else MARGIN_PX
    return (
        window.col_off + left <= c0
        and c1 <= window.col_end - right
        and window.row_off + top <= r0
        and r1 <= window.row_end - bottom
    )


def _to_pixels(source: RasterSource, request: contract.PromptSpec):
    xs = np.array([p[0] for p in request.points], dtype=float)
    ys = np.array([p[1] for p in request.points], dtype=float)
    cols, rows = source.georef.to_pixels(xs, ys) if len(xs) else (np.zeros(0), np.zeros(0))
    box_px = None
    if request.box is not None:
        x0, y0, x1, y1 = request.box
        bc, br = source.georef.to_pixels(np.array([x0, x1, x1, x0]), np.array([y0, y0, y1, y1]))
        box_px = (float(bc.min()), float(br.min()), float(bc.max()), float(br.max()))
    return cols, rows, box_px


def _pixel_bbox(cols, rows, box_px, width: int, height: int) -> tuple[float, float, float, float]:
    """The prompts' extent in raster pixels, clipped to the raster; refuses prompts entirely outside it."""
    inside = (cols >= 0) & (cols <= width) & (rows >= 0) & (rows <= height)
    if len(cols) and not inside.all():
        raise UserError(
            f"{int((~inside).sum())} point(s) lie outside the raster: click on the image.", "prompt_outside"
        )
    xs, ys = list(cols), list(rows)
    if box_px is not None:
        c0, r0, c1, r1 = box_px
        c0, r0, c1, r1 = max(0.0, c0), max(0.0, r0), min(float(width), c1), min(float(height), r1)
        if c1 - c0 < 1 or r1 - r0 < 1:
            raise UserError("The box lies outside the raster, or is less than a pixel.", "prompt_outside")
        xs += [c0, c1]
        ys += [r0, r1]
    return min(xs), min(ys), max(xs), max(ys)


def _instance(cols, rows, box_px, points, window: PixelWindow, scale: float) -> Instance:
    """The prompts in the pixels of the image read for ``window`` (``scale`` raster pixels per image pixel)."""
    pts = tuple(((c - window.col_off) / scale, (r - window.row_off) / scale) for c, r in zip(cols, rows))
    labels = tuple(int(p[2]) for p in points)
    box = None
    if box_px is not None:
        c0, r0, c1, r1 = box_px
        box = (
            (c0 - window.col_off) / scale,
            (r0 - window.row_off) / scale,
            (c1 - window.col_off) / scale,
            (r1 - window.row_off) / scale,
        )
    return Instance(box, pts, labels)


def _cached(cache: EmbeddingCache | None, source: RasterSource, segmenter: Segmenter) -> list[PixelWindow]:
    """Full-resolution windows of this raster, bands and segmenter already in the cache, most recent first."""
    if cache is None:
        return []
    probe = window_key(source, PixelWindow(0, 0, 0, 0), segmenter)
    out = []
    for key in cache.keys():
        if len(key) == 4 and key[0] == probe[0] and key[2] == probe[2] and key[3] == probe[3] and len(key[1]) == 4:
            out.append(PixelWindow(*key[1]))
    return out[::-1]


def _tuple(window: PixelWindow) -> tuple[int, int, int, int]:
    return (window.col_off, window.row_off, window.width, window.height)


def _properties(source, segmenter, request: contract.PromptSpec, geom, score: float, rank: int, area_of) -> dict:
    box = json.dumps([float(v) for v in request.box]) if request.box is not None else ""
    points = json.dumps([[float(x), float(y), int(label)] for x, y, label in request.points])
    return feature_properties(
        query="",
        instance_id=rank,
        area=area_of(geom),
        unit=area_unit(source.crs),
        score=score,
        prompter="",
        segmenter=segmenter.name,
        tiles=(),
        source="click",
        prompts=(box, points),
    )
