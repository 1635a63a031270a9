"""Rasters, tiles, polygons and output files: numpy, rasterio, shapely and GDAL only, never torch."""
