"""How the plugin launches a local backend: the command line, the environment, checks and start-up messages.

Shared by the UI-thread manager (:mod:`.process`) and the blocking starter for worker threads (:mod:`.blocking`).
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from .i18n import tr
from .settings import PLUGIN_ROOT, Settings

STDERR_TAIL_LINES = 30
START_TIMEOUT_S = 180.0


def fix_interpreter() -> str:
    """The fix for a missing or broken backend interpreter."""
    return tr(
        "Press “Set up the backend…” in the Think2Map panel, or set the backend Python in Think2Map settings "
        "(from a checkout: `make setup`)."
    )


def backend_arguments(settings: Settings) -> list[str]:
    """Arguments after the interpreter: ``-m backend serve`` on a free loopback port, with the chosen models."""
    args = ["-m", "backend", "serve", "--host", "127.0.0.1", "--port", "0"]
    for flag, value in (
        ("--prompter", settings.prompter_spec),
        ("--segmenter", settings.segmenter),
        ("--device", settings.device),
        ("--models-dir", settings.models_dir),
        ("--embedding-cache-dir", settings.embedding_cache_dir),
    ):
        if value:
            args += [flag, value]
    if not settings.constrain_answers:
        args.append("--no-constrain-answers")
    return args + list(settings.extra_args)


def backend_environment(token: str, base: dict[str, str] | None = None, served_api_key: str = "") -> dict[str, str]:
    """The child's environment: the token (and a served prompter's key), unbuffered output, and no Python paths
    leaking in from QGIS."""
    env = dict(os.environ if base is None else base)
    for key in ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "VIRTUAL_ENV"):
        env.pop(key, None)
    env.update({"THINK2MAP_TOKEN": token, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(PLUGIN_ROOT)})
    if served_api_key:
        env["THINK2MAP_OPENAI_API_KEY"] = served_api_key
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


def describe_exit(code: int, crashed: bool) -> str:
    """How a backend process ended, for the user: its exit code, or the signal that killed it."""
    if not crashed:
        return tr("it exited with code {code}").format(code=code)
    try:
        name = signal.Signals(code).name
    except ValueError:
        name = "?"
    text = tr("it was killed by signal {number} ({name})").format(number=code, name=name)
    if code == signal.SIGKILL:
        text += " " + tr("(the system may have run out of memory)")
    return text


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


def hint_for(stderr_tail: str) -> str:
    """A fix for the commonest start-up failures seen on stderr."""
    if "No module named" in stderr_tail:
        return tr("The backend's Python lacks packages: run `make setup`, or choose the venv's Python in settings.")
    if "unrecognized arguments" in stderr_tail or "invalid choice" in stderr_tail:
        return tr("The backend does not accept these options: check the extra arguments in Think2Map settings.")
    if "Address already in use" in stderr_tail:
        return tr("The port is taken: restart the backend.")
    return ""
