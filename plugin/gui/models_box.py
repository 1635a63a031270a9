"""The dock's "Models" box: which prompter and segmenter to use, which are missing, and their download."""

from __future__ import annotations

from qgis.gui import QgsCollapsibleGroupBox
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from .i18n import tr
from .model_catalog import ModelCatalog

DEFAULT_DATA = "__default__"


class ModelsBox(QgsCollapsibleGroupBox):
    """Prompter and segmenter combos (the backend's default first), and a download row for missing ones."""

    def __init__(self, catalog: ModelCatalog, parent: QWidget | None = None):
        super().__init__(tr("Models"), parent)
        self.catalog = catalog
        form = QFormLayout(self)
        self.prompter_combo = QComboBox()
        self.segmenter_combo = QComboBox()
        form.addRow(tr("Prompter"), self.prompter_combo)
        form.addRow(tr("Segmenter"), self.segmenter_combo)
        self.missing_label = QLabel()
        self.missing_label.setWordWrap(True)
        self.download_button = QPushButton(tr("Download"))
        self.pull_bar = QProgressBar()
        self.pull_bar.setVisible(False)
        self.missing_row = QWidget()
        missing_box = QVBoxLayout(self.missing_row)
        missing_box.setContentsMargins(0, 0, 0, 0)
        missing_row = QHBoxLayout()
        missing_row.addWidget(self.missing_label, 1)
        missing_row.addWidget(self.download_button)
        missing_box.addLayout(missing_row)
        missing_box.addWidget(self.pull_bar)
        form.addRow(self.missing_row)
        for combo in (self.prompter_combo, self.segmenter_combo):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)
            combo.currentIndexChanged.connect(self.update_missing)
        self.download_button.clicked.connect(self._download)
        self.catalog.modelsChanged.connect(self.update_models)
        self.catalog.pullProgress.connect(self._on_pull_progress)
        self.update_models()

    def prompter(self) -> str | None:
        """The chosen prompter, or None for the backend's default."""
        return _chosen(self.prompter_combo)

    def segmenter(self) -> str | None:
        """The chosen segmenter, or None for the backend's default."""
        return _chosen(self.segmenter_combo)

    def update_models(self) -> None:
        c = self.catalog
        for combo, kind in ((self.prompter_combo, "prompter"), (self.segmenter_combo, "segmenter")):
            chosen = _chosen(combo)
            combo.blockSignals(True)
            combo.clear()
            default = c.default_models.get(kind)
            combo.addItem(
                tr("Backend default ({name})").format(name=_short(default)) if default else tr("Backend default"),
                DEFAULT_DATA,
            )
            for name in c.names(kind):
                mark = "✓" if c.is_present(name) else tr("(missing)")
                combo.addItem(f"{name} {mark}", name)
            if chosen:
                combo.setCurrentIndex(max(0, combo.findData(chosen)))
            combo.blockSignals(False)
        self.update_missing()

    def update_missing(self) -> None:
        missing = self.catalog.missing(self.prompter(), self.segmenter())
        if missing:
            self.missing_label.setText(tr("Not downloaded yet: {names}.").format(names=", ".join(missing)))
        else:
            self.missing_label.setText("")
        self.missing_row.setVisible(bool(missing) or self.pull_bar.isVisible())

    def _download(self) -> None:
        self.catalog.pull(self.catalog.missing(self.prompter(), self.segmenter()))

    def _on_pull_progress(self, name: str, percent: int, state: str) -> None:
        self.pull_bar.setVisible(state == "running")
        self.missing_row.setVisible(True)
        self.download_button.setEnabled(state != "running")
        if percent < 0:
            self.pull_bar.setRange(0, 0)
        else:
            self.pull_bar.setRange(0, 100)
            self.pull_bar.setValue(percent)
        self.pull_bar.setFormat(tr("Downloading {name}: %p%").format(name=name))


def _chosen(combo: QComboBox) -> str | None:
    data = combo.currentData()
    return None if data in (None, DEFAULT_DATA) else str(data)


def _short(name: str | None) -> str:
    text = str(name or "")
    return text if len(text) <= 32 else "…" + text[-31:]
