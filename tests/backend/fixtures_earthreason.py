"""A small EarthReason-format data set cut from the real Atlanta raster, and FAKE models that answer it.

The crops are real imagery (the 16-bit panchromatic band stretched to 8-bit grey RGB by the backend's own
reader); the labels are the real building footprints rasterised onto the same grid.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from backend.models.prompter import Prompter
from backend.models.prompts import Instance, PromptResult, parse_answer
from backend.models.segmenter import Segmenter
from tests.fakes import FakeOracle

RASTER = "atlanta_pan_uint16_0p5m_epsg32616.tif"
FOOTPRINTS = "atlanta_buildings.geojson"
QUESTION = "Where are the houses in this suburb?"
QUESTIONS = (QUESTION, "Which parts of this image are roofs?", "Find the buildings.")

# id -> (col, row, width, height) in the 900×900 raster, image format, and what the FAKE prompter does:
#   oracle: answers one instance per building (from the truth), box = the building's bounding box
#   false_positive: answers one fixed box although there is nothing (ground truth empty)
#   garbage: writes text without an <answer> (unparseable)
CROPS = {
    "s01": ((0, 0, 300, 300), "png", "oracle"),
    "s02": ((450, 0, 300, 240), "jpg", "oracle"),  # not square: the 840×840 resize changes the aspect
    "s03": ((150, 450, 300, 150), "png", "oracle"),  # no buildings: the oracle answers []
    "s04": ((600, 300, 150, 300), "png", "oracle"),
    "s05": ((150, 600, 150, 150), "png", "false_positive"),  # no buildings
    "s06": ((0, 600, 300, 300), "png", "garbage"),
}
FALSE_POSITIVE_BOX = (100, 120, 300, 260)  # in the 840×840 frame


def image_key(image: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(image).tobytes(), digest_size=16).hexdigest()


def build_earthreason_fixture(data_dir: Path, out_dir: Path, split: str = "val") -> Path:
    """Write ``out_dir/{split}/images|labels|QAs`` from the Atlanta raster and footprints; return ``out_dir``."""
    import geopandas as gpd
    import rasterio.features
    from PIL import Image

    from backend.geo.raster import PixelWindow, RasterSource

    root = Path(out_dir) / split
    for sub in ("images", "labels", "QAs"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    with RasterSource(str(data_dir / RASTER)) as src:
        shapes = gpd.read_file(data_dir / FOOTPRINTS).to_crs(src.crs).geometry
        truth = rasterio.features.rasterize(
            ((g, 1) for g in shapes), out_shape=(src.height, src.width), transform=src.ds.transform, dtype="uint8"
        )
        for sid, ((c, r, w, h), fmt, _) in CROPS.items():
            image, _ = src.read(PixelWindow(c, r, w, h))
            label = truth[r : r + h, c : c + w]
            Image.fromarray(image).save(root / "images" / f"{sid}.{fmt}", quality=95)
            Image.fromarray(label * 255).save(root / "labels" / f"{sid}.png")
            answer = [f"{int(label.sum())} building pixels"] if label.any() else []
            qa = {"questions": list(QUESTIONS), "answer": answer}
            (root / "QAs" / f"{sid}.json").write_text(json.dumps(qa), encoding="utf-8")
    return Path(out_dir)


class FakeEarthReasonOracle(Prompter, Segmenter):
    """FAKE prompter and segmenter for the fixture. It recognises each 840×840 image by its content hash.

    Prompter: writes a real-format answer (through ``FakeOracle.answer_text`` and the real parser) according to
    the crop's behaviour in :data:`CROPS`. Segmenter: fills the prompt box (not the true outline), so IoU is
    below 1 wherever buildings are not rectangles.
    """

    name = "fake-earthreason"

    def __init__(self, views: dict[str, tuple[np.ndarray, np.ndarray]]):
        """``views``: sample id -> (840×840 image as evaluated, 840×840 bool ground truth)."""
        self._by_key = {image_key(img): (sid, gt) for sid, (img, gt) in views.items()}
        self._shape: tuple[int, int] | None = None
        self.encodes = 0

    def answer_for(self, sid: str, gt: np.ndarray) -> str:
        behaviour = CROPS[sid][2]
        if behaviour == "garbage":
            return "<think>I am not sure what to do</think> the houses are somewhere"
        if behaviour == "false_positive":
            return f'<think>x</think><answer>[{{"bbox_2d": {list(FALSE_POSITIVE_BOX)}}}]</answer>'
        return FakeOracle(np.zeros((1, 1), bool)).answer_text(gt)

    def prompt(self, images, query, tiles=None) -> list[PromptResult]:
        results = []
        for image in images:
            sid, gt = self._by_key[image_key(image)]
            assert image.shape[:2] == (840, 840) and query in QUESTIONS
            results.append(parse_answer(self.answer_for(sid, gt)))
        return results

    def set_image(self, image: np.ndarray) -> None:
        self._by_key[image_key(image)]  # noqa: B018 - a KeyError means the image is not the one prompted
        self._shape = image.shape[:2]
        self.encodes += 1

    def predict(self, instance: Instance) -> tuple[np.ndarray, float]:
        mask = np.zeros(self._shape, dtype=bool)
        x1, y1, x2, y2 = (int(round(v)) for v in instance.box)
        mask[y1:y2, x1:x2] = True
        return mask, 0.9
