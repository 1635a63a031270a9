"""``python -m backend serve``: run the HTTP service with uvicorn until SIGTERM or SIGINT (docs/api.md).

It prints one JSON line on stdout once it listens (the port, and the token when it made one), which is how the
plugin learns where its backend is.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import sys
from pathlib import Path

import uvicorn

import contract

from .. import __version__
from ..errors import UserError
from ..models.embedding_cache import ENV_DIR
from ..models.loading import CPU_WARNING, EngineConfig
from .exposure import Exposure
from .server import ServerConfig, create_app, write_openapi

log = logging.getLogger(__name__)


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise UserError(f"{name} must be a whole number, got '{text}'.", "bad_option") from None


def _exit_on_sigterm(signum, frame) -> None:
    # Outside uvicorn's own handling (during start-up, and when uvicorn re-raises the signal after its clean
    # shutdown) SIGTERM ends the process with status 0.
    raise SystemExit(0)


def serve_from_args(args) -> int:
    """``python -m backend serve``: run the service until SIGTERM or SIGINT (see docs/api.md)."""
    if args.openapi:
        write_openapi(None if args.openapi == "-" else args.openapi)
        return 0
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    if args.embedding_cache_dir:
        os.environ[ENV_DIR] = args.embedding_cache_dir  # read when the shared cache is first made
    if not 0 <= args.port <= 65535:
        raise UserError(f"--port must be between 0 (any free port) and 65535, got {args.port}.", "bad_option")
    max_tiles = (
        args.max_tiles if args.max_tiles is not None else _env_int("THINK2MAP_MAX_TILES", contract.MAX_TILES_DEFAULT)
    )
    if max_tiles < 1:
        raise UserError(f"--max-tiles must be at least 1, got {max_tiles}.", "bad_max_tiles")
    if args.idle_unload is not None and args.idle_unload < 0:
        raise UserError(f"--idle-unload is a number of seconds (0 or more), got {args.idle_unload}.", "bad_option")
    given = os.environ.get("THINK2MAP_TOKEN", "").strip()
    token = given or secrets.token_urlsafe(32)
    engine = EngineConfig.from_args(args)
    if engine.device == "cpu":
        log.warning(CPU_WARNING)
    exposure = Exposure.for_server(
        args.host, args.shared, args.data_root, args.allow_urls, args.allow_model_paths, args.allow_pulls
    )
    if args.max_queue < 1:
        raise UserError(f"--max-queue must be at least 1, got {args.max_queue}.", "bad_option")
    if exposure.shared and not given:
        log.warning("a shared server with a generated token: it is printed once, on stdout")
    if args.uploads_mb < 0 or (args.uploads_total_mb is not None and args.uploads_total_mb < args.uploads_mb):
        raise UserError("--uploads-mb must be 0 or more, and --uploads-total-mb at least as large.", "bad_option")
    if args.upload_ttl <= 0:
        raise UserError(f"--upload-ttl is a number of seconds above 0, got {args.upload_ttl}.", "bad_option")
    app = create_app(
        ServerConfig(
            token=token,
            engine=engine,
            max_tiles=max_tiles,
            idle_unload=args.idle_unload,
            exposure=exposure,
            max_queue=args.max_queue,
            tokens=read_tokens(args.tokens_file) if args.tokens_file else (),
            uploads_dir=args.uploads_dir,
            upload_max_bytes=args.uploads_mb * 2**20,
            uploads_total_bytes=(args.uploads_total_mb or 0) * 2**20,
            upload_ttl_s=args.upload_ttl,
        )
    )
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
        server_header=False,
    )
    server = _AnnouncingServer(config, None if given else token)
    try:
        server.run()  # the app's lifespan stops the worker (cancelling its job) and unloads the models
        code = 0 if server.started else 1
    except SystemExit as exc:  # SIGTERM, re-raised by uvicorn after its clean shutdown
        code = exc.code if isinstance(exc.code, int) else 0
    # Everything is closed now. Skip the interpreter's teardown of torch and friends, which takes seconds and
    # would keep a plugin that is waiting for the process to end.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


TOKEN_MIN_LENGTH = 16


def read_tokens(path: str) -> tuple[str, ...]:
    """The tokens in ``path``, one a line (blank lines and ``#`` comments skipped), each long enough to guess."""
    try:
        lines = Path(path).expanduser().read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"Cannot read --tokens-file {path}: {exc}", "bad_option") from None
    tokens = tuple(t for t in (line.strip() for line in lines) if t and not t.startswith("#"))
    short = [i + 1 for i, t in enumerate(tokens) if len(t) < TOKEN_MIN_LENGTH]
    if short:
        raise UserError(
            f"--tokens-file {path}: token {short[0]} is shorter than {TOKEN_MIN_LENGTH} characters.", "bad_option"
        )
    return tokens


class _AnnouncingServer(uvicorn.Server):
    """A uvicorn server that prints the one JSON line on stdout once it listens."""

    def __init__(self, config, token: str | None):
        super().__init__(config)
        self._token = token

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets)
        if not self.started:
            return
        host, port = self.servers[0].sockets[0].getsockname()[:2]
        line = {"event": "listening", "host": host, "port": port, "pid": os.getpid(), "version": __version__}
        if self._token:
            line["token"] = self._token
        print(json.dumps(line), flush=True)
