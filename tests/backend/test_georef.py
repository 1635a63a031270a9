"""Georeferences are checked, never guessed: a CRS without a geotransform is refused as such, ground control
points place polygons, pixel coordinates overlay the image as QGIS shows it, areas are m² even in degrees, and
an all-nodata raster is refused the same way whatever its type."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from pyproj import Geod
from rasterio.control import GroundControlPoint
from rasterio.transform import from_origin

from backend.errors import RasterError
from backend.geo.raster import RasterSource
from backend.pipeline import run
from backend.plan import RunStats, SegmentOptions, SegmentPlan
from tests.fakes import FakeOracle


def write(path, data, **profile):
    count, h, w = data.shape
    with rasterio.open(
        path, "w", driver=profile.pop("driver", "GTiff"), width=w, height=h, count=count, dtype=data.dtype, **profile
    ) as ds:
        ds.write(data)
    return path


def squares(h=200, w=300):
    truth = np.zeros((h, w), bool)
    truth[40:90, 60:160] = True
    image = np.stack([truth.astype(np.uint8) * 180 + 30] * 3)
    return image, truth


def features(path, truth, **opts):
    plan = SegmentPlan(str(path), "squares", SegmentOptions(tile_size=256, overlap=0, min_area_px=0, **opts))
    oracle = FakeOracle(truth)
    return plan, list(run(plan, oracle, oracle, RunStats.for_plan(plan)))


def test_a_crs_without_a_geotransform_is_refused_as_such(tmp_path):
    image, _ = squares()
    path = write(tmp_path / "crs_only.tif", image, crs="EPSG:32631")
    with pytest.raises(RasterError) as err:
        RasterSource(str(path))
    assert err.value.code == "no_geotransform"
    text = str(err.value)
    assert "coordinate reference system but no geotransform" in text and "--pixel-coords" in text
    assert "gdal_edit.py -a_srs EPSG:XXXX -a_ullr" in text


def test_a_png_without_georeference_gets_a_fix_that_works_for_pngs(tmp_path):
    image, _ = squares()
    path = write(tmp_path / "photo.png", image, driver="PNG")
    with pytest.raises(RasterError) as err:
        RasterSource(str(path))
    assert err.value.code == "no_crs" and "gdal_translate -of GTiff -a_srs EPSG:XXXX -a_ullr" in str(err.value)
    assert "gdal_edit" not in str(err.value)


def test_pixel_coordinates_overlay_the_image_as_qgis_shows_it(tmp_path):
    image, truth = squares()
    path = write(tmp_path / "photo.png", image, driver="PNG")
    plan, found = features(path, truth, pixel_coords=True)
    assert plan.crs is None and len(found) == 1
    # QGIS draws an image without georeference with x = column and y = -row (extent 0, -200 : 300, 0).
    assert found[0].geometry.bounds == pytest.approx((60, -90, 160, -40), abs=1.5)
    assert found[0].properties["area_unit"] == "px²"


def test_ground_control_points_place_the_polygons(tmp_path):
    image, truth = squares()
    affine = from_origin(500000, 5000000, 0.5, 0.5)
    gcps = [GroundControlPoint(row, col, *(affine @ (col, row))) for row in (0, 100, 200) for col in (0, 150, 300)]
    gcp_path = write(tmp_path / "gcps.tif", image, gcps=gcps, crs="EPSG:32631")
    with rasterio.open(gcp_path) as ds:
        assert ds.transform.is_identity and ds.gcps[0]
    affine_path = write(tmp_path / "affine.tif", image, crs="EPSG:32631", transform=affine)
    plan, by_gcps = features(gcp_path, truth)
    _, by_affine = features(affine_path, truth)
    assert plan.georef.kind == "gcps" and plan.crs.to_epsg() == 32631
    a, b = by_gcps[0].geometry, by_affine[0].geometry
    assert a.intersection(b).area / a.union(b).area > 0.99
    # An area given in map coordinates finds the same window through the GCPs.
    left, top = affine @ (0, 0)
    plan = SegmentPlan(str(gcp_path), "x", SegmentOptions(bounds=(left + 25, top - 50, left + 100, top - 10)))
    assert (plan.area.col_off, plan.area.row_off, plan.area.width, plan.area.height) == pytest.approx(
        (50, 20, 150, 80), abs=1
    )


def test_areas_in_a_geographic_crs_are_geodesic_square_metres(tmp_path):
    image, truth = squares()
    path = write(tmp_path / "wgs84.tif", image, crs="EPSG:4326", transform=from_origin(5.0, 52.0, 1e-5, 1e-5))
    plan, found = features(path, truth)
    geom, props = found[0].geometry, found[0].properties
    expected, _ = Geod(ellps="WGS84").geometry_area_perimeter(geom)
    assert props["area_unit"] == "m²" and props["area"] == pytest.approx(abs(expected), rel=1e-9)
    assert 3000 < props["area"] < 4000  # 100 x 50 pixels of about 0.68 m x 1.11 m at 52° N


@pytest.mark.parametrize("dtype", ["uint8", "uint16"])
def test_all_nodata_is_refused_the_same_way_for_every_type(tmp_path, dtype):
    path = write(
        tmp_path / f"empty_{dtype}.tif",
        np.zeros((3, 64, 64), dtype),
        crs="EPSG:32631",
        transform=from_origin(500000, 5000000, 1, 1),
        nodata=0,
    )
    with pytest.raises(RasterError) as err:
        SegmentPlan(str(path), "x", SegmentOptions())
    assert err.value.code == "no_valid_pixels" and "every pixel is nodata" in str(err.value)


def test_an_area_with_only_nodata_is_refused(tmp_path):
    data = np.zeros((3, 200, 200), np.uint8)
    data[:, :, 100:] = 90
    path = write(tmp_path / "half.tif", data, crs="EPSG:32631", transform=from_origin(500000, 5000000, 1, 1), nodata=0)
    with pytest.raises(RasterError) as err:
        SegmentPlan(str(path), "x", SegmentOptions(bounds=(500000, 4999850, 500050, 5000000)))
    assert err.value.code == "no_valid_pixels" and "area to search" in str(err.value)
