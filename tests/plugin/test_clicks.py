"""The "Click to segment" map tool on Debian's QGIS (pytest-qgis), driven by synthetic mouse and key events,
against the REAL backend with the tiny models: a canvas in EPSG:3857 over a UTM raster."""

from __future__ import annotations

import json

import pytest
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeature,
    QgsGeometry,
    QgsPointXY,
    QgsProject,
    QgsRasterLayer,
    QgsRectangle,
)
from qgis.gui import QgsMapMouseEvent
from qgis.PyQt.QtCore import QEvent, QPoint, Qt
from qgis.PyQt.QtGui import QKeyEvent
from think2map.plugin.core import layers
from think2map.plugin.gui.click_session import EDITS_LAYER, ClickSession
from think2map.plugin.gui.click_tool import ClickMapTool

pytestmark = pytest.mark.live  # a real or FAKE backend process, or a server on loopback

WEB = QgsCoordinateReferenceSystem("EPSG:3857")
ANSWER_MS = 60_000


@pytest.fixture
def utm_raster(shared_data):
    layer = QgsRasterLayer(str(shared_data / "atlanta_pan_uint16_0p5m_epsg32616.tif"), "atlanta")
    assert layer.isValid() and layer.crs().authid() == "EPSG:32616"
    QgsProject.instance().addMapLayer(layer)
    return layer


@pytest.fixture
def tool(qgis_canvas, qgis_new_project, live_backend, utm_raster):
    canvas = qgis_canvas
    canvas.setDestinationCrs(WEB)
    to_web = QgsCoordinateTransform(utm_raster.crs(), WEB, QgsProject.instance())
    canvas.setExtent(to_web.transformBoundingBox(utm_raster.extent()))
    canvas.refresh()
    session = ClickSession(
        canvas, lambda: (live_backend.url, live_backend.token) if live_backend.state == "ready" else None
    )
    session.raster = utm_raster
    session.hover_enabled = False
    map_tool = ClickMapTool(canvas, session)
    canvas.setMapTool(map_tool)
    yield map_tool
    canvas.unsetMapTool(map_tool)
    map_tool.remove()
    session.remove()


def at(tool, fx: float, fy: float) -> QPoint:
    """A canvas pixel at a fraction of the map's width and height (headless, the map keeps its own size)."""
    size = tool.canvas().mapSettings().outputSize()
    return QPoint(int(size.width() * fx), int(size.height() * fy))


def mouse(tool, kind, pos: QPoint, button=Qt.LeftButton, modifiers=Qt.NoModifier) -> None:
    types = {"press": QEvent.MouseButtonPress, "move": QEvent.MouseMove, "release": QEvent.MouseButtonRelease}
    buttons = Qt.NoButton if kind == "release" else button
    event = QgsMapMouseEvent(tool.canvas(), types[kind], pos, button, buttons, modifiers)
    {"press": tool.canvasPressEvent, "move": tool.canvasMoveEvent, "release": tool.canvasReleaseEvent}[kind](event)


def click(tool, pos: QPoint, button=Qt.LeftButton, modifiers=Qt.NoModifier) -> None:
    mouse(tool, "press", pos, button, modifiers)
    mouse(tool, "release", pos, button, modifiers)


def key(tool, code, modifiers=Qt.NoModifier) -> None:
    tool.keyPressEvent(QKeyEvent(QEvent.KeyPress, code, modifiers))


def answered(qtbot, session, requests: int) -> None:
    qtbot.waitUntil(lambda: session.requests >= requests and session._call is None, timeout=ANSWER_MS)


def test_clicks_preview_undo_clear_and_accept(qtbot, tool, utm_raster):
    session = tool.session
    click(tool, at(tool, 0.4, 0.4))
    answered(qtbot, session, 1)
    assert session.preview is not None and not session.preview.isEmpty()
    raster_extent = QgsGeometry.fromRect(utm_raster.extent()).buffer(1, 1)
    assert raster_extent.contains(session.preview)  # the answer is in the raster's CRS
    assert not session.band.asGeometry().isEmpty()  # ... and drawn on the canvas, in its own
    # The request's point is the click, in the raster's CRS (the canvas is in EPSG:3857).
    body = session._body(session.prompts)
    clicked = tool.toMapCoordinates(at(tool, 0.4, 0.4))
    expected = QgsCoordinateTransform(WEB, utm_raster.crs(), QgsProject.instance()).transform(clicked)
    assert body["points"][0][:2] == pytest.approx([expected.x(), expected.y()], abs=0.01)
    assert body["points"][0][2] == 1

    click(tool, at(tool, 0.45, 0.45), modifiers=Qt.ShiftModifier)  # outside the object
    mouse(tool, "press", at(tool, 0.3, 0.3))
    mouse(tool, "move", at(tool, 0.5, 0.5))
    mouse(tool, "release", at(tool, 0.5, 0.5))  # a dragged box
    assert [p.positive for p in session.prompts if p.point] == [True, False] and session.prompts[-1].box is not None
    answered(qtbot, session, 3)
    key(tool, Qt.Key_Z, Qt.ControlModifier)  # Ctrl+Z takes back the box
    assert len(session.prompts) == 2 and all(p.box is None for p in session.prompts)
    answered(qtbot, session, 4)
    key(tool, Qt.Key_Escape)
    assert session.prompts == [] and session.preview is None and session.band.asGeometry().isEmpty()

    click(tool, at(tool, 0.6, 0.6))
    answered(qtbot, session, 5)
    key(tool, Qt.Key_Return)
    (layer,) = [lyr for lyr in QgsProject.instance().mapLayers().values() if lyr.name() == EDITS_LAYER]
    assert layer.crs() == utm_raster.crs() and layer.isEditable() and layer.featureCount() == 1
    feature = next(layer.getFeatures())
    assert feature["source"] == "click" and json.loads(feature["prompt_points"])[0][2] == 1
    assert raster_extent.contains(feature.geometry())
    assert session.prompts == [] and session.preview is None  # ready for the next object
    layer.undoStack().undo()  # QGIS's own undo takes the feature back
    assert layer.featureCount() == 0


def test_refining_a_query_result_replaces_its_geometry(qtbot, tool, utm_raster):
    session = tool.session
    extent = utm_raster.extent()
    cx, cy = extent.center().x(), extent.center().y()
    layer = layers.create_result_layer("roofs", utm_raster.crs(), "memory")
    QgsProject.instance().addMapLayer(layer)
    feature = QgsFeature(layer.fields())
    original = QgsGeometry.fromRect(QgsRectangle(cx - 5, cy - 5, cx + 5, cy + 5))
    feature.setGeometry(original)
    feature["query"] = "roofs"
    feature["source"] = "query"
    feature["prompt_box"] = json.dumps([cx - 6, cy - 6, cx + 6, cy + 6])
    feature["prompt_points"] = json.dumps([[cx, cy, 1], [cx + 1, cy + 1, 1]])
    layer.dataProvider().addFeatures([feature])
    (stored,) = list(layer.getFeatures())
    assert session.refine(layer, stored)
    assert len(session.base) == 3 and session.prompts == []  # the box and both points, in the canvas's CRS
    to_web = QgsCoordinateTransform(utm_raster.crs(), WEB, QgsProject.instance())
    click(tool, QPoint(*_pixel(tool, to_web.transform(QgsPointXY(cx + 2, cy - 2)))))
    answered(qtbot, session, 1)
    key(tool, Qt.Key_Return)
    (refined,) = list(layer.getFeatures())
    assert refined.id() == stored.id() and refined["query"] == "roofs"  # the same feature, its reasoning kept
    assert not refined.geometry().equals(original)
    layer.undoStack().undo()
    assert next(layer.getFeatures()).geometry().equals(original)


def _pixel(tool, point: QgsPointXY) -> tuple[int, int]:
    p = tool.canvas().getCoordinateTransform().transform(point)
    return int(p.x()), int(p.y())


def test_a_click_while_the_backend_restarts_gets_a_message(qtbot, tool, live_backend):
    session = tool.session
    messages = []
    session.message.connect(lambda level, text: messages.append((level, text)))
    live_backend.stop(wait_ms=10_000)
    click(tool, at(tool, 0.5, 0.5))
    assert messages and "not ready" in messages[-1][1] and session.preview is None
