"""The plugin object (actions, dock, backend lifetime) and the settings dialog."""

from __future__ import annotations

import os
import sys
import time

import pytest
from think2map.plugin.core.settings import Settings
from think2map.plugin.gui.settings_dialog import SettingsDialog
from think2map.plugin.plugin import Think2MapPlugin


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except OSError:
        return False


def test_action_opens_the_dock_and_unload_removes_everything(qgis_iface, qgis_new_project):
    Settings(python_path="/nonexistent/python").save()
    plugin = Think2MapPlugin(qgis_iface)
    plugin.initGui()
    assert plugin.dock is None  # made on first use
    plugin.dock_action.trigger()
    dock = plugin.dock
    assert dock is not None and plugin.dock_action.isChecked()
    assert plugin.manager.state == "error"  # opening the dock started the backend, which cannot start here
    assert "does not exist" in dock.status_label.toolTip()
    plugin.unload()
    assert plugin.dock is None and plugin.manager is None and plugin.actions == []


@pytest.mark.live
def test_unload_stops_the_backend(qgis_iface, qgis_new_project, backend_settings, qtbot):
    plugin = Think2MapPlugin(qgis_iface)
    plugin.initGui()
    plugin.set_dock_visible(True)
    with qtbot.waitSignal(plugin.manager.ready, timeout=180_000):
        pass
    pid = plugin.manager.pid
    assert pid is not None and _alive(pid)
    assert "ready" in plugin.dock.status_label.text()
    plugin.unload()
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid), "the backend outlived the plugin"


def test_settings_dialog_round_trip_and_checks(qtbot):
    settings = Settings(
        python_path=sys.executable,  # problem() checks that it exists (the full import check runs on OK)
        models_dir="/data/models",
        prompter="think2seg-rs-7b",
        segmenter="sam-vit-b",
        device="cuda:1",
        storage="memory",
        extra_args=["--force-answer", "<answer>[]</answer>", "--max-tiles", "9"],
    )
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    assert dialog.settings() == settings
    assert dialog.problem() is None
    dialog.remote_radio.setChecked(True)
    assert not dialog.python_widget.isEnabled() and dialog.url_edit.isEnabled()
    dialog.url_edit.setText("gpu-server:8765")
    assert "http://" in dialog.problem()
    dialog.url_edit.setText("http://gpu-server:8765")
    assert dialog.problem() is None and dialog.settings().is_remote
    dialog.extra_edit.setText('--force-answer "unclosed')
    assert "do not parse" in dialog.problem()
    dialog.accept()
    assert dialog.result() == 0 and "do not parse" in dialog.error_label.text()  # not accepted
