"""``--mode find|auto``: SAM 3 (the tiny random one, in the real on-disk format) answers short noun phrases
through the same pipeline, from the CLI and the server; the routing rule in both directions; missing weights."""

from __future__ import annotations

import pytest

from backend.cli import main
from backend.errors import MissingWeightsError
from backend.models import store
from backend.models.routing import route

pytest.importorskip("transformers")

FIND = ["buildings", "swimming pools", "every red-roofed building", "the solar panels", "Trees", "all cars"]
REASON = [
    "the field next to the bend in the river",
    "the largest parking lot",
    "the building closest to the bridge",
    "which houses would flood first?",
    "the 3 tallest towers",
    "roads between the two villages",
    "fields that were harvested before the storm came through",
]


@pytest.mark.parametrize("query", FIND)
def test_short_noun_phrases_go_to_sam3(query):
    engine, why = route(query, "auto")
    assert engine == "find" and why.startswith("routed to SAM 3 because") and "short noun phrase" in why


@pytest.mark.parametrize("query", REASON)
def test_everything_else_goes_to_the_reasoning_prompter(query):
    engine, why = route(query, "auto")
    assert engine == "reason" and why.startswith("routed to Think2Seg-RS because")


def test_explicit_modes_are_not_routed():
    assert route("the largest parking lot", "find") == ("find", "")
    assert route("buildings", "reason") == ("reason", "")


def test_find_mode_on_a_real_raster_from_the_command_line(shared_data, tiny_models, tmp_path, capsys):
    import geopandas as gpd

    out = tmp_path / "find.gpkg"
    rc = main(["segment", str(shared_data / "gorinchem_river_0p25m_epsg28992.tif"), "swimming pools", "-o", str(out),
               "--mode", "auto", "--finder", str(tiny_models["sam3"]), "--find-threshold", "0.2", "--device", "cpu",
               "-q"])  # fmt: skip
    assert rc == 0
    assert "routed to SAM 3 because 'swimming pools' is a short noun phrase" in capsys.readouterr().err
    found = gpd.read_file(out, layer=0)
    assert len(found) >= 1 and found.crs.to_epsg() == 28992 and found.geometry.is_valid.all()
    assert set(found["source"]) == {"sam3"} and set(found["prompter"]) == {"tiny-sam3"}
    assert found["route"].str.startswith("routed to SAM 3").all()


def test_a_high_threshold_finds_nothing_and_says_no_target(shared_data, tiny_models, tmp_path, capsys):
    out = tmp_path / "none.gpkg"
    rc = main(["segment", str(shared_data / "colorado_cars_0p15m_epsg26913.tif"), "cars", "-o", str(out),
               "--mode", "find", "--finder", str(tiny_models["sam3"]), "--device", "cpu", "-q"])  # fmt: skip
    assert rc == 0 and "no_target" in capsys.readouterr().err  # random scores (~0.25) stay under 0.5


def test_missing_sam3_weights_name_the_pull_and_the_licence(tmp_path):
    with pytest.raises(MissingWeightsError) as err:
        store.resolve("sam3", "finder", tmp_path)
    text = str(err.value)
    assert "python -m backend models pull sam3" in text and "gated" in text and "SAM License" in text


def test_a_server_job_in_find_mode(shared_data, tiny_models):
    import time

    from fastapi.testclient import TestClient

    from backend.models.loading import EngineConfig
    from backend.service.server import ServerConfig, create_app

    engine = EngineConfig(prompter=str(tiny_models["prompter"]), segmenter=str(tiny_models["sam2"]), device="cpu",
                          finder=str(tiny_models["sam3"]), find_threshold=0.2)  # fmt: skip
    app = create_app(ServerConfig(token="t", engine=engine))
    headers = {"Authorization": "Bearer t"}
    with TestClient(app) as client:
        raster = str(shared_data / "gorinchem_river_0p25m_epsg28992.tif")
        job = client.post("/jobs", json={"raster": raster, "query": "boats", "mode": "auto"}, headers=headers)
        assert job.status_code == 201, job.text
        jid = job.json()["id"]
        deadline = time.monotonic() + 120
        while client.get(f"/jobs/{jid}", headers=headers).json()["state"] not in ("done", "failed"):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        status = client.get(f"/jobs/{jid}", headers=headers).json()
        assert status["state"] == "done", status
        features = client.get(f"/jobs/{jid}/features", headers=headers).json()["features"]
        assert features and {f["properties"]["source"] for f in features} == {"sam3"}
        assert features[0]["properties"]["route"] == "routed to SAM 3 because 'boats' is a short noun phrase"


LONG_QUESTION = "which of the big red roofs of the old houses along the river were built before the new bridge?"


@pytest.mark.parametrize("query", [LONG_QUESTION, "roofs?", " ".join(["red roof"] * 7)])
def test_find_mode_refuses_a_question_or_a_sentence_before_any_work(query, shared_data, tiny_models, tmp_path, capsys):

    out = tmp_path / "find.gpkg"
    segment_args = ["segment", str(shared_data / "gorinchem_river_0p25m_epsg28992.tif"), query, "-o", str(out)]
    rc = main([*segment_args, "--mode", "find", "--finder", str(tiny_models["sam3"]), "--device", "cpu", "-q"])
    err = capsys.readouterr().err
    assert rc == 2 and "Find mode takes a short phrase" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
    assert route(query, "auto")[0] == "reason"  # where auto sends it
    assert route("the largest parking lot", "find") == ("find", "")  # a short phrase is still the user's call


def test_a_server_refuses_a_find_job_with_a_long_question(shared_data, tiny_models):
    from fastapi.testclient import TestClient

    from backend.models.loading import EngineConfig
    from backend.service.server import ServerConfig, create_app

    engine = EngineConfig(prompter=str(tiny_models["prompter"]), segmenter=str(tiny_models["sam2"]), device="cpu",
                          finder=str(tiny_models["sam3"]))  # fmt: skip
    raster = str(shared_data / "gorinchem_river_0p25m_epsg28992.tif")
    with TestClient(create_app(ServerConfig(token="t", engine=engine))) as client:
        answer = client.post("/jobs", json={"raster": raster, "query": LONG_QUESTION, "mode": "find"},
                             headers={"Authorization": "Bearer t"})  # fmt: skip
    assert answer.status_code == 422 and answer.json()["code"] == "not_a_phrase", answer.text
    assert answer.json()["params"] == {"words": 19, "max": 12}
