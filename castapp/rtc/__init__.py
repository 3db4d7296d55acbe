"""Media core: screen capture, screen-tuned encoders and WebRTC plumbing on aiortc.

Nothing in this package imports a GUI toolkit; the UI layer consumes frames through
:mod:`castapp.rtc.receive` and renders them itself.

Call :func:`castapp.rtc.adapt.install` (done by :func:`castapp.rtc.peer.make_peer_connection`)
before any peer connection exists so that aiortc uses castapp's encoders and releases
received frames on the RTP marker bit.
"""

from __future__ import annotations
