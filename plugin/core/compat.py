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
    QgsMapLayerProxyModel,
    QgsProcessing,
    QgsProcessingAlgorithm,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterNumber,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QMetaType, QVariant

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
    VECTOR_POLYGON_SOURCE = Qgis.ProcessingSourceType.VectorPolygon
    CAN_CANCEL_ALGORITHM = Qgis.ProcessingAlgorithmFlag.CanCancel
    NO_THREADING_ALGORITHM = Qgis.ProcessingAlgorithmFlag.NoThreading
    ADVANCED_PARAMETER = Qgis.ProcessingParameterFlag.Advanced
    OPTIONAL_PARAMETER = Qgis.ProcessingParameterFlag.Optional
else:
    INTEGER_NUMBER = QgsProcessingParameterNumber.Type.Integer
    VECTOR_POLYGON_SOURCE = QgsProcessing.SourceType.TypeVectorPolygon
    CAN_CANCEL_ALGORITHM = QgsProcessingAlgorithm.Flag.FlagCanCancel
    NO_THREADING_ALGORITHM = QgsProcessingAlgorithm.Flag.FlagNoThreading
    ADVANCED_PARAMETER = QgsProcessingParameterDefinition.Flag.FlagAdvanced
    OPTIONAL_PARAMETER = QgsProcessingParameterDefinition.Flag.FlagOptional

# Attribute types by the contract's kinds. QgsField takes QMetaType from 3.38; before, only QVariant's (which Qt6
# no longer has).
if QGIS_VERSION_INT >= 33800:
    FIELD_TYPES = {
        "string": QMetaType.Type.QString,
        "integer": QMetaType.Type.LongLong,
        "real": QMetaType.Type.Double,
        "int": QMetaType.Type.Int,
    }
else:
    FIELD_TYPES = {
        "string": QVariant.String,  # qt5-only
        "integer": QVariant.LongLong,  # qt5-only
        "real": QVariant.Double,  # qt5-only
        "int": QVariant.Int,  # qt5-only
    }
