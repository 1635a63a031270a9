"""``python -m backend evaluate DATASET``: gIoU and cIoU on EarthReason-format data (backend/tools/evaluate.py)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..models.loading import EngineConfig, load_models


def register(sub) -> None:
    p = sub.add_parser(
        "evaluate",
        help="score a prompter and segmenter on EarthReason-format data",
        description="gIoU and cIoU (LISA and Think2Seg-RS conventions) at 840×840.",
    )
    p.add_argument("dataset", help="EarthReason folder (holding {split}/images, labels, QAs)")
    p.add_argument("--split", default="val", help="split folder name (default val)")
    p.add_argument("-o", "--output", help="per-sample CSV (default evaluate-{split}.csv)")
    p.add_argument("--json", help="also write the metrics to this JSON file")
    p.add_argument("--limit", type=int, help="only the first N samples")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    EngineConfig.add_arguments(p)
    p.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    from ..tools.evaluate import evaluate, format_metrics, load_samples

    load_samples(args.dataset, args.split)  # fail on a bad folder before loading models
    config = EngineConfig.from_args(args)
    prompter, segmenter = load_models(config, *config.resolve())
    out = args.output or f"evaluate-{args.split}.csv"
    metrics = evaluate(
        args.dataset,
        args.split,
        prompter,
        segmenter,
        out,
        progress=not args.quiet,
        limit=args.limit,
        batch_size=config.batch_size,
    )
    print(format_metrics(metrics))
    if args.json:
        clean = {k: (None if isinstance(v, float) and v != v else v) for k, v in metrics.items()}  # NaN -> null
        Path(args.json).write_text(json.dumps(clean, indent=2) + "\n", encoding="utf-8")
    return 0
