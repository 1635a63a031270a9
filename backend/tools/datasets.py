"""Readers for the reasoning and referring segmentation benchmarks, in each data set's public layout.

Each reader lists samples as Think2Seg-RS's own loaders do (``src/open-r1-multimodal/src/open_r1/dataset/``):
the same files, the same question text, the same order, the same mask rule. Images and masks are read at
840×840 (LANCZOS and NEAREST) by :func:`model_view` and :func:`ground_truth`.

- ``earthreason``: ``{split}/images/{id}.jpg|png``, ``{split}/labels/{id}.png``, ``{split}/QAs/{id}.json``
  (``questions``, ``answer``); the reference keeps a sample only when its label and QA file exist.
- ``rrsisd``: ``rrsisd/refs(unc).p`` (a pickle of refs), ``rrsisd/instances.json`` (COCO-style) and
  ``images/rrsisd/JPEGImages/``; the question is a ref's first sentence with a full stop added; ``test`` takes
  every ref whose split contains "test".
- ``refsegrs``: ``images/{id}.tif``, ``masks/{id}.tif`` (channel 0), ``output_phrase_{split}.txt``
  (``id phrase…`` per line).
- ``risbench``: ``img_rgb/{file}``, ``mask/{file}`` (same file name), ``output_phrase_{split}.txt``
  (``file phrase…`` per line, split at the first space).
"""

from __future__ import annotations

import json
import logging
import os
import pickle  # nosec B403 - read through _RefsUnpickler, which imports nothing
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..models.prompter import to_model_image
from ..models.prompts import MODEL_IMAGE_SIZE

log = logging.getLogger(__name__)

DATASETS = ("earthreason", "rrsisd", "refsegrs", "risbench")
QUESTION_MODES = ("first", "random", "all")
ORDERS = ("listdir", "sorted")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff")
REFERENCE_SEED = 0  # every evaluation script of the reference passes --seed 0


@dataclass(frozen=True)
class Sample:
    """One image with its questions and its ground truth: a mask file, or COCO polygons of a known size."""

    id: str
    image: Path
    questions: tuple[str, ...]
    label: Path | None = None
    polygons: tuple | None = None
    size: tuple[int, int] | None = None  # (height, width) of the image the polygons are drawn on


@dataclass(frozen=True)
class Item:
    """One evaluated question: a sample and the question asked about it."""

    id: str
    sample: Sample
    question: str


def load_samples(dataset: str, root: str | Path, split: str, order: str = "listdir") -> list[Sample]:
    """The split's samples. EarthReason's come in ``order``: ``listdir`` (the reference's: the file system's
    order, which can differ between machines) or ``sorted`` by file name; the others in their annotation files'.

    Raises ``UserError`` (code ``bad_dataset``) for a folder that is not in the data set's layout.
    """
    if dataset not in DATASETS:
        raise UserError(f"unknown dataset {dataset!r}: use one of {', '.join(DATASETS)}", "bad_dataset")
    if order not in ORDERS:
        raise UserError(f"unknown order {order!r}: use listdir or sorted", "bad_dataset")
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"{root} is not a folder", "bad_dataset")
    samples = _READERS[dataset](root, split, order)
    if not samples:
        raise UserError(f"no {dataset} samples in {root} for split {split!r}", "bad_dataset")
    return samples


def choose_questions(samples: Sequence[Sample], mode: str = "random", seed: int = REFERENCE_SEED) -> list[Item]:
    """The questions to ask: ``first``; ``random`` (``random.seed(seed)`` then one ``random.choice`` per sample,
    in sample order, as the reference draws them); or ``all``, each question a sample of its own."""
    if mode not in QUESTION_MODES:
        raise UserError(f"unknown question mode {mode!r}: use first, random or all", "bad_dataset")
    if mode == "first":
        return [Item(s.id, s, s.questions[0]) for s in samples]
    if mode == "all":
        return [
            Item(s.id if len(s.questions) == 1 else f"{s.id}#{k}", s, q)
            for s in samples
            for k, q in enumerate(s.questions)
        ]
    rng = random.Random(seed)  # nosec B311 - the reference's question draw, not security
    return [Item(s.id, s, rng.choice(s.questions)) for s in samples]


def model_view(path: Path, size: int = MODEL_IMAGE_SIZE) -> np.ndarray:
    """The image as the model sees it: RGB, ``size``×``size``, LANCZOS, aspect ratio not kept."""
    from PIL import Image

    with Image.open(path) as im:
        rgb = np.asarray(im.convert("RGB"))
    return np.asarray(to_model_image(rgb, size))


def ground_truth(sample: Sample, size: int = MODEL_IMAGE_SIZE) -> np.ndarray:
    """The target as a bool ``size``×``size`` mask (NEAREST); all False when the sample has no ground truth.

    A mask file counts any non-zero value (channel 0 of a multi-channel file, as RefSegRS's loader reads it);
    polygons are rasterised by pycocotools, as the RRSIS-D loader does.
    """
    from PIL import Image

    if sample.polygons is not None:
        return _polygon_mask(sample, size)
    if sample.label is None:
        return np.zeros((size, size), dtype=bool)
    with Image.open(sample.label) as im:
        array = np.asarray(im.resize((size, size), Image.Resampling.NEAREST))
    if array.ndim == 3:
        array = array[..., 0]
    return array != 0


def _polygon_mask(sample: Sample, size: int) -> np.ndarray:
    from PIL import Image

    try:
        from pycocotools import mask as coco_mask
    except ImportError as exc:
        raise UserError(f"RRSIS-D masks need pycocotools ({exc}): pip install pycocotools", "bad_dataset") from None
    if sample.size is None:
        raise UserError(f"sample {sample.id} has polygons but no image size", "bad_dataset")
    height, width = sample.size
    polygons = sample.polygons
    rle = coco_mask.frPyObjects(list(polygons), height, width) if isinstance(polygons[0], list) else polygons
    decoded = coco_mask.decode(rle)
    if decoded.ndim == 3:
        decoded = np.sum(decoded, axis=2)
    mask = decoded.astype(np.uint8)  # as the reference: a sum of overlapping parts, cast to uint8
    return np.asarray(Image.fromarray(mask).resize((size, size), Image.Resampling.NEAREST)) > 0


# --- the readers ---------------------------------------------------------------------------------------------


def _earthreason(root: Path, split: str, order: str) -> list[Sample]:
    base = root / split
    images_dir, labels_dir, qas_dir = base / "images", base / "labels", base / "QAs"
    for folder in (images_dir, qas_dir):
        if not folder.is_dir():
            raise UserError(
                f"{folder} is missing: expected {{split}}/images, {{split}}/labels and {{split}}/QAs", "bad_dataset"
            )
    names = os.listdir(images_dir)
    if order == "sorted":
        names.sort()
    samples = []
    for name in names:
        image = images_dir / name
        if image.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        sid = name.split(".")[0]  # the reference's id: up to the first dot
        qa_path, label = qas_dir / f"{sid}.json", labels_dir / f"{sid}.png"
        if not qa_path.is_file() or not label.is_file():
            log.warning("%s has no %s; skipped, as the reference does", name, "QA file" if label.is_file() else "label")
            continue
        try:
            questions = json.loads(qa_path.read_text(encoding="utf-8")).get("questions") or []
        except (ValueError, AttributeError):
            raise UserError(f"{qa_path} is not a JSON object with a questions list", "bad_dataset") from None
        if not questions:
            log.warning("%s has no question; skipped", qa_path.name)
            continue
        samples.append(Sample(sid, image, tuple(str(q) for q in questions), label=label))
    return samples


class _RefsUnpickler(pickle.Unpickler):
    """Reads the refs pickle as plain data: no class from the file is ever imported (a pickle can run code)."""

    def find_class(self, module: str, name: str):
        raise pickle.UnpicklingError(f"refs file refers to {module}.{name}; only plain lists and dicts are read")


def _rrsisd(root: Path, split: str, order: str) -> list[Sample]:
    data_dir, image_dir = root / "rrsisd", root / "images" / "rrsisd" / "JPEGImages"
    refs_path, instances_path = data_dir / "refs(unc).p", data_dir / "instances.json"
    for path in (refs_path, instances_path, image_dir):
        if not path.exists():
            raise UserError(f"{path} is missing: expected the RRSIS-D layout (rrsisd/, images/rrsisd/)", "bad_dataset")
    try:
        with refs_path.open("rb") as fh:
            refs = _RefsUnpickler(fh).load()
        instances = json.loads(instances_path.read_text(encoding="utf-8"))
        images = {img["id"]: img for img in instances["images"]}
        anns = {ann["id"]: ann for ann in instances["annotations"]}
    except (pickle.UnpicklingError, ValueError, KeyError, TypeError, EOFError) as exc:
        raise UserError(f"cannot read the RRSIS-D annotations in {data_dir}: {exc}", "bad_dataset") from None
    if split == "test":
        chosen = [r for r in refs if "test" in r["split"]]
    else:
        chosen = [r for r in refs if r["split"] == split]
    samples = []
    for ref in chosen:
        image, ann = images.get(ref["image_id"]), anns.get(ref["ann_id"])
        if image is None or ann is None or not ref.get("sentences"):
            log.warning("ref %s has no image, annotation or sentence; skipped", ref.get("ref_id"))
            continue
        question = ref["sentences"][0]["sent"] + "."
        polygons = ann["segmentation"]
        samples.append(
            Sample(
                str(ref["ref_id"]),
                image_dir / image["file_name"],
                (question,),
                polygons=tuple(polygons) if isinstance(polygons, list) else (polygons,),
                size=(int(image["height"]), int(image["width"])),
            )
        )
    return samples


def _phrases(path: Path, first_space_only: bool) -> list[tuple[str, str]]:
    if not path.is_file():
        raise UserError(f"{path} is missing: the phrase list of the split", "bad_dataset")
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if first_space_only:
            parts = line.strip().split(" ", 1)
            if len(parts) == 2:
                rows.append((parts[0], parts[1].strip()))
        else:
            parts = line.split()
            if len(parts) >= 2:
                rows.append((parts[0], " ".join(parts[1:])))
    return rows


def _refsegrs(root: Path, split: str, order: str) -> list[Sample]:
    samples = []
    for k, (sid, phrase) in enumerate(_phrases(root / f"output_phrase_{split}.txt", first_space_only=False)):
        image, mask = root / "images" / f"{sid}.tif", root / "masks" / f"{sid}.tif"
        if image.is_file() and mask.is_file():
            samples.append(Sample(f"{k}:{sid}", image, (phrase,), label=mask))
    return samples


def _risbench(root: Path, split: str, order: str) -> list[Sample]:
    samples = []
    for k, (name, phrase) in enumerate(_phrases(root / f"output_phrase_{split}.txt", first_space_only=True)):
        image, mask = root / "img_rgb" / name, root / "mask" / name
        if image.is_file() and mask.is_file():
            samples.append(Sample(f"{k}:{name.split('.')[0]}", image, (phrase,), label=mask))
    return samples


_READERS = {"earthreason": _earthreason, "rrsisd": _rrsisd, "refsegrs": _refsegrs, "risbench": _risbench}
