"""The dock's "Click to segment" box: the map tool's switch, where accepted outlines go, and refining a result.

While the tool is on, the visible extent is encoded ahead (``POST /encode``, after the map stops moving), so the
first click there is quick and the hover preview can show the outline under the cursor.
"""

from __future__ import annotations

from collections.abc import Callable

from qgis.core import QgsCoordinateTransform, QgsProject, QgsRasterLayer, QgsVectorLayer
from qgis.gui import QgsCollapsibleGroupBox, QgsMapLayerComboBox
from qgis.PyQt.QtCore import QTimer, pyqtSignal
from qgis.PyQt.QtWidgets import QCheckBox, QFormLayout, QHBoxLayout, QLabel, QPushButton, QWidget

from ..core import compat
from ..core.async_call import AsyncCall
from ..core.export import ExportCache
from ..core.requests import RunOptions
from ..core.settings import Settings
from .click_session import ClickSession, edits_layer_name
from .click_tool import ClickMapTool
from .i18n import tr

WARM_DELAY_MS = 400


class ClickBox(QgsCollapsibleGroupBox):
    """Switches the click tool on and off, and shows what it does."""

    message = pyqtSignal(str, str)  # level, text

    def __init__(
        self,
        iface,
        manager,
        raster_layer: Callable[[], object],
        layer_problem: Callable[[], str | None] = lambda: None,
        click_options: Callable[[], RunOptions] = RunOptions,
        parent: QWidget | None = None,
        exports: ExportCache | None = None,
    ):
        super().__init__(tr("Click to segment"), parent)
        self.iface = iface
        self.manager = manager
        self.raster_layer = raster_layer  # () -> the dock's raster
        self.layer_problem = layer_problem  # () -> why the dock would refuse it, in the dock's words (None: it can)
        self.click_options = click_options  # () -> the dock's choices (bands, tile grid, pixel mode); ValueError if bad
        self._last_level = ""
        canvas = iface.mapCanvas()
        self.session = ClickSession(canvas, self._backend, exports=exports)
        self.tool = ClickMapTool(canvas, self.session)
        self._previous_tool = None
        self._warm_call: AsyncCall | None = None
        form = QFormLayout(self)
        self.tool_button = QPushButton(tr("Click on the map"))
        self.tool_button.setCheckable(True)
        self.tool_button.setToolTip(
            tr("Click inside an object (Shift or right click: outside it), or drag a box around it; Enter adds it")
        )
        self.accept_button = QPushButton(tr("Add (Enter)"))
        self.accept_button.setEnabled(False)
        self.refine_button = QPushButton(tr("Refine selected"))
        self.refine_button.setToolTip(tr("Start from the selected polygon of a Think2Map layer, then add points"))
        form.addRow(self.tool_button)
        row = QHBoxLayout()  # two rows of buttons: three side by side are too wide in French
        for button in (self.accept_button, self.refine_button):
            row.addWidget(button)
        form.addRow(row)
        self.target_combo = QgsMapLayerComboBox()
        self.target_combo.setFilters(compat.POLYGON_LAYERS)
        self.target_combo.setAllowEmptyLayer(True)
        self.target_combo.setAdditionalItems([])
        self.target_combo.setLayer(None)
        self.target_combo.setToolTip(
            tr("Where added outlines go; empty: a new '{name}' layer").format(name=edits_layer_name())
        )
        form.addRow(tr("Add to"), self.target_combo)
        self.hover_check = QCheckBox(tr("Show the outline under the cursor"))
        self.hover_check.setToolTip(tr("Resting the mouse over the map shows what a click there would outline"))
        self.hover_check.setChecked(Settings.load(include_token=False).hover_preview)
        form.addRow(self.hover_check)
        self.hint = QLabel(tr("Esc clears, Ctrl+Z takes back the last click."))
        self.hint.setWordWrap(True)
        form.addRow(self.hint)
        self._warm_timer = QTimer(self)
        self._warm_timer.setSingleShot(True)
        self._warm_timer.timeout.connect(self._warm)
        self.tool_button.toggled.connect(self.set_active)
        self.accept_button.clicked.connect(self.session.accept)
        self.refine_button.clicked.connect(self.refine_selected)
        self.hover_check.toggled.connect(self._hover_toggled)
        self.target_combo.layerChanged.connect(self._target_changed)
        self.session.previewChanged.connect(lambda: self.accept_button.setEnabled(self.session.preview is not None))
        self.session.message.connect(self._say)
        self.session.accepted.connect(self._accepted)
        manager.ready.connect(self._backend_ready)
        self.tool.deactivated.connect(lambda: self.tool_button.setChecked(False))
        canvas.extentsChanged.connect(self._extent_changed)
        QgsProject.instance().cleared.connect(self.session.forget_exports)  # the project's exports are deleted
        self.session.hover_enabled = self.hover_check.isChecked()

    def _backend(self):
        if self.manager.state != "ready":
            return None
        return self.manager.url, self.manager.token

    def _say(self, level: str, text: str) -> None:
        self._last_level = level
        self.message.emit(level, text)

    def set_active(self, active: bool) -> None:
        """Switch the click tool on (remembering the tool it replaces) or off.

        The raster is the dock's, refused for the same reasons and in the same words as a query on it.
        """
        canvas = self.iface.mapCanvas()
        if active:
            raster = self.raster_layer()
            problem = self.layer_problem() if isinstance(raster, QgsRasterLayer) else None
            try:
                options = self.click_options()
            except ValueError as exc:  # the dock's bands cannot be read
                problem = problem or str(exc)
            if not isinstance(raster, QgsRasterLayer) or problem:
                self._say("error", problem or tr("Choose the raster to digitise on first."))
                self.tool_button.setChecked(False)
                return
            self.session.set_raster(raster)
            self.session.options = options
            if canvas.mapTool() is not self.tool:
                self._previous_tool = canvas.mapTool()
                canvas.setMapTool(self.tool)
            self._warm_timer.start(0)
            self._say("info", tr("Click on an object to outline it; Enter adds it to the layer."))
        elif canvas.mapTool() is self.tool:
            if self._previous_tool is not None:
                canvas.setMapTool(self._previous_tool)
            else:
                canvas.unsetMapTool(self.tool)

    def refine_selected(self) -> bool:
        """Seed the prompts with the selected polygon of the active Think2Map layer; Enter replaces it."""
        layer = self.iface.activeLayer()
        selected = layer.selectedFeatures() if isinstance(layer, QgsVectorLayer) else []
        if len(selected) != 1:
            self.message.emit("warning", tr("Select one polygon of a Think2Map result layer to refine."))
            return False
        if not self.tool_button.isChecked():
            self.tool_button.setChecked(True)
        if self.session.refine(layer, selected[0]):
            self.message.emit("info", tr("Add points to correct the outline; Enter replaces the polygon."))
            return True
        return False

    def _accepted(self, layer_id: str, fid: int, replaced: bool) -> None:
        """The outline is in its layer: make that layer the active one, so that QGIS's Undo takes the edit back."""
        layer = QgsProject.instance().mapLayer(layer_id)
        if layer is None:
            return
        if self.target_combo.currentLayer() is None and not replaced:
            self.target_combo.setLayer(layer)  # the next outlines go to the same layer
        self.iface.setActiveLayer(layer)
        if replaced:
            text = tr("Replaced the polygon in {layer}; Ctrl+Z (Edit ▸ Undo) brings the old outline back.")
        else:
            text = tr("Added to {layer}; Ctrl+Z (Edit ▸ Undo) takes it back.")
        self._say("info", text.format(layer=layer.name()))

    def _backend_ready(self, *_args) -> None:
        """The backend (re)started: what the old one never answered is dropped, and its error no longer stands."""
        dropped = self.session.backend_restarted()
        if dropped:
            self._say("info", tr("The backend is back; the click it never answered was dropped: click again."))
        elif self._last_level == "error":
            self._say("info", tr("The backend is back: clicks work again."))
        if self.tool_button.isChecked():
            self._warm_timer.start(0)

    def _target_changed(self, layer) -> None:
        self.session.target = layer if isinstance(layer, QgsVectorLayer) else None

    def _hover_toggled(self, on: bool) -> None:
        self.session.hover_enabled = on
        settings = Settings.load()
        settings.hover_preview = on
        settings.save()

    def _extent_changed(self) -> None:
        if self.tool_button.isChecked():
            self._warm_timer.start(WARM_DELAY_MS)

    def _warm(self) -> None:
        """Ask the backend to encode the tiles in view (the newest view replaces the last one's)."""
        backend, raster = self._backend(), self.session.raster
        if backend is None or raster is None or self.session.via_sheet():
            return  # a web layer's view is fetched when it is clicked, not each time the map moves
        canvas = self.iface.mapCanvas()
        to_raster = QgsCoordinateTransform(canvas.mapSettings().destinationCrs(), raster.crs(), QgsProject.instance())
        try:
            view = to_raster.transformBoundingBox(canvas.extent()).intersect(raster.extent())
        except Exception:  # noqa: BLE001 - a view that does not map onto the raster: nothing to warm
            return
        if view.isEmpty():
            return
        bounds = [view.xMinimum(), view.yMinimum(), view.xMaximum(), view.yMaximum()]
        body = self.session.options.encode_spec(raster, bounds, self.session.session).to_json()
        if self._warm_call is not None:
            self._warm_call.abort()
        self._warm_call = AsyncCall(*backend, "POST", "/encode", body, self)

    def cleanup(self) -> None:
        self.set_active(False)
        self.tool.remove()
        self.session.remove()
        # A manager that outlives this box (a dock rebuilt on plugin reload) must not call into it when it restarts.
        for signal, slot in ((self.iface.mapCanvas().extentsChanged, self._extent_changed),
                             (self.manager.ready, self._backend_ready),
                             (QgsProject.instance().cleared, self.session.forget_exports)):  # fmt: skip
            try:
                signal.disconnect(slot)
            except TypeError:
                pass
