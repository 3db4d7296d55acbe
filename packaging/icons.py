"""Render the app icon (an SVG) to the PNG sizes desktops and installers use."""

from __future__ import annotations

import os
from pathlib import Path

SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)


def render_png(svg: Path, size: int, out: Path) -> Path:
    """``svg`` drawn at ``size`` x ``size`` pixels into the PNG ``out``."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(["castapp-icons"])
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise ValueError(f"not a valid SVG: {svg}")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    out.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(out), "PNG"):
        raise OSError(f"cannot write {out}")
    return out


def hicolor(svg: Path, share: Path, name: str, sizes: tuple[int, ...] = SIZES) -> list[Path]:
    """Install ``svg`` as icon ``name`` into ``share``/icons/hicolor at every size."""
    base = share / "icons" / "hicolor"
    made = [render_png(svg, n, base / f"{n}x{n}" / "apps" / f"{name}.png") for n in sizes]
    scalable = base / "scalable" / "apps" / f"{name}.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    scalable.write_bytes(svg.read_bytes())
    return [*made, scalable]
