"""The Qt half of ``castapp --self-test``: show received frames offscreen.

Proves that the Qt plugins a build needs are there and load: a platform plugin, the SVG
image format and icon engine (the app icon), the translations, QtMultimedia's video
widget and its FFmpeg media backend.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import numpy as np


def _application() -> Any:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia.*=false")
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "castapp"])


def _gray(image: Any) -> np.ndarray:
    from PySide6.QtGui import QImage

    gray = image.convertToFormat(QImage.Format.Format_Grayscale8)
    view = np.frombuffer(gray.constBits(), dtype=np.uint8)
    return view.reshape(gray.height(), gray.bytesPerLine())[:, : gray.width()].copy()


def check_video_path(frames: list[Any]) -> dict[str, Any]:
    """Show ``frames`` (decoded ``av.VideoFrame``) in the video widget; raise on any gap."""
    app = _application()
    from PySide6.QtCore import qInstallMessageHandler

    # Offscreen Qt reports that it converts video frames without a GPU; expected here.
    previous = qInstallMessageHandler(lambda *_args: None)
    try:
        return _check(app, frames)
    finally:
        qInstallMessageHandler(previous)


def _check(app: Any, frames: list[Any]) -> dict[str, Any]:
    from PySide6.QtCore import QCollator, QLocale, QTranslator
    from PySide6.QtGui import QImageReader
    from PySide6.QtMultimedia import QMediaFormat
    from PySide6.QtSvg import QSvgRenderer

    from castapp.gui.common import ICON, app_icon
    from castapp.gui.i18n import TRANSLATIONS
    from castapp.gui.video import VideoView
    from castapp.rtc import pattern

    if not QSvgRenderer(str(ICON)).isValid():
        raise RuntimeError(f"the app icon does not render: {ICON}")
    if b"svg" not in [bytes(f.data()) for f in QImageReader.supportedImageFormats()]:
        raise RuntimeError("the SVG image format plugin is missing")
    if app_icon().pixmap(48, 48).isNull():
        raise RuntimeError("the app icon does not load as an icon")
    languages = sorted(p.stem.removeprefix("castapp_") for p in TRANSLATIONS.glob("*.qm"))
    for lang in languages:
        if not QTranslator().load(str(TRANSLATIONS / f"castapp_{lang}.qm")):
            raise RuntimeError(f"the {lang} translation does not load")
    if not languages:
        raise RuntimeError(f"no translations in {TRANSLATIONS}")
    # ICU's Chinese collation (pinyin order, not code points) proves its locale data loads
    if QCollator(QLocale("zh_CN")).compare("阿", "张") >= 0:
        raise RuntimeError("Qt's locale data (ICU) is missing Chinese")
    decodable = QMediaFormat().supportedFileFormats(QMediaFormat.ConversionMode.Decode)
    if not decodable:
        raise RuntimeError("QtMultimedia has no media backend")
    if not frames:
        raise RuntimeError("no frames to show")

    view = VideoView()
    view.resize(320, 180)
    view.show()
    try:
        deadline = time.monotonic() + 5.0
        for frame in frames:
            view.offer(frame)
            while view.frames_shown < view.frames_offered and time.monotonic() < deadline:
                app.processEvents()
                time.sleep(0.005)
        image = view.snapshot()
        if image is None or image.isNull():
            raise RuntimeError("the video widget shows nothing")
        counter = pattern.read_counter(_gray(image))
        if counter is None:
            raise RuntimeError("the pattern cannot be read back from the video widget")
        return {
            "platform": app.platformName(),
            "shown": view.frames_shown,
            "size": f"{image.width()}x{image.height()}",
            "counter": counter,
            "languages": "+".join(languages),
            "media_formats": len(decodable),
        }
    finally:
        view.close()
        view.deleteLater()
        app.processEvents()
