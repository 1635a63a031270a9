"""Command line: ``python -m backend segment|models|serve|evaluate|bench``.

Exit codes: 0 success, 1 an unexpected failure, 2 bad input, 3 a model missing or unusable,
4 a failed download, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from . import __version__, store
from .errors import UserError

log = logging.getLogger("backend")


def _bands(text: str) -> list[int]:
    try:
        return [int(b) for b in text.replace(" ", "").split(",") if b]
    except ValueError:
        raise argparse.ArgumentTypeError(f"bands are numbers separated by commas, like 3,2,1; got '{text}'") from None


def _add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--prompter", default=store.DEFAULT_PROMPTER,
                   help=f"prompter name or local folder (default {store.DEFAULT_PROMPTER})")
    p.add_argument("--segmenter", default=store.DEFAULT_SEGMENTER,
                   help=f"segmenter name or local checkpoint (default {store.DEFAULT_SEGMENTER})")
    p.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda or cuda:N")
    p.add_argument("--models-dir", help="models folder (default: $THINK2MAP_MODELS or ~/.local/share/think2map/models)")
    p.add_argument("--batch-size", type=int, help="tiles per batch (default: 16 on CUDA, 1 on the CPU)")
    p.add_argument("--max-new-tokens", type=int,
                   help="longest answer the prompter may write (default: the model's own limit, else 2048)")
    p.add_argument("--force-answer", metavar="TEXT",
                   help="install check: constrain decoding so the prompter writes TEXT on every tile "
                        "(e.g. with the tiny models, whose own answers are meaningless)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m backend", description="Think2Map backend: segment rasters "
                                     "by text query with a vision-language prompter and Segment Anything.")
    parser.add_argument("--version", action="version", version=f"think2map-backend {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    seg = sub.add_parser("segment", help="find what a query describes in a raster and write polygons")
    seg.add_argument("raster", help="raster file (GeoTIFF or anything GDAL reads)")
    seg.add_argument("query", help='what to look for, e.g. "the river"')
    seg.add_argument("-o", "--output", required=True, help="output .gpkg or .geojson (in the raster's CRS)")
    seg.add_argument("--bands", type=_bands, help="1 band (grey) or 3 bands (R,G,B), e.g. 4,3,2")
    seg.add_argument("--area", nargs=4, type=float, metavar=("MINX", "MINY", "MAXX", "MAXY"),
                     help="bounds to search, in the raster's CRS (default: the whole raster)")
    seg.add_argument("--tile-size", type=int, default=840, help="tile size in raster pixels (default 840)")
    seg.add_argument("--overlap", type=int, default=128, help="tile overlap in pixels (default 128)")
    seg.add_argument("--min-area", type=float, default=16.0, help="drop polygons smaller than this many pixels")
    seg.add_argument("--max-tiles", type=int, help="refuse areas that need more tiles than this")
    seg.add_argument("--pixel-coords", action="store_true", help="allow a raster without CRS (pixel coordinates)")
    seg.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _add_model_args(seg)

    models = sub.add_parser("models", help="list, download or build models")
    msub = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    ls = msub.add_parser("list", help="show which known models are present and which are missing")
    ls.add_argument("--models-dir")
    ls.add_argument("--json", action="store_true", help="print JSON")
    pl = msub.add_parser("pull", help="download a known model (needs the internet)")
    pl.add_argument("name", choices=sorted(store.KNOWN), metavar="NAME", help=", ".join(store.KNOWN))
    pl.add_argument("--models-dir")
    tiny = msub.add_parser(
        "tiny", help="build tiny RANDOM models to check an install (their outputs are meaningless)",
        description="Build tiny randomly initialised prompter (Qwen2.5-VL) and segmenter (SAM 2.1, SAM) "
        "checkpoints in the real on-disk formats. They load through the same code as real weights, which is "
        "what they are for: tests and install checks. Their outputs are MEANINGLESS.")
    tiny.add_argument("dir", help="output folder")

    srv = sub.add_parser("serve", help="run the authenticated local HTTP service for the QGIS plugin (docs/api.md)")
    srv.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, this machine only)")
    srv.add_argument("--port", type=int, default=0, help="port to listen on (default 0: any free port)")
    srv.add_argument("--max-tiles", type=int, help="default limit of tiles per job ($THINK2MAP_MAX_TILES or 400)")
    srv.add_argument("--idle-unload", type=float, metavar="SECONDS", help="unload the models after this long idle")
    srv.add_argument("--openapi", metavar="FILE", help="write the OpenAPI schema to FILE ('-': stdout) and exit")
    _add_model_args(srv)

    from . import bench, evaluate

    evaluate.add_parser(sub)
    bench.add_parser(sub)
    return parser


def cmd_segment(args: argparse.Namespace) -> int:
    from .devices import default_batch_size, resolve_device
    from .output import driver_for, write_results
    from .pipeline import Segmentation, SegmentOptions

    driver_for(args.output)  # fail on a bad extension before any work
    device = resolve_device(args.device)
    args.batch_size = default_batch_size(device, args.batch_size)
    options = SegmentOptions(bands=args.bands, bounds=args.area, tile_size=args.tile_size, overlap=args.overlap,
                             batch_size=args.batch_size, min_area_px=args.min_area, pixel_coords=args.pixel_coords,
                             max_tiles=args.max_tiles)
    job = Segmentation(args.raster, args.query, options)
    prompter_path = store.resolve(args.prompter, "prompter", args.models_dir)
    segmenter_path = store.resolve(args.segmenter, "segmenter", args.models_dir)
    if device == "cpu":
        print("warning: no GPU in use; real-size models run very slowly on the CPU (minutes per tile).",
              file=sys.stderr)
    prompter, segmenter = load_models(prompter_path, segmenter_path, device, args.batch_size, args.max_new_tokens,
                                      args.force_answer)

    from tqdm import tqdm

    started = time.perf_counter()
    bar = tqdm(total=len(job.tiles), unit="tile", disable=args.quiet, file=sys.stderr)
    features = []
    try:
        for feature in job.run(prompter, segmenter, on_tile=lambda report: bar.update(1)):
            features.append(feature)
            bar.set_postfix(polygons=len(features))
    finally:
        bar.close()
    write_results(args.output, features, job)
    counts: dict[str, int] = {}
    for r in job.reports:
        counts[r.status] = counts.get(r.status, 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    print(f"{len(features)} polygon(s) written to {args.output} ({job.crs or 'pixel coordinates'}); "
          f"tiles: {summary}; {time.perf_counter() - started:.1f} s", file=sys.stderr)
    for r in job.reports:
        if r.error:
            print(f"tile {r.index}: {r.error}", file=sys.stderr)
    return 0


def load_models(prompter_path: Path, segmenter_path: Path, device: str, batch_size: int = 4,
                max_new_tokens: int | None = None, force_answer: str | None = None):
    """Load a prompter and a segmenter from resolved paths (``force_answer``: see ``--force-answer``)."""
    from .prompter import load_prompter
    from .segmenter import load_segmenter

    prompter = load_prompter(prompter_path, device=device, batch_size=batch_size, max_new_tokens=max_new_tokens)
    if force_answer:
        from .forcing import forced_answer_kwargs

        prompter.generate_kwargs.update(forced_answer_kwargs(prompter.tokenizer, [force_answer]))
    return prompter, load_segmenter(segmenter_path, device=device)


def cmd_models(args: argparse.Namespace) -> int:
    if args.models_command == "list":
        rows = store.list_models(args.models_dir)
        if args.json:
            print(json.dumps(rows, indent=2))
            return 0
        print(f"models folder: {store.models_dir(args.models_dir)}")
        for r in rows:
            where = f"present  {r['size_mb']:>8.1f} MB  {r['path']}" if r["present"] else (
                f"missing  ~{r['approx_mb']:>6} MB  python -m backend models pull {r['name']}")
            print(f"{r['name']:<16} {r['kind']:<9} {where}")
        return 0
    if args.models_command == "pull":
        spec = store.lookup(args.name)
        print(f"downloading {spec.name} (~{spec.approx_mb} MB) from {spec.source} ...", file=sys.stderr)
        path = store.pull(args.name, args.models_dir)
        print(f"{spec.name} is ready: {path}")
        return 0
    from .tiny import build_tiny_models

    paths = build_tiny_models(Path(args.dir))
    print("Built tiny RANDOM models (outputs are meaningless; for tests and install checks only):")
    for kind, path in paths.items():
        print(f"  {kind:<9} {path}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .server import serve_from_args

    return serve_from_args(args)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    handlers = {"segment": cmd_segment, "models": cmd_models, "serve": cmd_serve}
    try:
        return (getattr(args, "handler", None) or handlers[args.command])(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.verbose:
            raise
        print(f"error: unexpected {type(exc).__name__}: {exc}\n(run with -v for the traceback, and please report "
              "it with the command you ran)", file=sys.stderr)
        return 1
