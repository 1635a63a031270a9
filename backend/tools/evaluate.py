"""Evaluate a prompter and a segmenter on EarthReason-format data, as Think2Seg-RS was evaluated.

Layout: ``{split}/images/{id}.jpg|png``, ``{split}/labels/{id}.png`` (non-zero = target) and
``{split}/QAs/{id}.json`` with ``questions`` and ``answer`` lists (an empty ``answer`` means no target).
Each sample: the first question, the image resized to 840×840 (LANCZOS) as the model sees it, the
prompter's instances in that frame, one SAM call per instance on the same 840×840 image (single mask),
the masks OR-ed, and IoU against the label resized to 840×840 with NEAREST. Metrics: :mod:`backend.metrics`.
"""

from __future__ import annotations

import csv
import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..models.batch import BatchSize, encode_images, predict_masks, prompt_images
from ..models.prompter import Prompter, to_model_image
from ..models.prompts import MODEL_IMAGE_SIZE, PromptResult
from ..models.segmenter import Segmenter
from .metrics import SampleScore, score_masks, summarise

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
    for m, _ in predict_masks(segmenter, image, result.instances):
        mask |= m
    return mask, result.status, len(result.instances)


def _masks(segmenter: Segmenter, images: list[np.ndarray], results: list[PromptResult]) -> list[np.ndarray | str]:
    """The OR-ed mask per image (or an error message); encodes the images that need SAM in one batch (on CUDA)."""
    need = [i for i, r in enumerate(results) if r.instances]
    embeddings, _ = encode_images(segmenter, [images[i] for i in need], len(need))
    by_image = dict(zip(need, embeddings))
    out: list[np.ndarray | str] = []
    for i, (image, result) in enumerate(zip(images, results)):
        mask = np.zeros(image.shape[:2], dtype=bool)
        try:
            predictions = predict_masks(segmenter, image, result.instances, by_image.get(i))
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
    batch = BatchSize(batch_size)
    started = time.perf_counter()
    with (
        out_csv.open("w", newline="", encoding="utf-8") as fh,
        tqdm(total=len(samples), desc=f"evaluate {split}", unit="sample", disable=not progress, file=sys.stderr) as bar,
    ):
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for start in range(0, len(samples), batch_size):
            chunk = samples[start : start + batch_size]
            images = [model_view(s.image) for s in chunk]
            results = prompt_images(prompter, images, [s.question for s in chunk], batch)
            masks = _masks(segmenter, images, results)
            for sample, result, pred in zip(chunk, results, masks):
                gt = ground_truth(sample)
                if result.status != "error" and not isinstance(pred, str):
                    status, n = result.status, len(result.instances)
                else:
                    log.error("sample %s: %s", sample.id, pred if isinstance(pred, str) else result.error)
                    pred, status, n = np.zeros_like(gt), "error", 0
                score = score_masks(pred, gt)
                scores.append(score)
                statuses.append(status)
                writer.writerow(
                    {
                        "id": sample.id,
                        "question": sample.question,
                        "status": status,
                        "n_instances": n,
                        "intersection": score.intersection,
                        "union": score.union,
                        "iou": f"{score.iou:.6f}",
                        "empty_gt": int(score.empty_gt),
                        "empty_pred": int(score.empty_pred),
                    }
                )
                bar.update(1)
    metrics = summarise(scores)
    empty_gt_status = [st for st, s in zip(statuses, scores) if s.empty_gt]
    metrics.update(
        {
            "no_target_answer_rate": (
                empty_gt_status.count("no_target") / len(empty_gt_status) if empty_gt_status else float("nan")
            ),
            "unparseable": statuses.count("unparseable"),
            "parse_failure_rate": statuses.count("unparseable") / len(statuses),
            "errors": statuses.count("error"),
            "seconds": round(time.perf_counter() - started, 3),
            "split": split,
            "csv": str(out_csv),
            "prompter": getattr(prompter, "name", type(prompter).__name__),
            "segmenter": getattr(segmenter, "name", type(segmenter).__name__),
        }
    )
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
