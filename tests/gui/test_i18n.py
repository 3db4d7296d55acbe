"""Translations: complete, in step with the code, shipped compiled, switchable at run time."""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QFontMetrics, QImage

from castapp.gui.app import AppOptions, open_receiver, open_sender
from castapp.gui.common import SettingsHolder
from castapp.gui.i18n import TRANSLATIONS, translations
from castapp.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"\{\w+\}")


def messages(lang: str) -> list[ET.Element]:
    tree = ET.parse(ROOT / "i18n" / f"castapp_{lang}.ts")
    return tree.getroot().findall("./context/message")


def test_every_string_has_a_chinese_translation():
    found = messages("zh_CN")
    assert len(found) > 50
    for message in found:
        source = message.findtext("source")
        translation = message.find("translation")
        assert translation is not None and (translation.text or "").strip(), source
        assert translation.get("type") not in ("unfinished", "vanished", "obsolete"), source
        assert set(PLACEHOLDER.findall(source)) == set(PLACEHOLDER.findall(translation.text)), \
            f"placeholders differ in {source!r}"


def test_sources_and_compiled_files_are_in_step_with_the_code():
    result = subprocess.run(["bash", str(ROOT / "scripts" / "i18n.sh"), "--check"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (TRANSLATIONS / "castapp_zh_CN.qm").stat().st_size > 1000


def test_the_receiver_renders_in_chinese(qtbot, tmp_path):
    assert translations.install("zh_CN") == "zh_CN"
    options = AppOptions(mode="receive", state_dir=tmp_path, name="客厅电视", lan=False)
    window, _ = open_receiver(options, SettingsHolder(Settings()))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    title = window.code_page.title
    assert title.text() == "投屏到这块屏幕"
    assert window.windowTitle() == "castapp — 接收端"
    assert "投屏码" in window.code_page.help.text()
    metrics = QFontMetrics(title.font())
    assert all(metrics.inFontUcs4(ord(ch)) for ch in title.text()), "no CJK font for the UI"
    # the glyphs are drawn: the title's area has light text pixels on the dark page
    image = title.grab().toImage().convertToFormat(QImage.Format.Format_Grayscale8)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(),
                                                                 image.bytesPerLine())
    assert (pixels > 180).sum() > 200
    window.grab().save(str(tmp_path / "receiver-zh.png"))


@pytest.mark.parametrize("start", ["en", "zh_CN"])
def test_language_switch_retranslates_open_windows(qtbot, tmp_path, run, start):
    holder = SettingsHolder(Settings(language=start), tmp_path / "config")
    translations.install(start)
    window, _ = open_sender(AppOptions(mode="send", state_dir=tmp_path, lan=False), holder)
    qtbot.addWidget(window)
    english, chinese = "castapp — cast this screen", "castapp — 投射此屏幕"
    assert window.windowTitle() == (english if start == "en" else chinese)
    menu = window.options_menu.actions()[0].menu()
    by_key = {act.data(): act for act in menu.actions()}
    by_key["zh_CN"].trigger()
    qtbot.waitUntil(lambda: window.windowTitle() == chinese)  # LanguageChange is posted
    assert window.button.text() == "投屏"
    assert holder.current.language == "zh_CN"
    by_key["en"].trigger()
    qtbot.waitUntil(lambda: window.windowTitle() == english)
    assert window.button.text() == "Cast"
    assert holder.current.language == "en"
    assert (tmp_path / "config" / "settings.json").exists()
