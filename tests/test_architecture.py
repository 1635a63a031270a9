"""The layout's rules, checked on the source: no import cycle in backend/ or plugin/ (imports inside functions
count too), the plugin imports nothing but the standard library, qgis, itself and the contract, the backend never
imports the plugin, and geo/ never needs torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module -> the modules of the same package it imports, anywhere in its code."""
    modules = {}
    for path in package.rglob("*.py"):
        name = ".".join(path.with_suffix("").relative_to(package.parent).parts)
        modules[name.removesuffix(".__init__")] = path
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = here.split(".")[: len(here.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            graph[name].update(t for t in targets if t in graph and t != name)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


@pytest.mark.parametrize("package", ["backend", "plugin"])
def test_no_import_cycle(package):
    assert find_cycle(import_graph(ROOT / package)) is None


def test_a_cycle_inside_a_function_is_found(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from ..a import thing\n")
    assert find_cycle(import_graph(pkg)) == ["pkg.a", "pkg.sub.b", "pkg.a"]
    (pkg / "sub" / "b.py").write_text("def f():\n    import json\n")
    assert find_cycle(import_graph(pkg)) is None


def foreign_imports(root: Path) -> list[str]:
    """Imports under ``root`` (the plugin's files) of anything but the standard library, qgis and the plugin."""
    allowed = set(sys.stdlib_module_names) | {"qgis", "__future__"}
    bad = []
    files = [ROOT / "__init__.py", *sorted(root.rglob("*.py"))]
    for path in files:
        depth = len(path.relative_to(ROOT).parts) - 1  # packages between the plugin root and this file
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            elif isinstance(node, ast.ImportFrom):
                # Relative: it must stay inside the plugin package; at its root, only plugin/ and the contract.
                first = (node.module or "").split(".")[0]
                reached = [first] if first else [alias.name for alias in node.names]
                if node.level > depth + 1 or (node.level == depth + 1 and set(reached) - PLUGIN_ROOT_MODULES):
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno}: from {'.' * node.level}{node.module or ''}")
                continue
            else:
                continue
            bad += [f"{path.relative_to(ROOT)}:{node.lineno}: {n}" for n in names if n.split(".")[0] not in allowed]
    return bad


PLUGIN_ROOT_MODULES = {"plugin", "contract"}  # what the plugin may import from the folder QGIS loads


def backend_imports_of_the_plugin(backend: Path) -> list[str]:
    """Imports under ``backend`` of the plugin package (``plugin``, absolute or relative beyond the backend)."""
    bad = []
    for path in sorted(backend.rglob("*.py")):
        depth = len(path.relative_to(backend.parent).parts) - 1
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            elif isinstance(node, ast.ImportFrom) and node.level > depth:
                first = (node.module or "").split(".")[0]
                names = [first] if first else [alias.name for alias in node.names]
            else:
                continue
            rel = path.relative_to(backend.parent)
            bad += [f"{rel}:{node.lineno}: {n}" for n in names if n.split(".")[0] in ("plugin", "qgis")]
    return bad


def test_the_backend_never_imports_the_plugin():
    assert backend_imports_of_the_plugin(ROOT / "backend") == []


def test_a_plugin_import_planted_in_the_backend_is_found(tmp_path):
    backend = tmp_path / "backend"
    (backend / "geo").mkdir(parents=True)
    (backend / "geo" / "x.py").write_text(
        "import contract\nfrom . import y\n\ndef f():\n    from plugin.core import settings\n"
        "    from ... import plugin\n    import qgis.core\n"
    )
    assert backend_imports_of_the_plugin(backend) == [
        "backend/geo/x.py:5: plugin.core",
        "backend/geo/x.py:6: plugin",
        "backend/geo/x.py:7: qgis.core",
    ]


def test_the_plugin_imports_only_the_standard_library_qgis_and_itself():
    assert foreign_imports(ROOT / "plugin") == []


def test_a_foreign_import_in_the_plugin_is_found(tmp_path, monkeypatch):
    fake_root = tmp_path / "root"
    (fake_root / "plugin" / "core").mkdir(parents=True)
    (fake_root / "__init__.py").write_text("")
    (fake_root / "plugin" / "core" / "x.py").write_text(
        "import json\nfrom qgis.core import QgsProject\nfrom . import y\n\ndef f():\n    import numpy\n"
        "    from ...backend import pipeline\n    from ... import contract\n    from ... import backend\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "ROOT", fake_root)
    assert foreign_imports(fake_root / "plugin") == [
        "plugin/core/x.py:6: numpy",
        "plugin/core/x.py:7: from ...backend",
        "plugin/core/x.py:9: from ...",
    ]


@pytest.mark.live
def test_geo_and_the_contract_load_without_torch():
    code = (
        "import sys; import backend.geo.raster, backend.geo.tiling, backend.geo.geometry, backend.geo.output;"
        "import contract;"
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
