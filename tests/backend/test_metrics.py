"""Metrics on hand-built 4×4 masks, every answer worked out by hand in the comments."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backend.tools.metrics import (
    ciou_lisa,
    ciou_think2seg,
    giou,
    no_target_accuracy,
    score_masks,
    summarise,
)


def grid(rows: str) -> np.ndarray:
    return np.array([[c == "#" for c in row] for row in rows.split()], dtype=bool)


EMPTY = grid(".... .... .... ....")

# A: overlap of two 2×2 squares shifted by one column.
#   pred ##..    gt .##.    I = 2 (cells (0,1), (1,1))
#        ##..       .##.    U = 4 + 4 - 2 = 6
#                           IoU = 2/6 = 1/3
A = (grid("##.. ##.. .... ...."), grid(".##. .##. .... ...."))
# B: empty ground truth, empty prediction: I = 0, U = 0, IoU = 1 (a correct "no target").
B = (EMPTY, EMPTY)
# C: empty ground truth, a 3-pixel false positive: I = 0, U = 3, IoU = 0.
C = (grid("###. .... .... ...."), EMPTY)
# D: a 4-pixel target, nothing predicted: I = 0, U = 4, IoU = 0.
D = (EMPTY, grid(".... .... .... ####"))
# E: exact hit on 2 pixels: I = 2, U = 2, IoU = 1.
E = (grid(".... ..#. ..#. ...."), grid(".... ..#. ..#. ...."))


def test_single_sample_counts():
    a = score_masks(*A)
    assert (a.intersection, a.union, a.gt_area, a.pred_area) == (2, 6, 4, 4)
    assert a.iou == pytest.approx(1 / 3)
    b = score_masks(*B)
    assert (b.intersection, b.union, b.iou, b.empty_gt, b.empty_pred) == (0, 0, 1.0, True, True)
    c = score_masks(*C)
    assert (c.intersection, c.union, c.iou, c.empty_gt, c.empty_pred) == (0, 3, 0.0, True, False)
    d = score_masks(*D)
    assert (d.intersection, d.union, d.iou, d.empty_gt, d.empty_pred) == (0, 4, 0.0, False, True)


def test_nonzero_values_are_foreground_and_shapes_must_match():
    # A label PNG stores 255 for the target: same as True. I = 2, U = 6.
    s = score_masks(A[0].astype(np.uint8) * 7, A[1].astype(np.uint8) * 255)
    assert (s.intersection, s.union) == (2, 6)
    with pytest.raises(ValueError):
        score_masks(np.zeros((4, 4)), np.zeros((4, 5)))


def test_empty_gt_with_empty_prediction_adds_nothing_to_ciou():
    # A alone: cIoU = 2/6. Adding B (I 0, U 0) leaves both sums unchanged: still 2/6 = 1/3.
    # gIoU: (1/3 + 1) / 2 = 2/3.
    scores = [score_masks(*A), score_masks(*B)]
    assert ciou_lisa(scores) == pytest.approx(1 / 3)
    assert ciou_think2seg(scores) == pytest.approx(1 / 3)
    assert giou(scores) == pytest.approx(2 / 3)


def test_false_positive_on_empty_gt_lisa_vs_think2seg():
    # A + C. LISA: I = 2 + 0, U = 6 + 3 -> cIoU = 2/9. Think2Seg-RS drops C (empty GT): 2/6 = 1/3.
    # gIoU (both conventions): (1/3 + 0) / 2 = 1/6.
    scores = [score_masks(*A), score_masks(*C)]
    assert ciou_lisa(scores) == pytest.approx(2 / 9)
    assert ciou_think2seg(scores) == pytest.approx(1 / 3)
    assert giou(scores) == pytest.approx(1 / 6)


def test_summary_over_five_samples():
    # IoUs: A 1/3, B 1, C 0, D 0, E 1 -> gIoU = (1/3 + 2) / 5 = 7/15.
    # LISA cIoU: I = 2+0+0+0+2 = 4, U = 6+0+3+4+2 = 15 -> 4/15.
    # Think2Seg-RS cIoU (B, C dropped): I = 2+0+2 = 4, U = 6+4+2 = 12 -> 1/3.
    # No-target accuracy: empty GTs are B (predicted empty) and C (not) -> 1/2.
    m = summarise(score_masks(p, g) for p, g in (A, B, C, D, E))
    assert m["samples"] == 5 and m["empty_gt_samples"] == 2
    assert m["giou_lisa"] == pytest.approx(7 / 15)
    assert m["giou_think2seg"] == pytest.approx(7 / 15)
    assert m["ciou_lisa"] == pytest.approx(4 / 15)
    assert m["ciou_think2seg"] == pytest.approx(1 / 3)
    assert m["no_target_accuracy"] == pytest.approx(1 / 2)


def test_degenerate_sets_are_nan():
    assert math.isnan(giou([]))
    assert math.isnan(ciou_lisa([score_masks(*B)]))  # every union is 0
    assert math.isnan(ciou_think2seg([score_masks(*C)]))  # no sample with a target
    assert math.isnan(no_target_accuracy([score_masks(*A)]))
