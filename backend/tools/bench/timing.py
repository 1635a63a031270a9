"""Clocks for the benchmark: wall time with CUDA synchronised, stage sums, and the prefill/decode split."""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field


def sync() -> None:
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def now() -> float:
    sync()
    return time.perf_counter()


@dataclass
class Clock:
    """Stage seconds summed over a run."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str):
        t0 = now()
        try:
            yield
        finally:
            self.add(name, now() - t0)

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds


def token_clock(clock_times: list[float]):
    from transformers import LogitsProcessor

    class StepClock(LogitsProcessor):
        """Called once per generated token, after that step's forward pass: the first call ends the prefill.

        Only that first call waits for the GPU; later ones must not, or every step would lose the overlap of
        the CPU queueing kernels with the GPU running them.
        """

        def __call__(self, input_ids, scores):
            clock_times.append(time.perf_counter() if clock_times else now())
            return scores

    return StepClock()
