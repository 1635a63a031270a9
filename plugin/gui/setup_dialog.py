"""The "Set up the backend…" dialog: choose a Python and a torch build, run the installer task, see its log."""

from __future__ import annotations

from qgis.core import QgsApplication
from qgis.gui import QgsFileWidget
from qgis.PyQt.QtCore import QUrl, pyqtSignal
from qgis.PyQt.QtGui import QDesktopServices
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

from ..core import setup_plan
from ..core.envs import data_dir
from ..core.proxy import qgis_proxy
from ..core.settings import Settings
from ..core.setup_task import BackendSetupTask
from .i18n import tr
from .styles import ERROR_STYLE, OK_STYLE

LOG_LINES = 400


class SetupDialog(QDialog):
    """Runs :class:`BackendSetupTask`; on success the settings point at the new environment (``installed``)."""

    installed = pyqtSignal(str)  # the new backend interpreter

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Think2Map: set up the backend"))
        self.task: BackendSetupTask | None = None
        layout = QVBoxLayout(self)
        intro = QLabel(
            tr(
                "Think2Map runs its models in a Python environment of its own, apart from QGIS. This builds it in "
                "{folder} (about 7 GB, several minutes) and checks it. The model weights are downloaded later, "
                "when you ask for them."
            ).format(folder=data_dir())
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.python_widget = QgsFileWidget()
        self.python_widget.setStorageMode(QgsFileWidget.StorageMode.GetFile)
        self.python_widget.lineEdit().setPlaceholderText(tr("found automatically (Python 3.10 or later)"))
        form.addRow(tr("Python"), self.python_widget)
        self.torch_combo = QComboBox()
        self.torch_combo.addItem(tr("Automatic (CUDA when an NVIDIA GPU is found, MPS on Apple Silicon)"), "auto")
        self.torch_combo.addItem(tr("CUDA"), "cuda")
        self.torch_combo.addItem(tr("CPU only"), "cpu")
        form.addRow(tr("PyTorch build"), self.torch_combo)
        layout.addLayout(form)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        layout.addWidget(self.progress)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)
        self.log_view = QPlainTextEdit()
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(LOG_LINES)
        layout.addWidget(self.log_view, 1)
        buttons = QHBoxLayout()
        self.start_button = QPushButton(tr("Set up"))
        self.cancel_button = QPushButton(tr("Cancel"))
        self.cancel_button.setEnabled(False)
        self.log_button = QPushButton(tr("Open log"))
        self.close_button = QPushButton(tr("Close"))
        for b in (self.start_button, self.cancel_button, self.log_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        layout.addLayout(buttons)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.log_button.clicked.connect(self.open_log)
        self.close_button.clicked.connect(self.reject)
        self.resize(640, 480)

    def start(self) -> BackendSetupTask:
        """Start the installer in QGIS's task manager."""
        self.log_view.clear()
        self.status_label.setStyleSheet("")
        self.status_label.setText(tr("Setting up…"))
        self.progress.setValue(0)
        task = BackendSetupTask(
            configured_python=self.python_widget.filePath().strip(),
            torch_choice=self.torch_combo.currentData() or "auto",
            proxy=qgis_proxy(),
        )
        task.line.connect(self.log_view.appendPlainText)
        task.progressChanged.connect(lambda p: self.progress.setValue(int(p)))
        task.done.connect(self._on_done)
        self.task = task
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        QgsApplication.taskManager().addTask(task)
        return task

    def cancel(self) -> None:
        if self.task is not None:
            self.status_label.setText(tr("Cancelling…"))
            self.task.cancel()

    def open_log(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(data_dir() / "setup.log")))

    def _on_done(self, ok: bool, text: str) -> None:
        task, self.task = self.task, None
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if not ok:
            self.status_label.setStyleSheet(ERROR_STYLE)
            self.status_label.setText(text)
            return
        settings = Settings.load()
        settings.python_path = task.python_path if task is not None else settings.python_path
        settings.backend_mode = "local"
        settings.save()
        self.progress.setValue(100)
        self.status_label.setStyleSheet(OK_STYLE)
        self.status_label.setText(tr("The backend is set up: {python}").format(python=settings.python_path))
        self.log_view.appendPlainText("\n" + text)
        self.installed.emit(settings.python_path)

    def reject(self) -> None:
        if self.task is not None:
            self.task.cancel()
        super().reject()


__all__ = ["SetupDialog", "setup_plan"]
