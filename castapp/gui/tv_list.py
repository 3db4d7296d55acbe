"""The TVs of a cast in the sender window: one row each (name, state, stats, a Stop button)
and the field to add one more while casting."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from castapp.app import words
from castapp.gui import texts


@dataclass
class TvRow:
    name: QLabel
    state: QLabel
    stats: QLabel
    stop: QPushButton
    title: str = ""
    ended: bool = False
    # what the state line says (a phrase is rendered again on a language switch)
    said: words.Phrase | str = ""


class TvList(QWidget):
    """The list of TVs being cast to, with "Add a TV" under it."""

    # Stop casting to the TV of this index (or drop its row once it ended).
    remove_requested = Signal(int)
    # Reach one more TV (what the add field holds: a code, a link or a list).
    add_requested = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[int, TvRow] = {}
        self.rows_shown = True
        """False while the cast goes to one TV: the window's own lines say it all."""
        self.grid = QGridLayout()
        self.grid.setColumnStretch(1, 1)
        self.add_code = QLineEdit()
        self.add_code.setObjectName("add_code")
        self.add_code.setMaxLength(512)
        self.add_code.returnPressed.connect(self._add)
        self.add_button = QPushButton()
        self.add_button.setObjectName("add_tv")
        self.add_button.clicked.connect(self._add)
        add_row = QHBoxLayout()
        add_row.addWidget(self.add_code, 1)
        add_row.addWidget(self.add_button)
        self.add_box = QWidget()
        self.add_box.setLayout(add_row)
        self.add_box.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self.grid)
        layout.addWidget(self.add_box)
        self.retranslate()

    def retranslate(self) -> None:
        self.add_button.setText(self.tr("Add a TV"))
        self.add_code.setPlaceholderText(self.tr("Code of another TV"))
        for row in self.rows.values():
            self._stop_text(row)
            row.state.setText(_render(row.said))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def _add(self) -> None:
        text = self.add_code.text().strip()
        if text:
            self.add_requested.emit(text)
            self.add_code.clear()

    def _stop_text(self, row: TvRow) -> None:
        row.stop.setText(self.tr("Remove") if row.ended
                         else self.tr("Stop casting to {name}").format(name=row.title))

    # ------------------------------------------------------------------ rows
    def show_tv(self, index: int, title: str, state: words.Phrase | str, *,
                failed: bool = False,
                ended: bool = False) -> None:
        """Add or update the row of TV ``index``: its name, its state line (red if it
        failed); ``ended``: the TV no longer receives the cast."""
        row = self.rows.get(index)
        if row is None:
            row = TvRow(QLabel(), QLabel(), QLabel(), QPushButton())
            row.name.setStyleSheet("font-weight: bold;")
            row.state.setWordWrap(True)
            row.stats.setStyleSheet("color: gray;")
            row.stop.setObjectName(f"stop_tv_{index}")
            row.stop.clicked.connect(lambda: self.remove_requested.emit(index))
            at = self.grid.rowCount()
            self.grid.addWidget(row.name, at, 0)
            self.grid.addWidget(row.state, at, 1)
            self.grid.addWidget(row.stop, at, 2)
            self.grid.addWidget(row.stats, at + 1, 1, 1, 2)
            self.rows[index] = row
            self._show_row(row)
        row.title, row.ended, row.said = title, ended, state
        row.name.setText(title)
        row.state.setText(_render(state))
        row.state.setStyleSheet("color: #c62828;" if failed else "")
        if ended:
            row.stats.setText("")
        self._stop_text(row)

    def show_rows(self, shown: bool) -> None:
        """Show the TVs' rows (a cast to several TVs) or not (one TV: its state, stats and
        Stop button are the window's own status line, statistics and button)."""
        self.rows_shown = shown
        for row in self.rows.values():
            self._show_row(row)

    def _show_row(self, row: TvRow) -> None:
        for w in (row.name, row.state, row.stats, row.stop):
            w.setVisible(self.rows_shown)

    def show_stats(self, index: int, text: str) -> None:
        row = self.rows.get(index)
        if row is not None and not row.ended:
            row.stats.setText(text)

    def drop(self, index: int) -> None:
        row = self.rows.pop(index, None)
        if row is None:
            return
        for w in (row.name, row.state, row.stats, row.stop):
            self.grid.removeWidget(w)
            w.deleteLater()

    def clear(self) -> None:
        for index in list(self.rows):
            self.drop(index)

    def set_casting(self, casting: bool) -> None:
        """"Add a TV" shows while a cast runs."""
        self.add_box.setVisible(casting)
        if not casting:
            self.add_code.clear()


def _render(said: words.Phrase | str) -> str:
    return texts.render(said) if isinstance(said, words.Phrase) else said
