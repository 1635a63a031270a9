"""pytest-qgis setup: the repository root imported as the plugin package ``think2map``, isolated settings, and
a real backend (``.venv``) with tiny models for the integration tests.

Run with ``QT_QPA_PLATFORM=offscreen .venv-qgis/bin/python -m pytest tests/plugin`` (``make test-plugin``).
Nothing here imports ``backend/``: the backend only ever runs as a separate process.
"""

from __future__ import annotations

import importlib.util
import os
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.locations import TINY_MODELS

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["OMP_NUM_THREADS"] = "1"  # inherited by backend processes: tiny models are slower on more threads
# QGIS computes statistics to draw a raster and GDAL would keep them in a .aux.xml beside it: never in ../shared.
os.environ["GDAL_PAM_ENABLED"] = "NO"

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "think2map"
BACKEND_PYTHON = Path(os.environ.get("THINK2MAP_BACKEND_PYTHON", ROOT / ".venv" / "bin" / "python"))
RASTER_NAME = "gorinchem_river_0p25m_epsg28992.tif"
FORCED_ANSWER = (
    '<think>x</think><answer>[{"bbox_2d": [100,100,400,400], "positive_points": [[250,250],[300,300]]}]</answer>'
)


FAKE_BACKEND = Path(__file__).with_name("fake_backend.py")
XYZ_SECRET = "s3cr3t-tile-key"  # a credential in the test basemap's URL


def fake_backend_python(folder: Path, env: str = "") -> str:
    """An executable that stands in for the backend's interpreter and runs the fake server (``env``: ``K=V ``)."""
    path = folder / "python"
    path.write_text(f'#!/bin/sh\n{env}exec {sys.executable} {FAKE_BACKEND} "$@"\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def write_raster(
    path: Path,
    data,
    epsg: int | None = 32631,
    geotransform=(500000, 0.5, 0, 5000000, 0, -0.5),
    nodata=None,
    driver="GTiff",
) -> Path:
    """A raster written through QGIS's own GDAL (the plugin's environment has no rasterio); None: left unset."""
    import numpy as np
    from osgeo import gdal, osr

    count, h, w = data.shape
    kind = {np.dtype(np.uint16): gdal.GDT_UInt16, np.dtype(np.float32): gdal.GDT_Float32}.get(data.dtype, gdal.GDT_Byte)
    ds = gdal.GetDriverByName("MEM").Create("", w, h, count, kind)
    if epsg:
        srs = osr.SpatialReference()
        srs.ImportFromEPSG(epsg)
        ds.SetProjection(srs.ExportToWkt())
    if geotransform:
        ds.SetGeoTransform(geotransform)
    for i in range(count):
        band = ds.GetRasterBand(i + 1)
        band.WriteArray(data[i])
        if nodata is not None:
            band.SetNoDataValue(nodata)
    gdal.GetDriverByName(driver).CreateCopy(str(path), ds)
    ds = None
    for aux in path.parent.glob(path.name + ".aux.xml"):
        aux.unlink()  # PNG's side file would give it back a georeference
    return path


def _register_plugin_package() -> None:
    """Import the repository root as ``think2map``, as QGIS would import the plugin folder by its name."""
    if PACKAGE in sys.modules:
        return
    spec = importlib.util.spec_from_file_location(PACKAGE, ROOT / "__init__.py", submodule_search_locations=[str(ROOT)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = module
    spec.loader.exec_module(module)


_register_plugin_package()


@pytest.hookimpl(trylast=True)
def pytest_configure(config) -> None:
    """QgsSettings of this run only. pytest-qgis keeps them in the checkout's .qgis-settings, which two runs at once
    (a tier here, `make test-fast` there, or the same tier on another QGIS in its root) would share, each reading
    the other's saved backend settings."""
    from qgis.PyQt.QtCore import QSettings

    folder = tempfile.mkdtemp(prefix="think2map-qgis-settings-")
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, folder)


@pytest.fixture(autouse=True)
def clean_settings(qgis_app):
    """Every test starts with no stored Think2Map settings."""
    from qgis.core import QgsSettings

    QgsSettings().remove("think2map")
    yield
    QgsSettings().remove("think2map")


@pytest.fixture(scope="session")
def gorinchem(shared_data) -> Path:
    """The real RGB orthophoto in EPSG:28992 (skips when ../shared/data is absent)."""
    return shared_data / RASTER_NAME


@pytest.fixture
def raster_layer(gorinchem):
    from qgis.core import QgsRasterLayer

    layer = QgsRasterLayer(str(gorinchem), "gorinchem")
    assert layer.isValid()
    return layer


@pytest.fixture(scope="session")
def backend_python() -> Path:
    """The backend venv's interpreter (skips when ``make setup`` has not built it)."""
    if not BACKEND_PYTHON.exists():
        pytest.skip(f"backend environment not built ({BACKEND_PYTHON} missing): run `make setup`")
    return BACKEND_PYTHON


@pytest.fixture(scope="session")
def tiny_models(backend_python) -> dict[str, Path]:
    """Tiny random models from ``python -m backend models tiny --reuse``, in the run's shared folder (their
    outputs are meaningless)."""
    out = TINY_MODELS
    proc = subprocess.run(
        [str(backend_python), "-m", "backend", "models", "tiny", "--reuse", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return {
        "prompter": out / "tiny-think2seg",
        "sam2": out / "tiny-sam2",
        "sam": out / "tiny-sam",
        "sam3": out / "tiny-sam3",
    }


def tiny_settings(backend_python: Path, tiny_models: dict[str, Path]):
    """Settings for a local backend on the CPU with the tiny models and a forced prompter answer."""
    from think2map.plugin.core.settings import Settings

    return Settings(
        python_path=str(backend_python),
        backend_mode="local",
        prompter=str(tiny_models["prompter"]),
        segmenter=str(tiny_models["sam2"]),
        device="cpu",
        storage="memory",
        extra_args=["--force-answer", FORCED_ANSWER],
    )


@pytest.fixture
def backend_settings(backend_python, tiny_models):
    """:func:`tiny_settings`, saved."""
    settings = tiny_settings(backend_python, tiny_models)
    settings.save()
    return settings


def wait_until(condition, timeout_s: float) -> bool:
    """Run Qt's event loop until ``condition()`` holds (True) or ``timeout_s`` has passed (False)."""
    from qgis.PyQt.QtCore import QCoreApplication, QEventLoop

    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    return True


@pytest.fixture(scope="session")
def shared_backend(backend_python, tiny_models, qgis_app):
    """One real backend for the whole plugin tier, started at its first use (a start costs seconds)."""
    from think2map.plugin.core.process import BackendManager

    tiny_settings(backend_python, tiny_models).save()
    manager = BackendManager()
    manager.start()
    assert wait_until(lambda: manager.state in ("ready", "error"), 180), manager.detail
    assert manager.state == "ready", manager.detail
    yield manager
    manager.stop(wait_ms=10_000)
    manager.deleteLater()


@pytest.fixture
def live_backend(backend_settings, shared_backend):
    """The session's real backend, ready (started again when an earlier test stopped or killed it).

    Whatever a test connected to its signals is disconnected afterwards, so no test's dock hears the next one's
    backend. A test may stop, kill or restart it.
    """
    manager = shared_backend
    if manager.state != "ready":
        if manager.state in ("stopped", "error"):
            manager.start()
        assert wait_until(lambda: manager.state in ("ready", "error"), 180), manager.detail
    assert manager.state == "ready", manager.detail
    yield manager
    for signal in (manager.stateChanged, manager.ready, manager.crashed):
        try:
            signal.disconnect()
        except TypeError:  # nothing was connected
            pass


@pytest.fixture
def fake_manager(tmp_path, qtbot):
    """A local :class:`BackendManager` running the FAKE backend (40 tiles a job, 0.2 s each), results in GeoPackages."""
    from think2map.plugin.core.process import BackendManager
    from think2map.plugin.core.settings import Settings

    folder = tmp_path / "fake-venv"
    folder.mkdir()
    Settings(python_path=fake_backend_python(folder, "FAKE_TILES_PER_JOB=40 "), storage="gpkg").save()
    manager = BackendManager()
    with qtbot.waitSignal(manager.ready, timeout=20_000):
        manager.start()
    yield manager
    manager.stop(wait_ms=5000)


@pytest.fixture
def make_dock(qgis_iface, qgis_new_project, qtbot):
    """Build the dock around a manager (a stopped one unless given)."""
    made = []

    def make(manager=None):
        from think2map.plugin.core.process import BackendManager
        from think2map.plugin.gui.controller import DockController
        from think2map.plugin.gui.dock import Think2MapDock

        manager = manager or BackendManager()
        controller = DockController(qgis_iface, manager)
        dock = Think2MapDock(qgis_iface, controller)
        qtbot.addWidget(dock)
        dock.show()
        made.append((controller, dock))
        return dock

    yield make
    for controller, dock in made:
        controller.shutdown()
        dock.cleanup()


@pytest.fixture(scope="session")
def xyz_pyramid(shared_data, tmp_path_factory) -> Path:
    """An XYZ pyramid (zoom 12 to 19) of the Gorinchem orthophoto, built once per run."""
    from tests.tile_server import build_pyramid

    return build_pyramid(shared_data / RASTER_NAME, tmp_path_factory.mktemp("xyz") / "tiles")


@pytest.fixture
def tile_server(xyz_pyramid):
    """That pyramid served on loopback, counting its requests."""
    from tests.tile_server import TileServer

    server = TileServer(xyz_pyramid)
    yield server
    server.close()


@pytest.fixture
def xyz_layer(tile_server):
    """The served pyramid as QGIS adds an XYZ connection: the wms provider, its URI encoded by QgsDataSourceUri."""
    from qgis.core import QgsDataSourceUri, QgsRasterLayer

    from tests.tile_server import MAX_ZOOM

    uri = QgsDataSourceUri()
    uri.setParam("type", "xyz")
    uri.setParam("url", tile_server.url + "?apikey=" + XYZ_SECRET)  # a key, as commercial basemaps have
    uri.setParam("zmin", "0")
    uri.setParam("zmax", str(MAX_ZOOM))
    layer = QgsRasterLayer(bytes(uri.encodedUri()).decode(), "Gorinchem basemap", "wms")
    assert layer.isValid() and layer.crs().authid() == "EPSG:3857"
    return layer


@pytest.fixture
def team_server(backend_python, tiny_models, tmp_path):
    """A REAL backend as a team runs it: bound to another loopback address, its data folder empty (it cannot read
    the analyst's files), uploads on. ``.url``, ``.token``, ``.uploads`` (its uploads folder)."""
    import json
    import select
    from types import SimpleNamespace

    (tmp_path / "data").mkdir()
    token = "team-token-0123456789abcdef"
    args = ["--host", "127.0.0.2", "--port", "0", "--data-root", str(tmp_path / "data"), "--uploads-mb", "64"]
    args += ["--uploads-dir", str(tmp_path / "up"), "--prompter", str(tiny_models["prompter"])]
    args += ["--segmenter", str(tiny_models["sam2"]), "--device", "cpu", "--force-answer", FORCED_ANSWER]
    args += ["--allow-model-paths"]  # Processing names its models: the tiny ones, by path
    env = {**os.environ, "THINK2MAP_TOKEN": token, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    err = open(tmp_path / "server.log", "w")  # noqa: SIM115 - open while the server runs
    proc = subprocess.Popen(
        [str(backend_python), "-m", "backend", "serve", *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
        stderr=err, text=True,
    )  # fmt: skip
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    line = json.loads(proc.stdout.readline()) if ready else None
    assert line, (tmp_path / "server.log").read_text()
    url = f"http://{line['host']}:{line['port']}"
    yield SimpleNamespace(url=url, token=token, uploads=tmp_path / "up" / f"think2map-uploads-{line['pid']}")
    proc.terminate()
    proc.wait(15)
    proc.stdout.close()
    err.close()


@pytest.fixture
def qgis_server(gorinchem, tmp_path, qgis_app):
    """A REAL QGIS Server (``qgis_mapserver``, Debian's qgis-server-bin) on loopback serving the Gorinchem
    orthophoto as WMS and WCS (layer ``gorinchem``): its URL."""
    import shutil
    import socket
    import urllib.request

    from qgis.core import QgsProject, QgsRasterLayer

    server = shutil.which("qgis_mapserver")
    if server is None:
        raise RuntimeError("qgis_mapserver is missing: install qgis-server-bin and qgis-server-wms (make system)")
    project = QgsProject()
    raster = QgsRasterLayer(str(gorinchem), "gorinchem")
    project.addMapLayer(raster)
    project.writeEntry("WMSCrsList", "/", ["EPSG:28992", "EPSG:3857", "EPSG:4326"])
    project.writeEntry("WCSLayers", "/", [raster.id()])
    assert project.write(str(tmp_path / "served.qgs"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QGIS_SERVER_LOG_STDERR": "1"}
    log = open(tmp_path / "qgis_mapserver.log", "w")  # noqa: SIM115 - open while the server runs
    proc = subprocess.Popen(
        [server, "-p", str(tmp_path / "served.qgs"), f"127.0.0.1:{port}"], env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}/"
    capabilities = url + "?SERVICE=WMS&REQUEST=GetCapabilities"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(capabilities, timeout=5) as answer:  # noqa: S310 - loopback
                if b"gorinchem" in answer.read():
                    break
        except OSError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "qgis_mapserver.log").read_text()
        time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(15)
    log.close()


def _service_layer(provider: str, name: str, **params):
    from qgis.core import QgsDataSourceUri, QgsRasterLayer

    uri = QgsDataSourceUri()
    for key, value in params.items():
        uri.setParam(key, value)
    layer = QgsRasterLayer(bytes(uri.encodedUri()).decode(), name, provider)
    assert layer.isValid(), layer.error().summary()
    return layer


@pytest.fixture
def wms_layer(qgis_server):
    """The orthophoto as a WMS connection adds it (the wms provider, a QgsDataSourceUri)."""
    return _service_layer("wms", "Gorinchem WMS", crs="EPSG:28992", format="image/png", layers="gorinchem", styles="",
                          url=qgis_server)  # fmt: skip


@pytest.fixture
def wcs_layer(qgis_server):
    """The orthophoto as a WCS connection adds it (the wcs provider): a coverage, with its own pixels."""
    return _service_layer("wcs", "Gorinchem WCS", identifier="gorinchem", format="GTiff", crs="EPSG:28992",
                          url=qgis_server)  # fmt: skip
