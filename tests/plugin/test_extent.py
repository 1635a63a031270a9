"""Bounds in the raster's CRS from a canvas extent in another CRS, and which layers can be segmented."""

from __future__ import annotations

import pytest
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsProject,
    QgsRasterLayer,
    QgsRectangle,
    QgsVectorLayer,
)
from think2map.plugin.core.extent import ExtentError, bounds_in_raster_crs, raster_problem, raster_source

RD = QgsCoordinateReferenceSystem("EPSG:28992")


def to_crs(rect: QgsRectangle, crs: str) -> QgsRectangle:
    ct = QgsCoordinateTransform(RD, QgsCoordinateReferenceSystem(crs), QgsProject.instance())
    return ct.transformBoundingBox(rect)


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:3857"])
def test_canvas_extent_in_another_crs(raster_layer, crs):
    full = raster_layer.extent()
    inner = QgsRectangle(full.xMinimum() + 50, full.yMinimum() + 60, full.xMinimum() + 150, full.yMinimum() + 120)
    canvas = to_crs(inner, crs)  # what a canvas in that CRS would show
    b = bounds_in_raster_crs(
        canvas, QgsCoordinateReferenceSystem(crs), raster_layer, QgsProject.instance().transformContext()
    )
    # The bounding box of the reprojected box contains the original and is only slightly larger.
    assert b[0] <= inner.xMinimum() + 0.01 and b[1] <= inner.yMinimum() + 0.01
    assert b[2] >= inner.xMaximum() - 0.01 and b[3] >= inner.yMaximum() - 0.01
    assert b[0] == pytest.approx(inner.xMinimum(), abs=3) and b[3] == pytest.approx(inner.yMaximum(), abs=3)
    assert b[2] - b[0] < 110 and b[3] - b[1] < 70


def test_extent_larger_than_raster_is_clipped(raster_layer):
    full = raster_layer.extent()
    world = QgsRectangle(-20e6, -20e6, 20e6, 20e6)
    b = bounds_in_raster_crs(
        world, QgsCoordinateReferenceSystem("EPSG:3857"), raster_layer, QgsProject.instance().transformContext()
    )
    assert b == pytest.approx([full.xMinimum(), full.yMinimum(), full.xMaximum(), full.yMaximum()])


def test_same_crs_passes_through(raster_layer):
    full = raster_layer.extent()
    rect = QgsRectangle(full.xMinimum() + 1, full.yMinimum() + 2, full.xMinimum() + 3, full.yMinimum() + 4)
    assert bounds_in_raster_crs(rect, RD, raster_layer, QgsProject.instance().transformContext()) == pytest.approx(
        [rect.xMinimum(), rect.yMinimum(), rect.xMaximum(), rect.yMaximum()]
    )


def test_no_overlap_is_a_clear_error(raster_layer):
    paris = QgsRectangle(2.29, 48.85, 2.30, 48.86)
    with pytest.raises(ExtentError, match="does not overlap"):
        bounds_in_raster_crs(
            paris, QgsCoordinateReferenceSystem("EPSG:4326"), raster_layer, QgsProject.instance().transformContext()
        )
    with pytest.raises(ExtentError, match="empty"):
        bounds_in_raster_crs(QgsRectangle(), RD, raster_layer, QgsProject.instance().transformContext())


def test_raster_is_accepted(raster_layer, gorinchem):
    assert raster_problem(raster_layer) is None
    assert raster_source(raster_layer) == str(gorinchem)


def test_non_raster_layers_are_refused():
    vector = QgsVectorLayer("Polygon?crs=EPSG:28992", "parcels", "memory")
    message = raster_problem(vector)
    assert message and "'parcels' is not a raster layer" in message
    assert "raster layer" in raster_problem(None)


def test_raster_without_crs_or_file_is_refused(tmp_path):
    from osgeo import gdal  # test only: make a GeoTIFF without CRS

    path = tmp_path / "nocrs.tif"
    dataset = gdal.GetDriverByName("GTiff").Create(str(path), 8, 8, 3)
    dataset.FlushCache()
    del dataset
    layer = QgsRasterLayer(str(path), "nocrs")
    assert layer.isValid()
    layer.setCrs(QgsCoordinateReferenceSystem())
    assert "no coordinate reference system" in raster_problem(layer)
    layer = QgsRasterLayer(str(path), "gone")
    layer.setCrs(RD)
    path.unlink()
    assert "does not exist" in raster_problem(layer)
    assert raster_problem(layer, require_local_file=False) is None


def test_a_web_layer_is_exported_for_a_local_or_a_remote_backend_but_needs_a_crs(tmp_path):
    layer = QgsRasterLayer("type=xyz&url=http://127.0.0.1:9/{z}/{x}/{y}.png&zmax=19&zmin=0", "tiles", "wms")
    assert raster_problem(layer) is None and raster_problem(layer, require_local_file=False) is None
    layer.setCrs(QgsCoordinateReferenceSystem())
    message = raster_problem(layer, require_local_file=False)
    assert message and "no coordinate reference system" in message and "type=xyz" not in message
