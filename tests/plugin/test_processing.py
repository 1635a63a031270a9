"""The Processing provider offline: registration, parameters, and input checks before any backend starts."""

from __future__ import annotations

import json

import pytest
from qgis.core import QgsApplication, QgsProcessingException, QgsProject, QgsVectorLayer
from think2map import contract
from think2map.plugin.core import compat
from think2map.plugin.core.settings import Settings
from think2map.plugin.processing.provider import Think2MapProvider


@pytest.fixture
def provider(qgis_processing):
    Settings(python_path="/nonexistent/python", prompter="my-prompter").save()
    p = Think2MapProvider()
    assert QgsApplication.processingRegistry().addProvider(p)
    yield p
    QgsApplication.processingRegistry().removeProvider(p)


def test_algorithm_is_registered_with_its_parameters(provider):
    alg = QgsApplication.processingRegistry().algorithmById("think2map:segmentbytext")
    assert alg is not None and alg.displayName() == "Segment raster by text query"
    names = [p.name() for p in alg.parameterDefinitions()]
    assert names == [
        "INPUT",
        "QUERY",
        "EXTENT",
        "PROMPTER",
        "SEGMENTER",
        "TILE_SIZE",
        "OVERLAP",
        "MODE",
        "STRATEGY",
        "MAX_TILES",
        "PIXEL_COORDS",
        "RESOLUTION",
        "OUTPUT",
    ]
    mode = alg.parameterDefinition("MODE")
    assert mode.defaultValue() == 0 and len(mode.options()) == 3  # reason (the default), find, auto
    strategy = alg.parameterDefinition("STRATEGY")
    assert strategy.defaultValue() == 0 and len(strategy.options()) == len(contract.STRATEGIES)  # tiles first
    for name in ("MAX_TILES", "PIXEL_COORDS", "RESOLUTION"):  # in the dialog's Advanced part, with defaults
        definition = alg.parameterDefinition(name)
        assert definition.flags() & compat.ADVANCED_PARAMETER and definition.flags() & compat.OPTIONAL_PARAMETER
    assert alg.parameterDefinition("MAX_TILES").defaultValue() == 400
    assert alg.parameterDefinition("EXTENT").flags() & compat.OPTIONAL_PARAMETER
    assert alg.parameterDefinition("PROMPTER").defaultValue() == "my-prompter"
    assert alg.parameterDefinition("SEGMENTER").defaultValue() == "sam2.1-s"


def test_empty_query_and_missing_interpreter_are_explained(provider, gorinchem):
    from qgis import processing

    with pytest.raises(QgsProcessingException, match="Type what to look for"):
        processing.run("think2map:segmentbytext", {"INPUT": str(gorinchem), "QUERY": "  ", "OUTPUT": "memory:"})
    with pytest.raises(QgsProcessingException, match="does not exist.*make setup"):
        processing.run("think2map:segmentbytext", {"INPUT": str(gorinchem), "QUERY": "roofs", "OUTPUT": "memory:"})


def test_area_outside_the_raster_is_refused(provider, gorinchem):
    from qgis import processing

    with pytest.raises(QgsProcessingException, match="does not overlap"):
        processing.run(
            "think2map:segmentbytext",
            {
                "INPUT": str(gorinchem),
                "QUERY": "roofs",
                "EXTENT": "2.29,2.30,48.85,48.86 [EPSG:4326]",
                "OUTPUT": "memory:",
            },
        )


def test_non_raster_input_is_refused(provider, gorinchem):
    from qgis import processing

    vector = QgsVectorLayer("Polygon?crs=EPSG:28992", "parcels", "memory")
    QgsProject.instance().addMapLayer(vector)
    try:
        with pytest.raises(QgsProcessingException):
            processing.run("think2map:segmentbytext", {"INPUT": vector.id(), "QUERY": "roofs", "OUTPUT": "memory:"})
    finally:
        QgsProject.instance().removeMapLayer(vector.id())


class ReadyManager:
    """Stands in for the plugin's BackendManager once it is ready."""

    state = "ready"

    def __init__(self, server):
        self.server = server

    def client(self):
        from think2map.plugin.core.client import BackendClient

        return BackendClient(self.server.url, self.server.token)

    def wait_until_ready(self, is_canceled=lambda: False, timeout_s=None):
        return self.client()


@pytest.fixture
def fake_manager():
    from .fake_backend import FakeServer

    server = FakeServer("tok", tiles_per_job=4).start_in_thread()
    yield ReadyManager(server)
    server.shutdown()
    server.server_close()


@pytest.mark.live
def test_uses_the_plugins_running_backend_and_writes_features(qgis_processing, fake_manager, gorinchem, tmp_path):
    from qgis import processing
    from qgis.core import QgsProcessingFeedback

    provider = Think2MapProvider(lambda: fake_manager)
    QgsApplication.processingRegistry().addProvider(provider)
    try:
        out = str(tmp_path / "out.gpkg")
        result = processing.run(
            "think2map:segmentbytext",
            {"INPUT": str(gorinchem), "QUERY": "roofs", "TILE_SIZE": 256, "OUTPUT": out},
            feedback=QgsProcessingFeedback(),
        )
        layer = QgsVectorLayer(result["OUTPUT"], "out", "ogr")
        assert layer.featureCount() == 4 and layer.crs().authid() == "EPSG:28992"
        assert sorted(f["instance_id"] for f in layer.getFeatures()) == [0, 1, 2, 3]
        body = fake_manager.server.bodies[0]
        assert body["tile_size"] == 256 and "bounds" not in body and body["raster"] == str(gorinchem)

        fake_manager.server.tiles_per_job = 100
        feedback = QgsProcessingFeedback()
        feedback.progressChanged.connect(lambda p: feedback.cancel() if p > 0 else None)
        processing.run(
            "think2map:segmentbytext",
            {"INPUT": str(gorinchem), "QUERY": "roofs", "OUTPUT": "memory:"},
            feedback=feedback,
        )
        assert ("DELETE", "/jobs/job2") in [(r[0], r[1]) for r in fake_manager.server.requests]
        assert fake_manager.server.jobs["job2"].state() == "cancelled"
    finally:
        QgsApplication.processingRegistry().removeProvider(provider)


def test_a_tile_size_beyond_the_backends_limit_is_refused_by_the_algorithm(provider, gorinchem):
    from qgis import processing
    from qgis.core import QgsProcessingContext
    from think2map import contract

    params = {"INPUT": str(gorinchem), "QUERY": "roofs", "TILE_SIZE": 5000, "OUTPUT": "memory:"}
    with pytest.raises(QgsProcessingException, match=f"between 64 and {contract.TILE_SIZE_MAX}"):
        processing.run("think2map:segmentbytext", params)
    alg = QgsApplication.processingRegistry().algorithmById("think2map:segmentbytext")
    ok, message = alg.checkParameterValues(dict(params, TILE_SIZE=840, OVERLAP=2000), QgsProcessingContext())
    assert not ok and "420" in message and "2000" in message
    # beyond the parameter's own maximum, the same one sentence (not first "≤ 2048", then "420")
    ok, message = alg.checkParameterValues(dict(params, TILE_SIZE=840, OVERLAP=3000), QgsProcessingContext())
    assert not ok and message.startswith("The overlap must be at most half the tile size: 420 pixels for tiles of 840")
    assert "Lower the Tile overlap" in message and "Advanced options" not in message  # Processing's own words
    ok, message = alg.checkParameterValues(dict(params, QUERY="x" * 2001), QgsProcessingContext())
    assert not ok and message == "The query is 2001 characters long; keep it to 2000 at most."
    ok, message = alg.checkParameterValues(dict(params, QUERY="   "), QgsProcessingContext())
    assert not ok and "Query parameter" in message
    assert alg.parameterDefinition("TILE_SIZE").maximum() == contract.TILE_SIZE_MAX


def test_result_fields_follow_the_contract():
    from think2map import contract
    from think2map.plugin.core import layers

    fields = layers.result_fields()
    assert [f.name() for f in fields] == list(contract.FEATURE_FIELDS)


@pytest.mark.live
def test_a_web_layer_is_exported_then_segmented_with_its_provenance(
    qgis_processing, fake_manager, xyz_layer, tile_server, tmp_path
):
    from qgis import processing
    from qgis.core import QgsProcessingFeedback, QgsProject

    from .conftest import XYZ_SECRET

    QgsProject.instance().addMapLayer(xyz_layer)
    provider = Think2MapProvider(lambda: fake_manager)
    QgsApplication.processingRegistry().addProvider(provider)
    try:
        out = str(tmp_path / "out.gpkg")
        area = "554800,555300,6771250,6771600 [EPSG:3857]"  # inside the served pyramid
        result = processing.run(
            "think2map:segmentbytext",
            {"INPUT": xyz_layer.id(), "QUERY": "roofs", "EXTENT": area, "RESOLUTION": 1.0, "OUTPUT": out},
            feedback=QgsProcessingFeedback(),
        )
        body = fake_manager.server.bodies[0]
        assert body["raster"].endswith(".tif") and "bounds" not in body and tile_server.requests
        assert XYZ_SECRET not in json.dumps(body) and "127.0.0.1" not in json.dumps(body)
        layer = QgsVectorLayer(result["OUTPUT"], "out", "ogr")
        assert layer.featureCount() == 4 and layer.crs().authid() == "EPSG:3857"
        host = tile_server.url.split("/")[2]
        for feature in layer.getFeatures():
            assert feature["source_layer"] == "Gorinchem basemap" and feature["source_host"] == host
            assert feature["resolution"] == pytest.approx(1.0)
    finally:
        QgsApplication.processingRegistry().removeProvider(provider)


@pytest.mark.live
def test_a_team_server_that_cannot_read_the_file_is_sent_the_area(
    qgis_processing, team_server, tiny_models, gorinchem, tmp_path
):
    from qgis import processing
    from qgis.core import QgsProcessingFeedback

    Settings(backend_mode="remote", remote_url=team_server.url, remote_token=team_server.token).save()
    manager = ReadyManager(team_server)  # the dock's backend: the team server
    provider = Think2MapProvider(lambda: manager)
    QgsApplication.processingRegistry().addProvider(provider)
    said: list[str] = []
    feedback = QgsProcessingFeedback()
    feedback.pushInfo = said.append
    try:
        area = "127450,127550,428050,428150 [EPSG:28992]"  # a 100 m square of the file
        result = processing.run(
            "think2map:segmentbytext",
            {
                "INPUT": str(gorinchem),
                "QUERY": "the river",
                "EXTENT": area,
                "OUTPUT": str(tmp_path / "out.gpkg"),
                "PROMPTER": str(tiny_models["prompter"]),
                "SEGMENTER": str(tiny_models["sam2"]),
            },  # fmt: skip
            feedback=feedback,
        )
    finally:
        QgsApplication.processingRegistry().removeProvider(provider)
    layer = QgsVectorLayer(result["OUTPUT"], "out", "ogr")
    assert layer.featureCount() > 0 and layer.crs().authid() == "EPSG:28992"
    assert "Sending the area to the backend, which cannot read it…" in said
    extent = layer.extent()
    assert 127450 - 1 <= extent.xMinimum() and extent.xMaximum() <= 127550 + 1  # the area sent, clipped
    assert [p for p in team_server.uploads.rglob("*") if p.is_file()] == []  # gone with its job
