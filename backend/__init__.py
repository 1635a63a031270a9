"""Think2Map backend: reasoning segmentation of georeferenced rasters.

Runs in its own virtual environment; the QGIS plugin talks to it over HTTP. Packages, from the bottom up:
``geo`` (rasters, tiles, polygons, files; no torch), ``models`` (prompts, prompters, segmenters, their loading
and weights), ``pipeline`` (one query over one raster), ``service`` (the HTTP API), ``tools`` (evaluation and
benchmarks) and ``commands`` (the command line).
"""

import configparser
from pathlib import Path


def _version() -> str:
    """The version in the plugin's metadata.txt, the one place it is written."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(Path(__file__).resolve().parents[1] / "metadata.txt", encoding="utf-8")
    return parser.get("general", "version", fallback="0+unknown")


__version__ = _version()
