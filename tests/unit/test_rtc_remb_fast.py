"""The receiver's bitrate estimator gives the same REMB values with castapp's cheaper steps
(adaptation 9 of :mod:`castapp.rtc.adapt`) as with aiortc's own."""

from __future__ import annotations

import random

import pytest
from aiortc.rate import OveruseEstimator, RateCounter, RemoteBitrateEstimator

from castapp.rtc import adapt


def _trace(seed: int, packets: int = 6000) -> list[tuple[int, int, int, int]]:
    """(arrival ms, abs-send-time, size, ssrc) of a few video streams: frames of one to
    several packets, jitter, bursts, pauses longer than the rate window, overuse."""
    rng = random.Random(seed)
    out = []
    arrival, sent = 1_000, 0.0
    for i in range(packets):
        gap = rng.choice([0, 0, 1, 2, 33, 33, 34, 5, 70])
        if rng.random() < 0.005:
            gap = rng.randint(1_000, 5_000)  # a pause beyond the 1 s window
        sent += gap / 1000 * (0.8 if (i // 500) % 2 else 1.0)  # sender faster: queue grows
        arrival += gap + rng.randint(0, 3)
        abs_send = int(sent * (1 << 18)) & 0xFFFFFF
        out.append((arrival, abs_send, rng.randint(100, 1200), 1000 + i % 4))
    return out


def _remb(trace: list[tuple[int, int, int, int]]) -> list[object]:
    rbe = RemoteBitrateEstimator()
    return [rbe.add(arrival_time_ms=a, abs_send_time=t, payload_size=s, ssrc=c)
            for a, t, s, c in trace]


@pytest.fixture
def restore() -> object:
    yield
    adapt.uninstall()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_remb_values_unchanged(seed: int, restore: object) -> None:
    trace = _trace(seed)
    adapt.uninstall()
    stock = _remb(trace)
    adapt.install()
    assert OveruseEstimator.update_min_frame_period is adapt._update_min_frame_period
    ours = _remb(trace)
    assert any(r is not None for r in stock)
    assert ours == stock


class _StockCounter(RateCounter):
    _erase_old = adapt._stock_erase_old


class _FastCounter(RateCounter):
    _erase_old = adapt._erase_old_fast


def test_rate_counter_matches_stock() -> None:
    rng = random.Random(7)
    stock, ours = _StockCounter(1000, 8000), _FastCounter(1000, 8000)
    now = 0
    rates = 0
    for _ in range(20_000):
        now += rng.choice([0, 1, 3, 33, 400, 999, 1000, 1001, 2500])
        if rng.random() < 0.01:
            now -= rng.randint(0, 5)  # a late timestamp
        if rng.random() < 0.7:
            size = rng.randint(1, 1500)
            stock.add(size, now)
            ours.add(size, now)
        else:
            rate = stock.rate(now)
            rates += rate is not None
            assert ours.rate(now) == rate
        assert (ours._origin_ms, ours._origin_index) == (stock._origin_ms, stock._origin_index)
        assert ours._total == stock._total
    assert rates > 1000
    assert ours._buckets == stock._buckets


def test_min_frame_period_matches_stock() -> None:
    rng = random.Random(3)
    stock, ours = OveruseEstimator(), OveruseEstimator()
    for _ in range(500):
        delta = rng.choice([0.0, 16.6, 33.3, 33.3, 100.0, -5.0, rng.uniform(-50, 200)])
        assert adapt._update_min_frame_period(ours, delta) == \
            adapt._stock_min_frame_period(stock, delta)
        assert ours.ts_delta_hist == stock.ts_delta_hist
