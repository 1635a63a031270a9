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
from think2map.plugin.gui.click_session import ClickSession, edits_layer_name
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


def mouse(tool, kind, pos: QPoint, button=Qt.MouseButton.LeftButton, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    types = {
        "press": QEvent.Type.MouseButtonPress,
        "move": QEvent.Type.MouseMove,
        "release": QEvent.Type.MouseButtonRelease,
    }
    buttons = Qt.MouseButton.NoButton if kind == "release" else button
    event = QgsMapMouseEvent(tool.canvas(), types[kind], pos, button, buttons, modifiers)
    {"press": tool.canvasPressEvent, "move": tool.canvasMoveEvent, "release": tool.canvasReleaseEvent}[kind](event)


def click(tool, pos: QPoint, button=Qt.MouseButton.LeftButton, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    mouse(tool, "press", pos, button, modifiers)
    mouse(tool, "release", pos, button, modifiers)


def key(tool, code, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    tool.keyPressEvent(QKeyEvent(QEvent.Type.KeyPress, code, modifiers))


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

    click(tool, at(tool, 0.45, 0.45), modifiers=Qt.KeyboardModifier.ShiftModifier)  # outside the object
    mouse(tool, "press", at(tool, 0.3, 0.3))
    mouse(tool, "move", at(tool, 0.5, 0.5))
    mouse(tool, "release", at(tool, 0.5, 0.5))  # a dragged box
    assert [p.positive for p in session.prompts if p.point] == [True, False] and session.prompts[-1].box is not None
    answered(qtbot, session, 3)
    key(tool, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # Ctrl+Z takes back the box
    assert len(session.prompts) == 2 and all(p.box is None for p in session.prompts)
    answered(qtbot, session, 4)
    key(tool, Qt.Key.Key_Escape)
    assert session.prompts == [] and session.preview is None and session.band.asGeometry().isEmpty()

    click(tool, at(tool, 0.6, 0.6))
    answered(qtbot, session, 5)
    key(tool, Qt.Key.Key_Return)
    (layer,) = [lyr for lyr in QgsProject.instance().mapLayers().values() if lyr.name() == edits_layer_name()]
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
    key(tool, Qt.Key.Key_Return)
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


# --- the click tool as an analyst meets it: the dock's box around the tool ----------------------------------
@pytest.fixture
def click_box(qgis_iface, qgis_canvas, qgis_new_project, live_backend, utm_raster, qtbot):
    """The dock's "Click to segment" box on the UTM raster, the canvas in EPSG:3857, the tool switched on."""
    from think2map.plugin.gui.click_box import ClickBox

    canvas = qgis_canvas
    canvas.setDestinationCrs(WEB)
    to_web = QgsCoordinateTransform(utm_raster.crs(), WEB, QgsProject.instance())
    canvas.setExtent(to_web.transformBoundingBox(utm_raster.extent()))
    canvas.refresh()
    box = ClickBox(qgis_iface, live_backend, lambda: utm_raster)
    box.session.hover_enabled = False
    messages: list[tuple[str, str]] = []
    box.message.connect(lambda level, text: messages.append((level, text)))
    box.messages = messages
    qtbot.addWidget(box)
    box.tool_button.setChecked(True)
    assert canvas.mapTool() is box.tool
    yield box
    box.cleanup()


def test_a_pan_after_the_view_was_encoded_warms_the_new_view_without_an_error(click_box, qgis_canvas, qtbot):
    # pytest-qt fails this test on any exception raised in a Qt slot: the Python error bar a user would see.
    qtbot.waitUntil(lambda: click_box._warm_call is not None, timeout=5000)
    first = click_box._warm_call
    qtbot.waitUntil(lambda: first.reply is None, timeout=ANSWER_MS)  # answered: the view is encoded
    extent = qgis_canvas.extent()
    extent.scale(0.5)  # a zoom, then a pan
    qgis_canvas.setExtent(extent)
    qgis_canvas.setCenter(QgsPointXY(extent.center().x() + extent.width() / 4, extent.center().y()))
    qtbot.waitUntil(lambda: click_box._warm_call is not first, timeout=5000)  # the new view is asked for
    second = click_box._warm_call
    qtbot.waitUntil(lambda: second.reply is None, timeout=ANSWER_MS)
    click_box.tool_button.setChecked(False)
    click_box.tool_button.setChecked(True)  # switched on again: warms once more, again without an error
    qtbot.waitUntil(lambda: click_box._warm_call is not second, timeout=5000)


def test_ctrl_z_takes_back_the_last_click_not_the_active_layers_last_edit(click_box, qgis_iface, qtbot, utm_raster):
    from qgis.PyQt.QtGui import QKeySequence
    from qgis.PyQt.QtTest import QTest
    from qgis.PyQt.QtWidgets import QAction, QApplication

    canvas = click_box.tool.canvas()
    edits = layers.create_result_layer("parcels", utm_raster.crs(), "memory")
    QgsProject.instance().addMapLayer(edits)
    edits.startEditing()
    feature = QgsFeature(edits.fields())
    feature.setGeometry(QgsGeometry.fromRect(utm_raster.extent()))
    edits.addFeature(feature)  # the active layer has undo history
    qgis_iface.setActiveLayer(edits)
    undo = QAction("Undo", canvas.window())  # QGIS's Edit ▸ Undo, on the main window
    undo.setShortcut(QKeySequence(QKeySequence.StandardKey.Undo))
    undo.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
    undo.triggered.connect(edits.undoStack().undo)
    canvas.window().addAction(undo)
    canvas.window().show()  # QGIS's main window: a hidden window's shortcuts never fire
    QApplication.setActiveWindow(canvas.window())  # offscreen, nothing else makes a window active
    canvas.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() in (canvas, canvas.viewport()), timeout=5000)

    session = click_box.session
    click(click_box.tool, at(click_box.tool, 0.4, 0.4))
    click(click_box.tool, at(click_box.tool, 0.45, 0.45))
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(session.prompts) == 1  # the last click was taken back...
    assert edits.featureCount() == 1  # ... and the layer's edit stays
    session.clear()
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert edits.featureCount() == 0  # with nothing in hand, Ctrl+Z is QGIS's Undo again


def test_enter_makes_the_edited_layer_active_and_says_added_or_replaced(click_box, qgis_iface, qtbot, utm_raster):
    session, tool = click_box.session, click_box.tool
    click(tool, at(tool, 0.5, 0.5))
    answered(qtbot, session, 1)
    key(tool, Qt.Key.Key_Return)
    layer = qgis_iface.activeLayer()
    assert layer is not None and layer.name() == edits_layer_name() and layer.featureCount() == 1
    assert layer.undoStack().canUndo()  # Edit ▸ Undo is there, as the message says
    level, text = click_box.messages[-1]
    assert text.startswith(f"Added to {layer.name()};") and "Undo" in text

    (stored,) = list(layer.getFeatures())
    assert session.refine(layer, stored)
    click(tool, at(tool, 0.52, 0.52))
    answered(qtbot, session, 2)
    key(tool, Qt.Key.Key_Return)
    assert click_box.messages[-1][1].startswith(f"Replaced the polygon in {layer.name()};")
    assert layer.featureCount() == 1


def test_a_dragged_box_stays_drawn_after_the_mouse_is_released(click_box):
    tool = click_box.tool
    mouse(tool, "press", at(tool, 0.3, 0.3))
    mouse(tool, "move", at(tool, 0.5, 0.5))
    mouse(tool, "release", at(tool, 0.5, 0.5))
    assert not click_box.session.box_band.asGeometry().isEmpty()
    key(tool, Qt.Key.Key_Escape)
    assert click_box.session.box_band.asGeometry().isEmpty()


def test_after_a_restart_the_old_error_and_the_unanswered_click_are_gone(click_box, live_backend, qtbot):
    session, tool = click_box.session, click_box.tool
    click(tool, at(tool, 0.4, 0.4))
    answered(qtbot, session, 1)
    assert session.preview is not None
    live_backend.stop(wait_ms=10_000)
    click(tool, at(tool, 0.45, 0.45))  # never answered: the backend is down
    assert len(session.prompts) == 2 and click_box.messages[-1][0] in ("warning", "error")
    with qtbot.waitSignal(live_backend.ready, timeout=180_000):
        live_backend.start()
    assert len(session.prompts) == 1 and session.preview is not None  # what was answered stays
    level, text = click_box.messages[-1]
    assert level == "info" and "click again" in text
