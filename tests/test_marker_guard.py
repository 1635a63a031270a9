"""The tier markers stay true: a test that starts a backend, a process or a server without its marker fails."""

from __future__ import annotations

PLANTED = """
import socket
import subprocess
import sys

import pytest

from tests.backend.server_harness import start_server


def test_starts_the_backend_unmarked(tmp_path):
    start_server(["--device", "cpu"], tmp_path)


def test_starts_a_process_unmarked():
    subprocess.run([sys.executable, "-c", "pass"], check=True)


def test_listens_unmarked():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()


def test_a_thread_swallows_the_refusal():
    import threading

    thread = threading.Thread(target=lambda: subprocess.run([sys.executable, "-c", "pass"]))
    thread.start()
    thread.join()


@pytest.mark.live
def test_starts_a_process_marked():
    subprocess.run([sys.executable, "-c", "pass"], check=True)


def test_computes_only():
    assert sum(range(4)) == 6
"""

CONFTEST = """
from tests import marker_guard
from tests.marker_guard import pytest_runtest_call, pytest_runtest_protocol  # noqa: F401


def pytest_configure(config):
    marker_guard.register(config)
    marker_guard.install()
"""


def test_an_unmarked_test_that_starts_a_backend_fails_and_says_which_marker(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_planted=PLANTED)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--strict-markers")
    passed, _, failed = result.reprec.listoutcomes()
    outcomes = {r.nodeid.split("::")[-1]: r.outcome for r in passed + failed}
    assert outcomes == {"test_starts_a_process_marked": "passed", "test_computes_only": "passed"} | {
        name: "failed"
        for name in (
            "test_starts_the_backend_unmarked",
            "test_starts_a_process_unmarked",
            "test_listens_unmarked",
            "test_a_thread_swallows_the_refusal",
        )
    }
    text = result.stdout.str()
    assert "test_starts_the_backend_unmarked started a process but has no tier marker" in text
    assert "test_listens_unmarked listened on a socket (a server) but has no tier marker" in text
    assert "@pytest.mark.live" in text
