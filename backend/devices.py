"""Choosing the torch device, and the precision each device runs in (bf16 on CUDA, fp32 on CPU)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

from backend.errors import UserError

_CUDA_RE = re.compile(r"cuda(:\d+)?")


def resolve_device(name: str = "auto") -> str:
    """Turn ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` into a device string torch accepts.

    ``auto`` means CUDA when a GPU is usable, else the CPU. Raises ``UserError`` for an unknown name or a
    GPU that is not there.
    """
    import torch

    key = (name or "auto").strip().lower()
    if key == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if key == "cpu":
        return "cpu"
    if not _CUDA_RE.fullmatch(key):
        raise UserError(f"unknown device {name!r}: use auto, cpu, cuda or cuda:N")
    if not torch.cuda.is_available():
        raise UserError(f"device {name!r} was asked for, but no CUDA GPU is usable here; use --device cpu or auto")
    if ":" in key:
        index = int(key.split(":", 1)[1])
        count = torch.cuda.device_count()
        if index >= count:
            raise UserError(f"device {name!r} does not exist: this machine has {count} CUDA GPU(s)")
    return key


def default_batch_size(device: str, requested: int | None = None) -> int:
    """Tiles per batch: ``requested`` if given, else 16 on CUDA and 1 on the CPU.

    On an H100, batches of 16 ran the 3B prompter 12× faster per tile than one tile at a time, within 11 GB of
    GPU memory with SAM 2.1-small; on the CPU batching measured slower (docs/benchmarks.md). A GPU that runs
    out of memory halves the batch and retries.
    """
    if requested is not None:
        return max(1, int(requested))
    return 16 if is_cuda(device) else 1


def is_cuda(device: str) -> bool:
    """Whether ``device`` (as returned by :func:`resolve_device`) is a CUDA device."""
    return str(device).startswith("cuda")


@contextlib.contextmanager
def autocast(device: str) -> Iterator[None]:
    """bf16 autocast on CUDA; on the CPU nothing changes (fp32)."""
    if is_cuda(device):
        import torch

        with torch.autocast("cuda", dtype=torch.bfloat16):
            yield
    else:
        yield
