"""The QGIS names that differ between QGIS 3.22 and QGIS 3.30+ / 4.x, each resolved once, here and nowhere else.

Everything else in the plugin uses names that every supported QGIS has: Qt's and QGIS's fully scoped enums
(``Qt.MouseButton.LeftButton``, ``QgsTask.Flag.CanCancel``), which PyQt5 and PyQt6 both resolve. What QGIS
moved into ``Qgis`` (3.30 for geometry and WKB types, 3.34 for layer filters, 3.36 for Processing, 3.38 for
field types as ``QMetaType``) is taken from there when the running QGIS has it, the names QGIS 4 keeps, and from
3.22's scoped names otherwise. Tested for both branches by the plugin tier on 3.22 and 3.44.
"""

from __future__ import annotations

from qgis.core import (
    Qgis,
    QgsFields,
    QgsMapLayer,
    QgsMapLayerProxyModel,
    QgsMapLayerServerProperties,
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterNumber,
    QgsRasterFileWriter,
    QgsVectorLayer,
    QgsWkbTypes,
)

QGIS_VERSION_INT: int = Qgis.QGIS_VERSION_INT

if hasattr(Qgis, "GeometryType"):  # 3.30
    POINT_GEOMETRY = Qgis.GeometryType.Point
    POLYGON_GEOMETRY = Qgis.GeometryType.Polygon
    POLYGON_WKB = Qgis.WkbType.Polygon
    MULTIPOLYGON_WKB = Qgis.WkbType.MultiPolygon
else:
    POINT_GEOMETRY = QgsWkbTypes.GeometryType.PointGeometry
    POLYGON_GEOMETRY = QgsWkbTypes.GeometryType.PolygonGeometry
    POLYGON_WKB = QgsWkbTypes.Type.Polygon
    MULTIPOLYGON_WKB = QgsWkbTypes.Type.MultiPolygon

if hasattr(Qgis, "LayerFilter"):  # 3.34
    RASTER_LAYERS = Qgis.LayerFilter.RasterLayer
    POLYGON_LAYERS = Qgis.LayerFilter.PolygonLayer
else:
    RASTER_LAYERS = QgsMapLayerProxyModel.Filter.RasterLayer
    POLYGON_LAYERS = QgsMapLayerProxyModel.Filter.PolygonLayer

if hasattr(Qgis, "ProcessingSourceType"):  # 3.36
    INTEGER_NUMBER = Qgis.ProcessingNumberParameterType.Integer
    DOUBLE_NUMBER = Qgis.ProcessingNumberParameterType.Double
    VECTOR_POLYGON_SOURCE = Qgis.ProcessingSourceType.VectorPolygon
    CAN_CANCEL_ALGORITHM = Qgis.ProcessingAlgorithmFlag.CanCancel
    NO_THREADING_ALGORITHM = Qgis.ProcessingAlgorithmFlag.NoThreading
    ADVANCED_PARAMETER = Qgis.ProcessingParameterFlag.Advanced
    OPTIONAL_PARAMETER = Qgis.ProcessingParameterFlag.Optional
else:
    INTEGER_NUMBER = QgsProcessingParameterNumber.Type.Integer
    DOUBLE_NUMBER = QgsProcessingParameterNumber.Type.Double
    VECTOR_POLYGON_SOURCE = QgsProcessing.SourceType.TypeVectorPolygon
    CAN_CANCEL_ALGORITHM = QgsProcessingAlgorithm.Flag.FlagCanCancel
    NO_THREADING_ALGORITHM = QgsProcessingAlgorithm.Flag.FlagNoThreading
    ADVANCED_PARAMETER = QgsProcessingParameterDefinition.Flag.FlagAdvanced
    OPTIONAL_PARAMETER = QgsProcessingParameterDefinition.Flag.FlagOptional

if hasattr(Qgis, "RasterFileWriterResult"):  # 3.32
    RASTER_WRITTEN = Qgis.RasterFileWriterResult.Success
else:
    RASTER_WRITTEN = QgsRasterFileWriter.WriterError.NoError


def set_creation_options(writer: QgsRasterFileWriter, options: list[str]) -> None:
    """GDAL creation options of a raster writer: ``setCreationOptions`` since 3.40, ``setCreateOptions`` before."""
    if hasattr(QgsRasterFileWriter, "setCreationOptions"):  # 3.40
        writer.setCreationOptions(options)
    else:
        writer.setCreateOptions(options)


def layer_attribution(layer: QgsMapLayer) -> str:
    """The attribution a layer carries: its server properties' since 3.28, the layer's own before."""
    if hasattr(QgsMapLayerServerProperties, "attribution"):  # 3.28
        return layer.serverProperties().attribution()
    return layer.attribution()


# The memory provider's name of each attribute kind of the contract: fields made through it have the same type on
# every QGIS (QgsField takes a QVariant type before 3.38, a QMetaType one since, and Qt6 has no QVariant types).
# A length of 0: no limit, as a plain QgsField has.
_MEMORY_TYPES = {"string": "string(0)", "integer": "long(0)", "real": "double(0,0)", "int": "integer(0)"}


def fields(kinds: dict[str, str]) -> QgsFields:
    """Attribute fields named and typed as ``kinds`` says (``{name: "string" | "integer" | "real" | "int"}``)."""
    uri = "None?" + "&".join(f"field={name}:{_MEMORY_TYPES[kind]}" for name, kind in kinds.items())
    return QgsVectorLayer(uri, "fields", "memory").fields()
