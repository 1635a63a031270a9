"""The proxy set in QGIS's Settings ▸ Options ▸ Network, for the HTTP clients that are not QGIS's own."""

from __future__ import annotations

from qgis.core import QgsSettings

from .setup_plan import proxy_url


def qgis_proxy() -> str | None:
    """The proxy as a URL (``http://`` or ``socks5://``), or None when QGIS uses none or the system's."""
    qs = QgsSettings()
    return proxy_url(
        qs.value("proxy/proxyEnabled", False, type=bool),
        str(qs.value("proxy/proxyType", "DefaultProxy")),
        str(qs.value("proxy/proxyHost", "") or ""),
        str(qs.value("proxy/proxyPort", "") or ""),
        str(qs.value("proxy/proxyUser", "") or ""),
        str(qs.value("proxy/proxyPassword", "") or ""),
    )
