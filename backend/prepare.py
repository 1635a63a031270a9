"""A query made ready to run, the same way for the server and the command line: a :class:`contract.JobSpec` in, a
checked and laid-out :class:`SegmentPlan` and the engine that answers it out. No model is loaded here."""

from __future__ import annotations

from dataclasses import dataclass

import contract

from .errors import RasterError
from .geo.access import RasterAccess
from .models.routing import route
from .plan import SegmentOptions, SegmentPlan


@dataclass(frozen=True)
class Wording:
    """How an interface names the fixes its refusals suggest (the pipeline's own words name no interface)."""

    raise_limit: str  # formatted with n (the tiles needed) and limit
    pixel_coords: str  # "" when the pipeline's own hint (--pixel-coords) is this interface's


CLI = Wording(
    raise_limit="Add --max-tiles {n} to run it, or choose a smaller --area or a larger --tile-size.", pixel_coords=""
)
HTTP = Wording(
    raise_limit='Send "max_tiles": {n} with the job to run it (this server\'s default is {limit}, its --max-tiles '
    "option), or choose a smaller area or a larger tile size.",
    pixel_coords='Over HTTP, send "pixel_coords": true.',
)


@dataclass
class PreparedJob:
    """A query checked and laid out: its plan (raster closed again), the engine that answers it and why."""

    plan: SegmentPlan
    engine: str  # "reason" (the prompter writes SAM prompts) or "find" (SAM 3)
    route: str  # why, for mode "auto"; "" otherwise


def segment_options(spec: contract.JobSpec, max_tiles: int, batch_size: int = 1) -> SegmentOptions:
    """The pipeline's options for ``spec``; ``max_tiles`` is the limit when the spec names none."""
    return SegmentOptions(
        bands=spec.bands,
        bounds=spec.bounds,
        tile_size=spec.tile_size,
        overlap=spec.overlap,
        batch_size=batch_size,
        min_area_px=spec.min_area_px,
        pixel_coords=spec.pixel_coords,
        max_tiles=spec.max_tiles or max_tiles,
        strategy=spec.strategy,
        refine=spec.refine,
        overview_zoom=spec.overview_zoom,
        sample_step=spec.sample_step,
        object_size_px=spec.object_size_px,
        focus=spec.focus,
    )


def prepare_job(
    spec: contract.JobSpec,
    *,
    max_tiles: int = contract.MAX_TILES_DEFAULT,
    batch_size: int = 1,
    access: RasterAccess | None = None,
    wording: Wording = CLI,
) -> PreparedJob:
    """Check ``spec`` against its raster, lay out its tiles and route it; raises a :class:`UserError` worded for the
    interface that asked. The plan's raster is closed again: a queued job holds no open file."""
    options = segment_options(spec, max_tiles, batch_size)
    try:
        plan = SegmentPlan(spec.raster, spec.query, options, access=access)
    except RasterError as exc:
        if exc.code == "too_many_tiles":
            raise too_many_tiles(exc, wording, default=spec.max_tiles is None) from None
        if wording.pixel_coords and "--pixel-coords" in str(exc):
            raise RasterError(f"{exc} {wording.pixel_coords}", exc.code, **exc.params) from None
        raise
    plan.close()
    engine, why = route(plan.query, spec.mode)
    options.route = why
    return PreparedJob(plan, engine, why)


def too_many_tiles(exc: RasterError, wording: Wording, default: bool) -> RasterError:
    """The pipeline's refusal of an area that needs too many tiles, with this interface's way to raise the limit."""
    n, limit = exc.params["tiles"], exc.params["limit"]
    fix = wording.raise_limit.format(n=n, limit=limit)
    size = f"{exc.params['width']:,} × {exc.params['height']:,} pixels"
    text = f"This area ({size}) needs {n:,} tiles, more than the {'default ' if default else ''}limit of {limit}. {fix}"
    return RasterError(text, exc.code, **exc.params)
