"""An XYZ layer the backend reads itself, through GDAL's WMS driver (its TMS service): for a whole-scene overview
over an area larger than an export may be. GDAL's overviews of such a dataset are the layer's zoom levels, so the
overview reads coarse tiles and only the tiles the overview points to are fetched at full resolution.

Only a layer that carries no credential goes this way (no authentication configuration, no user name, no
password, no header, no query string that may hold a key): the backend sees its URL. Others are exported."""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from urllib.parse import parse_qsl, urlsplit

from qgis.core import QgsDataSourceUri, QgsRasterLayer

from .export import WEB_MERCATOR_M_PER_PX_AT_Z0, WEB_TILE_PX

WORLD_M = WEB_MERCATOR_M_PER_PX_AT_Z0 * WEB_TILE_PX / 2  # half the width of the Web Mercator world
CREDENTIAL_PARAMS = ("authcfg", "username", "password")


@dataclass(frozen=True)
class TileSource:
    """An XYZ layer as GDAL reads it: its description (what a request names as its raster), and its pixel size."""

    xml: str
    pixel_size: float  # metres, at the zoom level read


def tile_source(layer: QgsRasterLayer, resolution: float = 0.0) -> TileSource | None:
    """An XYZ layer read at the zoom level of ``resolution`` (metres a pixel; 0: its finest zoom), or None: not an
    XYZ layer in Web Mercator, no finest zoom said, or a source that may carry a credential."""
    if layer.providerType() != "wms" or layer.crs().authid() != "EPSG:3857":
        return None
    uri = QgsDataSourceUri()
    uri.setEncodedUri(layer.source())
    if uri.param("type") != "xyz" or not uri.param("zmax").isdigit():
        return None
    keys = {key for key, _ in parse_qsl(layer.source(), keep_blank_values=True)}
    if any(uri.param(p) for p in CREDENTIAL_PARAMS) or any(k.startswith(("http-header", "referer")) for k in keys):
        return None
    url = uri.param("url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.query or parts.username or parts.password:
        return None
    template = url.replace("{z}", "${z}").replace("{x}", "${x}").replace("{y}", "${y}")
    if "${z}" not in template or "${x}" not in template or "${y}" not in template:
        return None  # {-y} (TMS rows) and {q} (quadkeys) are not GDAL's TMS
    zoom = zoom_for(resolution, int(uri.param("zmax")))
    xml = (
        "<GDAL_WMS>"
        f'<Service name="TMS"><ServerUrl>{escape(template, quote=False)}</ServerUrl></Service>'
        "<DataWindow>"
        f"<UpperLeftX>{-WORLD_M}</UpperLeftX><UpperLeftY>{WORLD_M}</UpperLeftY>"
        f"<LowerRightX>{WORLD_M}</LowerRightX><LowerRightY>{-WORLD_M}</LowerRightY>"
        f"<TileLevel>{zoom}</TileLevel>"
        "<TileCountX>1</TileCountX><TileCountY>1</TileCountY>"
        "<YOrigin>top</YOrigin>"
        "</DataWindow>"
        "<Projection>EPSG:3857</Projection>"
        f"<BlockSizeX>{WEB_TILE_PX}</BlockSizeX><BlockSizeY>{WEB_TILE_PX}</BlockSizeY><BandsCount>3</BandsCount>"
        "<ZeroBlockHttpCodes>204,404</ZeroBlockHttpCodes>"
        "</GDAL_WMS>"
    )
    return TileSource(xml, WEB_MERCATOR_M_PER_PX_AT_Z0 / 2**zoom)


def zoom_for(resolution: float, zmax: int) -> int:
    """The coarsest zoom level at least as fine as ``resolution`` (metres a pixel), at most ``zmax``."""
    if resolution <= 0:
        return zmax
    zoom = math.ceil(math.log2(WEB_MERCATOR_M_PER_PX_AT_Z0 / resolution) - 1e-9)
    return max(0, min(zmax, zoom))
