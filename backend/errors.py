"""Errors that reach the user as a message, never as a traceback."""


class UserError(Exception):
    """Bad input or a missing resource that the user can fix.

    The CLI prints the message and exits with ``exit_code``; the HTTP service answers 4xx.
    """

    exit_code = 2
    http_status = 400


class RasterError(UserError):
    """The raster cannot be used: missing, not a raster, no CRS, bad bands or bounds."""

    http_status = 422


class MissingWeightsError(UserError):
    """A model's weights are not on this machine."""

    exit_code = 3
    http_status = 409


class ModelError(UserError):
    """An unknown model name or a checkpoint that cannot be loaded."""

    exit_code = 3
    http_status = 422


class DownloadError(UserError):
    """A download asked for by the user failed (for example, no network)."""

    exit_code = 4
    http_status = 502
