"""Quality presets a person picks by name, mapped to capture and encoder settings.

The one list of qualities: the settings file, the sender window and ``castapp send
--quality`` all read :data:`PRESETS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from castapp.rtc.encoder import EncoderConfig


@dataclass(frozen=True, slots=True)
class Preset:
    key: str
    fps: float
    #: Downscale to fit this size (None: native resolution).
    max_size: tuple[int, int] | None
    #: Lower CRF keeps small text crisp; higher saves bits for motion.
    crf: int
    #: Upper bitrate bound in bits per second (None: the encoder's own).
    ceiling_bps: int | None
    #: Follow the content (text / scroll / motion), see castapp.rtc.content.
    auto: bool = False

    def encoder(self) -> EncoderConfig:
        from castapp.rtc.encoder import EncoderConfig

        return EncoderConfig(max_fps=self.fps, crf=self.crf, ceiling_bps=self.ceiling_bps,
                             auto=self.auto)


PRESETS: dict[str, Preset] = {
    # Follows the content: sharp and sparing for text, every frame for scrolling, frames
    # first (downscaled by whole divisors if the machine cannot keep up) for motion.
    "auto": Preset("auto", fps=60.0, max_size=None, crf=21, ceiling_bps=16_000_000, auto=True),
    # Slides, code and documents: full resolution, fewer frames, more bits per frame.
    "sharp_text": Preset("sharp_text", fps=15.0, max_size=None, crf=20, ceiling_bps=12_000_000),
    "balanced": Preset("balanced", fps=30.0, max_size=(1920, 1080), crf=23,
                       ceiling_bps=10_000_000),
    # Video and animation: 60 fps at 720p.
    "smooth_motion": Preset("smooth_motion", fps=60.0, max_size=(1280, 720), crf=25,
                            ceiling_bps=8_000_000),
}
#: The default: follow the content.
DEFAULT = "auto"
#: What ``castapp send`` casts without ``--quality``: 30 fps at the screen's own size.
NATIVE = Preset("native", fps=30.0, max_size=None, crf=23, ceiling_bps=None)


def preset(key: str) -> Preset:
    return PRESETS.get(key, PRESETS[DEFAULT])
