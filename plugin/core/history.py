"""Query history (kept in QgsSettings) and the records of past runs shown in the dock's results list."""

from __future__ import annotations

from dataclasses import dataclass, field

from qgis.core import QgsSettings

from ... import contract

HISTORY_KEY = "think2map/history/queries"
HISTORY_SIZE = 20


class QueryHistory:
    """Most recent queries first, without duplicates, at most ``size`` of them."""

    def __init__(self, key: str = HISTORY_KEY, size: int = HISTORY_SIZE):
        self.key = key
        self.size = size

    def items(self) -> list[str]:
        value = QgsSettings().value(self.key, [])
        if isinstance(value, str):  # QSettings gives a plain string for a one-item list
            value = [value]
        return [str(v) for v in (value or []) if str(v).strip()]

    def add(self, query: str) -> list[str]:
        query = query.strip()
        if not query:
            return self.items()
        items = [query] + [q for q in self.items() if q != query]
        items = items[: self.size]
        QgsSettings().setValue(self.key, items)
        return items

    def clear(self) -> None:
        QgsSettings().remove(self.key)


@dataclass
class ResultRecord:
    """One run from the dock: its query, the layer it fills, its state and the per-tile reports."""

    query: str
    name: str = ""  # the result layer's name, unique in the project (query · raster · counter)
    raster_id: str = ""
    crs_wkt: str = ""  # the raster's CRS ('' for pixel coordinates)
    folder: str = ""  # where its GeoPackage goes: the folder of the project it started in
    layer_id: str = ""  # '' until the first polygon arrives: a query that finds nothing adds no layer
    layer_source: str = ""  # the GeoPackage table's URI, where polygons go once the layer has left the project
    job_state: str = "waiting"
    message: str = ""
    details: str = ""  # the backend's own words (English), for the Details button
    features: int = 0
    dropped: int = 0  # polygons that arrived after their memory layer closed with its project
    detached: bool = False  # its project was closed, or its layer removed: it writes off the map
    tiles_done: int = 0
    tiles_total: int = 0
    tiles: list[dict] = field(default_factory=list)
    strategy: str = contract.STRATEGY_DEFAULT  # as asked, then as the backend ran it ("auto:overview")
    prompter_calls: int = 0
    overview: list[dict] = field(default_factory=list)  # the overview's cells: answers, footprints, boxes
    overview_layer_id: str = ""  # its temporary layer of coarse boxes, once the overview has answered
    provenance: dict = field(default_factory=dict)  # an exported source's (export.PROVENANCE_FIELDS); {} for a file
    rights: list[str] = field(default_factory=list)  # the source's attribution, for the result layer's metadata

    def add_tiles(self, tiles: list[dict]) -> None:
        """Keep the tile reports, replacing any earlier report of the same tile."""
        known = {t.get("index"): i for i, t in enumerate(self.tiles)}
        for tile in tiles:
            index = tile.get("index")
            if index in known:
                self.tiles[known[index]] = tile
            else:
                known[index] = len(self.tiles)
                self.tiles.append(tile)
        self.tiles.sort(key=lambda t: (t.get("index") is None, t.get("index") or 0))
