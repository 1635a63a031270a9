"""The plugin's messages in QGIS's log panel, under one tag."""

from __future__ import annotations

from qgis.core import Qgis, QgsMessageLog

LOG_TAG = "Think2Map"


def log(message: str, level: Qgis.MessageLevel = Qgis.MessageLevel.Info) -> None:
    """Write ``message`` to QGIS's log panel under the Think2Map tab."""
    QgsMessageLog.logMessage(message, LOG_TAG, level)


def warn(message: str) -> None:
    log(message, Qgis.MessageLevel.Warning)
