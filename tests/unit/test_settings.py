"""Settings survive restarts; a damaged file never stops the app."""

from __future__ import annotations

import json

from castapp.quality import PRESETS, preset
from castapp.settings import Settings, load, save, write_secret


def test_round_trip(tmp_path):
    s = Settings(server="ws://tv:8765/ws", display_name="Ada", quality="sharp_text",
                 language="zh_CN", monitor=2)
    save(s, tmp_path)
    assert load(tmp_path) == s


def test_missing_file_gives_defaults(tmp_path):
    assert load(tmp_path / "nowhere") == Settings()


def test_damaged_values_fall_back_one_by_one(tmp_path):
    (tmp_path / "settings.json").write_text(json.dumps(
        {"server": 5, "quality": "ultra", "language": "zh_CN", "monitor": -3,
         "display_name": "x" * 500, "unknown": True}))
    s = load(tmp_path)
    assert s == Settings(language="zh_CN")


def test_unreadable_file_gives_defaults(tmp_path):
    (tmp_path / "settings.json").write_text("{not json")
    assert load(tmp_path) == Settings()
    (tmp_path / "settings.json").write_text("[1, 2]")
    assert load(tmp_path) == Settings()
    (tmp_path / "settings.json").write_bytes(b"{" + b" " * 100_000 + b"}")
    assert load(tmp_path) == Settings()


def test_secrets_are_private(tmp_path):
    path = tmp_path / "state" / "receiver-token"
    write_secret(path, "t1.secret")
    assert path.read_text() == "t1.secret"
    assert path.stat().st_mode & 0o777 == 0o600


def test_presets():
    assert preset("nonsense") is PRESETS["auto"] and preset("auto").encoder().auto
    assert preset("smooth_motion").fps == 60 and preset("sharp_text").max_size is None
    assert preset("sharp_text").encoder().crf < preset("smooth_motion").encoder().crf
