"""``think2map:segmentbytext`` in a Graphical Modeler model and in batch-style repeated runs, against the REAL
backend (``.venv``, tiny random models, a forced prompter answer).

Every run here goes through Processing's own backend (``shared_blocking_backend``): one provider stays registered
for the whole module, so the backend it starts is reused by every run and stopped when the provider is removed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from qgis.core import (
    QgsApplication,
    QgsProcessingFeedback,
    QgsProcessingModelAlgorithm,
    QgsProcessingModelChildAlgorithm,
    QgsProcessingModelChildParameterSource,
    QgsProcessingModelOutput,
    QgsProcessingModelParameter,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
    QgsVectorLayer,
)
from think2map.plugin.core import compat
from think2map.plugin.processing.provider import Think2MapProvider

pytestmark = pytest.mark.live  # a real or FAKE backend process, or a server on loopback

ALG_ID = "think2map:segmentbytext"
CHILD_ID = "segment"
MODEL_OUTPUT = "polygons"


@pytest.fixture(scope="module")
def module_provider(qgis_processing):
    """One registered provider for the module; removing it stops the backend its runs started."""
    provider = Think2MapProvider()
    assert QgsApplication.processingRegistry().addProvider(provider)
    yield provider
    QgsApplication.processingRegistry().removeProvider(provider)


@pytest.fixture
def small_area(raster_layer) -> str:
    """A 100 m square inside the raster, as a Processing extent string: one 512 px tile."""
    full = raster_layer.extent()
    x0, y0 = full.xMinimum(), full.yMinimum()
    return f"{x0 + 10},{x0 + 110},{y0 + 10},{y0 + 110} [EPSG:28992]"


def static(value) -> list[QgsProcessingModelChildParameterSource]:
    return [QgsProcessingModelChildParameterSource.fromStaticValue(value)]


def build_model(settings, extent: str) -> QgsProcessingModelAlgorithm:
    """raster + query (model parameters) → segmentbytext → a model output; the rest are static values."""
    model = QgsProcessingModelAlgorithm("segment_model", "Think2Map tests")
    model.addModelParameter(
        QgsProcessingParameterRasterLayer("raster", "Raster"), QgsProcessingModelParameter("raster")
    )
    model.addModelParameter(QgsProcessingParameterString("query", "Query"), QgsProcessingModelParameter("query"))
    child = QgsProcessingModelChildAlgorithm(ALG_ID)
    assert child.algorithm() is not None, "the child algorithm did not resolve in the registry"
    child.setChildId(CHILD_ID)
    child.addParameterSources("INPUT", [QgsProcessingModelChildParameterSource.fromModelParameter("raster")])
    child.addParameterSources("QUERY", [QgsProcessingModelChildParameterSource.fromModelParameter("query")])
    child.addParameterSources("EXTENT", static(extent))
    child.addParameterSources("PROMPTER", static(settings.prompter))
    child.addParameterSources("SEGMENTER", static(settings.segmenter))
    child.addParameterSources("TILE_SIZE", static(512))
    child.addParameterSources("OVERLAP", static(0))
    output = QgsProcessingModelOutput(MODEL_OUTPUT, "Polygons")
    output.setChildId(CHILD_ID)
    output.setChildOutputName("OUTPUT")
    child.setModelOutputs({MODEL_OUTPUT: output})
    model.addChildAlgorithm(child)
    model.updateDestinationParameters()
    return model


def assert_polygons(path: str, query: str, raster_layer) -> None:
    layer = QgsVectorLayer(path, "out", "ogr")
    assert layer.isValid() and layer.featureCount() >= 1
    assert layer.crs() == raster_layer.crs()
    assert raster_layer.extent().contains(layer.extent())
    assert {f["query"] for f in layer.getFeatures()} == {query}


def test_model_runs_and_survives_a_model3_round_trip(
    module_provider, backend_settings, raster_layer, small_area, tmp_path
):
    from qgis import processing

    model = build_model(backend_settings, small_area)
    valid, issues = model.validate()
    assert valid, issues
    # QGIS names a model's output after its child ("segment:polygons") before 3.3x, after the output alone since.
    (output_param,) = [p.name() for p in model.parameterDefinitions() if p.isDestination()]
    assert output_param in (f"{CHILD_ID}:{MODEL_OUTPUT}", MODEL_OUTPUT)

    out = str(tmp_path / "model.gpkg")
    result = processing.run(model, {"raster": raster_layer.source(), "query": "the river", output_param: out})
    assert_polygons(result[output_param], "the river", raster_layer)

    path = tmp_path / "segment.model3"
    assert model.toFile(str(path)) and path.stat().st_size > 0
    loaded = QgsProcessingModelAlgorithm()
    assert loaded.fromFile(str(path))
    assert loaded.childAlgorithm(CHILD_ID).algorithmId() == ALG_ID
    assert loaded.childAlgorithm(CHILD_ID).algorithm() is not None
    assert {p.name() for p in loaded.parameterDefinitions()} == {"raster", "query", output_param}
    out2 = str(tmp_path / "model_loaded.gpkg")
    result = processing.run(loaded, {"raster": raster_layer.source(), "query": "the bridge", output_param: out2})
    assert_polygons(result[output_param], "the bridge", raster_layer)


class LogFeedback(QgsProcessingFeedback):
    """Keeps what an algorithm says to the log."""

    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def pushInfo(self, info: str) -> None:  # noqa: N802
        self.lines.append(info)
        super().pushInfo(info)


def test_batch_style_runs_are_independent(module_provider, backend_settings, raster_layer, small_area, tmp_path: Path):
    from qgis import processing

    alg = QgsApplication.processingRegistry().algorithmById(ALG_ID)
    # Safe in Processing's worker threads and in batches: no FlagNoThreading, each run its own instance.
    assert not alg.flags() & compat.NO_THREADING_ALGORITHM
    first, second = alg.create(), alg.create()
    assert first is not None and second is not None and first is not second and first is not alg
    assert first.parameterDefinition("QUERY") is not second.parameterDefinition("QUERY")
    assert [p.name() for p in first.parameterDefinitions()] == [p.name() for p in alg.parameterDefinitions()]

    outputs, logs = {}, {}
    for query in ("the river", "red roofs"):
        out = str(tmp_path / f"{query.replace(' ', '_')}.gpkg")
        feedback = LogFeedback()
        result = processing.run(
            ALG_ID,
            {
                "INPUT": raster_layer.source(),
                "QUERY": query,
                "EXTENT": small_area,
                "PROMPTER": backend_settings.prompter,
                "SEGMENTER": backend_settings.segmenter,
                "TILE_SIZE": 512,
                "OVERLAP": 0,
                "OUTPUT": out,
            },
            feedback=feedback,
        )
        outputs[query] = result["OUTPUT"]
        logs[query] = feedback.lines
    assert len(set(outputs.values())) == 2
    assert not any("Starting the Think2Map backend" in line for line in logs["red roofs"])  # it reused the backend
    for query, path in outputs.items():
        assert_polygons(path, query, raster_layer)
