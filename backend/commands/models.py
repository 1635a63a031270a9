"""``python -m backend models list|pull|tiny``: which weights are here, download one, build tiny random ones."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..models import store


def register(sub) -> None:
    models = sub.add_parser("models", help="list, download or build models")
    msub = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    ls = msub.add_parser("list", help="show which known models are present and which are missing")
    ls.add_argument("--models-dir")
    ls.add_argument("--json", action="store_true", help="print JSON")
    pl = msub.add_parser("pull", help="download a known model (needs the internet)")
    pl.add_argument("name", choices=sorted(store.KNOWN), metavar="NAME", help=", ".join(store.KNOWN))
    pl.add_argument("--models-dir")
    tiny = msub.add_parser(
        "tiny",
        help="build tiny RANDOM models to check an install (their outputs are meaningless)",
        description="Build tiny randomly initialised prompter (Qwen2.5-VL) and segmenter (SAM 2.1, SAM) "
        "checkpoints in the real on-disk formats. They load through the same code as real weights, which is "
        "what they are for: tests and install checks. Their outputs are MEANINGLESS.",
    )
    tiny.add_argument("dir", help="output folder")
    tiny.add_argument(
        "--reuse", action="store_true", help="keep the folder when it already holds tiny models built by this code"
    )
    models.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    if args.models_command == "list":
        rows = store.list_models(args.models_dir)
        if args.json:
            print(json.dumps(rows, indent=2))
            return 0
        print(f"models folder: {store.models_dir(args.models_dir)}")
        for r in rows:
            where = (
                f"present  {r['size_mb']:>8.1f} MB  {r['path']}"
                if r["present"]
                else f"missing  ~{r['approx_mb']:>6} MB  {store.PULL_HINT.format(name=r['name'])}"
            )
            print(f"{r['name']:<16} {r['kind']:<9} {where}")
        return 0
    if args.models_command == "pull":
        spec = store.lookup(args.name)
        print(f"downloading {spec.name} (~{spec.approx_mb} MB) from {spec.source} ...", file=sys.stderr)
        path = store.pull(args.name, args.models_dir)
        print(f"{spec.name} is ready: {path}")
        return 0
    from ..models.tiny import build_tiny_models, ensure_tiny_models

    paths = ensure_tiny_models(Path(args.dir)) if args.reuse else build_tiny_models(Path(args.dir))
    print("Built tiny RANDOM models (outputs are meaningless; for tests and install checks only):")
    for kind, path in paths.items():
        print(f"  {kind:<9} {path}")
    return 0
