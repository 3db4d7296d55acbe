"""Which STUN and TURN servers a peer connection gets, chosen deliberately.

aioice uses only the first STUN URL and the first usable TURN URL it is handed, so passing a
long list is the same as passing its first entries. :class:`IceChooser` instead picks one
STUN server and one TURN server: TURN over UDP first (fastest), and TURN over TCP or TLS when
a UDP allocation gathered no relay candidate (a firewall that blocks UDP). When STUN gave no
answer either, later attempts leave STUN out, which saves its 5 s gathering timeout. What it
learns is kept for the whole session, so a rebuilt connection goes straight to what worked:
after media went through NAT or directly, a rebuilt connection leaves the relay out until that
path fails to come back.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from aiortc import RTCIceServer, RTCPeerConnection
from aiortc.rtcicetransport import parse_stun_turn_uri

from castapp.rtc.peer import IceServerLike, Route, local_candidate_types, to_ice_servers

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TurnServer:
    url: str
    username: str | None
    credential: str | None

    @property
    def over_udp(self) -> bool:
        parsed = parse_stun_turn_uri(self.url)
        return bool(parsed["scheme"] == "turn" and parsed["transport"] == "udp")

    @property
    def address(self) -> tuple[str, int]:
        parsed = parse_stun_turn_uri(self.url)
        return str(parsed["host"]), int(parsed["port"])

    def ice_server(self) -> RTCIceServer:
        return RTCIceServer(urls=[self.url], username=self.username, credential=self.credential)


def _usable_turn(url: str) -> bool:
    """Only the TURN transports aioice can use: ``turn:`` UDP/TCP and ``turns:`` TCP."""
    try:
        parsed = parse_stun_turn_uri(url)
    except ValueError:
        return False
    if parsed["scheme"] == "turn":
        return parsed["transport"] in ("udp", "tcp")
    return parsed["scheme"] == "turns" and parsed["transport"] == "tcp"


@dataclass(frozen=True)
class IcePlan:
    """The first STUN server, the first TURN over UDP and the first TURN over TCP/TLS."""

    stun: str | None = None
    turn_udp: TurnServer | None = None
    turn_tcp: TurnServer | None = None
    relay_only: bool = False

    @classmethod
    def from_servers(
        cls, servers: Iterable[RTCIceServer | IceServerLike], *, relay_only: bool = False
    ) -> IcePlan:
        stun: str | None = None
        udp: TurnServer | None = None
        tcp: TurnServer | None = None
        for server in to_ice_servers(servers):
            urls = server.urls if isinstance(server.urls, list) else [server.urls]
            for url in urls:
                scheme = url.split(":", 1)[0].lower()
                if scheme == "stun" and stun is None:
                    stun = url
                elif scheme in ("turn", "turns") and _usable_turn(url):
                    turn = TurnServer(url, server.username, server.credential)
                    if turn.over_udp and udp is None:
                        udp = turn
                    elif not turn.over_udp and tcp is None:
                        tcp = turn
        return cls(stun, udp, tcp, relay_only)

    @property
    def has_turn(self) -> bool:
        return self.turn_udp is not None or self.turn_tcp is not None

    @property
    def stun_address(self) -> tuple[str, int] | None:
        if self.stun is None:
            return None
        parsed = parse_stun_turn_uri(self.stun)
        return str(parsed["host"]), int(parsed["port"])


class IceChooser:
    """The servers for the next peer connection, adjusted by what earlier ones gathered."""

    def __init__(self, plan: IcePlan) -> None:
        self.plan = plan
        self.use_tcp = plan.turn_udp is None
        self.skip_stun = False
        #: The route the last connection that came up took (None before the first).
        self.best: Route | None = None

    def replan(self, plan: IcePlan) -> IceChooser:
        """Take new servers (fresh credentials), keeping what was learnt about the network."""
        use_tcp, skip_stun = self.use_tcp, self.skip_stun
        self.plan = plan
        self.use_tcp = plan.turn_udp is None or (use_tcp and plan.turn_tcp is not None)
        self.skip_stun = skip_stun
        return self

    @property
    def relay_only(self) -> bool:
        return self.plan.relay_only

    @property
    def turn(self) -> TurnServer | None:
        return self.plan.turn_tcp if self.use_tcp else self.plan.turn_udp

    @property
    def avoid_relay(self) -> bool:
        """A path without the relay worked: rebuilt connections try it alone first, so the
        route does not alternate between NAT and relay from one reconnect to the next."""
        return self.best in (Route.DIRECT, Route.NAT) and not self.plan.relay_only

    def worked(self, route: Route | None) -> None:
        if route is not None and route is not self.best:
            log.info("media went %s; later connections try that first", route.value)
        self.best = route

    def path_failed(self) -> None:
        """A rebuilt connection did not come up: offer everything again, the relay included."""
        if self.avoid_relay:
            log.info("the %s path did not come back; offering the relay again",
                     self.best.value if self.best else "")
        self.best = None

    def servers(self) -> list[RTCIceServer]:
        out: list[RTCIceServer] = []
        if self.plan.stun and not self.skip_stun and not self.plan.relay_only:
            out.append(RTCIceServer(urls=[self.plan.stun]))
        if self.turn is not None and not self.avoid_relay:
            out.append(self.turn.ice_server())
        return out

    def filter_answer(self, sdp: str) -> str:
        """The other end's answer without its relay candidates while avoiding the relay."""
        if not self.avoid_relay:
            return sdp
        lines = sdp.split("\r\n")
        return "\r\n".join(line for line in lines if not is_relay_candidate(line))

    def learn(self, gathered: set[str]) -> bool:
        """Note what a connection gathered; True when trying other servers is worth it."""
        if self.use_tcp or self.plan.turn_tcp is None or "relay" in gathered or self.avoid_relay:
            return False
        log.info("TURN over UDP gave no relay candidate; trying TURN over TCP")
        self.use_tcp = True
        if self.plan.stun and "srflx" not in gathered:
            self.skip_stun = True  # STUN got no answer either: UDP is blocked
        return True


def is_relay_candidate(line: str) -> bool:
    """Whether an SDP line (``a=candidate:...``) or candidate string is a TURN relay one."""
    return "candidate:" in line and " typ relay" in line


Build = Callable[[list[RTCIceServer], bool], Awaitable[RTCPeerConnection]]


async def gather_with_fallback(chooser: IceChooser, build: Build) -> RTCPeerConnection:
    """``build`` makes a peer connection and sets its local description (which gathers).

    When TURN over UDP gathered no relay candidate and TURN over TCP is known, the connection
    is closed and built once more with it.
    """
    pc = await build(chooser.servers(), chooser.relay_only)
    if chooser.learn(local_candidate_types(pc)):
        await pc.close()
        pc = await build(chooser.servers(), chooser.relay_only)
    return pc
