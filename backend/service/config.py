"""What a server is given: its token, its engine, its limits and its exposure; and how it finds the models a
request names, by its rules."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

import contract

from ..errors import MissingWeightsError, UserError
from ..models import store
from ..models.loading import EngineConfig
from .exposure import Exposure
from .limits import MAX_BODY_BYTES, MAX_QUEUE
from .uploads import UPLOAD_TTL_S


@dataclass
class ServerConfig:
    """What ``create_app`` needs: the token every request must carry, the engine's options and the limits."""

    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    engine: EngineConfig = field(default_factory=EngineConfig)
    max_tiles: int = contract.MAX_TILES_DEFAULT
    idle_unload: float | None = None  # seconds without a job before the models are unloaded; None: never
    exposure: Exposure = field(default_factory=Exposure)
    max_queue: int = MAX_QUEUE
    max_body_bytes: int = MAX_BODY_BYTES
    tokens: tuple[str, ...] = ()  # more tokens, one per analyst: each sees only its own uploads
    uploads_dir: str | None = None  # where uploads are kept (None: the system's temporary folder)
    upload_max_bytes: int = 0  # the largest upload; 0: uploads are off
    uploads_total_bytes: int = 0  # all uploads together (0: ten times the largest)
    upload_ttl_s: float = UPLOAD_TTL_S

    def all_tokens(self) -> tuple[str, ...]:
        return (self.token, *self.tokens)


def resolve_model(name: str, kind: str, config: ServerConfig, requested: bool) -> Path:
    """A model's weights; a shared server applies its rules to the models a request names (not its own)."""
    try:
        if requested:
            return config.exposure.resolve_model(name, kind, config.engine.models_dir).resolve()
        return store.resolve(name, kind, config.engine.models_dir).resolve()
    except MissingWeightsError as exc:
        raise MissingWeightsError(f"{exc} Over HTTP: POST /models/{name}/pull.", exc.code, **exc.params) from None
    except UserError:
        raise
    except (OSError, ValueError, RuntimeError) as exc:  # e.g. an unusable path such as '~nosuchuser'
        raise UserError(f"Cannot use the {kind} '{name}': {exc}", "bad_model", name=name) from None
