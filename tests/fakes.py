"""FAKES for tests. Trained weights cannot exist on the test machines, so these stand in for them.

``FakeOracle`` plays both the prompter and the segmenter from a known truth mask over the whole raster. It
writes its answers as the real model's text (``<think>…</think><answer>[…]</answer>`` in the 840×840 frame),
which then goes through the real parser, and answers SAM calls with the truth inside the prompt box. So the
rest of the pipeline (reading, tiling, geometry, seams, georeferencing, output) is tested for real, with a
known right answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from backend.models.prompter import Prompter
from backend.models.prompts import MODEL_IMAGE_SIZE, Instance, PromptResult, parse_answer
from backend.models.segmenter import Segmenter
from backend.tools.bench.truth import answer_text, seen_answer, watch_reads


def _key(image: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(image).tobytes(), digest_size=16).hexdigest()


class FakeOracle(Prompter, Segmenter):
    """FAKE prompter and segmenter that know the truth (a bool mask the size of the raster)."""

    def __init__(self, truth: np.ndarray, name: str = "fake-oracle", margin: int = 3, visible_px: int = 4):
        self.truth = truth.astype(bool)
        self.name = name
        self.margin = margin
        self.visible_px = visible_px  # in a downsampled image, objects smaller than this are not seen
        self._windows: dict[str, tuple[int, int, int, int]] = {}
        self._current: np.ndarray | None = None
        self.prompt_calls = 0
        self.encodes = 0

    # -- prompter -------------------------------------------------------------------------------------
    def answer_text(self, window_truth: np.ndarray) -> str:
        """The answer the real model would write for this tile, in 840×840 coordinates."""
        labels, _ = ndimage.label(window_truth)
        return answer_text(labels, "fake oracle: {n} object(s) in this tile")

    def prompt(self, images: Sequence[np.ndarray], query: str, tiles=None) -> list[PromptResult]:
        self.prompt_calls += 1
        results = []
        for image, tile in zip(images, tiles):
            w = tile.window
            self._windows[_key(image)] = (w.col_off, w.row_off, w.width, w.height)
            window_truth = self.truth[w.row_off : w.row_end, w.col_off : w.col_end]
            h, wd = image.shape[:2]
            if (h, wd) != window_truth.shape:  # an overview: what the image shows, at its own resolution
                text = seen_answer(window_truth, (h, wd), "fake oracle, overview: {n} object(s)", self.visible_px)
            else:
                text = self.answer_text(window_truth)
            results.append(parse_answer(text).scaled(wd / MODEL_IMAGE_SIZE, h / MODEL_IMAGE_SIZE))
        return results

    def watch(self, source) -> None:
        """Learn the window of every full-resolution image read from ``source``, for SAM calls that no prompt of
        this fake preceded (tiles refined with the overview's prompts)."""
        watch_reads(source, self._windows, _key)

    # -- segmenter ------------------------------------------------------------------------------------
    def set_image(self, image: np.ndarray) -> None:
        self.encodes += 1
        c, r, w, h = self._windows[_key(image)]
        self._current = self.truth[r : r + h, c : c + w]

    def predict(self, instance: Instance) -> tuple[np.ndarray, float]:
        truth = self._current
        mask = np.zeros_like(truth)
        x1, y1, x2, y2 = instance.box
        m = self.margin
        r0, r1 = max(0, int(y1) - m), min(truth.shape[0], int(np.ceil(y2)) + m)
        c0, c1 = max(0, int(x1) - m), min(truth.shape[1], int(np.ceil(x2)) + m)
        mask[r0:r1, c0:c1] = truth[r0:r1, c0:c1]
        return mask, 0.9


class FakeFailingPrompter(Prompter):
    """FAKE prompter that raises on chosen calls, as a crashing model would."""

    name = "fake-failing"

    def __init__(self, exc: Exception, fail_on: set[int] | None = None, inner=None):
        self.exc, self.fail_on, self.inner, self.calls = exc, fail_on, inner, 0

    def prompt(self, images, query, tiles=None):
        self.calls += 1
        if self.fail_on is None or self.calls in self.fail_on:
            raise self.exc
        return self.inner.prompt(images, query, tiles=tiles)


class FakeBoxSegmenter(Segmenter):
    """FAKE segmenter: the prompt's box, filled (the pipeline keeps only its valid pixels)."""

    name = "fake-box"

    def __init__(self, score: float = 1.0) -> None:
        self.score = score

    def set_image(self, image: np.ndarray) -> None:
        self.shape = image.shape[:2]

    def predict(self, instance: Instance) -> tuple[np.ndarray, float]:
        mask = np.zeros(self.shape, dtype=bool)
        x1, y1, x2, y2 = (int(v) for v in instance.box)
        mask[y1:y2, x1:x2] = True
        return mask, self.score
