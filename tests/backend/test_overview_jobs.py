"""Strategies through the API and the command line, with the REAL tiny models (forced answers) on a real raster."""

from __future__ import annotations

import time

import pytest

from backend.cli import main
from tests.backend.server_harness import FORCED_ANSWER

EMPTY_ANSWER = "<think>no runway anywhere in this scene</think><answer>[]</answer>"


def _server_job(shared_data, tiny_models, body: dict, answer: str = FORCED_ANSWER) -> tuple[dict, list]:
    from fastapi.testclient import TestClient

    from backend.models.loading import EngineConfig
    from backend.service.server import ServerConfig, create_app

    engine = EngineConfig(
        prompter=str(tiny_models["prompter"]), segmenter=str(tiny_models["sam2"]), device="cpu", force_answer=answer
    )
    headers = {"Authorization": "Bearer t"}
    raster = str(shared_data / "gorinchem_river_0p25m_epsg28992.tif")
    with TestClient(create_app(ServerConfig(token="t", engine=engine))) as client:
        created = client.post("/jobs", json={"raster": raster, **body}, headers=headers)
        assert created.status_code == 201, created.text
        jid = created.json()["id"]
        deadline = time.monotonic() + 300
        while (status := client.get(f"/jobs/{jid}", headers=headers).json())["state"] not in ("done", "failed"):
            assert time.monotonic() < deadline, status
            time.sleep(0.2)
        features = client.get(f"/jobs/{jid}/features", headers=headers).json()["features"]
        tiles = client.get(f"/jobs/{jid}/tiles", headers=headers).json()["tiles"]
    return status, features, tiles


def test_an_overview_job_reports_its_cells_boxes_and_prompter_calls(shared_data, tiny_models):
    status, features, tiles = _server_job(shared_data, tiny_models, {"query": "the harbour", "strategy": "overview"})
    assert status["state"] == "done" and status["strategy"] == "overview"
    (cell,) = status["overview"]
    assert cell["status"] == "ok" and cell["raw_text"].startswith("<think>x</think>")
    assert len(cell["boxes"]) == 1 and cell["boxes"][0]["type"] == "Polygon"
    x0, y0, x1, y1 = _bounds(cell["boxes"][0])
    fx0, fy0, fx1, fy1 = _bounds(cell["footprint"])
    # the forced box [100, 100, 400, 400] of the 840-px frame, over the whole 1000-px raster
    assert x0 == pytest.approx(fx0 + (fx1 - fx0) * 100 / 840, abs=0.5)
    assert y1 == pytest.approx(fy1 - (fy1 - fy0) * 100 / 840, abs=0.5)
    read = [t for t in tiles if t["status"] != "skipped"]
    assert [t["index"] for t in read] == [0]  # the only tile whose core meets the box
    assert status["prompter_calls"] == 1  # the overview's; SAM alone read tile 0 with its box
    assert features and {f["properties"]["strategy"] for f in features} == {"overview"}


def test_an_overview_that_answers_nothing_ends_done_with_no_target(shared_data, tiny_models):
    started = time.monotonic()
    status, features, tiles = _server_job(
        shared_data, tiny_models, {"query": "the runway", "strategy": "overview"}, EMPTY_ANSWER
    )
    assert status["state"] == "done" and status["error"] is None and features == []
    assert [c["status"] for c in status["overview"]] == ["no_target"]
    assert "no runway anywhere" in status["overview"][0]["raw_text"]
    assert status["prompter_calls"] == 1 and {t["status"] for t in tiles} == {"skipped"}
    assert time.monotonic() - started < 120


POINTS_ONLY = '<think>two dots</think><answer>[{"positive_points": [[200, 200], [240, 260]]}]</answer>'


def test_an_overview_instance_with_points_but_no_box_is_drawn_where_it_sent_the_job(shared_data, tiny_models):
    status, features, tiles = _server_job(
        shared_data, tiny_models, {"query": "the harbour", "strategy": "overview"}, POINTS_ONLY
    )
    assert status["state"] == "done", status
    (cell,) = status["overview"]
    assert cell["status"] == "ok" and len(cell["boxes"]) == 1  # drawn, though the answer has no box
    x0, y0, x1, y1 = _bounds(cell["boxes"][0])
    fx0, fy0, fx1, fy1 = _bounds(cell["footprint"])
    px = (fx1 - fx0) / 840  # map units per pixel of the model's frame
    # it covers both points, grown by the margin that picked the tiles
    assert x0 < fx0 + 200 * px < fx0 + 240 * px < x1 and y0 < fy1 - 260 * px < fy1 - 200 * px < y1
    read = [t for t in tiles if t["status"] != "skipped"]
    assert read and features  # those points chose the tiles, and polygons came back


def _bounds(geometry: dict) -> tuple[float, float, float, float]:
    xs = [p[0] for p in geometry["coordinates"][0]]
    ys = [p[1] for p in geometry["coordinates"][0]]
    return min(xs), min(ys), max(xs), max(ys)


def _segment(shared_data, tiny_models, tmp_path, *extra, answer=FORCED_ANSWER):
    out = tmp_path / "out.gpkg"
    rc = main(["segment", str(shared_data / "gorinchem_river_0p25m_epsg28992.tif"), "the harbour", "-o", str(out),
               "--prompter", str(tiny_models["prompter"]), "--segmenter", str(tiny_models["sam2"]), "--device", "cpu",
               "--force-answer", answer, "-q", *extra])  # fmt: skip
    return rc, out


def test_the_command_line_writes_the_overview_beside_the_tiles(shared_data, tiny_models, tmp_path, capsys):
    import geopandas as gpd

    rc, out = _segment(shared_data, tiny_models, tmp_path, "--strategy", "overview", "--refine", "prompter")
    assert rc == 0
    err = capsys.readouterr().err
    assert "overview cell 0: 1 box(es)" in err and "strategy overview, 2 prompter call(s)" in err
    reports = gpd.read_file(out, layer="the_harbour_tiles")
    overview = reports[reports["pass"] == "overview"]
    assert len(overview) == 1 and overview.iloc[0]["reasoning"].startswith("<think>x</think>")
    assert set(reports[reports["pass"] == "tile"]["status"]) == {"ok", "skipped"}
    assert set(gpd.read_file(out, layer="the_harbour")["strategy"]) == {"overview"}


def test_the_command_line_says_no_target_when_the_overview_sees_nothing(shared_data, tiny_models, tmp_path, capsys):
    rc, _ = _segment(shared_data, tiny_models, tmp_path, "--strategy", "overview", answer=EMPTY_ANSWER)
    err = capsys.readouterr().err
    assert rc == 0 and "no target: the overview saw nothing" in err and "0 polygon(s) written" in err


def test_auto_on_a_small_raster_reads_every_tile_and_says_why(shared_data, tiny_models, tmp_path, capsys):
    import geopandas as gpd

    rc, out = _segment(shared_data, tiny_models, tmp_path, "--strategy", "auto")
    assert rc == 0
    assert "strategy auto:tiles: every tile: the area is only 4 tile(s)" in capsys.readouterr().err
    assert set(gpd.read_file(out, layer="the_harbour")["strategy"]) == {"auto:tiles"}


def test_ray_refuses_an_overview_in_one_sentence(shared_data, tiny_models, tmp_path, capsys):
    rc, out = _segment(shared_data, tiny_models, tmp_path, "--strategy", "overview", "--engine", "ray")
    assert rc == 2 and not out.exists()
    assert capsys.readouterr().err.strip() == (
        "error: --engine ray reads every tile: use --strategy tiles with it, or the local engine for an overview."
    )


def test_find_mode_with_an_overview_finds_again_where_it_points(shared_data, tiny_models, tmp_path, capsys):
    import geopandas as gpd

    out = tmp_path / "find.gpkg"
    rc = main(["segment", str(shared_data / "gorinchem_river_0p25m_epsg28992.tif"), "boats", "-o", str(out),
               "--mode", "find", "--finder", str(tiny_models["sam3"]), "--find-threshold", "0.2",
               "--strategy", "overview", "--device", "cpu", "-q"])  # fmt: skip
    assert rc == 0
    reports = gpd.read_file(out, layer="boats_tiles")
    (cell,) = reports[reports["pass"] == "overview"].itertuples()
    assert cell.status == "ok" and cell.instances > 0  # random weights at 0.2 find something
    tiles = reports[reports["pass"] == "tile"]
    read = tiles[tiles["status"] != "skipped"]
    assert len(read) >= 1 and "error" not in set(tiles["status"])  # SAM 3 found again; it takes no boxes
    assert all(r.startswith("SAM 3 found") for r in read["reasoning"])
