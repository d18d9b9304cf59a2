"""The REST lane's rules against a loopback HTTP server arb does not control: what its connections do
when the server answers, closes, says "Connection: close" or never answers (connectors.common.rest_lane)."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from connectors.common.order_entry import SignedRest
from connectors.common.order_socket import AnswerLostError
from connectors.common.rest_lane import RestLane
from tests.support.live_rig import WAIT_S, eventually

Handler = Callable[[bytes, asyncio.StreamWriter], Awaitable[None]]


def _reply(body: bytes, *, close: bool = False) -> bytes:
    head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-MBX-USED-WEIGHT-1M: 7\r\n"
    head += f"Content-Length: {len(body)}\r\n"
    return (head + ("Connection: close\r\n" if close else "") + "\r\n").encode() + body


@contextlib.asynccontextmanager
async def _server(handle: Handler) -> AsyncIterator[tuple[str, list[bytes]]]:
    # A server that reads each request whole (head and Content-Length body) and hands it to ``handle``
    seen: list[bytes] = []
    writers: list[asyncio.StreamWriter] = []
    handlers: list[asyncio.Task[Any] | None] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        handlers.append(asyncio.current_task())
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)  # fmt: skip
                request = head + await reader.readexactly(length)
                seen.append(request)
                await handle(request, writer)
                if writer.is_closing():
                    return

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", seen
    finally:
        server.close()
        for writer in writers:
            writer.close()
        await server.wait_closed()
        if tasks := [task for task in handlers if task is not None]:  # each ends on its closed connection
            await asyncio.wait(tasks)


def _signed(base: str, body: str | None = '{"a":1}') -> SignedRest:
    headers = {"X-BAPI-API-KEY": "k", "Content-Type": "application/json"}
    return SignedRest(f"{base}/v5/order/create?x=1", "POST", headers, body)


@contextlib.asynccontextmanager
async def _lane(
    base: str, *, size: int = 1, timeout_s: float = WAIT_S, idle_s: float = 30.0
) -> AsyncIterator[RestLane]:
    lane = RestLane(base, name="fake", size=size, request_timeout_s=timeout_s, idle_s=idle_s)
    await lane.start()
    try:
        yield lane
    finally:
        await lane.close()


async def test_requests_are_written_whole_and_answered_in_turn_on_one_kept_connection() -> None:
    async def answer(request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(_reply(b'{"n":%d}' % request.count(b"POST")))

    async with _server(answer) as (base, seen), _lane(base) as lane:
        assert lane.serves(f"{base}/v5/order/create") and not lane.serves("http://127.0.0.2:1/v5")
        for _ in range(3):
            out = lane.outgoing(_signed(base))
            out.write()
            assert out.written_ns > 0 and out.error is None
            status, reason, headers, body = await out.answer()
            assert (status, reason, body) == (200, "OK", b'{"n":1}')
            assert headers["X-MBX-USED-WEIGHT-1M"] == "7"  # as the venue cased it
        assert lane.opened == 1 and len(seen) == 3  # one connection, kept alive
        assert seen[0].startswith(b"POST /v5/order/create?x=1 HTTP/1.1\r\n") and seen[0].endswith(b'\r\n\r\n{"a":1}')
        assert b"X-BAPI-API-KEY: k\r\n" in seen[0] and b"Content-Length: 7\r\n" in seen[0]


async def test_a_busy_lane_sends_nothing_and_says_so() -> None:
    answered = asyncio.Event()

    async def answer(request: bytes, writer: asyncio.StreamWriter) -> None:
        await answered.wait()
        writer.write(_reply(b"{}"))

    async with _server(answer) as (base, seen), _lane(base) as lane:
        first, second = lane.outgoing(_signed(base)), lane.outgoing(_signed(base, None))
        first.write()
        second.write()  # the only connection waits on the first's answer
        assert second.written_ns == 0 and second.error is not None and lane.no_idle == 1
        answered.set()
        assert (await first.answer())[0] == 200
        assert len(seen) == 1


async def test_a_connection_closed_before_the_answer_loses_it_and_is_replaced() -> None:
    async def drop(request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.close()  # the venue may have acted: the fate is unknown

    async with _server(drop) as (base, seen), _lane(base) as lane:
        out = lane.outgoing(_signed(base))
        out.write()
        with pytest.raises(AnswerLostError):
            await out.answer()
        assert len(seen) == 1
        await eventually(lambda: lane.opened == 2 and lane.ready_count == 1, lane)  # replaced in the background


async def test_no_answer_in_time_closes_the_connection_a_late_answer_could_be_mistaken_on() -> None:
    async def never(request: bytes, writer: asyncio.StreamWriter) -> None:
        pass

    async with _server(never) as (base, _), _lane(base, timeout_s=0.05) as lane:
        out = lane.outgoing(_signed(base))
        out.write()
        with pytest.raises(TimeoutError):
            await out.answer()
        await eventually(lambda: lane.opened == 2 and lane.ready_count == 1, lane)
        assert out._connection is not None and out._connection.lost


async def test_an_answer_that_closes_its_connection_is_read_and_the_connection_replaced() -> None:
    async def once(request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(_reply(b'{"ok":true}', close=True))
        await writer.drain()
        writer.close()

    async with _server(once) as (base, _), _lane(base) as lane:
        out = lane.outgoing(_signed(base))
        out.write()
        assert (await out.answer())[3] == b'{"ok":true}'
        await eventually(lambda: lane.opened == 2 and lane.ready_count == 1, lane)


async def test_a_connection_idle_longer_than_its_limit_is_retired_before_an_order_meets_it() -> None:
    async def answer(request: bytes, writer: asyncio.StreamWriter) -> None:
        writer.write(_reply(b"{}"))

    async with _server(answer) as (base, _), _lane(base, idle_s=0.05) as lane:
        await eventually(lambda: lane.opened >= 3 and lane.ready_count == 1, lane)  # retired and replaced, twice
        out = lane.outgoing(_signed(base))
        out.write()
        assert (await out.answer())[0] == 200


async def test_a_compressed_answer_is_read_as_ccxts_client_reads_it() -> None:
    async def gzipped(request: bytes, writer: asyncio.StreamWriter) -> None:
        body = gzip.compress(b'{"retCode":0}')
        head = f"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {len(body)}\r\n\r\n"
        writer.write(head.encode() + body)

    async with _server(gzipped) as (base, _), _lane(base) as lane:
        out = lane.outgoing(_signed(base))
        out.write()
        assert (await out.answer())[3] == b'{"retCode":0}'


async def test_a_request_whose_answer_no_one_awaits_does_not_hold_its_connection_for_good() -> None:
    async def never(request: bytes, writer: asyncio.StreamWriter) -> None:
        pass

    async with _server(never) as (base, _), _lane(base, timeout_s=0.02, idle_s=0.04) as lane:
        out = lane.outgoing(_signed(base))
        out.write()  # and never awaited: the keeper closes it past twice the request timeout
        await eventually(lambda: lane.opened >= 2 and lane.ready_count == 1 and lane._idle() is not None, lane)
