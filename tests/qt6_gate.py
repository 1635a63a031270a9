"""The Qt6 gate: every Qt name the plugin's QGIS-side code uses, resolved against PyQt6, and no Qt5-only form left.

QGIS 4 is Qt6 only, and no QGIS 4 build runs here; PyQt6 from PyPI does. The code that runs inside QGIS (the
plugin, the package's ``__init__.py``, the plugin tests and the desktop driver) is read with ``ast``: every name
imported from ``qgis.PyQt.<Module>`` and every attribute chain read from it (``Qt.MouseButton.LeftButton``,
``QProcess.ProcessState.NotRunning``, ``QMessageBox.Icon.Warning``) must exist in ``PyQt6.<Module>``, which has no
unscoped enums; ``exec_()`` is refused. QGIS's own names are checked by the plugin tier, on the QGIS that runs it
(``tests/plugin/test_qgis_names.py``).
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# QGIS makes these importable from QtWidgets as in Qt5 (from 3.34, kept in 4.x), where 3.22 has them only.
QGIS_SHIMS = {("QtWidgets", "QAction"), ("QtWidgets", "QActionGroup"), ("QtWidgets", "QShortcut")}


def qgis_side_sources(root: Path = ROOT) -> list[Path]:
    """The Python files that run inside QGIS."""
    files = [root / "__init__.py", *sorted((root / "plugin").rglob("*.py"))]
    files += [*sorted((root / "tests" / "plugin").rglob("*.py")), root / "tests" / "desktop" / "drive_dock.py"]
    return [f for f in files if f.is_file()]


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.text}"


def _chain(node: ast.AST) -> list[str] | None:
    """``["Qt", "MouseButton", "LeftButton"]`` for ``Qt.MouseButton.LeftButton``; None if not a plain chain."""
    names: list[str] = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    names.append(node.id)
    return names[::-1]


def outermost_chains(tree: ast.AST) -> Iterator[tuple[int, list[str]]]:
    """Every attribute chain that is not itself part of a longer chain."""
    inner: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            inner.add(id(node.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and id(node) not in inner:
            chain = _chain(node)
            if chain:
                yield node.lineno, chain


def problems(source: str, path: str = "<source>") -> list[Problem]:
    """What in ``source`` would fail under PyQt6 (QGIS 4)."""
    tree = ast.parse(source)
    imported: dict[str, str] = {}  # local name -> PyQt module
    found: list[Problem] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module in ("PyQt5", "PyQt6") or node.module.startswith(("PyQt5.", "PyQt6.")):
                found.append(Problem(path, node.lineno, f"import from {node.module}: import through qgis.PyQt"))
            if node.module.startswith("qgis.PyQt."):
                module = node.module.split(".", 2)[2]
                for alias in node.names:
                    imported[alias.asname or alias.name] = module
                    if (module, alias.name) not in QGIS_SHIMS and not _resolves(module, [alias.name]):
                        found.append(Problem(path, node.lineno, f"{alias.name} is not in PyQt6.{module}"))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in ("PyQt5", "PyQt6", "sip"):
                    found.append(Problem(path, node.lineno, f"import {alias.name}: import through qgis.PyQt"))
        elif isinstance(node, ast.Attribute) and node.attr == "exec_":
            found.append(Problem(path, node.lineno, "exec_() is gone in PyQt6: use exec()"))
    for line, chain in outermost_chains(tree):
        module = imported.get(chain[0])
        if module is None:
            continue
        if (module, chain[0]) in QGIS_SHIMS:
            chain = chain[:1]
        if not _resolves(module, chain):
            found.append(Problem(path, line, f"{'.'.join(chain)} does not exist in PyQt6 (an unscoped enum?)"))
    return found


def _resolves(module: str, chain: list[str]) -> bool:
    try:
        value: object = importlib.import_module(f"PyQt6.{module}")
    except ImportError:
        return False
    for name in chain:
        if not hasattr(value, name):
            return False
        value = getattr(value, name)
    return True


def check(paths: Iterable[Path], root: Path = ROOT) -> list[Problem]:
    """Every problem in ``paths``."""
    out: list[Problem] = []
    for path in paths:
        out += problems(path.read_text(encoding="utf-8"), str(path.relative_to(root)))
    return out
