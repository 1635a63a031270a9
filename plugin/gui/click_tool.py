"""The "Click to segment" map tool: clicks and drags on the canvas become prompts of a :class:`ClickSession`.

Left click: a point inside the object. Shift+click or right click: a point outside it. Drag: a box. Moving
the mouse without a button shows what a click there would give (when the hover preview is on and the tile is
already encoded). Enter accepts, Esc clears, Ctrl+Z takes back the last prompt.
"""

from __future__ import annotations

from qgis.core import QgsGeometry, QgsPointXY, QgsRectangle
from qgis.gui import QgsMapCanvas, QgsMapMouseEvent, QgsMapTool, QgsRubberBand
from qgis.PyQt.QtCore import QEvent, QObject, QPoint, Qt
from qgis.PyQt.QtGui import QColor, QKeyEvent, QKeySequence

from ..core import compat
from .click_session import ClickSession

DRAG_PX = 5  # a press and release further apart than this is a box, not a click


def is_tool_key(event: QKeyEvent) -> bool:
    """Enter, Esc and Undo (Ctrl+Z): the keys the tool answers while an object is being digitised."""
    return event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape) or event.matches(
        QKeySequence.StandardKey.Undo
    )


class ToolKeys(QObject):
    """Claims the tool's keys from QGIS's shortcuts while the session has an object in hand.

    Qt first offers a key to the focused widget as a ShortcutOverride; accepting it there sends the key to the
    canvas (and so to the tool) instead of firing QGIS's Undo action, which would take back an edit of the active
    layer rather than the last click.
    """

    def __init__(self, session: ClickSession, parent: QObject | None = None):
        super().__init__(parent)
        self.session = session

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and self.session.active and is_tool_key(event):
            event.accept()
            return True
        return False


class ClickMapTool(QgsMapTool):
    """Turns mouse and keys on the canvas into the session's prompts."""

    def __init__(self, canvas: QgsMapCanvas, session: ClickSession):
        super().__init__(canvas)
        self.session = session
        self._pressed: QPoint | None = None
        self._pressed_map: QgsPointXY | None = None
        self._button = Qt.MouseButton.NoButton
        self.box_band = QgsRubberBand(canvas, compat.POLYGON_GEOMETRY)
        self.box_band.setColor(QColor(255, 200, 0, 220))
        self.box_band.setFillColor(QColor(255, 200, 0, 30))
        self.box_band.setWidth(1)
        self.keys = ToolKeys(session, self)
        self.setCursor(Qt.CursorShape.CrossCursor)

    def activate(self) -> None:
        super().activate()
        for widget in (self.canvas(), self.canvas().viewport()):
            widget.installEventFilter(self.keys)

    def canvasPressEvent(self, event: QgsMapMouseEvent) -> None:
        self._pressed, self._button = event.pos(), event.button()
        self._pressed_map = self.toMapCoordinates(event.pos())

    def canvasMoveEvent(self, event: QgsMapMouseEvent) -> None:
        if self._pressed is None:
            self.session.hover(self.toMapCoordinates(event.pos()))
            return
        if self._button == Qt.MouseButton.LeftButton and self._dragged(event.pos()):
            rect = QgsRectangle(self._pressed_map, self.toMapCoordinates(event.pos()))
            self.box_band.setToGeometry(QgsGeometry.fromRect(rect), None)

    def canvasReleaseEvent(self, event: QgsMapMouseEvent) -> None:
        if self._pressed is None:
            return
        start, button = self._pressed_map, self._button
        dragged = self._dragged(event.pos())
        self._pressed = self._pressed_map = None
        self.box_band.reset(compat.POLYGON_GEOMETRY)
        end = self.toMapCoordinates(event.pos())
        if dragged and button == Qt.MouseButton.LeftButton:
            self.session.set_box(QgsRectangle(start, end))
            return
        negative = button == Qt.MouseButton.RightButton or bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        self.session.add_point(end, positive=not negative)

    def keyPressEvent(self, event) -> None:
        if not is_tool_key(event):
            event.ignore()
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.session.accept()
        elif event.key() == Qt.Key.Key_Escape:
            self.session.clear()
        else:
            self.session.undo()
        event.accept()

    def deactivate(self) -> None:
        for widget in (self.canvas(), self.canvas().viewport()):
            widget.removeEventFilter(self.keys)
        self.box_band.reset(compat.POLYGON_GEOMETRY)
        self.session.hover_band.reset(compat.POLYGON_GEOMETRY)
        super().deactivate()

    def _dragged(self, pos: QPoint) -> bool:
        return (pos - self._pressed).manhattanLength() > DRAG_PX

    def remove(self) -> None:
        self.box_band.reset()
        if self.box_band.scene() is not None:
            self.box_band.scene().removeItem(self.box_band)
