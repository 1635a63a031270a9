"""Web layers as the source: an XYZ basemap served on loopback by a REAL tile server (a gdal2tiles pyramid of the
Gorinchem orthophoto), exported by QGIS to a GeoTIFF and searched from the dock by the REAL backend."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from osgeo import gdal
from qgis.core import QgsApplication, QgsProject, QgsRasterLayer, QgsRectangle
from qgis.PyQt.QtCore import Qt
from think2map.plugin.core.export import (
    MAX_EXPORT_PIXELS,
    WEB_MERCATOR_M_PER_PX_AT_Z0,
    ExportCache,
    ExportTask,
    export_request,
)

from tests.tile_server import MAX_ZOOM

from .conftest import XYZ_SECRET
from .test_dock import JOB_TIMEOUT_MS

pytestmark = pytest.mark.live  # a tile server on loopback, and the backend

FINEST = WEB_MERCATOR_M_PER_PX_AT_Z0 / 2**MAX_ZOOM
TASK_MS = 60_000


def _gorinchem_in_3857(gorinchem) -> tuple[float, float, float, float]:
    """The orthophoto's footprint in Web Mercator, a little inside its edges."""
    ds = gdal.Warp("", str(gorinchem), format="VRT", dstSRS="EPSG:3857")
    x0, px, _, y1, _, py = ds.GetGeoTransform()
    x1, y0 = x0 + px * ds.RasterXSize, y1 + py * ds.RasterYSize
    return x0 + 5, y0 + 5, x1 - 5, y1 - 5


def _assert_same_prompts_as_over_the_file(dock, qtbot, results, export, gorinchem, tmp_path) -> None:
    """The same forced answer over the file, warped to the grid ``export`` has, gives the same prompts as the query
    over the web layer gave (``results``), to 2 pixels. (The tiny SAM's masks are noise: its prompts are compared.)"""
    boxes = sorted({f["prompt_box"] for f in results.getFeatures()})
    grid = gdal.Open(str(export))
    x0, px, _, y1, _, py = grid.GetGeoTransform()
    bounds = (x0, y1 + py * grid.RasterYSize, x0 + px * grid.RasterXSize, y1)
    warped = tmp_path / "gorinchem-on-the-export-grid.tif"
    gdal.Warp(str(warped), str(gorinchem), dstSRS=grid.GetProjection(), outputBounds=bounds, width=grid.RasterXSize,
              height=grid.RasterYSize, resampleAlg="bilinear")  # fmt: skip
    file_layer = QgsRasterLayer(str(warped), "warped")
    QgsProject.instance().addMapLayer(file_layer)
    dock.set_layer(file_layer)
    dock.set_area_mode("layer")
    _run(dock, qtbot)
    reference = dock.controller.records[0]
    assert reference.job_state == "done", reference.message
    ref_boxes = sorted({f["prompt_box"] for f in QgsProject.instance().mapLayer(reference.layer_id).getFeatures()})
    assert boxes and len(ref_boxes) == len(boxes)
    for ours, theirs in zip(boxes, ref_boxes):
        assert np.allclose(json.loads(ours), json.loads(theirs), atol=2 * px)


def _assert_same_outline_over_a_copy(canvas, backend, export: Path, outline, qtbot, tmp_path) -> None:
    """The same click (the middle of the view) over a file holding ``export``'s pixels on its grid gives the same
    ``outline`` (its bounding box), to 2 pixels: an export is clicked as a file is. (The tiny random SAM's masks are
    noise: over the original file, resampled otherwise, they differ by hundreds of metres.)"""
    from .test_clicks import answered, at, click

    copy = tmp_path / f"copy-of-{export.name}"
    gdal.Translate(str(copy), str(export))
    px = gdal.Open(str(copy)).GetGeoTransform()[1]
    layer = QgsRasterLayer(str(copy), "copy")
    QgsProject.instance().addMapLayer(layer)
    session, tool = _click_session(canvas, backend, layer, ExportCache(tmp_path / "unused"))
    try:
        click(tool, at(tool, 0.5, 0.5))
        answered(qtbot, session, 1)
        assert session._body(session.prompts)["raster"] == str(copy)
        theirs = session.preview.boundingBox()
    finally:
        canvas.unsetMapTool(tool)
        tool.remove()
        session.remove()
    for a, b in zip(
        (outline.xMinimum(), outline.yMinimum(), outline.xMaximum(), outline.yMaximum()),
        (theirs.xMinimum(), theirs.yMinimum(), theirs.xMaximum(), theirs.yMaximum()),
    ):
        assert abs(a - b) <= 2 * px, (outline.toString(), theirs.toString())


def _run(dock, qtbot) -> None:
    """Press Run and wait for the query's end (its export first, for a web layer)."""
    with qtbot.waitSignal(dock.controller.running, timeout=JOB_TIMEOUT_MS, check_params_cb=lambda running: not running):
        qtbot.mouseClick(dock.run_button, Qt.MouseButton.LeftButton)


def _export(qtbot, layer, request, cache) -> tuple[str, str, ExportTask]:
    task = ExportTask(layer, request, cache, QgsProject.instance().transformContext())
    done: list[tuple[str, str]] = []
    task.exportFinished.connect(lambda path, error: done.append((path, error)))
    QgsApplication.taskManager().addTask(task)
    qtbot.waitUntil(lambda: bool(done), timeout=TASK_MS)
    return (*done[0], task)


def test_an_export_is_sized_by_arithmetic_and_capped_before_anything_is_fetched(xyz_layer, tile_server):
    # at the view's resolution, never finer than the layer's last zoom, on whole pixels
    request = export_request(xyz_layer, (555000.0, 6771000.0, 555300.0, 6771150.0), view_pixel_size=0.05)
    assert request.pixel_size == pytest.approx(FINEST) and request.rendered
    assert request.width == 1005 and request.height == 503  # ceil(300 / 0.2986), ceil(150 / 0.2986)
    assert request.extent[2] - request.extent[0] == pytest.approx(request.width * FINEST)
    assert request.problem() is None and "1,005 × 503 px" in request.summary()
    coarser = export_request(xyz_layer, (555000.0, 6771000.0, 555300.0, 6771150.0), view_pixel_size=2.0)
    assert coarser.width == 150 and coarser.key != request.key
    # the whole world at the last zoom: refused with its size and the fix, and nothing asked of the server
    world = export_request(xyz_layer, (-2e7, -2e7, 2e7, 2e7), view_pixel_size=0.1)
    assert world.pixels > MAX_EXPORT_PIXELS
    message = world.problem()
    assert message is not None and f"{world.width:,} × {world.height:,} px" in message and "Zoom in" in message
    assert tile_server.requests == []


def test_an_xyz_layer_exports_to_a_georeferenced_geotiff_with_its_pixels(
    xyz_layer, tile_server, gorinchem, qtbot, tmp_path
):
    cache = ExportCache(tmp_path / "exports")
    request = export_request(xyz_layer, _gorinchem_in_3857(gorinchem), view_pixel_size=FINEST)
    path, error, _ = _export(qtbot, xyz_layer, request, cache)
    assert error == "" and path and tile_server.requests, error
    fetched = len(tile_server.requests)
    assert fetched <= request.tiles  # the estimate the dock shows is not an underestimate
    out = gdal.Open(path)
    assert (out.RasterXSize, out.RasterYSize, out.RasterCount) == (request.width, request.height, 4)
    assert "3857" in out.GetSpatialRef().GetAuthorityCode(None)
    x0, px, _, y1, _, py = out.GetGeoTransform()
    assert (x0, y1) == pytest.approx((request.extent[0], request.extent[3])) and px == pytest.approx(FINEST)
    # the same pixels as the file warped onto the same grid: the export is where the basemap is
    warped = gdal.Warp(
        "",
        str(gorinchem),
        format="MEM",
        dstSRS="EPSG:3857",
        outputBounds=request.extent,
        width=request.width,
        height=request.height,
        resampleAlg="bilinear",
    )
    ours = out.ReadAsArray()[:3].astype(float)
    theirs = warped.ReadAsArray().astype(float)
    core = (slice(None), slice(20, -20), slice(20, -20))
    assert np.abs(ours[core] - theirs[core]).mean() < 12  # PNG tiles resampled twice against one warp
    shifted = np.abs(ours[:, 20:-20, 23:-17] - theirs[core]).mean()
    assert shifted > np.abs(ours[core] - theirs[core]).mean()  # and three pixels off is worse
    # the same view again comes from the cache: nothing more is fetched
    assert cache.get(request) is not None and len(tile_server.requests) == fetched


def test_a_cancelled_export_leaves_nothing_behind(xyz_layer, tile_server, gorinchem, qtbot, tmp_path):
    tile_server.delay_s = 0.2
    cache = ExportCache(tmp_path / "exports")
    request = export_request(xyz_layer, _gorinchem_in_3857(gorinchem), view_pixel_size=FINEST)
    task = ExportTask(xyz_layer, request, cache, QgsProject.instance().transformContext())
    done: list[tuple[str, str]] = []
    task.exportFinished.connect(lambda path, error: done.append((path, error)))
    QgsApplication.taskManager().addTask(task)
    qtbot.waitUntil(lambda: len(tile_server.requests) >= 2, timeout=TASK_MS)
    task.cancel()
    qtbot.waitUntil(lambda: bool(done), timeout=5_000)  # back to idle within seconds, not after every tile
    assert done == [("", "")]
    assert list((tmp_path / "exports").glob("*")) == []


def test_a_query_over_an_xyz_basemap_from_the_dock(
    make_dock, live_backend, xyz_layer, tile_server, gorinchem, qgis_canvas, qtbot, tmp_path
):
    QgsProject.instance().addMapLayer(xyz_layer)
    dock = make_dock(live_backend)
    dock.set_layer(xyz_layer)
    assert dock.layer_problem() is None
    dock.set_query("the river")
    dock.set_area_mode("extent")
    footprint = _gorinchem_in_3857(gorinchem)
    qgis_canvas.setDestinationCrs(xyz_layer.crs())
    qgis_canvas.setExtent(QgsRectangle(*footprint))
    said: list[str] = []
    dock.controller.message.connect(lambda level, text, details: said.append(text + details))
    sent: list[dict] = []
    submit = dock.controller._submit
    dock.controller._submit = lambda request, upload=None: (sent.append(request.to_json()), submit(request, upload))[1]
    _run(dock, qtbot)
    assert any(t.startswith("Fetching ") and "web tiles of 'Gorinchem basemap'" in t for t in said), said
    record = dock.controller.records[0]
    assert record.job_state == "done", record.message
    fetched = len(tile_server.requests)
    assert fetched > 0
    results = QgsProject.instance().mapLayer(record.layer_id)
    assert results is not None and results.featureCount() > 0 and results.crs().authid() == "EPSG:3857"
    shown = qgis_canvas.extent()
    assert shown.buffered(2 * FINEST).contains(results.extent()), (results.extent().toString(), shown.toString())
    # provenance on every feature and in the layer's metadata; the key in the layer's URL nowhere
    host = tile_server.url.split("/")[2]
    export_size = dock.controller.exports.cache.folder.glob("*.tif")
    for feature in results.getFeatures():
        assert feature["source_layer"] == "Gorinchem basemap" and feature["source_host"] == host
        assert feature["resolution"] > 0 and feature["exported"].startswith("20")
    rights = " ".join(results.metadata().rights())
    assert "Found in 'Gorinchem basemap' (" + host + ")" in rights
    assert any("check that its terms allow automated analysis" in t for t in said)
    everything = json.dumps(sent) + " ".join(said) + rights + str(list(export_size))
    everything += " ".join(str(f.attributes()) for f in results.getFeatures())
    assert sent and XYZ_SECRET not in everything and "apikey" not in everything
    assert all("127.0.0.1" not in json.dumps(body) for body in sent)  # the backend gets a file, not the service
    export = next(iter(dock.controller.exports.cache.folder.glob("*.tif")))
    assert XYZ_SECRET.encode() not in export.read_bytes()  # nor in the file the backend reads
    _assert_same_prompts_as_over_the_file(dock, qtbot, results, export, gorinchem, tmp_path)
    # the same view again: the export is reused, no tile fetched
    dock.set_layer(xyz_layer)
    dock.set_area_mode("extent")
    _run(dock, qtbot)
    assert dock.controller.records[0].job_state == "done" and len(tile_server.requests) == fetched


def test_cancel_while_the_dock_fetches_returns_to_idle_and_leaves_no_file(
    make_dock, live_backend, xyz_layer, tile_server, gorinchem, qgis_canvas, qtbot
):
    import time

    tile_server.delay_s = 0.3
    QgsProject.instance().addMapLayer(xyz_layer)
    dock = make_dock(live_backend)
    dock.set_layer(xyz_layer)
    dock.set_query("the river")
    dock.set_area_mode("extent")
    qgis_canvas.setDestinationCrs(xyz_layer.crs())
    qgis_canvas.setExtent(QgsRectangle(*_gorinchem_in_3857(gorinchem)))
    qtbot.mouseClick(dock.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(tile_server.requests) >= 2, timeout=TASK_MS)
    started = time.monotonic()
    with qtbot.waitSignal(dock.controller.running, timeout=5_000, check_params_cb=lambda running: not running):
        qtbot.mouseClick(dock.cancel_button, Qt.MouseButton.LeftButton)
    assert time.monotonic() - started < 2.0
    record = dock.controller.records[0]
    assert record.job_state == "cancelled" and not record.layer_id, record.message
    assert not dock.controller.task  # nothing was sent to the backend
    assert list(dock.controller.exports.cache.folder.glob("*")) == []


def test_the_dock_says_what_a_basemap_query_fetches_before_it_runs_and_refuses_past_the_cap(
    make_dock, xyz_layer, tile_server, gorinchem, qgis_canvas, qtbot
):
    QgsProject.instance().addMapLayer(xyz_layer)
    qgis_canvas.setDestinationCrs(xyz_layer.crs())
    qgis_canvas.setExtent(QgsRectangle(*_gorinchem_in_3857(gorinchem)))
    dock = make_dock()
    dock.set_area_mode("layer")
    dock.set_layer(xyz_layer)
    assert dock.area_mode() == "extent"  # a basemap's whole layer is the world: its view is meant
    planned = dock.controller.planned_export(xyz_layer, "extent")
    size = qgis_canvas.mapSettings().outputSize()
    assert abs(planned.width - size.width()) <= 1 and abs(planned.height - size.height()) <= 1  # the view's pixels
    text = dock.fetch_label.text()
    assert dock.fetch_label.isVisible() and text == f"A query fetches {planned.summary()} first."
    assert f"{planned.width:,} × {planned.height:,} px" in text and "web tiles" in text and " MB)" in text
    host = tile_server.url.split("/")[2]  # where its imagery is from, said before anything is fetched
    assert dock.credit_label.isVisible() and dock.credit_label.text() == (
        f"Its imagery is from {host}: check that its terms allow automated analysis."
    )
    assert XYZ_SECRET not in dock.credit_label.text() + text
    # the view moves: the estimate is said again once it stops (the same pixels: the view's, at its resolution)
    view = qgis_canvas.extent()
    dock.fetch_label.setText("stale")
    qgis_canvas.setExtent(view.buffered(-view.width() / 4))
    qtbot.waitUntil(lambda: dock.fetch_label.text() == text, timeout=5_000)
    # a resolution chosen in Advanced options: coarser than the view's, or never finer than the last zoom
    now = dock.controller.planned_export(xyz_layer, "extent")
    dock.resolution_spin.setValue(now.pixel_size * 2)
    coarse = dock.controller.planned_export(xyz_layer, "extent", resolution=dock.resolution_spin.value())
    assert coarse.pixel_size == pytest.approx(dock.resolution_spin.value())
    assert abs(coarse.width - now.width * now.pixel_size / coarse.pixel_size) <= 1
    assert f"{coarse.width:,} × {coarse.height:,} px" in dock.fetch_label.text()
    assert dock.options().web_resolution == dock.resolution_spin.value()
    assert dock.controller.planned_export(xyz_layer, "extent", resolution=0.001).pixel_size == pytest.approx(FINEST)
    dock.resolution_spin.setValue(0)  # the map view's again
    assert dock.resolution_spin.text() == "the map view's" and dock.fetch_label.text() != ""
    # a rectangle 10,000 view pixels wide: refused, with its size and the fix, before anything is fetched
    x, y, half = view.center().x(), view.center().y(), 5_000 * planned.pixel_size
    dock.set_rectangle(QgsRectangle(x - half, y - half, x + half, y + half), xyz_layer.crs())
    refusal = dock.fetch_label.text()
    assert "more than the limit of 64,000,000 pixels" in refusal and "draw a smaller rectangle" in refusal
    said: list[str] = []
    dock.controller.message.connect(lambda level, text, details: said.append(text))
    dock.set_query("the river")
    assert dock.run() is False and said == [refusal]
    exports = dock.controller.exports  # nothing was fetched: no export started, none written
    assert exports.task is None and not list(exports.cache.folder.glob("*"))
    # a file: nothing to fetch, nothing said
    file_layer = QgsRasterLayer(str(gorinchem), "file")
    QgsProject.instance().addMapLayer(file_layer)
    dock.set_layer(file_layer)
    assert not dock.fetch_label.isVisible() and not dock.credit_label.isVisible()


def test_the_export_cache_keeps_the_most_recently_used_and_tolerates_what_it_cannot_delete(xyz_layer, tmp_path):
    import os

    cache = ExportCache(tmp_path / "exports", max_bytes=2_500)
    requests = [export_request(xyz_layer, (555000.0 + i, 6771000.0, 555100.0, 6771100.0), 1.0) for i in range(3)]
    cache.folder.mkdir()
    for age, request in enumerate(requests):
        path = cache.path_for(request)
        path.write_bytes(b"x" * 1_000)
        os.utime(path, (1_000_000 + age, 1_000_000 + age))  # made and used in this order
    made = cache.path_for(requests[0]).stat().st_mtime
    assert cache.get(requests[0]) is not None  # used again: kept; its export time is unchanged
    assert cache.path_for(requests[0]).stat().st_mtime == made
    cache.trim()
    assert [cache.get(r) is not None for r in requests] == [True, False, True]  # the least recently used went
    (cache.folder / "held-open").mkdir()  # something it cannot delete as a file: left, and no error
    cache.clear()
    assert [p.name for p in cache.folder.iterdir()] == ["held-open"]


def _click_session(canvas, backend, raster, cache):
    from think2map.plugin.gui.click_session import ClickSession
    from think2map.plugin.gui.click_tool import ClickMapTool

    session = ClickSession(canvas, lambda: (backend.url, backend.token), exports=cache)
    session.set_raster(raster)
    session.hover_enabled = False
    tool = ClickMapTool(canvas, session)
    canvas.setMapTool(tool)
    return session, tool


def test_a_click_over_an_xyz_basemap_exports_the_view_once_and_lands_where_it_lands_over_the_file(
    live_backend, xyz_layer, tile_server, gorinchem, qgis_canvas, qtbot, tmp_path
):
    from .test_clicks import answered, at, click, key

    QgsProject.instance().addMapLayer(xyz_layer)
    minx, miny, maxx, maxy = _gorinchem_in_3857(gorinchem)
    view = QgsRectangle(minx, miny, minx + (maxx - minx) / 2, miny + (maxy - miny) / 2)
    qgis_canvas.setDestinationCrs(xyz_layer.crs())
    qgis_canvas.setExtent(view)
    cache = ExportCache(tmp_path / "exports")
    session, tool = _click_session(qgis_canvas, live_backend, xyz_layer, cache)
    said: list[str] = []
    session.message.connect(lambda level, text: said.append(f"{level}: {text}"))
    try:
        click(tool, at(tool, 0.5, 0.5))
        qtbot.waitUntil(lambda: session.requests >= 1, timeout=TASK_MS)  # sent once the view is exported
        answered(qtbot, session, 1)
        assert session.preview is not None and not session.preview.isEmpty(), said
        assert any(t.startswith("info: Fetching ") for t in said) and not any(t.startswith("error") for t in said)
        (export,) = cache.folder.glob("*.tif")
        assert session.sheet is not None and session.sheet.exported.path == str(export)
        assert session._body(session.prompts)["raster"] == str(export)  # the backend reads the export
        shown = qgis_canvas.extent()
        assert QgsRectangle(*session.sheet.request.extent).buffered(-2 * FINEST).intersect(shown).area() > 0
        assert session.preview_properties["source_layer"] == "Gorinchem basemap"
        assert session.preview_properties["source_host"] == tile_server.url.split("/")[2]
        over_export = session.preview.boundingBox()
        fetched = len(tile_server.requests)
        assert fetched > 0 and session.last_answer["cached"] is False
        # a second click in the same view: no tile fetched, no export made, the embedding reused
        click(tool, at(tool, 0.55, 0.45))
        answered(qtbot, session, 2)
        assert len(tile_server.requests) == fetched and list(cache.folder.glob("*.tif")) == [export]
        assert session.last_answer["cached"] is True and session.preview is not None
        key(tool, Qt.Key.Key_Return)
        (edits,) = [lyr for lyr in QgsProject.instance().mapLayers().values() if lyr.name().startswith("Think2Map")]
        feature = next(edits.getFeatures())
        assert feature["source"] == "click" and feature["source_layer"] == "Gorinchem basemap"
        assert feature["resolution"] == pytest.approx(session.sheet.request.pixel_size)
        assert any("Found in 'Gorinchem basemap'" in r for r in edits.metadata().rights())
        assert XYZ_SECRET not in json.dumps(session._body(session.prompts)) + str(feature.attributes())
    finally:
        qgis_canvas.unsetMapTool(tool)
        tool.remove()
        session.remove()
    _assert_same_outline_over_a_copy(qgis_canvas, live_backend, export, over_export, qtbot, tmp_path)


def test_a_team_server_searches_a_local_file_and_a_basemap_through_uploads(
    make_dock, team_server, gorinchem, xyz_layer, tile_server, qgis_canvas, qtbot
):
    from think2map.plugin.core.process import BackendManager
    from think2map.plugin.core.settings import Settings

    Settings(backend_mode="remote", remote_url=team_server.url, remote_token=team_server.token).save()
    manager = BackendManager()
    manager.start()
    qtbot.waitUntil(lambda: manager.state == "ready", timeout=30_000)
    dock = make_dock(manager)
    said: list[str] = []
    dock.controller.message.connect(lambda level, text, details: said.append(text))
    # the analyst's own file, which the server cannot read: its area is sent
    file_layer = QgsRasterLayer(str(gorinchem), "Gorinchem file")
    QgsProject.instance().addMapLayer(file_layer)
    assert dock.set_layer(file_layer)
    dock.set_query("the river")
    dock.set_area_mode("layer")
    _run(dock, qtbot)
    record = dock.controller.records[0]
    assert record.job_state == "done" and record.features > 0, (record.message, said)
    assert "Sending the area to the backend, which cannot read it…" in said
    results = QgsProject.instance().mapLayer(record.layer_id)
    assert QgsRectangle(file_layer.extent()).buffered(1).contains(results.extent())  # where the file is
    assert [p for p in team_server.uploads.rglob("*") if p.is_file()] == []  # gone with its job
    # the basemap: its view exported here, then sent
    QgsProject.instance().addMapLayer(xyz_layer)
    qgis_canvas.setDestinationCrs(xyz_layer.crs())
    qgis_canvas.setExtent(QgsRectangle(*_gorinchem_in_3857(gorinchem)))
    dock.set_layer(xyz_layer)
    said.clear()
    _run(dock, qtbot)
    record = dock.controller.records[0]
    assert record.job_state == "done" and record.features > 0, (record.message, said)
    assert any(t.startswith("Fetching ") for t in said)
    assert "Sending the area to the backend, which cannot read it…" in said
    results = QgsProject.instance().mapLayer(record.layer_id)
    assert next(results.getFeatures())["source_layer"] == "Gorinchem basemap"
    assert [p for p in team_server.uploads.rglob("*") if p.is_file()] == []
    assert XYZ_SECRET not in (team_server.uploads.parent.parent / "server.log").read_text()


def test_clicks_through_a_team_server_go_to_an_upload_of_the_view_deleted_when_done(
    team_server, gorinchem, xyz_layer, tile_server, qgis_canvas, qtbot, tmp_path
):
    from think2map.plugin.core.settings import Settings

    from .test_clicks import answered, at, click

    Settings(backend_mode="remote", remote_url=team_server.url, remote_token=team_server.token).save()
    backend = SimpleNamespace(url=team_server.url, token=team_server.token)
    file_layer = QgsRasterLayer(str(gorinchem), "Gorinchem file")
    for layer in (xyz_layer, file_layer):
        QgsProject.instance().addMapLayer(layer)
        qgis_canvas.setDestinationCrs(xyz_layer.crs())
        qgis_canvas.setExtent(QgsRectangle(*_gorinchem_in_3857(gorinchem)))
        session, tool = _click_session(qgis_canvas, backend, layer, ExportCache(tmp_path / layer.name()))
        said: list[str] = []
        session.message.connect(lambda level, text, said=said: said.append(f"{level}: {text}"))
        try:
            click(tool, at(tool, 0.5, 0.5))
            # sent once the view is uploaded (a file's, once the backend has said it cannot read the file)
            qtbot.waitUntil(lambda s=session, t=said: s.preview is not None or "error" in str(t), timeout=TASK_MS)
            assert session.preview is not None and not any(t.startswith("error") for t in said), said
            assert "info: Sending the view to the backend, which cannot read it…" in said
            assert session.sheet.raster.startswith("upload:") and session._body(session.prompts)["raster"] == (
                session.sheet.raster
            )
            kept = [p for p in team_server.uploads.rglob("*.tif")]
            assert len(kept) == 1  # one upload of the view, for every click there
            click(tool, at(tool, 0.52, 0.48))
            answered(qtbot, session, session.requests)
            assert session.last_answer["cached"] is True and list(team_server.uploads.rglob("*.tif")) == kept
        finally:
            qgis_canvas.unsetMapTool(tool)
            tool.remove()
            session.remove()  # the upload is deleted
        qtbot.waitUntil(lambda: list(team_server.uploads.rglob("*.tif")) == [], timeout=10_000)


def test_a_query_and_a_click_over_a_qgis_server_wms(
    make_dock, live_backend, wms_layer, gorinchem, qgis_canvas, qtbot, tmp_path
):
    from .test_clicks import answered, at, click

    QgsProject.instance().addMapLayer(wms_layer)
    dock = make_dock(live_backend)
    dock.set_layer(wms_layer)
    assert dock.area_mode() == "extent" and dock.fetch_label.isVisible()
    dock.set_query("the river")
    qgis_canvas.setDestinationCrs(wms_layer.crs())
    qgis_canvas.setExtent(QgsRasterLayer(str(gorinchem), "file").extent().buffered(-10))
    _run(dock, qtbot)
    record = dock.controller.records[0]
    assert record.job_state == "done" and record.features > 0, record.message
    results = QgsProject.instance().mapLayer(record.layer_id)
    host = wms_layer.source().split("url=")[1].split("/")[2]
    assert all(f["source_layer"] == "Gorinchem WMS" and f["source_host"] == host for f in results.getFeatures())
    (export,) = dock.controller.exports.cache.folder.glob("*.tif")
    # a click there goes to the same export: nothing fetched again
    session, tool = _click_session(qgis_canvas, live_backend, wms_layer, dock.controller.exports.cache)
    try:
        click(tool, at(tool, 0.5, 0.5))
        answered(qtbot, session, 1)
        assert session.preview is not None and session.sheet.exported.path == str(export)
        assert QgsRectangle(*session.sheet.request.extent).contains(session.preview.boundingBox())
        over_export = session.preview.boundingBox()
    finally:
        qgis_canvas.unsetMapTool(tool)
        tool.remove()
        session.remove()
    _assert_same_outline_over_a_copy(qgis_canvas, live_backend, export, over_export, qtbot, tmp_path)
    _assert_same_prompts_as_over_the_file(dock, qtbot, results, export, gorinchem, tmp_path)


def test_a_query_and_a_click_over_a_qgis_server_wcs_at_the_coverages_own_resolution(
    make_dock, live_backend, wcs_layer, gorinchem, qgis_canvas, qtbot, tmp_path
):
    from .test_clicks import answered, at, click

    QgsProject.instance().addMapLayer(wcs_layer)
    qgis_canvas.setDestinationCrs(wcs_layer.crs())
    qgis_canvas.setExtent(QgsRasterLayer(str(gorinchem), "file").extent().buffered(-10))
    dock = make_dock(live_backend)
    dock.set_layer(wcs_layer)
    assert dock.area_mode() == "layer"  # a coverage: its own extent and pixels
    # its own pixels, as QGIS's WCS client reads the coverage (QGIS Server's 1,000 px say 1,001: its grid's upper
    # limit is inclusive)
    size = f"{wcs_layer.width():,} × {wcs_layer.height():,} px"
    assert dock.fetch_label.text() == f"A query fetches {size} (3 MB) first.", dock.fetch_label.text()
    dock.set_query("the river")
    _run(dock, qtbot)
    record = dock.controller.records[0]
    assert record.job_state == "done" and record.features > 0, record.message
    (export,) = dock.controller.exports.cache.folder.glob("*.tif")
    grid = gdal.Open(str(export))
    native = wcs_layer.rasterUnitsPerPixelX()
    assert grid.GetGeoTransform() == pytest.approx((127375.0, native, 0, 428250.0, 0, -native))  # the coverage's
    assert grid.RasterCount == 3 and grid.GetRasterBand(1).DataType == gdal.GDT_Byte  # its bands, not a rendering
    results = QgsProject.instance().mapLayer(record.layer_id)
    session, tool = _click_session(qgis_canvas, live_backend, wcs_layer, ExportCache(tmp_path / "clicks"))
    try:
        click(tool, at(tool, 0.5, 0.5))
        answered(qtbot, session, 1)
        assert session.preview is not None and session.sheet is not None
        over_export, sheet = session.preview.boundingBox(), session.sheet.exported.path
    finally:
        qgis_canvas.unsetMapTool(tool)
        tool.remove()
        session.remove()
    _assert_same_outline_over_a_copy(qgis_canvas, live_backend, Path(sheet), over_export, qtbot, tmp_path)
    _assert_same_prompts_as_over_the_file(dock, qtbot, results, export, gorinchem, tmp_path)


def test_a_cancelled_upload_breaks_off_at_once_and_leaves_nothing_on_either_side(team_server, tmp_path):
    import time

    from think2map.plugin.core.client import BackendClient, BackendError

    big = tmp_path / "big.tif"  # 27 MB of noise: no compression makes it smaller
    ds = gdal.GetDriverByName("GTiff").Create(str(big), 3000, 3000, 3, gdal.GDT_Byte)
    ds.SetGeoTransform((127375.0, 0.25, 0, 428250.0, 0, -0.25))
    for band in range(1, 4):
        ds.GetRasterBand(band).WriteArray(np.random.default_rng(band).integers(0, 255, (3000, 3000), dtype=np.uint8))
    ds = None
    asked = []
    started = time.monotonic()
    with pytest.raises(BackendError) as err:  # cancelled after the first megabytes
        BackendClient(team_server.url, team_server.token).upload(big, is_canceled=lambda: len(asked) > 200 or
                                                                  asked.append(1))  # fmt: skip
    assert err.value.code == "cancelled" and time.monotonic() - started < 2.0
    assert big.exists()  # the user's file is untouched
    deadline = time.monotonic() + 10  # the server hears the connection close, and drops what it received
    while [p for p in team_server.uploads.rglob("*") if p.is_file()] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [p for p in team_server.uploads.rglob("*") if p.is_file()] == []


def test_a_query_over_a_virtual_raster_searches_its_computed_band(
    make_dock, live_backend, gorinchem, qgis_canvas, qtbot, tmp_path
):
    from qgis.core import QgsCoordinateReferenceSystem, QgsRasterDataProvider

    params = QgsRasterDataProvider.VirtualRasterParameters()
    params.crs = QgsCoordinateReferenceSystem("EPSG:28992")
    params.extent, params.width, params.height = QgsRectangle(127375, 428000, 127625, 428250), 1000, 1000
    params.formula = '"ortho@1" * 0.5 + "ortho@2" * 0.5'  # the raster calculator's "on the fly" layer
    source = QgsRasterDataProvider.VirtualRasterInputLayers()
    source.name, source.uri, source.provider = "ortho", str(gorinchem), "gdal"
    params.rInputLayers = [source]
    layer = QgsRasterLayer(QgsRasterDataProvider.encodeVirtualRasterProviderUri(params), "Mean of red and green",
                           "virtualraster")  # fmt: skip
    assert layer.isValid() and layer.providerType() == "virtualraster"
    QgsProject.instance().addMapLayer(layer)
    dock = make_dock(live_backend)
    dock.set_layer(layer)
    assert dock.layer_problem() is None and dock.area_mode() == "layer"
    assert dock.fetch_label.text().startswith("A query fetches 1,000 × 1,000 px"), dock.fetch_label.text()
    dock.set_query("the river")
    _run(dock, qtbot)
    record = dock.controller.records[0]
    assert record.job_state == "done" and record.features > 0, record.message
    (export,) = dock.controller.exports.cache.folder.glob("*.tif")
    grid = gdal.Open(str(export))
    assert grid.RasterCount == 1 and grid.GetGeoTransform() == pytest.approx((127375.0, 0.25, 0, 428250.0, 0, -0.25))
    expected = gdal.Open(str(gorinchem)).ReadAsArray()[:2].astype("float64").mean(axis=0)
    assert np.allclose(grid.ReadAsArray(), expected, atol=0.51)  # the computed band, not a rendering of it
    results = QgsProject.instance().mapLayer(record.layer_id)
    assert layer.extent().buffered(0.5).contains(results.extent())  # where the layer is
    # (the forced answer's prompts over the file are not compared here: the tiny SAM's masks over other pixels
    # merge otherwise across tiles, so the polygons, and the prompts they keep, differ in number)
