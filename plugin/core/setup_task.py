"""The backend installer as a ``QgsTask``: a venv in the per-user data folder, the pinned requirements installed
package by package with progress, Cancel and a log, then the doctor. Decisions live in :mod:`.setup_plan`."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess  # nosec B404 - runs the chosen Python, pip and the doctor with fixed arguments
import sys
import time
from collections import deque
from pathlib import Path

from qgis.core import QgsTask
from qgis.PyQt.QtCore import pyqtSignal

from . import setup_plan as plan
from .envs import data_dir
from .i18n import tr
from .log import log
from .settings import PLUGIN_ROOT

REQUIREMENTS = PLUGIN_ROOT / "backend" / "requirements.txt"
PROBE_TIMEOUT_S = 30
VENV_TIMEOUT_S = 600
DOCTOR_TIMEOUT_S = 300


class SetupError(Exception):
    """A reason the setup cannot go on, in words for the user."""


def child_environment() -> dict[str, str]:
    """The environment for the Python and pip the installer runs: none of QGIS's own Python paths."""
    env = dict(os.environ)
    for key in ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "VIRTUAL_ENV", "PYTHONEXECUTABLE"):
        env.pop(key, None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _no_window() -> int:
    return getattr(subprocess, "CREATE_NO_WINDOW", 0)


class BackendSetupTask(QgsTask):
    """Build the backend environment; ``python_path`` and ``doctor`` are set when it succeeds, ``error`` when not."""

    line = pyqtSignal(str)  # a line of the log, for the dialog
    done = pyqtSignal(bool, str)  # success, the doctor's report or the one-sentence reason

    def __init__(
        self,
        base: Path | None = None,
        configured_python: str = "",
        torch_choice: str = "auto",
        proxy: str | None = None,
        requirements: Path = REQUIREMENTS,
        qgis_prefix: str | None = None,
    ) -> None:
        super().__init__(tr("Think2Map: set up the backend"), QgsTask.Flag.CanCancel)
        self.base = base or data_dir()
        self.configured_python = configured_python
        self.torch_choice = torch_choice
        self.proxy = proxy
        self.requirements = requirements
        self.system = platform.system()
        # Where QGIS's own Python lives (a venv's base when QGIS runs from one, as in the tests).
        self.qgis_prefix = sys.base_prefix if qgis_prefix is None else qgis_prefix
        self.python_path = ""
        self.doctor = ""
        self.error = ""
        self.log_path = self.base / "setup.log"
        self._tail: deque[str] = deque(maxlen=40)
        self._env: Path | None = None

    # ----- the worker thread -----------------------------------------------------------------------------------
    def run(self) -> bool:
        try:
            self.base.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("a", encoding="utf-8") as self._log:
                self._say(f"--- setup started {time.strftime('%Y-%m-%d %H:%M:%S')}")
                self._setup()
            return True
        except SetupError as exc:
            self.error = str(exc)
        except OSError as exc:
            self.error = self._os_error(exc)
        except Exception as exc:  # noqa: BLE001 - the user gets one sentence, the log the rest
            self.error = tr("The backend setup failed: {error}").format(error=f"{type(exc).__name__}: {exc}")
        if self.isCanceled():
            self.error = tr("The backend setup was cancelled; nothing half-built is used. Press Set up to try again.")
        if self._env is not None and not (self._env / plan.READY_MARKER).exists():
            shutil.rmtree(self._env, ignore_errors=True)  # unmarked, it is never used; this only frees the disk
        return False

    def _setup(self) -> None:
        interpreter = self._find_python()
        self.setProgress(2)
        self._check_space()
        requirements = self.requirements.read_bytes()
        gpu = plan.detect_gpu(self.system, platform.machine(), self._nvidia_smi())
        index = plan.torch_index(self.system, gpu, self.torch_choice)
        env = self.base / "envs" / plan.env_name(interpreter.version, requirements, index)
        python = plan.env_python(env, self.system)
        self._say(f"Python: {interpreter.label}; GPU: {gpu}; torch index: {index or 'PyPI'}; environment: {env}")
        if (env / plan.READY_MARKER).is_file() and python.exists():
            self._say("this environment is already complete")
        else:
            if env.exists():
                self._say(f"removing the unfinished environment {env}")
                shutil.rmtree(env)
            self._env = env
            self._run([*interpreter.command, "-m", "venv", str(env)], VENV_TIMEOUT_S, tr("creating the environment"))
            self.setProgress(5)
            self._pip(python, index, plan.requirement_count(requirements.decode("utf-8", "replace")))
        self.setProgress(95)
        self.doctor = self._doctor(python)
        marker = {"python": str(python), "created": time.time(), "torch_index": index, "gpu": gpu}
        (env / plan.READY_MARKER).write_text(json.dumps(marker, indent=2), encoding="utf-8")
        self.python_path = str(python)
        self.setProgress(100)
        self._say("setup complete")

    def _find_python(self) -> plan.Interpreter:
        for command in plan.python_candidates(self.system, self.configured_python, self.qgis_prefix):
            try:
                out = subprocess.run(  # nosec B603 - a candidate interpreter, fixed arguments
                    [*command, "-c", plan.PROBE],
                    capture_output=True,
                    text=True,
                    timeout=PROBE_TIMEOUT_S,
                    env=child_environment(),
                    creationflags=_no_window(),
                )
            except (OSError, subprocess.SubprocessError):
                continue
            version = plan.parse_probe(out.stdout) if out.returncode == 0 else None
            self._say(f"candidate {' '.join(command)}: {version or 'not usable'}")
            if plan.usable(version):
                return plan.Interpreter(tuple(command), version)  # type: ignore[arg-type]
        fixes = {
            "windows": tr("install Python 3.11 or later from python.org (tick “Add python.exe to PATH”)"),
            "macos": tr("install Python 3.11 or later from python.org or with Homebrew (brew install python@3.11)"),
            "linux": tr("install Python 3.11 or later with its venv module (sudo apt install python3 python3-venv)"),
        }
        raise SetupError(
            tr(
                "No Python 3.10 or later with the venv module was found: {fix}, or set its path in the setup dialog."
            ).format(fix=fixes[plan.platform_family(self.system)])
        )

    def _check_space(self) -> None:
        free_gb = shutil.disk_usage(self.base).free / 2**30
        if free_gb < plan.MIN_FREE_GB:
            raise SetupError(
                tr("The disk holding {folder} has {free:.1f} GB free; the backend needs about {need:.0f} GB.").format(
                    folder=self.base, free=free_gb, need=plan.MIN_FREE_GB
                )
                + " "
                + tr("Free some space and press Set up again.")
            )

    def _nvidia_smi(self) -> str | None:
        exe = shutil.which("nvidia-smi")
        if not exe:
            return None
        try:
            out = subprocess.run(  # nosec B603 - nvidia-smi from PATH, fixed arguments
                [exe, "-L"], capture_output=True, text=True, timeout=20, creationflags=_no_window()
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout if out.returncode == 0 else None

    def _pip(self, python: Path, index: str | None, total: int) -> None:
        seen: set[str] = set()

        def on_line(text: str) -> None:
            name = plan.collected_package(text)
            if name and name.lower() not in seen:
                seen.add(name.lower())
                self.setProgress(5 + 85 * min(1.0, len(seen) / max(1, total)))

        command = plan.pip_install_command(python, self.requirements, index, self.proxy)
        self._run(command, None, tr("installing the backend's packages"), on_line)

    def _doctor(self, python: Path) -> str:
        env = child_environment()
        env["PYTHONPATH"] = str(PLUGIN_ROOT)
        out = subprocess.run(  # nosec B603 - the new environment's Python, fixed arguments
            [str(python), "-m", "backend", "doctor", "--offline"],
            capture_output=True,
            text=True,
            timeout=DOCTOR_TIMEOUT_S,
            env=env,
            cwd=str(PLUGIN_ROOT),
            creationflags=_no_window(),
        )
        for text in out.stdout.splitlines():
            self._say(text)
        if out.returncode not in (0, 1) or "everything required" not in out.stdout and "broken" not in out.stdout:
            raise SetupError(
                tr("The backend was installed but does not run: {error}").format(
                    error=(out.stderr.strip().splitlines() or ["?"])[-1][:300]
                )
            )
        return out.stdout.strip()

    def _run(self, command: list[str], timeout_s: float | None, what: str, on_line=None) -> None:
        """Run ``command``, logging its output line by line; Cancel stops it; a failure says why in one sentence."""
        self._say("$ " + " ".join(command))
        proc = subprocess.Popen(  # nosec B603 - fixed arguments
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            env=child_environment(),
            creationflags=_no_window(),
        )
        started = time.monotonic()
        assert proc.stdout is not None  # nosec B101 - stdout=PIPE above
        try:
            for text in proc.stdout:
                self._say(text.rstrip())
                if on_line is not None:
                    on_line(text)
                if self.isCanceled():
                    break
                if timeout_s is not None and time.monotonic() - started > timeout_s:
                    break
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if self.isCanceled():
            raise SetupError("cancelled")
        if proc.returncode != 0:
            raise SetupError(self._failure(what))

    def _failure(self, what: str) -> str:
        kind = plan.pip_failure(list(self._tail))
        if kind == "disk_full":
            return tr("The disk is full: {what} stopped. Free some space and press Set up again.").format(what=what)
        if kind == "network":
            return (
                tr(
                    "The package index could not be reached while {what}: check the network connection, or the proxy"
                ).format(what=what)
                + " "
                + tr("in QGIS's Settings ▸ Options ▸ Network, then press Set up again.")
            )
        return tr("The setup failed while {what}: {error} (see the log).").format(
            what=what, error=plan.last_error_line(list(self._tail))
        )

    def _os_error(self, exc: OSError) -> str:
        if exc.errno == 28:
            return tr("The disk is full. Free some space and press Set up again.")
        return tr("The backend setup failed: {error}").format(error=exc)

    def _say(self, text: str) -> None:
        self._tail.append(text)
        log_file = getattr(self, "_log", None)
        if log_file is not None and not log_file.closed:
            log_file.write(text + "\n")
            log_file.flush()
        self.line.emit(text)

    # ----- the main thread -------------------------------------------------------------------------------------
    def finished(self, result: bool) -> None:
        if result:
            log(f"backend set up: {self.python_path}")
        self.done.emit(result, self.doctor if result else self.error)
