"""``python -m backend doctor``: versions, GPUs, models and disk, each problem with its fix (tools/doctor.py)."""

from __future__ import annotations

import argparse
import json

import contract


def register(sub) -> None:
    p = sub.add_parser(
        "doctor",
        help="check this environment: packages, GPU, models, disk, network",
        description="Report Python and package versions, torch's CUDA build against the driver, each GPU with its "
        "memory (and a one-second matmul as proof it computes), bf16, the models present and missing (with the "
        "pull command), free disk in the models folder and whether Hugging Face is reachable. Exit code 1 when "
        "a required part is broken.",
    )
    p.add_argument("--device", default="auto", help="the device the backend will use (auto, cpu, mps, cuda, cuda:N)")
    p.add_argument("--prompter", default=contract.DEFAULT_PROMPTER, help="the prompter to look for (name or folder)")
    p.add_argument("--segmenter", default=contract.DEFAULT_SEGMENTER, help="the segmenter to look for")
    p.add_argument("--models-dir", help="models folder (default: $THINK2MAP_MODELS or ~/.local/share/think2map/models)")
    p.add_argument("--offline", action="store_true", help="skip the network check")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    from ..tools.doctor import format_report, report, run_checks

    checks = run_checks(args.device, args.prompter, args.segmenter, args.models_dir, network=not args.offline)
    result = report(checks)
    print(json.dumps(result, indent=2) if args.json else format_report(checks))
    return 0 if result["ok"] else 1
