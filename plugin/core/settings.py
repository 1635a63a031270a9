"""The plugin's settings, kept in QgsSettings under ``think2map/...``.

The remote backend's token goes to QGIS's authentication database when it can hold it (enabled, with a master
password set up): QgsSettings then keeps only the id of that configuration. Otherwise it stays in QgsSettings, in
plain text, and a warning is logged.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from qgis.core import QgsApplication, QgsAuthMethodConfig, QgsSettings

from ... import contract
from .envs import ready_env_python
from .i18n import tr
from .log import warn

PLUGIN_ROOT = Path(__file__).resolve().parents[2]
PREFIX = "think2map/"
BACKEND_MODES = ("local", "remote")
STORAGES = ("gpkg", "memory")
TOKEN_KEY = PREFIX + "remote_token"
TOKEN_AUTHCFG_KEY = PREFIX + "remote_token_authcfg"
TOKEN_AUTH_METHOD = "Basic"  # nosec B105 - an auth method name
TOKEN_AUTH_USER = "think2map"  # nosec B105 - a user name


def default_python_path(root: Path = PLUGIN_ROOT) -> str:
    """The interpreter of the venv that ``make setup`` builds in the plugin folder, else of the environment the
    backend installer built (:mod:`.setup_task`), or '' when there is neither."""
    candidates = [root / ".venv" / "Scripts" / "python.exe"] if os.name == "nt" else [root / ".venv" / "bin" / "python"]
    found = next((str(p) for p in candidates if p.exists()), "")
    if found:
        return found
    return ready_env_python()


@dataclass
class Settings:
    """Everything the plugin needs to reach a backend and write results."""

    python_path: str = field(default_factory=default_python_path)
    backend_mode: str = "local"
    remote_url: str = ""
    remote_token: str = ""
    models_dir: str = ""
    prompter: str = contract.DEFAULT_PROMPTER
    segmenter: str = contract.DEFAULT_SEGMENTER
    device: str = "auto"
    storage: str = "gpkg"
    extra_args: list[str] = field(default_factory=list)
    embedding_cache_dir: str = ""  # keep SAM embeddings on disk here too (a local backend's option)
    hover_preview: bool = True  # the click tool shows the outline under the cursor
    constrain_answers: bool = True  # a local backend holds the prompter's answers to the answer grammar
    # A prompter served by an OpenAI-compatible server (vLLM, SGLang, Ollama...), used by a local backend
    # instead of its own when the URL is set; the key is kept like the remote token.
    served_url: str = ""
    served_model: str = ""
    served_api_key: str = ""

    @classmethod
    def load_for_backend(cls) -> Settings:
        """The settings a backend connection needs: the token is read only in remote mode, so that a local
        backend never makes QGIS ask for the authentication database's master password."""
        out = cls.load(include_token=False)
        if out.is_remote:
            out.remote_token = _load_token(QgsSettings())
        elif out.served_url:
            out.served_api_key = _load_secret(QgsSettings(), SERVED_KEY)
        return out

    @classmethod
    def load(cls, include_token: bool = True) -> Settings:
        """Read the stored settings; anything missing, empty or invalid falls back to its default.

        ``include_token=False`` leaves ``remote_token`` empty, so that callers which do not need it never make
        QGIS ask for the authentication database's master password.
        """
        qs = QgsSettings()
        out = cls()
        for f in fields(cls):
            if f.name in SECRETS:
                setattr(out, f.name, _load_secret(qs, SECRETS[f.name]) if include_token else "")
                continue
            raw = qs.value(PREFIX + f.name, None)
            if raw is None or raw == "":
                continue
            if f.name == "extra_args":
                out.extra_args = _decode_list(raw)
            elif isinstance(getattr(out, f.name), bool):
                setattr(out, f.name, str(raw).strip().lower() in ("true", "1", "yes"))
            else:
                setattr(out, f.name, str(raw))
        if out.backend_mode not in BACKEND_MODES:
            out.backend_mode = "local"
        if out.storage not in STORAGES:
            out.storage = "gpkg"
        return out

    def save(self) -> None:
        """Write every field to QgsSettings (lists as JSON text, which survives QSettings' list quirks), the token
        to the authentication database when it is usable."""
        qs = QgsSettings()
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in SECRETS:
                _save_secret(qs, SECRETS[f.name], str(value))
                continue
            qs.setValue(PREFIX + f.name, json.dumps(list(value)) if f.name == "extra_args" else str(value))

    @property
    def is_remote(self) -> bool:
        return self.backend_mode == "remote"

    @property
    def prompter_spec(self) -> str:
        """What a local backend is told to use as its prompter: the served one when its URL is set."""
        if self.served_url:
            return "openai:" + self.served_url.rstrip("/") + (f"#{self.served_model}" if self.served_model else "")
        return self.prompter


def _decode_list(raw) -> list[str]:
    if isinstance(raw, (list, tuple)):
        return [str(v) for v in raw]
    try:
        value = json.loads(str(raw))
    except ValueError:
        return str(raw).split()
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def token_store_usable() -> bool:
    """Whether QGIS's authentication database can hold the token: enabled, with a master password set up."""
    manager = QgsApplication.authManager()
    return manager is not None and not manager.isDisabled() and manager.masterPasswordHashInDatabase()


def _ok(result) -> bool:
    """The success flag of an auth manager call (PyQGIS returns ``(bool, config)`` for some of them)."""
    return bool(result[0] if isinstance(result, tuple) else result)


@dataclass(frozen=True)
class _Secret:
    """Where one secret lives: its QgsSettings key (plain text), the key naming its authentication config."""

    plain_key: str
    authcfg_key: str
    label: str  # the authentication configuration's name


REMOTE_TOKEN = _Secret(TOKEN_KEY, TOKEN_AUTHCFG_KEY, "Think2Map remote backend token")
SERVED_KEY = _Secret(PREFIX + "served_api_key", PREFIX + "served_api_key_authcfg", "Think2Map served prompter API key")
SECRETS = {"remote_token": REMOTE_TOKEN, "served_api_key": SERVED_KEY}  # field name -> where it is kept


def _load_token(qs: QgsSettings) -> str:
    return _load_secret(qs, REMOTE_TOKEN)


def _load_secret(qs: QgsSettings, secret: _Secret) -> str:
    """The secret from the authentication configuration QgsSettings names, else the plain-text value."""
    authcfg = str(qs.value(secret.authcfg_key, "") or "")
    if authcfg:
        config = QgsAuthMethodConfig()
        if _ok(QgsApplication.authManager().loadAuthenticationConfig(authcfg, config, True)):
            return config.config("password")
        warn(
            tr(
                "Could not read {what} from QGIS's authentication database (configuration {id}): was the master "
                "password entered?"
            ).format(what=secret.label, id=authcfg)
        )
    return str(qs.value(secret.plain_key, "") or "")


def _store_in_auth_db(authcfg: str, value: str, label: str) -> str:
    """Write ``value`` into configuration ``authcfg`` (created when missing); its id, or '' on failure."""
    manager = QgsApplication.authManager()
    config = QgsAuthMethodConfig()
    if (
        authcfg
        and _ok(manager.loadAuthenticationConfig(authcfg, config, True))
        and config.method() == TOKEN_AUTH_METHOD
    ):
        config.setConfig("password", value)
        return config.id() if manager.updateAuthenticationConfig(config) else ""
    config = QgsAuthMethodConfig(TOKEN_AUTH_METHOD)
    config.setName(label)
    config.setConfig("username", TOKEN_AUTH_USER)
    config.setConfig("password", value)
    return config.id() if _ok(manager.storeAuthenticationConfig(config)) else ""


def _save_secret(qs: QgsSettings, secret: _Secret, value: str) -> None:
    """Keep ``value`` in the authentication database when usable, else in QgsSettings with a warning."""
    old = str(qs.value(secret.authcfg_key, "") or "")
    if old and not value and not QgsApplication.authManager().masterPasswordIsSet():
        return  # the stored value could not have been read (no master password entered): keep it
    if value and token_store_usable():
        authcfg = _store_in_auth_db(old, value, secret.label)
        if authcfg:
            if old and old != authcfg:
                QgsApplication.authManager().removeAuthenticationConfig(old)
            qs.setValue(secret.authcfg_key, authcfg)
            qs.remove(secret.plain_key)
            return
        warn(
            tr(
                "Could not store {what} in QGIS's authentication database: it is kept in the QGIS settings, in "
                "plain text."
            ).format(what=secret.label)
        )
    elif value:
        warn(
            tr(
                "QGIS's authentication database is disabled or has no master password: {what} is kept in the QGIS "
                "settings, in plain text. Set a master password (Settings > Options > Authentication) to protect it."
            ).format(what=secret.label)
        )
    if old:
        QgsApplication.authManager().removeAuthenticationConfig(old)
        qs.remove(secret.authcfg_key)
    qs.setValue(secret.plain_key, value)
