"""The command line as a user runs it: real subprocesses, exit codes and messages."""

import os
import subprocess
import sys

import numpy as np
import pytest
import rasterio
import shapely

from tests.conftest import ROOT

pytestmark = pytest.mark.live  # the command line as real subprocesses


def cli(*args, env=None, timeout=300):
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "backend", *map(str, args)],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def no_weights(tmp_path):
    """An environment where no model weights exist: empty models folder and Hugging Face cache, offline."""
    return {"THINK2MAP_MODELS": str(tmp_path / "models"), "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1"}


def test_models_list_shows_missing_models_and_how_to_get_them(no_weights):
    r = cli("models", "list", env=no_weights)
    assert r.returncode == 0, r.stderr
    assert "sam2.1-s" in r.stdout and "think2seg-rs-3b" in r.stdout
    assert "missing" in r.stdout and "python -m backend models pull sam2.1-s" in r.stdout


def test_missing_weights_name_the_model_and_the_pull_command(shared_data, no_weights):
    r = cli("segment", shared_data / "colorado_cars_0p15m_epsg26913.tif", "cars", "-o", "out.gpkg", env=no_weights)
    assert r.returncode == 3
    assert "think2seg-rs-3b" in r.stderr and "python -m backend models pull think2seg-rs-3b" in r.stderr
    assert "Traceback" not in r.stderr and r.stderr.count("\n") == 1


def test_pull_offline_fails_with_a_clear_message(tmp_path, no_weights):
    r = cli("models", "pull", "sam2.1-t", env=no_weights, timeout=120)
    assert r.returncode == 4
    assert "Could not download 'sam2.1-t'" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "models" / "sam2.1-t").exists()


def test_user_errors_have_no_traceback(tmp_path, shared_data):
    nocrs = tmp_path / "nocrs.tif"
    with rasterio.open(nocrs, "w", driver="GTiff", width=20, height=20, count=1, dtype="uint8") as ds:
        ds.write(np.ones((1, 20, 20), np.uint8))
    r = cli("segment", nocrs, "x", "-o", tmp_path / "o.gpkg")
    assert r.returncode == 2 and "no coordinate reference system" in r.stderr and "Traceback" not in r.stderr
    r = cli("segment", shared_data / "atlanta_buildings.geojson", "x", "-o", tmp_path / "o.gpkg")
    assert r.returncode == 2 and "not a raster" in r.stderr
    r = cli("segment", shared_data / "colorado_cars_0p15m_epsg26913.tif", "x", "-o", tmp_path / "o.shp")
    assert r.returncode == 2 and ".gpkg or .geojson" in r.stderr
    r = cli("segment", shared_data / "colorado_cars_0p15m_epsg26913.tif", "", "-o", tmp_path / "o.gpkg")
    assert r.returncode == 2 and "query is empty" in r.stderr
    r = cli(
        "segment",
        shared_data / "colorado_cars_0p15m_epsg26913.tif",
        "x",
        "-o",
        tmp_path / "o.gpkg",
        "--prompter",
        "gpt-9",
    )
    assert r.returncode == 3 and "Unknown model 'gpt-9'" in r.stderr


def test_documented_tiny_model_run_writes_a_valid_geopackage(tmp_path, shared_data):
    import geopandas as gpd
    import pyogrio

    tiny = tmp_path / "tiny"
    r = cli("models", "tiny", tiny)
    assert r.returncode == 0 and "meaningless" in r.stdout
    raster = shared_data / "gorinchem_river_0p25m_epsg28992.tif"
    out = tmp_path / "river.gpkg"
    r = cli(
        "segment",
        raster,
        "the river",
        "-o",
        out,
        "--prompter",
        tiny / "tiny-think2seg",
        "--segmenter",
        tiny / "tiny-sam2",
        "--max-new-tokens",
        "48",
    )
    assert r.returncode == 0, r.stderr
    layers = dict(pyogrio.list_layers(out))
    # The layers are named after the query; a GeoPackage's other layers are never touched.
    assert layers == {"the_river": "MultiPolygon", "the_river_tiles": "Polygon"}
    objects = gpd.read_file(out, layer="the_river")
    assert objects.crs.to_epsg() == 28992
    with rasterio.open(raster) as ds:
        footprint = shapely.box(*ds.bounds)
    assert all(footprint.contains(g) for g in objects.geometry)
    tiles = gpd.read_file(out, layer="the_river_tiles")
    assert len(tiles) == 4 and set(tiles.status) <= {"ok", "no_target", "unparseable"}


@pytest.mark.parametrize(
    "answer, expect_features",
    [
        (
            '<think>x</think><answer>[{"bbox_2d": [100,100,400,400], '
            '"positive_points": [[250,250],[300,300]]}]</answer>',
            True,
        ),
        ("<think>nothing like that here</think><answer>[]</answer>", False),
    ],
)
def test_forced_answers_give_polygons_on_the_raster_or_a_valid_empty_layer(
    tmp_path, shared_data, tiny_models, answer, expect_features
):
    import geopandas as gpd

    raster = shared_data / "gorinchem_river_0p25m_epsg28992.tif"
    out = tmp_path / "river.gpkg"
    r = cli(
        "segment",
        raster,
        "the river",
        "-o",
        out,
        "--prompter",
        tiny_models["prompter"],
        "--segmenter",
        tiny_models["sam2"],
        "--force-answer",
        answer,
    )
    assert r.returncode == 0, r.stderr
    objects = gpd.read_file(out, layer="the_river")
    tiles = gpd.read_file(out, layer="the_river_tiles")
    assert objects.crs.to_epsg() == 28992 and tiles.crs.to_epsg() == 28992
    with rasterio.open(raster) as ds:
        footprint = shapely.box(*ds.bounds)
    if expect_features:
        assert len(objects) >= 1 and set(tiles.status) == {"ok"}
        assert all(footprint.contains(g) and g.is_valid for g in objects.geometry)
        assert set(objects["query"]) == {"the river"} and (objects["area"] > 0).all()
    else:
        assert len(objects) == 0 and set(tiles.status) == {"no_target"}
