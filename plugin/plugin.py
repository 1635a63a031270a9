"""The plugin object QGIS loads. The dock, backend manager and Processing provider come with the plugin issue."""

from __future__ import annotations

from qgis.core import Qgis, QgsMessageLog


class Think2MapPlugin:
    """Minimal plugin: loads and unloads cleanly inside QGIS."""

    def __init__(self, iface):
        self.iface = iface

    def initGui(self) -> None:  # noqa: N802 (QGIS's name)
        QgsMessageLog.logMessage("Think2Map loaded; the backend runs with: python -m backend", "Think2Map",
                                 Qgis.Info)

    def unload(self) -> None:
        pass
