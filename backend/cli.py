"""Command line: ``python -m backend segment|models|serve|evaluate|bench``.

Each subcommand lives in :mod:`backend.commands` and registers its own parser and handler; this module only
puts them together and turns errors into messages and exit codes: 0 success, 1 an unexpected failure, 2 bad
input, 3 a model missing or unusable, 4 a failed download, 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import warnings

from . import __version__
from .commands import bench, doctor, evaluate, models, segment, serve
from .errors import UserError

COMMANDS = (segment, models, serve, evaluate, bench, doctor)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m backend",
        description="Think2Map backend: segment rasters by text query with a vision-language prompter and "
        "Segment Anything.",
    )
    parser.add_argument("--version", action="version", version=f"think2map-backend {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if not args.verbose:
        quiet_library_warnings()
    # Before a run installs its own handlers (loading models, checking inputs), a SIGTERM interrupts like Ctrl-C,
    # so the same clean-up runs instead of the process vanishing with its temporary files.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return args.handler(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.verbose:
            raise
        print(
            f"error: unexpected {type(exc).__name__}: {exc}\n(run with -v for the traceback, and please report "
            "it with the command you ran)",
            file=sys.stderr,
        )
        return 1
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


LIBRARIES = r"(torch|torchvision|transformers|sam2|segment_anything|hydra|omegaconf|rasterio|pyogrio|shapely|geopandas)"


def quiet_library_warnings() -> None:
    """Libraries' warnings are for their developers: silence them, and show any other warning as one line."""
    warnings.filterwarnings("ignore", module=LIBRARIES + r"(\..*)?")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)

    def one_line(message, category, filename, lineno, file=None, line=None) -> None:
        print(f"warning: {message}", file=sys.stderr)

    warnings.showwarning = one_line
