"""The files of this checkout that git keeps or would keep: tracked, and new but not ignored (relative paths)."""

from __future__ import annotations

import subprocess  # nosec B404 - git with fixed arguments
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def checkout_files(root: Path = ROOT) -> list[str]:
    """Every tracked file, and every untracked one git does not ignore, that exists under ``root``."""
    listed = subprocess.run(  # nosec B603 B607 - git with fixed arguments
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=root,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [f for f in listed.split("\0") if f and (root / f).is_file()]
