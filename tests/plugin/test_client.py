"""BackendClient against a stand-in server: auth header, error details, timeouts, and no proxy for loopback."""

from __future__ import annotations

import pytest
from qgis.core import QgsApplication, QgsNetworkAccessManager, QgsSettings, QgsTask
from think2map.plugin.core import client as client_mod
from think2map.plugin.core.client import BackendClient, BackendError, is_loopback

from .fake_backend import FakeServer


@pytest.fixture
def fake():
    server = FakeServer("tok").start_in_thread()
    yield server
    server.shutdown()
    server.server_close()


def test_calls_carry_the_token_and_parse_json(fake):
    c = BackendClient(fake.url + "/", "tok")
    assert c.health()["device"] == "cpu"
    job = c.submit({"raster": "/r.tif", "query": "the river"})
    assert job["id"] == "job1" and fake.bodies[0]["query"] == "the river"
    assert c.status("job1")["state"] in ("running", "done")
    assert c.features("job1", 0)["type"] == "FeatureCollection"
    assert "tiles" in c.tiles("job1", 0)
    assert c.cancel("job1")["id"] == "job1"
    assert [r[0] for r in fake.requests] == ["GET", "POST", "GET", "GET", "GET", "DELETE"]
    assert all(r[2] == "Bearer tok" for r in fake.requests)
    assert fake.requests[3][1] == "/jobs/job1/features?after=0"


def test_errors_carry_the_servers_detail_and_status(fake):
    with pytest.raises(BackendError, match="No job 'nope'") as err:
        BackendClient(fake.url, "tok").status("nope")
    assert err.value.status == 404
    with pytest.raises(BackendError, match="wrong token") as err:
        BackendClient(fake.url, "bad").health()
    assert err.value.status == 401
    with pytest.raises(BackendError, match="query: the query is empty") as err:
        BackendClient(fake.url, "tok").submit({"raster": "/r.tif", "query": " "})
    assert err.value.status == 422


def test_unreachable_and_slow_backends(fake):
    port = fake.server_address[1]
    fake.shutdown()
    fake.server_close()
    with pytest.raises(BackendError, match="No backend is listening") as err:
        BackendClient(f"http://127.0.0.1:{port}", "tok").health()
    assert err.value.status is None


def test_timeout(fake):
    c = BackendClient(fake.url, "tok", timeout_s=0.5)
    with pytest.raises(BackendError, match="did not answer in time"):
        c._call("GET", "/slow")


def test_is_loopback():
    assert is_loopback("http://127.0.0.1:5000") and is_loopback("http://localhost:1/") and is_loopback("http://[::1]:8")
    assert not is_loopback("http://gpu.example.org:8000")


@pytest.fixture
def dead_proxy():
    """QGIS set to use an HTTP proxy on a port where nothing listens."""
    s = QgsSettings()
    for key, value in {
        "proxy/proxyEnabled": True,
        "proxy/proxyType": "HttpProxy",
        "proxy/proxyHost": "127.0.0.1",
        "proxy/proxyPort": "9",
        "proxy/noProxyUrls": [],
    }.items():
        s.setValue(key, value)
    QgsNetworkAccessManager.instance().setupDefaultProxyAndCache()
    yield
    s.remove("proxy")
    QgsNetworkAccessManager.instance().setupDefaultProxyAndCache()


def test_the_proxy_really_applies_without_the_bypass(fake, dead_proxy, monkeypatch):
    """Guards the next test: without the bypass, a loopback request does go to the (dead) proxy."""
    monkeypatch.setattr(client_mod, "bypass_proxy_for", lambda url: None)
    with pytest.raises(BackendError):
        BackendClient(fake.url, "tok").health()


def test_loopback_bypasses_the_proxy_on_ui_and_worker_threads(fake, dead_proxy, qtbot):
    assert BackendClient(fake.url, "tok").health()["status"] == "ready"  # UI thread (a downloader thread inside)
    assert "http://127.0.0.1:" in QgsSettings().value("proxy/noProxyUrls")
    results = []
    task = QgsTask.fromFunction(
        "health",
        lambda t: BackendClient(fake.url, "tok").health(),
        on_finished=lambda exc, value=None: results.append((exc, value)),
    )
    QgsApplication.taskManager().addTask(task)
    qtbot.waitUntil(lambda: bool(results), timeout=10_000)
    assert results[0][0] is None and results[0][1]["status"] == "ready"
