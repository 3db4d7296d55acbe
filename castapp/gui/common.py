"""Small pieces both windows use: the app icon, the language menu, error reporting."""

from __future__ import annotations

import asyncio
import logging
import sys
import traceback
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QAction, QActionGroup, QIcon
from PySide6.QtWidgets import QMenu, QMessageBox, QWidget

from castapp import settings as settings_mod
from castapp.gui.i18n import translations

log = logging.getLogger(__name__)

ICON = Path(__file__).with_name("icons") / "castapp.svg"


def text_scale(width: int, height: int) -> int:
    """The height a TV's text and cards are sized by: the screen's height, but no more than a
    4:3 screen of this width has (a portrait TV's height would make lines wider than it)."""
    return min(height, width * 3 // 4)


def app_icon() -> QIcon:
    return QIcon(str(ICON))


class SettingsHolder:
    """The settings of this run, saved whenever they change."""

    def __init__(self, current: settings_mod.Settings, directory: Path | None = None) -> None:
        self.current = current
        self.directory = directory

    def update(self, **changes: Any) -> None:
        try:
            new = replace(self.current, **changes)
        except ValueError as exc:
            log.warning("setting not saved: %s", exc)
            return
        if new != self.current:
            self.current = new
            try:
                settings_mod.save(new, self.directory)
            except OSError as exc:
                log.warning("could not save settings: %s", exc)


def language_menu(parent: QWidget, holder: SettingsHolder) -> QMenu:
    """System / English / 简体中文; switching retranslates every open window at once."""
    menu = QMenu(QCoreApplication.translate("Common", "Language"), parent)
    group = QActionGroup(menu)
    choices = [("system", QCoreApplication.translate("Common", "System language")),
               *settings_mod.LANGUAGE_NAMES.items()]
    for key, label in choices:
        act = QAction(label, menu, checkable=True)
        act.setData(key)
        act.setChecked(holder.current.language == key)
        group.addAction(act)
        menu.addAction(act)

    def chosen(act: QAction) -> None:
        holder.update(language=act.data())
        translations.install(act.data())
        menu.setTitle(QCoreApplication.translate("Common", "Language"))

    group.triggered.connect(chosen)
    return menu


def show_error(text: str, details: str = "") -> None:
    """Tell the user about an unexpected error without blocking the event loop."""
    box = QMessageBox(QMessageBox.Icon.Critical, "castapp",
                      QCoreApplication.translate("Common", "Something went wrong: {error}")
                      .format(error=text))
    if details:
        box.setDetailedText(details)
    box.show()
    _open_boxes.append(box)
    box.finished.connect(lambda _=0: _open_boxes.remove(box) if box in _open_boxes else None)


_open_boxes: list[QMessageBox] = []


def install_exception_hooks(loop: asyncio.AbstractEventLoop,
                            report: Callable[[str, str], None] = show_error) -> None:
    """Uncaught errors in slots and in tasks are logged and shown, never swallowed."""

    def excepthook(kind: type[BaseException], exc: BaseException,
                   tb: TracebackType | None) -> None:
        details = "".join(traceback.format_exception(kind, exc, tb))
        log.error("uncaught error:\n%s", details)
        report(str(exc) or kind.__name__, details)

    def loop_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        message = str(context.get("message", ""))
        if isinstance(exc, asyncio.CancelledError):
            return
        details = "".join(traceback.format_exception(exc)) if exc else message
        log.error("uncaught error in a task: %s\n%s", message, details)
        report(str(exc) if exc else message, details)

    sys.excepthook = excepthook
    loop.set_exception_handler(loop_handler)
