"""The web pages speak the browser's language: Simplified Chinese for a browser that prefers
Chinese, as the desktop app does (English otherwise, which the other browser tests read).

Debian's Chromium told to prefer zh-CN, a real ``castapp serve`` on loopback, in a private
network namespace."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))
sys.path.insert(0, str(Path(__file__).parent))
from castproc import JsonProc, castapp_env
from chromium import chromium, wait_until
from netns import in_namespace, private_namespace
from test_web_tv import open_when_up

pytestmark = pytest.mark.timeout(120)

CHINESE = ["--lang=zh-CN", "--accept-lang=zh-CN,zh", "--use-fake-ui-for-media-stream",
           "--use-fake-device-for-media-stream"]
STATUS = "() => document.getElementById('status').textContent"


def test_a_chinese_browser_gets_both_pages_in_chinese(tmp_path):
    with private_namespace() as ns:
        service = JsonProc(in_namespace(ns, [
            sys.executable, "-m", "castapp", "serve", "--host", "127.0.0.1", "--port", "8765",
            "--state-dir", str(tmp_path / "svc")]), castapp_env())
        try:
            with chromium(ns, tmp_path, flags=CHINESE) as browser:
                page = browser.new_page()
                open_when_up(page, "http://127.0.0.1:8765/#000000")
                wait_until(page, "() => document.body.dataset.ready === '1'")
                assert page.evaluate("() => document.documentElement.lang") == "zh-CN"
                assert page.title() == "castapp — 共享你的屏幕"
                assert page.text_content("h1") == "把你的屏幕投到电视上"
                assert page.text_content("#share") == "共享屏幕"
                assert page.get_attribute("#name", "placeholder") == "访客"
                assert page.evaluate(STATUS) == "投屏码已填好。请按“共享屏幕”。"
                page.click("#share")  # shares, then the service says no TV has the code
                wait_until(page, "() => document.body.dataset.phase === 'idle'"
                           " && document.getElementById('status').textContent !== "
                           "'投屏码已填好。请按“共享屏幕”。'", 15)
                assert page.evaluate(STATUS) == "没有接收端使用此投屏码。请核对电视上的投屏码。"
                tv = browser.new_page()
                open_when_up(tv, "http://127.0.0.1:8765/tv")
                assert tv.text_content("#tvhint") == "用投屏码投屏到这块屏幕"
                wait_until(tv, "() => (document.body.dataset.tvstate || '').startsWith('就绪')", 30)
                assert tv.text_content("#tvstate") == \
                    "就绪。打开二维码中的链接，或在 castapp 中输入投屏码。"
        finally:
            service.stop()
