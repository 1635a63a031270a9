"""One backend request from QGIS's UI thread that never blocks it: for clicks, where a QgsTask's start-up cost
would be felt. Through QGIS's network manager, so its proxy settings apply (and loopback bypasses them)."""

from __future__ import annotations

import json

from qgis.core import QgsNetworkAccessManager
from qgis.PyQt.QtCore import QByteArray, QObject, QUrl, pyqtSignal
from qgis.PyQt.QtNetwork import QNetworkReply, QNetworkRequest

from .client import bypass_proxy_for
from .i18n import tr

TIMEOUT_MS = 120_000


class AsyncCall(QObject):
    """``POST``/``DELETE`` ``path`` with a JSON body; ``answered(status, payload)`` when done (status 0: no answer).

    :meth:`abort` drops the request (a newer prompt replaces it): no answer is emitted for it.
    """

    answered = pyqtSignal(int, object)

    def __init__(self, url: str, token: str, method: str, path: str, body: dict | None = None, parent=None):
        super().__init__(parent)
        bypass_proxy_for(url)
        request = QNetworkRequest(QUrl(url.rstrip("/") + path))
        request.setRawHeader(b"Authorization", f"Bearer {token}".encode())
        request.setHeader(QNetworkRequest.KnownHeaders.ContentTypeHeader, "application/json")
        request.setAttribute(QNetworkRequest.Attribute.CacheSaveControlAttribute, False)
        request.setTransferTimeout(TIMEOUT_MS)
        manager = QgsNetworkAccessManager.instance()
        data = QByteArray(json.dumps(body or {}).encode())
        if method == "POST":
            self.reply = manager.post(request, data)
        else:
            self.reply = manager.sendCustomRequest(request, method.encode(), data)
        self.aborted = False
        self.reply.finished.connect(self._finished)

    @property
    def pending(self) -> bool:
        """Whether the request still waits for its answer."""
        return self.reply is not None

    def abort(self) -> None:
        """Drop the request; a call that has already answered has nothing left to abort."""
        self.aborted = True
        if self.reply is not None:
            self.reply.abort()

    def _finished(self) -> None:
        reply, self.reply = self.reply, None
        if reply is None:  # an aborted reply can report its end twice
            return
        reply.deleteLater()
        if self.aborted:
            return
        status = reply.attribute(QNetworkRequest.Attribute.HttpStatusCodeAttribute)
        raw = bytes(reply.readAll())
        if status is None:
            message = reply.errorString() if reply.error() != QNetworkReply.NetworkError.NoError else tr("no answer")
            self.answered.emit(0, {"detail": tr("The backend did not answer: {error}").format(error=message)})
            return
        try:
            payload = json.loads(raw.decode("utf-8")) if raw else {}
        except ValueError:
            payload = {"detail": raw[:200].decode("utf-8", "replace")}
        self.answered.emit(int(status), payload)
