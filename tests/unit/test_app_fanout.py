"""The application layer of a cast to several TVs (castapp.app.fanout): what a typed list
means, and a TV's failure, arrival and removal touching that TV only.

Real parts: a room service on loopback, real receiver sessions, real aiortc peers on
loopback-only candidates, a synthetic source through the shared encoder.
"""

from __future__ import annotations

import asyncio

import pytest

from castapp.app.fanout import NO_SFU, MultiCast, Tv, split_codes
from castapp.app.target import start_source
from castapp.codes import CodeFormat
from castapp.rtc.capture import SyntheticSource
from castapp.session.receiver import ReceiverSession, ReceiverState

pytestmark = pytest.mark.timeout(90)


@pytest.mark.parametrize(("typed", "entries"), [
    ("482 913", ["482 913"]),
    ("482913", ["482913"]),
    ("482 913, 130 557", ["482 913", "130 557"]),
    ("482913 130557", ["482913", "130557"]),
    ("482 913 130 557", ["482913", "130557"]),
    ("482913\uff1b130557\n777111", ["482913", "130557", "777111"]),
    ("castapp://10.0.0.2:8765/482913 130 557",
     ["castapp://10.0.0.2:8765/482913", "130 557"]),
    ("48", ["48"]),
    ("482 913 13", ["482 913 13"]),  # not whole codes: left as typed, said as one entry
    (" , ", []),
])
def test_a_typed_list_splits_into_its_entries(typed: str, entries: list[str]) -> None:
    assert split_codes(typed) == entries


def test_longer_codes_split_by_their_length() -> None:
    assert split_codes("12345678 87654321", CodeFormat(length=8)) == ["12345678", "87654321"]


async def test_a_bad_entry_fails_alone_before_anything_connects() -> None:
    seen: list[tuple[int, object]] = []
    source = SyntheticSource(160, 96, fps=10)
    cast = MultiCast(source, on_change=lambda tv: seen.append((tv.index, tv.failure)))
    try:
        mistyped, unfound = await cast.add_many(["12x", "482913"])
    finally:
        await cast.close()
    assert mistyped.failure.code == "bad_input" and mistyped.ended
    assert unfound.failure.code == "not_found" and unfound.ended  # no service, no LAN look
    assert {i for i, f in seen if f is not None} == {1, 2}
    assert cast.live == []


class Receiver:
    def __init__(self, url: str, name: str) -> None:
        self.frames = 0
        self.session = ReceiverSession(url, name=name, on_frame=self._frame)

    def _frame(self, _f: object) -> None:
        self.frames += 1

    async def frames_come(self, n: int = 8, timeout: float = 10.0) -> None:
        start = self.frames
        async with asyncio.timeout(timeout):
            while self.frames < start + n:
                await asyncio.sleep(0.05)


async def test_tvs_join_fail_and_leave_one_at_a_time(server, loopback_only) -> None:
    rx = [Receiver(server.url, n) for n in ("Lobby", "Kitchen", "Office")]
    codes = [(await r.session.start()).code for r in rx]
    source = SyntheticSource(320, 180, fps=15)
    await start_source(source)
    changes: list[int] = []
    cast = MultiCast(source, server=server.url, limit=3, name="Ada",
                     on_change=lambda tv: changes.append(tv.index))
    try:
        lobby, kitchen, unknown = await cast.add_many([codes[0], codes[1], "000000"])
        assert unknown.failure is not None and unknown.failure.code == "unknown_code"
        assert lobby.failure is None and kitchen.failure is None
        for r in rx[:2]:
            await r.session.wait_for(ReceiverState.RECEIVING, 20)
            await r.frames_come()
        assert lobby.casting and kitchen.casting and not unknown.casting
        assert lobby.name == "Lobby" and cast.sfu_offered is False
        assert {1, 2, 3} <= set(changes)

        # a duplicate is refused for that entry; the limit counts TVs still live
        again = await cast.add(codes[0])
        assert again.failure.code == "bad_input" and "twice" in again.failure.args["reason"]
        first_session = lobby.session
        office = await cast.add(codes[2])
        assert office.failure is None
        await rx[2].session.wait_for(ReceiverState.RECEIVING, 20)
        await rx[2].frames_come()
        assert lobby.session is first_session and lobby.casting  # not restarted
        full = await cast.add("777111")
        assert full.failure.code == "bad_input" and "at most 3" in full.failure.args["reason"]

        # one encode for all of them
        groups = cast.hub.stats()["groups"]
        assert len(groups) == 1 and groups[0]["subscribers"] == 3

        await cast.remove(kitchen)
        await rx[1].session.wait_for(ReceiverState.WAITING, 15)
        assert kitchen.ended and not kitchen.casting
        await rx[0].frames_come()
        await rx[2].frames_come()
        assert [tv.index for tv in cast.live] == [lobby.index, office.index]
        read = await cast.poll_stats()
        assert {tv.index for tv in read} == {lobby.index, office.index}
        assert all(tv.stats is not None and tv.stats.bytes_sent > 0 for tv in read)
    finally:
        await cast.close()
        source.stop()
        for r in rx:
            await r.session.stop()


async def test_through_the_media_server_on_a_service_without_one(server, loopback_only) -> None:
    receiver = ReceiverSession(server.url, name="TV")
    code = (await receiver.start()).code
    source = SyntheticSource(160, 96, fps=10)
    await start_source(source)
    cast = MultiCast(source, server=server.url, via_sfu=True)
    try:
        tv: Tv = await cast.add(code)
    finally:
        await cast.close()
        source.stop()
        await receiver.stop()
    assert cast.sfu_offered is False
    assert tv.failure is not None and tv.failure.args["reason"] == NO_SFU
    assert tv.ended
