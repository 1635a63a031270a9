"""A shared server reads only under its data roots, however deep a dataset reaches: nested VRTs, raw-band VRTs,
/vsi paths inside a VRT, symlinks; --data-root always restricts; token holders are not told the server's paths."""

from __future__ import annotations

import os

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from backend.errors import RasterError
from backend.geo.access import RasterAccess
from backend.geo.raster import RasterSource
from backend.service.exposure import Exposure


def _tif(path):
    with rasterio.open(path, "w", driver="GTiff", width=64, height=64, count=3, dtype="uint8", crs="EPSG:32631",
                       transform=from_origin(500000, 5000000, 1, 1)) as ds:  # fmt: skip
        ds.write(np.full((3, 64, 64), 100, np.uint8))
    return path


def _vrt(path, source: str, relative: bool = False, raw: bool = False):
    if raw:
        band = (f'<VRTRasterBand dataType="Byte" band="1" subClass="VRTRawRasterBand"><SourceFilename '
                f'relativeToVRT="0">{source}</SourceFilename><ImageOffset>0</ImageOffset><PixelOffset>1'
                "</PixelOffset><LineOffset>64</LineOffset></VRTRasterBand>")  # fmt: skip
    else:
        band = (f'<VRTRasterBand dataType="Byte" band="1"><SimpleSource><SourceFilename '
                f'relativeToVRT="{int(relative)}">{source}</SourceFilename><SourceBand>1</SourceBand>'
                "</SimpleSource></VRTRasterBand>")  # fmt: skip
    path.write_text(
        '<VRTDataset rasterXSize="64" rasterYSize="64"><SRS>EPSG:32631</SRS>'
        f"<GeoTransform>500000, 1, 0, 5000000, 0, -1</GeoTransform>{band}</VRTDataset>"
    )
    return path


@pytest.fixture
def places(tmp_path):
    root, outside = tmp_path / "shared", tmp_path / "private"
    root.mkdir()
    outside.mkdir()
    secret = _tif(outside / "secret.tif")
    ok = _tif(root / "ok.tif")
    return {"root": root, "secret": secret, "ok": ok, "access": RasterAccess.shared([str(root)])}


def _opens(path, access) -> bool:
    try:
        with RasterSource(str(path), access=access):
            return True
    except RasterError as exc:
        assert exc.code == "raster_not_found" and "shared data folders" in str(exc)
        return False


def test_a_vrt_under_the_root_reading_a_vrt_that_reads_outside_is_refused(places):
    root = places["root"]
    _vrt(root / "inner.vrt", str(places["secret"]))
    outer = _vrt(root / "outer.vrt", "inner.vrt", relative=True)
    assert not _opens(outer, places["access"])
    assert _opens(outer, RasterAccess())  # the plugin's own loopback server trusts its user


def test_raw_band_vrts_vsi_paths_and_symlinks_out_are_refused(places):
    root, access = places["root"], places["access"]
    assert not _opens(_vrt(root / "raw.vrt", "/etc/passwd", raw=True), access)
    assert not _opens(_vrt(root / "raw_inside.vrt", str(places["ok"]), raw=True), access)  # raw bands at all
    assert not _opens(_vrt(root / "vsi.vrt", "/vsicurl/http://127.0.0.1:9/x.tif"), access)
    os.symlink(places["secret"], root / "link.tif")
    assert not _opens(root / "link.tif", access)
    assert not _opens(_vrt(root / "via_link.vrt", "link.tif", relative=True), access)


def test_vrts_that_stay_under_the_root_are_read(places):
    root, access = places["root"], places["access"]
    _vrt(root / "inner.vrt", "ok.tif", relative=True)
    assert _opens(_vrt(root / "outer.vrt", "inner.vrt", relative=True), access)
    assert _opens(places["ok"], access)


def test_a_data_root_always_restricts_even_on_loopback(places):
    exposure = Exposure.for_server("127.0.0.1", data_roots=[str(places["root"])])
    assert exposure.shared and exposure.access.restricted
    assert not _opens(places["secret"], exposure.access) and _opens(places["ok"], exposure.access)
    assert not Exposure.for_server("127.0.0.1").shared  # the plugin's own server, as before


def test_a_shared_server_does_not_tell_token_holders_its_paths(places, tiny_models):
    from fastapi.testclient import TestClient

    from backend.models.loading import EngineConfig
    from backend.service.server import ServerConfig, create_app

    exposure = Exposure.for_server("127.0.0.1", data_roots=[str(places["root"])])
    engine = EngineConfig(prompter=str(tiny_models["prompter"]), segmenter=str(tiny_models["sam2"]), device="cpu")
    headers = {"Authorization": "Bearer t"}
    with TestClient(create_app(ServerConfig(token="t", engine=engine, exposure=exposure))) as client:
        health = client.get("/health", headers=headers).json()
        models = client.get("/models", headers=headers).json()
    assert health["default_models"] == {"prompter": "tiny-think2seg", "segmenter": "tiny-sam2"}
    assert models["models_dir"] == "" and all(row["path"] is None for row in models["models"])
    assert str(places["root"].parent) not in str(health) + str(models)
