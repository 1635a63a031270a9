"""The settings dialog: edits :class:`Settings` (backend interpreter or remote server, models, device, storage)."""

from __future__ import annotations

import shlex

from qgis.gui import QgsFileWidget, QgsPasswordLineEdit
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ..core.settings import Settings
from .i18n import tr

DEVICES = ("auto", "cpu", "cuda", "cuda:0", "cuda:1")


class SettingsDialog(QDialog):
    """Shows ``settings``; :meth:`settings` returns the edited copy (the caller saves it)."""

    def __init__(self, settings: Settings, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(tr("Think2Map settings"))
        self.setMinimumWidth(560)
        layout = QVBoxLayout(self)

        self.local_radio = QRadioButton(tr("Start a local backend"))
        self.remote_radio = QRadioButton(tr("Use a backend server"))
        local_box = QGroupBox(tr("Backend"))
        backend = QFormLayout(local_box)
        backend.addRow(self.local_radio)
        self.python_widget = QgsFileWidget()
        self.python_widget.setStorageMode(QgsFileWidget.GetFile)
        self.python_widget.setDialogTitle(tr("Python interpreter of the backend environment"))
        self.python_widget.setToolTip(
            tr(
                "The python of the environment where the backend and PyTorch are "
                "installed (make setup builds .venv in the plugin folder)"
            )
        )
        backend.addRow(tr("Backend Python"), self.python_widget)
        self.device_combo = QComboBox()
        self.device_combo.setEditable(True)
        self.device_combo.addItems(DEVICES)
        backend.addRow(tr("Device"), self.device_combo)
        self.extra_edit = QLineEdit()
        self.extra_edit.setPlaceholderText(tr("more arguments for 'python -m backend serve'"))
        backend.addRow(tr("Extra arguments"), self.extra_edit)
        backend.addRow(self.remote_radio)
        self.url_edit = QLineEdit()
        self.url_edit.setPlaceholderText("http://gpu-server:8765")
        self.token_edit = QgsPasswordLineEdit()
        backend.addRow(tr("Server URL"), self.url_edit)
        backend.addRow(tr("Token"), self.token_edit)
        layout.addWidget(local_box)

        models_box = QGroupBox(tr("Models"))
        models = QFormLayout(models_box)
        self.models_widget = QgsFileWidget()
        self.models_widget.setStorageMode(QgsFileWidget.GetDirectory)
        self.models_widget.setDialogTitle(tr("Models folder"))
        models.addRow(tr("Models folder"), self.models_widget)
        self.prompter_edit = QLineEdit()
        self.segmenter_edit = QLineEdit()
        models.addRow(tr("Default prompter"), self.prompter_edit)
        models.addRow(tr("Default segmenter"), self.segmenter_edit)
        note = QLabel(tr("A known name (think2seg-rs-3b, sam2.1-s, …) or a local folder or checkpoint."))
        note.setWordWrap(True)
        models.addRow(note)
        layout.addWidget(models_box)

        output_box = QGroupBox(tr("Results"))
        output = QFormLayout(output_box)
        self.storage_combo = QComboBox()
        self.storage_combo.addItem(tr("GeoPackage (project folder, or a temporary folder)"), "gpkg")
        self.storage_combo.addItem(tr("Memory layer (lost when QGIS closes)"), "memory")
        output.addRow(tr("Store results as"), self.storage_combo)
        layout.addWidget(output_box)

        self.error_label = QLabel()
        self.error_label.setStyleSheet("color: #b00020;")
        self.error_label.setWordWrap(True)
        layout.addWidget(self.error_label)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.local_radio.toggled.connect(self._update_enabled)
        self.set_settings(settings)

    def set_settings(self, settings: Settings) -> None:
        self.local_radio.setChecked(not settings.is_remote)
        self.remote_radio.setChecked(settings.is_remote)
        self.python_widget.setFilePath(settings.python_path)
        self.device_combo.setCurrentText(settings.device)
        self.extra_edit.setText(shlex.join(settings.extra_args))
        self.url_edit.setText(settings.remote_url)
        self.token_edit.setText(settings.remote_token)
        self.models_widget.setFilePath(settings.models_dir)
        self.prompter_edit.setText(settings.prompter)
        self.segmenter_edit.setText(settings.segmenter)
        self.storage_combo.setCurrentIndex(max(0, self.storage_combo.findData(settings.storage)))
        self._update_enabled()

    def settings(self) -> Settings:
        """The settings as edited. Raises ValueError for arguments that do not parse."""
        try:
            extra = shlex.split(self.extra_edit.text())
        except ValueError as exc:
            raise ValueError(tr("The extra arguments do not parse: {error}").format(error=exc)) from None
        return Settings(
            python_path=self.python_widget.filePath().strip(),
            backend_mode="local" if self.local_radio.isChecked() else "remote",
            remote_url=self.url_edit.text().strip(),
            remote_token=self.token_edit.text().strip(),
            models_dir=self.models_widget.filePath().strip(),
            prompter=self.prompter_edit.text().strip(),
            segmenter=self.segmenter_edit.text().strip(),
            device=self.device_combo.currentText().strip() or "auto",
            storage=self.storage_combo.currentData(),
            extra_args=extra,
        )

    def problem(self) -> str | None:
        """What must be fixed before OK, or None."""
        try:
            settings = self.settings()
        except ValueError as exc:
            return str(exc)
        if settings.is_remote and not settings.remote_url.startswith(("http://", "https://")):
            return tr("The server URL must start with http:// or https://.")
        if not settings.is_remote and not settings.python_path:
            return tr("Choose the Python interpreter of the backend environment (run 'make setup' to build one).")
        return None

    def accept(self) -> None:
        problem = self.problem()
        if problem:
            self.error_label.setText(problem)
            return
        super().accept()

    def _update_enabled(self) -> None:
        local = self.local_radio.isChecked()
        for widget in (self.python_widget, self.device_combo, self.extra_edit):
            widget.setEnabled(local)
        for widget in (self.url_edit, self.token_edit):
            widget.setEnabled(not local)
