"""The plugin's own sentences for the problems both sides know by code (``contract``), translated.

The backend sends ``{"detail", "code", "params"}``; the dock and Processing show :func:`message_for` instead of
the backend's English, naming their own controls rather than the command line's flags.
"""

from __future__ import annotations

from .i18n import tr


def message_for(code: str | None, params: dict, fallback: str = "") -> str:
    """The sentence for ``code`` with its ``params``, or ``fallback`` for a code this plugin does not know."""
    template = _templates().get(code or "")
    if template is None:
        return fallback
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return fallback or template


def _templates() -> dict[str, str]:
    # Built on each call so that tr() sees the translator installed when the plugin loaded.
    return {
        "bad_tile_size": tr("The tile size must be between {min} and {max} pixels (it is {value})."),
        "bad_overlap": tr(
            "The overlap must be at most half the tile size: {max} pixels for tiles of {tile_size} (it is {value})."
        ),
    }
