"""Shared fixtures: the real rasters in ../shared/data, and tiny models built offline once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

try:  # tests/plugin needs QGIS's Python (.venv-qgis, `make test-plugin`); the backend's .venv cannot import qgis
    import qgis  # noqa: F401
except ImportError:
    collect_ignore = ["plugin"]
SHARED_DATA = Path(os.environ.get("THINK2MAP_TEST_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real georeferenced rasters; tests that need it skip when it is absent."""
    if not (SHARED_DATA / "gorinchem_river_0p25m_epsg28992.tif").exists():
        pytest.skip(f"real test rasters not found in {SHARED_DATA} (set THINK2MAP_TEST_DATA)")
    return SHARED_DATA
