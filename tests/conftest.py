"""Shared fixtures: the real rasters in ../shared/data, and tiny models built offline once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import marker_guard
from tests.locations import ROOT, SHARED_DATA, TINY_MODELS  # noqa: F401 - ROOT and TINY_MODELS for the tiers
from tests.marker_guard import pytest_runtest_call, pytest_runtest_protocol  # noqa: F401 - the guard's hooks

try:  # tests/plugin needs QGIS's Python (.venv-qgis, `make test-plugin`); the backend's .venv cannot import qgis
    import qgis  # noqa: F401
except ImportError:
    collect_ignore = ["plugin"]


def pytest_configure(config: pytest.Config) -> None:
    marker_guard.register(config)
    marker_guard.install()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real georeferenced rasters; tests that need it skip when it is absent."""
    if not (SHARED_DATA / "gorinchem_river_0p25m_epsg28992.tif").exists():
        pytest.skip(f"real test rasters not found in {SHARED_DATA} (set THINK2MAP_TEST_DATA)")
    return SHARED_DATA
