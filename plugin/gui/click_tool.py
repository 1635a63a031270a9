"""The "Click to segment" map tool: clicks and drags on the canvas become prompts of a :class:`ClickSession`.

Left click: a point inside the object. Shift+click or right click: a point outside it. Drag: a box. Moving
the mouse without a button shows what a click there would give (when the hover preview is on and the tile is
already encoded). Enter accepts, Esc clears, Ctrl+Z takes back the last prompt.
"""

from __future__ import annotations

from qgis.core import QgsGeometry, QgsPointXY, QgsRectangle, QgsWkbTypes
from qgis.gui import QgsMapCanvas, QgsMapMouseEvent, QgsMapTool, QgsRubberBand
from qgis.PyQt.QtCore import QPoint, Qt
from qgis.PyQt.QtGui import QColor, QKeySequence

from .click_session import ClickSession

DRAG_PX = 5  # a press and release further apart than this is a box, not a click


class ClickMapTool(QgsMapTool):
    """Turns mouse and keys on the canvas into the session's prompts."""

    def __init__(self, canvas: QgsMapCanvas, session: ClickSession):
        super().__init__(canvas)
        self.session = session
        self._pressed: QPoint | None = None
        self._pressed_map: QgsPointXY | None = None
        self._button = Qt.NoButton
        self.box_band = QgsRubberBand(canvas, QgsWkbTypes.PolygonGeometry)
        self.box_band.setColor(QColor(255, 200, 0, 220))
        self.box_band.setFillColor(QColor(255, 200, 0, 30))
        self.box_band.setWidth(1)
        self.setCursor(Qt.CrossCursor)

    def canvasPressEvent(self, event: QgsMapMouseEvent) -> None:
        self._pressed, self._button = event.pos(), event.button()
        self._pressed_map = self.toMapCoordinates(event.pos())

    def canvasMoveEvent(self, event: QgsMapMouseEvent) -> None:
        if self._pressed is None:
            self.session.hover(self.toMapCoordinates(event.pos()))
            return
        if self._button == Qt.LeftButton and self._dragged(event.pos()):
            rect = QgsRectangle(self._pressed_map, self.toMapCoordinates(event.pos()))
            self.box_band.setToGeometry(QgsGeometry.fromRect(rect), None)

    def canvasReleaseEvent(self, event: QgsMapMouseEvent) -> None:
        if self._pressed is None:
            return
        start, button = self._pressed_map, self._button
        dragged = self._dragged(event.pos())
        self._pressed = self._pressed_map = None
        self.box_band.reset(QgsWkbTypes.PolygonGeometry)
        end = self.toMapCoordinates(event.pos())
        if dragged and button == Qt.LeftButton:
            self.session.set_box(QgsRectangle(start, end))
            return
        negative = button == Qt.RightButton or bool(event.modifiers() & Qt.ShiftModifier)
        self.session.add_point(end, positive=not negative)

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key_Return, Qt.Key_Enter):
            self.session.accept()
        elif event.key() == Qt.Key_Escape:
            self.session.clear()
        elif event.matches(QKeySequence.Undo):
            self.session.undo()
        else:
            event.ignore()
            return
        event.accept()

    def deactivate(self) -> None:
        self.box_band.reset(QgsWkbTypes.PolygonGeometry)
        self.session.hover_band.reset(QgsWkbTypes.PolygonGeometry)
        super().deactivate()

    def _dragged(self, pos: QPoint) -> bool:
        return (pos - self._pressed).manhattanLength() > DRAG_PX

    def remove(self) -> None:
        self.box_band.reset()
        if self.box_band.scene() is not None:
            self.box_band.scene().removeItem(self.box_band)
