"""A served prompter (``--prompter openai:URL[#model]``) against the built-in engine, in the same run.

Both go through :func:`backend.pipeline.run` on the benchmark's synthetic raster with the same segmenter; the
figures are tiles per second and the seconds to the first polygon. With ``--force-answer`` both write the same
answer (the built-in engine through ``generate()``, ``transformers serve`` through a ``sequence_bias`` in its
``generation_config`` field), so both pay for the same number of tokens and polygons come out.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from ...devices import resolve_device
from ...models.forcing import forced_answer_kwargs, forced_sequence_bias
from ...pipeline import run
from ...plan import RunStats, SegmentOptions, SegmentPlan
from .models import build_segmenter
from .truth import make_raster


def _timed(plan: SegmentPlan, prompter, segmenter) -> dict:
    stats = RunStats.for_plan(plan)
    started = time.perf_counter()
    first = None
    count = 0
    for _ in run(plan, prompter, segmenter, stats):
        count += 1
        first = first if first is not None else time.perf_counter() - started
    seconds = time.perf_counter() - started
    statuses = [r.status for r in stats.reports]
    return {
        "tiles": len(plan.tiles),
        "seconds": round(seconds, 3),
        "tiles_per_s": round(len(plan.tiles) / seconds, 3),
        "first_polygon_s": None if first is None else round(first, 3),
        "polygons": count,
        "tiles_ok": statuses.count("ok"),
        "tiles_failed": statuses.count("error"),
    }


def served_bench(
    spec: str,
    local_prompter: str | None,
    segmenter_kind: str,
    tiles: int,
    tokens: int,
    concurrency: int,
    answer: str | None,
    device: str = "auto",
    tiny: bool = False,
) -> dict:
    from ...models.openai_prompter import OpenAIPrompter
    from ...models.prompter import load_prompter

    device = resolve_device(device)
    report: dict = {"served": spec, "built_in": local_prompter, "tiles_requested": tiles, "concurrency": concurrency}
    with tempfile.TemporaryDirectory() as tmp:
        raster, _ = make_raster(Path(tmp), tiles)
        segmenter, seg_info = build_segmenter(segmenter_kind, device, Path(tmp) if tiny else None)
        report["segmenter"] = seg_info
        extra = {}
        local = load_prompter(local_prompter, device=device, max_new_tokens=tokens) if local_prompter else None
        if answer and local is not None:
            config = {
                "do_sample": False,
                "max_new_tokens": tokens,
                "sequence_bias": forced_sequence_bias(local.tokenizer, answer),
            }
            extra = {"generation_config": json.dumps(config)}
            local.generate_kwargs.update(forced_answer_kwargs(local.tokenizer, [answer]))
        served = OpenAIPrompter(spec, max_new_tokens=tokens, concurrency=concurrency, constrain=False, extra_body=extra)
        plan = SegmentPlan(str(raster), "buildings", SegmentOptions(min_area_px=0))
        report["served_run"] = _timed(plan, served, segmenter)
        if local is not None:
            plan = SegmentPlan(str(raster), "buildings", SegmentOptions(min_area_px=0, batch_size=1))
            report["built_in_run"] = _timed(plan, local, segmenter)
    return report


def format_served(report: dict) -> str:
    lines = [f"{'engine':<34} {'tiles':>5} {'tiles/s':>8} {'first polygon':>14} {'polygons':>8} {'failed':>6}"]
    for key, label in (
        ("served_run", f"served ({report['served']})"[:34]),
        ("built_in_run", "built-in (transformers)"),
    ):
        r = report.get(key)
        if r:
            first = "-" if r["first_polygon_s"] is None else f"{r['first_polygon_s']:.2f} s"
            cells = f"{r['tiles']:>5} {r['tiles_per_s']:>8.3f} {first:>14} {r['polygons']:>8} {r['tiles_failed']:>6}"
            lines.append(f"{label:<34} {cells}")
    return "\n".join(lines)
