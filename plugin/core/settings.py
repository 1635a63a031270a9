"""The plugin's settings, kept in QgsSettings under ``think2map/...``."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from qgis.core import QgsSettings

PLUGIN_ROOT = Path(__file__).resolve().parents[2]
PREFIX = "think2map/"
DEFAULT_PROMPTER = "think2seg-rs-3b"
DEFAULT_SEGMENTER = "sam2.1-s"
BACKEND_MODES = ("local", "remote")
STORAGES = ("gpkg", "memory")


def default_python_path(root: Path = PLUGIN_ROOT) -> str:
    """The interpreter of the venv that ``make setup`` builds in the plugin folder, or '' when there is none."""
    candidates = [root / ".venv" / "Scripts" / "python.exe"] if os.name == "nt" else [root / ".venv" / "bin" / "python"]
    return next((str(p) for p in candidates if p.exists()), "")


@dataclass
class Settings:
    """Everything the plugin needs to reach a backend and write results."""

    python_path: str = field(default_factory=default_python_path)
    backend_mode: str = "local"
    remote_url: str = ""
    remote_token: str = ""
    models_dir: str = ""
    prompter: str = DEFAULT_PROMPTER
    segmenter: str = DEFAULT_SEGMENTER
    device: str = "auto"
    storage: str = "gpkg"
    extra_args: list[str] = field(default_factory=list)

    @classmethod
    def load(cls) -> Settings:
        """Read the stored settings; anything missing, empty or invalid falls back to its default."""
        qs = QgsSettings()
        out = cls()
        for f in fields(cls):
            raw = qs.value(PREFIX + f.name, None)
            if raw is None or raw == "":
                continue
            if f.name == "extra_args":
                out.extra_args = _decode_list(raw)
            else:
                setattr(out, f.name, str(raw))
        if out.backend_mode not in BACKEND_MODES:
            out.backend_mode = "local"
        if out.storage not in STORAGES:
            out.storage = "gpkg"
        return out

    def save(self) -> None:
        """Write every field to QgsSettings (lists as JSON text, which survives QSettings' list quirks)."""
        qs = QgsSettings()
        for f in fields(self):
            value = getattr(self, f.name)
            qs.setValue(PREFIX + f.name, json.dumps(list(value)) if f.name == "extra_args" else str(value))

    @property
    def is_remote(self) -> bool:
        return self.backend_mode == "remote"


def _decode_list(raw) -> list[str]:
    if isinstance(raw, (list, tuple)):
        return [str(v) for v in raw]
    try:
        value = json.loads(str(raw))
    except ValueError:
        return str(raw).split()
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]
