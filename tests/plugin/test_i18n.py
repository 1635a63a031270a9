"""Translations: every user string has a French translation, and the compiled .qm is used by the dock."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from think2map.plugin.gui.i18n import install_translator, remove_translator, tr

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.live
def test_every_user_string_is_translated():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "i18n_ts.py"), "check", "--lang", "fr"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout[-3000:]


def compiled_french(folder: Path) -> Path:
    """i18n/think2map_fr.ts compiled into ``folder`` (as ``make i18n`` does)."""
    lrelease = shutil.which("lrelease")
    if lrelease is None:
        pytest.skip("lrelease is missing (apt-get install qttools5-dev-tools)")
    subprocess.run(
        [lrelease, "-silent", str(ROOT / "i18n" / "think2map_fr.ts"), "-qm", str(folder / "think2map_fr.qm")],
        check=True,
        env={"QT_SELECT": "qt5", "PATH": "/usr/bin"},
    )
    return folder


def english_runs(english: str, french: str, n: int = 3) -> list[str]:
    """Runs of ``n`` English words of ``english`` found again in ``french`` (quoted commands and names aside)."""

    def words(text: str) -> list[str]:
        return re.findall(r"[a-z]+", re.sub(r"'[^']*'|\{[a-z_]+\}", " ", text.lower()))

    source, target = words(english), " " + " ".join(words(french)) + " "
    runs = [" ".join(source[i : i + n]) for i in range(len(source) - n + 1)]
    return [run for run in runs if f" {run} " in target]


@pytest.mark.live
def test_every_error_code_is_said_in_french_in_the_dock_and_in_processing(tmp_path):
    from think2map import contract
    from think2map.plugin.core.messages import DOCK, PROCESSING, known_codes, message_for

    assert known_codes() == set(contract.ERROR_CODES)  # a sentence for each code the backend may send
    params = {
        code: {name: {"kind": "segmenter", "max_bytes": 1048576}.get(name, f"<{name}>") for name in names}
        for code, names in contract.ERROR_CODES.items()
    }
    english = {(c, w): message_for(c, params[c], where=w) for c in contract.ERROR_CODES for w in (DOCK, PROCESSING)}
    assert all("<" in text or "{" not in text for text in english.values())  # every placeholder was filled
    translator = install_translator("fr", compiled_french(tmp_path))
    try:
        french = {key: message_for(key[0], params[key[0]], where=key[1]) for key in english}
    finally:
        remove_translator(translator)
    for key, text in french.items():
        assert text != english[key], f"{key}: not translated: {text}"
        assert not english_runs(english[key], text), f"{key}: English left in {text!r}"
        for value in params[key[0]].values():
            if isinstance(value, str) and value != "segmenter":
                assert value in text or value not in english[key], f"{key}: {value} lost in {text!r}"
    assert "segmenteur" in french[("missing_weights", DOCK)]  # parameters put in words are translated too


@pytest.mark.live
def test_a_refusal_reaches_the_french_dock_in_french(tmp_path, fake_manager, qgis_iface, qgis_new_project, qtbot):
    import numpy as np
    from qgis.core import QgsProject, QgsRasterLayer
    from think2map.plugin.gui.controller import DockController

    from .conftest import write_raster

    huge = write_raster(tmp_path / "huge.tif", np.full((3, 64, 64), 9, np.uint8), epsg=28992)
    raster = QgsRasterLayer(str(huge), "huge")
    QgsProject.instance().addMapLayer(raster)
    translator = install_translator("fr", compiled_french(tmp_path))
    controller = DockController(qgis_iface, fake_manager)
    try:
        got = []
        controller.message.connect(lambda level, text, details: got.append((level, text, details)))
        qtbot.waitUntil(lambda: controller.client is not None)
        assert controller.run(raster, "les toits")
        qtbot.waitUntil(lambda: not controller.is_running, timeout=30_000)
        # The last error: the model list's own refresh may say something later (the FAKE backend lists none).
        level, text, details = [m for m in got if m[0] == "error"][-1]
        assert level == "error" and text.startswith("La requête a échoué : Cette zone demande 1764 tuiles"), text
        assert "Options avancées" in text and not english_runs(details, text)
        assert "This area needs 1764 tiles" in details  # the backend's English stays behind Details
    finally:
        controller.shutdown()
        remove_translator(translator)


@pytest.mark.live
def test_compiled_french_translation_is_used(tmp_path, qgis_iface, qgis_new_project, qtbot):
    compiled_french(tmp_path)
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
