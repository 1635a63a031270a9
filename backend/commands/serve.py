"""``python -m backend serve``: the authenticated HTTP service for the QGIS plugin (docs/api.md)."""

from __future__ import annotations

import argparse

from plugin.core import contract

from ..models.loading import EngineConfig


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
    p.add_argument("--openapi", metavar="FILE", help="write the OpenAPI schema to FILE ('-': stdout) and exit")
    EngineConfig.add_arguments(p)
    p.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    from ..service.server import serve_from_args

    return serve_from_args(args)
