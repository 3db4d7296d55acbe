"""Loading the compiled translations (``.qm``) that ship inside the package."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLocale, QTimer, QTranslator
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QApplication, QMessageBox

from castapp.settings import LANGUAGE_NAMES

log = logging.getLogger(__name__)

TRANSLATIONS = Path(__file__).with_name("translations")
# Languages the interface is written or translated in.
LANGUAGES = tuple(LANGUAGE_NAMES)


def system_language() -> str:
    """The supported language closest to the system locale (English otherwise)."""
    for name in QLocale.system().uiLanguages():
        if name.replace("-", "_").lower().startswith("zh"):
            return "zh_CN"
        if name.lower().startswith("en"):
            return "en"
    return "en"


def resolve(setting: str) -> str:
    return setting if setting in LANGUAGES else system_language()


#: Said once, in English (Chinese text could not be read), when Chinese is chosen and no
#: installed font has Chinese characters.
NO_CHINESE_FONT = (
    "No font with Chinese characters is installed, so the Chinese interface shows empty "
    "boxes. Install one (on Debian or Ubuntu: sudo apt install fonts-noto-cjk) and start "
    "castapp again, or choose English in the Language menu."
)


def has_chinese_font() -> bool:
    return bool(QFontDatabase.families(QFontDatabase.WritingSystem.SimplifiedChinese))


class Translations:
    """The app's translator; switching language makes Qt send every widget LanguageChange."""

    def __init__(self) -> None:
        self._translator: QTranslator | None = None
        self.language = "en"
        self.font_warning: str | None = None
        self._notice: QMessageBox | None = None

    def install(self, setting: str) -> str:
        app = QCoreApplication.instance()
        if app is None:
            raise RuntimeError("create the QApplication before installing translations")
        language = resolve(setting)
        if self._translator is not None:
            app.removeTranslator(self._translator)
            self._translator = None
        if language != "en":
            translator = QTranslator(app)
            if translator.load(f"castapp_{language}", str(TRANSLATIONS)):
                app.installTranslator(translator)
                self._translator = translator
            else:
                log.warning("no translation for %s in %s; using English", language, TRANSLATIONS)
                language = "en"
        self.language = language
        QLocale.setDefault(QLocale(language))
        if language == "zh_CN" and self.font_warning is None and not has_chinese_font():
            self._warn_no_chinese_font()
        return language

    def _warn_no_chinese_font(self) -> None:
        """Say it once per run: in the log, and in a window when there are windows."""
        self.font_warning = NO_CHINESE_FONT
        log.warning(NO_CHINESE_FONT)
        if isinstance(QCoreApplication.instance(), QApplication):
            box = QMessageBox(QMessageBox.Icon.Warning, "castapp", NO_CHINESE_FONT)
            box.setModal(False)
            self._notice = box
            QTimer.singleShot(0, box.show)  # once the event loop runs, beside the window


translations = Translations()
