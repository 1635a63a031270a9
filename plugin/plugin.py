"""The plugin object QGIS loads: toolbar and menu actions, the dock, the backend's lifetime, translations."""

from __future__ import annotations

from pathlib import Path

from qgis.core import QgsApplication
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QAction

from .core.log import log
from .core.process import BackendManager
from .core.settings import Settings
from .gui.i18n import install_translator, remove_translator, tr

PLUGIN_DIR = Path(__file__).resolve().parents[1]
MENU = "&Think2Map"
CLICK_SHORTCUT = "Ctrl+Alt+K"


class Think2MapPlugin:
    """Owns the actions, the dock (made when first shown) and the backend manager (stopped on unload)."""

    def __init__(self, iface):
        self.iface = iface
        self.translator = None
        self.manager: BackendManager | None = None
        self.controller = None
        self.dock = None
        self.provider = None
        self.actions: list[QAction] = []

    def initGui(self) -> None:  # noqa: N802 (QGIS's name)
        self.translator = install_translator()
        icon = QIcon(str(PLUGIN_DIR / "resources" / "icon.svg"))
        self.dock_action = QAction(icon, tr("Think2Map panel"), self.iface.mainWindow())
        self.dock_action.setObjectName("think2mapDockAction")
        self.dock_action.setCheckable(True)
        self.dock_action.setToolTip(tr("Show or hide the Think2Map panel: segment a raster by describing it"))
        self.dock_action.toggled.connect(self.set_dock_visible)
        self.settings_action = QAction(tr("Think2Map settings…"), self.iface.mainWindow())
        self.settings_action.setObjectName("think2mapSettingsAction")
        self.settings_action.triggered.connect(self.show_settings)
        self.click_action = QAction(icon, tr("Think2Map: click to segment"), self.iface.mainWindow())
        self.click_action.setObjectName("think2mapClickAction")
        self.click_action.setCheckable(True)
        self.click_action.setToolTip(
            tr("Click or drag on the map to outline an object; Enter adds it ({key})").format(key=CLICK_SHORTCUT)
        )
        self.click_action.toggled.connect(self.set_click_tool)
        self.iface.registerMainWindowAction(self.click_action, CLICK_SHORTCUT)
        self.iface.addToolBarIcon(self.dock_action)
        self.iface.addToolBarIcon(self.click_action)
        for action in (self.dock_action, self.click_action, self.settings_action):
            self.iface.addPluginToRasterMenu(MENU, action)
            self.actions.append(action)
        self.manager = BackendManager(parent=self.iface.mainWindow())
        self._add_processing_provider()

    def unload(self) -> None:
        """Stop the backend and remove everything :meth:`initGui` added."""
        if self.controller is not None:
            self.controller.shutdown()
        if self.manager is not None:
            self.manager.stop(wait_ms=3000)
            self.manager.deleteLater()
            self.manager = None
        self._stop_processing_backend()
        if self.dock is not None:
            self.dock.cleanup()
            self.iface.removeDockWidget(self.dock)
            self.dock.deleteLater()
            self.dock = None
        self.controller = None
        self.iface.unregisterMainWindowAction(self.click_action)
        for action in self.actions:
            self.iface.removePluginRasterMenu(MENU, action)
            self.iface.removeToolBarIcon(action)
            action.deleteLater()
        self.actions = []
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
        remove_translator(self.translator)
        self.translator = None

    # ----- dock --------------------------------------------------------------------------------------------
    def ensure_dock(self):
        """Make the dock and its controller on first use."""
        if self.dock is None:
            from .gui.controller import DockController
            from .gui.dock import Think2MapDock

            self.controller = DockController(self.iface, self.manager)
            self.dock = Think2MapDock(self.iface, self.controller, self.iface.mainWindow())
            self.dock.settingsRequested.connect(self.show_settings)
            self.dock.setupRequested.connect(self.show_setup)
            self.dock.click_box.tool_button.toggled.connect(self._on_click_tool)
            self.dock.visibilityChanged.connect(self._on_dock_visibility)
            self.iface.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        return self.dock

    def set_dock_visible(self, visible: bool) -> None:
        """Show (starting the backend) or hide the dock."""
        if not visible and self.dock is None:
            return
        dock = self.ensure_dock()
        dock.setUserVisible(visible)
        if visible:
            dock.raise_()
            self.controller.ensure_backend()

    def set_click_tool(self, on: bool) -> None:
        """The toolbar's click tool: through the dock's "Click to segment" box (it needs the dock's raster)."""
        if on:
            self.set_dock_visible(True)
            self.dock_action.setChecked(True)
        if self.dock is not None:
            self.dock.click_box.tool_button.setChecked(on)

    def _on_click_tool(self, on: bool) -> None:
        if self.click_action.isChecked() != on:
            self.click_action.blockSignals(True)
            self.click_action.setChecked(on)
            self.click_action.blockSignals(False)

    def _on_dock_visibility(self, visible: bool) -> None:
        if self.dock is not None and self.dock_action.isChecked() != self.dock.isUserVisible():
            self.dock_action.blockSignals(True)
            self.dock_action.setChecked(self.dock.isUserVisible())
            self.dock_action.blockSignals(False)

    # ----- settings ----------------------------------------------------------------------------------------
    def show_settings(self) -> None:
        """Edit the settings; restart a running backend when they changed."""
        from .gui.settings_dialog import SettingsDialog

        before = Settings.load()
        dialog = SettingsDialog(before, self.iface.mainWindow())
        if not dialog.exec():
            return
        after = dialog.settings()
        after.save()
        if after != before and self.manager is not None and self.manager.state != "stopped":
            log(tr("Settings changed: restarting the backend."))
            self.manager.restart()

    def show_setup(self) -> None:
        """The backend installer; when it succeeds, the backend starts from the new environment."""
        from .gui.setup_dialog import SetupDialog

        dialog = SetupDialog(self.iface.mainWindow())
        dialog.installed.connect(lambda _python: self.manager.restart() if self.manager is not None else None)
        dialog.exec()

    # ----- processing (plugin/processing, when present) ------------------------------------------------------
    def initProcessing(self) -> None:  # noqa: N802 (QGIS's name; also called by qgis_process without a GUI)
        self._add_processing_provider()

    def _add_processing_provider(self) -> None:
        if self.provider is not None:
            return
        try:
            from .processing.provider import Think2MapProvider
        except ImportError:
            return
        self.provider = Think2MapProvider(lambda: self.manager)  # its algorithm uses this backend when ready
        QgsApplication.processingRegistry().addProvider(self.provider)

    def _stop_processing_backend(self) -> None:
        from .core.blocking import stop_shared_blocking_backend

        stop_shared_blocking_backend()
