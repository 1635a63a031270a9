"""The dock's choices, and the requests built from them: a query (:class:`contract.JobSpec`), a click
(:class:`contract.PromptSpec`) and a warm-up (:class:`contract.EncodeSpec`) all read the raster the same way, so a
click reuses the SAM embeddings that a query over the same tiles left on the backend."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from qgis.core import QgsRasterLayer

from ... import contract
from .extent import raster_source


@dataclass(frozen=True)
class RunOptions:
    """What the dock's model and advanced boxes say (None: the backend's default)."""

    tile_size: int = contract.TILE_SIZE_DEFAULT
    overlap: int = contract.OVERLAP_DEFAULT
    bands: tuple[int, ...] | None = None
    prompter: str | None = None
    segmenter: str | None = None
    max_tiles: int = contract.MAX_TILES_DEFAULT
    pixel_coords: bool = False  # a raster without a CRS is searched (and clicked) in pixel coordinates
    query_mode: str = contract.QUERY_MODE_DEFAULT
    strategy: str = contract.STRATEGY_DEFAULT
    refine: str = contract.REFINE_DEFAULT  # with an overview
    web_resolution: float = 0.0  # a web layer's export, in its CRS units per pixel; 0: the map view's

    def job_spec(
        self,
        layer: QgsRasterLayer,
        query: str,
        bounds: Sequence[float] | None = None,
        focus: Sequence[float] | None = None,
        exported: str | None = None,
    ) -> contract.JobSpec:
        """The query ``query`` over ``bounds`` of ``layer`` (the raster's CRS; None: all of it); ``exported``: the
        file an export of the layer made (:mod:`.export`), searched instead, whole."""
        return contract.JobSpec(
            **self._reading(layer, exported),
            query=query.strip(),
            bounds=_box(bounds),
            mode=self.query_mode,
            prompter=self.prompter or None,
            max_tiles=self.max_tiles if self.max_tiles != contract.MAX_TILES_DEFAULT else None,
            strategy=self.strategy,
            refine=self.refine,
            focus=_box(focus),
        )

    def prompt_spec(
        self,
        layer: QgsRasterLayer,
        points: Sequence[tuple[float, float, int]],
        box: Sequence[float] | None,
        session: str,
        only_cached: bool = False,
        exported: str | None = None,
    ) -> contract.PromptSpec:
        """A click prompt on ``layer``, in the raster's CRS; ``exported``: the export of the layer's view that is
        clicked instead (:mod:`.export`)."""
        return contract.PromptSpec(
            **self._reading(layer, exported),
            points=tuple((float(x), float(y), int(label)) for x, y, label in points),
            box=_box(box),
            session=session,
            only_cached=only_cached,
        )

    def encode_spec(self, layer: QgsRasterLayer, bounds: Sequence[float], session: str) -> contract.EncodeSpec:
        """Encode ahead the tiles of ``layer`` under ``bounds`` (the map view, in the raster's CRS)."""
        minx, miny, maxx, maxy = (float(v) for v in bounds)
        return contract.EncodeSpec(**self._reading(layer), bounds=(minx, miny, maxx, maxy), session=session)

    def _reading(self, layer: QgsRasterLayer, exported: str | None = None) -> dict:
        """The fields of :class:`contract.RasterSpec` for ``layer`` (or ``exported``, an export of it): how every
        request reads it."""
        return {
            "raster": exported if exported is not None else raster_source(layer),
            "bands": tuple(self.bands) if self.bands else None,
            "tile_size": int(self.tile_size),
            "overlap": int(self.overlap),
            "pixel_coords": bool(self.pixel_coords and not layer.crs().isValid()),
            "segmenter": self.segmenter or None,
        }


def _box(values: Sequence[float] | None) -> tuple[float, float, float, float] | None:
    if not values:
        return None
    minx, miny, maxx, maxy = (float(v) for v in values)
    return minx, miny, maxx, maxy


def options_problem(query: str, options: RunOptions) -> tuple[str, dict] | None:
    """What the backend would refuse in the query or the tiling, as ``(code, parameters)``; None when fine."""
    probe = contract.JobSpec(
        raster="-", query=query, tile_size=int(options.tile_size), overlap=int(options.overlap), mode=options.query_mode
    )
    return probe.problem()
