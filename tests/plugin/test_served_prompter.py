"""The served prompter through the plugin: the dock and Processing, with a real backend whose prompter is a real
``transformers serve`` (the backend's ``.venv``) running the tiny Qwen2.5-VL on this CPU.

The served model is a copy of the tiny one whose ``generation_config.json`` biases decoding towards one answer
(``sequence_bias``): the server's own generation, untouched by any request, writes it, so polygons come back.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from qgis.core import QgsApplication, QgsProject, QgsVectorLayer
from qgis.PyQt.QtCore import Qt

from .conftest import FORCED_ANSWER, ROOT, tiny_settings, wait_until

pytestmark = pytest.mark.live  # transformers serve, and a real backend process

# Run by the backend's interpreter: a copy of the tiny prompter that writes ANSWER on its own.
_BIASED_COPY = """
import json, shutil, sys
from pathlib import Path
from transformers import AutoTokenizer
from backend.models.forcing import forced_sequence_bias
source, target, answer = sys.argv[1:]
shutil.copytree(source, target)
config_path = Path(target) / "generation_config.json"
config = json.loads(config_path.read_text())
tokenizer = AutoTokenizer.from_pretrained(target)
config.update(do_sample=False, sequence_bias=forced_sequence_bias(tokenizer, answer))
config_path.write_text(json.dumps(config))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(backend_python, tiny_models, tmp_path_factory):
    """``transformers serve`` on loopback: (its ``/v1`` URL, the model id it serves)."""
    home = tmp_path_factory.mktemp("served")
    model = home / "tiny-think2seg-served"
    subprocess.run(
        [str(backend_python), "-c", _BIASED_COPY, str(tiny_models["prompter"]), str(model), FORCED_ANSWER],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=300,
    )
    exe = Path(backend_python).with_name("transformers")
    if not exe.exists():
        pytest.skip("transformers serve is not installed in the backend environment")
    port = _free_port()
    (home / "hub").mkdir()
    env = dict(os.environ, HF_HOME=str(home), HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    log = (home / "serve.log").open("w")
    command = [str(exe), "serve", str(model), "--host", "127.0.0.1", "--port", str(port), "--device", "cpu",
               "--dtype", "float32"]  # fmt: skip
    proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(url + "/health", timeout=1) as answer:  # nosec B310 - loopback
                if answer.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail("transformers serve did not start:\n" + (home / "serve.log").read_text()[-2000:])
    yield f"{url}/v1", str(model)
    proc.terminate()
    proc.wait(20)


@pytest.fixture
def served_backend(served, backend_python, tiny_models, qtbot):
    """A real local backend whose prompter is the served one, as the Settings dialog's "Served model" sets it."""
    from think2map.plugin.core.process import BackendManager

    settings = tiny_settings(backend_python, tiny_models)
    settings.served_url, settings.served_model = served
    settings.extra_args = []  # no forced answer: the served model writes its own
    settings.save()
    manager = BackendManager()
    manager.start()
    assert wait_until(lambda: manager.state in ("ready", "error"), 180), manager.detail
    assert manager.state == "ready", manager.detail
    yield manager, settings
    manager.stop(wait_ms=10_000)


def test_a_query_from_the_dock_is_answered_by_the_served_prompter(served_backend, make_dock, raster_layer, qtbot):
    manager, settings = served_backend
    QgsProject.instance().addMapLayer(raster_layer)
    dock = make_dock(manager)
    dock.set_layer(raster_layer)
    dock.set_query("the river")
    with qtbot.waitSignal(dock.controller.running, timeout=300_000, check_params_cb=lambda running: not running):
        qtbot.mouseClick(dock.run_button, Qt.MouseButton.LeftButton)
    record = dock.controller.records[0]
    assert record.job_state == "done", record.message
    assert record.tiles and all(t["status"] == "ok" for t in record.tiles), record.tiles
    assert all(t["raw_text"].startswith("<think>x</think>") for t in record.tiles)  # the served model's words
    layer = QgsProject.instance().mapLayer(record.layer_id)
    assert layer is not None and layer.featureCount() > 0
    assert {f["prompter"] for f in layer.getFeatures()} == {f"openai:{settings.served_model}"}


def test_processing_defaults_to_the_served_prompter(served_backend, raster_layer, qgis_processing, tmp_path):
    from qgis import processing
    from think2map.plugin.processing.provider import Think2MapProvider

    manager, settings = served_backend
    provider = Think2MapProvider(lambda: manager)
    assert QgsApplication.processingRegistry().addProvider(provider)
    try:
        algorithm = QgsApplication.processingRegistry().algorithmById("think2map:segmentbytext")
        assert algorithm.parameterDefinition("PROMPTER").defaultValue() == settings.prompter_spec
        full = raster_layer.extent()
        x0, y0 = full.xMinimum(), full.yMinimum()
        result = processing.run(
            "think2map:segmentbytext",
            {
                "INPUT": raster_layer.source(),
                "QUERY": "the river",
                "EXTENT": f"{x0 + 10},{x0 + 110},{y0 + 10},{y0 + 110} [EPSG:28992]",
                "OUTPUT": str(tmp_path / "served.gpkg"),
            },
        )
        layer = QgsVectorLayer(result["OUTPUT"], "out", "ogr")
        assert layer.isValid() and layer.featureCount() > 0
        assert {f["prompter"] for f in layer.getFeatures()} == {f"openai:{settings.served_model}"}
    finally:
        QgsApplication.processingRegistry().removeProvider(provider)
