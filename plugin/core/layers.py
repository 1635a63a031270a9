"""Result layers: created in a GeoPackage (or memory), filled with the backend's features, styled, grouped."""

from __future__ import annotations

import datetime as dt
import re
import tempfile
import unicodedata
from pathlib import Path

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsFields,
    QgsFillSymbol,
    QgsGeometry,
    QgsLayerTreeGroup,
    QgsLayerTreeLayer,
    QgsLayerTreeNode,
    QgsMapLayer,
    QgsMemoryProviderUtils,
    QgsPointXY,
    QgsProject,
    QgsSingleSymbolRenderer,
    QgsVectorFileWriter,
    QgsVectorLayer,
)

from ... import contract
from . import compat
from .geojson import ParsedFeature, features_for
from .i18n import tr

GROUP_NAME = "Think2Map"
GPKG_NAME = "think2map_results.gpkg"
NAME_LENGTH = 60
RASTER_NAME_LENGTH = 30
# name -> field type of the result attributes, in the contract's order
PALETTE = ["255,127,0", "31,120,180", "227,26,28", "51,160,44", "106,61,154", "177,89,40", "0,150,150"]


def result_fields(extra: dict[str, str] | None = None) -> QgsFields:
    """The attribute fields of a result layer, in the contract's order, then ``extra`` (name -> kind)."""
    return compat.fields({**contract.FEATURE_FIELDS, **(extra or {})})


def elide(text: str, length: int = NAME_LENGTH) -> str:
    """``text`` with its whitespace collapsed, cut to ``length`` characters with an ellipsis."""
    text = " ".join(str(text).split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def layer_name_for(query: str) -> str:
    """A short layer name for a query: whitespace collapsed, at most ``NAME_LENGTH`` characters."""
    return elide(query) or tr("query")


def result_layer_name(query: str, raster_name: str, taken: set[str]) -> str:
    """A readable name not in ``taken``: "query · raster", then "query · raster (2)", "(3)"…"""
    base = layer_name_for(query) + (f" · {elide(raster_name, RASTER_NAME_LENGTH)}" if raster_name else "")
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base} ({n})"
    return name


def crs_from_text(text: str) -> QgsCoordinateReferenceSystem:
    """A CRS from an authid, an OGC URN or WKT (invalid CRS when ``text`` is empty or unknown)."""
    crs = QgsCoordinateReferenceSystem()
    if text:
        crs.createFromUserInput(text)
    return crs


def results_folder(project: QgsProject | None = None) -> str:
    """Where GeoPackage results go: the project's folder, or a temporary folder while it is unsaved."""
    project = project or QgsProject.instance()
    if project.fileName():
        return project.absolutePath()
    folder = Path(tempfile.gettempdir()) / "think2map"
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder)


def table_name(query: str) -> str:
    """A GeoPackage table name for ``query``: its letters without accents ("la rivière" → "la_riviere"), digits,
    underscores, and the time, so that two runs never share a table."""
    plain = unicodedata.normalize("NFKD", query.lower()).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^0-9a-z]+", "_", plain).strip("_")[:30] or "query"
    return f"{slug}_{dt.datetime.now().strftime('%Y%m%d_%H%M%S_%f')}"


def create_result_layer(
    query: str,
    crs: QgsCoordinateReferenceSystem,
    storage: str = "gpkg",
    folder: str | None = None,
    name: str | None = None,
    extra_fields: dict[str, str] | None = None,
) -> QgsVectorLayer:
    """An empty MultiPolygon layer for the results of ``query`` in ``crs``, called ``name``.

    ``storage`` 'gpkg' adds a table to ``<folder>/think2map_results.gpkg`` (``folder`` defaults to
    :func:`results_folder`); 'memory' makes a memory layer. Raises RuntimeError if the file cannot be written.
    """
    name = name or layer_name_for(query)
    if storage == "memory":
        layer = QgsMemoryProviderUtils.createMemoryLayer(
            name, result_fields(extra_fields), compat.MULTIPOLYGON_WKB, crs
        )
    else:
        path = Path(folder or results_folder()) / GPKG_NAME
        table = table_name(query)
        options = QgsVectorFileWriter.SaveVectorOptions()
        options.driverName = "GPKG"
        options.layerName = table
        options.fileEncoding = "UTF-8"
        options.actionOnExistingFile = (
            QgsVectorFileWriter.ActionOnExistingFile.CreateOrOverwriteLayer
            if path.exists()
            else QgsVectorFileWriter.ActionOnExistingFile.CreateOrOverwriteFile
        )
        writer = QgsVectorFileWriter.create(
            str(path),
            result_fields(extra_fields),
            compat.MULTIPOLYGON_WKB,
            crs,
            QgsProject.instance().transformContext(),
            options,
        )
        error = writer.hasError()
        message = writer.errorMessage()
        del writer  # closes the file
        if error != QgsVectorFileWriter.WriterError.NoError:
            raise RuntimeError(
                tr("Could not create the result layer in {path}: {error}").format(path=path, error=message)
            )
        layer = QgsVectorLayer(f"{path}|layername={table}", name, "ogr")
    if not layer.isValid():
        raise RuntimeError(tr("Could not open the result layer for '{query}'.").format(query=query))
    layer.setCustomProperty("think2map/query", query)
    return layer


def add_features(layer: QgsVectorLayer, parsed: list[ParsedFeature], extra: dict | None = None) -> int:
    """Append parsed features to ``layer`` (written straight to its provider), with the ``extra`` attributes each
    (an exported source's provenance); returns how many were added."""
    qfeatures = features_for(parsed, layer.fields(), extra)
    if not qfeatures:
        return 0
    ok, _ = layer.dataProvider().addFeatures(qfeatures)
    if not ok:
        raise RuntimeError(
            tr("Could not write features to {layer}: {error}").format(
                layer=layer.name(), error="; ".join(layer.dataProvider().errors()) or "?"
            )
        )
    layer.updateExtents()
    layer.triggerRepaint()
    return len(qfeatures)


def style_result_layer(layer: QgsVectorLayer) -> None:
    """A translucent fill with a clear outline, its colour picked from the layer's name."""
    color = PALETTE[sum(map(ord, layer.name())) % len(PALETTE)]
    symbol = QgsFillSymbol.createSimple(
        {"color": f"{color},70", "outline_color": f"{color},255", "outline_width": "0.6", "outline_width_unit": "MM"}
    )
    layer.setRenderer(QgsSingleSymbolRenderer(symbol))
    layer.triggerRepaint()


def add_to_results_group(
    project: QgsProject, layer: QgsVectorLayer, above: QgsMapLayer | None = None
) -> QgsLayerTreeGroup:
    """Add ``layer`` at the top of the "Think2Map" group, the group drawn above the raster ``above`` came from.

    The group is made just above that raster when missing, and moved there when rasters added since hide it.
    """
    root = project.layerTreeRoot()
    group = root.findGroup(GROUP_NAME)
    raster_node = root.findLayer(above.id()) if above is not None else None
    if group is None:
        parent, index = _slot_above(raster_node) if raster_node is not None else (root, 0)
        group = parent.insertGroup(index, GROUP_NAME)
    elif raster_node is not None and not _drawn_above(root, group, raster_node):
        parent, index = _slot_above(raster_node)
        moved = group.clone()
        parent.insertChildNode(index, moved)
        group.parent().removeChildNode(group)
        group = moved
    project.addMapLayer(layer, False)
    group.insertLayer(0, layer)
    return group


def _slot_above(node: QgsLayerTreeNode) -> tuple[QgsLayerTreeGroup, int]:
    parent = node.parent()
    return parent, next(i for i, child in enumerate(parent.children()) if _same(child, node))


def _same(a: QgsLayerTreeNode, b: QgsLayerTreeNode) -> bool:
    if isinstance(a, QgsLayerTreeLayer) and isinstance(b, QgsLayerTreeLayer):
        return a.layerId() == b.layerId()
    return a is b


def _drawn_above(root: QgsLayerTreeGroup, group: QgsLayerTreeGroup, raster_node: QgsLayerTreeNode) -> bool:
    """Whether ``group`` comes before ``raster_node`` in the layer tree (QGIS draws the first on top)."""
    order: list[QgsLayerTreeNode] = []

    def walk(node: QgsLayerTreeNode) -> None:
        for child in node.children():
            order.append(child)
            walk(child)

    walk(root)
    group_at = next(i for i, node in enumerate(order) if node is group)
    raster_at = next(i for i, node in enumerate(order) if _same(node, raster_node))
    return group_at < raster_at


def overview_layer_name(result_name: str) -> str:
    """The coarse boxes layer of a result: "Overview boxes · <result layer's name>"."""
    return tr("Overview boxes · {name}").format(name=result_name)


def create_overview_layer(name: str, crs: QgsCoordinateReferenceSystem, cells: list[dict]) -> QgsVectorLayer:
    """A temporary (memory) layer of the overview's boxes, one feature per box, with its cell's answer status.

    The boxes are where the overview told the job to look; the cells whose answer was unusable are drawn whole.
    """
    fields = compat.fields({"cell": "int", "status": "string"})
    layer = QgsMemoryProviderUtils.createMemoryLayer(name, fields, compat.POLYGON_WKB, crs)
    features = []
    for cell in cells:
        status = str(cell.get("status") or "")
        shapes = cell.get("boxes") or []
        if status not in ("ok", "no_target", "skipped"):
            shapes = [cell.get("footprint")]
        for shape in shapes:
            if not shape:
                continue
            geometry = _polygon(shape)
            if geometry is None:
                continue
            feature = QgsFeature(fields)
            feature.setGeometry(geometry)
            feature.setAttributes([int(cell.get("index") or 0), status])
            features.append(feature)
    layer.dataProvider().addFeatures(features)
    layer.updateExtents()
    symbol = QgsFillSymbol.createSimple(
        {
            "style": "no",
            "outline_color": "255,200,0,255",
            "outline_width": "0.5",
            "outline_width_unit": "MM",
            "outline_style": "dash",
        }
    )
    layer.setRenderer(QgsSingleSymbolRenderer(symbol))
    return layer


def _polygon(shape: dict) -> QgsGeometry | None:
    """A GeoJSON polygon (its outer ring) as a geometry; None for anything else."""
    try:
        ring = [QgsPointXY(float(x), float(y)) for x, y, *_ in shape["coordinates"][0]]
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    return QgsGeometry.fromPolygonXY([ring]) if len(ring) >= 4 else None
