"""A map tool that draws a rectangle with a rubber band and reports it in the canvas's CRS."""

from __future__ import annotations

from qgis.core import QgsGeometry, QgsPointXY, QgsRectangle
from qgis.gui import QgsMapCanvas, QgsMapMouseEvent, QgsMapTool, QgsRubberBand
from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtGui import QColor

from ..core import compat


class RectangleMapTool(QgsMapTool):
    """Press, drag and release to draw a rectangle; Esc cancels. The band stays shown until :meth:`clear`."""

    rectangleDrawn = pyqtSignal(QgsRectangle)
    cancelled = pyqtSignal()

    def __init__(self, canvas: QgsMapCanvas):
        super().__init__(canvas)
        self._start: QgsPointXY | None = None
        self.band = QgsRubberBand(canvas, compat.POLYGON_GEOMETRY)
        self.band.setColor(QColor(255, 140, 0, 200))
        self.band.setFillColor(QColor(255, 140, 0, 40))
        self.band.setWidth(2)
        self.setCursor(Qt.CursorShape.CrossCursor)

    def canvasPressEvent(self, event: QgsMapMouseEvent) -> None:
        self._start = self.toMapCoordinates(event.pos())
        self.show_rectangle(QgsRectangle(self._start, self._start))

    def canvasMoveEvent(self, event: QgsMapMouseEvent) -> None:
        if self._start is not None:
            self.show_rectangle(QgsRectangle(self._start, self.toMapCoordinates(event.pos())))

    def canvasReleaseEvent(self, event: QgsMapMouseEvent) -> None:
        if self._start is None:
            return
        rect = QgsRectangle(self._start, self.toMapCoordinates(event.pos()))
        self._start = None
        if rect.isEmpty():
            self.clear()
            self.cancelled.emit()
            return
        self.show_rectangle(rect)
        self.rectangleDrawn.emit(rect)

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self._start = None
            self.clear()
            self.cancelled.emit()

    def show_rectangle(self, rect: QgsRectangle) -> None:
        """Show ``rect`` (canvas CRS) as the band."""
        self.band.setToGeometry(QgsGeometry.fromRect(rect), None)

    def clear(self) -> None:
        """Hide the band."""
        self.band.reset(compat.POLYGON_GEOMETRY)

    def remove(self) -> None:
        """Take the band off the canvas for good (plugin unload)."""
        self.clear()
        scene = self.band.scene()
        if scene is not None:
            scene.removeItem(self.band)
