"""The "Think2Map" Processing provider."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from ..core.blocking import stop_shared_blocking_backend
from ..core.i18n import tr
from ..core.process import BackendManager
from .algorithm import SegmentByTextAlgorithm

ICON = Path(__file__).resolve().parents[2] / "resources" / "icon.svg"


class Think2MapProvider(QgsProcessingProvider):
    """Provides ``think2map:segmentbytext``.

    ``backend_source`` returns the plugin's :class:`BackendManager`, or None in a session without the plugin's
    GUI (``qgis_process``). With a manager, the algorithm uses its backend (starting it and waiting when needed);
    without one it starts, and reuses, a backend of its own.
    """

    def __init__(self, backend_source: Callable[[], BackendManager | None] | None = None):
        super().__init__()
        self.backend_source = backend_source or (lambda: None)

    def id(self) -> str:
        return "think2map"

    def name(self) -> str:
        return "Think2Map"

    def longName(self) -> str:  # noqa: N802
        return tr("Think2Map: segment rasters by text query")

    def icon(self) -> QIcon:
        return QIcon(str(ICON)) if ICON.exists() else super().icon()

    def loadAlgorithms(self) -> None:  # noqa: N802
        self.addAlgorithm(SegmentByTextAlgorithm(self.backend_source))

    def unload(self) -> None:
        stop_shared_blocking_backend()
        super().unload()
