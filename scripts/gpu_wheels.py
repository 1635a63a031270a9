#!/usr/bin/env python3
"""Gather, here, the wheels the GPU machine lacks for the GPU suite (``python -m backend bench --suite gpu``).

    .venv/bin/python scripts/gpu_wheels.py        # writes .whl/ (git-ignored); make gpu-wheels

The device machine (see the device tool's README) has no network, Python 3.12, and its own torch, transformers,
numpy, scipy, pillow, httpx and more; what the suite imports besides is listed in :data:`NEEDED`, at the versions
backend/requirements.txt pins. Each comes as a manylinux wheel for CPython 3.12; the three published only as
sources (pure Python) are built here and tagged ``py3-none-any``. The folder travels with the working tree, which
may hold 64 MiB in all: the script refuses to leave more than that. ``scripts/gpu-bench`` installs them there.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess  # nosec B404 - pip and wheel with fixed arguments
import sys
import tempfile
import zipfile
from pathlib import Path

from checkout_files import checkout_files  # scripts/, this script's own folder, is on sys.path

ROOT = Path(__file__).resolve().parent.parent
TRAVEL_LIMIT = 64 * 2**20  # the working tree and the carried folders of one device call
# What the suite's processes import (recorded from the tiny suite) that the GPU machine's image does not hold, as
# listed in the device tool's KINDS.md, their own needs that the image lacks, and transformers at the pinned version
# (the image's is older; SAM 3 and the prompter are tested on this one, whose needs the image's packages meet).
NEEDED = (
    "transformers",
    "rasterio",
    "affine",
    "cligj",
    "click-plugins",
    "shapely",
    "sam2",
    "hydra-core",
    "omegaconf",
    "antlr4-python3-runtime",
    "iopath",
    "fastapi",
    "starlette",
    "pydantic",
    "pydantic-core",
    "annotated-types",
    "typing-inspection",
    "uvicorn",
    "sniffio",
)
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_24_x86_64", "manylinux_2_17_x86_64")


def pins() -> dict[str, str]:
    """Distribution (normalised) -> version, from backend/requirements.txt."""
    out = {}
    for line in (ROOT / "backend" / "requirements.txt").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^\s;]+)", line)
        if match:
            out[_norm(match[1])] = match[2]
    return out


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def fetch(spec: str, folder: Path) -> None:
    """A CPython 3.12 manylinux wheel of ``spec`` from the index, else one built here from its pure-Python source."""
    platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
    download = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:"]
    download += ["--python-version", "3.12", "--implementation", "cp", *platforms, "-d", str(folder), spec]
    if subprocess.run(download, capture_output=True, text=True).returncode == 0:  # nosec B603
        return
    with tempfile.TemporaryDirectory() as tmp:
        build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", tmp, spec]
        env = {"SAM2_BUILD_CUDA": "0", "SAM2_BUILD_ALLOW_ERRORS": "1"}  # sam2 without its optional CUDA extension
        subprocess.run(build, check=True, env={**os.environ, **env})  # nosec B603
        (wheel,) = Path(tmp).glob("*.whl")
        with zipfile.ZipFile(wheel) as zf:
            compiled = [n for n in zf.namelist() if n.endswith((".so", ".pyd"))]
        if compiled:
            raise SystemExit(f"{spec} built with compiled code ({compiled[0]}): it cannot travel as a py3 wheel")
        retag = [sys.executable, "-m", "wheel", "tags", "--python-tag", "py3", "--abi-tag", "none"]
        subprocess.run([*retag, "--platform-tag", "any", "--remove", str(wheel)], check=True, capture_output=True)  # nosec B603
        for built in Path(tmp).glob("*.whl"):
            built.replace(folder / built.name)


def tree_bytes() -> int:
    """The size of what travels besides the wheels: the checkout's tracked and untracked, not ignored, files."""
    return sum((ROOT / f).stat().st_size for f in checkout_files(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / ".whl"), help="the folder (default .whl/, git-ignored)")
    args = parser.parse_args()
    folder = Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.whl"):
        old.unlink()  # one version of each: two stop the whole install there
    versions = pins()
    for name in NEEDED:
        version = versions.get(_norm(name))
        if version is None:
            raise SystemExit(f"{name} is not pinned in backend/requirements.txt")
        fetch(f"{name}=={version}", folder)
    wheels = sorted(folder.glob("*.whl"))
    total = sum(w.stat().st_size for w in wheels)
    tree = tree_bytes()
    for w in wheels:
        print(f"{w.stat().st_size / 2**20:8.2f} MiB  {w.name}")
    print(f"{len(wheels)} wheels, {total / 2**20:.1f} MiB; with the working tree ({tree / 2**20:.1f} MiB): "
          f"{(total + tree) / 2**20:.1f} of {TRAVEL_LIMIT / 2**20:.0f} MiB")  # fmt: skip
    if total + tree > TRAVEL_LIMIT:
        print("too much to travel: trim NEEDED or the tree", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
