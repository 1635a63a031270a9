"""The settings dialog: edits :class:`Settings` (backend interpreter or remote server, models, device, storage)."""

from __future__ import annotations

import shlex
from dataclasses import replace

from qgis.gui import QgsFileWidget, QgsPasswordLineEdit
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ..core.interpreter_check import DoctorRun, InterpreterCheck
from ..core.launch import interpreter_problem
from ..core.settings import Settings
from .i18n import tr
from .styles import ERROR_STYLE

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
        self.python_widget.setStorageMode(QgsFileWidget.StorageMode.GetFile)
        self.python_widget.setDialogTitle(tr("Python interpreter of the backend environment"))
        self.python_widget.setToolTip(
            tr(
                "The python of the environment where the backend and PyTorch are "
                "installed (make setup builds .venv in the plugin folder)"
            )
        )
        python_row = QHBoxLayout()
        python_row.addWidget(self.python_widget, 1)
        self.doctor_button = QPushButton(tr("Check…"))
        self.doctor_button.setToolTip(tr("Run the backend's doctor: packages, GPU, models, disk"))
        python_row.addWidget(self.doctor_button)
        backend.addRow(tr("Backend Python"), python_row)
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
        self.models_widget.setStorageMode(QgsFileWidget.StorageMode.GetDirectory)
        self.models_widget.setDialogTitle(tr("Models folder"))
        models.addRow(tr("Models folder"), self.models_widget)
        self.prompter_edit = QLineEdit()
        self.segmenter_edit = QLineEdit()
        models.addRow(tr("Default prompter"), self.prompter_edit)
        models.addRow(tr("Default segmenter"), self.segmenter_edit)
        hint = tr("A known name (think2seg-rs-3b, sam2.1-s, …) or a local path.")
        for edit in (self.prompter_edit, self.segmenter_edit):
            edit.setToolTip(hint)  # a wrapped label under them is cut short by the form layout
        self.served_url_edit = QLineEdit()
        self.served_url_edit.setPlaceholderText(tr("optional: http://gpu-server:8000/v1 (vLLM, SGLang, Ollama…)"))
        self.served_url_edit.setToolTip(
            tr(
                "An OpenAI-compatible server that runs the prompter instead of the local backend (which still runs "
                "SAM). Leave empty to run the prompter in the backend."
            )
        )
        self.served_model_edit = QLineEdit()
        self.served_model_edit.setPlaceholderText(tr("the server's first model"))
        self.served_key_edit = QgsPasswordLineEdit()
        models.addRow(tr("Served prompter URL"), self.served_url_edit)
        models.addRow(tr("Served model"), self.served_model_edit)
        models.addRow(tr("API key"), self.served_key_edit)
        self.constrain_check = QCheckBox(tr("Constrain answers so that every one parses"))
        self.constrain_check.setToolTip(
            tr(
                "The local backend constrains the prompter's decoding to the Think2Seg-RS answer format: no tile "
                "is lost to an answer that cannot be read."
            )
        )
        models.addRow(self.constrain_check)
        layout.addWidget(models_box)

        output_box = QGroupBox(tr("Results"))
        output = QFormLayout(output_box)
        self.storage_combo = QComboBox()
        self.storage_combo.addItem(tr("GeoPackage (project folder, or a temporary folder)"), "gpkg")
        self.storage_combo.addItem(tr("Memory layer (lost when QGIS closes)"), "memory")
        output.addRow(tr("Store results as"), self.storage_combo)
        layout.addWidget(output_box)

        self.error_label = QLabel()
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setWordWrap(True)
        layout.addWidget(self.error_label)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.local_radio.toggled.connect(self._update_enabled)
        self.check = InterpreterCheck(self)
        self.doctor = DoctorRun(self)
        self.doctor.done.connect(self._on_doctor)
        self.doctor_button.clicked.connect(self.run_doctor)
        self.check.done.connect(self._on_checked)
        self._checked_python = ""
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
        self.constrain_check.setChecked(settings.constrain_answers)
        self.served_url_edit.setText(settings.served_url)
        self.served_model_edit.setText(settings.served_model)
        self.served_key_edit.setText(settings.served_api_key)
        self._base = settings
        self._update_enabled()

    def settings(self) -> Settings:
        """The settings as edited. Raises ValueError for arguments that do not parse."""
        try:
            extra = shlex.split(self.extra_edit.text())
        except ValueError as exc:
            raise ValueError(tr("The extra arguments do not parse: {error}").format(error=exc)) from None
        return replace(
            self._base,
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
            constrain_answers=self.constrain_check.isChecked(),
            served_url=self.served_url_edit.text().strip(),
            served_model=self.served_model_edit.text().strip(),
            served_api_key=self.served_key_edit.text().strip(),
        )

    def run_doctor(self) -> None:
        """The doctor's report for the interpreter in the form, in a message box when it is done."""
        self.doctor_button.setEnabled(False)
        self.doctor_button.setText(tr("Checking…"))
        self.doctor.start(
            self.python_widget.filePath().strip(),
            self.device_combo.currentText().strip(),
            self.models_widget.filePath().strip(),
        )

    def _on_doctor(self, code: int, report: str) -> None:
        self.doctor_button.setEnabled(True)
        self.doctor_button.setText(tr("Check…"))
        self.doctor_report = report
        if code == 0:
            summary = tr("Everything the backend needs is in place.")
        elif code == 1:
            summary = tr("Some required parts are missing or broken: see each FAIL line and its fix.")
        else:
            summary = tr("The doctor could not run: {error}").format(error=report)
        summary_line = report.splitlines()[-2] if code in (0, 1) and len(report.splitlines()) >= 2 else ""
        icon = QMessageBox.Icon.Information if code == 0 else QMessageBox.Icon.Warning
        text = summary + ("\n" + summary_line if summary_line else "")
        box = QMessageBox(icon, tr("Think2Map doctor"), text, parent=self)
        box.setDetailedText(report)
        self.doctor_box = box
        box.open()

    def problem(self) -> str | None:
        """What must be fixed before OK, or None."""
        try:
            settings = self.settings()
        except ValueError as exc:
            return str(exc)
        if settings.served_url and not settings.served_url.startswith(("http://", "https://")):
            return tr("The served prompter URL must start with http:// or https://.")
        if settings.is_remote and not settings.remote_url.startswith(("http://", "https://")):
            return tr("The server URL must start with http:// or https://.")
        if not settings.is_remote and not settings.python_path:
            return tr("Choose the Python interpreter of the backend environment (run 'make setup' to build one).")
        if not settings.is_remote:
            return interpreter_problem(settings.python_path)  # what needs no run; running it comes after
        return None

    def accept(self) -> None:
        """OK: the settings are checked first; a local interpreter by running it, while QGIS stays responsive."""
        problem = self.problem()
        if problem:
            self.error_label.setText(problem)
            return
        settings = self.settings()
        if settings.is_remote or settings.python_path == self._checked_python:
            super().accept()
            return
        self.error_label.setStyleSheet("")
        self.error_label.setText(tr("Checking {python}…").format(python=settings.python_path))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
        self.check.start(settings.python_path)

    def _on_checked(self, problem: str) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(True)
        if problem:
            self.error_label.setStyleSheet(ERROR_STYLE)
            self.error_label.setText(problem)
            return
        self._checked_python = self.check.python
        self.error_label.setText("")
        super().accept()

    def reject(self) -> None:
        self.check.abort()
        super().reject()

    def _update_enabled(self) -> None:
        local = self.local_radio.isChecked()
        for widget in (self.python_widget, self.device_combo, self.extra_edit):
            widget.setEnabled(local)
        for widget in (self.url_edit, self.token_edit):
            widget.setEnabled(not local)
