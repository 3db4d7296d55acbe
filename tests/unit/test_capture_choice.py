"""Capture choices without a screen: regions, backends, the portal's frame format, tokens."""

from __future__ import annotations

import json

import numpy as np
import pytest

from castapp.rtc.capture import Region, clip_region
from castapp.rtc.capture_portal import (
    PortalError,
    TokenStore,
    gst_command,
    parse_y4m_header,
    to_even_i420,
    wayland_session,
)
from castapp.rtc.capture_source import CaptureSpec, CaptureSpecError, choose_backend, parse_region


def test_parse_region() -> None:
    assert parse_region("10,20,640,360") == Region(10, 20, 640, 360)
    assert parse_region(" 10, 20, 640x360 ") == Region(10, 20, 640, 360)
    for bad, words in [("10,20,640", "X,Y,WIDTH,HEIGHT"), ("a,b,c,d", "X,Y,WIDTH,HEIGHT"),
                       ("0,0,1,100", "at least 2x2"), ("-5,0,100,100", "inside the screen")]:
        with pytest.raises(CaptureSpecError, match=words):
            parse_region(bad)


def test_clip_region() -> None:
    mon = {"left": 1920, "top": 0, "width": 1280, "height": 1024}
    assert clip_region(mon, None) == mon
    assert clip_region(mon, Region(100, 50, 300, 200)) == {
        "left": 2020, "top": 50, "width": 300, "height": 200}
    assert clip_region(mon, Region(1200, 1000, 300, 200)) == {
        "left": 3120, "top": 1000, "width": 80, "height": 24}
    with pytest.raises(ValueError, match="outside"):
        clip_region(mon, Region(1280, 0, 10, 10))


def test_backend_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("XDG_SESSION_TYPE", "x11")
    assert choose_backend(CaptureSpec()) == "x11"
    assert choose_backend(CaptureSpec(backend="portal")) == "portal"
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert wayland_session() and choose_backend(CaptureSpec()) == "portal"
    assert choose_backend(CaptureSpec(backend="x11")) == "x11"
    with pytest.raises(CaptureSpecError, match="unknown capture backend"):
        choose_backend(CaptureSpec(backend="dxgi"))


def test_y4m_header_and_odd_frames() -> None:
    assert parse_y4m_header(b"YUV4MPEG2 W1279 H719 F30:1 Ip A1:1 C420jpeg\n") == (1279, 719)
    with pytest.raises(PortalError):
        parse_y4m_header(b"GARBAGE\n")
    w, h = 5, 3
    cw, ch = 3, 2
    y = np.arange(w * h, dtype=np.uint8)
    u = np.full(cw * ch, 100, np.uint8)
    v = np.full(cw * ch, 200, np.uint8)
    out = to_even_i420(np.concatenate([y, u, v]).tobytes(), w, h)
    assert out.shape == (6, 6)
    flat = out.reshape(-1)
    yy = flat[:24].reshape(4, 6)
    assert (yy[:3, :5] == y.reshape(3, 5)).all()
    assert (yy[:3, 5] == yy[:3, 4]).all() and (yy[3] == yy[2]).all()
    assert (flat[24:30] == 100).all() and (flat[30:] == 200).all()
    even = to_even_i420(np.zeros(4 * 2 * 3 // 2, np.uint8).tobytes(), 4, 2)
    assert even.shape == (3, 4)


def test_gst_command() -> None:
    cmd = gst_command(42, 7, (10, 20, 30, 40), (960, 540))
    assert cmd[2:5] == ["pipewiresrc", "fd=7", "path=42"]
    assert "left=10" in cmd and "bottom=40" in cmd
    assert "video/x-raw,format=BGRx,width=960,height=540,pixel-aspect-ratio=1/1" in cmd
    assert "y4menc" not in cmd
    assert cmd[-3:] == ["fdsink", "fd=1", "sync=false"]
    unknown = gst_command(42, 7, None)  # no size from the portal: I420 in YUV4MPEG2
    assert "video/x-raw,format=I420,colorimetry=bt601" in unknown and "y4menc" in unknown


def test_token_store(tmp_path) -> None:
    store = TokenStore(tmp_path / "t.json")
    assert store.get("monitor") == ""
    store.put("monitor", "abc")
    store.put("window", "def")
    assert store.get("monitor") == "abc" and store.get("window") == "def"
    assert (tmp_path / "t.json").stat().st_mode & 0o777 == 0o600
    (tmp_path / "t.json").write_text("not json")
    assert store.get("monitor") == ""
    (tmp_path / "t.json").write_text(json.dumps({"monitor": 5}))
    assert store.get("monitor") == ""
    assert TokenStore(None).get("monitor") == ""
