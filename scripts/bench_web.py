"""Web layers, timed as a user meets them: exporting a 1600 × 1000 px view of an XYZ basemap from a tile server on
loopback, and a first click over a view never exported (the export, the upload-free prompt and its encoder pass)
against a second click there (an embedding cache hit). The real plugin code (its ExportTask's writer and the
click tool's session on a real map canvas), the real backend with the tiny models, a gdal2tiles pyramid of the
Gorinchem orthophoto.

    make bench-web    # .venv-qgis/bin/python scripts/bench_web.py --json out/bench-web.json, headless

Run with QGIS's Python; the backend's .venv and the tiny models (make tiny) must be there.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.tile_server

VIEW_PX = (1600, 1000)
EXPORT_LIMIT_S = 2.0  # the bar for a view's export, and for a first click less its encoder pass
REPEATS = 3
GORINCHEM = "gorinchem_river_0p25m_epsg28992.tif"


def _import_plugin() -> None:
    """Import the checkout as ``think2map``, as QGIS imports the plugin folder by its name."""
    spec = importlib.util.spec_from_file_location(
        "think2map", ROOT / "__init__.py", submodule_search_locations=[str(ROOT)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["think2map"] = module
    spec.loader.exec_module(module)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the figures here too")
    parser.add_argument(
        "--raster", type=Path, default=ROOT.parent / "shared" / "data" / "gorinchem_river_0p25m_epsg28992.tif"
    )
    args = parser.parse_args()
    from qgis.core import QgsApplication

    app = QgsApplication([], True)
    app.initQgis()
    _import_plugin()
    try:
        figures = run(args.raster)
    finally:
        app.exitQgis()
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    return 0 if figures["export_ok"] and figures["first_click_ok"] else 1


def run(raster: Path) -> dict:
    from think2map.plugin.core.export import WEB_MERCATOR_M_PER_PX_AT_Z0

    from tests.tile_server import MAX_ZOOM, TileServer, build_pyramid

    work = Path(tempfile.mkdtemp(prefix="think2map-bench-web-"))
    started = time.monotonic()
    pyramid = build_pyramid(raster, work / "tiles")
    pyramid_s = time.monotonic() - started
    server = TileServer(pyramid)
    backend = _backend(work)
    try:
        finest = WEB_MERCATOR_M_PER_PX_AT_Z0 / 2**MAX_ZOOM
        layer = _xyz_layer(server)
        centre = _centre_3857(raster)
        exports = _exports(layer, centre, finest, server, work)
        click = _clicks(layer, centre, finest, backend, work)
    finally:
        backend["proc"].terminate()
        backend["proc"].wait(15)
        server.close()
    return {
        "machine": f"{os.cpu_count()} CPU cores (no GPU: the tiny models)",
        "pyramid_s": round(pyramid_s, 2),
        **exports,
        "export_ok": exports["export_cold_s"] < EXPORT_LIMIT_S,
        **click,
        "first_click_ok": click["first_click_less_encoder_s"] < EXPORT_LIMIT_S and click["second_click_cached"],
    }


def _xyz_layer(server):
    from qgis.core import QgsDataSourceUri, QgsRasterLayer

    from tests.tile_server import MAX_ZOOM

    uri = QgsDataSourceUri()
    for key, value in (("type", "xyz"), ("url", server.url), ("zmin", "0"), ("zmax", str(MAX_ZOOM))):
        uri.setParam(key, value)
    layer = QgsRasterLayer(bytes(uri.encodedUri()).decode(), "basemap", "wms")
    assert layer.isValid()
    return layer


def _centre_3857(raster: Path) -> tuple[float, float]:
    from osgeo import gdal

    ds = gdal.Warp("", str(raster), format="VRT", dstSRS="EPSG:3857")
    x0, px, _, y1, _, py = ds.GetGeoTransform()
    return x0 + px * ds.RasterXSize / 2, y1 + py * ds.RasterYSize / 2


def _view(centre: tuple[float, float], pixel: float, shift: float = 0.0) -> tuple[float, float, float, float]:
    (x, y), (w, h) = centre, VIEW_PX
    x += shift
    return x - w * pixel / 2, y - h * pixel / 2, x + w * pixel / 2, y + h * pixel / 2


def _exports(layer, centre, finest: float, server, work: Path) -> dict:
    """The view exported as the dock's ExportTask writes it: the first time from the tile server, then again."""
    from qgis.core import QgsCoordinateTransformContext, QgsNetworkAccessManager, QgsRasterBlockFeedback
    from think2map.plugin.core.export import export_request, write_export

    request = export_request(layer, _view(centre, finest), finest)
    assert (request.width, request.height) == VIEW_PX, (request.width, request.height)
    times, tiles = [], []
    for i in range(REPEATS):
        QgsNetworkAccessManager.instance().cache().clear()  # each run fetches its tiles from the server
        before = len(server.requests)
        started = time.monotonic()
        error = write_export(layer, request, work / f"export-{i}.tif", QgsCoordinateTransformContext(),
                             QgsRasterBlockFeedback())  # fmt: skip
        times.append(time.monotonic() - started)
        tiles.append(len(server.requests) - before)
        assert error is None, error
    return {
        "export_view_px": list(VIEW_PX),
        "export_pixel_m": round(finest, 4),
        "export_tiles_fetched": tiles[0],
        "export_cold_s": round(times[0], 3),
        "export_median_s": round(statistics.median(times), 3),
    }


def _backend(work: Path) -> dict:
    """The real backend with the tiny models, as the plugin starts it (a JSON line says where it listens)."""
    tiny = Path(os.environ.get("THINK2MAP_TINY_MODELS", ROOT / "out" / "tiny-models"))
    env = {**os.environ, "THINK2MAP_TOKEN": "bench-token", "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    args = ["--prompter", str(tiny / "tiny-think2seg"), "--segmenter", str(tiny / "tiny-sam2"), "--device", "cpu"]
    proc = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "backend", "serve", "--port", "0", *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=open(work / "backend.log", "w"), text=True,
    )  # fmt: skip
    line = json.loads(proc.stdout.readline())
    return {"proc": proc, "url": f"http://{line['host']}:{line['port']}", "token": "bench-token"}


def _clicks(layer, centre, finest: float, backend: dict, work: Path) -> dict:
    """A first click over a view never exported, then a second one beside it, through the click tool's session
    on a real map canvas of 1600 × 1000 px: from the click to the preview shown."""
    from qgis.core import QgsCoordinateReferenceSystem, QgsNetworkAccessManager, QgsProject, QgsRectangle
    from qgis.gui import QgsMapCanvas
    from qgis.PyQt.QtCore import QCoreApplication, QEvent, QEventLoop
    from qgis.PyQt.QtWidgets import QFrame
    from think2map.plugin.core.export import ExportCache
    from think2map.plugin.gui.click_session import ClickSession

    QgsProject.instance().addMapLayer(layer)
    canvas = QgsMapCanvas()
    canvas.setFrameShape(QFrame.Shape.NoFrame)  # the map is the whole widget: 1600 × 1000 px
    canvas.resize(*VIEW_PX)
    canvas.show()
    canvas.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:3857"))
    canvas.setExtent(QgsRectangle(*_view(centre, finest, shift=100.0)))  # beside the exported view: never exported
    _wait(lambda: canvas.mapSettings().outputSize().width() == VIEW_PX[0], 10)
    session = ClickSession(canvas, lambda: (backend["url"], backend["token"]), exports=ExportCache(work / "clicks"))
    session.set_raster(layer)
    session.hover_enabled = False
    _warm_up(backend, work / "export-0.tif")
    seconds, answers = [], []
    QgsNetworkAccessManager.instance().cache().clear()  # the view's tiles come from the server
    for fraction in (0.3, 0.33):  # the second click in the same SAM window as the first
        point = canvas.getCoordinateTransform().toMapCoordinates(int(VIEW_PX[0] * fraction), VIEW_PX[1] // 2)
        shown: list[float] = []
        session.previewChanged.connect(lambda shown=shown: shown.append(time.monotonic()))
        started = time.monotonic()
        session.clear()
        session.add_point(point)
        _wait(lambda shown=shown: shown and session.preview is not None, 120)
        seconds.append(shown[-1] - started)
        answers.append(dict(session.last_answer))
        session.previewChanged.disconnect()
    encoder_s = max(0.0, answers[0]["seconds"] - answers[1]["seconds"])  # the first prompt's encoder pass
    session.remove()
    session.deleteLater()
    canvas.deleteLater()  # before QGIS exits: a canvas outliving it crashes the interpreter's exit
    QgsProject.instance().clear()
    QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    return {
        "first_click_s": round(seconds[0], 3),
        "first_click_encoder_s": round(encoder_s, 3),
        "first_click_less_encoder_s": round(seconds[0] - encoder_s, 3),
        "first_click_cached": answers[0]["cached"],
        "second_click_s": round(seconds[1], 3),
        "second_click_cached": answers[1]["cached"],
    }


def _warm_up(backend: dict, raster: Path) -> None:
    """One prompt elsewhere first: the segmenter is loaded once a session, not at each first click of a view."""
    import urllib.request

    with rasterio_free_centre(raster) as (x, y):
        body = json.dumps({"raster": str(raster), "points": [[x, y, 1]]}).encode()
    request = urllib.request.Request(backend["url"] + "/prompt", data=body, method="POST")
    request.add_header("Authorization", f"Bearer {backend['token']}")
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=120) as answer:  # noqa: S310 - the backend on loopback
        assert answer.status == 200


@contextlib.contextmanager
def rasterio_free_centre(raster: Path):
    """The centre of ``raster`` in its CRS (read with GDAL: QGIS's Python has no rasterio)."""
    from osgeo import gdal

    ds = gdal.Open(str(raster))
    x0, px, _, y1, _, py = ds.GetGeoTransform()
    yield x0 + px * ds.RasterXSize / 2, y1 + py * ds.RasterYSize / 2


def _wait(condition, timeout_s: float) -> None:
    from qgis.PyQt.QtCore import QCoreApplication, QEventLoop

    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the bench waited too long")
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)


if __name__ == "__main__":
    sys.exit(main())
