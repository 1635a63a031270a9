"""BackendManager with a stand-in backend process: start, health, crash and automatic restart, errors, stop."""

from __future__ import annotations

import os
import signal
import time

import pytest
from think2map.plugin.core import process as backend_process
from think2map.plugin.core.launch import backend_arguments, parse_listening_line
from think2map.plugin.core.process import BackendManager
from think2map.plugin.core.settings import Settings

from .conftest import fake_backend_python as wrapper


def manager_for(**kwargs) -> BackendManager:
    settings = Settings(**kwargs)
    return BackendManager(settings_loader=lambda: settings)


def test_arguments_and_listening_line():
    args = backend_arguments(Settings(prompter="p", segmenter="s", device="cpu", models_dir="", extra_args=["-x"]))
    assert args == [
        "-m",
        "backend",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--prompter",
        "p",
        "--segmenter",
        "s",
        "--device",
        "cpu",
        "-x",
    ]
    assert parse_listening_line('{"event": "listening", "host": "127.0.0.1", "port": 5}\n')["port"] == 5
    assert parse_listening_line("INFO starting") is None
    assert parse_listening_line('{"event": "other", "port": 5}') is None


@pytest.mark.live
def test_start_health_and_stop(tmp_path, qtbot):
    m = manager_for(python_path=wrapper(tmp_path))
    states = []
    m.stateChanged.connect(lambda s, d: states.append(s))
    with qtbot.waitSignal(m.ready, timeout=20_000) as ready:
        m.start()
    assert m.state == "ready" and m.device == "cpu"
    assert ready.args == [m.url, m.token] and m.url.startswith("http://127.0.0.1:") and len(m.token) > 30
    assert m.client().health()["status"] == "ready"
    pid = m.pid
    assert pid
    m.stop(wait_ms=5000)
    assert m.state == "stopped" and states == ["starting", "ready", "stopped"]
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


@pytest.mark.live
def test_killed_backend_restarts_and_recovers(tmp_path, qtbot):
    m = manager_for(python_path=wrapper(tmp_path))
    with qtbot.waitSignal(m.ready, timeout=20_000):
        m.start()
    old_pid, old_url = m.pid, m.url
    with qtbot.waitSignal(m.crashed, timeout=10_000) as crash:
        os.kill(old_pid, signal.SIGTERM)
    assert crash.args[0] == "The backend stopped unexpectedly: it was killed by signal 15 (SIGTERM)."
    assert crash.args[2] is True and m.state == "starting" and "restarting" in m.detail.lower()
    with qtbot.waitSignal(m.ready, timeout=20_000):
        pass
    assert m.pid != old_pid and m.url != old_url
    assert m.client().health()["status"] == "ready"
    m.stop(wait_ms=5000)


@pytest.mark.live
def test_restart_limit_ends_in_error(tmp_path, qtbot, monkeypatch):
    monkeypatch.setattr(backend_process, "MAX_RESTARTS", 0)
    m = manager_for(python_path=wrapper(tmp_path))
    with qtbot.waitSignal(m.ready, timeout=20_000):
        m.start()
    crashes = []
    m.crashed.connect(lambda *args: crashes.append(args))
    with qtbot.waitSignal(m.stateChanged, timeout=10_000, check_params_cb=lambda s, d: s == "error") as sig:
        os.kill(m.pid, signal.SIGKILL)
    assert "killed by signal 9 (SIGKILL)" in sig.args[1]
    assert crashes == [(sig.args[1].split("\n")[0], "fake backend starting", False)]  # named; no restart
    with qtbot.waitSignal(m.ready, timeout=20_000):
        m.restart()
    assert m.client().health()["status"] == "ready"
    m.stop(wait_ms=5000)


def test_missing_interpreter_says_how_to_fix(tmp_path):
    m = manager_for(python_path=str(tmp_path / "nope" / "python"))
    m.start()
    assert m.state == "error"
    assert "does not exist" in m.detail and "make setup" in m.detail


@pytest.mark.live
def test_failing_backend_reports_stderr_and_hint(tmp_path, qtbot):
    m = manager_for(python_path=wrapper(tmp_path, env="FAKE_BACKEND_FAIL=1 "))
    with qtbot.waitSignal(m.stateChanged, timeout=20_000, check_params_cb=lambda s, d: s == "error"):
        m.start()
    assert "stopped while starting: it exited with code 1" in m.detail
    assert "No module named 'torch'" in m.detail and "make setup" in m.detail


@pytest.mark.live
def test_start_timeout(tmp_path, qtbot):
    path = tmp_path / "python"
    path.write_text("#!/bin/sh\necho 'loading…' >&2\nexec sleep 30\n")
    path.chmod(0o755)
    m = manager_for(python_path=str(path))
    m.start_timeout_s = 1
    t0 = time.monotonic()
    with qtbot.waitSignal(m.stateChanged, timeout=10_000, check_params_cb=lambda s, d: s == "error"):
        m.start()
    assert time.monotonic() - t0 < 8
    assert "did not start within 1 s" in m.detail and "loading…" in m.detail


@pytest.mark.live
def test_remote_mode_checks_health_without_a_process(qtbot):
    from .fake_backend import FakeServer

    server = FakeServer("remote-token").start_in_thread()
    try:
        m = manager_for(backend_mode="remote", remote_url=server.url + "/", remote_token="remote-token")
        with qtbot.waitSignal(m.ready, timeout=10_000):
            m.start()
        assert m.pid is None and m.url == server.url and m.token == "remote-token"
        bad = manager_for(backend_mode="remote", remote_url=server.url, remote_token="wrong")
        with qtbot.waitSignal(bad.stateChanged, timeout=10_000, check_params_cb=lambda s, d: s == "error"):
            bad.start()
        assert "401" in bad.detail
        empty = manager_for(backend_mode="remote", remote_url="")
        empty.start()
        assert empty.state == "error" and "URL" in empty.detail
    finally:
        server.shutdown()
        server.server_close()
