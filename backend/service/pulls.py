"""Model downloads asked for over HTTP: one background thread per download, with progress."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from ..errors import UserError
from ..models import store

log = logging.getLogger(__name__)


class Pull:
    """The state of one model's download."""

    def __init__(self, name: str):
        self.name = name
        self.state = "idle"  # idle | running | done | failed
        self.bytes_done = 0
        self.bytes_total: int | None = None
        self.error: str | None = None
        self.path: str | None = None

    def status(self) -> dict:
        return {
            "name": self.name,
            "state": self.state,
            "bytes_done": self.bytes_done,
            "bytes_total": self.bytes_total,
            "error": self.error,
            "path": self.path,
        }


class Pulls:
    """Downloads by model name; at most one at a time per model. Nothing downloads unless asked."""

    def __init__(self, models_dir: str | None = None):
        self.models_dir = models_dir
        self._lock = threading.Lock()
        self._pulls: dict[str, Pull] = {}

    def status(self, name: str) -> dict:
        """The download's status (``idle`` if never asked for); a ModelError for an unknown name."""
        store.lookup(name)
        with self._lock:
            pull = self._pulls.get(name)
            return pull.status() if pull else Pull(name).status()

    def start(self, name: str) -> dict:
        """Start downloading ``name`` unless it is running already or its weights are present."""
        spec = store.lookup(name)
        with self._lock:
            pull = self._pulls.get(name)
            if pull is not None and pull.state == "running":
                return pull.status()
            pull = self._pulls[name] = Pull(name)
            pull.state = "running"
        try:
            found: Path | None = store.resolve(name, spec.kind, self.models_dir)
        except UserError:
            found = None
        if found is not None:
            self._finish(pull, path=found)
        else:
            threading.Thread(target=self._download, args=(pull,), name=f"pull-{name}", daemon=True).start()
        return self.status(name)

    def _progress(self, pull: Pull, done: int, total: int | None) -> None:
        with self._lock:
            pull.bytes_done, pull.bytes_total = done, total

    def _download(self, pull: Pull) -> None:
        try:
            path = store.pull(pull.name, self.models_dir, lambda done, total: self._progress(pull, done, total))
        except UserError as exc:
            self._finish(pull, error=str(exc))
        except Exception as exc:  # a download thread must always end in a state the client can read
            log.exception("download of %s failed", pull.name)
            self._finish(pull, error=f"Could not download '{pull.name}': {type(exc).__name__}: {exc}")
        else:
            self._finish(pull, path=path)

    def _finish(self, pull: Pull, path: Path | None = None, error: str | None = None) -> None:
        with self._lock:
            pull.state = "failed" if error else "done"
            pull.error, pull.path = error, str(path) if path else None
