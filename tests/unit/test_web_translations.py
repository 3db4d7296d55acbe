"""Every text the web pages show has its Simplified Chinese translation, with the same fields
({name}, …): the words the pages hand to their status lines and banners, their fixed
sentences, and the page elements marked for translation (castapp/web/i18n.js)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

WEB = Path(__file__).parents[2] / "castapp" / "web"
STRING = r'"((?:[^"\\]|\\.)*)"'


def translations() -> dict[str, str]:
    source = (WEB / "i18n.js").read_text(encoding="utf-8")
    body = source[source.index("const ZH = {"):source.index("\n};")]
    pairs = re.findall(STRING + r"\s*:\s*" + STRING, body)
    return {json.loads(f'"{k}"'): json.loads(f'"{v}"') for k, v in pairs}


def js_texts() -> set[str]:
    """English texts the scripts show: literals handed to t() or to a function that shows
    words, the two sides of a choice inside t(), the words maps and constants."""
    found: set[str] = set()
    shown = r"\b(?:t|say|stop|setState|showBanner|endCall|showIdle)\(\s*" + STRING
    for name in ("sender.js", "tv.js", "pairing.js", "common.js"):
        src = (WEB / name).read_text(encoding="utf-8")
        found |= set(re.findall(shown, src))
        found |= {a for pair in re.findall(r"\bt\(\w+\s*\?\s*" + STRING + r"\s*:\s*" + STRING,
                                            src) for a in pair}
        found |= set(re.findall(r"(?:_WORDS|NO_SCREEN|INSECURE) = " + STRING, src))
        found |= set(re.findall(r"new Error\(" + STRING, src))
    sender = (WEB / "sender.js").read_text(encoding="utf-8")
    found |= set(re.findall(r"^\s+\w+: " + STRING + ",", sender, re.M))  # the words maps
    return {json.loads(f'"{s}"') for s in found if re.search(r"[A-Za-z]{2}", s)}


class Marked(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._open: list[bool] = []
        self._buf: list[str] = []
        self._title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if "data-t-placeholder" in a:
            self.texts.append(a.get("placeholder") or "")
        if "data-t-alt" in a:
            self.texts.append(a.get("alt") or "")
        self._title = tag == "title"
        if "data-t" in a:
            self._open.append(True)
            self._buf = []

    def handle_endtag(self, tag: str) -> None:
        if self._open and tag in ("h1", "p", "label", "button", "div"):
            self._open.pop()
            self.texts.append(" ".join("".join(self._buf).split()))
        self._title = False

    def handle_data(self, data: str) -> None:
        if self._open:
            self._buf.append(data)
        if self._title:
            self.texts.append(data.strip())


def html_texts(name: str) -> list[str]:
    parser = Marked()
    parser.feed((WEB / name).read_text(encoding="utf-8"))
    return [t for t in parser.texts if t]


def fields(text: str) -> list[str]:
    return sorted(re.findall(r"\{(\w+)\}", text))


def test_the_scan_finds_the_pages_words():
    texts = js_texts()
    assert "Looking for the TV…" in texts and "{name} is casting." in texts
    assert "The code did not match; check the code on the TV and try again." in texts
    assert "Share your screen on a TV" in html_texts("index.html")
    assert "Cast to this screen with the code" in html_texts("tv.html")


@pytest.mark.parametrize("page", ["index.html", "tv.html"])
def test_every_marked_element_of_a_page_is_translated(page):
    zh = translations()
    missing = [t for t in html_texts(page) if t not in zh]
    assert not missing, missing


def test_every_text_the_scripts_show_is_translated_with_its_fields():
    zh = translations()
    missing = sorted(t for t in js_texts() if t not in zh)
    assert not missing, missing
    for english, chinese in zh.items():
        assert fields(english) == fields(chinese), (english, chinese)
        # no English left in the Chinese (names that stay as they are aside)
        rest = re.sub(r"\{\w+\}|castapp|localhost|https|Enter", "", chinese)
        assert not re.search(r"[A-Za-z]{4,}", rest), chinese
