"""Whole-scene strategies: which tiles a job reads (``contract.STRATEGIES``), and in what order.

``overview`` reads the whole area first, downsampled to the prompter's 840×840 frame (in a coarse grid of cells
when the area is large, each cell at most ``overview_zoom`` raster pixels per frame pixel). The boxes it answers
with, mapped back to raster pixels and widened by the downsampling's uncertainty, pick the tiles to read at full
resolution: SAM alone with those boxes and points (``refine="sam"``), or the prompter again (``"prompter"``).
Everything then goes through the same tiles, cores and seam merger as ``tiles``, so regions that overlap bring no
duplicates. ``auto`` chooses between the two by :func:`choose_strategy`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from shapely.geometry import box, mapping

import contract

from .errors import OptionError
from .geo.raster import PixelWindow
from .geo.tiling import Tile
from .models.prompts import MODEL_IMAGE_SIZE, Instance, PromptResult

CELL_OVERLAP = 1 / 16  # of a cell's span: an object on a cell's edge is seen whole by one of the two cells
AUTO_MAX_TILES = 9  # an area of this few tiles is read whole: the overview would save little
# An object smaller than one of the vision encoder's 28-pixel patches in the overview is not expected to be seen.
OVERVIEW_MIN_OBJECT_PX = 28
BOX_MARGIN_PX = 2  # frame pixels added around each overview box: the model's rounding and the resampling
NOT_VISITED = "not read: the overview found nothing here"


@dataclass(frozen=True)
class StrategyChoice:
    """A job's strategy as asked and as resolved (``tiles`` or ``overview``), why, and its tile sample."""

    asked: str
    strategy: str
    reason: str = ""
    sample_step: int = 0

    @property
    def label(self) -> str:
        """What each result records: the strategy, with what ``auto`` chose (``auto:overview``)."""
        return f"auto:{self.strategy}" if self.asked == "auto" else self.strategy


def check_strategy(strategy: str, refine: str, zoom: float, sample_step: int | None) -> None:
    """Raise ``OptionError`` for a strategy setting out of range."""
    problems = []
    if strategy not in contract.STRATEGIES:
        problems.append(f"the strategy must be one of {', '.join(contract.STRATEGIES)}, not '{strategy}'")
    if refine not in contract.REFINES:
        problems.append(f"the refinement must be one of {', '.join(contract.REFINES)}, not '{refine}'")
    if not (1.0 <= zoom <= contract.OVERVIEW_ZOOM_MAX):
        problems.append(f"the overview zoom must be between 1 and {contract.OVERVIEW_ZOOM_MAX:g}, got {zoom:g}")
    if sample_step is not None and not 0 <= sample_step <= contract.SAMPLE_STEP_MAX:
        problems.append(f"the tile sample step must be between 0 and {contract.SAMPLE_STEP_MAX}, got {sample_step}")
    if problems:
        raise OptionError(problems[0][0].upper() + problems[0][1:] + ".", "bad_strategy")


def _cell_axis(offset: int, length: int, span: float) -> list[tuple[int, int]]:
    """(start, size) of the cells along one axis: as few as keep each at most ``span``, overlapping a little."""
    if length <= span:
        return [(offset, length)]
    pad = round(span * CELL_OVERLAP)
    n = math.ceil((length - pad) / (span - pad))
    size = min(length, math.ceil((length - pad) / n) + pad)
    return [(offset + round(i * (length - size) / (n - 1)), size) for i in range(n)]


def overview_cells(area: PixelWindow, zoom: float, frame: int = MODEL_IMAGE_SIZE) -> list[Tile]:
    """The overview's cells over ``area``, row by row (as tiles whose core is their whole window)."""
    span = frame * zoom
    cols, rows = _cell_axis(area.col_off, area.width, span), _cell_axis(area.row_off, area.height, span)
    cells = []
    for gr, (r0, h) in enumerate(rows):
        for gc, (c0, w) in enumerate(cols):
            window = PixelWindow(c0, r0, w, h)
            cells.append(Tile(len(cells), gr, gc, window, window))
    return cells


def cell_shape(cell: Tile, frame: int = MODEL_IMAGE_SIZE) -> tuple[int, int] | None:
    """(rows, columns) to read a cell at, its longer side at ``frame``; None for a cell no larger (read as is)."""
    w = cell.window
    factor = max(w.width, w.height) / frame
    if factor <= 1:
        return None
    return max(1, round(w.height / factor)), max(1, round(w.width / factor))


def choose_strategy(
    asked: str,
    tiles: int,
    zoom: float,
    object_size_px: float | None = None,
    sample_step: int | None = None,
) -> StrategyChoice:
    """The strategy for an area of ``tiles`` tiles (with data), read by the overview at ``zoom`` px per frame px.

    ``auto``: the tiles when the area is small (at most ``AUTO_MAX_TILES``) or when objects of ``object_size_px``
    would be under ``OVERVIEW_MIN_OBJECT_PX`` in the overview; else the overview, with every ``sample_step``-th
    tile across and down (``contract.SAMPLE_STEP_AUTO`` by default) read as well, for what it cannot see.
    """
    if asked == "tiles":
        return StrategyChoice("tiles", "tiles")
    if asked == "overview":
        return StrategyChoice("overview", "overview", sample_step=sample_step or 0)
    if tiles <= AUTO_MAX_TILES:
        return StrategyChoice("auto", "tiles", f"every tile: the area is only {tiles} tile(s)")
    if object_size_px is not None and object_size_px / zoom < OVERVIEW_MIN_OBJECT_PX:
        return StrategyChoice(
            "auto",
            "tiles",
            f"every tile: objects of about {object_size_px:g} px would be {object_size_px / zoom:.0f} px in the "
            f"overview, under the {OVERVIEW_MIN_OBJECT_PX} px it can see",
        )
    step = contract.SAMPLE_STEP_AUTO if sample_step is None else sample_step
    sample = f", and one tile in {step} across and down for smaller objects" if step > 1 else ""
    if step == 1:
        sample = ", and every tile for smaller objects"
    return StrategyChoice("auto", "overview", f"the overview first ({tiles} tiles){sample}", step)


def overview_zoom(cells: Sequence[Tile], frame: int = MODEL_IMAGE_SIZE) -> float:
    """The overview's coarsest downsampling: raster pixels per frame pixel (1 when it reads at native size)."""
    return max(1.0, max(max(c.window.width, c.window.height) / frame for c in cells))


def to_raster(result: PromptResult, cell: Tile, image_shape: tuple[int, int]) -> list[Instance]:
    """A cell's instances (in the pixels of the image read for it) in raster pixels."""
    h, w = image_shape
    sx, sy = cell.window.width / w, cell.window.height / h
    return [i.scaled(sx, sy).shifted(cell.window.col_off, cell.window.row_off) for i in result.instances]


def widened(instance: Instance, margin: float) -> Instance:
    """The instance with its box grown by ``margin`` pixels a side (a box around its points when it has none)."""
    return Instance(_grown_box(instance, margin), instance.points, instance.labels)


def searched_box(instance: Instance, margin: float) -> tuple[float, float, float, float]:
    """The box an overview instance is drawn with: its own, or (points only) the box that picks its tiles."""
    return instance.box if instance.box is not None else _grown_box(instance, margin)


def _grown_box(instance: Instance, margin: float) -> tuple[float, float, float, float]:
    box = instance.box
    if box is None:
        xs, ys = [p[0] for p in instance.points], [p[1] for p in instance.points]
        box = (min(xs), min(ys), max(xs), max(ys))
    return (box[0] - margin, box[1] - margin, box[2] + margin, box[3] + margin)


def _meets(box: tuple[float, float, float, float], window: PixelWindow) -> bool:
    return box[0] < window.col_end and box[2] > window.col_off and box[1] < window.row_end and box[3] > window.row_off


def tiles_meeting(tiles: Sequence[Tile], boxes: Sequence[tuple[float, float, float, float]]) -> set[int]:
    """The tiles whose core meets any of ``boxes`` (raster pixels): the only ones that can own what they hold."""
    return {t.index for t in tiles if any(_meets(b, t.core) for b in boxes)}


def sample_tiles(tiles: Sequence[Tile], step: int) -> set[int]:
    """Every ``step``-th tile across and down, from the first (none for a step of 0)."""
    if step <= 0:
        return set()
    return {t.index for t in tiles if t.grid_row % step == 0 and t.grid_col % step == 0}


def window_prompts(tile: Tile, instances: Sequence[Instance]) -> list[Instance]:
    """The instances (raster pixels, boxes widened) that meet the tile's window, clipped to it, in its pixels."""
    w = tile.window
    out = []
    for inst in instances:
        box = inst.box
        if box is None or not _meets(box, w):
            continue
        clipped = (max(box[0], w.col_off), max(box[1], w.row_off), min(box[2], w.col_end), min(box[3], w.row_end))
        kept = [
            (k, p)
            for k, p in enumerate(inst.points)
            if clipped[0] <= p[0] < clipped[2] and clipped[1] <= p[1] < clipped[3]
        ]
        labels = tuple(inst.labels[k] for k, _ in kept) if inst.labels else ()
        inside = Instance(clipped, tuple(p for _, p in kept), labels)
        out.append(inside.shifted(-w.col_off, -w.row_off))
    return out


@dataclass
class Visits:
    """What each tile gets: the prompter (``prompt``), SAM with the overview's prompts (``coarse``), or nothing."""

    prompt: set[int] = field(default_factory=set)
    coarse: dict[int, list[Instance]] = field(default_factory=dict)

    def visited(self, index: int) -> bool:
        return index in self.prompt or index in self.coarse


def plan_visits(
    tiles: Sequence[Tile],
    cells: Sequence[Tile],
    cell_instances: Sequence[list[Instance] | None],
    margin: float,
    refine: str,
    sample_step: int,
) -> Visits:
    """The tiles to read after the overview. ``cell_instances`` is None for a cell whose answer could not be used
    (unparseable, failed): every tile there gets the prompter, so nothing is missed for a garbled answer."""
    visits = Visits(prompt=sample_tiles(tiles, sample_step))
    found = [widened(i, margin) for found in cell_instances if found for i in found]
    chosen = tiles_meeting(tiles, [i.box for i in found if i.box is not None])
    for cell, result in zip(cells, cell_instances):
        if result is None:
            visits.prompt |= tiles_meeting(tiles, [_box_of(cell.window)])
    if refine == "prompter":
        visits.prompt |= chosen
    else:
        by_index = {t.index: t for t in tiles}
        for index in chosen - visits.prompt:
            prompts = window_prompts(by_index[index], found)
            if prompts:
                visits.coarse[index] = prompts
    return visits


def _box_of(w: PixelWindow) -> tuple[float, float, float, float]:
    return (w.col_off, w.row_off, w.col_end, w.row_end)


def focus_order(tiles: Sequence[Tile], focus: PixelWindow | None) -> list[int]:
    """Tile indices in the order to read them: those whose core meets ``focus`` first, each group from the focus's
    centre out; the grid's own order without a focus."""
    if focus is None:
        return [t.index for t in tiles]
    cx, cy = focus.col_off + focus.width / 2, focus.row_off + focus.height / 2

    def key(t: Tile) -> tuple[bool, float, int]:
        c = t.core
        distance = math.hypot(c.col_off + c.width / 2 - cx, c.row_off + c.height / 2 - cy)
        return (not _meets(_box_of(focus), c), distance, t.index)

    return [t.index for t in sorted(tiles, key=key)]


def cell_json(cell: Any, to_map: Callable) -> dict:
    """An overview cell's report (a ``plan.TileReport`` of kind "overview") for the API: its answer, its footprint
    and its boxes as GeoJSON geometries in the raster's CRS (``to_map``: pixels to the CRS)."""
    col, row, width, height = cell.window
    return {
        "index": cell.index,
        "status": cell.status,
        "raw_text": cell.raw_text,
        "warnings": list(cell.warnings),
        "error": cell.error,
        "window": list(cell.window),
        "footprint": mapping(to_map(box(col, row, col + width, row + height))),
        "boxes": [mapping(to_map(box(*b))) for b in cell.boxes],
    }
