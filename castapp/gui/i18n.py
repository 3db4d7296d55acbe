"""Loading the compiled translations (``.qm``) that ship inside the package."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLocale, QTranslator

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


class Translations:
    """The app's translator; switching language makes Qt send every widget LanguageChange."""

    def __init__(self) -> None:
        self._translator: QTranslator | None = None
        self.language = "en"

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
        return language


translations = Translations()
