"""Reading rasters for the models: band choice, one 8-bit stretch for the whole raster, validity masks."""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import rasterio
from rasterio.enums import ColorInterp, Resampling
from rasterio.errors import CRSError, NotGeoreferencedWarning, RasterioIOError
from rasterio.windows import Window

from ..errors import RasterError
from .access import RasterAccess, is_dataset_path
from .georef import Georef, georef_of

OVERVIEW_SIZE = 1024
STRETCH_PERCENTILES = (2.0, 98.0)


@dataclass(frozen=True)
class PixelWindow:
    """A window in raster pixels: column and row offsets, width and height."""

    col_off: int
    row_off: int
    width: int
    height: int

    @property
    def col_end(self) -> int:
        return self.col_off + self.width

    @property
    def row_end(self) -> int:
        return self.row_off + self.height

    def to_rasterio(self) -> Window:
        return Window(self.col_off, self.row_off, self.width, self.height)


class RasterSource:
    """An open raster, read as 8-bit RGB tiles with a validity mask.

    Bands: three are used as RGB; one is replicated to grey RGB. By default the red, green and blue bands
    by colour interpretation, else bands 1-3, else band 1. Non-8-bit data is stretched band by band between
    the 2nd and 98th percentiles of the valid pixels of an overview, once for the whole raster, so that
    tiles agree. Nodata, alpha, internal masks and NaN all count as invalid.
    """

    def __init__(
        self,
        path: str,
        bands: Sequence[int] | None = None,
        pixel_coords: bool = False,
        access: RasterAccess | None = None,
    ):
        self.path = str(path)
        self.access = access or RasterAccess()
        self.access.check(self.path)
        self.identity = raster_identity(self.path)
        self.ds = self._open()
        try:
            self.files: list[str] = [str(f) for f in self.ds.files]  # kept: a closed source still says them
            self._check()
            self.georef: Georef = georef_of(self.ds, self.path, pixel_coords)
            self.bands = self._choose_bands(bands)
            self._unique = sorted(set(self.bands))
            self._lut_index = [self._unique.index(b) for b in self.bands]
            self.stretch = self._compute_stretch()
            self._tables: dict[tuple[int, str], np.ndarray] = {}
        except Exception:
            self.ds.close()
            raise

    # -- metadata -------------------------------------------------------------------------------------
    @property
    def width(self) -> int:
        return self.ds.width

    @property
    def height(self) -> int:
        return self.ds.height

    @property
    def crs(self):
        """The CRS polygons are placed in (None for pixel coordinates)."""
        return self.georef.crs

    def _open(self):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NotGeoreferencedWarning)  # georef_of says it in words
                ds = rasterio.open(self.path)
        except RasterioIOError as exc:
            if self.access.restricted:
                raise self.access.not_found(self.path) from None
            raise RasterError(
                f"{self.path} is not a raster that GDAL can read ({exc}).", "not_a_raster", path=self.path
            ) from None
        try:
            self.access.check_files(self.path, list(ds.files))
        except RasterError:
            ds.close()
            raise
        return ds

    def _check(self) -> None:
        if self.ds.count < 1:
            raise RasterError(f"{self.path} has no bands.", "not_a_raster", path=self.path)
        try:
            crs = self.ds.crs
            if crs is not None:
                crs.to_wkt()
        except CRSError as exc:
            raise RasterError(
                f"{self.path} has a coordinate reference system that cannot be read ({exc}). Assign a valid one "
                "(gdal_edit.py -a_srs EPSG:XXXX, or QGIS's Assign Projection).",
                "bad_crs",
                path=self.path,
            ) from None
        if np.dtype(self.ds.dtypes[0]).kind == "c":
            raise RasterError(
                f"{self.path} holds complex numbers; pick a band of real values.", "bad_bands", path=self.path
            )

    def _choose_bands(self, bands: Sequence[int] | None) -> tuple[int, int, int]:
        count = self.ds.count
        if bands:
            chosen = [int(b) for b in bands]
            if len(chosen) not in (1, 3):
                raise RasterError(
                    f"Give one band (shown as grey) or three (red, green, blue), not {len(chosen)}.",
                    "bad_bands",
                    count=len(chosen),
                )
            bad = [b for b in chosen if not 1 <= b <= count]
            if bad:
                raise RasterError(
                    f"Band {bad[0]} does not exist: {self.path} has bands 1 to {count}.",
                    "no_such_band",
                    band=bad[0],
                    bands=count,
                )
            return _rgb_bands(chosen)
        interp = list(self.ds.colorinterp)
        rgb = [interp.index(c) + 1 for c in (ColorInterp.red, ColorInterp.green, ColorInterp.blue) if c in interp]
        if len(rgb) == 3:
            return _rgb_bands(rgb)
        data_bands = [i + 1 for i, c in enumerate(interp) if c != ColorInterp.alpha] or [1]
        return _rgb_bands(data_bands[:3] if len(data_bands) >= 3 else data_bands[:1])

    def _overview(self, window: PixelWindow | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``window`` (default: the whole raster) read at most OVERVIEW_SIZE pixels across, and where it is valid."""
        window = window or self.full_window()
        scale = max(window.width, window.height) / OVERVIEW_SIZE
        shape = (max(1, round(window.height / max(scale, 1))), max(1, round(window.width / max(scale, 1))))
        win = window.to_rasterio()
        with self._read_errors(window):
            data = self.ds.read(
                self._unique, window=win, out_shape=(len(self._unique), *shape), resampling=Resampling.nearest
            )
            valid = self.ds.dataset_mask(window=win, out_shape=shape, resampling=Resampling.nearest) > 0
        if data.dtype.kind == "f":
            valid &= np.all(np.isfinite(data), axis=0)
        return data, valid

    def _compute_stretch(self) -> list[tuple[float, float]] | None:
        if all(np.dtype(self.ds.dtypes[b - 1]) == np.uint8 for b in self._unique):
            return None
        data, valid = self._overview()
        if not valid.any():
            raise no_valid_pixels(self.path)
        lo_p, hi_p = STRETCH_PERCENTILES
        ranges = []
        for band in data:
            lo, hi = np.percentile(band[valid].astype(np.float64), [lo_p, hi_p])
            ranges.append((float(lo), float(hi) if hi > lo else float(lo) + 1.0))
        return ranges

    # -- reading --------------------------------------------------------------------------------------
    def window_from_bounds(self, bounds: Sequence[float]) -> PixelWindow:
        """The pixel window covering ``(minx, miny, maxx, maxy)`` in the raster's CRS, clipped to the raster."""
        minx, miny, maxx, maxy = (float(v) for v in bounds)
        if not (minx < maxx and miny < maxy):
            raise RasterError(f"Bounds must be minx miny maxx maxy with min < max, got {list(bounds)}.", "bad_bounds")
        xs = np.array([minx, maxx, maxx, minx] + list(np.linspace(minx, maxx, 9)) * 2)
        ys = np.array([miny, miny, maxy, maxy] + [miny] * 9 + [maxy] * 9)
        cols, rows = self.georef.to_pixels(xs, ys)
        ok = np.isfinite(cols) & np.isfinite(rows)
        if ok.any():
            c0, r0 = max(0, int(np.floor(cols[ok].min()))), max(0, int(np.floor(rows[ok].min())))
            c1, r1 = min(self.width, int(np.ceil(cols[ok].max()))), min(self.height, int(np.ceil(rows[ok].max())))
        if not ok.any() or c1 <= c0 or r1 <= r0:
            left, bottom, right, top = self.extent()
            raise RasterError(
                f"The area {minx:g}, {miny:g}, {maxx:g}, {maxy:g} lies outside the raster, whose extent is "
                f"{left:g}, {bottom:g}, {right:g}, {top:g} in its CRS.",
                "area_outside",
                area=[minx, miny, maxx, maxy],
                extent=[left, bottom, right, top],
            )
        return PixelWindow(c0, r0, c1 - c0, r1 - r0)

    def extent(self) -> tuple[float, float, float, float]:
        """``(minx, miny, maxx, maxy)`` of the raster in the CRS its polygons are placed in."""
        import shapely

        minx, miny, maxx, maxy = self.georef.to_map(shapely.box(0, 0, self.width, self.height)).bounds
        return float(minx), float(miny), float(maxx), float(maxy)

    def full_window(self) -> PixelWindow:
        return PixelWindow(0, 0, self.width, self.height)

    def validity_overview(self, window: PixelWindow | None = None) -> tuple[np.ndarray, float]:
        """A coarse validity mask of ``window`` (default: the whole raster) and its scale (raster pixels per overview
        pixel). Where it says "valid", data is likely; where it says "empty", only :meth:`holds_valid` can tell.
        Read over the area searched, it costs the same for a small area of a huge raster (a world-wide basemap)."""
        window = window or self.full_window()
        _, valid = self._overview(window)
        return valid, window.width / valid.shape[1]

    def holds_valid(self, window: PixelWindow) -> bool:
        """Whether a full-resolution read of ``window`` finds a valid pixel: the proof a coarse overview cannot give
        (a 10 px patch in 30,000² px falls between its samples)."""
        if self.ds.closed:
            self.reopen()
        with self._read_errors(window):
            valid = self.ds.dataset_mask(window=window.to_rasterio()) > 0
            if valid.any() and any(np.dtype(self.ds.dtypes[b - 1]).kind == "f" for b in self._unique):
                data = self.ds.read(self._unique, window=window.to_rasterio())
                valid &= np.isfinite(data).all(axis=0)
        return bool(valid.any())

    @contextlib.contextmanager
    def _read_errors(self, window: PixelWindow) -> Iterator[None]:
        """A read GDAL fails (a damaged or truncated file) as one sentence about the raster, not a traceback."""
        try:
            yield
        except RasterioIOError as exc:
            raise RasterError(
                f"{self.path} could not be read at pixels {window.col_off}, {window.row_off} ({window.width} × "
                f"{window.height}): the file may be damaged or incomplete ({str(exc).strip()[:200]}).",
                "bad_raster",
                path=self.path,
            ) from None

    def read(self, window: PixelWindow, out_shape: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The window as an HxWx3 uint8 image, and a HxW bool mask of valid pixels (invalid pixels are black).

        ``out_shape`` (rows, columns) reads it at another size (bilinear; the mask nearest). A closed source (a
        queued job holds no open file) opens its raster again, unless the file changed.
        """
        if self.ds.closed:
            self.reopen()
        win = window.to_rasterio()
        with self._read_errors(window):
            if out_shape is None:
                data = self.ds.read(self._unique, window=win)
                valid = self.ds.dataset_mask(window=win) > 0
            else:
                shape = (len(self._unique), *out_shape)
                data = self.ds.read(self._unique, window=win, out_shape=shape, resampling=Resampling.bilinear)
                valid = self.ds.dataset_mask(window=win, out_shape=out_shape, resampling=Resampling.nearest) > 0
        if data.dtype.kind == "f":
            finite = np.isfinite(data)
            valid &= finite.all(axis=0)
            data = np.where(finite, data, 0)
        if self.stretch is None:
            planes = data.astype(np.uint8, copy=False)
        else:
            planes = np.empty(data.shape, dtype=np.uint8)
            for i, (lo, hi) in enumerate(self.stretch):
                if data.dtype.itemsize <= 2 and data.dtype.kind in "iu":
                    # 8- and 16-bit data: one lookup per pixel in a table of the same arithmetic.
                    unsigned = data[i].view(data.dtype.str.replace("i", "u"))
                    planes[i] = self._stretch_table(i, data.dtype)[unsigned]
                else:
                    planes[i] = _stretch(data[i], lo, hi)
        # Channel by channel: a transposing copy of all three planes at once is several times slower.
        image = np.empty((*planes.shape[1:], 3), dtype=np.uint8)
        for channel, plane in enumerate(self._lut_index):
            image[..., channel] = planes[plane]
        image[~valid] = 0
        return image, valid

    def _stretch_table(self, band: int, dtype: np.dtype) -> np.ndarray:
        key = (band, np.dtype(dtype).str)
        table = self._tables.get(key)
        if table is None:  # indexed by the pixels' bits read as unsigned: signed values wrap to the top half
            if self.stretch is None:
                raise RuntimeError("stretch is not set")
            info = np.iinfo(dtype)
            lo, hi = self.stretch[band]
            table = _stretch(np.arange(info.min, info.max + 1, dtype=np.float32), lo, hi)
            self._tables[key] = table = np.roll(table, info.min)
        return table

    def close(self) -> None:
        self.ds.close()

    def reopen(self) -> None:
        """Open the raster again after :meth:`close`, refusing a file that changed meanwhile."""
        if raster_identity(self.path) != self.identity:
            raise RasterError(
                f"{self.path} changed since the job was checked; run the query again.", "raster_changed", path=self.path
            )
        self.ds = self._open()

    def __enter__(self) -> RasterSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def raster_identity(path: str) -> tuple:
    """The file's real path, modification time and size: any rewrite of the raster changes it."""
    if is_dataset_path(path):
        return (path,)
    try:
        st = os.stat(path)
    except OSError:
        return (path,)
    return (os.path.realpath(path), st.st_mtime_ns, st.st_size)


def no_valid_pixels(path: str, area: bool = False) -> RasterError:
    """The refusal of a raster (or an area of it) where every pixel is nodata."""
    where = "The area to search" if area else path
    return RasterError(f"{where} holds no valid pixels: every pixel is nodata.", "no_valid_pixels", path=path)


def _rgb_bands(bands: list[int]) -> tuple[int, int, int]:
    """Three bands as red, green, blue; one band replicated (grey)."""
    return (bands[0], bands[0], bands[0]) if len(bands) == 1 else (bands[0], bands[1], bands[2])


def _stretch(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Linear stretch of ``lo``..``hi`` to 0..255 (float32 arithmetic), clipped, as uint8."""
    scaled = (values.astype(np.float32) - lo) * (255.0 / (hi - lo))
    return np.clip(scaled, 0, 255).astype(np.uint8)
