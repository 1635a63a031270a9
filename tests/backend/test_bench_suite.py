"""The GPU suite in tiny mode, as CI runs it: every step through the real commands, the JSON each writes, the table,
a run killed halfway that keeps the steps it finished, and the docs' GPU section made from a suite's JSON."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from backend.tools.bench.suite import DOCS_END, DOCS_START, STEPS, docs_section, write_docs
from tests.conftest import ROOT

pytestmark = [pytest.mark.live, pytest.mark.bench]  # subprocesses: the suite and its steps

# What the table and the docs read from each step's JSON: the same keys whichever suite wrote it.
KEYS = {
    "batches": ("machine", "settings", "runs"),
    "clicks": ("machine", "miss_s", "hit_s_median", "after_warm_up_s", "after_warm_up_cached"),
    "strategies": ("machine", "runs"),
    "finder": ("device", "tile_s", "forward_s", "parameters"),
    "doctor": ("ok", "checks"),
}
RUN_KEYS = {"batches": ("name", "tiles_per_s", "peak_gpu_mb"), "strategies": ("name", "prompter_calls", "wall_s")}


def _suite(folder, **kw) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", "backend", "bench", "--suite", "tiny", "--suite-dir", str(folder)]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_the_tiny_suite_runs_every_step_and_writes_what_the_gpu_suite_writes(tmp_path):
    started = time.perf_counter()
    proc = _suite(tmp_path)
    out, err = proc.communicate(timeout=1200)
    seconds = time.perf_counter() - started
    assert proc.returncode == 0, err[-3000:]
    assert seconds < 900, seconds  # 45 s alone on this machine; CI runs it beside the other tiers, 3 times slower
    report = json.loads((tmp_path / "suite.json").read_text())
    assert report["complete"] and [s.name for s in STEPS] == list(report["steps"])
    for name, keys in KEYS.items():
        step = report["steps"][name]
        assert step["status"] == "ok", step
        result = json.loads((tmp_path / f"{name}.json").read_text())
        assert result == step["result"]
        assert all(k in result for k in keys), (name, sorted(result))
        for run in result.get("runs", []) if name in RUN_KEYS else []:
            assert all(k in run for k in RUN_KEYS[name]), (name, sorted(run))
    assert [r["name"] for r in report["steps"]["batches"]["result"]["runs"]][:3] == [
        "plain",
        "optimised-b1",
        "optimised-b2",
    ]
    assert {r["name"] for r in report["steps"]["strategies"]["result"]["runs"]} == {"tiles", "overview", "auto"}
    # the table names every step with its status, and a figure of each
    for step in STEPS:
        assert f"{step.name:<11} ok in" in out
    assert "hit (median)" in out and "SAM 3 per 840-px tile" in out and "optimised-b2" in out
    assert not list(tmp_path.glob("*.partial"))


def test_a_suite_killed_halfway_keeps_the_steps_it_finished(tmp_path):
    proc = _suite(tmp_path)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:  # until the first step is done and recorded
        suite = tmp_path / "suite.json"
        if suite.is_file() and "batches" in json.loads(suite.read_text())["steps"]:
            break
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        time.sleep(0.2)
    time.sleep(1.0)  # into the second step
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    report = json.loads((tmp_path / "suite.json").read_text())
    assert not report["complete"] and report["finished"]
    batches = report["steps"]["batches"]
    assert batches["status"] == "ok" and batches["result"]["runs"], batches
    assert json.loads((tmp_path / "batches.json").read_text()) == batches["result"]
    assert report["steps"]["clicks"]["status"] == "interrupted"
    assert [report["steps"][s.name]["status"] for s in STEPS[2:]] == ["not run"] * (len(STEPS) - 2)
    assert not list(tmp_path.glob("*.partial"))


def test_the_docs_gpu_section_is_made_from_a_suites_json(tmp_path):
    report = {
        "kind": "gpu",
        "started": "2026-12-06T12:00:00+00:00",
        "finished": "2026-12-06T12:07:00+00:00",
        "complete": False,
        "steps": {
            "batches": {
                "status": "ok",
                "command": "python -m backend bench --device cuda --batch-sizes 1,16,32",
                "result": {
                    "machine": {"gpu": "NVIDIA H100", "driver": "580.1", "cuda": "13.0", "torch": "2.11.0"},
                    "runs": [
                        {"name": "optimised-b16", "tiles_per_s": 2.5, "first_polygon_s": 6.0, "peak_gpu_mb": 10600}
                    ],
                },
            },
            "clicks": {"status": "timed out", "command": "python -m backend bench --clicks --device cuda"},
        },
    }
    section = docs_section(report)
    assert "gpu NVIDIA H100, driver 580.1, cuda 13.0, torch 2.11.0" in section
    assert "| batches | optimised-b16 | 2.50 tiles/s, first polygon 6.0 s, 10,600 MB GPU |" in section
    assert "| clicks | - | timed out | `python -m backend bench --clicks --device cuda` |" in section
    assert "| finder | - | not run | `-` |" in section and "cut short" in section
    docs = tmp_path / "benchmarks.md"
    real = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    assert DOCS_START in real and DOCS_END in real  # the committed docs hold the generated section
    docs.write_text("before\n" + DOCS_START + "\nold\n" + DOCS_END + "\nafter\n", encoding="utf-8")
    write_docs(docs, report)
    text = docs.read_text(encoding="utf-8")
    assert text.startswith("before\n") and text.endswith("\nafter\n") and "old" not in text and "H100" in text
