"""Nothing lost: outputs are checked before any work, written beside the target and put in place only when
complete; a GeoPackage keeps its other layers; Ctrl-C and failures keep what was found. The CLI as a user runs it."""

from __future__ import annotations

import hashlib
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin

from backend.errors import UserError
from backend.features import Feature, feature_properties
from backend.geo.georef import Georef
from backend.geo.output import OutputTarget, ResultWriter
from backend.plan import TileReport
from tests.backend.server_harness import FORCED_ANSWER
from tests.conftest import ROOT

from .test_cli import cli

RIVER = "gorinchem_river_0p25m_epsg28992.tif"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tiny_args(tiny_models) -> list:
    return ["--prompter", tiny_models["prompter"], "--segmenter", tiny_models["sam2"], "--force-answer", FORCED_ANSWER]


@pytest.fixture
def parcels_gpkg(tmp_path) -> Path:
    """A GeoPackage a user already has, with a layer of their own."""
    path = tmp_path / "work.gpkg"
    frame = gpd.GeoDataFrame(
        {"name": ["field"]}, geometry=[shapely.box(121000, 425000, 121010, 425010)], crs="EPSG:28992"
    )
    frame.to_file(path, layer="parcels", driver="GPKG")
    return path


@pytest.mark.live  # the command line as a subprocess
def test_an_existing_geopackage_keeps_its_other_layers(shared_data, tiny_models, parcels_gpkg):
    before = gpd.read_file(parcels_gpkg, layer="parcels")
    r = cli("segment", shared_data / RIVER, "the river", "-o", parcels_gpkg, *tiny_args(tiny_models), "-q")
    assert r.returncode == 0, r.stderr
    layers = dict(pyogrio.list_layers(parcels_gpkg))
    assert layers == {"parcels": "Polygon", "the_river": "MultiPolygon", "the_river_tiles": "Polygon"}
    assert gpd.read_file(parcels_gpkg, layer="parcels").equals(before)
    assert len(gpd.read_file(parcels_gpkg, layer="the_river")) >= 1
    # The same query again would replace Think2Map's own layer: refused without --overwrite, nothing touched.
    stamp = digest(parcels_gpkg)
    r = cli("segment", shared_data / RIVER, "the river", "-o", parcels_gpkg, *tiny_args(tiny_models), "-q")
    assert r.returncode == 2 and "--overwrite" in r.stderr and "the_river" in r.stderr
    assert digest(parcels_gpkg) == stamp
    r = cli(
        "segment", shared_data / RIVER, "the river", "-o", parcels_gpkg, "--overwrite", *tiny_args(tiny_models), "-q"
    )
    assert r.returncode == 0, r.stderr
    assert gpd.read_file(parcels_gpkg, layer="parcels").equals(before)
    assert not [p for p in parcels_gpkg.parent.iterdir() if ".tmp" in p.name or ".merge" in p.name]


@pytest.mark.live  # the command line as a subprocess
def test_the_input_raster_is_never_the_output(tmp_path):
    raster = tmp_path / "ortho.gpkg"
    with rasterio.open(
        raster,
        "w",
        driver="GPKG",
        width=64,
        height=64,
        count=3,
        dtype="uint8",
        crs="EPSG:28992",
        transform=from_origin(121000, 425000, 0.25, 0.25),
    ) as ds:
        ds.write(np.full((3, 64, 64), 100, np.uint8))
    stamp = digest(raster)
    r = cli("segment", raster, "roofs", "-o", raster, "--overwrite")
    assert r.returncode == 2 and "input raster" in r.stderr and "Traceback" not in r.stderr
    assert digest(raster) == stamp


@pytest.mark.live  # the command line as a subprocess
def test_an_existing_file_is_replaced_only_with_overwrite(shared_data, tmp_path):
    out = tmp_path / "result.geojson"
    out.write_text('{"type": "FeatureCollection", "features": []}')
    r = cli("segment", shared_data / RIVER, "roofs", "-o", out)
    assert r.returncode == 2 and "already exists" in r.stderr and "--overwrite" in r.stderr
    assert out.read_text() == '{"type": "FeatureCollection", "features": []}'


@pytest.mark.live  # the command line as a subprocess
def test_an_unwritable_folder_is_refused_before_any_model_loads(shared_data, tmp_path):
    # Root ignores file modes, so the folder is a file's child: no one can create it. The default models are
    # not downloaded here: had the models been looked for first, this would be exit code 3.
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    started = time.monotonic()
    r = cli(
        "segment",
        shared_data / RIVER,
        "roofs",
        "-o",
        blocker / "out.gpkg",
        env={"THINK2MAP_MODELS": str(tmp_path / "none"), "HF_HUB_OFFLINE": "1"},
    )
    assert r.returncode == 2 and "Cannot write in" in r.stderr and "is a file, not a folder" in r.stderr
    assert "Traceback" not in r.stderr
    assert time.monotonic() - started < 30


@pytest.fixture
def tiny_disk(tmp_path):
    """A 2 MB file system, to fill up (a tmpfs: needs root; skipped otherwise)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root) to fill a disk")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _older_result(folder):
    """A GeoPackage holding an earlier result (layer the_river), its CRS and a georeference for new writes."""
    out = folder / "result.gpkg"
    crs = rasterio.crs.CRS.from_epsg(28992)
    old = gpd.GeoDataFrame({"name": ["mine"]}, geometry=[shapely.box(0, 0, 1, 1)], crs="EPSG:28992")
    old.to_file(out, layer="the_river", driver="GPKG")
    return out, crs, Georef("affine", crs, from_origin(121000, 425000, 0.25, 0.25))


# A polygon of 2,000 vertices: 400 of them are over 10 MB, far more than the small disk holds.
BIG_RING = shapely.Polygon([(x, (x * 7) % 50) for x in range(2000)] + [(2000, 100), (0, 100)])


@pytest.mark.live
def test_a_full_disk_keeps_the_old_result_and_leaves_no_corrupt_file(tiny_disk):
    out, crs, georef = _older_result(tiny_disk)
    stamp = digest(out)
    (tiny_disk / "filler").write_bytes(b"\0" * (2 * 2**20 - out.stat().st_size - 200 * 1024))
    target = OutputTarget(out, "the_river", overwrite=True)
    with pytest.raises(UserError, match="free space|Not enough"):
        target.check()  # the first estimate already says so, before any work
    target.existed = True
    writer = ResultWriter(target, crs, georef)
    with pytest.raises(UserError, match="Nothing was replaced") as err:
        for i in range(400):
            writer.add(Feature(shapely.MultiPolygon([shapely.affinity.translate(BIG_RING, i)]), _props(i)))
        writer.finish([TileReport(0, (0, 0, 10, 10), "ok")])
    assert err.value.code == "output_write_failed"
    assert digest(out) == stamp
    assert sorted(p.name for p in tiny_disk.iterdir()) == ["filler", "result.gpkg"]


@pytest.mark.live
def test_a_disk_that_fills_mid_run_keeps_the_polygons_already_written(tiny_disk):
    """The first 200 small polygons are committed; then big ones fill the disk. Those 200 stay, as .partial.gpkg."""
    out, crs, georef = _older_result(tiny_disk)
    stamp = digest(out)
    target = OutputTarget(out, "the_river", overwrite=True)
    target.existed = True  # as check() leaves it (which would refuse this small a disk at once)
    writer = ResultWriter(target, crs, georef)
    with pytest.raises(UserError) as err:
        for i in range(200):
            writer.add(Feature(shapely.MultiPolygon([shapely.box(i, 0, i + 1, 1)]), _props(i)))
        assert writer.written == 200  # one flush, committed
        for i in range(400):
            writer.add(Feature(shapely.MultiPolygon([shapely.affinity.translate(BIG_RING, i)]), _props(200 + i)))
        writer.finish([TileReport(0, (0, 0, 10, 10), "ok")])
    kept = tiny_disk / "result.partial.gpkg"
    assert err.value.code == "output_write_failed" and err.value.params["kept"] == str(kept)
    saved = len(gpd.read_file(kept, layer="the_river"))  # GDAL commits in batches: some big ones may be in
    assert saved >= 200 and f"the {saved} polygon(s) already written are kept in {kept}" in str(err.value)
    assert digest(out) == stamp  # the older result is untouched
    assert sorted(p.name for p in tiny_disk.iterdir()) == ["result.gpkg", "result.partial.gpkg"]


def _props(i: int) -> dict:
    return feature_properties(
        query="q",
        instance_id=i,
        area=1.0,
        unit="m²",
        score=0.5,
        prompter="p",
        segmenter="s",
        tiles=[0],
        source="query",
        prompts=("", "[]"),
    )


def test_a_failed_run_keeps_its_polygons_and_says_so(tmp_path):
    out = tmp_path / "run.gpkg"
    crs = rasterio.crs.CRS.from_epsg(28992)
    writer = ResultWriter(OutputTarget(out, "q"), crs, Georef("affine", crs, from_origin(0, 100, 1, 1)))
    writer.add(Feature(shapely.box(1, 1, 5, 5), _props(1)))
    reports = [TileReport(0, (0, 0, 10, 10), "ok"), TileReport(1, (10, 0, 10, 10), "cancelled")]
    assert writer.finish(reports, "failed: RuntimeError: boom") == out
    assert len(gpd.read_file(out, layer="q")) == 1
    tiles = gpd.read_file(out, layer="q_tiles")
    assert list(tiles.status) == ["ok", "cancelled"] and set(tiles.run) == {"failed: RuntimeError: boom"}


def test_a_partial_result_never_replaces_an_older_one(tmp_path):
    out = tmp_path / "run.geojson"
    out.write_text('{"type": "FeatureCollection", "features": []}')
    crs = rasterio.crs.CRS.from_epsg(28992)
    writer = ResultWriter(OutputTarget(out, "q", overwrite=True), crs, Georef("affine", crs, from_origin(0, 9, 1, 1)))
    writer.add(Feature(shapely.box(1, 1, 5, 5), _props(1)))
    kept = writer.finish([TileReport(0, (0, 0, 10, 10), "ok")], "interrupted")
    assert kept == tmp_path / "run.partial.geojson" and len(gpd.read_file(kept)) == 1
    assert out.read_text() == '{"type": "FeatureCollection", "features": []}'


@pytest.mark.live
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_keeps_what_was_found(stop, shared_data, tiny_models, tmp_path):
    out = tmp_path / "river.gpkg"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    cmd = [
        sys.executable,
        "-m",
        "backend",
        "segment",
        str(shared_data / RIVER),
        "the river",
        "-o",
        str(out),
        "--tile-size",
        "200",
        "--overlap",
        "0",
        *map(str, tiny_args(tiny_models)),
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    seen = ""
    deadline = time.monotonic() + 120
    while "2/25" not in seen and time.monotonic() < deadline and proc.poll() is None:
        ready, _, _ = select.select([proc.stderr], [], [], 1)
        if ready:
            seen += os.read(proc.stderr.fileno(), 4096).decode(errors="replace")
    assert "2/25" in seen, seen
    proc.send_signal(stop)  # a closed terminal or `kill` (SIGTERM) stops it as Ctrl-C does
    _, rest = proc.communicate(timeout=120)
    seen += rest
    assert proc.returncode == 130, seen
    assert "stopping after the current batch" in seen and "kept in" in seen and "Traceback" not in seen
    objects = gpd.read_file(out, layer="the_river")
    tiles = gpd.read_file(out, layer="the_river_tiles")
    assert len(objects) >= 1 and len(tiles) == 25
    assert set(tiles.run) == {"interrupted"} and "cancelled" in set(tiles.status) and "ok" in set(tiles.status)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["river.gpkg"]  # no temporary file left beside it


@pytest.mark.live  # the command line as a subprocess
def test_the_default_tile_limit_is_announced_with_the_flag_that_lifts_it(shared_data, tmp_path):
    r = cli("segment", shared_data / RIVER, "roofs", "-o", tmp_path / "o.gpkg", "--tile-size", "64", "--overlap", "32")
    assert r.returncode == 2 and "default limit of 400" in r.stderr and "--max-tiles 961" in r.stderr
    for flag, value, words in [("--max-tiles", "0", "at least 1"), ("--min-area", "-5", "0 or more")]:
        r = cli("segment", shared_data / RIVER, "roofs", "-o", tmp_path / "o.gpkg", flag, value)
        assert r.returncode == 2 and words in r.stderr, (flag, r.stderr)
    r = cli("segment", shared_data / RIVER, "x" * 2001, "-o", tmp_path / "o.gpkg")
    assert r.returncode == 2 and "2001 characters" in r.stderr
