"""Query and digitize: the prompts of one object being clicked, its live preview, and putting it in a layer.

Points and boxes are kept in the canvas's CRS and sent to the backend (``POST /prompt``) in the raster's; the
answer comes back in the raster's CRS and is drawn on the canvas. Each new prompt aborts the request still
waiting, so previews never queue. Enter puts the preview into the target layer as one undoable edit (or, when
refining a query's polygon, replaces its geometry); Esc clears; Ctrl+Z takes back the last prompt.

Over a web or virtual layer, the backend clicks an export of the map view (:mod:`..core.export`): the first click
outside the last export fetches the view (and the prompts around it) and sends the prompts once it is written. A
remote backend is sent that export (and, for a file it cannot read, an export of the file's view).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from qgis.core import (
    QgsApplication,
    QgsCoordinateTransform,
    QgsFeature,
    QgsGeometry,
    QgsPointXY,
    QgsProject,
    QgsRasterLayer,
    QgsRectangle,
    QgsVectorLayer,
)
from qgis.gui import QgsMapCanvas, QgsRubberBand
from qgis.PyQt.QtCore import QObject, QTimer, pyqtSignal
from qgis.PyQt.QtGui import QColor

from ..core import compat
from ..core import layers as core_layers
from ..core.async_call import AsyncCall
from ..core.client import BackendClient, error_from_answer
from ..core.export import PROVENANCE_FIELDS, ExportCache, ExportRequest, export_request, needs_export
from ..core.extent import view_pixel_size
from ..core.geojson import geometry_from_geojson
from ..core.requests import RunOptions
from ..core.settings import Settings
from ..core.tasks import UploadTask
from .export_step import Exported, ExportStep
from .i18n import tr

HOVER_DELAY_MS = 150


def edits_layer_name() -> str:
    """The name of the layer accepted outlines go to when no other is chosen (in the user's language)."""
    return tr("Think2Map edits")


@dataclass
class Prompt:
    """One click (a point, ``positive`` or not) or one dragged box, in the canvas's CRS."""

    point: QgsPointXY | None = None
    positive: bool = True
    box: QgsRectangle | None = None


@dataclass(frozen=True)
class Sheet:
    """The export of a web layer's view that clicks are sent to, and its extent (the layer's CRS); ``raster`` is
    how requests name it: the file, or its upload to a remote backend (``upload:<id>``)."""

    request: ExportRequest
    exported: Exported
    raster: str

    def covers(self, rect: QgsRectangle) -> bool:
        minx, miny, maxx, maxy = self.request.extent
        return QgsRectangle(minx, miny, maxx, maxy).contains(rect)


class ClickSession(QObject):
    """The object being digitised on ``raster``: its prompts, the preview, and where it goes on Enter."""

    previewChanged = pyqtSignal()  # noqa: N815
    message = pyqtSignal(str, str)  # level, text
    accepted = pyqtSignal(str, int, bool)  # layer id, feature id, whether an existing geometry was replaced

    def __init__(
        self,
        canvas: QgsMapCanvas,
        connection,
        project: QgsProject | None = None,
        parent=None,
        exports: ExportCache | None = None,
    ):
        super().__init__(parent)
        self.canvas = canvas
        self.connection = connection  # () -> (url, token) of a ready backend, or None
        self.project = project or QgsProject.instance()
        self.raster: QgsRasterLayer | None = None
        self.target: QgsVectorLayer | None = None  # None: a "Think2Map edits" layer, made when first needed
        # How the raster is read: the dock's bands, tile grid, coordinates and segmenter, as its queries read it,
        # so that a click reuses the embeddings a query left.
        self.options = RunOptions()
        self.hover_enabled = True
        self.prompts: list[Prompt] = []
        self.answered = 0  # how many of the prompts the preview answers (the rest wait for the backend)
        self.base: list[Prompt] = []  # a refined feature's own prompts, under the user's
        self.refining: tuple[str, int] | None = None  # (layer id, feature id)
        self.preview: QgsGeometry | None = None  # in the raster's CRS
        self.preview_properties: dict = {}
        self.session = uuid.uuid4().hex
        self.requests = 0
        self.last_answer: dict = {}  # the last preview's answer, without its features: cached, seconds, window
        self.exports = ExportStep(self, exports)  # a web layer's view, exported when first clicked
        self.exports.message.connect(lambda text: self.message.emit("info", text))
        self.sheet: Sheet | None = None  # the export clicks over a web layer go to
        self._upload: UploadTask | None = None  # the sheet being sent to a remote backend
        self._unreadable = False  # a remote backend cannot read the raster's file: its view is sent instead
        self._call: AsyncCall | None = None
        self._hover_call: AsyncCall | None = None
        self._hover_at: QgsPointXY | None = None
        self._hover_timer = QTimer(self)
        self._hover_timer.setSingleShot(True)
        self._hover_timer.timeout.connect(self._send_hover)
        self.band = _band(canvas, QColor(0, 200, 255, 230), QColor(0, 200, 255, 60), 2)
        self.hover_band = _band(canvas, QColor(0, 200, 255, 150), QColor(0, 200, 255, 25), 1)
        self.points_band = QgsRubberBand(canvas, compat.POINT_GEOMETRY)
        self.points_band.setColor(QColor(40, 220, 40))
        self.points_band.setIconSize(10)
        self.negatives_band = QgsRubberBand(canvas, compat.POINT_GEOMETRY)
        self.negatives_band.setColor(QColor(230, 40, 40))
        self.negatives_band.setIconSize(10)
        self.box_band = _band(canvas, QColor(255, 200, 0, 220), QColor(255, 200, 0, 0), 1)

    @property
    def active(self) -> bool:
        """Whether an object is being digitised: prompts, a preview or a refined feature (keys belong to it)."""
        return bool(self.prompts or self.base or self.preview is not None)

    # ----- prompts ---------------------------------------------------------------------------------------------
    def add_point(self, point: QgsPointXY, positive: bool = True) -> None:
        self.prompts.append(Prompt(point=QgsPointXY(point), positive=positive))
        self._changed()

    def set_box(self, rect: QgsRectangle) -> None:
        """A dragged box (canvas CRS); it replaces an earlier one."""
        answered = [p for p in self.prompts[: self.answered] if p.box is None]
        waiting = [p for p in self.prompts[self.answered :] if p.box is None]
        self.prompts, self.answered = answered + waiting + [Prompt(box=QgsRectangle(rect))], len(answered)
        self._changed()

    def undo(self) -> bool:
        """Take back the last prompt; False when there is none."""
        if not self.prompts:
            return False
        self.prompts.pop()
        self.answered = min(self.answered, len(self.prompts))
        self._changed()
        return True

    def clear(self) -> None:
        """Forget the prompts and the preview (Esc)."""
        self.prompts, self.base, self.refining, self.answered = [], [], None, 0
        self._abort()
        self._set_preview(None, {})
        self._draw_prompts()

    def refine(self, layer: QgsVectorLayer, feature: QgsFeature) -> bool:
        """Start from a query result: its stored box and points seed the prompts; Enter replaces its geometry."""
        names = layer.fields().names()
        if "prompt_points" not in names:
            self.message.emit("warning", tr("This layer has no Think2Map prompts to refine."))
            return False
        to_canvas = QgsCoordinateTransform(layer.crs(), self.canvas.mapSettings().destinationCrs(), self.project)
        base = []
        try:
            box = json.loads(feature["prompt_box"] or "null") if "prompt_box" in names else None
            points = json.loads(feature["prompt_points"] or "[]")
        except (TypeError, ValueError):
            box, points = None, []
        if box:
            base.append(Prompt(box=to_canvas.transformBoundingBox(QgsRectangle(*box))))
        for x, y, label in points:
            base.append(Prompt(point=to_canvas.transform(QgsPointXY(x, y)), positive=bool(label)))
        self.prompts, self.base, self.refining, self.answered = [], base, (layer.id(), feature.id()), 0
        self._draw_prompts()
        return True

    def backend_restarted(self) -> bool:
        """The backend came back: drop what it never answered (the request, the prompts after the preview's).

        True when prompts were dropped."""
        self._abort()
        dropped = len(self.prompts) > self.answered
        self.prompts = self.prompts[: self.answered]
        if not (self.prompts or self.base):
            self._set_preview(None, {})
        self._draw_prompts()
        return dropped

    # ----- the preview ------------------------------------------------------------------------------------------
    def hover(self, point: QgsPointXY) -> None:
        """The cursor rests at ``point``: show what a click there would give, if its embedding is ready."""
        if not self.hover_enabled or self.raster is None:
            return
        self._hover_at = QgsPointXY(point)
        self._hover_timer.start(HOVER_DELAY_MS)

    def _changed(self) -> None:
        self._draw_prompts()
        self.hover_band.reset(compat.POLYGON_GEOMETRY)
        if not (self.prompts or self.base):
            self._abort()
            self._set_preview(None, {})
            return
        self._send()

    def _in_raster_crs(self, prompts: list[Prompt]) -> tuple[list[list[float]], list[float] | None]:
        """The prompts' points (``[x, y, label]``) and box in the raster's CRS."""
        to_raster = QgsCoordinateTransform(self.canvas.mapSettings().destinationCrs(), self.raster.crs(), self.project)
        points, box = [], None
        for p in prompts:
            if p.box is not None:
                r = to_raster.transformBoundingBox(p.box)
                box = [r.xMinimum(), r.yMinimum(), r.xMaximum(), r.yMaximum()]
            elif p.point is not None:
                q = to_raster.transform(p.point)
                points.append([q.x(), q.y(), 1 if p.positive else 0])
        return points, box

    def _body(self, prompts: list[Prompt], only_cached: bool = False) -> dict | None:
        if self.raster is None:
            self.message.emit("error", tr("Choose the raster to digitise on first."))
            return None
        points, box = self._in_raster_crs(prompts)
        exported = self.sheet.raster if self.sheet is not None and self.via_sheet() else None
        return self.options.prompt_spec(self.raster, points, box, self.session, only_cached, exported).to_json()

    def via_sheet(self) -> bool:
        """Whether clicks go to an export of the view: over a web layer, or a file a remote backend cannot read."""
        return self.raster is not None and (needs_export(self.raster) or self._unreadable)

    def _sheet_covers(self, prompts: list[Prompt]) -> bool:
        """Whether the current export holds every prompt (always, for a layer the backend reads itself)."""
        if not self.via_sheet():
            return True
        if self.sheet is None or self.sheet.request.layer_id != self.raster.id():
            return False
        return self.sheet.covers(_extent_of(*self._in_raster_crs(prompts)))

    def _export_view(self, prompts: list[Prompt]) -> None:
        """Export the map view (grown to hold every prompt) of the web layer; the prompts are sent once it is."""
        raster = self.raster
        if raster is None or self.exports.running or self._upload is not None:
            return  # the export (or upload) in hand sends the newest prompts when it ends
        to_raster = QgsCoordinateTransform(self.canvas.mapSettings().destinationCrs(), raster.crs(), self.project)
        try:
            area = to_raster.transformBoundingBox(self.canvas.extent())
        except Exception:  # noqa: BLE001 - a view that does not map onto the layer's CRS: the prompts alone
            area = QgsRectangle()
        held = _extent_of(*self._in_raster_crs(prompts))
        area = held if area.isEmpty() else area
        area.combineExtentWith(held)
        area = area.intersect(raster.extent())
        if area.isEmpty():
            self.message.emit("warning", tr("The click is outside '{name}'.").format(name=raster.name()))
            return
        pixel_size = view_pixel_size(self.canvas.mapSettings(), raster, self.project.transformContext())
        request = export_request(
            raster, (area.xMinimum(), area.yMinimum(), area.xMaximum(), area.yMaximum()), pixel_size
        )
        problem = request.problem()
        if problem:
            self.message.emit("error", problem)
            return

        def done(exported: Exported | None, error: str) -> None:
            if self.raster is not raster:
                return  # another raster was chosen meanwhile
            if exported is None:
                if error:
                    self.message.emit("error", error)
                return
            if Settings.load(include_token=False).is_remote:
                self._send_sheet(request, exported)
            else:
                self._take_sheet(Sheet(request, exported, exported.path))

        self.exports.fetch(raster, request, self.project.transformContext(), done)

    def _send_sheet(self, request: ExportRequest, exported: Exported) -> None:
        """Upload the export to the remote backend, which cannot read it; clicks go to the upload."""
        backend, raster = self.connection(), self.raster
        if backend is None:
            self.message.emit("warning", tr("The backend is not ready yet: the preview comes once it is."))
            return
        task = UploadTask(BackendClient(*backend), exported.path)

        def uploaded(name: str, error: str) -> None:
            if task is not self._upload:
                return  # dropped (another raster, a closed project)
            self._upload = None
            if error:
                self.message.emit("error", error)
            elif name and self.raster is raster:
                self._take_sheet(Sheet(request, exported, name))

        task.uploaded.connect(uploaded)
        self._upload = task
        self.message.emit("info", tr("Sending the view to the backend, which cannot read it…"))
        QgsApplication.taskManager().addTask(task)

    def _take_sheet(self, sheet: Sheet) -> None:
        """Click on ``sheet`` from now on (the last one's upload is deleted), and send the prompts in hand."""
        self._drop_sheet()
        self.sheet = sheet
        if self.prompts or self.base:
            self._send(fresh_sheet=True)

    def _drop_sheet(self) -> None:
        """Forget the sheet; an upload of it is deleted on the backend (which deletes it in time anyway)."""
        sheet, self.sheet = self.sheet, None
        backend = self.connection()
        if sheet is not None and sheet.raster != sheet.exported.path and backend is not None:
            upload_id = sheet.raster.split(":", 1)[1]
            AsyncCall(*backend, "DELETE", f"/rasters/{upload_id}", None, self)

    def _send(self, fresh_sheet: bool = False) -> None:
        backend = self.connection()
        prompts = self.base + self.prompts
        if not fresh_sheet and self.raster is not None and not self._sheet_covers(prompts):
            self._abort()
            self._export_view(prompts)
            return
        body = self._body(prompts)
        if body is None:
            return
        if backend is None:
            self.message.emit("warning", tr("The backend is not ready yet: the preview comes once it is."))
            return
        self._abort()
        self.requests += 1
        self._call = AsyncCall(*backend, "POST", "/prompt", body, self)
        asked, sheet = len(self.prompts), self.sheet if self.via_sheet() and needs_export(self.raster) else None
        self._call.answered.connect(
            lambda status, payload, c=self._call: self._answered(c, status, payload, asked, sheet)
        )

    def _send_hover(self) -> None:
        backend = self.connection()
        if backend is None or self._hover_at is None or self._call is not None:
            return
        prompts = self.base + self.prompts + [Prompt(point=self._hover_at)]
        if not self._sheet_covers(prompts):
            return  # over a web layer, only where the last export reaches: hovering fetches nothing
        body = self._body(prompts, only_cached=True)
        if body is None:
            return
        if self._hover_call is not None:
            self._hover_call.abort()
        self._hover_call = AsyncCall(*backend, "POST", "/prompt", body, self)
        self._hover_call.answered.connect(self._hovered)

    def _abort(self) -> None:
        for call in (self._call, self._hover_call):
            if call is not None:
                call.abort()
        self._call = self._hover_call = None

    def _answered(self, call: AsyncCall, status: int, payload: dict, asked: int, sheet: Sheet | None) -> None:
        if call is not self._call:
            return
        self._call = None
        if status == 200:
            self.answered = asked
        if status == 409 and payload.get("code") == "superseded":
            return
        if status == 422 and payload.get("code") == "raster_not_found" and not self.via_sheet():
            if Settings.load(include_token=False).is_remote:  # a file not in the server's folders: send its view
                self._unreadable = True
                self._send()
                return
        if status != 200:
            self.message.emit("error", str(error_from_answer(payload, status or None)))
            return
        self.last_answer = {k: v for k, v in payload.items() if k != "features"}
        features = payload.get("features") or []
        if not features:
            self._set_preview(None, {})
            self.message.emit("info", tr("Nothing found there: add a point or draw a box."))
            return
        properties = dict(features[0].get("properties") or {})
        if sheet is not None:  # clicked over an export: where its pixels came from, as a query's features say
            properties.update(sheet.exported.provenance)
        self._set_preview(_geometry(features[0]), properties)

    def _hovered(self, status: int, payload: dict) -> None:
        self._hover_call = None
        features = payload.get("features") if status == 200 else None
        self.hover_band.reset(compat.POLYGON_GEOMETRY)
        if features and self.raster is not None:
            self.hover_band.setToGeometry(_geometry(features[0]), self.raster.crs())

    def _set_preview(self, geometry: QgsGeometry | None, properties: dict) -> None:
        self.preview, self.preview_properties = geometry, properties
        self.band.reset(compat.POLYGON_GEOMETRY)
        if geometry is not None and self.raster is not None:
            self.band.setToGeometry(geometry, self.raster.crs())
        self.previewChanged.emit()

    def _draw_prompts(self) -> None:
        self.points_band.reset(compat.POINT_GEOMETRY)
        self.negatives_band.reset(compat.POINT_GEOMETRY)
        self.box_band.reset(compat.POLYGON_GEOMETRY)
        for p in self.base + self.prompts:
            if p.point is not None:
                (self.points_band if p.positive else self.negatives_band).addPoint(p.point)
            elif p.box is not None:  # the box stays drawn once the mouse is released, like the points
                self.box_band.setToGeometry(QgsGeometry.fromRect(p.box), None)

    # ----- accepting -------------------------------------------------------------------------------------------
    def accept(self) -> int | None:
        """Put the preview in the target layer (or into the refined feature) as one undoable edit; its id."""
        if self.preview is None or self.raster is None:
            self.message.emit("info", tr("Nothing to add yet: click on the object first."))
            return None
        if self.refining is not None:
            layer = self.project.mapLayer(self.refining[0])
            fid = self.refining[1]
        else:
            layer, fid = self._target_layer(), None
        if layer is None:
            return None
        geometry = QgsGeometry(self.preview)
        if layer.crs() != self.raster.crs():
            geometry.transform(QgsCoordinateTransform(self.raster.crs(), layer.crs(), self.project))
        geometry.convertToMultiType()
        if not layer.isEditable():
            layer.startEditing()
        if fid is None:
            layer.beginEditCommand(tr("Think2Map: add a segment"))
            feature = QgsFeature(layer.fields())
            feature.setGeometry(geometry)
            for name, value in self.preview_properties.items():
                if layer.fields().indexOf(name) >= 0:
                    feature[name] = value
            ok = layer.addFeature(feature)
            fid = feature.id()
        else:
            layer.beginEditCommand(tr("Think2Map: refine a segment"))
            ok = layer.changeGeometry(fid, geometry)
        if not ok:
            layer.destroyEditCommand()
            self.message.emit("error", tr("Could not edit the layer {name}.").format(name=layer.name()))
            return None
        layer.endEditCommand()
        layer.triggerRepaint()
        replaced = self.refining is not None
        self.clear()
        self.accepted.emit(layer.id(), fid, replaced)
        return fid

    def _target_layer(self) -> QgsVectorLayer | None:
        if self.target is not None and self.project.mapLayer(self.target.id()) is not None:
            return self.target
        extra = PROVENANCE_FIELDS if needs_export(self.raster) else None
        try:
            layer = core_layers.create_result_layer(edits_layer_name(), self.raster.crs(), extra_fields=extra)
        except RuntimeError as exc:
            self.message.emit("error", str(exc))
            return None
        if self.sheet is not None and extra:  # the imagery's attribution travels with the outlines
            metadata = layer.metadata()
            metadata.setRights([*metadata.rights(), *self.sheet.exported.rights])
            layer.setMetadata(metadata)
        core_layers.style_result_layer(layer)
        core_layers.add_to_results_group(self.project, layer, above=self.raster)
        self.target = layer
        return layer

    def set_raster(self, raster: QgsRasterLayer | None) -> None:
        """Digitise on ``raster`` from now on; an export of another layer no longer applies."""
        if raster is not self.raster:
            self.forget_exports()
            self._unreadable = False
        self.raster = raster

    def forget_exports(self) -> None:
        """Drop the export or upload in hand and the sheet (the project closed: its exports are gone)."""
        self.exports.cancel()
        if self._upload is not None:
            self._upload.cancel()
            self._upload = None
        self._drop_sheet()

    def remove(self) -> None:
        """Take the bands off the canvas (the tool is switched off for good)."""
        self.forget_exports()
        self._abort()
        for band in (self.band, self.hover_band, self.points_band, self.negatives_band, self.box_band):
            band.reset()
            if band.scene() is not None:
                band.scene().removeItem(band)


def _band(canvas: QgsMapCanvas, outline: QColor, fill: QColor, width: int) -> QgsRubberBand:
    band = QgsRubberBand(canvas, compat.POLYGON_GEOMETRY)
    band.setColor(outline)
    band.setFillColor(fill)
    band.setWidth(width)
    return band


def _extent_of(points: list[list[float]], box: list[float] | None) -> QgsRectangle:
    """The rectangle holding ``points`` and ``box`` (the raster's CRS)."""
    rect = QgsRectangle(*box) if box else QgsRectangle()
    for x, y, _label in points:
        if rect.isNull():
            rect = QgsRectangle(x, y, x, y)
        else:
            rect.combineExtentWith(x, y)
    return rect


def _geometry(feature: dict) -> QgsGeometry:
    """A GeoJSON feature's geometry (parsed once, by the answer's JSON)."""
    return geometry_from_geojson(feature.get("geometry"))
