"""Sender target resolution (castapp.app.target), as ``castapp send`` and the sender window use it.

Real room services and real sessions; discovery is the injected dependency: it answers as a
LAN would when the receiver found no longer knows the code by the time the sender joins (its
code changed meanwhile), so the sender must skip it and look again.
"""

from __future__ import annotations

import pytest

from castapp.app.target import (
    Caster,
    CastFailed,
    Found,
    Looking,
    parse_target,
    service_url,
    start_source,
    synthetic_source,
)
from castapp.discovery.record import NotFound, NotFoundReason, Receiver
from castapp.quality import PRESETS
from castapp.rtc.capture import SyntheticSource

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("loopback_only")]


def advert(server, instance: str) -> Receiver:
    return Receiver(name=instance, host="127.0.0.1", port=server.port, addresses=("127.0.0.1",),
                    instance=instance, version=2)


async def test_a_receiver_that_does_not_know_the_code_is_skipped(start_server, make_client):
    wrong, right = await start_server(), await start_server()
    tv = await make_client(right.url, name="TV")
    code = (await tv.register()).code
    asked: list[list[str]] = []

    async def discover(wanted: str, skip):
        assert wanted == code
        asked.append(list(skip))
        return advert(wrong, "kitchen") if "kitchen" not in skip else advert(right, "tv")

    events: list[object] = []
    caster = Caster(discover=discover, name="Ada", on_event=events.append)
    source = SyntheticSource(320, 240, fps=15)
    await start_source(source)
    try:
        session = await caster.cast(parse_target(code), None, source)
        try:
            assert session.url == right.url
            assert session.status.receiver == "TV"
        finally:
            await session.close()
    finally:
        source.stop()
    assert asked == [[], ["kitchen"]]
    assert events == [Looking(0), Found("kitchen", "127.0.0.1", wrong.port), Looking(1),
                      Found("tv", "127.0.0.1", right.port)]


async def test_no_receiver_with_the_code_is_said_after_the_skips(start_server):
    services = [await start_server() for _ in range(3)]

    async def discover(wanted: str, skip):
        return advert(services[len(skip)], f"r{len(skip)}")

    source = SyntheticSource(320, 240, fps=15)
    await start_source(source)
    try:
        with pytest.raises(CastFailed) as failed:
            await Caster(discover=discover).cast(parse_target("482913"), None, source)
    finally:
        source.stop()
    assert failed.value.failure.code == "not_found"


async def test_nothing_found_and_a_wrong_code_on_a_named_service(server):
    async def nobody(wanted: str, skip):
        return NotFound(NotFoundReason.INCOMPATIBLE, seen=1, name="Old TV", version=1)

    source = SyntheticSource(320, 240, fps=15)
    await start_source(source)
    try:
        with pytest.raises(CastFailed) as failed:
            await Caster(discover=nobody).cast(parse_target("482913"), None, source)
        assert failed.value.failure.code == "incompatible"
        with pytest.raises(CastFailed) as failed:
            await Caster().cast(parse_target("482913"), server.url, source)
        assert failed.value.failure.code == "unknown_code"
    finally:
        source.stop()


def test_what_was_typed_resolves_or_is_refused_in_words():
    target = parse_target("castapp://10.1.2.3:9000/482913")
    assert service_url(target, "ignored:1") == "ws://10.1.2.3:9000/ws"
    assert service_url(parse_target("482 913"), "cast.example.org") == \
        "ws://cast.example.org:8765/ws"
    assert service_url(parse_target("482913"), "") is None  # look on the LAN
    for typed, code in (("", "no_code"), ("12", "bad_input"), ("castapp://x/1", "bad_input")):
        with pytest.raises(CastFailed) as failed:
            parse_target(typed)
        assert failed.value.failure.code == code
    with pytest.raises(CastFailed) as failed:
        service_url(parse_target("482913"), "bad host:1")
    assert failed.value.failure.code == "bad_address"


def test_a_size_is_taken_or_said():
    for size in ((1366, 768), (1680, 1050), (2880, 1800), (1920, 1080)):
        try:
            source = synthetic_source(size, PRESETS["balanced"].fps)
        except CastFailed as exc:
            assert exc.failure.code == "bad_size"
            assert exc.failure.args["size"] == f"{size[0]}x{size[1]}"
        else:
            assert (source.width, source.height) == size
