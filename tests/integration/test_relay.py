"""Pairing and relay through a real room service with real WebSocket clients."""

from __future__ import annotations

import asyncio
import json

from castapp import protocol as p
from castapp.codes import group


async def test_register_join_and_relay_round_trip(server, make_client):
    receiver = await make_client(server.url, name="Living room TV")
    sender = await make_client(server.url, name="Ada's laptop")

    reg = await receiver.register()
    assert len(reg.code) == 6 and reg.code.isdigit()
    assert reg.token and reg.ice_servers == [] and reg.max_senders == 4

    joined = await sender.join(group(reg.code))  # typed as shown: "482 913"
    assert joined.receiver.peer_id == receiver.peer_id
    assert joined.receiver.name == "Living room TV"
    notice = await receiver.next_event(5)
    assert isinstance(notice, p.PeerJoined)
    assert notice.peer.peer_id == sender.peer_id and notice.peer.name == "Ada's laptop"

    await sender.send_offer(receiver.peer_id, "v=0 offer")
    offer = await receiver.next_event(5)
    assert offer == p.RelayedOffer(from_=sender.peer_id, sdp="v=0 offer")

    await receiver.send_answer(sender.peer_id, "v=0 answer")
    answer = await sender.next_event(5)
    assert answer == p.RelayedAnswer(from_=receiver.peer_id, sdp="v=0 answer")

    cand = p.IceCandidate(candidate="candidate:1 1 UDP 1 198.51.100.1 9 typ host",
                          sdpMid="0", sdpMLineIndex=0)
    await sender.send_candidate(receiver.peer_id, cand)
    await sender.send_candidate(receiver.peer_id, None)
    got = await receiver.next_event(5)
    assert isinstance(got, p.RelayedCandidate) and got.candidate == cand
    end = await receiver.next_event(5)
    assert isinstance(end, p.RelayedCandidate) and end.candidate is None

    await receiver.send_bye(sender.peer_id, "stopped")
    bye = await sender.next_event(5)
    assert bye == p.RelayedBye(from_=receiver.peer_id, reason="stopped")


async def test_sender_leaving_is_told_to_receiver_at_once(server, make_client):
    receiver = await make_client(server.url)
    sender = await make_client(server.url)
    reg = await receiver.register()
    await sender.join(reg.code)
    assert isinstance(await receiver.next_event(5), p.PeerJoined)
    await sender.leave()
    left = await receiver.next_event(5)
    assert left == p.PeerLeft(peer_id=sender.peer_id, role=p.Role.SENDER,
                              reason=p.LeaveReason.LEFT)


async def test_receiver_closing_the_room_tells_senders(server, make_client):
    receiver = await make_client(server.url)
    sender = await make_client(server.url)
    reg = await receiver.register()
    await sender.join(reg.code)
    await receiver.leave()
    left = await sender.next_event(5)
    assert isinstance(left, p.PeerLeft) and left.reason is p.LeaveReason.LEFT
    closed = await sender.next_event(5)
    assert isinstance(closed, p.RoomClosed)


async def test_senders_cannot_reach_each_other(server, make_client):
    receiver = await make_client(server.url)
    a = await make_client(server.url)
    b = await make_client(server.url)
    reg = await receiver.register()
    await a.join(reg.code)
    await b.join(reg.code)
    await a.send_offer(b.peer_id, "sdp")
    err = await a.next_event(5)
    assert isinstance(err, p.Error) and err.code is p.ErrorCode.NOT_IN_ROOM
    # the receiver may address either sender
    await receiver.send_answer(b.peer_id, "x")
    got = await b.next_event(5)
    assert isinstance(got, p.RelayedAnswer) and got.from_ == receiver.peer_id


async def test_codes_and_tokens_never_reach_the_logs(server, make_client, caplog):
    caplog.set_level("DEBUG")
    receiver = await make_client(server.url)
    sender = await make_client(server.url)
    reg = await receiver.register()
    await sender.join(reg.code)
    await receiver.close()
    await sender.next_event(5)
    assert caplog.records, "expected the service to log something at DEBUG"
    text = caplog.text
    assert reg.code not in text and reg.token not in text


async def test_signal_bodies_are_relayed_unread_and_decoded_by_the_peer(server, make_client):
    receiver = await make_client(server.url)
    sender = await make_client(server.url)
    reg = await receiver.register()
    await sender.join(reg.code)
    assert isinstance(await receiver.next_event(5), p.PeerJoined)

    await receiver.send_signal(sender.peer_id, p.Admission(state=p.AdmissionState.WAITING))
    got = await sender.next_event(5)
    assert isinstance(got, p.RelayedSignal) and got.from_ == receiver.peer_id
    assert p.decode_peer(got.body) == p.Admission(state=p.AdmissionState.WAITING)

    # The service does not read bodies: one the peer cannot decode still arrives, and the
    # peer's decoder refuses it with a bad_message.
    body = {"kind": "view", "width": -1}
    await sender.send_raw(json.dumps({"type": "signal", "to": receiver.peer_id, "body": body}))
    odd = await receiver.next_event(5)
    assert isinstance(odd, p.RelayedSignal)
    try:
        p.decode_peer(odd.body)
    except p.ProtocolError as exc:
        assert exc.code is p.ErrorCode.BAD_MESSAGE
    else:
        raise AssertionError("an invalid view hint was accepted")


async def test_the_join_is_known_as_soon_as_its_reply_is_read(server, make_client):
    """A TV in open mode answers a join with its admission at once; the sender's client
    must know whom it joined when the reply is read, before the next frame (the admission)
    is, since the caller of join() may run only later: else the admission is taken for a
    stranger's and dropped, and the sender waits for ever."""
    receiver = await make_client(server.url, name="TV")
    sender = await make_client(server.url, name="Ada")
    await receiver.register()
    reply = p.Joined(receiver=p.PeerInfo(peer_id=receiver.peer_id, role=p.Role.RECEIVER,
                                         name="TV"), ice_servers=[])
    pending: asyncio.Future[p.Outbound] = asyncio.get_running_loop().create_future()
    sender._pending["join"] = pending
    assert sender._resolve(reply)  # what the reading loop does with the reply's frame
    assert sender.joined is reply  # ... before it reads another
    assert await pending is reply
