"""The Qt6 gate (tests/qt6_gate.py and flake8-qgis) passes on the tree and fails on each Qt5-only form planted."""

from __future__ import annotations

import pytest

from tests.qt6_gate import ROOT, check, problems, qgis_side_sources

pytest.importorskip("PyQt6.QtCore", reason="the Qt6 gate needs PyQt6 (requirements-dev.txt)")

PLANTED = {
    "an unscoped Qt enum": ("from qgis.PyQt.QtCore import Qt\nbutton = Qt.LeftButton\n", "Qt.LeftButton"),
    "exec_()": ("from qgis.PyQt.QtWidgets import QDialog\nQDialog().exec_()\n", "exec_() is gone"),
    "an unscoped widget enum": (
        "from qgis.PyQt.QtWidgets import QMessageBox\nicon = QMessageBox.Warning\n",
        "QMessageBox.Warning",
    ),
    "a class Qt6 moved": ("from qgis.PyQt.QtWidgets import QUndoStack\n", "QUndoStack is not in PyQt6.QtWidgets"),
    "PyQt5 itself": ("from PyQt5.QtCore import Qt\n", "import through qgis.PyQt"),
}


def test_the_plugin_names_only_what_pyqt6_has():
    found = check(qgis_side_sources())
    assert not found, "\n".join(map(str, found))


@pytest.mark.parametrize("kind", PLANTED)
def test_each_planted_qt5_only_form_is_found(kind):
    source, words = PLANTED[kind]
    assert any(words in str(p) for p in problems(source)), problems(source)


def test_scoped_forms_and_the_qgis_shims_pass():
    source = (
        "from qgis.PyQt.QtCore import Qt, QProcess\nfrom qgis.PyQt.QtWidgets import QAction, QDialog\n"
        "a = Qt.MouseButton.LeftButton\nb = QProcess.ProcessState.NotRunning\nQDialog().exec()\nQAction('x')\n"
    )
    assert problems(source) == []


@pytest.mark.parametrize(("planted", "rule"), [("b = Qt.LeftButton\n", "QGS403"), ("QDialog().exec_()\n", "QGS107")])
def test_flake8_qgis_fails_on_each_planted_form(planted, rule, tmp_path):
    pytest.importorskip("flake8_qgis")
    from flake8.api import legacy
    from flake8.main.options import JobsArgument

    style = legacy.get_style_guide(config=str(ROOT / ".flake8"), jobs=JobsArgument("1"))
    assert style.check_files([str(ROOT / "plugin"), str(ROOT / "__init__.py")]).total_errors == 0
    source = tmp_path / "planted.py"
    source.write_text("from qgis.PyQt.QtCore import Qt\nfrom qgis.PyQt.QtWidgets import QDialog\n" + planted)
    report = legacy.get_style_guide(config=str(ROOT / ".flake8"), jobs=JobsArgument("1")).check_files([str(source)])
    assert report.get_statistics(rule), report.get_statistics("QGS")
