"""What a server lets a token holder do, by who can reach it.

A loopback server (the plugin's own child process) trusts its user: any raster path or GDAL URI, any model
path. A server others can reach (any other bind address, or ``--shared``) lets a token holder segment, and no
more: rasters only under its ``--data-root`` folders (no inline datasets, no network paths unless
``--allow-urls``), models only by name from its own models folder (``--allow-model-paths`` lifts it), no
downloads unless ``--allow-pulls``. "Not found" and "not allowed" give the same answer. docs/api.md explains it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from contract import is_loopback

from ..errors import MissingWeightsError, ModelError, UserError
from ..geo.access import RasterAccess
from ..models import store
from ..models.remote_spec import is_remote


@dataclass(frozen=True)
class Exposure:
    """The rules a server applies to its requests (the default: a loopback server for its own user)."""

    shared: bool = False
    access: RasterAccess = field(default_factory=RasterAccess)
    allow_model_paths: bool = True
    allow_pulls: bool = True

    @classmethod
    def for_server(
        cls,
        host: str,
        shared: bool = False,
        data_roots: list[str] | None = None,
        allow_urls: bool = False,
        allow_model_paths: bool = False,
        allow_pulls: bool = False,
    ) -> Exposure:
        """The rules for a server bound to ``host``; a shared one must name the folders it serves. Data roots
        always restrict: a loopback server given ``--data-root`` (behind a reverse proxy, say) is a shared one."""
        if not shared and is_loopback(host) and not data_roots:
            return cls()
        roots = [Path(r).expanduser() for r in data_roots or []]
        missing = [str(r) for r in roots if not r.is_dir()]
        if not roots or missing:
            raise UserError(
                "A server that others can reach reads rasters only under its data folders: give each with "
                "--data-root DIR" + (f" ({', '.join(missing)} is not a folder)." if missing else "."),
                "no_data_root",
            )
        return cls(True, RasterAccess.shared([str(r) for r in roots], allow_urls), allow_model_paths, allow_pulls)

    def resolve_model(self, name: str, kind: str, models_dir: str | None) -> Path:
        """Where a model a request names is, under these rules (``UserError`` when missing or not allowed)."""
        if not self.shared:
            return store.resolve(name, kind, models_dir)
        if is_remote(name):  # a shared server never sends requests where a job asks
            raise self.model_not_found(name)
        if name not in store.KNOWN and not self.allow_model_paths:
            raise self.model_not_found(name)
        try:
            return store.resolve(name, kind, models_dir, hf_cache=False, paths=self.allow_model_paths)
        except MissingWeightsError:
            raise
        except ModelError:
            raise self.model_not_found(name) from None

    @staticmethod
    def model_not_found(name: str) -> UserError:
        error = ModelError(
            f"No model '{name}' on this server (it serves models by name from its own models folder).",
            "model_not_found",
            name=name,
        )
        error.http_status = 404
        return error
