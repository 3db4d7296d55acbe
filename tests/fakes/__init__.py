"""Fakes of what sessions are given: signaling client, peer connections, frame source, clock.

They stand in for the network and the screen in unit tests of the session machines, and
record what the session did with them. Real-peer tests use the real ones.
"""

from fakes.clock import FakeClock
from fakes.peer import FakePeer, FakePeerFactory
from fakes.signaling import FakeSignaling
from fakes.source import FakeFrameSource

__all__ = ["FakeClock", "FakeFrameSource", "FakePeer", "FakePeerFactory", "FakeSignaling"]
