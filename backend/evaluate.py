"""Evaluate a prompter and a segmenter on EarthReason-format data, as Think2Seg-RS was evaluated.

Layout: ``{split}/images/{id}.jpg|png``, ``{split}/labels/{id}.png`` (non-zero = target) and
``{split}/QAs/{id}.json`` with ``questions`` and ``answer`` lists (an empty ``answer`` means no target).
Each sample: the first question, the image resized to 840×840 (LANCZOS) as the model sees it, the
prompter's instances in that frame, one SAM call per instance on the same 840×840 image (single mask),
the masks OR-ed, and IoU against the label resized to 840×840 with NEAREST. Metrics: :mod:`backend.metrics`.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .devices import is_cuda
from .errors import UserError
from .metrics import SampleScore, score_masks, summarise
from .prompter import Prompter, to_model_image
from .prompts import MODEL_IMAGE_SIZE, PromptResult
from .segmenter import Segmenter, predict_all, segment_instances

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff")
CSV_COLUMNS = ("id", "question", "status", "n_instances", "intersection", "union", "iou", "empty_gt", "empty_pred")


@dataclass(frozen=True)
class Sample:
    """One EarthReason sample: its files, first question and whether the answer says "no target"."""

    id: str
    image: Path
    label: Path | None
    question: str
    no_target: bool


def load_samples(dataset_dir: str | Path, split: str) -> list[Sample]:
    """The split's samples, sorted by id. Raises ``UserError`` for a folder that is not EarthReason-shaped."""
    root = Path(dataset_dir) / split
    images_dir, labels_dir, qas_dir = root / "images", root / "labels", root / "QAs"
    for d in (images_dir, qas_dir):
        if not d.is_dir():
            raise UserError(f"{d} is missing: expected {{split}}/images, {{split}}/labels and {{split}}/QAs")
    samples = []
    for image in sorted(p for p in images_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        qa_path = qas_dir / f"{image.stem}.json"
        if not qa_path.is_file():
            log.warning("no QA file for %s; skipped", image.name)
            continue
        qa = json.loads(qa_path.read_text(encoding="utf-8"))
        questions = qa.get("questions") or []
        if not questions:
            log.warning("%s has no question; skipped", qa_path.name)
            continue
        label = labels_dir / f"{image.stem}.png"
        no_target = not qa.get("answer")
        if not label.is_file():
            if not no_target:
                raise UserError(f"{label} is missing, but {qa_path.name} has an answer")
            label = None
        samples.append(Sample(image.stem, image, label, str(questions[0]), no_target))
    if not samples:
        raise UserError(f"no samples in {root}")
    return samples


def model_view(path: Path, size: int = MODEL_IMAGE_SIZE) -> np.ndarray:
    """The image as the model sees it: RGB, ``size``×``size``, LANCZOS, aspect ratio not kept."""
    from PIL import Image

    with Image.open(path) as im:
        rgb = np.asarray(im.convert("RGB"))
    return np.asarray(to_model_image(rgb, size))


def ground_truth(sample: Sample, size: int = MODEL_IMAGE_SIZE) -> np.ndarray:
    """The label as a bool ``size``×``size`` mask (NEAREST); all False when the sample has no label file."""
    from PIL import Image

    if sample.label is None:
        return np.zeros((size, size), dtype=bool)
    with Image.open(sample.label) as im:
        label = im.convert("L") if im.mode not in ("L", "1", "P", "I", "I;16") else im
        label = label.resize((size, size), Image.Resampling.NEAREST)
        return np.asarray(label) != 0


def predict_mask(
    prompter: Prompter, segmenter: Segmenter, image: np.ndarray, question: str
) -> tuple[np.ndarray, str, int]:
    """The OR of the instance masks for one image, the prompter's status and its number of instances."""
    result = prompter.prompt([image], question)[0]
    mask = np.zeros(image.shape[:2], dtype=bool)
    for m, _ in segment_instances(segmenter, image, result.instances):
        mask |= m
    return mask, result.status, len(result.instances)


def _prompt_batch(prompter: Prompter, images: list[np.ndarray], questions: list[str]) -> list[PromptResult | str]:
    """One result per image (or an error message): one ``generate()`` for the batch where the prompter can
    take a question per image, else one call per sample; a failing batch is retried sample by sample."""
    batched = getattr(prompter, "prompt_questions", None)
    if batched is not None and len(images) > 1:
        try:
            return list(batched(images, questions))
        except Exception:  # noqa: BLE001 - find out which sample fails
            log.warning("a prompter batch failed; retrying its samples one by one", exc_info=True)
    out: list[PromptResult | str] = []
    for image, question in zip(images, questions):
        try:
            out.append(prompter.prompt([image], question)[0])
        except Exception as exc:  # noqa: BLE001 - one failing sample must not lose a long run
            log.exception("the prompter failed")
            out.append(f"prompter failed: {type(exc).__name__}: {exc}")
    return out


def _masks(segmenter: Segmenter, images: list[np.ndarray], results: list) -> list[np.ndarray | str]:
    """The OR-ed mask per image (or an error message); encodes the images that need SAM in one batch."""
    need = [i for i, r in enumerate(results) if isinstance(r, PromptResult) and r.instances]
    embeddings: dict[int, object] = {}
    encode = getattr(segmenter, "encode", None)
    # Batched encoding pays on a GPU only (docs/benchmarks.md: 15-20 % slower on the CPU).
    if encode is not None and len(need) > 1 and is_cuda(getattr(segmenter, "device", "cpu")):
        try:
            embeddings = dict(zip(need, encode([images[i] for i in need])))
        except Exception:  # noqa: BLE001 - fall back to encoding one by one
            log.warning("batched SAM encoding failed; encoding one by one", exc_info=True)
    out: list[np.ndarray | str] = []
    for i, (image, result) in enumerate(zip(images, results)):
        mask = np.zeros(image.shape[:2], dtype=bool)
        if isinstance(result, PromptResult) and result.instances:
            try:
                if i in embeddings:
                    segmenter.set_embedding(embeddings[i])
                    predictions = predict_all(segmenter, result.instances)
                else:
                    predictions = segment_instances(segmenter, image, result.instances)
            except Exception as exc:  # noqa: BLE001 - one failing sample must not lose a long run
                log.exception("the segmenter failed")
                out.append(f"segmenter failed: {type(exc).__name__}: {exc}")
                continue
            for m, _ in predictions:
                mask |= m
        out.append(mask)
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
) -> dict:
    """Run every sample of ``split`` (or the first ``limit``), write one CSV row each, return the metrics.

    Samples go through the prompter and the SAM encoder ``batch_size`` at a time. A sample whose prompter or
    segmenter raises is recorded with status ``error`` and an empty prediction.
    """
    from tqdm import tqdm

    samples = load_samples(dataset_dir, split)[: limit or None]
    out_csv = Path(out_csv)
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    scores: list[SampleScore] = []
    statuses: list[str] = []
    batch_size = max(1, int(batch_size))
    started = time.perf_counter()
    with out_csv.open("w", newline="", encoding="utf-8") as fh, tqdm(
        total=len(samples), desc=f"evaluate {split}", unit="sample", disable=not progress, file=sys.stderr
    ) as bar:
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for start in range(0, len(samples), batch_size):
            chunk = samples[start:start + batch_size]
            images = [model_view(s.image) for s in chunk]
            results = _prompt_batch(prompter, images, [s.question for s in chunk])
            masks = _masks(segmenter, images, results)
            for sample, result, pred in zip(chunk, results, masks):
                gt = ground_truth(sample)
                if isinstance(result, PromptResult) and not isinstance(pred, str):
                    status, n = result.status, len(result.instances)
                else:
                    log.error("sample %s: %s", sample.id, pred if isinstance(pred, str) else result)
                    pred, status, n = np.zeros_like(gt), "error", 0
                score = score_masks(pred, gt)
                scores.append(score)
                statuses.append(status)
                writer.writerow({
                    "id": sample.id, "question": sample.question, "status": status, "n_instances": n,
                    "intersection": score.intersection, "union": score.union, "iou": f"{score.iou:.6f}",
                    "empty_gt": int(score.empty_gt), "empty_pred": int(score.empty_pred),
                })
                bar.update(1)
    metrics = summarise(scores)
    empty_gt_status = [st for st, s in zip(statuses, scores) if s.empty_gt]
    metrics.update({
        "no_target_answer_rate": (empty_gt_status.count("no_target") / len(empty_gt_status)
                                  if empty_gt_status else float("nan")),
        "unparseable": statuses.count("unparseable"),
        "parse_failure_rate": statuses.count("unparseable") / len(statuses),
        "errors": statuses.count("error"),
        "seconds": round(time.perf_counter() - started, 3),
        "split": split,
        "csv": str(out_csv),
        "prompter": getattr(prompter, "name", type(prompter).__name__),
        "segmenter": getattr(segmenter, "name", type(segmenter).__name__),
    })
    return metrics


def format_metrics(m: dict) -> str:
    """A short human-readable summary (percentages)."""
    def pct(v: float) -> str:
        return "n/a" if v != v else f"{100 * v:.2f}"

    return (
        f"{m['samples']} samples ({m['empty_gt_samples']} with no target), {m['split']} split\n"
        f"  LISA / SegEarth-R1: gIoU {pct(m['giou_lisa'])}  cIoU {pct(m['ciou_lisa'])}\n"
        f"  Think2Seg-RS:       gIoU {pct(m['giou_think2seg'])}  cIoU {pct(m['ciou_think2seg'])} "
        "(false positives on empty targets not counted)\n"
        f"  empty targets: {pct(m['no_target_accuracy'])}% predicted empty, "
        f"{pct(m['no_target_answer_rate'])}% answered []\n"
        f"  unparseable answers: {m['unparseable']} ({pct(m['parse_failure_rate'])}%), errors: {m['errors']}\n"
        f"  rows: {m['csv']}"
    )


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``evaluate`` on the CLI's subparsers."""
    from .cli import _add_model_args

    p = subparsers.add_parser("evaluate", help="score a prompter and segmenter on EarthReason-format data",
                              description="gIoU and cIoU (LISA and Think2Seg-RS conventions) at 840×840.")
    p.add_argument("dataset", help="EarthReason folder (holding {split}/images, labels, QAs)")
    p.add_argument("--split", default="val", help="split folder name (default val)")
    p.add_argument("-o", "--output", help="per-sample CSV (default evaluate-{split}.csv)")
    p.add_argument("--json", help="also write the metrics to this JSON file")
    p.add_argument("--limit", type=int, help="only the first N samples")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _add_model_args(p)
    p.set_defaults(handler=run)
    return p


def run(args: argparse.Namespace) -> int:
    """The ``evaluate`` command."""
    from . import store
    from .cli import load_models
    from .devices import default_batch_size, resolve_device

    load_samples(args.dataset, args.split)  # fail on a bad folder before loading models
    device = resolve_device(args.device)
    args.batch_size = default_batch_size(device, args.batch_size)
    prompter_path = store.resolve(args.prompter, "prompter", args.models_dir)
    segmenter_path = store.resolve(args.segmenter, "segmenter", args.models_dir)
    prompter, segmenter = load_models(prompter_path, segmenter_path, device, args.batch_size, args.max_new_tokens,
                                      args.force_answer)
    out = args.output or f"evaluate-{args.split}.csv"
    metrics = evaluate(args.dataset, args.split, prompter, segmenter, out, progress=not args.quiet,
                       limit=args.limit, batch_size=args.batch_size)
    print(format_metrics(metrics))
    if args.json:
        clean = {k: (None if isinstance(v, float) and v != v else v) for k, v in metrics.items()}  # NaN -> null
        Path(args.json).write_text(json.dumps(clean, indent=2) + "\n", encoding="utf-8")
    return 0
