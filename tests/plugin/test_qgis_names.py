"""QGIS's names, checked on the QGIS that runs this tier (3.22 here, 3.44 in its root): every ``qgis.core`` and
``qgis.gui`` attribute chain the plugin reads resolves, and no enum member is read unscoped from its class
(``QgsTask.CanCancel``: gone from QGIS 4's bindings' canonical names). ``compat.py`` is where names differ by
version: importing it on this QGIS is its check."""

from __future__ import annotations

import ast
import enum
import importlib

from tests.qt6_gate import ROOT, outermost_chains, qgis_side_sources


def _is_enum_type(value) -> bool:
    return isinstance(value, type) and (issubclass(value, enum.Enum) or type(value).__name__ == "enumtype")


def _is_enum_member(value) -> bool:
    return isinstance(value, enum.Enum) or type(type(value)).__name__ == "enumtype"


def qgis_name_problems(source: str, path: str) -> list[str]:
    tree = ast.parse(source)
    imported = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("qgis.core", "qgis.gui"):
            for alias in node.names:
                imported[alias.asname or alias.name] = (node.module, alias.name)
    found = []
    for line, chain in outermost_chains(tree):
        if chain[0] not in imported:
            continue
        module, name = imported[chain[0]]
        owner = getattr(importlib.import_module(module), name)
        for attr in chain[1:]:
            if not hasattr(owner, attr):
                found.append(f"{path}:{line}: {'.'.join(chain)} does not exist in this QGIS")
                break
            value = getattr(owner, attr)
            if _is_enum_member(value) and not _is_enum_type(owner):
                found.append(f"{path}:{line}: {'.'.join(chain)} reads an enum member unscoped; name its enum")
                break
            owner = value
    return found


def test_the_plugin_reads_qgis_names_this_qgis_has_and_only_scoped_enums():
    from think2map.plugin.core import compat  # noqa: F401 - its branch for this QGIS must import

    found = []
    for path in qgis_side_sources():
        if path.name == "compat.py":
            continue
        found += qgis_name_problems(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert not found, "\n".join(found)


def test_an_unscoped_qgis_enum_is_found():
    source = "from qgis.core import QgsTask, Qgis\nflag = QgsTask.CanCancel\nlevel = Qgis.MessageLevel.Warning\n"
    assert qgis_name_problems(source, "planted.py") == [
        "planted.py:2: QgsTask.CanCancel reads an enum member unscoped; name its enum"
    ]
