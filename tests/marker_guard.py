"""Keeps the test markers true: a test that starts a process or listens on a socket must say so with a marker.

The markers (registered in pyproject.toml) sort tests into tiers:

- ``live``: starts a backend, a server (HTTP, tile server, QGIS Server), Ray, or any other process;
- ``install``: builds a Python environment;
- ``sweep``: runs a long list of bad inputs or fuzzes the API.

``make test-fast`` runs every test without one of them. While a test runs (its fixtures included), starting a
process (``subprocess``, ``os.system``, ``multiprocessing``, ``QProcess``) or listening on a socket without one of
these markers fails that test with a message naming the marker. The conftests install the guard; installing it
twice is harmless, so a pytest run inside a test (the guard's own test) reports to the innermost test.
"""

from __future__ import annotations

import functools
import os
import socket
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

TIER_MARKERS = ("live", "install", "sweep")
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"  # where the markers are described


# Standard-library look-ups that run a helper program (``ldconfig -p`` behind ``ctypes.util.find_library``, which
# ``import torch`` calls; ``uname`` behind ``platform``): a library asking about the machine, not a test's process.
HELPER_MODULES = ("ctypes.util", "platform", "uuid")


class UnmarkedProcessError(AssertionError):
    """A test without a tier marker started a process or a server."""


class _State:
    item: pytest.Item | None = None
    installed = False
    violations: dict[str, str] = {}  # test id -> the first message, also when a thread swallowed the error


STATE = _State()


def register(config: pytest.Config) -> None:
    """Register pyproject.toml's markers where its list is not read (a pytest run inside a test)."""
    known = {line.split(":")[0] for line in config.getini("markers")}
    declared = tomllib.loads(PYPROJECT.read_text())["tool"]["pytest"]["ini_options"]["markers"]
    for line in declared:
        if line.split(":")[0] not in known:
            config.addinivalue_line("markers", line)


def tier_of(item: pytest.Item) -> str | None:
    """The item's tier marker, or None for a fast test."""
    for name in TIER_MARKERS:
        if item.get_closest_marker(name) is not None:
            return name
    return None


def check(what: str) -> None:
    """Fail the running test when it has no tier marker (outside a test, anything goes)."""
    item = STATE.item
    if item is None or tier_of(item) is not None or _from_helper():
        return
    message = (
        f"{item.nodeid} {what} but has no tier marker: mark it @pytest.mark.live (or install, sweep), "
        "or use an in-process fake; `make test-fast` runs only unmarked tests."
    )
    STATE.violations.setdefault(item.nodeid, message)
    raise UnmarkedProcessError(message)


def _from_helper() -> bool:
    frame = sys._getframe(2)
    for _ in range(40):
        if frame is None:
            return False
        if frame.f_globals.get("__name__") in HELPER_MODULES:
            return True
        frame = frame.f_back
    return False


def _guard(owner: Any, name: str, what: str) -> None:
    original: Callable = getattr(owner, name)
    if getattr(original, "_think2map_guard", False):
        return

    @functools.wraps(original)
    def guarded(*args, **kwargs):
        check(what)
        return original(*args, **kwargs)

    guarded._think2map_guard = True  # type: ignore[attr-defined]
    setattr(owner, name, guarded)


def install() -> None:
    """Wrap the ways a test starts a process or a server (idempotent)."""
    if STATE.installed:
        return
    STATE.installed = True
    _guard(subprocess.Popen, "_execute_child", "started a process")
    _guard(os, "system", "started a process")
    _guard(socket.socket, "listen", "listened on a socket (a server)")
    import multiprocessing.process

    _guard(multiprocessing.process.BaseProcess, "start", "started a process")
    try:
        from qgis.PyQt.QtCore import QProcess
    except ImportError:
        return
    _guard(QProcess, "start", "started a process (QProcess)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    """Remember the running test (its setup, call and teardown), restoring an outer run's test afterwards."""
    outer, STATE.item = STATE.item, item
    try:
        yield
    finally:
        STATE.item = outer


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """Fail a test whose unmarked process or server was refused in a thread that swallowed the error."""
    outcome = yield
    message = STATE.violations.pop(item.nodeid, None)
    if message is not None and outcome.excinfo is None:
        outcome.force_exception(UnmarkedProcessError(message))
