"""``make bench-web`` runs: the script starts its own QGIS, tile server and backend, and says what it measured.
Its time limits are not asserted here (CI runs tiers side by side); that a second click is a cache hit is."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.live  # a tile server and the backend, as subprocesses of the script


def test_the_web_layer_bench_measures_an_export_and_two_clicks(tiny_models, gorinchem, tmp_path):
    out = tmp_path / "bench-web.json"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "THINK2MAP_TINY_MODELS": str(tiny_models["prompter"].parent)}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench_web.py"), "--json", str(out), "--raster", str(gorinchem)],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr[-3000:]  # 1: a time bar was missed, on a busy machine
    figures = json.loads(out.read_text())
    assert figures["export_view_px"] == [1600, 1000] and figures["export_tiles_fetched"] > 0
    assert figures["export_cold_s"] > 0 and figures["first_click_s"] > figures["second_click_s"] > 0
    assert figures["first_click_cached"] is False and figures["second_click_cached"] is True
    assert (proc.returncode == 0) == (figures["export_ok"] and figures["first_click_ok"])
