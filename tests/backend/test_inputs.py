"""Inputs are checked at the edge with one sentence (finite, in range), before anything is read or loaded."""

from __future__ import annotations

import pytest

from backend.cli import main

RIVER = "gorinchem_river_0p25m_epsg28992.tif"


@pytest.mark.parametrize(
    "flag, value, words",
    [
        ("--min-area", "nan", "--min-area is a number of pixels, 0 or more"),
        ("--min-area", "inf", "--min-area is a number of pixels, 0 or more"),
        ("--object-size", "0", "--object-size is a number of pixels above 0"),
        ("--object-size", "-5", "--object-size is a number of pixels above 0"),
        ("--object-size", "nan", "--object-size is a number of pixels above 0"),
        ("--object-size", "inf", "--object-size is a number of pixels above 0"),
    ],
)
def test_numbers_out_of_range_are_refused_before_any_work(flag, value, words, shared_data, tmp_path, capsys):
    out = tmp_path / "o.gpkg"
    assert main(["segment", str(shared_data / RIVER), "roofs", "-o", str(out), flag, value]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_a_point_label_other_than_0_or_1_is_refused(shared_data, tiny_models):
    from fastapi.testclient import TestClient

    from backend.models.loading import EngineConfig
    from backend.service.server import ServerConfig, create_app

    engine = EngineConfig(prompter=str(tiny_models["prompter"]), segmenter=str(tiny_models["sam2"]), device="cpu")
    body = {"raster": str(shared_data / RIVER), "points": [[127500.0, 428500.0, 1.9]]}
    with TestClient(create_app(ServerConfig(token="t", engine=engine))) as client:
        answer = client.post("/prompt", json=body, headers={"Authorization": "Bearer t"})
    assert answer.status_code == 422 and "label is 1 (inside the object) or 0" in answer.json()["detail"]


@pytest.mark.parametrize("layer", ["../../x", "gpkg_contents", "rtree_roofs_geom", 'a"b', "x" * 80, "1st"])
def test_a_layer_name_geopackage_cannot_hold_is_refused_before_the_models_load(
    layer, shared_data, tmp_path, monkeypatch, capsys
):
    import backend.commands.segment as segment

    monkeypatch.setattr(segment, "load_models", lambda *a: pytest.fail("models loaded"))
    out = tmp_path / "o.gpkg"
    assert main(["segment", str(shared_data / RIVER), "roofs", "-o", str(out), "--layer", layer]) == 2
    err = capsys.readouterr().err
    assert "cannot be a GeoPackage layer name" in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_a_geopackage_raster_given_by_its_gdal_name_is_not_overwritten(shared_data, tmp_path, monkeypatch, capsys):
    """``GPKG:path:table`` names the GeoPackage the output would replace: refused before the models load."""
    import rasterio
    from rasterio.windows import Window

    import backend.commands.segment as segment

    gpkg = tmp_path / "imagery.gpkg"
    with rasterio.open(shared_data / RIVER) as src:
        window = Window(0, 0, 256, 256)
        profile = dict(driver="GPKG", width=256, height=256, count=3, dtype="uint8", crs=src.crs)
        with rasterio.open(gpkg, "w", transform=src.window_transform(window), RASTER_TABLE="ortho", **profile) as dst:
            dst.write(src.read([1, 2, 3], window=window))
    before = gpkg.read_bytes()
    monkeypatch.setattr(segment, "load_models", lambda *a: pytest.fail("models loaded"))
    assert main(["segment", f"GPKG:{gpkg}:ortho", "roofs", "-o", str(gpkg), "--overwrite"]) == 2
    err = capsys.readouterr().err
    assert "is the input raster" in err and gpkg.read_bytes() == before


def test_a_truncated_raster_is_a_422_with_one_sentence_and_no_traceback(shared_data, tiny_models, tmp_path, caplog):
    """The first 100 kB of the GeoTIFF: its header and first blocks read, the rest fails in GDAL."""
    from fastapi.testclient import TestClient

    from backend.models.loading import EngineConfig
    from backend.service.server import ServerConfig, create_app

    truncated = tmp_path / "truncated.tif"
    truncated.write_bytes((shared_data / RIVER).read_bytes()[:100_000])
    engine = EngineConfig(prompter=str(tiny_models["prompter"]), segmenter=str(tiny_models["sam2"]), device="cpu")
    body = {"raster": str(truncated), "points": [[127600.0, 428010.0, 1]]}  # in the bottom-right, missing blocks
    with TestClient(create_app(ServerConfig(token="t", engine=engine))) as client:
        answer = client.post("/prompt", json=body, headers={"Authorization": "Bearer t"})
    assert answer.status_code == 422 and answer.json()["code"] == "bad_raster", answer.text
    detail = answer.json()["detail"]
    assert "could not be read at pixels" in detail and "damaged or incomplete" in detail
    assert not [r for r in caplog.records if r.exc_info]  # no traceback in the server's log
