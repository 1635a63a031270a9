"""A stand-in for the backend's HTTP API (docs/api.md), standard library only, for fast offline plugin tests.

Run as a script it behaves like ``python -m backend serve``: it reads THINK2MAP_TOKEN, listens on a free
loopback port and prints the one JSON "listening" line. Jobs make one square polygon per tile, one tile
every ``TILE_SECONDS``, so tests can watch features arrive and cancel half-way (``FAKE_TILES_PER_JOB`` tiles
each). A query with "nothing" in it finds nothing; a raster with "huge" in its path is refused as too large.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TILE_SECONDS = 0.2
ORIGIN = (126000.0, 426000.0)  # EPSG:28992


class Job:
    def __init__(self, job_id: str, query: str, tiles: int):
        self.id, self.query, self.tiles_total = job_id, query, tiles
        self.started = time.monotonic()
        self.cancelled_at: int | None = None

    def tiles_done(self) -> int:
        done = min(self.tiles_total, int((time.monotonic() - self.started) / TILE_SECONDS))
        return done if self.cancelled_at is None else min(done, self.cancelled_at)

    def state(self) -> str:
        if self.cancelled_at is not None:
            return "cancelled"
        return "done" if self.tiles_done() >= self.tiles_total else "running"

    def status(self) -> dict:
        return {
            "id": self.id,
            "query": self.query,
            "state": self.state(),
            "tiles_done": self.tiles_done(),
            "tiles_total": self.tiles_total,
            "features": self.tiles_done(),
            "errors": [],
            "error": None,
            "crs": "EPSG:28992",
        }

    def feature(self, i: int) -> dict:
        x, y = ORIGIN[0] + 20 * i, ORIGIN[1]
        ring = [[x, y], [x + 10, y], [x + 10, y + 10], [x, y + 10], [x, y]]
        return {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {
                "query": self.query,
                "instance_id": i,
                "area": 100.0,
                "area_unit": "m2",
                "score": 0.5,
                "prompter": "fake",
                "segmenter": "fake",
                "tiles": str(i),
                "created": "2026-11-22T00:00:00Z",
            },
        }


class Handler(BaseHTTPRequestHandler):
    server: FakeServer

    def log_message(self, *args) -> None:
        pass

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self) -> bool:
        self.server.requests.append((self.command, self.path, self.headers.get("Authorization")))
        if self.headers.get("Authorization") != f"Bearer {self.server.token}":
            self._send(401, {"detail": "Missing or wrong token."})
            return False
        return True

    def do_GET(self) -> None:  # noqa: N802
        if not self._authorized():
            return
        path, _, query = self.path.partition("?")
        after = int(re.search(r"after=(\d+)", query).group(1)) if "after=" in query else 0
        if path == "/health":
            return self._send(
                200,
                {
                    "status": "ready",
                    "version": "fake",
                    "device": "cpu",
                    "gpu": None,
                    "models_loaded": {},
                    "queue": 0,
                    "running": None,
                },
            )
        if path == "/slow":
            time.sleep(3)
            return self._send(200, {})
        m = re.fullmatch(r"/jobs/([^/]+)(/features|/tiles)?", path)
        job = self.server.jobs.get(m.group(1)) if m else None
        if job is None:
            return self._send(404, {"detail": f"No job '{m.group(1) if m else path}'."})
        done = job.tiles_done()
        if m.group(2) == "/features":
            feats = [] if "nothing" in job.query else [job.feature(i) for i in range(after, done)]
            return self._send(
                200,
                {
                    "type": "FeatureCollection",
                    "features": feats,
                    "next": max(after, done),
                    "state": job.state(),
                    "crs": {"type": "name", "properties": {"name": "EPSG:28992"}},
                },
            )
        if m.group(2) == "/tiles":
            tiles = [
                {
                    "index": i,
                    "status": "done",
                    "instances": 1,
                    "raw_text": f"<think>tile {i}</think>",
                    "warnings": [],
                    "error": None,
                    "seconds": TILE_SECONDS,
                    "window": [0, 0, 8, 8],
                }
                for i in range(after, done)
            ]
            return self._send(200, {"tiles": tiles, "next": max(after, done)})
        return self._send(200, job.status())

    def do_POST(self) -> None:  # noqa: N802
        if not self._authorized():
            return
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        if self.path != "/jobs":
            return self._send(404, {"detail": "Not found"})
        if not str(body.get("query", "")).strip():
            return self._send(
                422, {"detail": "The query is empty: say what to look for.", "code": "empty_query", "params": {}}
            )
        if "huge" in str(body.get("raster", "")):
            detail = "This area needs 1764 tiles, more than the limit of 400. (--max-tiles) Over HTTP, send max_tiles."
            return self._send(
                422, {"detail": detail, "code": "too_many_tiles", "params": {"tiles": 1764, "limit": 400}}
            )
        self.server.bodies.append(body)
        job = Job(f"job{len(self.server.jobs) + 1}", body["query"], self.server.tiles_per_job)
        self.server.jobs[job.id] = job
        return self._send(201, {"id": job.id, "state": "queued", "tiles_total": job.tiles_total, "crs": "EPSG:28992"})

    def do_DELETE(self) -> None:  # noqa: N802
        if not self._authorized():
            return
        job = self.server.jobs.get(self.path.rsplit("/", 1)[-1])
        if job is None:
            return self._send(404, {"detail": "No such job."})
        if job.state() == "running":
            job.cancelled_at = job.tiles_done()
        return self._send(200, job.status())


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, token: str, tiles_per_job: int = 5):
        super().__init__(("127.0.0.1", 0), Handler)
        self.token = token
        self.tiles_per_job = tiles_per_job
        self.jobs: dict[str, Job] = {}
        self.bodies: list[dict] = []
        self.requests: list[tuple] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start_in_thread(self) -> FakeServer:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self


def main() -> None:
    print("fake backend starting", file=sys.stderr, flush=True)
    if os.environ.get("FAKE_BACKEND_FAIL"):
        print("ModuleNotFoundError: No module named 'torch'", file=sys.stderr, flush=True)
        sys.exit(1)
    server = FakeServer(os.environ["THINK2MAP_TOKEN"], int(os.environ.get("FAKE_TILES_PER_JOB", "5")))
    print(
        json.dumps(
            {
                "event": "listening",
                "host": "127.0.0.1",
                "port": server.server_address[1],
                "pid": os.getpid(),
                "version": "fake",
            }
        ),
        flush=True,
    )
    server.serve_forever()


if __name__ == "__main__":
    main()
