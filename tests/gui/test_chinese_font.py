"""Chinese chosen without a font that has Chinese characters: said once, in English."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import json, logging
from PySide6.QtWidgets import QApplication, QMessageBox
logging.basicConfig(level=logging.WARNING)
app = QApplication(["castapp"])
from castapp.gui.i18n import has_chinese_font, translations
translations.install("zh_CN")
translations.install("en")
translations.install("zh_CN")
for _ in range(5):
    app.processEvents()
boxes = [w.text() for w in app.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()]
print(json.dumps({"has_font": has_chinese_font(), "warning": translations.font_warning,
                  "boxes": boxes, "language": translations.language}))
"""


def _run(tmp_path: Path, fonts_dir: str | None) -> tuple[dict[str, object], str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    if fonts_dir is not None:  # a fontconfig that knows one Latin-only font folder
        conf = tmp_path / "fonts.conf"
        conf.write_text(f"<?xml version='1.0'?><fontconfig><dir>{fonts_dir}</dir>"
                        f"<cachedir>{tmp_path}/cache</cachedir></fontconfig>")
        env["FONTCONFIG_FILE"] = str(conf)
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def test_missing_chinese_font_is_said_once(tmp_path: Path):
    latin = "/usr/share/fonts/truetype/dejavu"
    if not Path(latin).is_dir():
        pytest.skip("DejaVu fonts are not installed")
    result, stderr = _run(tmp_path, latin)
    assert result["has_font"] is False
    assert result["language"] == "zh_CN"
    assert "fonts-noto-cjk" in str(result["warning"])
    assert result["boxes"] == [result["warning"]]  # one window, though chosen twice
    assert stderr.count("No font with Chinese characters") == 1


def test_no_warning_with_a_chinese_font(tmp_path: Path):
    result, stderr = _run(tmp_path, None)
    if not result["has_font"]:
        pytest.skip("no font with Chinese characters on this machine")
    assert result["warning"] is None and result["boxes"] == []
    assert "Chinese characters" not in stderr
