"""Result layers: GeoPackage or memory, GeoJSON features in, style, and the "Think2Map" group."""

from __future__ import annotations

import pytest
from qgis.core import NULL, QgsCoordinateReferenceSystem, QgsProject, QgsSingleSymbolRenderer
from think2map import contract
from think2map.plugin.core import compat, layers
from think2map.plugin.core.geojson import parse_features

RD = QgsCoordinateReferenceSystem("EPSG:28992")
SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]]}
TWO = {
    "type": "MultiPolygon",
    "coordinates": [[[[20, 0], [30, 0], [30, 5], [20, 0]]], [[[40, 0], [50, 0], [50, 5], [40, 0]]]],
}


def feature(geometry, **props):
    base = {
        "query": "the river",
        "instance_id": 1,
        "area": 100.0,
        "area_unit": "m2",
        "score": 0.9,
        "prompter": "tiny",
        "segmenter": "tiny-sam2",
        "tiles": "0,1",
        "created": "2026-11-22T10:00:00Z",
    }
    return {"type": "Feature", "geometry": geometry, "properties": {**base, **props}}


@pytest.mark.parametrize("storage", ["gpkg", "memory"])
def test_create_and_fill(storage, tmp_path):
    layer = layers.create_result_layer("the river", RD, storage, str(tmp_path))
    assert layer.isValid()
    assert layer.wkbType() == compat.MULTIPOLYGON_WKB
    assert layer.crs().authid() == "EPSG:28992"
    assert [n for n in layer.fields().names() if n != "fid"] == list(contract.FEATURE_FIELDS)
    assert layer.providerType() == ("ogr" if storage == "gpkg" else "memory")
    if storage == "gpkg":
        assert (tmp_path / layers.GPKG_NAME).exists()
    added = layers.add_features(
        layer, parse_features([feature(SQUARE), feature(TWO, instance_id=2, score=None, extra="ignored")])
    )
    assert added == 2
    got = sorted(layer.getFeatures(), key=lambda f: f["instance_id"])
    assert [f["instance_id"] for f in got] == [1, 2]
    assert got[0].geometry().wkbType() == compat.MULTIPOLYGON_WKB
    assert got[0].geometry().area() == pytest.approx(100.0)
    assert got[1].geometry().constGet().numGeometries() == 2
    assert got[0]["query"] == "the river" and got[0]["score"] == pytest.approx(0.9)
    assert got[1]["score"] == NULL
    assert layer.extent().xMaximum() == pytest.approx(50)


def test_second_query_goes_into_the_same_geopackage(tmp_path):
    a = layers.create_result_layer("roofs", RD, "gpkg", str(tmp_path))
    layers.add_features(a, parse_features([feature(SQUARE)]))
    b = layers.create_result_layer("roofs", RD, "gpkg", str(tmp_path))
    assert a.source() != b.source()
    assert a.featureCount() == 1 and b.featureCount() == 0


def test_unreadable_or_non_polygon_geometries_are_skipped(tmp_path):
    layer = layers.create_result_layer("q", RD, "memory")
    bad = [feature(None), feature({"type": "Point", "coordinates": [1, 2]}), feature({"type": "Polygon"})]
    assert layers.add_features(layer, parse_features(bad + [feature(SQUARE)])) == 1
    assert layers.add_features(layer, parse_features([])) == 0


def test_unsaved_project_writes_to_a_temporary_folder(tmp_path, qgis_new_project):
    folder = layers.results_folder(QgsProject.instance())
    assert folder and "think2map" in folder
    project_file = tmp_path / "p.qgz"
    assert QgsProject.instance().write(str(project_file))
    assert layers.results_folder(QgsProject.instance()) == str(tmp_path)


def test_style_group_and_name(qgis_new_project):
    project = QgsProject.instance()
    layer = layers.create_result_layer("every   building with a red roof " * 4, RD, "memory")
    assert len(layer.name()) <= layers.NAME_LENGTH and layer.name().endswith("…")
    assert "  " not in layer.name()
    layers.style_result_layer(layer)
    assert isinstance(layer.renderer(), QgsSingleSymbolRenderer)
    symbol = layer.renderer().symbol()
    assert 0 < symbol.color().alpha() < 255
    assert symbol.symbolLayer(0).strokeColor().alpha() == 255
    group = layers.add_to_results_group(project, layer)
    second = layers.create_result_layer("trees", RD, "memory")
    assert layers.add_to_results_group(project, second) is group
    assert group.name() == "Think2Map"
    assert [n.layer() for n in group.children()] == [second, layer]
    assert project.mapLayer(layer.id()) is layer


def test_layer_name_for_empty_query():
    assert layers.layer_name_for("   ") == "query"
    assert layers.layer_name_for(" the  river ") == "the river"
