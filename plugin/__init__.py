"""QGIS side of Think2Map: imports only the standard library, qgis and qgis.PyQt (never torch)."""
