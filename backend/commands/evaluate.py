"""``python -m backend evaluate DATASET``: gIoU, cIoU and Precision@0.5 on the reasoning and referring
segmentation benchmarks, under the reference's protocol or the production parser's (backend/tools/evaluate.py)."""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import replace
from pathlib import Path

from ..models.loading import EngineConfig, load_models
from ..models.prompts import REFERENCE_MAX_NEW_TOKENS
from ..tools.datasets import DATASETS, ORDERS, QUESTION_MODES, REFERENCE_SEED
from ..tools.protocols import PROTOCOLS, reference_repair


def register(sub) -> None:
    p = sub.add_parser(
        "evaluate",
        help="score a prompter and segmenter on EarthReason, RRSIS-D, RefSegRS or RISBench",
        description="gIoU, cIoU (LISA and Think2Seg-RS conventions) and Precision@0.5 at 840×840, under the "
        "Think2Seg-RS reference protocol (the scores to compare with the paper) or the production parser's. "
        "Both protocols score every answer; --protocol picks the headline.",
    )
    p.add_argument("dataset_dir", metavar="DIR", help="the data set's root folder, in its public layout")
    p.add_argument(
        "--dataset",
        choices=DATASETS,
        default="earthreason",
        help="earthreason ({split}/images, labels, QAs), rrsisd (rrsisd/refs(unc).p, instances.json, "
        "images/rrsisd/JPEGImages), refsegrs (images/, masks/, output_phrase_{split}.txt) or risbench "
        "(img_rgb/, mask/, output_phrase_{split}.txt); default earthreason",
    )
    p.add_argument("--split", default="val", help="split name (default val; the paper reports test)")
    p.add_argument(
        "--protocol",
        choices=PROTOCOLS,
        default="reference",
        help="reference: the reference's parser (whole answer rejected when an instance lacks exactly two "
        "positive points or has negative points; no <answer> pair: the whole text), its empty-target rule (1 only "
        "for an answer that parses to []) and 840×840 scoring; lenient: the production parser (repairs, clips, "
        "keeps partial answers) and an empty prediction scoring 1 on an empty target (default reference)",
    )
    p.add_argument(
        "--question",
        choices=QUESTION_MODES,
        default="random",
        help="which question of a sample with several: random (random.seed(SEED), then random.choice per sample "
        "in sample order, as the reference), first, or all (each question scored as its own sample); default random",
    )
    p.add_argument(
        "--seed", type=int, default=REFERENCE_SEED, help=f"seed of the random question (default {REFERENCE_SEED})"
    )
    p.add_argument(
        "--order",
        choices=ORDERS,
        default="listdir",
        help="EarthReason sample order: listdir (the reference's: os.listdir, the file system's order, which "
        "decides the random draw) or sorted by file name (reproducible across machines); default listdir",
    )
    p.add_argument("-o", "--output", help="per-sample CSV (default evaluate-{dataset}-{split}.csv)")
    p.add_argument("--json", help="also write the metrics to this JSON file")
    p.add_argument("--limit", type=int, help="only the first N questions (not the reference's random subset)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    EngineConfig.add_arguments(p, constrain_default=False)
    p.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    from ..tools.datasets import load_samples
    from ..tools.evaluate import evaluate, format_metrics

    load_samples(args.dataset, args.dataset_dir, args.split, args.order)  # fail on a bad folder before loading
    reference_repair()  # both protocols score every answer
    config = EngineConfig.from_args(args)
    if args.protocol == "reference" and config.max_new_tokens is None:
        config = replace(config, max_new_tokens=REFERENCE_MAX_NEW_TOKENS)  # not the checkpoint's own limit
    prompter, segmenter = load_models(config, *config.resolve())
    out = args.output or f"evaluate-{args.dataset}-{args.split}.csv"
    metrics = evaluate(
        args.dataset_dir,
        args.split,
        prompter,
        segmenter,
        out,
        progress=not args.quiet,
        limit=args.limit,
        batch_size=config.batch_size,
        dataset=args.dataset,
        protocol=args.protocol,
        question=args.question,
        seed=args.seed,
        order=args.order,
    )
    metrics["constrained"] = bool(getattr(prompter, "constraint", None))
    print(format_metrics(metrics))
    if args.json:
        target = Path(args.json)
        partial = target.with_name(target.name + ".partial")
        partial.write_text(json.dumps(_clean(metrics), indent=2) + "\n", encoding="utf-8")
        os.replace(partial, target)  # an earlier file of that name goes only once this one is complete
    return 0


def _clean(value):
    """NaN becomes null, recursively (JSON has no NaN)."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return None if isinstance(value, float) and value != value else value
