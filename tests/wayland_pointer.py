"""A virtual pointer on a wlroots compositor, for tests: puts the mouse pointer at a spot.

A headless sway has no input devices, so it shows no pointer at all. This minimal Wayland
client (the wire protocol by hand, no library) creates a pointer through
``zwlr_virtual_pointer_manager_v1``, which makes the seat show its cursor, and moves it to
absolute positions on the output.
"""

from __future__ import annotations

import socket
import struct
import time

MANAGER = "zwlr_virtual_pointer_manager_v1"


def _string(text: str) -> bytes:
    raw = text.encode() + b"\0"
    return struct.pack("=I", len(raw)) + raw + b"\0" * (-len(raw) % 4)


class VirtualPointer:
    def __init__(self, socket_path: str, extent: tuple[int, int]) -> None:
        self.extent = extent
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(socket_path)
        self._send(1, 1, struct.pack("=I", 2))  # wl_display.get_registry -> 2
        self._send(1, 0, struct.pack("=I", 3))  # wl_display.sync -> 3
        name = self._find_global()
        self._send(2, 0, struct.pack("=I", name) + _string(MANAGER) + struct.pack("=II", 1, 4))
        self._send(4, 0, struct.pack("=II", 0, 5))  # create_virtual_pointer(seat=NULL) -> 5

    def _send(self, obj: int, opcode: int, args: bytes = b"") -> None:
        self.sock.sendall(struct.pack("=II", obj, ((8 + len(args)) << 16) | opcode) + args)

    def _find_global(self) -> int:
        buf, found = b"", 0
        while True:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("the compositor closed the connection")
            buf += chunk
            while len(buf) >= 8:
                obj, word = struct.unpack_from("=II", buf)
                size = word >> 16
                if len(buf) < size:
                    break
                msg, buf = buf[:size], buf[size:]
                if obj == 2 and word & 0xFFFF == 0:  # wl_registry.global(name, iface, ver)
                    (name, length) = struct.unpack_from("=II", msg, 8)
                    if msg[16 : 16 + length - 1].decode() == MANAGER:
                        found = name
                elif obj == 3:  # the sync callback: every global has been announced
                    if not found:
                        raise RuntimeError(f"the compositor offers no {MANAGER}")
                    return found

    def move_to(self, x: int, y: int) -> None:
        stamp = int(time.monotonic() * 1000) & 0xFFFFFFFF
        self._send(5, 1, struct.pack("=5I", stamp, x, y, *self.extent))  # motion_absolute
        self._send(5, 4)  # frame

    def close(self) -> None:
        self.sock.close()
