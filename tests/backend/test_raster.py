"""Reading real rasters: bands, one stretch, validity, and clear refusals."""

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from backend.errors import RasterError
from backend.geo.raster import RasterSource


def test_rgb_uint8_is_read_as_is(shared_data):
    path = shared_data / "gorinchem_river_0p25m_epsg28992.tif"
    with RasterSource(path) as src, rasterio.open(path) as ds:
        assert src.bands == (1, 2, 3) and src.stretch is None
        w = src.full_window()
        image, valid = src.read(w)
        assert image.shape == (1000, 1000, 3) and image.dtype == np.uint8
        assert np.array_equal(image, np.moveaxis(ds.read([1, 2, 3]), 0, -1))
        assert valid.all()
        assert src.crs.to_epsg() == 28992


def test_uint16_single_band_is_stretched_to_grey_rgb_once(shared_data):
    with RasterSource(shared_data / "atlanta_pan_uint16_0p5m_epsg32616.tif") as src:
        assert src.bands == (1, 1, 1) and src.stretch is not None
        from backend.geo.raster import PixelWindow

        a, va = src.read(PixelWindow(0, 0, 300, 300))
        b, vb = src.read(PixelWindow(600, 600, 300, 300))
        assert a.dtype == np.uint8 and np.array_equal(a[..., 0], a[..., 2])
        # one stretch for the whole raster: both tiles span a good part of 0-255
        assert a[va].std() > 20 and b[vb].std() > 20
        assert np.percentile(np.concatenate([a[va], b[vb]]), 99) > 200


def test_nodata_becomes_invalid_and_black(shared_data):
    with RasterSource(shared_data / "landsat_rgb_nodata_epsg32618.tif") as src:
        image, valid = src.read(src.full_window())
        assert 0.05 < (~valid).mean() < 0.95  # a rotated footprint inside a nodata border
        assert not image[~valid].any()


def test_band_choice(shared_data):
    with RasterSource(shared_data / "gorinchem_river_0p25m_epsg28992.tif", bands=[3, 2, 1]) as src:
        image, _ = src.read(src.full_window())
    with rasterio.open(shared_data / "gorinchem_river_0p25m_epsg28992.tif") as ds:
        assert np.array_equal(image[..., 0], ds.read(3))
    with pytest.raises(RasterError, match="Band 5 does not exist"):
        RasterSource(shared_data / "gorinchem_river_0p25m_epsg28992.tif", bands=[5])
    with pytest.raises(RasterError, match="one band"):
        RasterSource(shared_data / "gorinchem_river_0p25m_epsg28992.tif", bands=[1, 2])


def _write(path, data, crs="EPSG:32631", nodata=None, **kw):
    count, h, w = data.shape
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=w,
        height=h,
        count=count,
        dtype=data.dtype,
        crs=crs,
        transform=from_origin(500000, 5000000, 1, 1),
        nodata=nodata,
        **kw,
    ) as ds:
        ds.write(data)
    return path


def test_raster_without_crs_is_refused_clearly(tmp_path):
    path = _write(tmp_path / "nocrs.tif", np.ones((3, 50, 50), np.uint8), crs=None)
    with pytest.raises(RasterError, match="no coordinate reference system"):
        RasterSource(path)
    with RasterSource(path, pixel_coords=True) as src:
        assert src.crs is None


def test_missing_and_non_raster_files(tmp_path):
    with pytest.raises(RasterError, match="not found"):
        RasterSource(tmp_path / "nope.tif")
    bad = tmp_path / "notes.tif"
    bad.write_text("this is not an image")
    with pytest.raises(RasterError, match="not a raster"):
        RasterSource(bad)


def test_all_nodata_is_refused_and_alpha_masks(tmp_path):
    path = _write(tmp_path / "empty.tif", np.zeros((1, 40, 40), np.uint16), nodata=0)
    with pytest.raises(RasterError, match="no valid pixels"):
        RasterSource(path)
    rgba = np.full((4, 40, 40), 120, np.uint8)
    rgba[3, :, :20] = 0
    path = _write(tmp_path / "rgba.tif", rgba, photometric="RGB", alpha="YES")
    with RasterSource(path) as src:
        assert src.bands == (1, 2, 3)
        _, valid = src.read(src.full_window())
        assert not valid[:, :20].any() and valid[:, 20:].all()


def test_float_with_nan_and_four_bands(tmp_path):
    data = np.random.default_rng(0).random((4, 60, 60)).astype(np.float32) * 3000
    data[:, :10, :10] = np.nan
    with RasterSource(_write(tmp_path / "f.tif", data)) as src:
        assert src.bands == (1, 2, 3)
        image, valid = src.read(src.full_window())
        assert image.dtype == np.uint8 and not valid[:10, :10].any() and valid[20:, 20:].all()


@pytest.mark.parametrize("dtype", ["uint16", "int16"])
def test_16_bit_stretch_matches_the_float_formula(tmp_path, dtype):
    """16-bit tiles go through a lookup table; every value must map as the 2-98 % linear stretch says."""
    info = np.iinfo(dtype)
    data = np.random.default_rng(1).integers(info.min, info.max, (3, 60, 80), endpoint=True).astype(dtype)
    data[0, 0, :3] = [info.min, info.max, 0]
    path = tmp_path / f"{dtype}.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=80,
        height=60,
        count=3,
        dtype=dtype,
        crs="EPSG:32616",
        transform=from_origin(500000, 4000000, 1, 1),
    ) as ds:
        ds.write(data)
    with RasterSource(str(path)) as src:
        image, valid = src.read(src.full_window())
        stretch = src.stretch
    assert valid.all() and image.dtype == np.uint8
    for band, (lo, hi) in enumerate(stretch):
        expected = np.clip((data[band].astype(np.float64) - lo) * 255.0 / (hi - lo), 0, 255)
        assert np.abs(image[..., band].astype(int) - np.floor(expected)).max() <= 1
    assert image[0, 0, 0] == 0 and image[0, 1, 0] == 255
