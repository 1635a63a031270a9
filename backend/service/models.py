"""The service's models: the pair a job runs with, kept loaded between jobs, the click lane's segmenter beside
it, and how both are loaded (the CLI's way, on the server's device)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..devices import free_gpu_memory
from ..errors import UserError
from ..models.embedding_cache import shared_cache
from ..models.loading import EngineConfig, load_models

ModelKey = tuple[str, str]  # resolved prompter path, resolved segmenter path
Loader = Callable[[Path, Path], tuple[Any, Any]]


def free_memory() -> None:
    """Return freed model memory: to Python's allocator and, on CUDA, to the driver."""
    gc.collect()
    free_gpu_memory()


class ModelCache:
    """One loaded prompter/segmenter pair, kept warm between jobs (a different pair replaces it), and the click
    lane's segmenter: a view of the pair's when it is the same checkpoint, else one of its own."""

    def __init__(
        self,
        loader: Loader,
        segmenter_loader: Callable[[Path], Any] | None = None,
        on_use: Callable[[], None] = lambda: None,
    ):
        self._loader = loader
        self._segmenter_loader = segmenter_loader
        self._on_use = on_use
        self._lock = threading.Lock()
        # One caller at a time makes the lane's segmenter: a warm-up's request handler asks for it (its cache key)
        # while the lane answers a click, and two threads building SAM 2 at once break TorchScript's compiler.
        self._lane_lock = threading.Lock()
        self._key: ModelKey | None = None
        self._models: tuple[Any, Any] | None = None
        self._lane: dict[Path, tuple[Any, Any]] = {}  # checkpoint -> (the model it views, the lane's segmenter)

    def touch(self) -> None:
        """Something used the models outside a job (a click): whoever unloads idle models waits longer."""
        self._on_use()

    def get(self, key: ModelKey) -> tuple[Any, Any]:
        """The models for ``key``, loading them (worker thread only) if they are not the ones held."""
        if self._key != key:
            self.unload()  # free the old pair first: two may not fit on the GPU
            # Names stay text until the loader decides what they are: Path() would fold openai:http://… to http:/…
            models = self._loader(key[0], key[1])
            with self._lock:
                self._key, self._models = key, models
        if self._models is None:
            raise RuntimeError("models is not set")
        return self._models

    def segmenter_for(self, path: Path):
        """The click lane's segmenter for ``path``: shares the held pair's weights when it can."""
        with self._lane_lock:
            return self._lane_segmenter(Path(path))

    def _lane_segmenter(self, path: Path):
        with self._lock:
            held = self._models[1] if self._models is not None and self._key and Path(self._key[1]) == path else None
            known = self._lane.get(path)
            if known is not None and (held is None or known[0] is held):
                return known[1]
        if held is not None:
            base, view = held, held.view()
        else:
            if self._segmenter_loader is None:
                raise UserError("This server cannot load a segmenter for clicks.", "no_segmenter")
            base = view = self._segmenter_loader(path)
        with self._lock:
            self._lane = {path: (base, view)}
        return view

    def unload(self) -> bool:
        with self._lock:
            had = self._models is not None or bool(self._lane)
            self._key, self._models, self._lane = None, None, {}
        if had:
            shared_cache().clear()  # its embeddings belong to the models just dropped, and may hold GPU memory
            free_memory()
        return had

    def loaded(self) -> dict[str, str]:
        """Names of the loaded models, ``{}`` when none are."""
        with self._lock:
            if self._models is None:
                return {}
            prompter, segmenter = self._models
        return {
            "prompter": prompter.name,
            "segmenter": segmenter.name,
        }


def default_loader(config: EngineConfig) -> Loader:
    """Load models the way the CLI does, with the server's device and generation options."""

    def load(prompter_path: Path, segmenter_path: Path):
        return load_models(config, prompter_path, segmenter_path)

    return load


def default_segmenter_loader(config: EngineConfig) -> Callable[[Path], Any]:
    """Load a segmenter alone (for clicks), on the server's device."""

    def load(path: Path):
        from ..models.build_segmenter import load_segmenter

        return load_segmenter(path, device=config.device)

    return load
