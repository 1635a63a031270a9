"""The ``openai`` prompter against a real OpenAI-compatible server (``transformers serve`` running the tiny
Qwen2.5-VL on this CPU), through the pipeline to polygons; and its error cases, where a FAKE server plays the
failures that a real one cannot be made to show here (401, a model not served, a short context, no text, 429)."""

from __future__ import annotations

import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from backend.errors import ModelError
from backend.models.build_segmenter import load_segmenter
from backend.models.forcing import forced_sequence_bias
from backend.models.openai_prompter import OpenAIPrompter
from backend.pipeline import run
from backend.plan import RunStats, SegmentOptions, SegmentPlan

pytest.importorskip("openai")
ANSWER = (
    '<think>two roofs</think><answer>[{"bbox_2d": [210, 210, 630, 630], '
    '"positive_points": [[420, 420], [400, 440]]}]</answer>'
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tiny_models, tmp_path_factory):
    """``transformers serve`` with the tiny prompter, started for these tests and stopped after them."""
    from transformers.utils import is_serve_available

    if not is_serve_available():
        pytest.skip("transformers serving extras missing: pip install 'transformers[serving]'")
    home = tmp_path_factory.mktemp("hf-home")
    (home / "hub").mkdir()
    port = _free_port()
    env = dict(os.environ, HF_HOME=str(home), HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    exe = Path(sys.executable).with_name("transformers")
    log = (home / "serve.log").open("w")
    proc = subprocess.Popen(
        [
            str(exe),
            "serve",
            str(tiny_models["prompter"]),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--device",
            "cpu",
            "--dtype",
            "float32",
        ],  # fmt: skip
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    import httpx

    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("transformers serve did not start:\n" + (home / "serve.log").read_text()[-2000:])
    yield f"openai:{url}/v1#{tiny_models['prompter']}"
    proc.terminate()
    proc.wait(20)


def _raster(path: Path) -> Path:
    import rasterio
    from rasterio.transform import from_origin

    rng = np.random.default_rng(0)
    with rasterio.open(path, "w", driver="GTiff", width=512, height=384, count=3, dtype="uint8",
                       crs="EPSG:28992", transform=from_origin(121000, 425000, 0.5, 0.5)) as dst:  # fmt: skip
        dst.write(rng.integers(0, 255, (3, 384, 512), dtype=np.uint8))
    return path


@pytest.mark.live
def test_a_real_server_answers_through_the_pipeline_to_polygons(served, tiny_models, tmp_path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_models["prompter"])
    config = {"do_sample": False, "max_new_tokens": 120, "sequence_bias": forced_sequence_bias(tokenizer, ANSWER)}
    prompter = OpenAIPrompter(served, concurrency=4, extra_body={"generation_config": json.dumps(config)})
    plan = SegmentPlan(str(_raster(tmp_path / "r.tif")), "roofs", SegmentOptions(tile_size=256, overlap=0))
    stats = RunStats.for_plan(plan)
    features = list(run(plan, prompter, load_segmenter(tiny_models["sam2"], device="cpu"), stats))
    assert len(plan.tiles) == 4 and [r.status for r in stats.reports] == ["ok"] * 4, [r.error for r in stats.reports]
    assert all(r.raw_text.startswith("<think>two roofs</think>") for r in stats.reports)  # reasoning put back
    assert features and all(f.properties["prompter"] == prompter.name for f in features)
    # transformers serve takes no answer grammar: found out on the first tile, then left out.
    assert prompter._grammar_accepted is False


@pytest.mark.live
@pytest.mark.parametrize("named_by", ["server", "job"])
def test_a_served_prompter_answers_a_job_through_the_service(named_by, served, tiny_models, tmp_path):
    """`serve --prompter openai:…` and a job naming `"prompter": "openai:…"` both reach transformers serve."""
    from fastapi.testclient import TestClient

    from backend.models.loading import EngineConfig
    from backend.service.server import ServerConfig, create_app

    prompter = served if named_by == "server" else "think2seg-rs-3b"
    engine = EngineConfig(
        prompter=prompter, segmenter=str(tiny_models["sam2"]), device="cpu", constrain=False, max_new_tokens=64
    )
    body = {"raster": str(_raster(tmp_path / "r.tif")), "query": "roofs", "tile_size": 256, "overlap": 0}
    if named_by == "job":
        body["prompter"] = served
    headers = {"Authorization": "Bearer t"}
    with TestClient(create_app(ServerConfig(token="t", engine=engine))) as client:
        created = client.post("/jobs", json=body, headers=headers)
        assert created.status_code == 201, created.text
        deadline = time.monotonic() + 240
        while (status := client.get(f"/jobs/{created.json()['id']}", headers=headers).json())["state"] not in (
            "done",
            "failed",
        ):
            assert time.monotonic() < deadline, status
            time.sleep(0.2)
    assert status["state"] == "done", status["error"]
    assert status["models"]["prompter"] == served and status["tiles_done"] == 4


def test_the_command_line_says_when_the_server_is_not_there(tiny_models, tmp_path, capsys):
    from backend.cli import main

    rc = main(["segment", str(_raster(tmp_path / "r.tif")), "roofs", "-o", str(tmp_path / "o.gpkg"),
               "--prompter", "openai:http://127.0.0.1:9/v1#think2seg", "--segmenter", str(tiny_models["sam2"]),
               "--device", "cpu"])  # fmt: skip
    err = capsys.readouterr().err
    assert rc != 0 and "cannot reach the prompter server at http://127.0.0.1:9/v1" in err
    assert "Traceback" not in err and not (tmp_path / "o.gpkg").exists()


# --- error cases, with a FAKE server ---------------------------------------------------------------------------
class FakeOpenAI(http.server.BaseHTTPRequestHandler):
    """FAKE OpenAI-compatible server: ``behaviour`` (a class attribute) picks the failure it plays."""

    behaviour = "ok"
    calls: list[str] = []
    release = threading.Event()  # set when a test ends: a stalled answer stops waiting

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout, a cancel): what the test is about

    def do_GET(self):  # noqa: N802
        if self.behaviour == "unauthorized":
            return self._send(401, {"error": {"message": "bad key"}})
        self._send(200, {"object": "list", "data": [{"id": "think2seg", "object": "model"}]})

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        type(self).calls.append(body.get("model", ""))
        b = self.behaviour
        if b == "slow":
            time.sleep(5)
        if b == "stall_after_2" and len(type(self).calls) > 2:  # headers, then nothing: a server that hangs
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            type(self).release.wait(60)  # until the test ends
            return
        if b == "not_served" or body.get("model") != "think2seg":
            return self._send(404, {"error": {"message": f"The model `{body.get('model')}` does not exist."}})
        if b == "short_context":
            return self._send(400, {"error": {"message": "This model's maximum context length is 512 tokens."}})
        if b == "busy_once" and len(type(self).calls) == 1:
            return self._send(429, {"error": {"message": "slow down"}})
        if b == "no_choices":
            return self._send(200, {"object": "list", "data": []})
        if b == "not_json_object":
            return self._send(200, "hello")
        if b == "null_content":
            return self._send(200, {"id": "x", "object": "chat.completion", "created": 0, "model": "think2seg",
                                    "choices": [{"index": 0, "finish_reason": "stop",
                                                 "message": {"role": "assistant", "content": None}}]})  # fmt: skip
        content = "" if b == "no_text" else ANSWER
        if b == "huge":  # 10 MB of reasoning and 10,000 boxes
            box = '{"bbox_2d": [10, 10, 20, 20], "positive_points": [[12, 12], [14, 14]]}'
            content = "<think>" + "x" * 10_000_000 + "</think><answer>[" + ", ".join([box] * 10_000) + "]</answer>"
        self._send(200, {"id": "x", "object": "chat.completion", "created": 0, "model": "think2seg",
                         "choices": [{"index": 0, "finish_reason": "stop",
                                      "message": {"role": "assistant", "content": content}}]})  # fmt: skip

    def log_message(self, *args):
        pass


@pytest.fixture
def fake():
    FakeOpenAI.behaviour, FakeOpenAI.calls = "ok", []
    FakeOpenAI.release.clear()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", server
    FakeOpenAI.release.set()
    server.shutdown()


def _tile():
    return np.zeros((100, 120, 3), dtype=np.uint8)


def test_nobody_listening_is_said_at_load():
    with pytest.raises(ModelError, match="cannot reach the prompter server at http://127.0.0.1:9/v1"):
        OpenAIPrompter(f"openai:http://127.0.0.1:{9}/v1")


@pytest.mark.live
def test_a_refused_key_is_said_at_load(fake):
    url, _ = fake
    FakeOpenAI.behaviour = "unauthorized"
    with pytest.raises(ModelError, match=r"refused the API key \(HTTP 401\)"):
        OpenAIPrompter(f"openai:{url}")


@pytest.mark.live
def test_the_first_model_is_used_and_a_model_not_served_is_named(fake):
    url, _ = fake
    assert OpenAIPrompter(f"openai:{url}").model == "think2seg"
    (result,) = OpenAIPrompter(f"openai:{url}#other", constrain=False).prompt([_tile()], "roofs")
    assert result.status == "error" and "does not serve 'other' (HTTP 404); it serves: think2seg" in result.error


@pytest.mark.live
def test_a_short_context_says_how_to_fix_it(fake):
    url, _ = fake
    FakeOpenAI.behaviour = "short_context"
    (result,) = OpenAIPrompter(f"openai:{url}", constrain=False).prompt([_tile()], "roofs")
    assert "context is too short for one tile" in result.error and "--max-model-len" in result.error


@pytest.mark.live
def test_no_text_is_an_unparseable_tile_not_a_crash(fake):
    url, _ = fake
    FakeOpenAI.behaviour = "no_text"
    (result,) = OpenAIPrompter(f"openai:{url}", constrain=False).prompt([_tile()], "roofs")
    assert result.status == "unparseable" and result.warnings == ["the server returned no text"]


@pytest.mark.live
def test_a_busy_server_is_retried_with_back_off(fake):
    url, _ = fake
    FakeOpenAI.behaviour = "busy_once"
    (result,) = OpenAIPrompter(f"openai:{url}", constrain=False).prompt([_tile()], "roofs")
    assert result.status == "ok" and len(FakeOpenAI.calls) == 2
    assert result.instances[0].box == pytest.approx((30, 25, 90, 75))  # 210 and 630 of 840, on 120×100 pixels


@pytest.mark.live
def test_a_timeout_and_cancel_stop_requests_in_flight(fake):
    url, _ = fake
    FakeOpenAI.behaviour = "slow"
    prompter = OpenAIPrompter(f"openai:{url}", constrain=False, timeout_s=1.0)
    prompter_no_retry = prompter._client.with_options(max_retries=0)
    prompter._client = prompter_no_retry
    started = time.monotonic()
    (late,) = prompter.prompt([_tile()], "roofs")
    assert "did not answer within 1 s" in late.error and time.monotonic() - started < 4.5

    patient = OpenAIPrompter(f"openai:{url}", constrain=False, timeout_s=60)
    flag = threading.Event()
    patient.bind_cancel(flag.is_set)
    threading.Timer(0.5, flag.set).start()
    started = time.monotonic()
    results = patient.prompt([_tile()] * 3, "roofs")
    assert time.monotonic() - started < 3.0  # not the 5 s the server takes
    assert [r.status for r in results] == ["error"] * 3


@pytest.mark.live
@pytest.mark.parametrize("behaviour", ["no_choices", "not_json_object", "null_content"])
def test_an_answer_that_is_not_a_completion_fails_the_tile_naming_the_server(fake, behaviour):
    url, _ = fake
    FakeOpenAI.behaviour = behaviour
    (result,) = OpenAIPrompter(f"openai:{url}#think2seg", constrain=False).prompt([_tile()], "roofs")
    assert result.status == "error" and result.error.startswith(f"the prompter server at {url} answered")
    assert "AttributeError" not in result.error


@pytest.mark.live
def test_a_huge_served_answer_is_capped(fake):
    url, _ = fake
    FakeOpenAI.behaviour = "huge"
    started = time.monotonic()
    (result,) = OpenAIPrompter(f"openai:{url}#think2seg", constrain=False).prompt([_tile()], "roofs")
    assert time.monotonic() - started < 10
    assert len(result.raw_text) <= 32_000 and len(result.instances) <= 64
    assert any("cut to its first" in w for w in result.warnings)


@pytest.mark.live
def test_a_run_where_every_tile_failed_on_the_server_exits_non_zero(fake, tiny_models, tmp_path, capsys):
    from backend.cli import main

    url, _ = fake
    FakeOpenAI.behaviour = "no_choices"
    out = tmp_path / "o.gpkg"
    rc = main(["segment", str(_raster(tmp_path / "r.tif")), "roofs", "-o", str(out), "--prompter",
               f"openai:{url}#think2seg", "--segmenter", str(tiny_models["sam2"]), "--device", "cpu",
               "--tile-size", "256", "--overlap", "0", "--no-constrain-answers", "-q"])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 1 and "every tile failed (4): the prompter server at" in err and "Traceback" not in err


@pytest.mark.live
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_stalled_server_lets_the_command_line_stop_within_two_seconds(stop, fake, tiny_models, tmp_path):
    import select

    import geopandas as gpd

    url, _ = fake
    FakeOpenAI.behaviour = "stall_after_2"
    out = tmp_path / "o.gpkg"
    cmd = [sys.executable, "-m", "backend", "segment", str(_raster(tmp_path / "r.tif")), "roofs", "-o", str(out),
           "--prompter", f"openai:{url}#think2seg", "--segmenter", str(tiny_models["sam2"]), "--device", "cpu",
           "--tile-size", "128", "--overlap", "0", "--concurrency", "1", "--no-constrain-answers"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, cwd=Path(__file__).resolve().parents[2], env=env, stderr=subprocess.PIPE, text=True)
    seen, deadline = "", time.monotonic() + 120
    # Tile 1 is reported once tile 2 is answered (merging trails a batch); the third request then stalls.
    while "1/12" not in seen and time.monotonic() < deadline and proc.poll() is None:
        if select.select([proc.stderr], [], [], 1)[0]:
            seen += os.read(proc.stderr.fileno(), 4096).decode(errors="replace")
    assert "1/12" in seen, seen
    time.sleep(1.0)
    asked = time.monotonic()
    proc.send_signal(stop)
    _, rest = proc.communicate(timeout=60)
    took = time.monotonic() - asked
    assert proc.returncode == 130 and took < 2.0, (took, seen + rest)
    tiles = gpd.read_file(out, layer="roofs_tiles")
    assert (tiles.status == "ok").sum() == 2 and set(tiles.run) == {"interrupted"}  # the answered tiles are kept
