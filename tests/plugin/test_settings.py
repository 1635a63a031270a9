"""Settings round-trip through QgsSettings, with defaults for what was never stored."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from qgis.core import Qgis, QgsApplication, QgsSettings
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
    s = Settings(
        python_path="/opt/py/bin/python",
        backend_mode="remote",
        remote_url="http://gpu:8000",
        remote_token="secret",
        models_dir="/models",
        prompter="think2seg-rs-7b",
        segmenter="sam-vit-b",
        device="cuda:1",
        storage="memory",
        extra_args=["--force-answer", "<answer>[]</answer>"],
    )
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


TEST_MASTER_PASSWORD = "think2map-test-master"


@pytest.fixture
def auth_manager():
    """The test profile's authentication database with a master password; left as it was found afterwards."""
    manager = QgsApplication.authManager()
    if manager is None or manager.isDisabled():
        pytest.skip("QGIS's authentication system is disabled here")
    had_master = manager.masterPasswordHashInDatabase()
    if not manager.setMasterPassword(TEST_MASTER_PASSWORD, True):
        pytest.skip("the test profile's authentication database has another master password")
    before = set(manager.configIds())
    yield manager
    manager.setMasterPassword(TEST_MASTER_PASSWORD, True)
    for authcfg in set(manager.configIds()) - before:
        manager.removeAuthenticationConfig(authcfg)
    manager.clearMasterPassword()
    if not had_master:  # no API removes a master password: drop the one this test created
        with closing(sqlite3.connect(manager.authenticationDatabasePath())) as db, db:
            db.execute("DELETE FROM auth_pass")


@pytest.fixture
def warnings_logged():
    """Think2Map warnings sent to the QGIS message log during the test."""
    logged: list[str] = []

    def collect(message: str, tag: str, level) -> None:
        if tag == "Think2Map" and level == Qgis.MessageLevel.Warning:
            logged.append(message)

    QgsApplication.messageLog().messageReceived.connect(collect)
    yield logged
    QgsApplication.messageLog().messageReceived.disconnect(collect)


def test_token_lives_in_the_auth_database(auth_manager, warnings_logged):
    qs = QgsSettings()
    qs.setValue("think2map/remote_token", "legacy")  # stored in plain text by an earlier version
    assert Settings.load().remote_token == "legacy"

    s = Settings(backend_mode="remote", remote_url="http://gpu:8000", remote_token="secret")
    s.save()
    authcfg = qs.value("think2map/remote_token_authcfg")
    assert authcfg in auth_manager.configIds()
    assert qs.value("think2map/remote_token") is None
    qs.sync()
    assert "secret" not in Path(qs.fileName()).read_text(encoding="utf-8")
    assert Settings.load() == s

    s.remote_token = "rotated"
    s.save()
    assert qs.value("think2map/remote_token_authcfg") == authcfg
    assert Settings.load().remote_token == "rotated"

    auth_manager.clearMasterPassword()  # a new session, master password not entered (and nobody to ask)
    assert Settings.load().remote_token == ""
    assert any(authcfg in m for m in warnings_logged)
    assert Settings.load(include_token=False).remote_token == ""
    Settings(backend_mode="remote", remote_url="http://gpu:8000").save()  # e.g. the dialog, given the empty token
    assert qs.value("think2map/remote_token_authcfg") == authcfg  # what could not be read is not deleted
    assert auth_manager.setMasterPassword(TEST_MASTER_PASSWORD, True)
    assert Settings.load().remote_token == "rotated"

    s.remote_token = ""
    s.save()
    assert authcfg not in auth_manager.configIds()
    assert qs.value("think2map/remote_token_authcfg") is None
    assert Settings.load().remote_token == ""


def test_token_falls_back_to_plain_settings_without_a_master_password(warnings_logged):
    if QgsApplication.authManager().masterPasswordHashInDatabase():
        pytest.skip("the test profile's authentication database has a master password")
    Settings(remote_token="secret").save()
    assert QgsSettings().value("think2map/remote_token") == "secret"
    assert QgsSettings().value("think2map/remote_token_authcfg") is None
    assert Settings.load().remote_token == "secret"
    assert any("plain text" in m for m in warnings_logged)


def test_a_local_backend_never_reads_the_token(monkeypatch):
    reads = []
    monkeypatch.setattr(settings_mod, "_load_token", lambda qs: reads.append(qs) or "secret")
    local = Settings.load_for_backend()
    assert local.backend_mode == "local" and local.remote_token == "" and reads == []
    Settings(backend_mode="remote", remote_url="http://gpu.example:8000").save()
    remote = Settings.load_for_backend()
    assert remote.is_remote and remote.remote_token == "secret" and len(reads) == 1


def test_a_served_prompter_is_what_the_local_backend_is_told_to_use():
    from think2map.plugin.core.launch import backend_arguments, backend_environment

    Settings(served_url="http://gpu:8000/v1/", served_model="Think2Seg-RS-7B", served_api_key="k-123").save()
    stored = Settings.load_for_backend()  # local mode: the served key is read, the remote token is not
    assert stored.served_api_key == "k-123" and stored.remote_token == ""
    args = backend_arguments(stored)
    assert args[args.index("--prompter") + 1] == "openai:http://gpu:8000/v1#Think2Seg-RS-7B"
    env = backend_environment("tok", base={}, served_api_key=stored.served_api_key)
    assert env["THINK2MAP_OPENAI_API_KEY"] == "k-123" and env["THINK2MAP_TOKEN"] == "tok"
    Settings(prompter="think2seg-rs-3b").save()
    plain = Settings.load_for_backend()
    assert backend_arguments(plain)[backend_arguments(plain).index("--prompter") + 1] == "think2seg-rs-3b"
    assert "THINK2MAP_OPENAI_API_KEY" not in backend_environment("tok", base={})
