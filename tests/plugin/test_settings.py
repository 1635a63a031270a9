"""Settings round-trip through QgsSettings, with defaults for what was never stored."""

from __future__ import annotations

from qgis.core import QgsSettings
from think2map.plugin.core import settings as settings_mod
from think2map.plugin.core.settings import Settings


def test_defaults_when_nothing_stored():
    s = Settings.load()
    assert s.backend_mode == "local"
    assert s.prompter == "think2seg-rs-3b"
    assert s.segmenter == "sam2.1-s"
    assert s.device == "auto"
    assert s.storage == "gpkg"
    assert s.extra_args == []
    assert s.python_path == settings_mod.default_python_path()


def test_default_python_is_the_plugin_venv(tmp_path):
    assert settings_mod.default_python_path(tmp_path) == ""
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("")
    assert settings_mod.default_python_path(tmp_path) == str(python)


def test_round_trip_including_lists():
    s = Settings(python_path="/opt/py/bin/python", backend_mode="remote", remote_url="http://gpu:8000",
                 remote_token="secret", models_dir="/models", prompter="think2seg-rs-7b", segmenter="sam-vit-b",
                 device="cuda:1", storage="memory", extra_args=["--force-answer", "<answer>[]</answer>"])
    s.save()
    assert QgsSettings().value("think2map/remote_url") == "http://gpu:8000"
    loaded = Settings.load()
    assert loaded == s
    assert loaded.is_remote


def test_single_item_list_and_invalid_values_fall_back():
    Settings(extra_args=["--verbose"]).save()
    assert Settings.load().extra_args == ["--verbose"]
    QgsSettings().setValue("think2map/backend_mode", "cloud")
    QgsSettings().setValue("think2map/storage", "shapefile")
    loaded = Settings.load()
    assert (loaded.backend_mode, loaded.storage) == ("local", "gpkg")
