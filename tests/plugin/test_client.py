"""BackendClient against a stand-in server: auth header, error details, timeouts, and no proxy for loopback."""

from __future__ import annotations

import socket
import threading

import pytest
from qgis.core import QgsApplication, QgsSettings, QgsTask
from think2map.plugin.core.client import BackendClient, BackendError, is_loopback

from .fake_backend import FakeServer


@pytest.fixture
def fake():
    server = FakeServer("tok").start_in_thread()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.live
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


@pytest.mark.live
def test_errors_carry_the_servers_detail_and_status(fake):
    # an answer without a code (not a Think2Map error) is shown as the server put it
    with pytest.raises(BackendError, match="No job 'nope'") as err:
        BackendClient(fake.url, "tok").status("nope")
    assert err.value.status == 404
    with pytest.raises(BackendError, match="wrong token") as err:
        BackendClient(fake.url, "bad").health()
    assert err.value.status == 401
    # a coded one in the plugin's words, the server's kept for Details
    with pytest.raises(BackendError, match="^Type what to look for, for example: the river.$") as err:
        BackendClient(fake.url, "tok").submit({"raster": "/r.tif", "query": " "})
    assert err.value.status == 422 and err.value.code == "empty_query"
    assert err.value.detail == "The query is empty: say what to look for."
    assert err.value.message("processing") == "Type what to look for in the Query parameter, for example: the river."


@pytest.mark.live
def test_unreachable_and_slow_backends(fake):
    port = fake.server_address[1]
    fake.shutdown()
    fake.server_close()
    with pytest.raises(BackendError, match="No backend is listening") as err:
        BackendClient(f"http://127.0.0.1:{port}", "tok").health()
    assert err.value.status is None


@pytest.mark.live
def test_timeout(fake):
    c = BackendClient(fake.url, "tok", timeout_s=0.5)
    with pytest.raises(BackendError, match="did not answer in time"):
        c._call("GET", "/slow")


def test_is_loopback():
    assert is_loopback("http://127.0.0.1:5000") and is_loopback("http://localhost:1/") and is_loopback("http://[::1]:8")
    assert not is_loopback("http://gpu.example.org:8000")


@pytest.fixture
def recording_proxy():
    """QGIS set to use an HTTP proxy: a loopback server that records what it is asked and answers for it."""
    import http.server
    import json
    import threading

    seen: list[str] = []

    class Proxy(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen.append(self.path)
            body = json.dumps({"status": "ready", "via": "proxy"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    s = QgsSettings()
    for key, value in {
        "proxy/proxyEnabled": True,
        "proxy/proxyType": "HttpProxy",
        "proxy/proxyHost": "127.0.0.1",
        "proxy/proxyPort": str(server.server_address[1]),
    }.items():
        s.setValue(key, value)
    yield seen
    s.remove("proxy")
    server.shutdown()


@pytest.mark.live
def test_a_remote_server_is_reached_through_qgis_proxy(recording_proxy):
    answer = BackendClient("http://gpu.example.invalid:8000", "tok").health()
    assert answer["via"] == "proxy" and recording_proxy == ["http://gpu.example.invalid:8000/health"]


@pytest.mark.live
def test_loopback_never_goes_through_the_proxy_on_ui_and_worker_threads(fake, recording_proxy, qtbot):
    assert BackendClient(fake.url, "tok").health()["status"] == "ready"  # UI thread
    results = []
    task = QgsTask.fromFunction(
        "health",
        lambda t: BackendClient(fake.url, "tok").health(),
        on_finished=lambda exc, value=None: results.append((exc, value)),
    )
    QgsApplication.taskManager().addTask(task)
    qtbot.waitUntil(lambda: bool(results), timeout=10_000)
    assert results[0][0] is None and results[0][1]["status"] == "ready"
    assert recording_proxy == []  # neither request went to the proxy


@pytest.fixture
def cut_short():
    """A loopback server that sends the head of an answer, half its body, then closes: a backend killed mid-answer."""
    listener = socket.create_server(("127.0.0.1", 0))
    heads: list[bytes] = []

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                head = heads.pop(0) if heads else b"HTTP/1.1 200 OK"
                conn.sendall(head + b'\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"detail": ')

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}", heads
    listener.close()


@pytest.mark.live
@pytest.mark.parametrize("head", [b"HTTP/1.1 200 OK", b"HTTP/1.1 404 Not Found"])
def test_an_answer_cut_short_is_a_lost_connection_not_a_crash(cut_short, head):
    url, heads = cut_short
    heads.append(head)
    with pytest.raises(BackendError) as err:
        BackendClient(url, "tok").status("job1")
    if head.endswith(b"404 Not Found"):  # the status arrived whole: it is what the user is told
        assert err.value.status == 404 and "HTTP 404" in str(err.value)
    else:
        assert err.value.status is None and "closed the connection before it finished answering" in str(err.value)
