"""``doctor``: what this backend environment can do, and the fix for each thing that is wrong.

Each check is a :class:`Check`; a failed *required* check (a missing package, a broken GPU the user asked for,
a missing model) makes the command exit 1. Nothing is downloaded; the network check only asks.
"""

from __future__ import annotations

import platform
import shutil
import subprocess  # nosec B404 - nvidia-smi with fixed arguments
import sys
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

import contract

PACKAGES = ("torch", "torchvision", "transformers", "sam2", "segment-anything", "rasterio", "shapely", "xgrammar")
LOW_DISK_GB = 20.0  # the 7B prompter alone is about 16 GB
HUB_URL = "https://huggingface.co"


@dataclass
class Check:
    """One line of the report."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True
    data: dict = field(default_factory=dict)


def python_check() -> Check:
    version = platform.python_version()
    ok = sys.version_info >= (3, 10)
    return Check("python", ok, f"Python {version} at {sys.executable}", "" if ok else "use Python 3.10 or later")


def package_checks() -> list[Check]:
    out = []
    for name in PACKAGES:
        try:
            out.append(Check(f"package {name}", True, metadata.version(name)))
        except metadata.PackageNotFoundError:
            out.append(Check(f"package {name}", False, "not installed", "pip install -r backend/requirements.txt"))
    return out


def nvidia_driver() -> str | None:
    """The NVIDIA driver version from ``nvidia-smi``, or None without one."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return None
    try:
        out = subprocess.run(  # nosec B603 - nvidia-smi found on PATH, fixed arguments
            [exe, "--query-gpu=driver_version", "--format=csv,noheader"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else None


def gpu_checks(device: str = "auto") -> list[Check]:
    """torch's CUDA build against the driver, each GPU with its memory, a short matmul, bf16; or MPS; or CPU."""
    try:
        import torch
    except ImportError:
        return [Check("gpu", False, "torch is not installed", "pip install -r backend/requirements.txt")]
    from ..devices import mps_available

    want_gpu = device not in ("auto", "cpu")
    driver = nvidia_driver()
    build = torch.version.cuda
    checks = [
        Check(
            "torch build",
            True,
            f"torch {torch.__version__}, CUDA build {build or 'none'}, NVIDIA driver {driver or 'none found'}",
            required=False,
        )
    ]
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            checks.append(
                Check(
                    f"gpu {index}",
                    True,
                    f"{props.name}, {props.total_memory / 2**30:.1f} GiB",
                    required=False,
                    data={"name": props.name, "memory_gib": round(props.total_memory / 2**30, 1)},
                )
            )
        checks.append(_matmul_check("cuda"))
        bf16 = torch.cuda.is_bf16_supported()
        checks.append(Check("bf16", bf16, "bf16 usable" if bf16 else "no bf16: models run in fp16", required=False))
    elif mps_available():
        checks.append(
            Check("gpu", True, "Apple Silicon GPU (MPS), models in fp16", required=False, data={"name": "MPS"})
        )
        checks.append(_matmul_check("mps"))
    else:
        fix = (
            "the NVIDIA driver is there but this torch has no CUDA: install the CUDA build of torch"
            if driver and not build
            else "no GPU found: queries will be slow; a CUDA GPU with 16 GB is recommended"
        )
        checks.append(Check("gpu", False, "CPU only", fix, required=want_gpu))
    return checks


def _matmul_check(device: str) -> Check:
    """About a second of matrix products on ``device``: proof that the GPU computes, with its speed."""
    import torch

    try:
        a = torch.randn(2048, 2048, device=device)
        started, count = time.perf_counter(), 0
        while time.perf_counter() - started < 1.0:
            (a @ a).sum().item()
            count += 1
        seconds = time.perf_counter() - started
        tflops = 2 * 2048**3 * count / seconds / 1e12
        return Check(f"{device} compute", True, f"{count} matmuls of 2048² in {seconds:.2f} s ({tflops:.1f} TFLOP/s)")
    except Exception as exc:  # noqa: BLE001 - any failure here is the finding
        return Check(f"{device} compute", False, f"{type(exc).__name__}: {exc}", "check the driver and the torch build")


def model_checks(prompter: str, segmenter: str, folder: str | None) -> list[Check]:
    from ..errors import UserError
    from ..models import store

    checks = []
    for name, kind in ((prompter, "prompter"), (segmenter, "segmenter")):
        try:
            path = store.resolve(name, kind, folder)
            checks.append(Check(f"{kind} {name}", True, f"present: {path}"))
        except UserError as exc:
            command = exc.params.get("command") or store.PULL_HINT.format(name=name)
            checks.append(Check(f"{kind} {name}", False, "missing", f"download it: {command}"))
    root = store.models_dir(folder)
    others = sorted(p.name for p in root.iterdir()) if root.is_dir() else []
    checks.append(Check("models folder", True, f"{root}: {', '.join(others) if others else 'empty'}", required=False))
    probe = root if root.exists() else next((p for p in root.parents if p.exists()), Path("/"))
    free_gb = shutil.disk_usage(probe).free / 2**30
    checks.append(
        Check(
            "disk",
            free_gb >= LOW_DISK_GB,
            f"{free_gb:.1f} GB free for models in {probe}",
            f"free some space: the models need up to {LOW_DISK_GB:.0f} GB",
            required=False,
        )
    )
    return checks


def hub_check(timeout: float = 3.0) -> Check:
    """Whether Hugging Face answers (``models pull`` needs it); offline is not an error."""
    import httpx

    try:
        httpx.head(HUB_URL, timeout=timeout)
        return Check("hugging face", True, f"{HUB_URL} reachable", required=False)
    except httpx.HTTPError as exc:
        return Check(
            "hugging face",
            False,
            f"{HUB_URL} not reachable ({type(exc).__name__})",
            "models can only be pulled with network access (a proxy: set HTTPS_PROXY)",
            required=False,
        )


def run_checks(
    device: str = "auto",
    prompter: str = contract.DEFAULT_PROMPTER,
    segmenter: str = contract.DEFAULT_SEGMENTER,
    models_dir: str | None = None,
    network: bool = True,
) -> list[Check]:
    checks = [python_check(), *package_checks(), *gpu_checks(device), *model_checks(prompter, segmenter, models_dir)]
    if network:
        checks.append(hub_check())
    return checks


def summary_line(checks: list[Check]) -> str:
    """The dock's one line: "GPU: <name>, <memory>" or "CPU only: queries will be slow"."""
    gpus = [c.data for c in checks if c.ok and c.data.get("name")]
    if not gpus:
        return "CPU only: queries will be slow"
    first = gpus[0]
    memory = f", {first['memory_gib']} GiB" if "memory_gib" in first else ""
    return f"GPU: {first['name']}{memory}" + (f" (+{len(gpus) - 1} more)" if len(gpus) > 1 else "")


def report(checks: list[Check]) -> dict:
    broken = [c for c in checks if c.required and not c.ok]
    return {"ok": not broken, "summary": summary_line(checks), "checks": [asdict(c) for c in checks]}


def format_report(checks: list[Check]) -> str:
    lines = []
    for c in checks:
        mark = "ok  " if c.ok else ("FAIL" if c.required else "warn")
        lines.append(f"[{mark}] {c.name}: {c.detail}" + (f"\n         fix: {c.fix}" if c.fix and not c.ok else ""))
    broken = [c for c in checks if c.required and not c.ok]
    lines.append(summary_line(checks))
    lines.append("everything required is in place" if not broken else f"{len(broken)} required part(s) broken")
    return "\n".join(lines)
