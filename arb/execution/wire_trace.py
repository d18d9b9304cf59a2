"""Seeing the wire: when a request's bytes were written, and what came back.

The live executor decides an order's outcome from what the wire showed, not from the client library's
exception class (:mod:`arb.execution.outcome`): whether the request was written at all, the HTTP
status, the headers and the body. :class:`WireTrace` is an aiohttp session whose trace hooks fill a
:class:`WireRecord` for the task that sends the request, so concurrent requests never mix their records.
"""

from __future__ import annotations

__all__ = ["WireRecord", "WireTrace", "failure_reason"]

import asyncio
import contextlib
import contextvars
import socket
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp


@dataclass(slots=True)
class WireRecord:
    """What one request did on the wire (filled by :class:`WireTrace`'s hooks)."""

    written_ns: int = 0
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    """The response body as ccxt read it (None when none was read: timeout, dropped connection)."""
    on_written: Callable[[], None] | None = None
    on_writing: Callable[[], None] | None = None
    """Called once, right before the request's bytes are handed to the socket (an order's departure:
    :mod:`arb.execution.departure`)."""
    request: str = ""
    """The last request started, as ``"GET /api/v3/myTrades"`` (empty: none was started). A call that
    makes several requests (ccxt's market load) leaves the record of its last one."""
    url: str = ""
    """That request's URL without its query."""


_CURRENT: contextvars.ContextVar[WireRecord | None] = contextvars.ContextVar("arb_wire_record", default=None)


class WireTrace:
    """An aiohttp session that records, for the task that sends a request, what happened on the wire.

    A task sets a :class:`WireRecord` with :meth:`record`; aiohttp calls the hooks in that task's
    context (the body writer task inherits it), so concurrent requests never mix their records.
    """

    def __init__(self, clock: Callable[[], int]) -> None:
        self.clock = clock
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        """The traced session (made on first use, inside the running loop)."""
        if self._session is None:
            config = aiohttp.TraceConfig()
            config.on_request_start.append(self._start)
            config.on_request_headers_sent.append(self._headers_sent)
            config.on_request_chunk_sent.append(self._chunk_sent)
            config.on_request_end.append(self._end)
            config.on_response_chunk_received.append(self._body)
            # no cookies: the venues authenticate by signature, and the jar costs every request time
            self._session = aiohttp.ClientSession(trace_configs=[config], cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @staticmethod
    def record() -> WireRecord:
        """Start recording the current task's next request; returns the record."""
        rec = WireRecord()
        _CURRENT.set(rec)
        return rec

    @staticmethod
    @contextlib.contextmanager
    def recording() -> Iterator[WireRecord]:
        """Record the requests the current task makes inside the block (the last one's answer is kept);
        tasks started afterwards do not inherit the record."""
        rec = WireRecord()
        token = _CURRENT.set(rec)
        try:
            yield rec
        finally:
            _CURRENT.reset(token)

    @staticmethod
    def note_written(request: str, url: str, written_ns: int) -> None:
        """Record, for the current task, a request written at ``written_ns`` on another transport than this
        session (an order WebSocket): as the hooks record an HTTP request's (``on_written`` included)."""
        rec = _CURRENT.get()
        if rec is not None:
            rec.request, rec.url = request, url
            rec.written_ns, rec.status, rec.headers, rec.body = written_ns, None, {}, None
            if rec.on_written is not None:
                callback, rec.on_written = rec.on_written, None
                callback()

    @staticmethod
    def note_answer(status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        """Record the answer to that request: the status and body its REST endpoint would have answered."""
        rec = _CURRENT.get()
        if rec is not None:
            rec.status, rec.body, rec.headers = status, body, dict(headers or {})

    async def _start(self, session: Any, ctx: Any, params: Any) -> None:
        # A new request: the record describes it from now on (not what an earlier request of the call said)
        rec = _CURRENT.get()
        if rec is not None:
            url = params.url
            rec.request = f"{params.method} {url.path}"
            rec.url = str(url.with_query(None))
            rec.written_ns, rec.status, rec.headers, rec.body = 0, None, {}, None

    # aiohttp awaits these hooks right before it hands the bytes to the transport, in the same task step
    # (nothing else runs in between: the hooks return without suspending), so the time read here is the
    # socket write's, a few microseconds early. The written callback (the failpoint after the write) is
    # scheduled from here and runs once the step is over, when the bytes are in the socket. (Stamping in
    # that callback instead would date the write after whatever else the loop had ready: another order's
    # whole request, seen as 0.1-1 ms late.)

    async def _headers_sent(self, session: Any, ctx: Any, params: Any) -> None:
        rec = _CURRENT.get()
        if rec is not None and (params.method in ("GET", "DELETE") or params.headers.get("Content-Length") == "0"):
            self._writing(rec)  # no body follows: the headers leave now

    async def _chunk_sent(self, session: Any, ctx: Any, params: Any) -> None:
        rec = _CURRENT.get()
        if rec is not None:
            self._writing(rec)

    def _writing(self, rec: WireRecord) -> None:
        if rec.on_writing is not None:
            callback, rec.on_writing = rec.on_writing, None
            callback()
        if not rec.written_ns:  # a body in several chunks: its first one's
            rec.written_ns = self.clock()
        if rec.on_written is not None:
            asyncio.get_running_loop().call_soon(self._written, rec)

    @staticmethod
    def _written(rec: WireRecord) -> None:
        if rec.on_written is not None:
            callback, rec.on_written = rec.on_written, None
            callback()

    async def _end(self, session: Any, ctx: Any, params: Any) -> None:
        rec = _CURRENT.get()
        if rec is not None:
            rec.status = params.response.status
            rec.headers = dict(params.response.headers)

    async def _body(self, session: Any, ctx: Any, params: Any) -> None:
        rec = _CURRENT.get()
        if rec is not None:
            rec.body = (rec.body or b"") + bytes(params.chunk)


def failure_reason(error: BaseException) -> str:
    """What failed under a request, in a few words: the connection's error (refused, unknown host), else
    the client's own text (ccxt's, after an answer it could not use)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, socket.gaierror):
            return f"the host name is unknown: {seen}"
        os_error = getattr(seen, "os_error", None)  # aiohttp's ClientConnectorError
        if isinstance(os_error, ConnectionRefusedError):
            return "connection refused"
        if isinstance(os_error, OSError) and os_error.strerror:
            return str(os_error.strerror)
        seen = seen.__cause__ or seen.__context__
    return " ".join(str(error).split())[:200]
