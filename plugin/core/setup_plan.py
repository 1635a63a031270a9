"""Decisions of the backend installer, kept free of Qt and of the machine they run on, so each platform's
branch is unit-tested here even where it cannot run (Windows, macOS).

The installer (:mod:`.setup_task`) builds a virtual environment for the backend in a per-user data folder,
``<QGIS settings folder>/think2map/envs/<name>``: not in the plugin folder, which the Plugin Manager replaces on
upgrade. An environment is valid only once its marker file is written, after everything is installed and the
doctor has run; a folder without the marker is a leftover of a failed or cancelled install and is removed
before the next try.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

MIN_PYTHON = (3, 10)
READY_MARKER = "think2map-ready.json"
MIN_FREE_GB = 12.0  # torch with CUDA and the rest of the backend take about 7 GB once unpacked
TORCH_INDEX = "https://download.pytorch.org/whl/{flavour}"
WINDOWS_CUDA_FLAVOUR = "cu130"  # the CUDA build of the pinned torch 2.14.1


@dataclass(frozen=True)
class Interpreter:
    """A command that runs a Python able to create the backend's venv (``py -3`` is two words on Windows)."""

    command: tuple[str, ...]
    version: tuple[int, int] = (0, 0)

    @property
    def label(self) -> str:
        return " ".join(self.command) + (f" (Python {self.version[0]}.{self.version[1]})" if self.version[0] else "")


def python_candidates(
    system: str,
    configured: str = "",
    qgis_prefix: str = "",
    which: Callable[[str], str | None] = shutil.which,
) -> list[tuple[str, ...]]:
    """Commands to try, best first: the one in the settings, the platform's launchers on PATH, then QGIS's own
    interpreter (used only to create the venv, never to import torch in QGIS)."""
    out: list[tuple[str, ...]] = []
    if configured:
        out.append((configured,))
    if system == "Windows":
        if which("py"):
            out.append(("py", "-3"))
        names = ["python"]
    else:
        names = ["python3", "python"]
    out += [(found,) for found in (which(n) for n in names) if found]
    if qgis_prefix:
        prefix = Path(qgis_prefix)
        own = prefix / "python.exe" if system == "Windows" else prefix / "bin" / "python3"
        out.append((str(own),))
    unique: list[tuple[str, ...]] = []
    for cmd in out:
        if cmd not in unique:
            unique.append(cmd)
    return unique


PROBE = "import sys, venv, ensurepip; print('%d.%d' % sys.version_info[:2])"


def parse_probe(output: str) -> tuple[int, int] | None:
    """The version a candidate printed for :data:`PROBE`, or None when it could not run it."""
    match = re.fullmatch(r"\s*(\d+)\.(\d+)\s*", output or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def usable(version: tuple[int, int] | None) -> bool:
    return version is not None and version >= MIN_PYTHON


def platform_family(system: str) -> str:
    """``windows``, ``macos`` or ``linux``: which install instructions apply."""
    return {"Windows": "windows", "Darwin": "macos"}.get(system, "linux")


def detect_gpu(system: str, machine: str, nvidia_smi: str | None) -> str:
    """``cuda`` when ``nvidia-smi`` lists a GPU, ``mps`` on Apple Silicon, else ``cpu``."""
    if nvidia_smi and re.search(r"^GPU \d+:", nvidia_smi, re.MULTILINE):
        return "cuda"
    if system == "Darwin" and machine in ("arm64", "aarch64"):
        return "mps"
    return "cpu"


def torch_index(system: str, gpu: str, choice: str = "auto") -> str | None:
    """The extra package index torch comes from, or None for PyPI's default wheels.

    Linux: PyPI's torch already carries CUDA (and runs on a CPU); a CPU-only choice still uses it, since the
    pinned version is the one ``make setup`` installs. Windows: CUDA wheels come from PyTorch's own index, CPU
    wheels from PyPI. macOS: PyPI's wheels, with MPS on Apple Silicon.
    """
    want = gpu if choice == "auto" else choice
    if system == "Windows" and want == "cuda":
        return TORCH_INDEX.format(flavour=WINDOWS_CUDA_FLAVOUR)
    return None


def env_python(env: Path, system: str) -> Path:
    return env / "Scripts" / "python.exe" if system == "Windows" else env / "bin" / "python"


def env_name(version: tuple[int, int], requirements: bytes, index: str | None) -> str:
    """A folder name that changes when the Python, the pinned requirements or the torch build change."""
    digest = hashlib.sha256(requirements + (index or "").encode()).hexdigest()[:10]
    return f"py{version[0]}{version[1]}-{digest}"


def pip_install_command(python: Path, requirements: Path, index: str | None, proxy: str | None) -> list[str]:
    cmd = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off"]
    cmd += ["-r", str(requirements)]
    if index:
        cmd += ["--extra-index-url", index]
    if proxy:
        cmd += ["--proxy", proxy]
    return cmd


def proxy_url(
    enabled: bool, kind: str, host: str, port: str | int, user: str | None = None, password: str | None = None
) -> str | None:
    """The proxy set in QGIS's network settings as a URL pip takes, or None (pip then reads the environment)."""
    if not enabled or not host or kind in ("DefaultProxy", "NoProxy"):
        return None
    scheme = "socks5" if "socks" in kind.lower() else "http"
    auth = f"{quote(user, safe='')}:{quote(password or '', safe='')}@" if user else ""
    return f"{scheme}://{auth}{host}:{port}" if port else f"{scheme}://{auth}{host}"


def requirement_count(requirements_text: str) -> int:
    """How many packages the pinned requirements name (progress goes package by package)."""
    return sum(1 for line in requirements_text.splitlines() if line.strip() and not line.lstrip().startswith("#"))


_COLLECTING = re.compile(r"^\s*(?:Collecting|Requirement already satisfied:|Processing)\s+(\S+)")


def collected_package(line: str) -> str | None:
    """The package a line of pip's output starts on, or None."""
    match = _COLLECTING.match(line)
    return re.split(r"[=<>!~\[ ]", match.group(1))[0] if match else None


def pip_failure(output_tail: Sequence[str]) -> str:
    """What went wrong, from the end of pip's output: the network, the disk, or pip's own last error line."""
    text = "\n".join(output_tail)
    low = text.lower()
    if "no space left on device" in low or "errno 28" in low:
        return "disk_full"
    network = (
        "connection refused",
        "failed to establish a new connection",
        "temporary failure in name resolution",
        "name or service not known",
        "network is unreachable",
        "read timed out",
        "proxyerror",
        "no matching distribution found",
        "could not find a version that satisfies",
    )
    if any(n in low for n in network):
        return "network"
    return "pip_failed"


def last_error_line(output_tail: Sequence[str]) -> str:
    for line in reversed(output_tail):
        if line.strip().startswith(("ERROR", "error:")):
            return line.strip()[:300]
    return (output_tail[-1].strip() if output_tail else "")[:300]
