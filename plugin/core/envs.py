"""Where the backend installer keeps its environments, and which of them is complete (see :mod:`.setup_plan`)."""

from __future__ import annotations

import os
import platform
from pathlib import Path

from qgis.core import QgsApplication

from . import setup_plan as plan


def data_dir() -> Path:
    """The per-user folder for the backend's environments and the setup log (``$THINK2MAP_DATA_DIR`` overrides)."""
    override = os.environ.get("THINK2MAP_DATA_DIR")
    return Path(override) if override else Path(QgsApplication.qgisSettingsDirPath()) / "think2map"


def ready_env_python(base: Path | None = None) -> str:
    """The interpreter of the newest environment the installer finished, or '' when there is none."""
    envs = (base or data_dir()) / "envs"
    if not envs.is_dir():
        return ""
    system = platform.system()
    ready = [e for e in envs.iterdir() if (e / plan.READY_MARKER).is_file() and plan.env_python(e, system).exists()]
    if not ready:
        return ""
    newest = max(ready, key=lambda e: (e / plan.READY_MARKER).stat().st_mtime)
    return str(plan.env_python(newest, system))
