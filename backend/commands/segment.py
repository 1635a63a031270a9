"""``python -m backend segment RASTER QUERY -o OUT``: find what a query describes and write its polygons."""

from __future__ import annotations

import argparse
import sys
import time

from plugin.core import contract

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
    p.add_argument("--max-tiles", type=int, help="refuse areas that need more tiles than this")
    p.add_argument("--pixel-coords", action="store_true", help="allow a raster without CRS (pixel coordinates)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    EngineConfig.add_arguments(p)
    p.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..geo.output import driver_for, write_results
    from ..pipeline import RunStats, SegmentOptions, SegmentPlan, run

    driver_for(args.output)  # fail on a bad extension before any work
    config = EngineConfig.from_args(args)
    options = SegmentOptions(
        bands=args.bands,
        bounds=args.area,
        tile_size=args.tile_size,
        overlap=args.overlap,
        batch_size=config.batch_size,
        min_area_px=args.min_area,
        pixel_coords=args.pixel_coords,
        max_tiles=args.max_tiles,
    )
    plan = SegmentPlan(args.raster, args.query, options)
    try:
        paths = config.resolve()
        config.warn_if_cpu()
        prompter, segmenter = load_models(config, *paths)
    except BaseException:
        plan.close()
        raise
    started = time.perf_counter()
    stats = RunStats.for_plan(plan)
    bar = tqdm(total=len(plan.tiles), unit="tile", disable=args.quiet, file=sys.stderr)
    features = []
    try:
        for feature in run(plan, prompter, segmenter, stats, on_tile=lambda report: bar.update(1)):
            features.append(feature)
            bar.set_postfix(polygons=len(features))
    finally:
        bar.close()
    write_results(args.output, features, plan.crs, plan.transform, stats.reports)
    summary = ", ".join(f"{n} {s}" for s, n in sorted(stats.counts().items()))
    print(
        f"{len(features)} polygon(s) written to {args.output} ({plan.crs or 'pixel coordinates'}); "
        f"tiles: {summary}; {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    for r in stats.reports:
        if r.error:
            print(f"tile {r.index}: {r.error}", file=sys.stderr)
    return 0
