"""The wire protocol module: parsing, refusal codes, and the docs table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from castapp import protocol as p

DOC = Path(__file__).parents[2] / "docs" / "protocol.md"


def test_round_trip_of_every_outbound_message():
    samples = [
        p.Welcome(version=1, peer_id="a", heartbeat_s=15, max_message_bytes=65536),
        p.Registered(code="482913", token="t", ttl_s=300, ice_servers=[
            p.IceServer(urls=["turn:x"], username="1:a", credential="c")], max_senders=4),
        p.Joined(receiver=p.PeerInfo("r", p.Role.RECEIVER, "TV"), ice_servers=[]),
        p.PeerJoined(peer=p.PeerInfo("s", p.Role.SENDER, "laptop")),
        p.PeerLeft(peer_id="s", role=p.Role.SENDER, reason=p.LeaveReason.TIMEOUT),
        p.RoomClosed(reason="bye"),
        p.RelayedOffer(from_="s", sdp="v=0"),
        p.RelayedAnswer(from_="r", sdp="v=0"),
        p.RelayedCandidate(from_="s", candidate=p.IceCandidate("candidate:x", "0", 0)),
        p.RelayedCandidate(from_="s", candidate=None),
        p.RelayedBye(from_="s", reason="stop"),
        p.Pong(ts=1.0),
        p.Shutdown(reason="restart", retry_after_ms=500),
        p.Error(code=p.ErrorCode.ROOM_FULL, message="full", ref="join"),
    ]
    for msg in samples:
        assert p.decode_outbound(p.encode(msg)) == msg
    assert b'"from":"s"' in p.encode(p.RelayedOffer(from_="s", sdp="v=0"))


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"\xff\xfe", p.ErrorCode.BAD_MESSAGE),
        ("null", p.ErrorCode.BAD_MESSAGE),
        ('{"type":"join"}', p.ErrorCode.BAD_MESSAGE),
        ('{"type":"join","code":"' + "1" * 40 + '"}', p.ErrorCode.BAD_MESSAGE),
        ('{"type":"hello","versions":[]}', p.ErrorCode.BAD_MESSAGE),
        ('{"type":"candidate","to":"x","candidate":{"candidate":1}}', p.ErrorCode.BAD_MESSAGE),
        ('{"type":"warp"}', p.ErrorCode.UNKNOWN_TYPE),
    ],
)
def test_refusals_are_classified(raw, code):
    with pytest.raises(p.ProtocolError) as info:
        p.decode_inbound(raw)
    assert info.value.code is code and info.value.message


def test_unknown_fields_are_ignored_for_forward_compatibility():
    msg = p.decode_inbound('{"type":"join","code":"123456","name":"x","future":true}')
    assert msg == p.Join(code="123456", name="x")


def test_docs_table_names_every_message_and_error_code():
    text = DOC.read_text()
    tags = {t.__struct_config__.tag for t in (*p.Inbound.__args__, *p.Outbound.__args__)}
    documented = set(re.findall(r"^\| `(\w+)` \|", text, re.M))
    assert tags <= documented, f"undocumented: {tags - documented}"
    for code in p.ErrorCode:
        assert f"`{code.value}`" in text, code
    assert f"version {p.PROTOCOL_VERSION}" in text.lower()
