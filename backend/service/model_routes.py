"""The model routes: which models there are, and downloads (when the server allows them)."""

from __future__ import annotations

from fastapi import APIRouter

from ..errors import NotFoundError, UserError
from ..models import store
from .config import ServerConfig
from .pulls import Pulls
from .schemas import ModelList, PullStatus


def model_router(config: ServerConfig, pulls: Pulls) -> APIRouter:
    """The routes under ``/models``."""
    app = APIRouter()
    engine = config.engine

    @app.get("/models", response_model=ModelList, summary="Known models and whether they are on this machine")
    def models() -> dict:
        rows = store.list_models(engine.models_dir)
        if config.exposure.shared:  # a token holder learns which models there are, not where this server keeps them
            return {"models": [{**row, "path": None} for row in rows], "models_dir": ""}
        return {"models": rows, "models_dir": str(store.models_dir(engine.models_dir))}

    def known(name: str) -> str:
        if name not in store.KNOWN:
            raise NotFoundError(
                f"Unknown model '{name}'. Known models: {', '.join(store.KNOWN)}.", "unknown_model", name=name
            )
        return name

    @app.post("/models/{name}/pull", response_model=PullStatus, status_code=202, summary="Start a download")
    def pull(name: str) -> dict:
        if not config.exposure.allow_pulls:
            error = UserError(
                "This server downloads models only when its administrator asks (python -m backend models pull, "
                "or --allow-pulls).",
                "pulls_not_allowed",
                name=name,
            )
            error.http_status = 403
            raise error
        return pulls.start(known(name))

    @app.get("/models/{name}/pull", response_model=PullStatus, summary="A download's progress")
    def pull_status(name: str) -> dict:
        return pulls.status(known(name))

    return app
