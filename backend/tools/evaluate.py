"""Evaluate a prompter and a segmenter on reasoning and referring segmentation benchmarks, as Think2Seg-RS was.

Each sample: a question (see :func:`.datasets.choose_questions`), the image resized to 840×840 (LANCZOS) as the
model sees it, the prompter's answer read by each protocol (:mod:`.protocols`), one SAM call per instance on
the same 840×840 image (single mask), the masks OR-ed, and IoU against the ground truth resized to 840×840
with NEAREST. Both protocols score every answer, from one generation; ``protocol`` picks the headline.
Metrics: :mod:`.metrics`.
"""

from __future__ import annotations

import csv
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..models.batch import BatchSize, encode_images, predict_masks, prompt_images
from ..models.prompter import Prompter
from ..models.prompts import Instance
from ..models.segmenter import Segmenter
from .datasets import REFERENCE_SEED, Item, choose_questions, ground_truth, load_samples, model_view
from .metrics import SampleScore, summarise
from .protocols import PROTOCOLS, Reading, disagree, read, score

log = logging.getLogger(__name__)

CSV_COLUMNS = (
    "id",
    "question",
    "status",
    "n_instances",
    "intersection",
    "union",
    "iou",
    "empty_gt",
    "empty_pred",
    "iou_reference",
    "iou_lenient",
    "parsed_reference",
    "parsed_lenient",
    "parsers_disagree",
)


def _masks(
    segmenter: Segmenter, images: list[np.ndarray], instance_lists: Sequence[Sequence[tuple[Instance, ...]]]
) -> list[list[np.ndarray | str]]:
    """For each image, the OR-ed mask of each instance list (or an error message); each image is encoded once,
    in one batch on CUDA, and only when some list has instances."""
    need = [i for i, lists in enumerate(instance_lists) if any(lists)]
    embeddings, _ = encode_images(segmenter, [images[i] for i in need], len(need))
    by_image = dict(zip(need, embeddings))
    out: list[list[np.ndarray | str]] = []
    for i, (image, lists) in enumerate(zip(images, instance_lists)):
        unique = list(dict.fromkeys(inst for instances in lists for inst in instances))
        try:
            masks = dict(zip(unique, (m for m, _ in predict_masks(segmenter, image, unique, by_image.get(i)))))
        except Exception as exc:  # noqa: BLE001 - one failing sample must not lose a long run
            log.exception("the segmenter failed")
            out.append([f"segmenter failed: {type(exc).__name__}: {exc}"] * len(lists))
            continue
        row: list[np.ndarray | str] = []
        for instances in lists:
            mask = np.zeros(image.shape[:2], dtype=bool)
            for inst in instances:
                mask |= masks[inst]
            row.append(mask)
        out.append(row)
    return out


def evaluate(
    dataset_dir: str | Path,
    split: str,
    prompter: Prompter,
    segmenter: Segmenter,
    out_csv: str | Path,
    progress: bool = True,
    limit: int | None = None,
    batch_size: int = 1,
    dataset: str = "earthreason",
    protocol: str = "reference",
    question: str = "random",
    seed: int = REFERENCE_SEED,
    order: str = "listdir",
) -> dict:
    """Score every sample of ``split`` (or the first ``limit`` questions), write one CSV row each, return the
    metrics: ``protocol``'s at the top level, each protocol's under its name, and how often they disagree.

    Samples go through the prompter and the SAM encoder ``batch_size`` at a time. A sample whose prompter or
    segmenter raises is recorded with status ``error`` and an empty prediction.
    """
    from tqdm import tqdm

    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}")
    items = choose_questions(load_samples(dataset, dataset_dir, split, order), question, seed)[: limit or None]
    out_csv = Path(out_csv)
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    # Rows go to a file beside the CSV, which replaces it only when every row is in: an interrupted run
    # keeps its rows so far there, and never costs an earlier CSV of the same name.
    partial = out_csv.with_name(out_csv.name + ".partial")
    scores: dict[str, list[SampleScore]] = {p: [] for p in PROTOCOLS}
    parsed: dict[str, list[bool]] = {p: [] for p in PROTOCOLS}
    statuses: list[str] = []
    disagreements = 0
    batch_size = max(1, int(batch_size))
    batch = BatchSize(batch_size)
    started = time.perf_counter()
    with (
        partial.open("w", newline="", encoding="utf-8") as fh,
        tqdm(total=len(items), desc=f"evaluate {split}", unit="sample", disable=not progress, file=sys.stderr) as bar,
    ):
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for start in range(0, len(items), batch_size):
            chunk = items[start : start + batch_size]
            images = [model_view(item.sample.image) for item in chunk]
            results = prompt_images(prompter, images, [item.question for item in chunk], batch)
            readings = [
                {p: read(p, r.raw_text) if r.status != "error" else Reading(False, (), "error") for p in PROTOCOLS}
                for r in results
            ]
            masks = _masks(segmenter, images, [[rd[p].instances for p in PROTOCOLS] for rd in readings])
            for item, result, reading, row_masks in zip(chunk, results, readings, masks):
                status = result.status
                gt = ground_truth(item.sample)
                if status == "error" or any(isinstance(m, str) for m in row_masks):
                    log.error(
                        "sample %s: %s", item.id, result.error or next(m for m in row_masks if isinstance(m, str))
                    )
                    status = "error"
                    reading = {p: Reading(False, (), "error") for p in PROTOCOLS}
                    row_masks = [np.zeros_like(gt) for _ in PROTOCOLS]
                row_scores = {
                    p: score(p, reading[p], mask, gt)
                    for p, mask in zip(PROTOCOLS, row_masks)  # type: ignore[arg-type]
                }
                differ = disagree(reading["reference"], reading["lenient"])
                disagreements += differ
                statuses.append(status)
                for p in PROTOCOLS:
                    scores[p].append(row_scores[p])
                    parsed[p].append(reading[p].parsed)
                _write_row(writer, item, status, protocol, reading, row_scores, differ)
                bar.update(1)
    os.replace(partial, out_csv)
    return _metrics(scores, parsed, statuses, disagreements, protocol) | {
        "seconds": round(time.perf_counter() - started, 3),
        "dataset": dataset,
        "split": split,
        "question": question,
        "seed": seed,
        "order": order,
        "csv": str(out_csv),
        "prompter": prompter.name,
        "segmenter": segmenter.name,
    }


def _write_row(writer, item: Item, status, protocol, reading, row_scores, differ: bool) -> None:
    main = row_scores[protocol]
    writer.writerow(
        {
            "id": item.id,
            "question": item.question,
            "status": status,
            "n_instances": len(reading[protocol].instances),
            "intersection": main.intersection,
            "union": main.union,
            "iou": f"{main.iou:.6f}",
            "empty_gt": int(main.empty_gt),
            "empty_pred": int(main.empty_pred),
            "iou_reference": f"{row_scores['reference'].iou:.6f}",
            "iou_lenient": f"{row_scores['lenient'].iou:.6f}",
            "parsed_reference": int(reading["reference"].parsed),
            "parsed_lenient": int(reading["lenient"].parsed),
            "parsers_disagree": int(differ),
        }
    )


def _metrics(scores, parsed, statuses: list[str], disagreements: int, protocol: str) -> dict:
    n = len(statuses)
    errors = statuses.count("error")
    per_protocol = {}
    for p in PROTOCOLS:
        failures = sum(not ok for ok, st in zip(parsed[p], statuses) if st != "error")
        per_protocol[p] = summarise(scores[p]) | {
            "unparseable": failures,
            "parse_failure_rate": failures / n if n else float("nan"),
        }
    empty_gt_status = [st for st, s in zip(statuses, scores[protocol]) if s.empty_gt]
    return (
        dict(per_protocol[protocol])
        | {
            "protocol": protocol,
            "no_target_answer_rate": (
                empty_gt_status.count("no_target") / len(empty_gt_status) if empty_gt_status else float("nan")
            ),
            "errors": errors,
            "parsers_disagree": disagreements,
            "parsers_disagree_rate": disagreements / n if n else float("nan"),
        }
        | {p: per_protocol[p] for p in PROTOCOLS}
    )


def format_metrics(m: dict) -> str:
    """A short human-readable summary (percentages)."""

    def pct(v: float) -> str:
        return "n/a" if v is None or v != v else f"{100 * v:.2f}"

    lines = [
        f"{m['samples']} samples ({m['empty_gt_samples']} with no target), {m['dataset']} {m['split']} split, "
        f"question {m['question']} (seed {m['seed']}), headline protocol: {m['protocol']}"
    ]
    for p in PROTOCOLS:
        s = m[p]
        lines += [
            f"  {p} protocol:",
            f"    LISA / SegEarth-R1: gIoU {pct(s['giou_lisa'])}  cIoU {pct(s['ciou_lisa'])}",
            f"    Think2Seg-RS:       gIoU {pct(s['giou_think2seg'])}  cIoU {pct(s['ciou_think2seg'])} "
            "(false positives on empty targets not counted)",
            f"    Precision@0.5 {pct(s['precision_at_0.5'])} (reference's, over predictions only: "
            f"{pct(s['precision_at_0.5_reference'])})",
            f"    no target answered correctly: {pct(s['no_target_accuracy'])}%; "
            f"unparseable answers: {s['unparseable']} ({pct(s['parse_failure_rate'])}%)",
        ]
    lines += [
        f"  the two parsers disagree on {m['parsers_disagree']} samples ({pct(m['parsers_disagree_rate'])}%); "
        f"errors: {m['errors']}",
        f"  rows: {m['csv']}",
    ]
    return "\n".join(lines)
