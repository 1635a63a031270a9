"""``python -m backend serve``: the authenticated HTTP service for the QGIS plugin (docs/api.md)."""

from __future__ import annotations

import argparse

import contract

from ..models.loading import EngineConfig
from ..service.limits import MAX_QUEUE
from ..service.uploads import UPLOAD_TTL_S


def register(sub) -> None:
    p = sub.add_parser("serve", help="run the authenticated local HTTP service for the QGIS plugin (docs/api.md)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=0, help="port to listen on (default 0: any free port)")
    p.add_argument(
        "--max-tiles",
        type=int,
        help=f"default limit of tiles per job ($THINK2MAP_MAX_TILES or {contract.MAX_TILES_DEFAULT})",
    )
    p.add_argument("--idle-unload", type=float, metavar="SECONDS", help="unload the models after this long idle")
    p.add_argument(
        "--max-queue", type=int, default=MAX_QUEUE, help=f"jobs that may wait; more get 429 (default {MAX_QUEUE})"
    )
    team = p.add_argument_group(
        "a server others can reach",
        "Bound to any other address than loopback (or with --shared), the server reads rasters only under its "
        "data folders and loads models by name only (docs/api.md, 'Exposing a server').",
    )
    team.add_argument("--shared", action="store_true", help="apply these rules on loopback too")
    team.add_argument(
        "--data-root", action="append", metavar="DIR", help="a folder whose rasters may be read (repeatable)"
    )
    team.add_argument("--allow-urls", action="store_true", help="also read network rasters (/vsicurl/, http(s)://)")
    team.add_argument(
        "--allow-model-paths", action="store_true", help="let requests name model files or folders, not only names"
    )
    team.add_argument("--allow-pulls", action="store_true", help="let requests start model downloads")
    team.add_argument(
        "--tokens-file",
        metavar="FILE",
        help="more tokens, one a line (one an analyst): each token sees only the rasters it uploaded",
    )
    team.add_argument(
        "--uploads-mb",
        type=int,
        default=0,
        metavar="MB",
        help="take uploads (POST /rasters) of at most MB megabytes each (default 0: no uploads)",
    )
    team.add_argument(
        "--uploads-total-mb", type=int, metavar="MB", help="all uploads together (default: ten times --uploads-mb)"
    )
    team.add_argument("--uploads-dir", metavar="DIR", help="where uploads are kept (default: the temporary folder)")
    team.add_argument(
        "--upload-ttl",
        type=float,
        default=UPLOAD_TTL_S,
        metavar="SECONDS",
        help=f"delete an upload unused this long (default {UPLOAD_TTL_S:.0f}); a job's upload goes when it ends",
    )
    p.add_argument(
        "--embedding-cache-dir",
        metavar="DIR",
        help="keep SAM embeddings on disk here too, so they outlive the server ($THINK2MAP_EMBEDDING_CACHE_DIR)",
    )
    p.add_argument("--openapi", metavar="FILE", help="write the OpenAPI schema to FILE ('-': stdout) and exit")
    EngineConfig.add_arguments(p)
    p.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    from ..service.launch import serve_from_args

    return serve_from_args(args)
