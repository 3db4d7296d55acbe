"""Which STUN/TURN servers a connection gets, and how a failed set-up is worded."""

from __future__ import annotations

import argparse

import pytest

from castapp.cli_ice import own_ice_servers
from castapp.protocol import IceServer
from castapp.rtc.diagnose import Diagnosis, describe
from castapp.rtc.ice import IceChooser, IcePlan
from castapp.rtc.peer import IcePath, Route

SERVERS = [
    IceServer(urls=["stun:stun.example:3478", "stun:other.example"]),
    IceServer(urls=["turns:turn.example:443?transport=tcp", "turn:turn.example:3478",
                    "turn:turn.example:3478?transport=tcp", "turn:x?transport=tls"],
              username="1:u", credential="c"),
]


def test_one_stun_and_turn_over_udp_first_then_tcp_without_stun() -> None:
    chooser = IceChooser(IcePlan.from_servers(SERVERS))
    first = chooser.servers()
    assert [s.urls for s in first] == [["stun:stun.example:3478"], ["turn:turn.example:3478"]]
    assert first[1].username == "1:u" and first[1].credential == "c"
    assert not chooser.learn({"host", "srflx", "relay"})  # UDP TURN worked: keep it
    assert chooser.learn({"host"})  # neither STUN nor TURN answered: UDP is blocked
    assert [s.urls for s in chooser.servers()] == [["turns:turn.example:443?transport=tcp"]]
    assert not chooser.learn({"host"})  # nothing left to try


def test_relay_only_passes_no_stun_and_fresh_credentials_keep_what_was_learnt() -> None:
    chooser = IceChooser(IcePlan.from_servers(SERVERS, relay_only=True))
    assert [s.urls for s in chooser.servers()] == [["turn:turn.example:3478"]]
    chooser.learn({"srflx"})
    fresh = [IceServer(urls=s.urls, username="2:u", credential="d") for s in SERVERS]
    chooser.replan(IcePlan.from_servers(fresh, relay_only=True))
    (only,) = chooser.servers()
    assert only.urls == ["turns:turn.example:443?transport=tcp"] and only.username == "2:u"


def test_every_diagnosis_has_words_and_routes_have_kinds() -> None:
    assert "TURN server refused the credentials" in describe(Diagnosis.TURN_REFUSED)
    assert "no TURN server configured" in describe(Diagnosis.NO_PATH_NO_TURN)
    assert all(describe(d) for d in Diagnosis)
    assert IcePath("host", "srflx", "a", "b").route is Route.NAT
    assert IcePath("relay", "prflx", "a", "b").route is Route.RELAY
    assert IcePath("host", "host", "a", "b").route is Route.DIRECT


def test_own_servers_from_flags() -> None:
    args = argparse.Namespace(ice_server=["stun:s.example", "turn:t.example"],
                              turn_user="me", turn_pass="pw")
    stun, turn = own_ice_servers(args)
    assert stun.username is None and (turn.username, turn.credential) == ("me", "pw")
    with pytest.raises(ValueError, match="--turn-user and --turn-pass"):
        own_ice_servers(argparse.Namespace(ice_server=["turn:t"], turn_user=None,
                                           turn_pass=None))
    with pytest.raises(ValueError, match="not a STUN or TURN URL"):
        own_ice_servers(argparse.Namespace(ice_server=["http://x"], turn_user=None,
                                           turn_pass=None))
