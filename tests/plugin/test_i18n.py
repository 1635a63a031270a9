"""Translations: every user string has a French translation, and the compiled .qm is used by the dock."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from think2map.plugin.gui.i18n import install_translator, remove_translator, tr

ROOT = Path(__file__).resolve().parents[2]


def test_every_user_string_is_translated():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "i18n_ts.py"), "check", "--lang", "fr"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout[-3000:]


def test_compiled_french_translation_is_used(tmp_path, qgis_iface, qgis_new_project, qtbot):
    lrelease = shutil.which("lrelease")
    if lrelease is None:
        pytest.skip("lrelease is missing (apt-get install qttools5-dev-tools)")
    subprocess.run(
        [lrelease, "-silent", str(ROOT / "i18n" / "think2map_fr.ts"), "-qm", str(tmp_path / "think2map_fr.qm")],
        check=True,
        env={"QT_SELECT": "qt5", "PATH": "/usr/bin"},
    )
    assert install_translator("de", tmp_path) is None  # no German file: nothing installed
    translator = install_translator("fr", tmp_path)
    assert translator is not None
    try:
        assert tr("Run") == "Lancer"
        from think2map.plugin.core.process import BackendManager
        from think2map.plugin.gui.controller import DockController
        from think2map.plugin.gui.dock import Think2MapDock

        dock = Think2MapDock(qgis_iface, DockController(qgis_iface, BackendManager()))
        qtbot.addWidget(dock)
        assert dock.run_button.text() == "Lancer"
        assert dock.area_combo.itemText(0) == "Toute la couche"
        dock.cleanup()
    finally:
        remove_translator(translator)
    assert tr("Run") == "Run"
