"""A Wayland socket proxy that lets xdg-desktop-portal-wlr 0.7.0 screencast shared memory.

xdpw 0.7.0 (Debian 12) refuses every screencast unless the compositor's screencopy frame
announces a DMA-BUF format (``zwlr_screencopy_frame_v1.linux_dmabuf``): in
``start_screencast`` it tests the *portal's* interface version (always 4) where the
*screencopy* version was meant, so a compositor that offers shared memory only, like sway
with the pixman renderer on a machine without a GPU, gets "unable to receive a valid
format from wlr_screencopy" and the portal answers ``Start`` with an error. Upstream
removed that test in 0.8.0.

This proxy sits between xdpw and the compositor and forwards every message unchanged,
except that it adds a ``linux_dmabuf`` event (the shared-memory buffer's format and size)
before a screencopy frame's ``buffer_done`` when the compositor sent none. That satisfies
the check and nothing else: without a GBM device xdpw offers PipeWire shared-memory
(MemFd) buffers only, and the compositor fills them through ``wl_shm`` as usual.

Run: ``python wayland_shm_proxy.py LISTEN_PATH COMPOSITOR_PATH``; prints ``ready`` once
listening.
"""

from __future__ import annotations

import array
import ctypes
import os
import selectors
import signal
import socket
import struct
import sys

SCREENCOPY_MANAGER = "zwlr_screencopy_manager_v1"
FRAME_BUFFER, FRAME_LINUX_DMABUF, FRAME_BUFFER_DONE = 0, 5, 6  # events
FRAME_DESTROY = 1  # request
MAX_FDS = 28

# wl_shm formats are DRM fourccs except these two.
SHM_TO_DRM = {0: 0x34325241, 1: 0x34325258}  # ARGB8888, XRGB8888


def _string(data: bytes, pos: int) -> tuple[str, int]:
    (length,) = struct.unpack_from("=I", data, pos)
    text = data[pos + 4 : pos + 4 + length - 1].decode()
    return text, pos + 4 + (length + 3) // 4 * 4


class Connection:
    def __init__(self, client: socket.socket, server: socket.socket) -> None:
        self.client, self.server = client, server
        self.buffers = {client: b"", server: b""}
        self.fds: dict[socket.socket, list[int]] = {client: [], server: []}
        self.registries: set[int] = set()
        self.managers: set[int] = set()
        self.frames: dict[int, dict[str, object]] = {}

    def peer(self, sock: socket.socket) -> socket.socket:
        return self.server if sock is self.client else self.client

    def receive(self, sock: socket.socket) -> bool:
        fds = array.array("i")
        data, ancdata, _, _ = sock.recvmsg(65536, socket.CMSG_SPACE(MAX_FDS * fds.itemsize))
        if not data:
            return False
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
        self.fds[sock].extend(fds)
        self.buffers[sock] += data
        out = bytearray()
        buf = self.buffers[sock]
        pos = 0
        while len(buf) - pos >= 8:
            obj, word = struct.unpack_from("=II", buf, pos)
            size, opcode = word >> 16, word & 0xFFFF
            if size < 8 or len(buf) - pos < size:
                break
            message = buf[pos : pos + size]
            if sock is self.client:
                self.request(obj, opcode, message)
            else:
                out += self.event(obj, opcode, message)
            out += message
            pos += size
        self.buffers[sock] = buf[pos:]
        self.forward(self.peer(sock), bytes(out), self.fds[sock])
        return True

    @staticmethod
    def forward(sock: socket.socket, data: bytes, fds: list[int]) -> None:
        while data or fds:
            batch, rest = fds[:MAX_FDS], fds[MAX_FDS:]
            anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", batch))] if batch else []
            sent = sock.sendmsg([data], anc)
            for fd in batch:
                os.close(fd)
            fds[:] = rest
            data = data[sent:]
            if not data and not fds:
                break

    def request(self, obj: int, opcode: int, msg: bytes) -> None:
        if obj == 1 and opcode == 1:  # wl_display.get_registry(new_id)
            self.registries.add(struct.unpack_from("=I", msg, 8)[0])
        elif obj in self.registries and opcode == 0:  # wl_registry.bind(name, iface, ver, id)
            interface, pos = _string(msg, 12)
            new_id = struct.unpack_from("=I", msg, pos + 4)[0]
            if interface == SCREENCOPY_MANAGER:
                self.managers.add(new_id)
        elif obj in self.managers and opcode in (0, 1):  # capture_output[_region](new_id, ...)
            self.frames[struct.unpack_from("=I", msg, 8)[0]] = {}
        elif obj in self.frames and opcode == FRAME_DESTROY:
            # The id may soon name another object; its events must pass untouched.
            del self.frames[obj]

    def event(self, obj: int, opcode: int, msg: bytes) -> bytes:
        frame = self.frames.get(obj)
        if frame is None:
            return b""
        if opcode == FRAME_BUFFER:
            shm_format, width, height, _ = struct.unpack_from("=4I", msg, 8)
            frame["format"] = SHM_TO_DRM.get(shm_format, shm_format)
            frame["size"] = (width, height)
        elif opcode == FRAME_LINUX_DMABUF:
            frame["dmabuf"] = True
        elif opcode == FRAME_BUFFER_DONE and not frame.get("dmabuf") and "size" in frame:
            width, height = frame["size"]  # type: ignore[misc]
            return struct.pack("=II3I", obj, (20 << 16) | FRAME_LINUX_DMABUF,
                               frame["format"], width, height)
        return b""


def main() -> None:
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: go with the test
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    listen_path, compositor_path = sys.argv[1], sys.argv[2]
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(listen_path)
    listener.listen(8)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ)
    print("ready", flush=True)
    while True:
        for key, _ in sel.select():
            sock = key.fileobj
            if sock is listener:
                client, _ = listener.accept()
                server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                server.connect(compositor_path)
                conn = Connection(client, server)
                sel.register(client, selectors.EVENT_READ, conn)
                sel.register(server, selectors.EVENT_READ, conn)
                continue
            conn = key.data
            assert isinstance(sock, socket.socket) and isinstance(conn, Connection)
            try:
                alive = conn.receive(sock)
            except OSError:
                alive = False
            if not alive:
                for s in (conn.client, conn.server):
                    sel.unregister(s)
                    s.close()


if __name__ == "__main__":
    main()
