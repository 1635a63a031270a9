"""Starting the REAL backend server as a subprocess on loopback, as the plugin does, for the API tests."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import ROOT

# Real polygons from the tiny random models: every tile's answer is forced to one box with two points.
FORCED_ANSWER = (
    '<think>x</think><answer>[{"bbox_2d": [100,100,400,400], "positive_points": [[250,250],[300,300]]}]</answer>'
)
FINISHED = ("done", "failed", "cancelled")


@dataclass
class LiveServer:
    proc: subprocess.Popen
    line: dict
    token: str
    stderr_path: Path

    @property
    def url(self) -> str:
        return f"http://{self.line['host']}:{self.line['port']}"

    def client(self, token: str | None = None, **kwargs) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token if token is None else token}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kwargs)

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stop(self, timeout: float = 15) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc.stdout.close()
        return self.proc.returncode


def tiny_model_args(tiny_models: dict) -> list[str]:
    return [
        "--prompter",
        str(tiny_models["prompter"]),
        "--segmenter",
        str(tiny_models["sam2"]),
        "--device",
        "cpu",
        "--max-new-tokens",
        "200",
        "--force-answer",
        FORCED_ANSWER,
    ]


def start_server(
    args: list[str], tmp: Path, token: str | None = "test-token", env: dict | None = None, timeout: float = 60
) -> LiveServer:
    """Run ``python -m backend serve --port 0 ARGS`` and wait for its JSON line.

    The environment has no model weights and no network for Hugging Face, and one torch thread (two make the
    tiny models slow on small CI machines).
    """
    tmp.mkdir(parents=True, exist_ok=True)
    full_env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "THINK2MAP_MODELS": str(tmp / "models"),
        "HF_HOME": str(tmp / "hf"),
        "HF_HUB_OFFLINE": "1",
        **(env or {}),
    }
    full_env.pop("THINK2MAP_TOKEN", None)
    if token is not None:
        full_env["THINK2MAP_TOKEN"] = token
    stderr_path = tmp / f"server-{time.monotonic_ns()}.log"
    with open(stderr_path, "w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "backend", "serve", "--port", "0", *args],
            cwd=ROOT,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    text = proc.stdout.readline() if ready else ""
    if not text:
        proc.kill()
        proc.wait(5)
        raise RuntimeError(f"the server did not start: {stderr_path.read_text()}")
    line = json.loads(text)
    return LiveServer(proc, line, token or line["token"], stderr_path)


def wait_for(client: httpx.Client, job_id: str, states=FINISHED, timeout: float = 120, **fields) -> dict:
    """Poll a job until its state is one of ``states`` (and each ``field >= value``)."""
    deadline = time.monotonic() + timeout
    while True:
        status = client.get(f"/jobs/{job_id}").json()
        if status["state"] in FINISHED and status["state"] not in states:
            raise AssertionError(f"job ended as {status['state']}, waiting for {states}: {status}")
        if status["state"] in states and all(status[k] >= v for k, v in fields.items()):
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {states} {fields}: {status}")
        time.sleep(0.05)


def rss_kb(pid: int) -> int:
    """Resident memory of a process, from /proc (kB)."""
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith("VmRSS:"):
            return int(row.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")
