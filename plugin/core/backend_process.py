"""Starting, watching and stopping the backend process (local mode), or checking a remote backend.

:class:`BackendManager` is for the UI thread: everything is asynchronous (QProcess signals, timers and
QgsNetworkAccessManager replies), nothing waits. :class:`BlockingBackend` is for worker threads such as a
Processing algorithm's: it starts the same command with ``subprocess`` and waits for it.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import threading
import time
from collections import deque
from pathlib import Path

from qgis.core import Qgis, QgsMessageLog, QgsNetworkAccessManager
from qgis.PyQt.QtCore import QCoreApplication, QObject, QProcess, QProcessEnvironment, QTimer, QUrl, pyqtSignal
from qgis.PyQt.QtNetwork import QNetworkReply, QNetworkRequest

from .client import BackendClient, BackendError, bypass_proxy_for
from .i18n import tr
from .settings import PLUGIN_ROOT, Settings

LOG_TAG = "Think2Map"
STDERR_TAIL_LINES = 30
START_TIMEOUT_S = 180.0
STOP_TIMEOUT_MS = 5000
MAX_RESTARTS = 3
RESTART_WINDOW_S = 300.0


def fix_interpreter() -> str:
    """The fix for a missing or broken backend interpreter."""
    return tr("Set the backend Python in Think2Map settings, or run `make setup` in the plugin folder.")


def backend_arguments(settings: Settings) -> list[str]:
    """Arguments after the interpreter: ``-m backend serve`` on a free loopback port, with the chosen models."""
    args = ["-m", "backend", "serve", "--host", "127.0.0.1", "--port", "0"]
    for flag, value in (("--prompter", settings.prompter), ("--segmenter", settings.segmenter),
                        ("--device", settings.device), ("--models-dir", settings.models_dir)):
        if value:
            args += [flag, value]
    return args + list(settings.extra_args)


def backend_environment(token: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """The child's environment: the token, unbuffered output, and no Python paths leaking in from QGIS."""
    env = dict(os.environ if base is None else base)
    for key in ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "VIRTUAL_ENV"):
        env.pop(key, None)
    env.update({"THINK2MAP_TOKEN": token, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(PLUGIN_ROOT)})
    return env


def interpreter_problem(python_path: str) -> str | None:
    """A user message when the configured backend interpreter cannot be used, else None."""
    if not python_path:
        return tr("No backend Python is configured.") + " " + fix_interpreter()
    path = Path(python_path)
    if not path.is_file():
        return tr("The backend Python {path} does not exist.").format(path=python_path) + " " + fix_interpreter()
    if not os.access(path, os.X_OK):
        return tr("The backend Python {path} is not executable.").format(path=python_path) + " " + fix_interpreter()
    if not (PLUGIN_ROOT / "backend" / "__main__.py").is_file():
        return tr("The backend package is missing from {root}: reinstall the plugin.").format(root=PLUGIN_ROOT)
    return None


def parse_listening_line(line: str) -> dict | None:
    """The server's ``{"event": "listening", "port": ...}`` line as a dict, or None for any other line."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if isinstance(data, dict) and data.get("event") == "listening" and isinstance(data.get("port"), int):
        return data
    return None


def _log(message: str, level=Qgis.Info) -> None:
    QgsMessageLog.logMessage(message, LOG_TAG, level)


class BackendManager(QObject):
    """The backend the plugin talks to: a child process in local mode, a URL in remote mode.

    States: ``stopped`` → ``starting`` → ``ready``, or ``error`` (``detail`` says what went wrong and how to fix
    it). A local process that dies unexpectedly is restarted, at most ``MAX_RESTARTS`` times in
    ``RESTART_WINDOW_S`` seconds, with a growing delay.
    """

    stateChanged = pyqtSignal(str, str)  # noqa: N815 (Qt naming)
    ready = pyqtSignal(str, str)  # url, token

    def __init__(self, settings_loader=Settings.load_for_backend, parent: QObject | None = None):
        super().__init__(parent)
        self._settings_loader = settings_loader
        self._state = "stopped"
        self._detail = ""
        self._url = ""
        self._token = ""
        self._device = ""
        self._health: dict = {}
        self._process: QProcess | None = None
        self._stdout_buffer = ""
        self._stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        self._stopping = False
        self._restart_after_stop = False
        self._restart_times: list[float] = []
        self._reply: QNetworkReply | None = None
        self._start_timer = QTimer(self)
        self._start_timer.setSingleShot(True)
        self._start_timer.timeout.connect(self._on_start_timeout)
        self._restart_timer = QTimer(self)
        self._restart_timer.setSingleShot(True)
        self._restart_timer.timeout.connect(self._start_process)
        self._kill_timer = QTimer(self)
        self._kill_timer.setSingleShot(True)
        self._kill_timer.timeout.connect(self._kill)
        self.start_timeout_s = START_TIMEOUT_S
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self._on_about_to_quit)

    # --- public API --------------------------------------------------------------------------------
    @property
    def state(self) -> str:
        return self._state

    @property
    def detail(self) -> str:
        return self._detail

    @property
    def url(self) -> str:
        return self._url

    @property
    def token(self) -> str:
        return self._token

    @property
    def device(self) -> str:
        """The backend's device from ``/health`` (e.g. ``cuda:0`` or ``cpu``), '' until ready."""
        return self._device

    @property
    def health_info(self) -> dict:
        """The last ``/health`` answer."""
        return dict(self._health)

    @property
    def stderr_tail(self) -> str:
        return "\n".join(self._stderr_tail)

    @property
    def pid(self) -> int | None:
        """The local backend's process id while it runs."""
        if self._process is None or self._process.state() == QProcess.NotRunning:
            return None
        return int(self._process.processId())

    def client(self) -> BackendClient:
        """A blocking client for the current backend (use it in tasks, not on the UI thread)."""
        return BackendClient(self._url, self._token)

    def start(self) -> None:
        """Start (local) or connect to (remote) the backend; returns at once, watch :attr:`stateChanged`."""
        if self._state in ("starting", "ready"):
            return
        self._restart_times.clear()
        settings = self._settings_loader()
        if settings.is_remote:
            self._start_remote(settings)
        else:
            self._start_process()

    def stop(self, wait_ms: int = 0) -> None:
        """Stop the backend: SIGTERM, then kill after ``STOP_TIMEOUT_MS``; ``wait_ms`` > 0 waits that long here."""
        self._restart_timer.stop()
        self._start_timer.stop()
        self._abort_reply()
        process = self._process
        if process is not None and process.state() != QProcess.NotRunning:
            self._stopping = True
            process.terminate()
            if wait_ms > 0:
                if not process.waitForFinished(wait_ms):
                    process.kill()
                    process.waitForFinished(1000)
            else:
                self._kill_timer.start(STOP_TIMEOUT_MS)
        else:
            self._process = None
        self._url = self._token = self._device = ""
        self._set_state("stopped", tr("The backend is stopped."))

    def restart(self) -> None:
        """Stop, then start again once the old process has exited."""
        running = self._process is not None and self._process.state() != QProcess.NotRunning
        self.stop()
        if running:
            self._restart_after_stop = True
        else:
            self.start()

    def _on_about_to_quit(self) -> None:
        try:
            self.stop(wait_ms=3000)
        except RuntimeError:  # the C++ object is already gone
            pass

    # --- remote ------------------------------------------------------------------------------------
    def _start_remote(self, settings: Settings) -> None:
        if not settings.remote_url:
            self._set_state("error", tr("Remote mode needs a backend URL: set it in Think2Map settings."))
            return
        self._url, self._token = settings.remote_url.rstrip("/"), settings.remote_token
        self._set_state("starting", tr("Connecting to {url}…").format(url=self._url))
        self._check_health()

    # --- local process -----------------------------------------------------------------------------
    def _start_process(self) -> None:
        settings = self._settings_loader()
        problem = interpreter_problem(settings.python_path)
        if problem:
            self._set_state("error", problem)
            return
        self._token = secrets.token_urlsafe(32)
        self._url = self._device = ""
        self._stdout_buffer = ""
        self._stderr_tail.clear()
        self._stopping = False
        process = QProcess(self)
        env = QProcessEnvironment()
        for key, value in backend_environment(self._token).items():
            env.insert(key, value)
        process.setProcessEnvironment(env)
        process.setWorkingDirectory(str(PLUGIN_ROOT))
        process.readyReadStandardOutput.connect(lambda p=process: self._on_stdout(p))
        process.readyReadStandardError.connect(lambda p=process: self._on_stderr(p))
        process.finished.connect(lambda code, status, p=process: self._on_finished(p, code, status))
        process.errorOccurred.connect(lambda error, p=process: self._on_process_error(p, error))
        self._process = process
        self._set_state("starting", tr("Starting the backend with {python}…").format(python=settings.python_path))
        self._start_timer.start(int(self.start_timeout_s * 1000))
        args = backend_arguments(settings)
        _log(f"starting backend: {settings.python_path} {' '.join(args)}")
        process.start(settings.python_path, args)

    def _on_stdout(self, process: QProcess) -> None:
        if process is not self._process:
            return
        self._stdout_buffer += bytes(process.readAllStandardOutput()).decode("utf-8", "replace")
        while "\n" in self._stdout_buffer:
            line, self._stdout_buffer = self._stdout_buffer.split("\n", 1)
            info = parse_listening_line(line)
            if info is None:
                if line.strip():
                    _log(line.strip())
                continue
            if self._state == "starting" and not self._url:
                host = info.get("host") or "127.0.0.1"
                host = "127.0.0.1" if host in ("0.0.0.0", "") else host
                self._url = f"http://{host}:{info['port']}"
                self._token = info.get("token") or self._token
                self._check_health()

    def _on_stderr(self, process: QProcess) -> None:
        text = bytes(process.readAllStandardError()).decode("utf-8", "replace")
        for line in text.splitlines():
            if line.strip():
                self._stderr_tail.append(line.rstrip())

    def _on_process_error(self, process: QProcess, error) -> None:
        if process is not self._process or error != QProcess.FailedToStart:
            return
        self._start_timer.stop()
        self._process = None
        self._set_state("error", tr("The backend could not be started: {error}.").format(error=process.errorString())
                        + " " + fix_interpreter())

    def _on_finished(self, process: QProcess, code: int, status) -> None:
        self._on_stderr(process)
        if process is not self._process:
            return
        self._kill_timer.stop()
        self._start_timer.stop()
        self._abort_reply()
        self._process = None
        process.deleteLater()
        if self._stopping:
            self._stopping = False
            if self._restart_after_stop:
                self._restart_after_stop = False
                self.start()
            return
        was = self._state
        self._url = self._device = ""
        reason = (tr("The backend stopped unexpectedly (exit code {code}).").format(code=code)
                  if status == QProcess.NormalExit else tr("The backend crashed or was killed."))
        now = time.monotonic()
        self._restart_times = [t for t in self._restart_times if now - t < RESTART_WINDOW_S]
        if was == "ready" and len(self._restart_times) < MAX_RESTARTS:
            self._restart_times.append(now)
            attempt = len(self._restart_times)
            delay = 2 ** (attempt - 1)
            self._set_state("starting", reason + " " + tr("Restarting in {s} s (attempt {n} of {max})…").format(
                s=delay, n=attempt, max=MAX_RESTARTS))
            _log(reason + "\n" + self.stderr_tail, Qgis.Warning)
            self._restart_timer.start(delay * 1000)
            return
        self._set_state("error", self._error_text(reason))

    def _error_text(self, reason: str) -> str:
        tail = self.stderr_tail.strip()
        hint = _hint_for(tail)
        text = reason + (" " + hint if hint else "")
        if tail:
            text += "\n" + tr("Last backend messages:") + "\n" + "\n".join(tail.splitlines()[-12:])
        return text

    def _on_start_timeout(self) -> None:
        if self._state != "starting":
            return
        message = tr("The backend did not start within {s} s.").format(s=int(self.start_timeout_s))
        self.stop()
        self._set_state("error", self._error_text(message))

    def _kill(self) -> None:
        if self._process is not None and self._process.state() != QProcess.NotRunning:
            self._process.kill()

    # --- health ------------------------------------------------------------------------------------
    def _check_health(self, attempt: int = 1) -> None:
        bypass_proxy_for(self._url)
        request = QNetworkRequest(QUrl(self._url + "/health"))
        request.setRawHeader(b"Authorization", f"Bearer {self._token}".encode())
        request.setAttribute(QNetworkRequest.CacheLoadControlAttribute, QNetworkRequest.AlwaysNetwork)
        request.setAttribute(QNetworkRequest.CacheSaveControlAttribute, False)
        request.setTransferTimeout(10000)
        self._abort_reply()
        reply = QgsNetworkAccessManager.instance().get(request)
        self._reply = reply
        reply.finished.connect(lambda r=reply, n=attempt: self._on_health(r, n))

    def _abort_reply(self) -> None:
        reply, self._reply = self._reply, None
        if reply is not None:
            reply.abort()
            reply.deleteLater()

    def _on_health(self, reply: QNetworkReply, attempt: int) -> None:
        if reply is not self._reply:
            return
        self._reply = None
        reply.deleteLater()
        status = reply.attribute(QNetworkRequest.HttpStatusCodeAttribute)
        raw = bytes(reply.readAll())
        if status == 200:
            try:
                self._health = json.loads(raw.decode("utf-8"))
            except ValueError:
                self._health = {}
            self._device = str(self._health.get("device") or "")
            self._start_timer.stop()
            detail = tr("Backend ready at {url} on {device}.").format(url=self._url, device=self._device or "?")
            if self._device == "cpu":
                detail += " " + tr("No GPU: running on the CPU will be slow.")
            self._set_state("ready", detail)
            self.ready.emit(self._url, self._token)
            return
        if status == 401:
            self._fail_health(tr("The backend refused the token (HTTP 401): check the token in Think2Map settings."))
        elif status is None and attempt < 5 and self._state == "starting":
            QTimer.singleShot(500 * attempt, lambda n=attempt + 1: self._retry_health(n))
        else:
            self._fail_health(tr("The backend at {url} is not healthy: {error}").format(
                url=self._url, error=_reply_error(reply, raw)))

    def _retry_health(self, attempt: int) -> None:
        if self._state == "starting" and self._url:
            self._check_health(attempt)

    def _fail_health(self, message: str) -> None:
        if self._process is not None:
            self.stop()
        self._set_state("error", message)

    def _set_state(self, state: str, detail: str) -> None:
        changed = (state, detail) != (self._state, self._detail)
        self._state, self._detail = state, detail
        if changed:
            self.stateChanged.emit(state, detail)


def _reply_error(reply: QNetworkReply, raw: bytes) -> str:
    try:
        detail = json.loads(raw.decode("utf-8")).get("detail")
    except (ValueError, AttributeError):
        detail = None
    return str(detail) if detail else reply.errorString()


def _hint_for(stderr_tail: str) -> str:
    """A fix for the commonest start-up failures seen on stderr."""
    if "No module named" in stderr_tail:
        return tr("The backend's Python lacks packages: run `make setup`, or choose the venv's Python in settings.")
    if "unrecognized arguments" in stderr_tail or "invalid choice" in stderr_tail:
        return tr("The backend does not accept these options: check the extra arguments in Think2Map settings.")
    if "Address already in use" in stderr_tail:
        return tr("The port is taken: restart the backend.")
    return ""


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
        self.token = ""

    def ensure_started(self, settings: Settings, timeout_s: float = START_TIMEOUT_S,
                       is_canceled=lambda: False) -> BackendClient:
        """Return a client for a healthy backend, starting the process if none runs (raises BackendError)."""
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
            self.token = secrets.token_urlsafe(32)
            self._stderr_tail.clear()
            self._proc = subprocess.Popen(  # noqa: S603 - the user's configured interpreter
                [settings.python_path, *backend_arguments(settings)], cwd=str(PLUGIN_ROOT),
                env=backend_environment(self.token), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True, encoding="utf-8", errors="replace")
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
        reason = (tr("The backend did not start within {s} s.").format(s=int(timeout_s)) if code is None
                  else tr("The backend stopped unexpectedly (exit code {code}).").format(code=code))
        tail = "\n".join(list(self._stderr_tail)[-12:])
        hint = _hint_for(tail)
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
