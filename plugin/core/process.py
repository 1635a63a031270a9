"""The backend the dock talks to, managed from QGIS's UI thread: a child process (local) or a URL (remote).

Everything here is asynchronous (QProcess signals, timers and QgsNetworkAccessManager replies): nothing waits.
Worker threads that need a backend without a dock use :mod:`.blocking`.

Its length (about 420 lines) is one state machine (stopped, starting, ready, error) over two kinds of backend,
with its restarts and crash reports; its launch command and messages are in :mod:`.launch`.
"""

from __future__ import annotations

import json
import secrets
import time
from collections import deque

from qgis.core import Qgis, QgsNetworkAccessManager
from qgis.PyQt.QtCore import (
    QCoreApplication,
    QEventLoop,
    QObject,
    QProcess,
    QProcessEnvironment,
    Qt,
    QThread,
    QTimer,
    QUrl,
    pyqtSignal,
)
from qgis.PyQt.QtNetwork import QNetworkReply, QNetworkRequest

from .client import BackendClient, BackendError, bypass_proxy_for
from .i18n import tr
from .launch import (
    START_TIMEOUT_S,
    STDERR_TAIL_LINES,
    backend_arguments,
    backend_environment,
    describe_exit,
    fix_interpreter,
    hint_for,
    interpreter_problem,
    parse_listening_line,
)
from .log import log
from .settings import PLUGIN_ROOT, Settings

STOP_TIMEOUT_MS = 5000
MAX_RESTARTS = 3
RESTART_WINDOW_S = 300.0


class BackendManager(QObject):
    """The backend the plugin talks to: a child process in local mode, a URL in remote mode.

    States: ``stopped`` → ``starting`` → ``ready``, or ``error`` (``detail`` says what went wrong and how to fix
    it). A local process that dies unexpectedly is restarted, at most ``MAX_RESTARTS`` times in
    ``RESTART_WINDOW_S`` seconds, with a growing delay.
    """

    stateChanged = pyqtSignal(str, str)  # noqa: N815 (Qt naming)
    ready = pyqtSignal(str, str)  # url, token
    crashed = pyqtSignal(str, str, bool)  # how it ended (a sentence), its last stderr lines, whether it restarts
    _startRequested = pyqtSignal()  # noqa: N815 - emitted from worker threads, handled on the manager's thread

    def __init__(self, settings_loader=Settings.load_for_backend, parent: QObject | None = None):
        super().__init__(parent)
        self._settings_loader = settings_loader
        self._state = "stopped"
        self._detail = ""
        self._url = ""
        self._token = ""  # nosec B105 - empty until the backend starts
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
        self._starts = 0  # how many times start() ran: a worker waiting on a start it asked for watches this
        self._startRequested.connect(self.start, Qt.ConnectionType.QueuedConnection)
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
        if self._process is None or self._process.state() == QProcess.ProcessState.NotRunning:
            return None
        return int(self._process.processId())

    def client(self) -> BackendClient:
        """A blocking client for the current backend (use it in tasks, not on the UI thread)."""
        return BackendClient(self._url, self._token)

    def start(self) -> None:
        """Start (local) or connect to (remote) the backend; returns at once, watch :attr:`stateChanged`."""
        self._starts += 1
        if self._state in ("starting", "ready"):
            return
        self._restart_times.clear()
        settings = self._settings_loader()
        if settings.is_remote:
            self._start_remote(settings)
        else:
            self._start_process()

    def wait_until_ready(self, is_canceled=lambda: False, timeout_s: float | None = None) -> BackendClient:
        """A client once the backend is ready, starting it if needed; from any thread (Processing's included).

        On the manager's own thread the event loop keeps running meanwhile. Raises :class:`BackendError` with
        the reason when the backend cannot start, when ``is_canceled()`` turns true, or after ``timeout_s``.
        """
        on_own_thread = QThread.currentThread() == self.thread()
        starts = self._starts
        if self._state in ("stopped", "error"):
            if on_own_thread:
                self.start()
            else:
                self._startRequested.emit()
        deadline = time.monotonic() + (timeout_s if timeout_s is not None else self.start_timeout_s + 10)
        while True:
            if on_own_thread:
                QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 100)
            state, started = self._state, self._starts > starts or on_own_thread
            if state == "ready":
                return self.client()
            if state == "error" and started:
                raise BackendError(self._detail)
            if is_canceled():
                raise BackendError(tr("Canceled while waiting for the backend to start."))
            if time.monotonic() > deadline:
                raise BackendError(tr("The backend did not start within {s} s.").format(s=int(self.start_timeout_s)))
            if not on_own_thread:
                time.sleep(0.05)

    def stop(self, wait_ms: int = 0) -> None:
        """Stop the backend: SIGTERM, then kill after ``STOP_TIMEOUT_MS``; ``wait_ms`` > 0 waits that long here."""
        self._restart_timer.stop()
        self._start_timer.stop()
        self._abort_reply()
        process = self._process
        if process is not None and process.state() != QProcess.ProcessState.NotRunning:
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
        self._url = self._token = self._device = ""  # nosec B105 - reset on stop
        self._set_state("stopped", tr("The backend is stopped."))

    def restart(self) -> None:
        """Stop, then start again once the old process has exited."""
        running = self._process is not None and self._process.state() != QProcess.ProcessState.NotRunning
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
        for key, value in backend_environment(self._token, served_api_key=settings.served_api_key).items():
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
        log(f"starting backend: {settings.python_path} {' '.join(args)}")
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
                    log(line.strip())
                continue
            if self._state == "starting" and not self._url:
                host = info.get("host") or "127.0.0.1"
                host = "127.0.0.1" if host in ("0.0.0.0", "") else host  # nosec B104 - maps a wildcard bind to loopback
                self._url = f"http://{host}:{info['port']}"
                self._token = info.get("token") or self._token
                self._check_health()

    def _on_stderr(self, process: QProcess) -> None:
        text = bytes(process.readAllStandardError()).decode("utf-8", "replace")
        for line in text.splitlines():
            if line.strip():
                self._stderr_tail.append(line.rstrip())

    def _on_process_error(self, process: QProcess, error) -> None:
        if process is not self._process or error != QProcess.ProcessError.FailedToStart:
            return
        self._start_timer.stop()
        self._process = None
        self._set_state(
            "error",
            tr("The backend could not be started: {error}.").format(error=process.errorString())
            + " "
            + fix_interpreter(),
        )

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
        how = describe_exit(code, status != QProcess.ExitStatus.NormalExit)
        if was == "ready":
            reason = tr("The backend stopped unexpectedly: {how}.").format(how=how)
        else:
            reason = tr("The backend stopped while starting: {how}.").format(how=how)
        now = time.monotonic()
        self._restart_times = [t for t in self._restart_times if now - t < RESTART_WINDOW_S]
        restarts = was == "ready" and len(self._restart_times) < MAX_RESTARTS
        if was == "ready":
            self.crashed.emit(reason, self.stderr_tail, restarts)
        if restarts:
            self._restart_times.append(now)
            attempt = len(self._restart_times)
            delay = 2 ** (attempt - 1)
            self._set_state(
                "starting",
                reason
                + " "
                + tr("Restarting in {s} s (attempt {n} of {max})…").format(s=delay, n=attempt, max=MAX_RESTARTS),
            )
            log(reason + "\n" + self.stderr_tail, Qgis.MessageLevel.Warning)
            self._restart_timer.start(delay * 1000)
            return
        self._set_state("error", self._error_text(reason))

    def _error_text(self, reason: str) -> str:
        tail = self.stderr_tail.strip()
        hint = hint_for(tail)
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
        if self._process is not None and self._process.state() != QProcess.ProcessState.NotRunning:
            self._process.kill()

    # --- health ------------------------------------------------------------------------------------
    def _check_health(self, attempt: int = 1) -> None:
        bypass_proxy_for(self._url)
        request = QNetworkRequest(QUrl(self._url + "/health"))
        request.setRawHeader(b"Authorization", f"Bearer {self._token}".encode())
        request.setAttribute(
            QNetworkRequest.Attribute.CacheLoadControlAttribute, QNetworkRequest.CacheLoadControl.AlwaysNetwork
        )
        request.setAttribute(QNetworkRequest.Attribute.CacheSaveControlAttribute, False)
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
        status = reply.attribute(QNetworkRequest.Attribute.HttpStatusCodeAttribute)
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
            self._fail_health(
                tr("The backend at {url} is not healthy: {error}").format(url=self._url, error=_reply_error(reply, raw))
            )

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
