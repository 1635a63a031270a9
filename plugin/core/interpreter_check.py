"""Whether a Python interpreter can run the backend, found out in a child process without blocking QGIS."""

from __future__ import annotations

from qgis.PyQt.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, pyqtSignal

from .i18n import tr
from .launch import backend_environment, fix_interpreter, hint_for, interpreter_problem
from .settings import PLUGIN_ROOT

CHECK_TIMEOUT_MS = 60_000
# What `python -m backend serve` needs before it can answer: its own package, the server and PyTorch.
CHECK_CODE = "import backend.service.server, torch, rasterio; print('think2map-backend-ok')"


def backend_process(parent: QObject) -> QProcess:
    """A QProcess for the backend interpreter: its environment (no QGIS Python paths), the plugin folder."""
    process = QProcess(parent)
    env = QProcessEnvironment()
    for key, value in backend_environment("check").items():
        env.insert(key, value)
    process.setProcessEnvironment(env)
    process.setWorkingDirectory(str(PLUGIN_ROOT))
    return process


class InterpreterCheck(QObject):
    """Run ``python -c CHECK_CODE``; ``done(problem)`` says what is wrong ('' when the interpreter will do)."""

    done = pyqtSignal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._process: QProcess | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_timeout)
        self.python = ""

    @property
    def running(self) -> bool:
        return self._process is not None

    def start(self, python: str) -> None:
        """Check ``python``; a problem found without running it is reported at once (still through ``done``)."""
        self.abort()
        self.python = python
        problem = interpreter_problem(python)
        if problem:
            QTimer.singleShot(0, lambda: self.done.emit(problem))
            return
        process = backend_process(self)
        process.finished.connect(lambda code, status, p=process: self._on_finished(p, code, status))
        process.errorOccurred.connect(lambda error, p=process: self._on_error(p, error))
        self._process = process
        self._timer.start(CHECK_TIMEOUT_MS)
        process.start(python, ["-c", CHECK_CODE])

    def abort(self) -> None:
        process, self._process = self._process, None
        self._timer.stop()
        if process is not None:
            process.kill()
            process.waitForFinished(1000)
            process.deleteLater()

    def _on_finished(self, process: QProcess, code: int, status) -> None:
        if process is not self._process:
            return
        self._process = None
        self._timer.stop()
        out = bytes(process.readAllStandardOutput()).decode("utf-8", "replace")
        err = bytes(process.readAllStandardError()).decode("utf-8", "replace").strip()
        process.deleteLater()
        if code == 0 and status == QProcess.ExitStatus.NormalExit and "think2map-backend-ok" in out:
            self.done.emit("")
            return
        last = err.splitlines()[-1] if err else tr("no message")
        hint = hint_for(err) or fix_interpreter()
        self.done.emit(
            tr("{python} cannot run the backend ({error}). {hint}").format(python=self.python, error=last, hint=hint)
        )

    def _on_error(self, process: QProcess, error) -> None:
        if process is not self._process or error != QProcess.ProcessError.FailedToStart:
            return
        self._process = None
        self._timer.stop()
        self.done.emit(
            tr("{python} could not be started: {error}. {hint}").format(
                python=self.python, error=process.errorString(), hint=fix_interpreter()
            )
        )

    def _on_timeout(self) -> None:
        if self._process is None:
            return
        self.abort()
        self.done.emit(
            tr("{python} did not answer within {s} s: is it the backend environment's Python?").format(
                python=self.python, s=CHECK_TIMEOUT_MS // 1000
            )
        )


class DoctorRun(QObject):
    """Run ``python -m backend doctor`` without blocking QGIS; ``done(exit_code, report)`` (-1: did not run)."""

    done = pyqtSignal(int, str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._process: QProcess | None = None

    def start(self, python: str, device: str = "auto", models_dir: str = "") -> None:
        problem = interpreter_problem(python)
        if problem:
            QTimer.singleShot(0, lambda: self.done.emit(-1, problem))
            return
        process = backend_process(self)
        process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        process.finished.connect(lambda code, status, p=process: self._on_finished(p, code))
        process.errorOccurred.connect(
            lambda error, p=process: (
                self.done.emit(-1, p.errorString()) if error == QProcess.ProcessError.FailedToStart else None
            )
        )
        self._process = process
        args = ["-m", "backend", "doctor", "--device", device or "auto"] + (
            ["--models-dir", models_dir] if models_dir else []
        )
        process.start(python, args)

    def _on_finished(self, process: QProcess, code: int) -> None:
        self._process = None
        out = bytes(process.readAllStandardOutput()).decode("utf-8", "replace").strip()
        process.deleteLater()
        self.done.emit(code, out)
