"""The Think2Map dock: widgets only; every decision is the controller's (plugin/gui/controller.py).

Its length (about 550 lines) is the layout of one dock and its slots, kept in one place so that the order of the
widgets on screen is the order in the file; each box that has behaviour of its own is a module beside it.
"""

from __future__ import annotations

from qgis.core import QgsMapLayer, QgsRasterLayer, QgsRectangle
from qgis.gui import QgsCollapsibleGroupBox, QgsDockWidget, QgsMapLayerComboBox
from qgis.PyQt.QtCore import QSize, Qt, QTimer, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ... import contract
from ..core import compat
from ..core.export import attribution, is_tiled_web_layer, needs_export, service_host
from ..core.extent import ExtentError
from ..core.history import ResultRecord
from ..core.layers import elide, layer_name_for
from ..core.requests import RunOptions
from .click_box import ClickBox
from .controller import EXTENT, LAYER, RECTANGLE, DockController, parse_bands
from .i18n import tr
from .map_tool import RectangleMapTool
from .models_box import ModelsBox
from .reasoning import ReasoningDialog
from .styles import ERROR_STYLE, LEVEL_STYLE, STATE_STYLE

TILE_LIMIT_MAX = 100_000
RESULT_NAME_LENGTH = 48  # characters of a result's name in the list; the tooltip has the whole query
RESOLUTION_MAX = 100_000.0  # map units per pixel: a web layer's coarsest sensible export
FETCH_UPDATE_MS = 300  # the fetch estimate follows the map once it stops moving
COMBO_CHARACTERS = 8  # a combo shows at least this many characters, and elides the rest


class Think2MapDock(QgsDockWidget):
    """Layer, query, area, models, options, Run/Cancel, progress, backend status and the results list."""

    settingsRequested = pyqtSignal()
    setupRequested = pyqtSignal()

    def __init__(self, iface, controller: DockController, parent: QWidget | None = None):
        super().__init__(tr("Think2Map"), parent)
        self.setObjectName("Think2MapDock")
        self.iface = iface
        self.controller = controller
        self.rectangle: QgsRectangle | None = None
        self.rectangle_crs = None
        self.status_text = ""
        self.message_details = ""
        self._layer_messages: set[str] = set()
        self.map_tool = RectangleMapTool(iface.mapCanvas())
        self._previous_tool = None
        self._build()
        self._connect()
        self.set_history(controller.history.items())
        self.set_layer(iface.activeLayer())
        self._on_state(
            controller.manager.state, controller.status_text(controller.manager.state, controller.manager.detail or "")
        )

    # ----- building ------------------------------------------------------------------------------------------
    def _build(self) -> None:
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(6, 6, 6, 6)  # a dock is narrow: every pixel is for the content
        form = QFormLayout()
        self.layer_combo = QgsMapLayerComboBox()
        self.layer_combo.setFilters(compat.RASTER_LAYERS)
        self.layer_combo.setAllowEmptyLayer(True)
        self.layer_combo.setToolTip(tr("The raster to search"))
        form.addRow(tr("Raster"), self.layer_combo)
        self.query_combo = QComboBox()
        self.query_combo.setEditable(True)
        self.query_combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.query_combo.lineEdit().setPlaceholderText(tr("What to find, e.g. the river"))
        self.query_combo.setToolTip(tr("Describe what to find in plain language; earlier queries are in the list"))
        form.addRow(tr("Query"), self.query_combo)
        area_row = QHBoxLayout()
        self.area_combo = QComboBox()
        self.area_combo.addItem(tr("Whole layer"), LAYER)
        self.area_combo.addItem(tr("Current map extent"), EXTENT)
        self.area_combo.addItem(tr("Rectangle drawn on the map"), RECTANGLE)
        self.draw_button = QToolButton()
        self.draw_button.setText(tr("Draw"))
        self.draw_button.setCheckable(True)
        self.draw_button.setToolTip(tr("Drag a rectangle on the map to search only there"))
        area_row.addWidget(self.area_combo, 1)
        area_row.addWidget(self.draw_button)
        form.addRow(tr("Area"), area_row)
        self.fetch_label = QLabel()  # what a web layer's query fetches first; hidden for a file
        self.fetch_label.setWordWrap(True)
        self.fetch_label.setVisible(False)
        form.addRow(self.fetch_label)
        self.credit_label = QLabel()  # where a web layer's imagery is from, before anything is fetched
        self.credit_label.setWordWrap(True)
        self.credit_label.setVisible(False)
        form.addRow(self.credit_label)
        self.mode_combo = QComboBox()
        self.mode_combo.addItem(tr("Reasoning (Think2Seg-RS)"), "reason")
        self.mode_combo.addItem(tr("Find every instance (SAM 3)"), "find")
        self.mode_combo.addItem(tr("Automatic: SAM 3 for short noun phrases"), "auto")
        self.mode_combo.setToolTip(
            tr(
                "Reasoning answers any question, tile by tile; SAM 3 finds every instance of a short phrase "
                "(buildings, swimming pools) much faster; Automatic picks one per query and each polygon's "
                "'route' attribute says why."
            )
        )
        form.addRow(tr("Answer with"), self.mode_combo)
        layout.addLayout(form)

        self.models_box = ModelsBox(self.controller.catalog)
        layout.addWidget(self.models_box)
        self.click_box = ClickBox(
            self.iface,
            self.controller.manager,
            self.layer_combo.currentLayer,
            self.layer_problem,
            self.options,
            exports=self.controller.exports.cache,  # a query's export of the view serves the clicks there too
        )
        self.click_box.message.connect(self.show_message)
        layout.addWidget(self.click_box)

        self.advanced_box = QgsCollapsibleGroupBox(tr("Advanced options"))
        self.advanced_box.setCollapsed(True)
        advanced = QFormLayout(self.advanced_box)
        self.tile_spin = QSpinBox()
        self.tile_spin.setRange(contract.TILE_SIZE_MIN, contract.TILE_SIZE_MAX)
        self.tile_spin.setSingleStep(64)
        self.tile_spin.setValue(contract.TILE_SIZE_DEFAULT)
        self.tile_spin.setSuffix(tr(" px"))
        self.overlap_spin = QSpinBox()
        self.overlap_spin.setRange(0, contract.OVERLAP_MAX)
        self.overlap_spin.setSingleStep(16)
        self.overlap_spin.setValue(contract.OVERLAP_DEFAULT)
        self.overlap_spin.setSuffix(tr(" px"))
        self.bands_edit = QLineEdit()
        self.bands_edit.setPlaceholderText(tr("default (1,2,3); or 4,3,2; or one band"))
        self.tile_limit_spin = QSpinBox()
        self.tile_limit_spin.setRange(1, TILE_LIMIT_MAX)
        self.tile_limit_spin.setSingleStep(100)
        self.tile_limit_spin.setValue(contract.MAX_TILES_DEFAULT)
        self.tile_limit_spin.setToolTip(tr("The most tiles one query may search; a larger area is refused first"))
        self.resolution_spin = QDoubleSpinBox()
        self.resolution_spin.setRange(0.0, RESOLUTION_MAX)
        self.resolution_spin.setDecimals(3)
        self.resolution_spin.setSingleStep(0.1)
        self.resolution_spin.setSpecialValueText(tr("the map view's"))
        self.resolution_spin.setToolTip(
            tr(
                "The pixel size a web layer (XYZ, WMS, WMTS…) is fetched at, in its map units; never finer than its "
                "last zoom level. The lowest value: the map view's"
            )
        )
        self.pixel_check = QCheckBox(tr("Pixel coordinates"))
        self.pixel_check.setToolTip(
            tr("Search a raster that has no coordinate reference system; its polygons are placed in pixel coordinates")
        )
        self.strategy_combo = QComboBox()
        self.strategy_combo.addItem(tr("Every tile"), "tiles")
        self.strategy_combo.addItem(tr("Overview first, then where it points"), "overview")
        self.strategy_combo.addItem(tr("Automatic (by the area's size)"), "auto")
        self.strategy_combo.setToolTip(
            tr(
                "Every tile: the prompter reads the whole area at full resolution. Overview first: it reads the "
                "area downsampled, then only the places its boxes point to (far fewer prompter calls, and "
                "questions about the whole scene); its boxes are drawn as a layer. Automatic: the overview for a "
                "large area, with a sample of tiles for small objects."
            )
        )
        self.refine_combo = QComboBox()
        self.refine_combo.addItem(tr("SAM with the overview's boxes (fast)"), "sam")
        self.refine_combo.addItem(tr("The prompter again (detailed)"), "prompter")
        self.refine_combo.setToolTip(tr("How the places the overview points to are read at full resolution"))
        self.strategy_combo.currentIndexChanged.connect(
            lambda: self.refine_combo.setEnabled(self.strategy_combo.currentData() != "tiles")
        )
        self.refine_combo.setEnabled(False)
        advanced.addRow(tr("Strategy"), self.strategy_combo)
        advanced.addRow(tr("Refine with"), self.refine_combo)
        advanced.addRow(tr("Tile size"), self.tile_spin)
        advanced.addRow(tr("Overlap"), self.overlap_spin)
        advanced.addRow(tr("Bands"), self.bands_edit)
        advanced.addRow(tr("Tile limit"), self.tile_limit_spin)
        advanced.addRow(tr("Web layer resolution"), self.resolution_spin)
        advanced.addRow(self.pixel_check)
        layout.addWidget(self.advanced_box)

        buttons = QHBoxLayout()
        self.run_button = QPushButton(tr("Run"))
        self.run_button.setDefault(True)
        self.cancel_button = QPushButton(tr("Cancel"))
        self.cancel_button.setEnabled(False)
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        layout.addLayout(buttons)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self.progress_bar.setFormat(tr("%v / %m tiles"))
        self.progress_bar.setTextVisible(False)
        layout.addWidget(self.progress_bar)
        message_row = QHBoxLayout()
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message_details_button = QToolButton()
        self.message_details_button.setText(tr("Details…"))
        self.message_details_button.setToolTip(tr("What the backend said, in its own words"))
        self.message_details_button.setVisible(False)
        message_row.addWidget(self.message_label, 1)
        message_row.addWidget(self.message_details_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(message_row)

        status_row = QHBoxLayout()
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.restart_button = QToolButton()
        self.restart_button.setText(tr("Restart"))
        self.restart_button.setToolTip(tr("Restart the backend"))
        self.settings_button = QToolButton()
        self.settings_button.setText(tr("Settings…"))
        self.details_button = QToolButton()
        self.details_button.setText(tr("Details…"))
        self.details_button.setToolTip(tr("The backend's full error message"))
        self.details_button.setVisible(False)
        status_row.addWidget(self.status_label, 1)
        layout.addLayout(status_row)
        status_buttons = QHBoxLayout()  # under the status: beside it, they would not fit a narrow dock in French
        status_buttons.addStretch(1)
        status_buttons.addWidget(self.details_button)
        status_buttons.addWidget(self.restart_button)
        status_buttons.addWidget(self.settings_button)
        layout.addLayout(status_buttons)
        self.setup_button = QPushButton(tr("Set up the backend…"))
        self.setup_button.setToolTip(tr("Build the backend's Python environment in your QGIS profile folder"))
        self.setup_button.setVisible(False)
        layout.addWidget(self.setup_button)

        layout.addWidget(QLabel(tr("Results")))
        self.results_list = QListWidget()
        self.results_list.setToolTip(tr("Select a result to show and zoom to its layer"))
        self.results_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.results_list.setTextElideMode(Qt.TextElideMode.ElideRight)
        layout.addWidget(self.results_list, 1)
        results_buttons = QHBoxLayout()
        self.zoom_button = QPushButton(tr("Zoom to layer"))
        self.zoom_button.setToolTip(tr("Zoom to the layer of the selected result"))
        self.reasoning_button = QPushButton(tr("Reasoning…"))
        self.reasoning_button.setToolTip(tr("What the prompter wrote for each tile"))
        results_buttons.addWidget(self.zoom_button)
        results_buttons.addWidget(self.reasoning_button)
        layout.addLayout(results_buttons)

        fit_to_width(body)
        scroll = _ScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)  # never cut off, whatever the width
        scroll.setWidget(body)
        self.setWidget(scroll)

    def _connect(self) -> None:
        c = self.controller
        c.backendStatus.connect(self._on_state)
        c.message.connect(self.show_message)
        self.message_details_button.clicked.connect(self.show_message_details)
        c.running.connect(self._on_running)
        c.progress.connect(self._on_progress)
        c.resultsChanged.connect(self._update_results)
        c.historyChanged.connect(self.set_history)
        self.layer_combo.layerChanged.connect(self._on_layer_chosen)
        self.pixel_check.toggled.connect(lambda _: self._on_layer_chosen(self.layer_combo.currentLayer()))
        self.iface.currentLayerChanged.connect(self._on_active_layer)
        self.area_combo.currentIndexChanged.connect(self._on_area_mode)
        self.strategy_combo.currentIndexChanged.connect(lambda _: self.update_fetch())
        self.resolution_spin.valueChanged.connect(lambda _: self.update_fetch())
        self.draw_button.toggled.connect(self._on_draw_toggled)
        self.map_tool.rectangleDrawn.connect(self._on_rectangle)
        self.map_tool.cancelled.connect(lambda: self.draw_button.setChecked(False))
        self.map_tool.deactivated.connect(lambda: self.draw_button.setChecked(False))
        self.run_button.clicked.connect(self.run)
        self.query_combo.lineEdit().returnPressed.connect(self.run)
        self.cancel_button.clicked.connect(c.cancel)
        self.restart_button.clicked.connect(c.restart_backend)
        self.settings_button.clicked.connect(self.settingsRequested)
        self.setup_button.clicked.connect(self.setupRequested)
        self.results_list.currentRowChanged.connect(self._on_result_selected)
        self.zoom_button.clicked.connect(lambda: self._on_result_selected(self.results_list.currentRow()))
        self.reasoning_button.clicked.connect(self.show_reasoning)
        self.details_button.clicked.connect(self.show_status_details)
        self._fetch_timer = QTimer(self)
        self._fetch_timer.setSingleShot(True)
        self._fetch_timer.timeout.connect(self.update_fetch)
        self.iface.mapCanvas().extentsChanged.connect(self._schedule_fetch_update)

    # ----- inputs --------------------------------------------------------------------------------------------
    def set_layer(self, layer: QgsMapLayer | None) -> bool:
        """Show ``layer`` as the raster to search; True when it can be searched.

        A raster that cannot be searched is still shown, with its reason, and Run is disabled: the dock never
        searches a raster other than the one it shows. Anything else than a raster is refused with a message.
        """
        if layer is not None and not isinstance(layer, QgsRasterLayer):
            self.show_message("error", self.controller.layer_problem(layer))
            return False
        if layer is not self.layer_combo.currentLayer():
            self.layer_combo.setLayer(layer)  # layerChanged updates the message and Run
        else:
            self._on_layer_chosen(layer)
        return self.layer_problem() is None

    def layer_problem(self) -> str | None:
        """Why the raster shown cannot be searched with the options shown, or None."""
        return self.controller.layer_problem(self.layer_combo.currentLayer(), self.pixel_check.isChecked())

    def _on_active_layer(self, layer: QgsMapLayer | None) -> None:
        if isinstance(layer, QgsRasterLayer):
            self.set_layer(layer)

    def _on_layer_chosen(self, layer: QgsMapLayer | None) -> None:
        if isinstance(layer, QgsRasterLayer) and is_tiled_web_layer(layer) and self.area_mode() == LAYER:
            self.set_area_mode(EXTENT)  # a basemap's "whole layer" is the world: its view is what is meant
        problem = self.layer_problem() if layer is not None else None
        if problem:
            self.show_message("error", problem)
        elif self.message_label.text() in self._layer_messages:  # an earlier layer's problem: no longer true
            self.show_message("info", "")
        self._layer_messages = {problem} if problem else set()
        self._update_run_button()
        self.update_fetch()

    def _schedule_fetch_update(self) -> None:
        if self.fetch_label.isVisible() or self._fetch_timer.isActive():
            self._fetch_timer.start(FETCH_UPDATE_MS)

    def update_fetch(self) -> None:
        """Say what a query would fetch first, for a web or virtual layer: its size, or why it is too large."""
        layer = self.layer_combo.currentLayer()
        area = (layer, self.area_mode(), self.rectangle, self.rectangle_crs)
        try:
            options = self.options()
        except ValueError:  # bad bands: said when Run is pressed; the fetch does not depend on them
            options = RunOptions(web_resolution=self.resolution_spin.value())
        try:
            tiles = self.controller.planned_tiles(*area, options)
            export = None if tiles else self.controller.planned_export(*area, self.resolution_spin.value())
        except ExtentError as exc:
            text, style = str(exc), ERROR_STYLE
        else:
            problem = export.problem() if export is not None else None
            if tiles is not None:
                text = tr(
                    "The backend reads this basemap's tiles itself: coarse zoom levels for the overview, then "
                    "{m:.2f} m a pixel only where it points."
                ).format(m=tiles.pixel_size)
            else:
                text = problem or (tr("A query fetches {what} first.").format(what=export.summary()) if export else "")
            style = ERROR_STYLE if problem else ""
        shown = isinstance(layer, QgsRasterLayer) and layer.isValid() and needs_export(layer)
        self.fetch_label.setText(text if shown else "")
        self.fetch_label.setStyleSheet(style)
        self.fetch_label.setVisible(shown and bool(text))
        credit = (attribution(layer) or service_host(layer)) if shown else ""
        self.credit_label.setText(
            tr("Its imagery is from {credit}: check that its terms allow automated analysis.").format(credit=credit)
            if credit
            else ""
        )
        self.credit_label.setVisible(bool(credit))

    def _update_run_button(self) -> None:
        problem = self.layer_problem()
        running = self.controller.is_running
        self.run_button.setEnabled(problem is None and not running)
        if running:
            self.run_button.setToolTip(tr("A query is running: wait for it, or cancel it"))
        else:
            self.run_button.setToolTip(problem or tr("Search the raster for the query (Enter)"))

    def query(self) -> str:
        return self.query_combo.currentText().strip()

    def set_query(self, text: str) -> None:
        self.query_combo.setEditText(text)

    def set_history(self, queries: list[str]) -> None:
        text = self.query_combo.currentText()
        self.query_combo.blockSignals(True)
        self.query_combo.clear()
        self.query_combo.addItems(queries)
        self.query_combo.setEditText(text)
        self.query_combo.blockSignals(False)

    def area_mode(self) -> str:
        return self.area_combo.currentData()

    def set_area_mode(self, mode: str) -> None:
        self.area_combo.setCurrentIndex(max(0, self.area_combo.findData(mode)))

    def _on_area_mode(self) -> None:
        self.update_fetch()
        if self.area_mode() == RECTANGLE and self.rectangle is None:
            self.draw_button.setChecked(True)
        if self.area_mode() != RECTANGLE:
            self.map_tool.clear()
        elif self.rectangle is not None:
            self.map_tool.show_rectangle(self.rectangle)

    def _on_draw_toggled(self, checked: bool) -> None:
        canvas = self.iface.mapCanvas()
        if checked and canvas.mapTool() is not self.map_tool:
            self._previous_tool = canvas.mapTool()
            canvas.setMapTool(self.map_tool)
        elif not checked and canvas.mapTool() is self.map_tool:
            if self._previous_tool is not None:
                canvas.setMapTool(self._previous_tool)
            else:
                canvas.unsetMapTool(self.map_tool)

    def _on_rectangle(self, rect: QgsRectangle) -> None:
        self.set_rectangle(rect, self.iface.mapCanvas().mapSettings().destinationCrs())
        self.draw_button.setChecked(False)

    def set_rectangle(self, rect: QgsRectangle, crs) -> None:
        """Use ``rect`` (in ``crs``) as the area."""
        self.rectangle, self.rectangle_crs = rect, crs
        self.set_area_mode(RECTANGLE)
        self.update_fetch()
        self.map_tool.show_rectangle(rect)
        self.show_message(
            "info", tr("Area: a rectangle of {w:.0f} × {h:.0f} map units.").format(w=rect.width(), h=rect.height())
        )

    def options(self) -> RunOptions:
        """The model and advanced choices. Raises ValueError for bad bands."""
        return RunOptions(
            tile_size=self.tile_spin.value(),
            overlap=self.overlap_spin.value(),
            bands=parse_bands(self.bands_edit.text()),
            prompter=self.models_box.prompter(),
            segmenter=self.models_box.segmenter(),
            max_tiles=self.tile_limit_spin.value(),
            pixel_coords=self.pixel_check.isChecked(),
            web_resolution=self.resolution_spin.value(),
            query_mode=self.mode_combo.currentData() or contract.QUERY_MODE_DEFAULT,
            strategy=self.strategy_combo.currentData() or contract.STRATEGY_DEFAULT,
            refine=self.refine_combo.currentData() or contract.REFINE_DEFAULT,
        )

    # ----- actions -------------------------------------------------------------------------------------------
    def run(self) -> bool:
        """Run the query as the dock shows it, on the raster it shows."""
        if self.controller.is_running:
            return False
        try:
            options = self.options()
        except ValueError as exc:
            self.show_message("error", str(exc))
            return False
        return self.controller.run(
            self.layer_combo.currentLayer(), self.query(), self.area_mode(), options, self.rectangle, self.rectangle_crs
        )

    def show_reasoning(self) -> None:
        record = self._current_record()
        if record is None:
            self.show_message("info", tr("Select a result first."))
            return
        ReasoningDialog(record, self).exec()

    def show_status_details(self) -> None:
        box = QMessageBox(
            QMessageBox.Icon.Warning, tr("Think2Map backend"), _first_lines(self.status_text), parent=self
        )
        box.setDetailedText(self.status_text)
        box.exec()

    # ----- controller signals -----------------------------------------------------------------------------
    def show_message(self, level: str, text: str, details: str = "") -> None:
        """Say ``text`` under the buttons; ``details`` (the backend's own words) goes behind a Details button."""
        self.message_label.setStyleSheet(LEVEL_STYLE.get(level, ""))
        self.message_label.setText(text)
        self.message_details = details.strip()
        self.message_details_button.setVisible(bool(self.message_details))

    def show_message_details(self) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, tr("Think2Map"), self.message_label.text(), parent=self)
        box.setDetailedText(self.message_details)
        box.exec()

    def _on_state(self, state: str, text: str) -> None:
        first_open = state == "error" and self.controller.no_backend_yet()  # nothing is wrong: no backend yet
        self.status_text = text
        self.status_label.setStyleSheet(STATE_STYLE["stopped" if first_open else state] if state in STATE_STYLE else "")
        self.status_label.setText(_first_lines(text))
        self.status_label.setToolTip(text)
        self.details_button.setVisible(state == "error" and not first_open and _first_lines(text) != text)
        self.restart_button.setEnabled(state != "starting" and not first_open)
        self.setup_button.setVisible(state == "error" and self.controller.needs_setup())

    def _on_running(self, running: bool) -> None:
        self._update_run_button()
        self.cancel_button.setEnabled(running)
        if running:
            self.progress_bar.setTextVisible(False)
            self.progress_bar.setRange(0, 0)
        elif self.progress_bar.maximum() == 0:  # still "busy": the job ended before any progress came
            self.progress_bar.setRange(0, 1)
            self.progress_bar.setValue(0)

    def _on_progress(self, done: int, total: int) -> None:
        if total <= 0:
            if self.controller.is_running:
                self.progress_bar.setRange(0, 0)
            return
        self.progress_bar.setTextVisible(True)
        self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(min(done, total))

    def _update_results(self) -> None:
        row = self.results_list.currentRow()
        self.results_list.blockSignals(True)
        self.results_list.clear()
        for record in self.controller.records:
            item = QListWidgetItem(_record_text(record))
            item.setToolTip("\n".join(text for text in (record.query, record.name, record.message) if text))
            self.results_list.addItem(item)
        if 0 <= row < self.results_list.count():
            self.results_list.setCurrentRow(row)
        self.results_list.blockSignals(False)

    def _current_record(self) -> ResultRecord | None:
        row = self.results_list.currentRow()
        records = self.controller.records
        return records[row] if 0 <= row < len(records) else None

    def _on_result_selected(self, row: int) -> None:
        record = self._current_record()
        if record is not None:
            self.controller.show_record(record)

    def cleanup(self) -> None:
        """Give the map tools and their bands back (plugin unload)."""
        self.click_box.cleanup()
        canvas = self.iface.mapCanvas()
        if canvas.mapTool() is self.map_tool:
            canvas.unsetMapTool(self.map_tool)
        self.map_tool.remove()
        self._fetch_timer.stop()
        for signal, slot in ((self.iface.currentLayerChanged, self._on_active_layer),
                             (self.iface.mapCanvas().extentsChanged, self._schedule_fetch_update)):  # fmt: skip
            try:
                signal.disconnect(slot)
            except TypeError:
                pass


class _ScrollArea(QScrollArea):
    """A scroll area whose preferred width holds its widget and the vertical scroll bar beside it, so that the
    dock opens wide enough for its content."""

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        body = self.widget()
        if body is None:
            return hint
        width = body.sizeHint().width() + self.verticalScrollBar().sizeHint().width() + 2 * self.frameWidth()
        return QSize(max(hint.width(), width), hint.height())


def fit_to_width(body: QWidget) -> None:
    """Let the dock be as narrow in every language as in English: long model paths, layer names and translated
    choices do not widen it (combos elide, their lists show the whole text), and a form's label goes above its
    field when both do not fit on one line."""
    for combo in body.findChildren(QComboBox):
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(COMBO_CHARACTERS)
    for form in body.findChildren(QFormLayout):
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)


def _first_lines(text: str, lines: int = 3, chars: int = 300) -> str:
    """The start of a long message (a backend traceback), for the status line."""
    head = "\n".join(text.splitlines()[:lines])
    return head if len(head) <= chars else head[: chars - 1] + "…"


def _record_text(record: ResultRecord) -> str:
    """One line of the results list: the layer's name (its query elided), the state, what was found."""
    states = {
        "waiting": tr("waiting for the backend"),
        "submitted": tr("sent"),
        "queued": tr("queued"),
        "running": tr("running"),
        "done": tr("done"),
        "failed": tr("failed"),
        "cancelled": tr("cancelled"),
    }
    tiles = f" · {record.tiles_done}/{record.tiles_total}" if record.tiles_total else ""
    if record.strategy not in ("", "tiles"):
        tiles += " · " + tr("{strategy}, {n} prompter call(s)").format(
            strategy=record.strategy, n=record.prompter_calls
        )
    if record.job_state == "done" and record.features == 0:
        found = tr("no target")
    else:
        found = tr("{n} polygon(s)").format(n=record.features)
    return tr("{name} — {state}, {found}{tiles}").format(
        name=layer_name_short(record), state=states.get(record.job_state, record.job_state), found=found, tiles=tiles
    )


def layer_name_short(record: ResultRecord) -> str:
    """The record's layer name, short: its query is elided, never the " · raster (2)" that tells runs apart."""
    name = record.name or record.query
    query = layer_name_for(record.query)
    suffix = name[len(query) :] if record.name.startswith(query) else ""
    return elide(query, max(12, RESULT_NAME_LENGTH - len(suffix))) + suffix
