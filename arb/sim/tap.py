"""A wire tap in front of a fake venue's port: when each of a client's bytes reached the venue, by the kernel.

A :class:`WireTap` listens on 127.0.0.1 (port 0), forwards every connection to the venue's real port and
back, and keeps what each client sent with the kernel's receive time of each segment (``SO_TIMESTAMPNS``:
stamped as the packet reached the tap's socket, before any process ran; ``CLOCK_REALTIME``, the clock of
arb's ``time.time_ns()``). Point a configuration's URL at :attr:`WireTap.port` instead of the venue's and
the venue sees the same requests; :meth:`WireTap.arrivals` then says when a request carrying a given text
(an order's client id) arrived, for HTTP requests and for WebSocket frames (unmasked) alike.

The tap runs in a thread of its own (blocking sockets and ``select``), so a busy event loop in the venue's
process delays the forwarding, never the stamps. It is a benchmark's instrument: what it measures is the
time a request's bytes reached the venue's port, which no log of the client's can see.
"""

from __future__ import annotations

__all__ = ["WireTap", "ws_payloads"]

import contextlib
import re
import select
import socket
import struct
import threading
from collections.abc import Iterator

_TIMESPEC = struct.Struct("@ll")
_SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
_SCM_TIMESTAMPNS = _SO_TIMESTAMPNS
_CMSG_SPACE = socket.CMSG_SPACE(_TIMESPEC.size)


class _Stream:
    """What one client sent on one connection: its bytes in order, and where each segment started with
    the kernel's time of its arrival."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.segments: list[tuple[int, int]] = []  # (offset of its first byte, arrival ns)

    def arrival_of(self, end: int) -> int:
        """The arrival of the segment that holds byte ``end - 1`` (the last byte of a request)."""
        stamp = 0
        for offset, ns in self.segments:
            if offset >= end:
                break
            stamp = ns
        return stamp


class WireTap:
    """A forwarding tap in front of ``host``:``port`` (see the module docstring); use as a context manager."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.streams: list[_Stream] = []
        self._pairs: dict[socket.socket, tuple[socket.socket, _Stream | None]] = {}
        self._stop_r, self._stop_w = socket.socketpair()
        self._thread = threading.Thread(target=self._run, name=f"wire-tap-{self.port}", daemon=True)

    def __enter__(self) -> WireTap:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop_w.send(b"x")
        self._thread.join()
        for sock in [self._listener, self._stop_r, self._stop_w, *self._pairs]:
            sock.close()

    def url(self, url: str) -> str:
        """``url`` (the venue's, on its port) with this tap's port instead."""
        return url.replace(f":{self.target[1]}", f":{self.port}", 1)

    def _run(self) -> None:
        while True:
            readable, _, _ = select.select([self._listener, self._stop_r, *self._pairs], [], [])
            for sock in readable:
                if sock is self._stop_r:
                    return
                if sock is self._listener:
                    self._accept()
                elif sock in self._pairs:
                    self._forward(sock)

    def _accept(self) -> None:
        client, _ = self._listener.accept()
        client.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        upstream = socket.create_connection(self.target)
        upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        stream = _Stream()
        self.streams.append(stream)
        self._pairs[client] = (upstream, stream)
        self._pairs[upstream] = (client, None)

    def _forward(self, sock: socket.socket) -> None:
        other, stream = self._pairs[sock]
        try:
            if stream is None:
                data = sock.recv(1 << 16)
            else:
                data, ancillary, _, _ = sock.recvmsg(1 << 16, _CMSG_SPACE)
                stamp = 0
                for level, kind, raw in ancillary:
                    if level == socket.SOL_SOCKET and kind == _SCM_TIMESTAMPNS:
                        seconds, nanos = _TIMESPEC.unpack(raw[: _TIMESPEC.size])
                        stamp = seconds * 1_000_000_000 + nanos
                if data:
                    stream.segments.append((len(stream.data), stamp))
                    stream.data += data
            if data:
                other.sendall(data)
                return
        except OSError:
            pass
        for end in (sock, other):  # one side closed: close both
            self._pairs.pop(end, None)
            with contextlib.suppress(OSError):
                end.close()

    def arrivals(self, pattern: bytes) -> dict[bytes, int]:
        """Every match of ``pattern`` (a regular expression) in what clients sent, HTTP requests and
        WebSocket frames unmasked, with the kernel's time its request arrived (the segment holding the
        request's last byte: the match's end for HTTP, the frame's end for WebSocket); the first arrival of
        each text."""
        found: dict[bytes, int] = {}
        regex = re.compile(pattern)
        for stream in self.streams:
            for end, text in _requests(bytes(stream.data)):
                for match in regex.finditer(text):
                    key = match.group(0)
                    if key not in found:
                        found[key] = stream.arrival_of(end if end else match.end())
        return found


def _requests(data: bytes) -> Iterator[tuple[int, bytes]]:
    # (end offset, text) of what a connection carried: one WebSocket frame each after an upgrade request,
    # else the whole of it with end 0 (a match's own end then dates it)
    head = data.find(b"\r\n\r\n")
    if head < 0 or b"upgrade: websocket" not in data[:head].lower():
        yield 0, data
        return
    yield from ws_payloads(data, head + 4)


def ws_payloads(data: bytes, offset: int = 0) -> Iterator[tuple[int, bytes]]:
    """The client frames in ``data`` from ``offset`` (RFC 6455: masked), each as (end offset, payload)."""
    while offset + 2 <= len(data):
        length, at = data[offset + 1] & 0x7F, offset + 2
        if length == 126:
            length, at = int.from_bytes(data[at : at + 2], "big"), at + 2
        elif length == 127:
            length, at = int.from_bytes(data[at : at + 8], "big"), at + 8
        masked = data[offset + 1] & 0x80
        mask = data[at : at + 4] if masked else b"\0\0\0\0"
        at += 4 if masked else 0
        end = at + length
        if end > len(data):
            return
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(data[at:end]))
        yield end, payload
        offset = end
