"""The models the backend knows, which are downloaded, and downloads asked for from the dock."""

from __future__ import annotations

from qgis.core import QgsApplication, QgsTask
from qgis.PyQt.QtCore import QObject, pyqtSignal

from ..core.client import BackendClient
from ..core.tasks import ModelsTask, PullTask
from .i18n import tr


class ModelCatalog(QObject):
    """``GET /models`` and ``POST /models/{name}/pull``, each in a background task; the dock's Models box shows it."""

    modelsChanged = pyqtSignal()  # noqa: N815
    pullProgress = pyqtSignal(str, int, str)  # noqa: N815 - model, percent (-1: not known), state
    message = pyqtSignal(str, str)  # level, text

    def __init__(self, manager, parent: QObject | None = None):
        super().__init__(parent)
        self.manager = manager
        self.client: BackendClient | None = None
        self.models: list[dict] = []
        self.default_models: dict = {}
        self._tasks: list[QgsTask] = []
        self._pulls: dict[str, PullTask] = {}

    def refresh(self, client: BackendClient | None = None) -> None:
        """Ask the backend which models it has (``client``: a new backend's)."""
        self.client = client or self.client
        if self.client is None:
            return
        task = ModelsTask(self.client)
        task.modelsArrived.connect(self._on_models)
        task.failed.connect(self._on_failed)
        self._add_task(task)

    def _on_models(self, answer: dict) -> None:
        self.models = list(answer.get("models") or [])
        self.default_models = dict(self.manager.health_info.get("default_models") or {})
        self.modelsChanged.emit()

    def _on_failed(self, error: str) -> None:
        self.message.emit("warning", tr("Could not list the models: {error}").format(error=error))

    def names(self, kind: str) -> list[str]:
        return [m["name"] for m in self.models if m.get("kind") == kind]

    def is_present(self, name: str) -> bool | None:
        """True or False for a model the backend knows, None for a path or unknown name."""
        for model in self.models:
            if model.get("name") == name:
                return bool(model.get("present"))
        return None

    def missing(self, prompter: str | None, segmenter: str | None) -> list[str]:
        """The chosen models (None: the backend's default) that are known and not downloaded."""
        chosen = [prompter or self.default_models.get("prompter"), segmenter or self.default_models.get("segmenter")]
        return [name for name in chosen if name and self.is_present(name) is False]

    def pull(self, names: list[str]) -> None:
        """Download ``names`` through the backend, one task each, reporting progress."""
        if self.client is None:
            return
        for name in names:
            task = PullTask(self.client, name)
            task.progressChanged.connect(self._on_pull_progress)
            task.pullFinished.connect(self._on_pull_finished)
            self._pulls[name] = task
            self._add_task(task)
            self.pullProgress.emit(name, -1, "running")

    def _on_pull_progress(self, percent: float) -> None:
        for name, task in self._pulls.items():
            if not task_over(task):
                self.pullProgress.emit(name, int(task.progress()), "running")

    def _on_pull_finished(self, state: str, message: str) -> None:
        for name, task in list(self._pulls.items()):
            if task.state == state and task.message == message:
                del self._pulls[name]
                self.pullProgress.emit(name, 100 if state == "done" else -1, state)
        self.message.emit("info" if state == "done" else "error", message)
        self.refresh()

    def _add_task(self, task: QgsTask) -> None:
        self._tasks = [t for t in self._tasks if not task_over(t)] + [task]
        QgsApplication.taskManager().addTask(task)

    def forget_backend(self) -> None:
        self.client = None

    def shutdown(self) -> None:
        """Cancel the listing and downloads still running (plugin unload)."""
        for task in self._tasks:
            if not task_over(task):
                task.cancel()


def task_over(task: QgsTask) -> bool:
    """Whether ``task`` has ended (or its C++ object is gone)."""
    try:
        return task.status() in (QgsTask.TaskStatus.Complete, QgsTask.TaskStatus.Terminated)
    except RuntimeError:
        return True
