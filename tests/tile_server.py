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


WORLD_M = 20037508.342789244  # half the width of the Web Mercator world


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """An XYZ tile's bounds in EPSG:3857 (y counted from the top)."""
    size = 2 * WORLD_M / 2**z
    return -WORLD_M + x * size, WORLD_M - (y + 1) * size, -WORLD_M + (x + 1) * size, WORLD_M - y * size


def build_mosaic(raster: Path, folder: Path, repeat: int) -> Path:
    """A ``repeat`` × ``repeat`` mosaic of ``raster`` side by side (a VRT; the copy it reads has overviews, so a
    coarse zoom reads them rather than every pixel): a large area of real imagery from a small file."""
    from osgeo import gdal

    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / raster.name
    gdal.Translate(str(copy), str(raster), creationOptions=["TILED=YES"])
    ds = gdal.Open(str(copy), gdal.GA_Update)
    ds.BuildOverviews("AVERAGE", [2, 4, 8, 16, 32])
    x0, px, _, y0, _, py = ds.GetGeoTransform()
    w, h, bands, srs = ds.RasterXSize, ds.RasterYSize, ds.RasterCount, ds.GetProjection()
    ds = None
    vrt = [f'<VRTDataset rasterXSize="{w * repeat}" rasterYSize="{h * repeat}"><SRS>{srs}</SRS>']
    vrt.append(f"<GeoTransform>{x0}, {px}, 0, {y0}, 0, {py}</GeoTransform>")
    for band in range(1, bands + 1):
        vrt.append(f'<VRTRasterBand dataType="Byte" band="{band}">')
        for row in range(repeat):
            for col in range(repeat):
                vrt.append(
                    f"<SimpleSource><SourceFilename>{copy}</SourceFilename><SourceBand>{band}</SourceBand>"
                    f'<SrcRect xOff="0" yOff="0" xSize="{w}" ySize="{h}"/>'
                    f'<DstRect xOff="{col * w}" yOff="{row * h}" xSize="{w}" ySize="{h}"/></SimpleSource>'
                )
        vrt.append("</VRTRasterBand>")
    vrt.append("</VRTDataset>")
    mosaic = folder / "mosaic.vrt"
    mosaic.write_text("".join(vrt))
    return mosaic


class RenderingTileServer(TileServer):
    """XYZ tiles rendered on request from ``raster`` (any CRS), as a map server does: a large area without a
    pyramid built first. Counts the tiles it is asked for, by zoom level."""

    def __init__(self, raster: Path):
        from osgeo import gdal

        self.source = gdal.Open(str(raster))
        self.lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                server.requests.append(self.path)
                try:
                    z, x, y = (int(p) for p in self.path.split("?")[0].strip("/").removesuffix(".png").split("/"))
                except ValueError:
                    self.send_error(404)
                    return
                body = server.render(z, x, y)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.requests: list[str] = []
        self.delay_s = 0.0
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def render(self, z: int, x: int, y: int) -> bytes | None:
        """The tile as PNG bytes, or None where the raster has nothing."""
        from osgeo import gdal

        name = f"/vsimem/tile-{z}-{x}-{y}-{threading.get_ident()}.png"
        with self.lock:  # one GDAL dataset (and its sources), one reader at a time
            warped = gdal.Warp(
                "", self.source, format="MEM", dstSRS="EPSG:3857", outputBounds=tile_bounds(z, x, y), width=256,
                height=256, resampleAlg="nearest",
            )  # fmt: skip
            if warped is None or warped.GetRasterBand(1).ComputeRasterMinMax(False)[1] == 0:
                return None
            gdal.Translate(name, warped, format="PNG", creationOptions=["ZLEVEL=1"])
        data = gdal.VSIFOpenL(name, "rb")
        try:
            gdal.VSIFSeekL(data, 0, 2)
            size = gdal.VSIFTellL(data)
            gdal.VSIFSeekL(data, 0, 0)
            return bytes(gdal.VSIFReadL(1, size, data))
        finally:
            gdal.VSIFCloseL(data)
            gdal.Unlink(name)

    def close(self) -> None:
        super().close()
        with self.lock:
            self.source = None  # closed now: a GDAL dataset left to the interpreter's exit outlives GDAL and crashes it

    def zoom_requests(self, z: int) -> int:
        return sum(1 for p in self.requests if p.startswith(f"/{z}/"))
