"""Translation helpers: one context for every user string, and the translator for the user's locale."""

from __future__ import annotations

from pathlib import Path

from qgis.core import QgsSettings
from qgis.PyQt.QtCore import QCoreApplication, QLocale, QTranslator

from ..core.i18n import CONTEXT, tr  # noqa: F401 - one context for the whole plugin (scripts/i18n_ts.py)

I18N_DIR = Path(__file__).resolve().parents[2] / "i18n"


def user_language() -> str:
    """The two-letter language QGIS is set to (its locale override, else the system's)."""
    settings = QgsSettings()
    locale = ""
    if settings.value("locale/overrideFlag", False, type=bool):
        locale = settings.value("locale/userLocale", "", type=str) or ""
    return (locale or QLocale.system().name())[:2]


def install_translator(language: str | None = None, folder: Path = I18N_DIR) -> QTranslator | None:
    """Load ``think2map_<language>.qm`` if it was built (``make i18n``) and install it; None when there is none."""
    qm = folder / f"think2map_{language or user_language()}.qm"
    if not qm.exists():
        return None
    translator = QTranslator()
    if not translator.load(str(qm)):
        return None
    QCoreApplication.installTranslator(translator)
    return translator


def remove_translator(translator: QTranslator | None) -> None:
    """Undo :func:`install_translator`."""
    if translator is not None:
        QCoreApplication.removeTranslator(translator)
