"""Blocking HTTP client for the backend API (docs/api.md), for QgsTask threads and Processing algorithms.

It goes through QGIS's network stack (``QgsBlockingNetworkRequest``), so the user's proxy and SSL settings
apply to a remote server, while requests to a loopback backend always bypass any proxy.
"""

from __future__ import annotations

import json
from urllib.parse import quote, urlencode, urlsplit

from qgis.core import QgsBlockingNetworkRequest, QgsFeedback, QgsNetworkAccessManager, QgsSettings
from qgis.PyQt.QtCore import QByteArray, QUrl
from qgis.PyQt.QtNetwork import QNetworkReply, QNetworkRequest

from .i18n import tr

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
DEFAULT_TIMEOUT_S = 30.0
HEALTH_TIMEOUT_S = 5.0


class BackendError(Exception):
    """A failed backend call. ``str(error)`` is a user-facing sentence; ``status`` the HTTP status or None."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def is_loopback(url: str) -> bool:
    """True when ``url`` points at this machine (then no proxy may be used)."""
    host = (urlsplit(url).hostname or "").lower()
    return host in LOOPBACK_HOSTS or host.startswith("127.")


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
        self.feedback: QgsFeedback | None = None  # cancels an in-flight request when canceled

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

    def pull(self, name: str) -> dict:
        """``POST /models/{name}/pull``: start downloading a model."""
        return self._call("POST", f"/models/{quote(name)}/pull", body={})

    def pull_status(self, name: str) -> dict:
        """``GET /models/{name}/pull``: the download's progress."""
        return self._call("GET", f"/models/{quote(name)}/pull")

    # --- plumbing ----------------------------------------------------------------------------------
    def _request(self, path: str, params: dict | None, timeout_s: float) -> QNetworkRequest:
        url = self.url + path + (("?" + urlencode(params)) if params else "")
        req = QNetworkRequest(QUrl(url))
        req.setRawHeader(b"Authorization", f"Bearer {self.token}".encode())
        req.setRawHeader(b"Accept", b"application/json")
        req.setHeader(QNetworkRequest.ContentTypeHeader, "application/json")
        req.setAttribute(QNetworkRequest.CacheSaveControlAttribute, False)
        req.setTransferTimeout(int(timeout_s * 1000))
        return req

    def _call(
        self,
        method: str,
        path: str,
        body: dict | None = None,
        params: dict | None = None,
        timeout_s: float | None = None,
    ) -> dict:
        bypass_proxy_for(self.url)
        req = self._request(path, params, timeout_s or self.timeout_s)
        blocking = QgsBlockingNetworkRequest()
        data = QByteArray(json.dumps(body).encode()) if body is not None else None
        if method == "GET":
            code = blocking.get(req, True, self.feedback)
        elif method == "POST":
            code = blocking.post(req, data or QByteArray(b"{}"), True, self.feedback)
        elif method == "DELETE":
            code = blocking.deleteResource(req, self.feedback)
        else:  # pragma: no cover - programming error
            raise ValueError(method)
        reply = blocking.reply()
        status = reply.attribute(QNetworkRequest.HttpStatusCodeAttribute)
        status = int(status) if status is not None else None
        raw = bytes(reply.content())
        if status is None:
            raise BackendError(self._network_message(code, reply, blocking), None)
        payload = _parse_json(raw)
        if status >= 400:
            detail = payload.get("detail") if isinstance(payload, dict) else None
            raise BackendError(
                _detail_text(detail) or tr("The backend answered HTTP {status}.").format(status=status), status
            )
        if not isinstance(payload, dict):
            raise BackendError(
                tr("The backend sent an answer that is not JSON: {text}").format(
                    text=raw[:200].decode("utf-8", "replace")
                ),
                status,
            )
        return payload

    def _network_message(self, code, reply, blocking) -> str:
        if self.feedback is not None and self.feedback.isCanceled():
            return tr("The request to the backend was canceled.")
        error = reply.error()
        if code == QgsBlockingNetworkRequest.TimeoutError or error in (
            QNetworkReply.OperationCanceledError,
            QNetworkReply.TimeoutError,
        ):
            return tr("The backend at {url} did not answer in time.").format(url=self.url)
        if error == QNetworkReply.ConnectionRefusedError:
            return tr("No backend is listening at {url}: start it (Think2Map settings) or check the URL.").format(
                url=self.url
            )
        text = blocking.errorMessage() or reply.errorString() or tr("unknown network error")
        return tr("Could not reach the backend at {url}: {error}").format(url=self.url, error=text)


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
