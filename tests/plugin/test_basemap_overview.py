"""A whole-scene overview over 25 km² of a basemap: the backend reads the XYZ layer itself through GDAL (coarse
zoom levels for the overview, zoom 19 only where it points), from a REAL tile server on loopback that renders
each tile on request from a 5 km × 5 km mosaic of the Gorinchem orthophoto, and counts them."""

from __future__ import annotations

import json
import math

import pytest
from osgeo import gdal
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsDataSourceUri,
    QgsGeometry,
    QgsProject,
    QgsRasterLayer,
    QgsRectangle,
)
from think2map.plugin.core.tile_source import WORLD_M

from .conftest import wait_until
from .test_export import _run

pytestmark = pytest.mark.live  # a tile server on loopback, and a backend of its own

MOSAIC = 20  # 20 × 20 copies of the 250 m orthophoto: 5 km × 5 km
ZOOM = 19
# One small box in the middle of each overview cell: a target the overview points to, in a few full tiles.
SMALL_ANSWER = '<think>x</think><answer>[{"bbox_2d": [480,480,520,520], "positive_points": [[500,500]]}]</answer>'


@pytest.fixture(scope="module")
def mosaic(shared_data, tmp_path_factory):
    from tests.tile_server import build_mosaic

    return build_mosaic(shared_data / "gorinchem_river_0p25m_epsg28992.tif", tmp_path_factory.mktemp("mosaic"), MOSAIC)


@pytest.fixture
def rendering_server(mosaic):
    from tests.tile_server import RenderingTileServer

    server = RenderingTileServer(mosaic)
    yield server
    server.close()


@pytest.fixture
def small_answer_backend(backend_python, tiny_models, qtbot):
    """A backend of its own whose prompter answers one small box a frame."""
    from think2map.plugin.core.process import BackendManager

    from .conftest import tiny_settings

    settings = tiny_settings(backend_python, tiny_models)
    settings.extra_args = ["--force-answer", SMALL_ANSWER]
    settings.save()
    manager = BackendManager()
    manager.start()
    assert wait_until(lambda: manager.state in ("ready", "error"), 120), manager.detail
    yield manager
    manager.stop(wait_ms=10_000)
    manager.deleteLater()  # now, while QGIS runs: a QProcess deleted at the interpreter's exit crashes it


def _tiles_over(bounds, zoom: int) -> int:
    """How many XYZ tiles of ``zoom`` cover ``bounds`` (EPSG:3857)."""
    size = 2 * WORLD_M / 2**zoom
    minx, miny, maxx, maxy = bounds
    cols = math.floor((maxx + WORLD_M) / size) - math.floor((minx + WORLD_M) / size) + 1
    rows = math.floor((WORLD_M - miny) / size) - math.floor((WORLD_M - maxy) / size) + 1
    return cols * rows


def test_an_overview_over_25_km2_of_a_basemap_fetches_few_full_resolution_tiles(
    make_dock, small_answer_backend, rendering_server, mosaic, qgis_canvas, qtbot
):
    uri = QgsDataSourceUri()
    for key, value in (("type", "xyz"), ("url", rendering_server.url), ("zmin", "0"), ("zmax", str(ZOOM))):
        uri.setParam(key, value)
    basemap = QgsRasterLayer(bytes(uri.encodedUri()).decode(), "Mosaic basemap", "wms")
    assert basemap.isValid()
    QgsProject.instance().addMapLayer(basemap)
    ds = gdal.Warp("", str(mosaic), format="VRT", dstSRS="EPSG:3857")
    x0, px, _, y1, _, py = ds.GetGeoTransform()
    area = QgsRectangle(x0 + 20, y1 + py * ds.RasterYSize + 20, x0 + px * ds.RasterXSize - 20, y1 - 20)
    ground_km2 = area.width() * area.height() * math.cos(math.radians(51.84)) ** 2 / 1e6
    assert ground_km2 > 24.5  # 25 km² on the ground, less a 20 m margin
    qgis_canvas.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:3857"))
    qgis_canvas.setExtent(QgsRectangle(area.center().x() - 300, area.center().y() - 200,
                                       area.center().x() + 300, area.center().y() + 200))  # fmt: skip
    dock = make_dock(small_answer_backend)
    dock.set_layer(basemap)
    dock.set_query("the river")
    dock.strategy_combo.setCurrentIndex(dock.strategy_combo.findData("overview"))
    dock.tile_limit_spin.setValue(5000)
    dock.set_rectangle(area, QgsCoordinateReferenceSystem("EPSG:3857"))
    assert "reads this basemap's tiles itself" in dock.fetch_label.text(), dock.fetch_label.text()
    sent: list[dict] = []
    submit = dock.controller._submit
    dock.controller._submit = lambda request, upload=None: (sent.append(request.to_json()), submit(request, upload))[1]
    rendering_server.requests.clear()
    _run(dock, qtbot)
    record = dock.controller.records[0]
    assert record.job_state == "done" and record.features > 0, (record.message, small_answer_backend.stderr_tail)
    assert sent[0]["raster"].startswith("<GDAL_WMS>") and sent[0]["strategy"] == "overview"
    # the overview read coarse zoom levels; full resolution only where it pointed: at most 10 % of the area's tiles
    full, total = (
        rendering_server.zoom_requests(ZOOM),
        _tiles_over((area.xMinimum(), area.yMinimum(), area.xMaximum(), area.yMaximum()), ZOOM),
    )
    coarse = len(rendering_server.requests) - full
    assert coarse > 0 and 0 < full <= 0.10 * total, (full, total, coarse)
    # the polygons land in the area, at the prompts the forced answer gives in each overview cell
    results = QgsProject.instance().mapLayer(record.layer_id)
    assert results.crs().authid() == "EPSG:3857"
    assert area.buffered(2 * px).contains(results.extent()), (results.extent().toString(), area.toString())
    for feature in results.getFeatures():
        assert feature["source_layer"] == "Mosaic basemap"
        box = QgsRectangle(*json.loads(feature["prompt_box"]))
        assert box.width() < area.width() / 10  # a small box of one cell, not a box over the area
    # the same forced answer lands at the same place in every full overview cell, as it does over a file: the
    # basemap read through GDAL is georeferenced alike across the whole area
    spots = []
    for cell in record.overview:
        footprint = QgsGeometry.fromWkt(_wkt(cell["footprint"])).boundingBox()
        for box in cell.get("boxes") or []:
            centre = QgsGeometry.fromWkt(_wkt(box)).boundingBox().center()
            spots.append(((centre.x() - footprint.xMinimum()) / footprint.width(),
                          (footprint.yMaximum() - centre.y()) / footprint.height(), footprint.width()))  # fmt: skip
    widest = max(w for _, _, w in spots)
    whole = [(fx, fy) for fx, fy, w in spots if w > 0.99 * widest]
    assert len(whole) >= 4, spots
    for fx, fy in whole:
        assert abs(fx - whole[0][0]) < 2 / 840 and abs(fy - whole[0][1]) < 2 / 840, whole
    print(f"\nzoom {ZOOM} tiles fetched: {full} of {total} ({100 * full / total:.1f} %); coarser: {coarse}")


def test_only_a_basemap_that_carries_no_credential_is_read_by_the_backend(xyz_layer, tile_server):
    from think2map.plugin.core.tile_source import tile_source

    from .conftest import XYZ_SECRET

    def layer(**params) -> QgsRasterLayer:
        uri = QgsDataSourceUri()
        for key, value in {"type": "xyz", "url": tile_server.url, "zmin": "0", "zmax": "19", **params}.items():
            uri.setParam(key, value)
        made = QgsRasterLayer(bytes(uri.encodedUri()).decode(), "basemap", "wms")
        assert made.isValid()
        return made

    plain = tile_source(layer())
    assert plain is not None and "${z}/${x}/${y}.png" in plain.xml and "<TileLevel>19</TileLevel>" in plain.xml
    assert plain.pixel_size == pytest.approx(0.29858, abs=1e-4)
    coarser = tile_source(layer(), resolution=2.4)  # the coarsest zoom at least as fine: 16 (2.39 m)
    assert "<TileLevel>16</TileLevel>" in coarser.xml and coarser.pixel_size < 2.4
    assert tile_source(xyz_layer) is None  # its URL has a key (?apikey=...)
    assert XYZ_SECRET in xyz_layer.source()
    assert tile_source(layer(authcfg="abc1234")) is None
    assert tile_source(layer(**{"http-header:referer": "https://example.org"})) is None
    assert tile_source(layer(url=tile_server.url.replace("{y}", "{-y}"))) is None  # TMS rows: not GDAL's XYZ


def _wkt(geometry: dict) -> str:
    """A GeoJSON polygon as WKT (its outer ring)."""
    ring = ", ".join(f"{x} {y}" for x, y in geometry["coordinates"][0])
    return f"POLYGON(({ring}))"
