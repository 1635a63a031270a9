"""A dialog showing, tile by tile, what the prompter wrote (its reasoning and answer) for one result."""

from __future__ import annotations

import json

from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QFontDatabase
from qgis.PyQt.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ..core.history import ResultRecord
from .i18n import tr


def tile_title(tile: dict) -> str:
    """One line for the tile list: index, status, instances and time."""
    instances = tile.get("instances")
    count = len(instances) if isinstance(instances, list) else (instances or 0)
    seconds = tile.get("seconds")
    timing = f", {seconds:.1f} s" if isinstance(seconds, (int, float)) else ""
    return tr("Tile {index}: {status}, {n} instances{timing}").format(
        index=tile.get("index", "?"), status=tile.get("status", "?"), n=count, timing=timing
    )


def cell_title(cell: dict) -> str:
    """One line for an overview cell: its index, status and boxes."""
    return tr("Overview cell {index}: {status}, {n} boxes").format(
        index=cell.get("index", "?"), status=cell.get("status", "?"), n=len(cell.get("boxes") or [])
    )


def tile_text(tile: dict) -> str:
    """The raw text the prompter wrote, then any warnings, error and the parsed instances."""
    parts = [tile.get("raw_text") or tr("(the prompter wrote nothing for this tile)")]
    for warning in tile.get("warnings") or []:
        parts.append(tr("Warning: {text}").format(text=warning))
    if tile.get("error"):
        parts.append(tr("Error: {text}").format(text=tile["error"]))
    if isinstance(tile.get("instances"), list) and tile["instances"]:
        parts.append(tr("Instances:") + "\n" + json.dumps(tile["instances"], indent=1))
    if tile.get("window"):
        parts.append(tr("Window (pixels): {window}").format(window=tile["window"]))
    return "\n\n".join(str(p) for p in parts)


class ReasoningDialog(QDialog):
    """Tiles on the left, the selected tile's text on the right."""

    def __init__(self, record: ResultRecord, parent: QWidget | None = None):
        super().__init__(parent)
        self.record = record
        self.setWindowTitle(tr("Reasoning: {query}").format(query=record.query))
        self.resize(760, 480)
        layout = QVBoxLayout(self)
        intro = tr("What the prompter wrote for each tile of '{query}' ({n} tiles).").format(
            query=record.query, n=len(record.tiles)
        )
        if record.overview:
            intro += " " + tr(
                "It first read the whole area downsampled ({strategy}, {cells} overview cell(s)); the tiles its "
                "boxes did not meet were not read."
            ).format(strategy=record.strategy, cells=len(record.overview))
        label = QLabel(intro)
        label.setWordWrap(True)
        layout.addWidget(label)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        self.tile_list = QListWidget()
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        splitter.addWidget(self.tile_list)
        splitter.addWidget(self.text)
        splitter.setStretchFactor(1, 3)
        layout.addWidget(splitter, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.entries = list(record.overview) + list(record.tiles)
        self.tile_list.currentRowChanged.connect(self.show_tile)
        for cell in record.overview:
            self.tile_list.addItem(cell_title(cell))
        for tile in record.tiles:
            self.tile_list.addItem(tile_title(tile))
        if self.entries:
            self.tile_list.setCurrentRow(0)
        else:
            self.text.setPlainText(tr("No tile reports yet."))

    def show_tile(self, row: int) -> None:
        if 0 <= row < len(self.entries):
            self.text.setPlainText(tile_text(self.entries[row]))
