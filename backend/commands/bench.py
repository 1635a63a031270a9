"""``python -m backend bench``: real-size models with random weights, timed stage by stage (backend/tools/bench)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import contract

from ..errors import OptionError
from ..tools.bench.models import PROMPTER_SIZES, SEGMENTERS
from ..tools.bench.suite import KINDS


def register(sub) -> None:
    p = sub.add_parser(
        "bench",
        help="time every stage with real-size random-weight models",
        description="Real-size models with RANDOM weights (Qwen2.5-VL-3B's published config, SAM 2.1-small or "
        "SAM ViT-B), a synthetic 0.5 m raster, and the production pipeline: seconds per tile by stage, tiles/s, "
        "km²/h, time to the first polygon, peak memory, and the speed-up of each optimisation.",
    )
    p.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda or cuda:N")
    p.add_argument("--batch-sizes", default="1,4", help="tiles per batch to compare (default 1,4)")
    p.add_argument("--tokens", type=int, default=160, help="tokens the prompter must generate per tile (160)")
    p.add_argument("--tiles", type=int, default=8, help="tiles in the synthetic raster (default 8)")
    p.add_argument("--instances", type=int, default=8, help="instances per tile sent to SAM (default 8)")
    p.add_argument(
        "--prompter-size",
        choices=sorted(PROMPTER_SIZES),
        default="full",
        help="full: Qwen2.5-VL-3B; quarter: a quarter of its layers at full width (default full)",
    )
    p.add_argument("--skip-prompter", action="store_true", help="no prompter: time the rest of the pipeline")
    p.add_argument("--segmenter", choices=SEGMENTERS, default="sam2.1-small", help="default sam2.1-small")
    p.add_argument("--dtype", choices=("bf16", "fp16", "fp32"), help="prompter dtype (default: bf16 on CUDA, fp32)")
    p.add_argument("--static-cache", action="store_true", help="generate with a static KV cache")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--no-warmup", action="store_true", help="skip the prompter's warm-up generate")
    p.add_argument(
        "--plain-only",
        action="store_true",
        help="only the plain path (one tile at a time, no threads, no cache): for slow, large models",
    )
    p.add_argument("--tiny", action="store_true", help="tiny models instead (a smoke test of this command)")
    p.add_argument(
        "--spanning-object",
        type=int,
        metavar="N",
        help="only the seam-merging worst case: one object over N × N tiles (no models); slowest tile and memory",
    )
    p.add_argument(
        "--clicks",
        action="store_true",
        help="only click latency: POST /prompt through the real server, cache miss and hit (--segmenter)",
    )
    p.add_argument(
        "--prompter",
        metavar="openai:URL[#MODEL]",
        help="time a served prompter (an OpenAI-compatible server) instead, with --compare-with the built-in engine "
        "on a local copy of the same model in the same run",
    )
    p.add_argument("--compare-with", metavar="DIR", help="with --prompter: the same model as a local folder")
    p.add_argument(
        "--concurrency",
        type=int,
        default=contract.SERVED_CONCURRENCY_DEFAULT,
        help=f"with --prompter: tiles in flight (default {contract.SERVED_CONCURRENCY_DEFAULT})",
    )
    p.add_argument(
        "--force-answer",
        metavar="TEXT",
        help="with --prompter and --compare-with: both write TEXT (transformers serve only), so polygons come out",
    )
    p.add_argument(
        "--finder",
        action="store_true",
        help="only the real-size SAM 3 (random weights) on one 840-px tile: --mode find's cost per tile",
    )
    p.add_argument(
        "--constraint",
        action="store_true",
        help="only the answer grammar's cost per generated token, at Qwen2.5-VL's vocabulary width (CPU)",
    )
    p.add_argument(
        "--strategies",
        metavar="RUNS",
        nargs="?",
        const="tiles,overview,auto",
        help="only the whole-scene strategies on one --raster-px² raster: prompter calls, time and km²/h of each of "
        "RUNS (default tiles,overview,auto; overview-prompter also refines with the prompter)",
    )
    p.add_argument("--raster-px", type=int, default=10_000, help="with --strategies: the raster's side (10000)")
    p.add_argument(
        "--project-tiles",
        type=int,
        metavar="N",
        help="with --strategies: stop the tiles run after N tiles and project its time to the area (every tile "
        "costs the same prompter call); prompter calls stay exact",
    )
    p.add_argument(
        "--suite",
        choices=KINDS,
        help="every GPU figure in one run, each step in its own process and written as it ends (gpu: real-size "
        "models on CUDA, about 7 min; tiny: the same steps with tiny models on the CPU, under 2 min)",
    )
    p.add_argument("--suite-dir", default="out/bench-suite", help="with --suite: where its JSON files go")
    p.add_argument(
        "--suite-docs",
        metavar="SUITE_JSON",
        help="put a suite's figures (its suite.json) into docs/benchmarks.md's GPU section",
    )
    p.add_argument("-o", "--output", help="write every figure to this JSON file (a batch run writes after each run)")
    p.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    from ..tools.bench.report import format_table
    from ..tools.bench.run import run_bench

    if args.suite or args.suite_docs:
        return _suite(args)
    if args.strategies:
        from ..tools.bench.strategies import RUNS, format_strategies, strategies_bench

        names = [n.strip() for n in args.strategies.split(",") if n.strip()]
        unknown = [n for n in names if n not in RUNS]
        if unknown:
            raise OptionError(f"Unknown --strategies run '{unknown[0]}': choose from {', '.join(RUNS)}.", "bad_option")
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        size = "tiny" if args.tiny else args.prompter_size
        report = {
            "command": "python -m backend " + " ".join(sys.argv[1:]),
            **strategies_bench(
                args.raster_px, size, args.segmenter, args.tokens, args.device, args.project_tiles or 0, names
            ),
        }
        print(format_strategies(report))
    elif args.finder:
        from ..tools.bench.finder import finder_bench

        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        report = {"command": "python -m backend " + " ".join(sys.argv[1:]), **finder_bench(args.device, tiny=args.tiny)}
        print(
            f"SAM 3 (real size, {report['parameters'] / 1e6:.0f} M parameters) on {report['device']}, "
            f"{report['threads']} thread(s): {report['tile_s']:.1f} s per 840-px tile (forward "
            f"{report['forward_s']:.1f} s, preparation {report['prep_s']:.2f} s, post-processing "
            f"{report['post_s']:.2f} s); built in {report['build_s']:.0f} s, peak {report['peak_host_mb']:.0f} MB"
        )
    elif args.prompter:
        from ..tools.bench.served import format_served, served_bench

        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        report = {
            "command": "python -m backend " + " ".join(sys.argv[1:]),
            **served_bench(
                args.prompter,
                args.compare_with,
                "sam2.1-small" if args.segmenter == "none" else args.segmenter,
                args.tiles,
                args.tokens,
                args.concurrency,
                args.force_answer,
                args.device,
                args.tiny,
            ),
        }
        print(format_served(report))
    elif args.constraint:
        from ..tools.bench.constraint import mask_cost

        report = {"command": "python -m backend " + " ".join(sys.argv[1:]), **mask_cost()}
        print(
            f"answer grammar: {report['ms_per_token']:.3f} ms per token over {report['tokens']} tokens at a "
            f"{report['vocab']:,}-token vocabulary (setup {report['setup_s']:.1f} s, once per model load)"
        )
    elif args.clicks:
        import torch

        from ..devices import resolve_device
        from ..tools.bench.click_latency import click_bench, format_clicks

        if args.threads:
            torch.set_num_threads(args.threads)
        kind = "sam2.1-small" if args.segmenter == "none" else args.segmenter
        report = {
            "command": "python -m backend " + " ".join(sys.argv[1:]),
            **click_bench(kind, resolve_device(args.device), tiny=args.tiny),
        }
        print(format_clicks(report))
    elif args.spanning_object:
        from ..tools.bench.spanning import spanning_object_bench

        report = {
            "command": "python -m backend " + " ".join(sys.argv[1:]),
            **spanning_object_bench(args.spanning_object),
        }
        print(
            f"one object over {report['tiles']} tiles ({report['raster_px']}² px, {report['holes']} holes): "
            f"slowest tile {report['slowest_tile_s']:.2f} s (last {report['last_tile_s']:.2f} s, median "
            f"{report['median_tile_s']:.3f} s), {report['after_last_tile_s']:.2f} s to finish the object after "
            f"the last tile, total {report['total_s']:.1f} s, peak memory "
            f"{report['peak_host_mb']:.0f} MB"
        )
    else:
        report = run_bench(args, on_update=lambda so_far: _write(args.output, so_far) if args.output else None)
        print(format_table(report))
    if args.output:
        _write(args.output, report)
        print(f"figures written to {args.output}", file=sys.stderr)
    return 0


def _write(output: str, report: dict) -> None:
    """``report`` into ``output``, with the device's peak memory; an earlier file goes only once this one is whole."""
    if "torch" in sys.modules:
        import torch

        if torch.cuda.is_available() and torch.cuda.is_initialized():
            report["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20)
    target = Path(output)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, target)


def _suite(args: argparse.Namespace) -> int:
    from ..tools.bench.suite import format_suite, run_suite, write_docs

    if args.suite_docs:
        report = json.loads(Path(args.suite_docs).read_text(encoding="utf-8"))
        write_docs(Path(__file__).resolve().parents[2] / "docs" / "benchmarks.md", report)
        print(f"docs/benchmarks.md's GPU section now shows {args.suite_docs}", file=sys.stderr)
        return 0
    report = run_suite(args.suite, Path(args.suite_dir), say=lambda line: print(line, file=sys.stderr, flush=True))
    print(format_suite(report))
    print(f"figures in {args.suite_dir}/ (suite.json and one file per step)", file=sys.stderr)
    return 0 if report["complete"] else 1
