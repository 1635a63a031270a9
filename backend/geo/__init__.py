"""Rasters, tiles, polygons and output files: numpy, rasterio, shapely and GDAL only, never torch."""

import os

# GDAL's block cache defaults to 5 % of the machine's memory, and a large compressed raster read tile by tile
# filled it (1.2 GB here): enough for the overlap between neighbouring tiles is a few rows of tiles. The
# user's own GDAL_CACHEMAX wins.
os.environ.setdefault("GDAL_CACHEMAX", "256")
