"""Choosing the torch device, the precision each runs in (bf16 on CUDA, fp32 on the CPU), and GPU memory."""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterator

from .errors import UserError

_CUDA_RE = re.compile(r"cuda(:\d+)?")
CUDA_BATCH = 16
CPU_BATCH = 1


def pick_auto_device(cuda: bool, mps: bool) -> str:
    """What ``auto`` means: CUDA when a GPU is usable, then Apple Silicon's MPS, then the CPU."""
    return "cuda" if cuda else "mps" if mps else "cpu"


def mps_available() -> bool:
    """Whether torch can use Apple Silicon's GPU (MPS)."""
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve_device(name: str = "auto") -> str:
    """Turn ``auto``, ``cpu``, ``mps``, ``cuda`` or ``cuda:N`` into a device string torch accepts.

    ``auto``: see :func:`pick_auto_device`. Raises ``UserError`` for an unknown name or a GPU that is not there.
    """
    import torch

    key = (name or "auto").strip().lower()
    if key == "auto":
        return pick_auto_device(torch.cuda.is_available(), mps_available())
    if key == "cpu":
        return "cpu"
    if key == "mps":
        if not mps_available():
            raise UserError(
                "device 'mps' was asked for, but MPS is not usable here; use auto or cpu", "no_gpu", device=name
            )
        return "mps"
    if not _CUDA_RE.fullmatch(key):
        raise UserError(f"unknown device {name!r}: use auto, cpu, mps, cuda or cuda:N", "bad_device", device=name)
    if not torch.cuda.is_available():
        raise UserError(
            f"device {name!r} was asked for, but no CUDA GPU is usable here; use --device cpu or auto",
            "no_gpu",
            device=name,
        )
    if ":" in key:
        index = int(key.split(":", 1)[1])
        count = torch.cuda.device_count()
        if index >= count:
            raise UserError(
                f"device {name!r} does not exist: this machine has {count} CUDA GPU(s)", "no_gpu", device=name
            )
    return key


def default_batch_size(device: str, requested: int | None = None) -> int:
    """Tiles per batch: ``requested`` if given, else 16 on CUDA and 1 on the CPU.

    On an H100, batches of 16 ran the 3B prompter 8-12× faster per tile than one tile at a time, within 11 GB of
    GPU memory with SAM 2.1-small; on the CPU batching measured slower (docs/benchmarks.md). A GPU that runs
    out of memory halves the batch and retries.
    """
    if requested is not None:
        return max(1, int(requested))
    return CUDA_BATCH if is_cuda(device) else CPU_BATCH


def model_dtype_name(device: str, bf16: bool = True) -> str:
    """The precision models run in on ``device``: bf16 on CUDA (fp16 where the GPU has no bf16), fp16 on MPS,
    fp32 on the CPU."""
    if is_cuda(device):
        return "bfloat16" if bf16 else "float16"
    return "float16" if str(device).startswith("mps") else "float32"


def is_cuda(device: str) -> bool:
    """Whether ``device`` (as returned by :func:`resolve_device`) is a CUDA device."""
    return str(device).startswith("cuda")


def is_oom(exc: BaseException) -> bool:
    """Whether ``exc`` says the GPU (or the host, for some kernels) ran out of memory."""
    return type(exc).__name__ == "OutOfMemoryError" or "out of memory" in str(exc).lower()


def free_gpu_memory() -> None:
    """Give cached CUDA memory back to the driver (after an out-of-memory error or an unload)."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


@contextlib.contextmanager
def autocast(device: str) -> Iterator[None]:
    """bf16 autocast on CUDA; on the CPU nothing changes (fp32)."""
    if is_cuda(device):
        import torch

        with torch.autocast("cuda", dtype=torch.bfloat16):
            yield
    else:
        yield
