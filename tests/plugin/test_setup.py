"""The backend installer for real: the dock's "Set up the backend…" dialog builds a venv from an empty folder
with the pinned requirements (from pip's cache and this machine's wheels), Cancel leaves nothing the plugin
would use, a retry succeeds and the backend then answers /health from the new environment.

No usable Python, no network and a full disk are made real at the boundary: an empty PATH, an unreachable
package index, a small tmpfs.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from qgis.PyQt.QtWidgets import QMessageBox
from think2map.plugin.core import setup_plan as plan
from think2map.plugin.core.envs import ready_env_python
from think2map.plugin.core.settings import Settings
from think2map.plugin.core.setup_task import BackendSetupTask
from think2map.plugin.gui.setup_dialog import SetupDialog

INSTALL_TIMEOUT_MS = 25 * 60_000


@pytest.fixture
def data(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv("THINK2MAP_DATA_DIR", str(folder))
    return folder


def _run(qtbot, task: BackendSetupTask, timeout_ms: int = 120_000) -> tuple[bool, str]:
    from qgis.core import QgsApplication

    got: list[tuple[bool, str]] = []
    task.done.connect(lambda ok, text: got.append((ok, text)))
    QgsApplication.taskManager().addTask(task)
    qtbot.waitUntil(lambda: bool(got), timeout=timeout_ms)
    return got[0]


def _no_valid_env(data: Path) -> bool:
    envs = data / "envs"
    return ready_env_python(data) == "" and not any((e / plan.READY_MARKER).exists() for e in envs.glob("*"))


@pytest.mark.live
def test_no_usable_python_is_one_clear_message(data, tmp_path, monkeypatch, qtbot):
    (tmp_path / "empty-bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    task = BackendSetupTask(configured_python=str(tmp_path / "no" / "python3"), qgis_prefix=str(tmp_path / "no-qgis"))
    ok, text = _run(qtbot, task)
    assert not ok
    assert text.startswith("No Python 3.10 or later with the venv module was found:") and "apt install" in text
    assert "Traceback" not in text and _no_valid_env(data)


@pytest.mark.live
def test_a_full_disk_is_said_before_anything_is_written(tmp_path, monkeypatch, qtbot):
    small = tmp_path / "small"
    small.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=30m", "tmpfs", str(small)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        monkeypatch.setenv("THINK2MAP_DATA_DIR", str(small / "think2map"))
        ok, text = _run(qtbot, BackendSetupTask())
        assert not ok and "GB free; the backend needs about 12 GB" in text and "Free some space" in text
        assert "Traceback" not in text and _no_valid_env(small / "think2map")
    finally:
        subprocess.run(["umount", str(small)], check=False)


@pytest.mark.live
def test_no_network_is_one_clear_message(data, monkeypatch, qtbot):
    for key in [k for k in os.environ if k.startswith("PIP_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # not this machine's local wheel folders
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")  # nothing listens there
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
    monkeypatch.setenv("PIP_RETRIES", "0")
    monkeypatch.setenv("PIP_TIMEOUT", "3")
    ok, text = _run(qtbot, BackendSetupTask(), timeout_ms=300_000)
    assert not ok and text.startswith("The package index could not be reached while installing")
    assert "Settings ▸ Options ▸ Network" in text and "Traceback" not in text
    assert _no_valid_env(data)
    assert "Could not find a version" in (data / "setup.log").read_text() or "ERROR" in (data / "setup.log").read_text()


@pytest.mark.install  # builds a real backend environment
def test_install_cancel_retry_then_the_backend_answers(data, qtbot):
    from think2map.plugin.core.process import BackendManager

    dialog = SetupDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    first = dialog.start()
    qtbot.waitUntil(lambda: first.progress() >= 10, timeout=INSTALL_TIMEOUT_MS)  # pip is collecting packages
    dialog.cancel()
    qtbot.waitUntil(lambda: dialog.task is None, timeout=120_000)
    assert "cancelled" in dialog.status_label.text() and _no_valid_env(data)
    assert dialog.start_button.isEnabled()

    second = dialog.start()
    installed: list[str] = []
    dialog.installed.connect(installed.append)
    qtbot.waitUntil(lambda: dialog.task is None, timeout=INSTALL_TIMEOUT_MS)
    assert installed, dialog.status_label.text() + "\n" + dialog.log_view.toPlainText()[-3000:]
    assert installed[0] == second.python_path == ready_env_python(data)
    assert Path(installed[0]).is_relative_to(data)  # the per-user folder, not the plugin folder
    report = dialog.log_view.toPlainText()
    assert "package torch: 2.14.1" in report and "python -m backend models pull think2seg-rs-3b" in report
    assert Settings.load(include_token=False).python_path == installed[0]

    manager = BackendManager()
    try:
        with qtbot.waitSignal(manager.ready, timeout=180_000):
            manager.start()
        assert manager.state == "ready" and manager.health_info["status"] == "ready"
    finally:
        manager.stop(wait_ms=10_000)


@pytest.mark.live
def test_the_settings_check_button_shows_the_doctor(backend_python, tiny_models, qtbot):
    from think2map.plugin.gui.settings_dialog import SettingsDialog

    settings = Settings(python_path=str(backend_python), models_dir=str(tiny_models["prompter"].parent))
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.doctor_button.click()
    assert not dialog.doctor_button.isEnabled()  # QGIS keeps running meanwhile
    qtbot.waitUntil(lambda: dialog.doctor_button.isEnabled(), timeout=120_000)
    report = dialog.doctor_report
    assert "package torch: 2.14.1" in report and "CPU only: queries will be slow" in report
    assert "python -m backend models pull think2seg-rs-3b" in report  # the default models are not in that folder
    assert dialog.doctor_box.icon() == QMessageBox.Icon.Warning and "FAIL" in dialog.doctor_box.detailedText()
