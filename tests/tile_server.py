"""A real XYZ tile server on loopback for the tests: a pyramid built by GDAL's gdal2tiles from a real raster,
served by Python's HTTP server, which counts the tiles it serves (and can be slowed down)."""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import threading
import time
from pathlib import Path

MAX_ZOOM = 19  # about 0.3 m a pixel: the Gorinchem orthophoto's own 0.25 m, as a basemap serves it


def build_pyramid(raster: Path, folder: Path, zooms: str = f"12-{MAX_ZOOM}") -> Path:
    """``folder/{z}/{x}/{y}.png`` from ``raster`` (GDAL's gdal2tiles, XYZ numbering)."""
    tool = shutil.which("gdal2tiles.py") or shutil.which("gdal2tiles")
    if tool is None:
        raise RuntimeError("gdal2tiles is missing: install gdal-bin (make system)")
    subprocess.run(
        [tool, "-q", "--xyz", "-z", zooms, "-w", "none", "-r", "bilinear", str(raster), str(folder)], check=True
    )
    return folder


class TileServer:
    """Serves ``folder`` on 127.0.0.1; ``requests`` lists the tile paths asked for, ``delay_s`` slows each answer."""

    def __init__(self, folder: Path):
        self.requests: list[str] = []
        self.delay_s = 0.0
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                server.requests.append(self.path)
                time.sleep(server.delay_s)
                super().do_GET()

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(Handler, directory=str(folder))
        )
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        """The layer's tile URL template, as QGIS's XYZ connections take it."""
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{{z}}/{{x}}/{{y}}.png"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
