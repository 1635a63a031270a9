"""The prompt text and the answer parser: it must never crash, and must keep only sane instances."""

import math

import pytest

from backend.models.prompts import MODEL_IMAGE_SIZE, chat_messages, parse_answer, user_text

DOC_EXAMPLE = (
    "<think> thinking process here </think> \n"
    '<answer>```json[{"bbox_2d": [310,360,567,586], "positive_points": [[434, 474], [450, 460]]}, '
    '{"bbox_2d": [10,200,100,320], "positive_points": [[50, 250], [90, 300]]}]```</answer>'
)


def test_user_text_matches_the_trained_prompt():
    text = user_text("the river")
    assert text.startswith('Please find "the river", identify the target.')
    assert "1.  `bbox_2d`: A tight bounding box.\n2.  `positive_points`: Exactly two points" in text
    assert "i.e. <think> thinking process here </think> \n<answer>```json[{" in text
    msgs = chat_messages("x")
    assert msgs[0]["role"] == "system" and "Segment Anything Model (SAM)" in msgs[0]["content"][0]["text"]
    assert [c["type"] for c in msgs[1]["content"]] == ["image", "text"]


def test_documented_example_answer():
    r = parse_answer(DOC_EXAMPLE)
    assert r.status == "ok"
    assert [i.box for i in r.instances] == [(310, 360, 567, 586), (10, 200, 100, 320)]
    assert r.instances[0].points == ((434, 474), (450, 460))
    assert r.raw_text == DOC_EXAMPLE


def test_empty_list_is_no_target():
    r = parse_answer("<think>nothing like that here</think><answer>[]</answer>")
    assert r.status == "no_target" and r.instances == []
    assert parse_answer("<answer>```json[]```</answer>").status == "no_target"


@pytest.mark.parametrize(
    "text",
    [
        "I think there is a river at [10, 10, 200, 200]",  # no <answer>
        "",
        "<answer>no targets</answer>",
        '<answer>[{"bbox_2d": [1, 2, ',  # truncated, nothing complete
    ],
)
def test_unparseable_answers_are_reported_not_raised(text):
    r = parse_answer(text)
    assert r.status == "unparseable" and r.instances == [] and r.warnings


def test_truncated_json_keeps_complete_instances():
    text = (
        '<think>two roofs</think><answer>```json[{"bbox_2d": [10, 10, 50, 60], "positive_points": [[20, 30], '
        '[30, 40]]}, {"bbox_2d": [100, 100, 1'
    )
    r = parse_answer(text)
    assert r.status == "ok"
    assert [i.box for i in r.instances] == [(10, 10, 50, 60)]
    assert any("recovered" in w for w in r.warnings)


def test_clips_reorders_and_drops_degenerate():
    text = (
        '<answer>[{"bbox_2d": [900, 50, 700, -20], "positive_points": [[800, 10]]},'
        ' {"bbox_2d": [5, 5, 5, 90]},'
        ' {"bbox_2d": [10, 10, 20, 20], "positive_points": [[15, 15], [2000, 15]]}]</answer>'
    )
    r = parse_answer(text)
    boxes = [i.box for i in r.instances]
    assert (700, 0, 840, 50) in boxes  # clipped to the 840 image, corners reordered
    assert all(b is None or (b[2] > b[0] and b[3] > b[1]) for b in boxes)
    assert len(r.instances) == 2  # the zero-width box without points is dropped
    small = [i for i in r.instances if i.box == (10, 10, 20, 20)][0]
    assert small.points == ((15, 15), (840, 15))  # the point outside the image is clamped to its edge


def test_nan_and_garbage_values_are_dropped():
    text = (
        '<answer>[{"bbox_2d": [NaN, 1, 2, 3]}, {"bbox_2d": ["a", 1, 2, 3]}, {"bbox_2d": [1, 2, 3]},'
        ' {"positive_points": [[NaN, 4]]}, "junk", 7, {"bbox_2d": [1, 1, 30, 30]}]</answer>'
    )
    r = parse_answer(text)
    assert r.status == "ok"
    assert [i.box for i in r.instances] == [(1, 1, 30, 30)]
    assert all(math.isfinite(v) for i in r.instances for v in i.box)


def test_extra_prose_code_fences_and_duplicates():
    text = (
        "Sure! Here is my analysis.\n<think>The red roofs are at the top.</think>\nSome more words.\n"
        '<answer>The targets are:\n```json\n[\n {"bbox_2d": [100, 100, 300, 300], "positive_points": '
        '[[150, 150], [200, 200]]},\n {"bbox_2d": [105, 102, 298, 305], "positive_points": [[150, 150]]},\n'
        ' {"bbox_2d": [500, 500, 600, 600], "positive_points": [[550, 550], [560, 560]]},\n]\n```\n'
        "Hope this helps.</answer> trailing words"
    )
    r = parse_answer(text)
    assert r.status == "ok"
    boxes = sorted(i.box for i in r.instances)
    # NMS at IoU > 0.5 keeps the larger of the two overlapping boxes
    assert boxes == [(100, 100, 300, 300), (500, 500, 600, 600)] or boxes == [
        (105, 102, 298, 305),
        (500, 500, 600, 600),
    ]
    big = max(((100, 100, 300, 300), (105, 102, 298, 305)), key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
    assert big in boxes
    assert any("duplicate" in w for w in r.warnings)


def test_scaling_back_to_tile_pixels():
    r = parse_answer('<answer>[{"bbox_2d": [84, 168, 420, 840], "positive_points": [[420, 420]]}]</answer>')
    tile = r.scaled(500 / MODEL_IMAGE_SIZE, 1000 / MODEL_IMAGE_SIZE)
    assert tile.instances[0].box == pytest.approx((50, 200, 250, 1000))
    assert tile.instances[0].points[0] == pytest.approx((250, 500))


def test_never_raises_on_random_text():
    import random

    rng = random.Random(0)
    alphabet = '<>answer/[]{}",:0123456789.-NaNbbox_2dpositive_points ```json'
    for _ in range(2000):
        text = "<answer>" + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
        r = parse_answer(text, 840, 840)
        assert r.status in ("ok", "no_target", "unparseable")


def test_only_the_first_instances_of_a_huge_answer_are_read():
    """10,000 boxes would take seconds of duplicate removal (quadratic) and fill reports."""
    from backend.models.prompts import MAX_INSTANCES

    item = '{"bbox_2d": [%d, 0, %d, 5], "positive_points": [[1, 1], [2, 2]]}'
    text = "<answer>[" + ", ".join(item % (i % 800, i % 800 + 3) for i in range(10_000)) + "]</answer>"
    r = parse_answer(text)
    assert r.status == "ok" and 0 < len(r.instances) <= MAX_INSTANCES
    assert f"only the first {MAX_INSTANCES} of 10000 instances were read" in r.warnings
