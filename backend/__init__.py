"""Think2Map backend: reasoning segmentation of georeferenced rasters.

Runs in its own virtual environment; the QGIS plugin talks to it over HTTP.
"""

__version__ = "0.1.0"
