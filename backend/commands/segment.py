"""``python -m backend segment RASTER QUERY -o OUT``: find what a query describes and write its polygons.

The output is checked before any model loads, polygons go into a temporary file beside it as they come, and
the file is put in place when the run ends. Ctrl-C stops after the current batch (a second Ctrl-C at once)
and keeps what was found, marked as partial in the tiles layer.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
import time
from pathlib import Path

import contract

from ..errors import UserError
from ..models.loading import EngineConfig, load_models


def _bands(text: str) -> list[int]:
    try:
        return [int(b) for b in text.replace(" ", "").split(",") if b]
    except ValueError:
        raise argparse.ArgumentTypeError(f"bands are numbers separated by commas, like 3,2,1; got '{text}'") from None


def register(sub) -> None:
    p = sub.add_parser("segment", help="find what a query describes in a raster and write polygons")
    p.add_argument("raster", help="raster file (GeoTIFF or anything GDAL reads)")
    p.add_argument("query", help='what to look for, e.g. "the river"')
    p.add_argument("-o", "--output", required=True, help="output .gpkg or .geojson (in the raster's CRS)")
    p.add_argument(
        "--layer",
        help="GeoPackage layer for the polygons (default: named after the query); the tile reports go in "
        "LAYER_tiles, and the file's other layers are kept",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file or layer")
    p.add_argument("--bands", type=_bands, help="1 band (grey) or 3 bands (R,G,B), e.g. 4,3,2")
    p.add_argument(
        "--area",
        nargs=4,
        type=float,
        metavar=("MINX", "MINY", "MAXX", "MAXY"),
        help="bounds to search, in the raster's CRS (default: the whole raster)",
    )
    p.add_argument(
        "--tile-size",
        type=int,
        default=contract.TILE_SIZE_DEFAULT,
        help=f"tile size in raster pixels (default {contract.TILE_SIZE_DEFAULT})",
    )
    p.add_argument(
        "--overlap",
        type=int,
        default=contract.OVERLAP_DEFAULT,
        help=f"tile overlap in pixels (default {contract.OVERLAP_DEFAULT})",
    )
    p.add_argument(
        "--min-area",
        type=float,
        default=contract.MIN_AREA_PX_DEFAULT,
        help="drop polygons smaller than this many pixels",
    )
    p.add_argument(
        "--max-tiles",
        type=int,
        help=f"refuse areas that need more tiles than this (default {contract.MAX_TILES_DEFAULT})",
    )
    p.add_argument(
        "--pixel-coords",
        action="store_true",
        help="write pixel coordinates (as QGIS shows an image without georeference), e.g. for a raster without CRS",
    )
    p.add_argument(
        "--mode",
        choices=contract.QUERY_MODES,
        default=contract.QUERY_MODE_DEFAULT,
        help="reason: Think2Seg-RS reads each tile and writes SAM prompts (default); find: SAM 3 finds every "
        "instance of a short phrase (--finder); auto: a short noun phrase goes to SAM 3, anything else to "
        "Think2Seg-RS, and each polygon's 'route' attribute says why",
    )
    p.add_argument(
        "--strategy",
        choices=contract.STRATEGIES,
        default=contract.STRATEGY_DEFAULT,
        help="tiles: read every tile (default); overview: read the whole area downsampled first, then only the "
        "tiles where it found something; auto: the overview for a large area (with a sample of tiles for what it "
        "cannot see), else every tile. Each polygon's 'strategy' attribute says which ran",
    )
    p.add_argument(
        "--refine",
        choices=contract.REFINES,
        default=contract.REFINE_DEFAULT,
        help="with an overview: read its places with SAM alone and its prompts (sam, default: no more prompter "
        "calls), or with the prompter again (prompter: slower, for detail the overview cannot see)",
    )
    p.add_argument(
        "--overview-zoom",
        type=float,
        default=contract.OVERVIEW_ZOOM_DEFAULT,
        help="the overview's coarsest downsampling, in raster pixels per pixel of the model's 840-px frame; a larger "
        f"area is seen in several cells (default {contract.OVERVIEW_ZOOM_DEFAULT:g})",
    )
    p.add_argument(
        "--sample-step",
        type=int,
        help="with an overview: also read every Nth tile across and down (0: none; default 0 for overview, "
        f"{contract.SAMPLE_STEP_AUTO} for auto)",
    )
    p.add_argument(
        "--object-size",
        type=float,
        metavar="PX",
        help="the objects' expected size in raster pixels: auto reads every tile when the overview would not see them",
    )
    p.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local (this process, default) or ray: the tiles across a Ray cluster, one worker per GPU "
        "(pip install -r backend/requirements-ray.txt; the raster must be reachable from every node)",
    )
    p.add_argument("--address", help="with --engine ray: a running cluster (default: start a local one)")
    p.add_argument("--workers", type=int, help="with --engine ray: how many workers (default: one per GPU, or CPU)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    EngineConfig.add_arguments(p)
    p.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..geo.output import OutputTarget, ResultWriter, layer_name
    from ..pipeline import run
    from ..plan import RunStats
    from ..prepare import prepare_job

    target = OutputTarget(Path(args.output), args.layer or layer_name(args.query), overwrite=args.overwrite)
    target.driver  # noqa: B018 - refuse a bad extension before any work
    if args.max_tiles is not None and args.max_tiles < 1:
        raise UserError(f"--max-tiles must be at least 1, got {args.max_tiles}.", "bad_max_tiles")
    if not (math.isfinite(args.min_area) and args.min_area >= 0):
        raise UserError(f"--min-area is a number of pixels, 0 or more; got {args.min_area:g}.", "bad_min_area")
    if args.object_size is not None and not (math.isfinite(args.object_size) and args.object_size > 0):
        raise UserError(f"--object-size is a number of pixels above 0; got {args.object_size:g}.", "bad_option")
    spec = contract.JobSpec(
        raster=args.raster,
        query=args.query,
        bands=tuple(args.bands) if args.bands else None,
        bounds=tuple(args.area) if args.area else None,
        tile_size=args.tile_size,
        overlap=args.overlap,
        min_area_px=args.min_area,
        pixel_coords=args.pixel_coords,
        max_tiles=args.max_tiles,
        mode=args.mode,
        strategy=args.strategy,
        refine=args.refine,
        overview_zoom=args.overview_zoom,
        sample_step=args.sample_step,
        object_size_px=args.object_size,
    )
    prepared = prepare_job(spec)  # the raster and the output are checked before torch is even imported
    plan, engine, why = prepared.plan, prepared.engine, prepared.route
    with plan:
        target.check([args.raster, *plan.source.files], tiles=len(plan.tiles))
        config = EngineConfig.from_args(args)
        plan.options.batch_size = config.batch_size
        paths = config.resolve_finder() if engine == "find" else config.resolve()
        if why:
            print(why, file=sys.stderr)
        if plan.choice.reason:
            print(f"strategy {plan.choice.label}: {plan.choice.reason}", file=sys.stderr)
        if args.engine == "ray" and plan.choice.strategy != "tiles":
            raise UserError(
                "--engine ray reads every tile: use --strategy tiles with it, or the local engine for an overview.",
                "bad_strategy",
            )
        config.warn_if_cpu()
        stats = RunStats.for_plan(plan)
        if args.engine == "ray":
            from ..engines.ray_cluster import run_on_ray

            def features(should_cancel, on_tile):
                return run_on_ray(plan, config, paths, stats, args.workers, args.address, should_cancel, on_tile)
        else:
            prompter, segmenter = load_models(config, *paths)

            def features(should_cancel, on_tile):
                return run(plan, prompter, segmenter, stats, should_cancel, on_tile)

        writer = ResultWriter(target, plan.crs, plan.georef)
        started = time.perf_counter()
        bar = tqdm(total=len(plan.tiles), unit="tile", disable=args.quiet, file=sys.stderr)
        state, failure = "complete", None
        stop = _StopOnCtrlC()
        try:
            with stop:
                for feature in features(stop.requested, lambda r: bar.update(1)):
                    writer.add(feature)
                    bar.set_postfix(polygons=writer.count)
        except KeyboardInterrupt:
            state = "interrupted"
        except Exception as exc:  # the polygons found so far are written before the error is reported
            state, failure = f"failed: {type(exc).__name__}: {exc}", exc
        finally:
            bar.close()
        if stats.cancelled:
            state = "interrupted"
        with _IgnoreCtrlC():
            where = writer.finish(stats.overview + stats.reports, state)
    summary = ", ".join(f"{n} {s}" for s, n in sorted(stats.counts().items()))
    done = sum(r.status not in ("pending", "cancelled") for r in stats.reports)
    for cell in stats.overview:
        answer = "nothing" if cell.status == "no_target" else f"{cell.instances} box(es)"
        if cell.status not in ("ok", "no_target"):
            answer = f"an unusable answer ({cell.status}); its tiles were all read"
        print(f"overview cell {cell.index}: {answer}", file=sys.stderr)
    if state == "complete":
        if not writer.count and stats.overview and all(c.status == "no_target" for c in stats.overview):
            print(
                "no target: the overview saw nothing matching the query (its reasoning is in the tiles layer)",
                file=sys.stderr,
            )
        print(
            f"{writer.count} polygon(s) written to {where} ({plan.crs or 'pixel coordinates'}); tiles: {summary}; "
            f"strategy {plan.choice.label}, {stats.prompter_calls} prompter call(s); "
            f"{time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
    else:
        print(
            f"{'interrupted' if failure is None else 'stopped by an error'}: {writer.count} polygon(s) from {done} of "
            f"{len(stats.reports)} tiles kept in {where}, marked as partial in its tile reports",
            file=sys.stderr,
        )
    for r in stats.reports:
        if r.error:
            print(f"tile {r.index}: {r.error}", file=sys.stderr)
    if failure is not None:
        raise failure
    read = [r for r in stats.reports if r.status not in ("skipped", "cancelled", "pending")]
    if state == "complete" and read and all(r.status == "error" for r in read):
        print(f"error: every tile failed ({len(read)}): {read[0].error}", file=sys.stderr)
        return 1
    return 0 if state == "complete" else 130


# A SIGTERM (a closed terminal, `kill`, a logout) is a Ctrl-C: what was found is kept and the temporary file goes.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _StopOnCtrlC:
    """The first Ctrl-C asks the run to stop after its current batch; a second one interrupts at once."""

    def __init__(self) -> None:
        self.asked = False

    def requested(self) -> bool:
        return self.asked

    def _handle(self, signum, frame) -> None:
        if self.asked:
            raise KeyboardInterrupt
        self.asked = True
        print("\nstopping after the current batch (Ctrl-C again to stop now)...", file=sys.stderr)

    def __enter__(self) -> _StopOnCtrlC:
        self._previous = {sig: signal.signal(sig, self._handle) for sig in STOP_SIGNALS}
        return self

    def __exit__(self, *exc) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)


class _IgnoreCtrlC:
    """While the results are being put in place, Ctrl-C waits: an interrupted write could lose them."""

    def __enter__(self) -> None:
        self._previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in STOP_SIGNALS}

    def __exit__(self, *exc) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
