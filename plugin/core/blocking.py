"""A local backend for worker threads without a dock (``qgis_process``, Processing in a headless session).

It starts the same command as the dock's manager, with ``subprocess``, and waits for it: never call it on the UI
thread of a live session. In a QGIS session with the plugin's dock, Processing uses the dock's backend instead.
"""

from __future__ import annotations

import secrets
import subprocess  # nosec B404 - starts the configured backend interpreter
import threading
import time
from collections import deque

from .client import BackendClient, BackendError
from .i18n import tr
from .launch import (
    START_TIMEOUT_S,
    STDERR_TAIL_LINES,
    backend_arguments,
    backend_environment,
    hint_for,
    interpreter_problem,
    parse_listening_line,
)
from .settings import PLUGIN_ROOT, Settings


class BlockingBackend:
    """A local backend for worker threads (Processing): started on demand, reused, stopped explicitly.

    Uses ``subprocess`` and waits, so never call :meth:`ensure_started` on the UI thread of a live session.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._key: tuple | None = None
        self._stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        self.url = ""
        self.token = ""  # nosec B105 - empty until the backend starts

    def ensure_started(
        self, settings: Settings, timeout_s: float = START_TIMEOUT_S, is_canceled=lambda: False, on_start=lambda: None
    ) -> BackendClient:
        """Return a client for a healthy backend, starting the process if none runs (raises BackendError).

        ``on_start()`` is called when a process is about to be started (not when a running one is reused).
        """
        key = (settings.python_path, tuple(backend_arguments(settings)))
        with self._lock:
            if self._proc is not None and self._proc.poll() is None and self._key == key:
                client = BackendClient(self.url, self.token)
                try:
                    client.health()
                    return client
                except BackendError:
                    pass
            self._stop_locked()
            problem = interpreter_problem(settings.python_path)
            if problem:
                raise BackendError(problem)
            on_start()
            self.token = secrets.token_urlsafe(32)
            self._stderr_tail.clear()
            self._proc = subprocess.Popen(  # nosec B603  # noqa: S603 - the user's configured interpreter
                [settings.python_path, *backend_arguments(settings)],
                cwd=str(PLUGIN_ROOT),
                env=backend_environment(self.token, served_api_key=settings.served_api_key),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                errors="replace",
            )
            self._key = key
            threading.Thread(target=self._drain_stderr, args=(self._proc,), daemon=True).start()
            info = self._wait_for_listening(self._proc, timeout_s, is_canceled)
            self.url = f"http://127.0.0.1:{info['port']}"
            self.token = info.get("token") or self.token
            client = BackendClient(self.url, self.token)
            client.health()
            return client

    def stop(self, timeout_s: float = 5.0) -> None:
        """Terminate the process (then kill it after ``timeout_s``)."""
        with self._lock:
            self._stop_locked(timeout_s)

    def _stop_locked(self, timeout_s: float = 5.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(2)
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()

    def _drain_stderr(self, proc: subprocess.Popen) -> None:
        try:
            for line in proc.stderr:
                if line.strip():
                    self._stderr_tail.append(line.rstrip())
        except (OSError, ValueError):
            pass

    def _wait_for_listening(self, proc: subprocess.Popen, timeout_s: float, is_canceled) -> dict:
        found: list[dict] = []

        def read() -> None:
            for line in proc.stdout:
                info = parse_listening_line(line)
                if info:
                    found.append(info)
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        deadline = time.monotonic() + timeout_s
        while reader.is_alive() and time.monotonic() < deadline and not is_canceled():
            reader.join(0.2)
        if found:
            return found[0]
        if is_canceled():
            self._stop_locked()
            raise BackendError(tr("Canceled while the backend was starting."))
        code = proc.poll()
        self._stop_locked()
        reason = (
            tr("The backend did not start within {s} s.").format(s=int(timeout_s))
            if code is None
            else tr("The backend stopped unexpectedly (exit code {code}).").format(code=code)
        )
        tail = "\n".join(list(self._stderr_tail)[-12:])
        hint = hint_for(tail)
        raise BackendError(reason + (" " + hint if hint else "") + ("\n" + tail if tail else ""))


_shared_blocking: BlockingBackend | None = None


def shared_blocking_backend() -> BlockingBackend:
    """The one :class:`BlockingBackend` of this QGIS session (Processing runs reuse it)."""
    global _shared_blocking
    if _shared_blocking is None:
        _shared_blocking = BlockingBackend()
    return _shared_blocking


def stop_shared_blocking_backend() -> None:
    """Stop the Processing backend, if one was started (plugin unload)."""
    if _shared_blocking is not None:
        _shared_blocking.stop()
