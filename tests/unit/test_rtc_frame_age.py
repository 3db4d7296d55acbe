"""The frame age a receiver estimates from scripted RTCP sender reports, abs-send-time and
the round trip, with the two machines' clocks an hour apart."""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest

from castapp.rtc.audio.lipsync import ntp_of
from castapp.rtc.receive import FrameAge

FPS = 30
ORIGIN = 4_000_000_000  # RTP timestamps wrap during the run
SENDER_AHEAD_S = 3600.0  # the sender's wall clock runs an hour ahead of the receiver's
ONE_WAY_S = 0.020


class Scripted:
    """A sender capturing at 30 fps and a receiver clock (seconds, receiver's time)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.age = FrameAge(clock=lambda: self.now)
        self.age._mapper = SimpleNamespace(_origin=ORIGIN)  # aiortc's timestamp mapper

    @staticmethod
    def pts(k: int) -> int:
        return k * 90_000 // FPS

    def captured(self, k: int) -> float:
        """Receiver time at which frame k was captured."""
        return 2000.0 + k / FPS

    def report(self, k: int, gap_s: float) -> None:
        """The sender reports frame k's capture, the report leaving ``gap_s`` after it."""
        self.now = self.captured(k) + gap_s + ONE_WAY_S
        rtp = (ORIGIN + self.pts(k)) & 0xFFFFFFFF
        self.age.on_report(ntp_of(self.captured(k) + SENDER_AHEAD_S), rtp)


def test_no_age_before_a_report() -> None:
    s = Scripted()
    assert s.age.age_of(s.pts(1)) is None
    assert s.age.age_of(None) is None


def test_age_from_reports_and_the_round_trip() -> None:
    s = Scripted()
    s.age.rtt_s = 2 * ONE_WAY_S
    rng = random.Random(3)
    gaps = [0.004] + [rng.uniform(0.006, 0.5) for _ in range(7)]  # still screen: up to 0.5 s
    for i, gap in enumerate(gaps):
        s.report(30 * i, gap)
    k = 30 * len(gaps) + 5
    true_age = 0.045  # capture, encode, network, decode
    s.now = s.captured(k) + true_age
    age = s.age.age_of(s.pts(k))
    assert age == pytest.approx(true_age - min(gaps), abs=1e-4)  # the least delayed report


def test_an_older_frame_is_older_by_its_capture_interval() -> None:
    s = Scripted()
    s.age.rtt_s = 2 * ONE_WAY_S
    s.report(0, 0.0)
    s.now = s.captured(60) + 0.03
    newest = s.age.age_of(s.pts(60))
    held = s.age.age_of(s.pts(30))
    assert newest == pytest.approx(0.03, abs=1e-4)
    assert held is not None and newest is not None
    assert held - newest == pytest.approx(1.0, abs=1e-4)


def test_without_the_round_trip_the_network_counts_as_nothing() -> None:
    s = Scripted()
    s.report(0, 0.0)
    s.now = s.captured(3) + 0.05
    assert s.age.age_of(s.pts(3)) == pytest.approx(0.05 - ONE_WAY_S, abs=1e-4)


def test_only_recent_reports_count() -> None:
    """An early report that came through unusually fast is forgotten after a few more."""
    s = Scripted()
    s.age.rtt_s = 2 * ONE_WAY_S
    s.report(0, -0.010)  # e.g. before the sender's clock was stepped
    for i in range(1, FrameAge.REPORTS + 1):
        s.report(30 * i, 0.002)
    k = 30 * (FrameAge.REPORTS + 1)
    s.now = s.captured(k) + 0.04
    assert s.age.age_of(s.pts(k)) == pytest.approx(0.038, abs=1e-4)


def test_never_negative() -> None:
    s = Scripted()
    s.report(0, 0.1)  # the only report left long after its frame; no round trip known
    s.now = s.captured(1) + 0.001
    assert s.age.age_of(s.pts(1)) == 0.0


def abs_send_time(sender_s: float) -> int:
    """What a sender writes in the abs-send-time extension at its Unix time ``sender_s``."""
    return (ntp_of(sender_s) >> 14) & 0xFFFFFF


def test_packets_date_frames_from_their_capture() -> None:
    """With abs-send-time the age includes the encode and the wait for the report."""
    s = Scripted()
    s.age.rtt_s = 2 * ONE_WAY_S
    s.report(0, 0.3)  # a report that left long after its frame (still screen)
    rng = random.Random(5)
    for k in range(1, 90):
        encode = 0.008
        queued = rng.uniform(0.0, 0.015)  # the receiver's loop was busy
        sent = s.captured(k) + encode
        s.now = sent + ONE_WAY_S + queued
        s.age.on_packet(abs_send_time(sent + SENDER_AHEAD_S))
    k = 90
    s.now = s.captured(k) + 0.037
    assert s.age.age_of(s.pts(k)) == pytest.approx(0.037, abs=0.001)


def test_abs_send_time_wraps_every_64_seconds() -> None:
    s = Scripted()
    s.report(0, 0.0)
    for offset in (-20.0, 31.0):  # the packet left well before / after the report's picture
        sent = s.captured(0) + offset + SENDER_AHEAD_S
        s.now = s.captured(0) + offset + ONE_WAY_S
        age = FrameAge(clock=lambda: s.now)
        age._mapper = s.age._mapper
        age.report = s.age.report
        age.on_packet(abs_send_time(sent))
        assert age._least_leads[0][1] == pytest.approx(ONE_WAY_S - SENDER_AHEAD_S, abs=1e-4)


def test_no_packet_counts_before_the_first_report() -> None:
    s = Scripted()
    s.age.on_packet(abs_send_time(2000.0 + SENDER_AHEAD_S))
    s.age.on_packet(None)
    assert not s.age._least_leads


def test_the_least_lead_is_of_the_last_packets_only() -> None:
    now = [1000.0]
    age = FrameAge(clock=lambda: now[0])
    age.report = (1000.0, 0)
    leads = [0.030, 0.010, *([0.020] * (FrameAge.PACKETS - 1)), 0.025]
    for i, lead in enumerate(leads):
        sent = 1000.0 + i * 0.01
        now[0] = sent + lead
        age.on_packet(abs_send_time(sent))
        window = leads[max(0, i + 1 - FrameAge.PACKETS): i + 1]
        assert age._least_leads[0][1] == pytest.approx(min(window), abs=1e-5)
