"""Errors that reach the user as a message, never as a traceback.

Each carries a stable ``code`` and its ``params`` besides the English sentence, so that a client (the QGIS
dock, Processing) can say the same thing in its own words and language; ``contract.py`` lists the
codes.
"""

from __future__ import annotations

from typing import Any


class UserError(Exception):
    """Bad input or a missing resource that the user can fix.

    The CLI prints the message and exits with ``exit_code``; the HTTP service answers ``http_status`` with
    ``{"detail": message, "code": code, "params": params}``.
    """

    exit_code = 2
    http_status = 400
    code = "bad_request"

    def __init__(self, message: str, code: str | None = None, **params: Any) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.params = params


class OptionError(UserError, ValueError):
    """An option out of its range: tile size, overlap, limits."""

    code = "bad_option"


class NotFoundError(UserError):
    """A job or model the server does not know."""

    http_status = 404
    code = "not_found"


class BusyError(UserError):
    """The server's queue is full: try again later."""

    http_status = 429
    code = "queue_full"


class RasterError(UserError):
    """The raster cannot be used: missing, not a raster, no CRS, bad bands or bounds."""

    http_status = 422
    code = "bad_raster"


class MissingWeightsError(UserError):
    """A model's weights are not on this machine."""

    exit_code = 3
    http_status = 409
    code = "missing_weights"


class ModelError(UserError):
    """An unknown model name or a checkpoint that cannot be loaded."""

    exit_code = 3
    http_status = 422
    code = "bad_model"


class DownloadError(UserError):
    """A download asked for by the user failed (for example, no network)."""

    exit_code = 4
    http_status = 502
    code = "download_failed"
