"""The bitrate policy under scripted receiver-estimate traces (fake clock, no codec).

The traces follow what aiortc's REMB estimator did in real casts: after warm-up the
estimate re-initialises to about the incoming rate, grows ~8 % a second (clamped to 1.5x
the incoming rate), and dips to ~0.85x the incoming rate right after each keyframe burst.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from castapp.rtc.bitrate import BitrateBounds, BitratePolicy

FPS = 30
BOUNDS = BitrateBounds(floor_bps=1_500_000, start_bps=4_000_000, ceiling_bps=12_000_000)


@dataclass
class Trace:
    rebuilds: int = 0
    targets: list[int] = field(default_factory=list)
    built: list[int] = field(default_factory=list)


def run(seconds: float, demand_bps: float, keyframe_every_s: float, keyframe_bytes: int,
        estimate_after_key: float, steady_estimate: float | None = None) -> Trace:
    """Feed a policy frame by frame from a cap-limited encoder model.

    The encoder sends ``demand_bps`` of P-frames, or its built cap if that is lower, and
    a keyframe every ``keyframe_every_s`` (plus one per rebuild). The estimate starts at
    aiortc's 30 Mbit/s, then tracks 1.5x what arrives (or ``steady_estimate``: a link
    that carries only that much) and dips to ``estimate_after_key`` x the incoming rate
    for 0.8 s after each keyframe."""
    policy = BitratePolicy(BOUNDS)
    built = policy.target_bps
    out = Trace()
    t = 1000.0
    last_key = -1e9
    next_remb = t
    force_key = True
    for n in range(int(seconds * FPS)):
        now = t + n / FPS
        sent_bps = min(demand_bps, built)
        key = force_key or now - last_key >= keyframe_every_s
        force_key = False
        if key:
            last_key = now
        policy.record_output(keyframe_bytes if key else int(sent_bps / 8 / FPS), now,
                             keyframe=key)
        if now >= next_remb:  # REMB twice a second
            next_remb = now + 0.5
            if now - t < 3.0:
                estimate = 30_000_000.0
            elif now - last_key < 0.8:
                estimate = estimate_after_key * sent_bps
            elif steady_estimate is not None:
                estimate = steady_estimate
            else:
                estimate = 1.5 * sent_bps + 10_000
            out.targets.append(policy.on_estimate(int(estimate), now))
        if policy.should_rebuild(built, now):
            policy.note_rebuild(now)
            built = policy.target_bps
            out.built.append(built)
            out.rebuilds += 1
            force_key = True  # a new codec context starts with a keyframe
    return out


def test_keyframe_dips_do_not_rebuild_at_30fps() -> None:
    # 2.4 Mbit/s of P-frames, a 200 KB keyframe every 8 s, estimate 0.85x after each.
    trace = run(60, 2_400_000, 8.0, 200_000, 0.85)
    assert trace.rebuilds == 0, trace.built


def test_frequent_keyframes_with_deep_dips_do_not_rebuild() -> None:
    # Keyframes every 2.5 s (a lossy link asking for them) and dips to 0.5x.
    trace = run(60, 2_800_000, 2.5, 370_000, 0.5)
    assert trace.rebuilds == 0, trace.built


def test_busy_content_rebuilds_up_once_and_stays() -> None:
    """Content that presses against the start cap gets one rebuild up, then none."""
    trace = run(60, 9_000_000, 8.0, 300_000, 0.85)
    assert trace.rebuilds == 1, trace.built
    assert trace.built[0] > BOUNDS.start_bps


def test_lasting_congestion_lowers_the_cap_without_a_loop() -> None:
    """Real congestion (estimate far under what is sent, for long) still lowers the cap,
    and the keyframe that costs does not start a loop."""
    trace = run(60, 6_000_000, 8.0, 200_000, 0.85, steady_estimate=2_500_000)
    assert trace.built[-1] == 2_500_000
    assert trace.rebuilds <= 2, trace.built  # at most: up at warm-up, down on congestion
    assert trace.targets[-1] == 2_500_000


def test_an_estimate_a_little_under_the_output_does_not_rebuild() -> None:
    """A receiver short of CPU reads its own queueing as congestion: aiortc's estimate
    settles at about 0.86x what arrives. Lowering the cap there would save little and cost
    a keyframe (and the next dip another), so after the one rebuild up at warm-up the cap
    stays; the target follows the estimate."""
    trace = run(60, 8_000_000, 8.0, 300_000, 0.85, steady_estimate=6_880_000)
    assert trace.built == [BOUNDS.ceiling_bps], trace.built
    assert trace.targets[-1] == 6_880_000


def test_idle_screen_never_rebuilds() -> None:
    # A still screen: tiny frames; the estimate collapses to a trickle.
    trace = run(60, 80_000, 8.0, 150_000, 0.5, steady_estimate=200_000)
    assert trace.rebuilds == 0, trace.built


def test_decrease_right_after_keyframe_is_ignored() -> None:
    policy = BitratePolicy(BOUNDS)
    t = 50.0
    for i in range(90):
        policy.record_output(25_000, t + i / FPS)  # 6 Mbit/s, using the budget
    t += 3.0
    policy.record_output(300_000, t, keyframe=True)
    assert policy.on_estimate(2_000_000, t + 0.3) == BOUNDS.start_bps
    assert policy.ignored_after_keyframe == 1
    # The keyframe did not count as output: the rate is still the P-frames' rate.
    rate = policy.output_bps(t + 0.3)
    assert rate is not None and rate < 7_000_000
    # After the grace period a far-below estimate is congestion again.
    for i in range(40):
        policy.record_output(25_000, t + 0.3 + i / FPS)
    assert policy.on_estimate(2_000_000, t + 1.7) == 2_000_000
