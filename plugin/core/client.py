"""Blocking HTTP client for the backend API (docs/api.md), for QgsTask threads and Processing algorithms.

It uses the standard library's ``urllib``, not ``QgsBlockingNetworkRequest``: a QObject made from Python in a
worker thread calls back into Python (for the GIL) while Qt holds its connection lock, and the UI thread,
holding the GIL, then waits for that lock in any ``connect()``: QGIS froze (seen in the tests, under load).
A remote server is reached through the proxy set in QGIS's network options; a loopback backend never through
a proxy. The UI thread's own asynchronous calls (:mod:`.process`, :mod:`.async_call`) keep QGIS's network
manager.
"""

from __future__ import annotations

import http.client
import json
import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote, urlencode, urlsplit

from qgis.core import QgsFeedback, QgsNetworkAccessManager, QgsSettings

from ... import contract
from .i18n import tr
from .messages import DOCK, message_for
from .proxy import qgis_proxy

DEFAULT_TIMEOUT_S = 30.0
HEALTH_TIMEOUT_S = 5.0
UPLOAD_TIMEOUT_S = 600.0  # a slow link; each block must go within it, not the whole file


class BackendError(Exception):
    """A failed backend call. ``str(error)`` is the dock's sentence for it; :meth:`message` words it for elsewhere.

    ``status`` is the HTTP status (None: no answer); ``code`` and ``params`` the backend's error code
    (``contract.ERROR_CODES``) and its parameters; ``detail`` the backend's own English text, for Details and logs.
    """

    def __init__(
        self,
        message: str,
        status: int | None = None,
        code: str | None = None,
        params: dict | None = None,
        detail: str = "",
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.params = dict(params or {})
        self.detail = detail

    def message(self, where: str = DOCK) -> str:
        """The sentence for this error where it is shown (``messages.DOCK`` or ``messages.PROCESSING``)."""
        return message_for(self.code, self.params, str(self), where) if self.code else str(self)


def is_loopback(url: str) -> bool:
    """True when ``url`` points at this machine (then no proxy may be used)."""
    return contract.is_loopback((urlsplit(url).hostname or "").lower())


def bypass_proxy_for(url: str) -> None:
    """Make sure a loopback ``url`` is never sent through the user's proxy.

    QGIS keeps one network manager per thread, each built from the proxy settings when the thread first uses
    the network (``QgsBlockingNetworkRequest`` called on the UI thread even makes a new thread per request).
    So the origin is added to QGIS's own "no proxy" list (setting ``proxy/noProxyUrls``, as in Options ›
    Network) when a proxy is enabled, and to the current thread's manager, which may predate the setting.
    """
    if not is_loopback(url):
        return
    parts = urlsplit(url)
    host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
    prefix = f"{parts.scheme}://{host}:"
    settings = QgsSettings()
    if settings.value("proxy/proxyEnabled", False, type=bool):
        stored = settings.value("proxy/noProxyUrls", [])
        stored = [stored] if isinstance(stored, str) else list(stored or [])
        if prefix not in stored:
            settings.setValue("proxy/noProxyUrls", stored + [prefix])
    nam = QgsNetworkAccessManager.instance()
    no_proxy = list(nam.noProxyList())
    if prefix not in no_proxy:
        nam.setFallbackProxyAndExcludes(nam.fallbackProxy(), list(nam.excludeList()), no_proxy + [prefix])


class BackendClient:
    """One backend (``url``, ``token``). Every method blocks and raises :class:`BackendError` on failure."""

    def __init__(self, url: str, token: str, timeout_s: float = DEFAULT_TIMEOUT_S):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout_s = timeout_s
        self.feedback: QgsFeedback | None = None  # when canceled, no further request is made
        self._opener_cache: urllib.request.OpenerDirector | None = None

    # --- endpoints ---------------------------------------------------------------------------------
    def health(self) -> dict:
        """``GET /health``: version, device, GPU, loaded models, queue."""
        return self._call("GET", "/health", timeout_s=HEALTH_TIMEOUT_S)

    def submit(self, request: dict) -> dict:
        """``POST /jobs``: validate and queue a job; returns ``{"id", "state", "tiles_total", "crs"}``."""
        return self._call("POST", "/jobs", body=request)

    def status(self, job_id: str) -> dict:
        """``GET /jobs/{id}``: state, tiles done and total, errors."""
        return self._call("GET", f"/jobs/{quote(job_id)}")

    def features(self, job_id: str, after: int = 0) -> dict:
        """``GET /jobs/{id}/features?after=N``: a GeoJSON FeatureCollection plus ``next`` and ``state``."""
        return self._call("GET", f"/jobs/{quote(job_id)}/features", params={"after": int(after)})

    def tiles(self, job_id: str, after: int = 0) -> dict:
        """``GET /jobs/{id}/tiles?after=N``: per-tile reports (with the prompter's ``raw_text``) plus ``next``."""
        return self._call("GET", f"/jobs/{quote(job_id)}/tiles", params={"after": int(after)})

    def cancel(self, job_id: str) -> dict:
        """``DELETE /jobs/{id}``: cancel; the job's features stay readable."""
        return self._call("DELETE", f"/jobs/{quote(job_id)}")

    def models(self) -> dict:
        """``GET /models``: known models and whether their weights are present."""
        return self._call("GET", "/models")

    def upload(self, path: Path, keep: bool = False, is_canceled: Callable[[], bool] = lambda: False) -> dict:
        """``POST /rasters``: ``path`` (a GeoTIFF) streamed to a backend that cannot read it; the answer's ``raster``
        (``upload:<id>``) names it in requests. ``keep``: kept for clicks until its time-to-live, not only for the
        next job. A cancelled upload (``is_canceled()``, asked between blocks) breaks off, and the backend keeps
        nothing of it."""
        with open(path, "rb") as f:
            return self._call(
                "POST",
                "/rasters",
                params={"keep": "true"} if keep else None,
                upload=_Stream(f, is_canceled),
                upload_size=path.stat().st_size,
                timeout_s=UPLOAD_TIMEOUT_S,
            )

    def pull(self, name: str) -> dict:
        """``POST /models/{name}/pull``: start downloading a model."""
        return self._call("POST", f"/models/{quote(name)}/pull", body={})

    def pull_status(self, name: str) -> dict:
        """``GET /models/{name}/pull``: the download's progress."""
        return self._call("GET", f"/models/{quote(name)}/pull")

    # --- plumbing ----------------------------------------------------------------------------------
    def _opener(self) -> urllib.request.OpenerDirector:
        if self._opener_cache is None:
            proxy = None if is_loopback(self.url) else qgis_proxy()
            proxy = proxy if proxy and proxy.startswith("http") else None  # urllib has no SOCKS
            proxies = {} if is_loopback(self.url) else ({"http": proxy, "https": proxy} if proxy else None)
            handlers = [urllib.request.ProxyHandler(proxies)] if proxies is not None else []
            self._opener_cache = urllib.request.build_opener(*handlers)
        return self._opener_cache

    def _call(
        self,
        method: str,
        path: str,
        body: dict | None = None,
        params: dict | None = None,
        timeout_s: float | None = None,
        upload: _Stream | None = None,
        upload_size: int = 0,
    ) -> dict:
        if self.feedback is not None and self.feedback.isCanceled():
            raise BackendError(tr("The request to the backend was canceled."), None)
        url = self.url + path + (("?" + urlencode(params)) if params else "")
        data = json.dumps(body if body is not None else {}).encode() if method == "POST" else None
        request = urllib.request.Request(url, data=upload or data, method=method)  # noqa: S310 - the backend's URL
        request.add_header("Authorization", f"Bearer {self.token}")
        request.add_header("Accept", "application/json")
        request.add_header("Content-Type", "image/tiff" if upload else "application/json")
        if upload is not None:
            request.add_header("Content-Length", str(upload_size))
        try:
            with self._opener().open(request, timeout=timeout_s or self.timeout_s) as reply:  # nosec B310
                status, raw = reply.status, reply.read()
        except _CancelledError:
            raise BackendError(tr("The upload was cancelled."), None, "cancelled") from None
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, _error_body(exc)
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            # HTTPException: the answer was cut short (IncompleteRead) by a backend that died while it answered
            raise BackendError(self._network_message(exc), None) from None
        payload = _parse_json(raw)
        if status >= 400:
            raise error_from_answer(payload, status)
        if not isinstance(payload, dict):
            raise BackendError(
                tr("The backend sent an answer that is not JSON: {text}").format(
                    text=raw[:200].decode("utf-8", "replace")
                ),
                status,
            )
        return payload

    def _network_message(self, exc: BaseException) -> str:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, (TimeoutError, socket.timeout)):
            return tr("The backend at {url} did not answer in time.").format(url=self.url)
        if isinstance(reason, (http.client.HTTPException, ConnectionResetError)):
            return tr("The backend at {url} closed the connection before it finished answering.").format(url=self.url)
        if isinstance(reason, ConnectionRefusedError):
            return tr("No backend is listening at {url}: start it (Think2Map settings) or check the URL.").format(
                url=self.url
            )
        return tr("Could not reach the backend at {url}: {error}").format(url=self.url, error=reason)


class _CancelledError(Exception):
    """The user cancelled an upload while it was sent."""


class _Stream:
    """A file sent as a request body, block by block, that breaks off when ``is_canceled()``."""

    def __init__(self, file: BinaryIO, is_canceled: Callable[[], bool]):
        self.file, self.is_canceled = file, is_canceled

    def read(self, size: int = -1) -> bytes:
        if self.is_canceled():
            raise _CancelledError()
        return self.file.read(size)


def _error_body(error: urllib.error.HTTPError) -> bytes:
    """An error answer's body, or b"" when the connection broke before it was read: the status still says enough."""
    try:
        return error.read()
    except (OSError, http.client.HTTPException):
        return b""


def error_from_answer(payload, status: int | None) -> BackendError:
    """The :class:`BackendError` for an error answer ``{"detail", "code", "params"}``, in the plugin's words."""
    payload = payload if isinstance(payload, dict) else {}
    detail = _detail_text(payload.get("detail"))
    code = payload.get("code") if isinstance(payload.get("code"), str) else None
    params = payload.get("params") if isinstance(payload.get("params"), dict) else {}
    if code:
        text = message_for(code, params)
    else:  # not a Think2Map backend (a proxy's error page, say): its words are all there is
        text = detail or tr("The backend answered HTTP {status}.").format(status=status)
    return BackendError(text, status, code, params, detail)


def _parse_json(raw: bytes):
    try:
        return json.loads(raw.decode("utf-8")) if raw else {}
    except ValueError:
        return None


def _detail_text(detail) -> str:
    """FastAPI's ``detail`` is a sentence, or a list of validation errors."""
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                where = ".".join(str(p) for p in item.get("loc", []) if p != "body")
                parts.append(f"{where}: {item.get('msg', '')}" if where else str(item.get("msg", "")))
            else:
                parts.append(str(item))
        return "; ".join(p for p in parts if p)
    return ""
