"""Writing results without ever losing a user's data: GeoPackage or GeoJSON files (the API's text: :mod:`.geojson`).

A run writes into a temporary file beside the target as its polygons come (:class:`ResultWriter`), and only a
finished file is moved into place, with ``os.replace``. A GeoPackage target keeps its other layers: Think2Map
writes or replaces only its own two layers (named after the query, or ``--layer``). An existing target is
replaced only with ``--overwrite``, never with a partial result: an interrupted or failed run then leaves its
polygons in a ``.partial`` file beside it. The target is checked (folder, space, not the input raster) before
any model is loaded.

Its length (about 420 lines) is the checks and recoveries that promise needs: a full disk, a GeoPackage's own
tables and feature counts, a target that is the input, and the atomic replace; they share one temporary file.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry import box

import contract

from ..errors import UserError
from .georef import Georef

_DTYPES = {"string": "str", "integer": "int64", "real": "float64"}
FEATURE_COLUMNS = {name: _DTYPES[kind] for name, kind in contract.FEATURE_FIELDS.items()}
TILE_COLUMNS = ("tile", "pass", "status", "instances", "reasoning", "warnings", "error", "seconds", "run")
DRIVERS = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON"}
# GeoPackage 1.2, which the GDAL of older QGIS releases (3.22) reads without a warning
GPKG_OPTIONS = {"dataset_options": {"VERSION": "1.2"}}
MIN_FREE_BYTES = 20 * 2**20
BYTES_PER_TILE = 64 * 2**10  # a generous guess at what one tile's polygons and reasoning take
FLUSH_FEATURES, FLUSH_SECONDS = 200, 5.0


def driver_for(path: str | Path) -> str:
    """The OGR driver for an output path, from its extension."""
    suffix = Path(path).suffix.lower()
    if suffix not in DRIVERS:
        raise UserError(
            f"Write to a .gpkg or .geojson file, not '{suffix or Path(path).name}'.",
            "bad_output_format",
            path=str(path),
        )
    return DRIVERS[suffix]


# A GeoPackage table name Think2Map may create: no quotes, slashes or control characters, and none of the names
# GeoPackage, SQLite and the spatial index reserve. The tiles layer adds "_tiles".
_LAYER_NAME = re.compile(r"[^\W\d][\w .-]{0,56}")
_RESERVED_PREFIXES = ("gpkg_", "gpkgext_", "rtree_", "sqlite_", "ogr_")


def check_layer_name(name: str) -> str:
    """``name`` if Think2Map can write a GeoPackage layer of that name, else one sentence saying why not."""
    if not _LAYER_NAME.fullmatch(name) or name.lower().startswith(_RESERVED_PREFIXES):
        raise UserError(
            f"'{name}' cannot be a GeoPackage layer name: use a letter first, then letters, digits, spaces, '_', "
            "'-' or '.', at most 57 characters, not starting with gpkg_, rtree_, sqlite_ or ogr_.",
            "bad_layer_name",
            layer=name,
        )
    return name


def layer_name(query: str) -> str:
    """A GeoPackage layer name for a query: lower-case words joined by underscores, at most 40 characters."""
    slug = re.sub(r"[^0-9a-z]+", "_", query.lower()).strip("_")[:40].rstrip("_")
    return slug or "think2map"


@dataclass
class OutputTarget:
    """Where a run's results go: the file, Think2Map's layer in it, and whether an existing one may be replaced."""

    path: Path
    layer: str
    overwrite: bool = False
    existed: bool = field(default=False, init=False)

    @property
    def driver(self) -> str:
        return driver_for(self.path)

    @property
    def tiles_layer(self) -> str:
        return f"{self.layer}_tiles"

    def own_layers(self) -> list[str]:
        return [self.layer, self.tiles_layer] if self.driver == "GPKG" else [self.layer]

    def check(self, inputs: Sequence[str] = (), tiles: int = 0) -> None:
        """Refuse a target that cannot be written, or whose writing would destroy something; before any work.

        ``inputs``: the files the run reads (a raster given as ``GPKG:path:table`` is given here by its file).
        """
        self.path = Path(self.path).expanduser()
        driver = self.driver
        if driver == "GPKG":
            check_layer_name(self.layer)
        folder = self.path.parent
        for source in inputs:
            if _same_file(self.path, source):
                raise UserError(
                    f"The output {self.path} is the input raster: writing there would destroy it. Choose another "
                    "output file.",
                    "output_is_input",
                    path=str(self.path),
                )
        self.existed = self.path.exists()
        if self.existed:
            if self.path.is_dir():
                raise UserError(
                    f"The output {self.path} is a folder: give a file name.", "bad_output", path=str(self.path)
                )
            if driver == "GPKG":
                clash = [name for name in self.own_layers() if name in _gpkg_layers(self.path)]
                if clash and not self.overwrite:
                    raise UserError(
                        f"{self.path} already has the layer '{clash[0]}'. Add --overwrite to replace it (the file's "
                        "other layers are kept), or choose another name with --layer.",
                        "output_exists",
                        path=str(self.path),
                        layer=clash[0],
                    )
            elif not self.overwrite:
                raise UserError(
                    f"{self.path} already exists. Add --overwrite to replace it, or choose another output file.",
                    "output_exists",
                    path=str(self.path),
                )
        _check_folder(folder)
        need = MIN_FREE_BYTES + tiles * BYTES_PER_TILE + (self.path.stat().st_size if self.existed else 0)
        free = shutil.disk_usage(folder).free
        if free < need:
            raise UserError(
                f"Not enough free space in {folder}: {free / 2**20:.0f} MB free, about {need / 2**20:.0f} MB needed. "
                "Free some space or write elsewhere.",
                "disk_full",
                path=str(folder),
                free_mb=round(free / 2**20),
                need_mb=round(need / 2**20),
            )


def _same_file(path: Path, other: str) -> bool:
    try:
        return path.exists() and Path(other).exists() and os.path.samefile(path, other)
    except OSError:
        return False


def _gpkg_layers(path: Path) -> list[str]:
    import pyogrio

    try:
        return [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception:  # noqa: BLE001 - any reason it cannot be read as a GeoPackage
        raise UserError(
            f"{path} exists but is not a GeoPackage Think2Map can add a layer to. Choose another output file.",
            "bad_output",
            path=str(path),
        ) from None


def _check_folder(folder: Path) -> None:
    blocking = next((p for p in [folder, *folder.parents] if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise UserError(
            f"Cannot write in {folder}: {blocking} is a file, not a folder. Choose a folder you can write to.",
            "output_not_writable",
            path=str(folder),
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".think2map-probe-"):
            pass
    except OSError as exc:
        raise UserError(
            f"Cannot write in {folder}: {exc.strerror or exc}. Choose a folder you can write to.",
            "output_not_writable",
            path=str(folder),
        ) from None


def features_frame(features: Sequence, crs) -> gpd.GeoDataFrame:
    """Features (``geometry`` and ``properties``) as a GeoDataFrame with the contract's schema, also when empty."""
    data = {
        name: pd.Series([f.properties[name] for f in features], dtype=dtype) for name, dtype in FEATURE_COLUMNS.items()
    }
    geoms = [shapely.MultiPolygon([f.geometry]) if f.geometry.geom_type == "Polygon" else f.geometry for f in features]
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms, crs=_crs_arg(crs)), crs=_crs_arg(crs))


def tiles_frame(reports: Sequence, crs, georef: Georef, run_state: str) -> gpd.GeoDataFrame:
    """One row per tile report: its footprint, status, the model's raw text, and how the run ended."""
    rows, geoms = [], []
    for report in reports:
        c, r, w, h = report.window
        geoms.append(georef.to_map(box(c, r, c + w, r + h)))
        rows.append(
            {
                "tile": report.index,
                "pass": report.kind,  # "tile", or "overview" for a cell of the overview (its own numbering)
                "status": report.status,
                "instances": report.instances,
                "reasoning": report.raw_text,
                "warnings": "; ".join(report.warnings),
                "error": report.error or "",
                "seconds": round(report.seconds, 3),
                "run": run_state,
            }
        )
    frame = pd.DataFrame(rows, columns=list(TILE_COLUMNS))
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=_crs_arg(crs)), crs=_crs_arg(crs))


def _crs_arg(crs):
    return None if crs is None else crs.to_wkt()


class ResultWriter:
    """One run's results: appended to a temporary file beside the target as they come, put in place at the end.

    ``add`` buffers features and appends them every ``FLUSH_FEATURES`` features or ``FLUSH_SECONDS`` seconds
    (GeoPackage; GeoJSON is written once, at the end). ``finish`` writes the tile reports and places the file.
    """

    def __init__(self, target: OutputTarget, crs, georef: Georef):
        self.target, self.crs, self.georef = target, crs, georef
        stamp = f"{os.getpid()}-{time.time_ns() % 10**9}"
        self.temp = target.path.with_name(f".{target.path.stem}.{stamp}.tmp{target.path.suffix}")
        self.pending: list = []
        self.written = 0
        self._flushed_at = time.monotonic()
        self._created = False
        self.failed: UserError | None = None

    @property
    def count(self) -> int:
        """Features received so far."""
        return self.written + len(self.pending)

    def add(self, feature) -> None:
        self.pending.append(feature)
        due = len(self.pending) >= FLUSH_FEATURES or time.monotonic() - self._flushed_at > FLUSH_SECONDS
        if self.target.driver == "GPKG" and due:
            self._flush()

    def _flush(self) -> None:
        if self.failed is not None:
            raise self.failed
        frame = features_frame(self.pending, self.crs)
        try:
            self._write(self.temp, frame, self.target.layer, append=self._created)
        except (OSError, RuntimeError) as exc:  # a full disk, a vanished folder: GDAL's errors are RuntimeErrors
            self.failed = self._write_failed(exc)
            raise self.failed from None
        self._created = True
        self.written += len(self.pending)
        self.pending = []
        self._flushed_at = time.monotonic()

    def _write(self, path: Path, frame: gpd.GeoDataFrame, layer: str, append: bool = False, **kw) -> None:
        options = dict(GPKG_OPTIONS) if self.target.driver == "GPKG" and not path.exists() else {}
        frame.to_file(
            path,
            driver=self.target.driver,
            engine="pyogrio",
            layer=layer if self.target.driver == "GPKG" else None,
            geometry_type=kw.get("geometry_type", "MultiPolygon"),
            append=append,
            **options,
        )

    def finish(self, reports: Sequence, run_state: str = "complete") -> Path:
        """Write what is left and the tile reports, then put the file in place; returns where the results are.

        ``run_state`` is "complete", or why the run stopped ("interrupted", "failed: ..."): a partial result never
        replaces an existing layer or file, it stays beside the target (the returned path says where).
        """
        if self.pending or not self._created:
            self._flush()
        if self.target.driver == "GPKG":
            self.pending = []
            tiles = tiles_frame(reports, self.crs, self.georef, run_state)
            try:
                self._write(self.temp, tiles, self.target.tiles_layer, geometry_type="Polygon")
            except (OSError, RuntimeError) as exc:
                raise self._write_failed(exc) from None
        try:
            return self._place(run_state == "complete")
        except (OSError, RuntimeError) as exc:  # the results are complete in the temporary file: keep them beside
            partial = self._partial_path()
            os.replace(self.temp, partial)
            raise UserError(
                f"Could not put the results into {self.target.path} ({_reason(exc)}); they are in {partial}, and "
                f"{self.target.path} is as it was.",
                "output_write_failed",
                path=str(self.target.path),
                reason=_reason(exc),
                kept=str(partial),
            ) from None

    def _write_failed(self, exc: BaseException) -> UserError:
        """The error for a write that failed (a full disk): the target is untouched, and the polygons already
        committed to the temporary file are kept beside it as NAME.partial.gpkg when it still reads."""
        kept, saved = None, 0
        if self._created and self.temp.exists():
            try:
                saved = _recount(self.temp, self.target.layer)
                kept = self._partial_path()
                os.replace(self.temp, kept)
            except Exception:  # noqa: BLE001 - unreadable or not movable: it cannot be trusted as a result
                kept = None
        self.discard()
        reason = _reason(exc)
        if kept is None:
            message = (
                f"Could not write {self.target.path}: {reason}. Nothing was replaced; free some space or write "
                f"elsewhere ({self.count} polygon(s) could not be kept)."
            )
            return UserError(message, "output_write_failed", path=str(self.target.path), reason=reason)
        message = (
            f"Could not write {self.target.path}: {reason}. It is as it was; the {saved} polygon(s) already written "
            f"are kept in {kept} ({self.count - saved} could not be kept). Free some space or write elsewhere."
        )
        return UserError(message, "output_write_failed", path=str(self.target.path), reason=reason, kept=str(kept))

    def _place(self, complete: bool) -> Path:
        target = self.target
        exists = target.path.exists()
        if not exists:
            os.replace(self.temp, target.path)
            return target.path
        if target.driver == "GPKG":
            replaces = [name for name in target.own_layers() if name in _gpkg_layers(target.path)]
            if complete or not replaces:
                self._merge_into(target.path)
                return target.path
        if not complete:
            partial = self._partial_path()
            os.replace(self.temp, partial)
            return partial
        os.replace(self.temp, target.path)  # a complete GeoJSON with --overwrite
        return target.path

    def _partial_path(self) -> Path:
        """A free name beside the target for results that could not (or must not) replace it."""
        path = self.target.path
        candidate = path.with_name(f"{path.stem}.partial{path.suffix}")
        n = 1
        while candidate.exists():
            n += 1
            candidate = path.with_name(f"{path.stem}.partial-{n}{path.suffix}")
        return candidate

    def _merge_into(self, path: Path) -> None:
        """Copy ``path``, put this run's layers into the copy (replacing older ones), and move the copy into place."""
        import pyogrio

        merged = self.temp.with_name(self.temp.name.replace(".tmp", ".merge"))
        before = path.stat()
        shutil.copy2(path, merged)
        try:
            for layer in self.target.own_layers():
                frame = pyogrio.read_dataframe(self.temp, layer=layer)
                geometry_type = "MultiPolygon" if layer == self.target.layer else "Polygon"
                frame.to_file(
                    merged,
                    driver="GPKG",
                    engine="pyogrio",
                    layer=layer,
                    geometry_type=geometry_type,
                    layer_options={"OVERWRITE": "YES"},
                )
            now = path.stat()
            if (now.st_mtime_ns, now.st_size) != (before.st_mtime_ns, before.st_size):
                raise OSError(f"{path} was changed by another program while Think2Map wrote to it")
            os.replace(merged, path)
        finally:
            if merged.exists():
                merged.unlink()
        self.temp.unlink()

    def discard(self) -> None:
        """Remove the temporary file (a write failed: it may be incomplete)."""
        if self.temp.exists():
            self.temp.unlink()


def _recount(path: Path, layer: str) -> int:
    """The rows a GeoPackage layer really holds, written back as its feature count.

    After a failed append GDAL's count (``gpkg_ogr_contents``, which QGIS shows) includes the rows that were rolled
    back; the rows are right. Fixing the count is best effort: on a full disk the update may not fit.
    """
    with contextlib.closing(sqlite3.connect(path)) as db:
        table = layer.replace('"', '""')
        (rows,) = db.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()  # nosec B608 - a checked layer name
        try:
            db.execute("UPDATE gpkg_ogr_contents SET feature_count = ? WHERE table_name = ?", (rows, layer))
            db.commit()
        except sqlite3.Error:
            pass
    return int(rows)


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc).strip().splitlines()[0][:300]
