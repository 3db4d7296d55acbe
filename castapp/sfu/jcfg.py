"""Configuration files for a Janus instance that serves castapp's SFU path.

:func:`write_config` writes ``janus.jcfg``, the WebSocket transport and the VideoRoom plugin
configuration into one folder: only those two modules are loaded, the WebSocket API listens
on one address, tokens are HMAC-signed with the shared secret (``token_auth_secret``: the
room service mints them, see :mod:`castapp.sfu.token`), and ICE uses only the listed
interfaces or addresses (``ice_enforce_list``). Used by the tests and by docs/deploy.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

LIB = Path("/usr/lib/x86_64-linux-gnu/janus")

_SAFE = re.compile(r"^[A-Za-z0-9_.,:/@+=-]*$")


def _q(value: str) -> str:
    """A jcfg string literal; values are restricted so nothing can break out of it."""
    if not _SAFE.match(value):
        raise ValueError(f"unsupported character in a Janus setting: {value!r}")
    return f'"{value}"'


@dataclass(frozen=True)
class JanusSettings:
    ws_ip: str = "127.0.0.1"
    ws_port: int = 8188
    token_secret: str = ""
    ice_enforce: str = "127.0.0.1"
    nat_1_1: str = ""
    rtp_ports: tuple[int, int] = (20000, 20999)
    lib: Path = LIB
    debug_level: int = 3

    def __post_init__(self) -> None:
        if not self.token_secret:
            raise ValueError("Janus needs a token secret shared with the room service")
        lo, hi = self.rtp_ports
        if not 1024 <= lo <= hi <= 65535:
            raise ValueError("the RTP port range must lie within 1024-65535")


def write_config(folder: Path, s: JanusSettings) -> Path:
    """Write the three files into ``folder``; returns the path of ``janus.jcfg``."""
    folder.mkdir(parents=True, exist_ok=True)
    plugins = sorted(p.name for p in (s.lib / "plugins").glob("libjanus_*.so")
                     if p.name != "libjanus_videoroom.so")
    transports = sorted(p.name for p in (s.lib / "transports").glob("libjanus_*.so")
                        if p.name != "libjanus_websockets.so")
    nat = f"\tnat_1_1_mapping = {_q(s.nat_1_1)}\n" if s.nat_1_1 else ""
    main = (
        "general: {\n"
        f"\tconfigs_folder = {_q(str(folder))}\n"
        f"\tplugins_folder = {_q(str(s.lib / 'plugins'))}\n"
        f"\ttransports_folder = {_q(str(s.lib / 'transports'))}\n"
        f"\tevents_folder = {_q(str(s.lib / 'events'))}\n"
        f"\tloggers_folder = {_q(str(s.lib / 'loggers'))}\n"
        f"\tdebug_level = {int(s.debug_level)}\n"
        "\ttoken_auth = true\n"
        f"\ttoken_auth_secret = {_q(s.token_secret)}\n"
        "\tserver_name = \"castapp-sfu\"\n"
        # Tokens expire and Janus checks them on every request, keepalives included: a
        # session lives as long as its WebSocket instead (destroyed when it closes).
        "\tsession_timeout = 0\n"
        "\treclaim_session_timeout = 0\n"
        "}\n"
        "media: {\n"
        f"\trtp_port_range = \"{s.rtp_ports[0]}-{s.rtp_ports[1]}\"\n"
        "\tnack_optimizations = true\n"
        "}\n"
        "nat: {\n"
        f"\tice_enforce_list = {_q(s.ice_enforce)}\n"
        "\tfull_trickle = false\n"
        f"{nat}"
        "}\n"
        f"plugins: {{\n\tdisable = {_q(','.join(plugins))}\n}}\n"
        f"transports: {{\n\tdisable = {_q(','.join(transports))}\n}}\n"
        "events: {\n\tbroadcast = false\n}\n"
        "loggers: {\n\tdisable = \"libjanus_jsonlog.so\"\n}\n"
    )
    (folder / "janus.jcfg").write_text(main)
    (folder / "janus.transport.websockets.jcfg").write_text(
        "general: {\n"
        "\tjson = \"compact\"\n"
        "\tws = true\n"
        f"\tws_port = {int(s.ws_port)}\n"
        f"\tws_ip = {_q(s.ws_ip)}\n"
        "\twss = false\n"
        "}\n"
        "admin: {\n\tadmin_ws = false\n\tadmin_wss = false\n}\n"
    )
    (folder / "janus.plugin.videoroom.jcfg").write_text("general: {\n}\n")
    return folder / "janus.jcfg"
