"""The live dashboard: its event stream and JSON on a real OpsServer (127.0.0.1, port 0), its vendored
files against their MANIFEST, and the page itself in headless Chromium: live, charts with points,
the positions of the account, nothing loaded from outside the server, a screenshot, a server restart
under the open page, and a replayed dry run of the shipped sample watched while it trades.

Chromium is driven two ways: the command line (``--dump-dom``, ``--screenshot``) as a user would,
and the DevTools protocol over a websocket on 127.0.0.1 (no extra package) where a test must watch
the page change or list every request it makes. Without Chromium these tests skip, unless
``ARB_REQUIRE_CHROMIUM=1`` (CI) makes that a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import hashlib
import io
import json
import math
import os
import re
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import pytest
from rich.console import Console

from arb.config import load_config
from arb.execution.paper_account import PaperAccount
from arb.live.dry_run import DryRunResult, dry_run_replay
from arb.ops import dashboard
from arb.ops.server import OpsServer
from arb.ops.snapshot import FeedHealth, LimitUse, OpsEvent, OpsHub, Snapshot, VenueAccount
from arb.ops.terminal import dry_run_watchers
from arb.ops.watch import Watch
from arb.results.inventory import Direction, SymbolInventory, VenueInventory
from arb.testing.configs import write_config_files
from arb.testing.waiting import Patience, communicate, patiently, process_tree, read_until
from arb.waiting import Conditions, SharedConditions, cancel_and_wait

ROOT = Path(__file__).resolve().parents[2]


def _only_watch(then: Any) -> Any:
    """A dry run's ``on_watch`` that hands ``then`` its ops :class:`Watch` only (not the terminal lines)."""
    return lambda watcher: then(watcher) if isinstance(watcher, Watch) else None


STATIC = ROOT / "arb" / "ops" / "static"
VENDOR = STATIC / "vendor"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
T0_NS = 1_723_161_600_000_000_000  # 2024-08-09 00:00 UTC
# every host name fails to resolve except the server's own address: a CDN reference cannot load
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
_LISTENING = b"DevTools listening on "
"""What chromium says on stderr once its DevTools endpoint listens, its address after it."""

T = TypeVar("T")
Pids = Iterable[int] | Callable[[], Iterable[int]]

_OPEN = 1.01
"""The ``starved`` share of the waits on an open page: never. Chromium's threads, woken for every frame and
timer, are runnable at most polls on loaded cores while doing next to nothing, which counted as progress:
a page condition that never came waited for pytest's per-test timeout instead of the patience's
``quiet_s``. Only the work they do (``busy``: a tenth of a core) counts."""

_CHANGES = """(() => {
    let changes = 0;
    const waiting = [];
    new MutationObserver(() => {
        changes += 1;
        for (const wake of waiting.splice(0)) wake(changes);
    }).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
    window.arbChanges = () => changes;
    window.arbChangedAfter = (seen) => changes > seen ? changes : new Promise((wake) => waiting.push(wake));
})();"""
"""Added to every document the browser makes: counts the changes of the page's DOM, and gives a promise
of the next change after a count (``arbChangedAfter``), so a test awaits the page instead of asking it."""


# -- helpers ------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _browser_temp(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Chromium makes its singleton's folder (org.chromium.Chromium.*) in TMPDIR and, killed, leaves it
    # there: each test's browsers make theirs in a folder of the test's, removed after it (a short path:
    # the singleton's socket must fit a Unix socket's 108 bytes, which pytest's tmp_path may not)
    folder = tempfile.mkdtemp(prefix="arb-browser-")
    monkeypatch.setenv("TMPDIR", folder)
    try:
        yield
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _chromium() -> str:
    if CHROMIUM is None:
        if os.environ.get("ARB_REQUIRE_CHROMIUM") == "1":
            pytest.fail("ARB_REQUIRE_CHROMIUM=1 but no chromium on PATH (apt-get install chromium)")
        pytest.skip("chromium is not installed (CI installs Debian's chromium and sets ARB_REQUIRE_CHROMIUM=1)")
    return CHROMIUM


def _snapshot(i: int, *, position: float = 0.0, halted: str = "") -> Snapshot:
    ts = T0_NS + i * 500_000_000
    accounts = (
        VenueAccount("binance", position, 1.0 + position, 100_000.0 - 60_000.0 * position, 59_990.0, 60_000.0, 0,
                     2 * i, i, {"-2010": 1}),
        VenueAccount("bybit", -position, 1.0 - position, 100_000.0 + 60_300.0 * position, 60_300.0, 60_400.0, 1,
                     2 * i, i),
    )  # fmt: skip
    feeds = (
        FeedHealth("binance", "spot", "BTCUSDT", True, True, False, "wss://127.0.0.1:1/ws", ts - 40_000_000, 10 * i,
                   0, 0, 0, 0),
        FeedHealth("bybit", "spot", "BTCUSDT", True, True, False, "wss://127.0.0.1:2/ws", ts - 90_000_000, 9 * i,
                   1, 1, 0, 0),
    )  # fmt: skip
    spread0 = 4.0 * math.sin(i / 8)
    # buying Binance runs out of Bybit's coins as the position grows (none left from i = 50); a buy in
    # flight on Binance holds 600.6 of its quote
    inventory = SymbolInventory(
        "BTCUSDT",
        (
            VenueInventory("binance", 1.0 + position, 0.0, 100_000.0 - 60_000.0 * position - 600.6, 600.6),
            VenueInventory("bybit", 1.0 - position, 0.0, 100_000.0 + 60_300.0 * position, 0.0),
        ),
        (Direction(0, 1, 0.01, max(0, 5 - i // 10), "bybit base"), Direction(1, 0, 0.01, 7, "bybit quote")),
    )
    return Snapshot(
        mode="dry-run", symbol="BTCUSDT", quote_currency="USDT", ts_ns=ts, wall_ns=time.time_ns(), feeds=feeds,
        accounts=accounts, spread_bps=(spread0, float("nan") if i % 5 == 0 else -spread0 - 9.0), entry_bps=5.0,
        equity=200_000.0 + 0.5 * i, pnl=0.5 * i, fees=0.1 * i, pairs=i // 4,
        limits=(LimitUse("position_limit", abs(position), 1.0, 0), LimitUse("max_drawdown", 0.0, float("inf"), 0),
                LimitUse("max_notional_per_venue", 600.0, 1000.0, 3)),
        halted=halted, started_wall_ns=time.time_ns() - 60_000_000_000, inventory=(inventory,),
    )  # fmt: skip


def _fill(i: int) -> OpsEvent:
    fields: dict[str, object] = {"side": "buy", "qty": 0.01, "price": 60_000.0, "fee": 0.6, "pair_id": i,
                                 "kind": "pair"}  # fmt: skip
    return OpsEvent("fill", T0_NS + i * 500_000_000, "binance", "binance buy 0.01 @ 60000", fields)


def _hub(n: int, *, events: int = 0) -> OpsHub:
    hub = OpsHub(history=1000)
    for i in range(n):
        hub.publish(_snapshot(i, position=0.01 * (i // 10)))
    for i in range(events):
        hub.emit(_fill(i))
    return hub


@contextlib.contextmanager
def _serving(hub: OpsHub, port: int = 0) -> Iterator[OpsServer]:
    server = OpsServer("127.0.0.1", port, [dashboard.setup(hub)])
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def _retry(what: str, attempt: Callable[[], Awaitable[T | None]], quiet_s: float = 60.0, attempts: int = 20) -> T:
    """Run ``attempt`` (a browser's whole run, seconds long) again as soon as one ends, until one returns
    something other than None; fail after ``attempts`` runs that all returned None (the browsers' work
    keeps the patience from running out, so it alone would let a page that never gets there run until
    pytest's timeout), or after ``quiet_s`` without progress: work by this process and the browsers it ran."""
    async with patiently(Patience(what, quiet_s=quiet_s, pids=[os.getpid()])):
        for _ in range(attempts):
            if (result := await attempt()) is not None:
                return result
    pytest.fail(f"{what}: not in {attempts} browser runs")


async def _sse(url: str, *, count: int, headers: dict[str, str] | None = None) -> list[dict[str, str]]:
    """The first ``count`` messages of an event stream, each as its fields (``id``, ``event``, ``data``)."""
    messages: list[dict[str, str]] = []
    timeout = aiohttp.ClientTimeout(total=20)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url, headers=headers) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        fields: dict[str, str] = {}
        async for raw in response.content:
            line = raw.decode().rstrip("\n")
            if not line:
                if "event" in fields:
                    messages.append(fields)
                    if len(messages) == count:
                        break
                fields = {}
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
    return messages


def _ids(messages: list[dict[str, str]]) -> list[tuple[int, int]]:
    out = []
    for m in messages:
        cursor = dashboard.Cursor.parse(m["id"])
        assert cursor is not None, m["id"]
        out.append((cursor.snapshot, cursor.event))
    return out


# -- the stream and the JSON ----------------------------------------------------------------------------


async def test_event_stream_ids_increase_and_a_reconnect_resumes_without_replay() -> None:
    hub = _hub(30, events=5)
    with _serving(hub) as server:
        first = await _sse(server.url + "/events", count=1)
        assert first[0]["event"] == "history"
        history = json.loads(first[0]["data"])
        assert len(history["points"]) == 30 and len(history["events"]) == 5
        assert first[0]["id"] == "30-5"
        # more arrives: events one message each, the snapshots as one message of points
        for i in range(30, 35):
            hub.publish(_snapshot(i))
        for i in range(5, 8):
            hub.emit(_fill(i))
        resumed = await _sse(server.url + "/events", count=4, headers={"Last-Event-ID": first[0]["id"]})
        assert [m["event"] for m in resumed] == ["event", "event", "event", "snapshot"]
        ids = _ids(resumed)
        assert ids == sorted(ids) and len(set(ids)) == len(ids)
        assert all(a < b for a, b in zip([(30, 5), *ids], ids, strict=False))
        assert [json.loads(m["data"])["id"] for m in resumed[:3]] == [6, 7, 8]  # not 1..5 again
        points = json.loads(resumed[3]["data"])["points"]
        assert [p[0] for p in points] == [(T0_NS + i * 500_000_000) / 1e9 for i in range(30, 35)]
        assert resumed[-1]["id"] == "35-8"

        # a fresh EventSource cannot send the header: ?last= does the same
        hub.publish(_snapshot(35))
        again = await _sse(server.url + "/events?last=35-8", count=1)
        assert again[0]["event"] == "snapshot" and again[0]["id"] == "36-8"
        assert len(json.loads(again[0]["data"])["points"]) == 1

        # an id from another process (ahead of this hub): start afresh and say so
        fresh = await _sse(server.url + "/events", count=1, headers={"Last-Event-ID": "9999-9999"})
        assert fresh[0]["event"] == "history" and json.loads(fresh[0]["data"])["reset"] is True


async def test_status_and_history_are_json_with_null_for_nan_and_infinity() -> None:
    hub = OpsHub()
    with _serving(hub) as server:
        async with aiohttp.ClientSession() as session:
            async with session.get(server.url + "/api/v1/status") as response:
                assert response.status == 200 and await response.json() == {"snapshot": None}
            hub.publish(_snapshot(0))  # spread 1 is nan (i % 5 == 0), max_drawdown's limit inf
            hub.emit(OpsEvent("breach", T0_NS, "", "refused", {"value": float("nan"), "limit": 2.0}))
            async with session.get(server.url + "/api/v1/status") as response:
                assert response.content_type == "application/json"
                text = await response.text()
            async with session.get(server.url + "/api/v1/history") as response:
                history_text = await response.text()
    for bad in ("NaN", "Infinity"):
        assert bad not in text and bad not in history_text
    status = json.loads(text)["snapshot"]
    assert status["spread_bps"] == [0.0, None]
    assert {u["key"]: u["limit"] for u in status["limits"]}["max_drawdown"] is None
    assert [a["position"] for a in status["accounts"]] == [0.0, -0.0]
    assert status["feeds"][1]["age_ms"] == pytest.approx(90.0)
    history = json.loads(history_text)
    assert history["cursor"] == "1-1" and history["points"][0][2] is None
    assert history["events"][0]["fields"] == {"value": None, "limit": 2.0}


async def test_stream_ends_when_the_server_stops() -> None:
    hub = _hub(3)
    server = OpsServer("127.0.0.1", 0, [dashboard.setup(hub)])
    server.start()
    try:
        async with aiohttp.ClientSession() as session, session.get(server.url + "/events") as response:
            await response.content.readuntil(b"event: history")
            started = time.monotonic()
            await asyncio.to_thread(server.stop)
            with contextlib.suppress(aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError):
                await asyncio.wait_for(response.content.read(), 30.0)  # ends: no hang on an open page
            assert time.monotonic() - started < 30.0  # (a stream left open would go on for ever)
    finally:
        server.stop()


async def test_a_quiet_stream_sends_keep_alive_comments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dashboard, "HEARTBEAT_S", 0.1)
    with _serving(_hub(1)) as server:
        async with aiohttp.ClientSession() as session, session.get(server.url + "/events") as response:
            head = await asyncio.wait_for(response.content.readuntil(b": keep-alive\n\n"), 60)
    assert head.startswith(b"retry: 1000\n\nid: 1-0\nevent: history\n")


async def test_a_page_that_stops_reading_is_dropped_not_buffered(monkeypatch: pytest.MonkeyPatch) -> None:
    # A client that sends its request and never reads: the server writes one message at a time, the
    # socket buffers fill, the write does not drain within WRITE_TIMEOUT_S and the stream is closed
    # (a real browser then reconnects with its last id). Nothing queues up in between.
    monkeypatch.setattr(dashboard, "WRITE_TIMEOUT_S", 0.5)
    loop = asyncio.get_running_loop()
    big = "x" * 50_000
    i = 0

    def publish() -> None:  # the trading loop: 2.5 MB of events a round
        nonlocal i
        for _ in range(50):
            i += 1
            hub.emit(OpsEvent("info", T0_NS + i, "", big))

    def more() -> None:  # the stream has taken every event: the trading loop publishes more
        with contextlib.suppress(RuntimeError):  # the test is over
            loop.call_soon_threadsafe(publish)

    hub = _Endless(more, history=100, events=400)
    board = dashboard.setup(hub)
    server = OpsServer("127.0.0.1", 0, [board])
    server.start()
    writer: asyncio.StreamWriter | None = None
    try:
        _reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        writer.write(b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        await writer.drain()
        async with patiently(Patience("the stalled stream to be closed", quiet_s=30, pids=[os.getpid()])):
            await board.wait_until(lambda: board.streams_opened == 1 and board.streams_open == 0)
    finally:
        if writer is not None:
            writer.close()
        server.stop()


class _Endless(OpsHub):
    """A hub whose trading loop always has more: each time a reader has taken every event, ``more()`` is
    called (in the reader's thread)."""

    def __init__(self, more: Callable[[], None], *, history: int, events: int) -> None:
        super().__init__(history=history, events=events)
        self._more = more

    def events_since(self, after: int) -> list[tuple[int, OpsEvent]]:
        events = super().events_since(after)
        if not events:
            self._more()
        return events


def test_history_is_thinned_to_a_bounded_number_of_points() -> None:
    hub = OpsHub(history=dashboard.MAX_POINTS * 3)
    for i in range(dashboard.MAX_POINTS * 2 + 7):
        hub.publish(_snapshot(i))
    payload, cursor = dashboard.history_json(hub)
    points = payload["points"]
    assert isinstance(points, list) and len(points) == dashboard.MAX_POINTS
    assert points[-1][0] == (T0_NS + (dashboard.MAX_POINTS * 2 + 6) * 500_000_000) / 1e9  # the newest kept
    assert cursor.snapshot == dashboard.MAX_POINTS * 2 + 7


# -- the files served ------------------------------------------------------------------------------------


def test_vendored_files_match_their_manifest_and_the_licence_is_there() -> None:
    rows = [line.split() for line in (VENDOR / "MANIFEST").read_text().splitlines() if line and line[0] != "#"]
    names = {row[1] for row in rows}
    assert {"uPlot.iife.min.js", "uPlot.min.css", "uPlot.LICENSE"} <= names
    for digest, name, origin, *_ in rows:
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
        assert origin == "npm:uplot@1.6.32"
    licence = (VENDOR / "uPlot.LICENSE").read_text()
    assert "The MIT License" in licence and "Leon Sorokin" in licence
    assert "uPlot.LICENSE" in (STATIC / "index.html").read_text()  # the page links its licence
    # every file in the folder is accounted for
    assert {p.name for p in VENDOR.iterdir()} == names | {"MANIFEST", "README.md"}


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.refs += [value or "" for name, value in attrs if name in ("src", "href", "action", "srcset")]


def test_the_page_refers_to_nothing_outside_the_server() -> None:
    parser = _Refs()
    parser.feed((STATIC / "index.html").read_text())
    assert parser.refs and all(ref.startswith("/") and not ref.startswith("//") for ref in parser.refs), parser.refs
    for name in ("index.html", "app.js", "app.css"):
        text = (STATIC / name).read_text()
        assert not re.search(r"https?:|wss?:|//[a-z0-9.-]+\.[a-z]{2,}/", text, re.IGNORECASE), name
        assert "@import" not in text and "fonts.googleapis" not in text
    assert not re.search(r"url\(\s*['\"]?(?!data:)[^)]*\)", (STATIC / "app.css").read_text())
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", (VENDOR / "uPlot.min.css").read_text())


async def test_the_server_serves_the_page_and_its_files() -> None:
    with _serving(OpsHub()) as server:
        async with aiohttp.ClientSession() as session:
            async with session.get(server.url + "/") as response:
                assert response.status == 200 and "text/html" in response.headers["Content-Type"]
                assert 'src="/static/vendor/uPlot.iife.min.js"' in await response.text()
            for name in ("app.js", "app.css", "vendor/uPlot.iife.min.js", "vendor/uPlot.min.css"):
                async with session.get(f"{server.url}/static/{name}") as response:
                    assert response.status == 200, name
                    assert await response.read() == (STATIC / name).read_bytes()
            async with session.get(server.url + "/api/v1/history.js") as response:
                assert response.status == 200 and response.content_type == "application/javascript"
                script = await response.text()
            assert script.startswith("window.ARB_FIRST_PAINT = {") and script.endswith("};\n")
            assert json.loads(script.removeprefix("window.ARB_FIRST_PAINT = ").removesuffix(";\n"))["cursor"] == "0-0"
            async with session.get(server.url + "/static/../dashboard.py") as response:
                assert response.status in (403, 404)


# -- headless Chromium ------------------------------------------------------------------------------------


def _dom_state(dom: str) -> dict[str, Any]:
    status = re.search(r'<body[^>]*data-status="([^"]*)"', dom)
    positions = re.findall(r'id="pos-(\w+)" data-value="([^"]*)"', dom)
    pairs_left = re.findall(r'id="pairs-left-BTCUSDT-(\w+)" data-value="([^"]*)">([^<]*)<', dom)
    return {
        "status": status.group(1) if status else None,
        "points": [int(p) for p in re.findall(r'id="chart-(?:spread|equity)"[^>]*data-points="(\d+)"', dom)],
        "canvases": dom.count("<canvas"),
        "positions": {venue: float(value) for venue, value in positions},
        "pairs_left": {d: (int(v) if v else None, text) for d, v, text in pairs_left},
        "quote_held": {v: float(x) for v, x in re.findall(r'id="inv-quote-held-(\w+)" data-value="([^"]*)"', dom)},
        "cannot_trade": len(re.findall(r'data-can-trade="no"', dom)),
    }  # fmt: skip


async def _dump_dom(chromium: str, url: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        chromium, "--headless", "--no-sandbox", "--disable-gpu", OFFLINE, "--timeout=3000", "--dump-dom", url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        out, _ = await communicate(proc, _browser_patience("chromium --dump-dom", proc))
    finally:
        _kill(proc)
    return out.decode()


def _browser_patience(what: str, proc: asyncio.subprocess.Process) -> Patience:
    # a browser at work (its helper processes too) is progress: a page loading slowly on a busy machine
    return Patience(what, quiet_s=60, pids=lambda: process_tree(proc.pid))


def _kill(proc: asyncio.subprocess.Process) -> None:
    # the chromium wrapper script and the browser's own children: the whole process group we started
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


async def _screenshot(chromium: str, url: str, shot: Path, window: str) -> None:
    """``chromium --headless --screenshot`` of ``url`` (offline but for 127.0.0.1) into ``shot``, in a
    window of ``window`` ("width,height") pixels: it exits 0; killed on the way out if it still runs."""
    proc = await asyncio.create_subprocess_exec(
        chromium, "--headless", "--no-sandbox", "--disable-gpu", OFFLINE, "--timeout=3000",
        "--hide-scrollbars", f"--screenshot={shot}", f"--window-size={window}", url,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        await communicate(proc, _browser_patience("chromium --screenshot", proc))
        assert proc.returncode == 0
    finally:
        _kill(proc)


async def test_page_in_headless_chromium_is_live_with_points_and_the_positions(tmp_path: Path) -> None:
    chromium = _chromium()
    hub = _hub(60, events=4)
    expected = {a.venue: a.position for a in hub.latest().accounts}  # type: ignore[union-attr]
    assert expected == {"binance": 0.05, "bybit": -0.05}
    with _serving(hub) as server:

        async def live() -> dict[str, Any] | None:
            state = _dom_state(await _dump_dom(chromium, server.url + "/"))
            return state if state["status"] == "live" and min(state["points"] or [0]) > 0 else None

        state = await _retry("the page to be live with points", live, 60)
        assert state["points"] == [60, 60] and state["canvases"] >= 2
        assert state["positions"] == expected
        # the inventory panel: buying Binance cannot trade (Bybit's coins ran out), the reverse has 7 pairs
        assert state["pairs_left"] == {"buy_binance_sell_bybit": (0, "0 \u00b7 cannot trade"),
                                       "buy_bybit_sell_binance": (7, "7")}  # fmt: skip
        assert state["cannot_trade"] == 1 and state["quote_held"] == {"binance": 600.6, "bybit": 0.0}

        shot = tmp_path / "dashboard.png"
        await _screenshot(chromium, server.url + "/", shot, "1400,1000")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


class _Browser:
    """Headless Chromium driven over the DevTools protocol: open a page, evaluate, list its requests."""

    def __init__(self, proc: asyncio.subprocess.Process, session: aiohttp.ClientSession) -> None:
        self.proc = proc
        self.session = session
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.requests: list[str] = []
        self.navigations = 0
        """Documents the page has navigated to (DevTools' ``Page.frameNavigated``)."""
        self._news = Conditions()
        self._next = 0
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader: asyncio.Task[None] | None = None

    @classmethod
    @contextlib.asynccontextmanager
    async def launch(cls, chromium: str, profile: Path) -> AsyncIterator[_Browser]:
        proc = await asyncio.create_subprocess_exec(
            chromium, "--headless", "--no-sandbox", "--disable-gpu", OFFLINE, "--remote-debugging-port=0",
            "--remote-debugging-address=127.0.0.1", f"--user-data-dir={profile}", "--window-size=1400,1000",
            "--no-first-run", "about:blank",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, start_new_session=True,
        )  # fmt: skip
        session = aiohttp.ClientSession()
        browser = cls(proc, session)
        drain: asyncio.Task[bytes] | None = None
        try:
            assert proc.stderr is not None
            tree = lambda: process_tree(proc.pid)  # noqa: E731 - the browser at work: progress
            said = await read_until(proc.stderr, _LISTENING, Patience("chromium to listen", quiet_s=60, pids=tree))
            drain = asyncio.create_task(proc.stderr.read())  # what chromium goes on saying, read to its end
            endpoint = said[-1].decode().split(_LISTENING.decode(), 1)[1].strip()  # ws://127.0.0.1:PORT/devtools/...
            page = await _first_page(session, endpoint, tree)
            browser.ws = await session.ws_connect(page, max_msg_size=0)
            browser._reader = asyncio.create_task(browser._read())
            await browser.call("Network.enable")
            await browser.call("Page.enable")
            await browser.call("Page.addScriptToEvaluateOnNewDocument", source=_CHANGES)
            yield browser
        finally:
            try:
                await cancel_and_wait(browser._reader)
                if browser.ws is not None:
                    await browser.ws.close()
                await session.close()
            finally:  # the browser goes whatever went wrong above
                _kill(proc)
                await proc.wait()
                await cancel_and_wait(drain)

    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for message in self.ws:
                data = json.loads(message.data)
                if "id" in data and data["id"] in self._pending:
                    answered = self._pending.pop(data["id"])
                    if not answered.done():  # a call given up (its page changed first) is cancelled
                        answered.set_result(data)
                elif data.get("method") == "Network.requestWillBeSent":
                    self.requests.append(data["params"]["request"]["url"])
                elif data.get("method") == "Page.frameNavigated":
                    self.navigations += 1
                    self._news.notify()
        finally:  # no answer can come any more: a call still waiting fails now, not at its patience's end
            for waiting in self._pending.values():
                if not waiting.done():
                    waiting.set_exception(ConnectionError("chromium's DevTools connection is no longer read"))
                    waiting.exception()  # retrieved here: a call given up meanwhile is not warned about

    async def _ask(self, method: str, **params: Any) -> dict[str, Any]:
        # the browser's answer to one call, an error or not (unbounded: the caller bounds it)
        assert self.ws is not None
        self._next += 1
        number = self._next
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[number] = future
        try:
            await self.ws.send_str(json.dumps({"id": number, "method": method, "params": params}))
            return await future
        finally:
            self._pending.pop(number, None)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        async with patiently(Patience(f"chromium to answer {method}", quiet_s=60, pids=self._pids, starved=_OPEN)):
            answer = await self._ask(method, **params)
        assert "error" not in answer, answer
        return dict(answer.get("result", {}))

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    async def state(self) -> dict[str, Any]:
        return (await self._look())[1]

    async def _look(self) -> tuple[int | None, dict[str, Any]]:
        # the page's count of changes (None: a document without _CHANGES, being replaced) and its state
        value = await self.evaluate("""(() => {
            const changes = window.arbChanges ? window.arbChanges() : null;
            const b = document.body, d = (id) => document.getElementById(id);
            // no body yet, not the dashboard's document yet (about:blank before the navigation commits), or
            // the dashboard's still being parsed: no state until every element read below is there
            const ids = ["chart-spread", "chart-equity", "fills", "banner"];
            if (!b || ids.some((id) => !d(id)) || !d("fills").tBodies[0]) return {changes, state: null};
            const pos = {};
            for (const td of document.querySelectorAll('td[id^="pos-"]'))
                pos[td.id.slice(4)] = Number(td.dataset.value);
            return {changes, state: {
                    status: b.dataset.status, transitions: b.dataset.transitions || "", lastId: b.dataset.lastId || "",
                    reconnects: Number(b.dataset.reconnects || 0), trading: b.dataset.trading,
                    points: [Number(d("chart-spread").dataset.points), Number(d("chart-equity").dataset.points)],
                    canvases: document.querySelectorAll("canvas").length, positions: pos,
                    fills: d("fills").tBodies[0].rows.length,
                    banner: d("banner").hidden ? "" : d("banner").textContent}};
        })()""")
        if value is None:  # the expression threw (a document being replaced): its own count of changes
            return await self.evaluate("window.arbChanges ? window.arbChanges() : null"), {}
        return value["changes"], dict(value["state"] or {})

    async def wait(self, what: str, check: Callable[[dict[str, Any]], bool], quiet_s: float = 60.0) -> dict[str, Any]:
        """The page's state once ``check(state)`` holds: looked at now and after each change of the page
        (its DOM, or a new document); fails after ``quiet_s`` without the browser or this process working."""
        async with patiently(Patience(what, quiet_s=quiet_s, pids=self._pids, starved=_OPEN)):
            while True:
                navigations = self.navigations
                changes, state = await self._look()
                if state and check(state):
                    return state
                await self._changed(changes, navigations)

    async def _changed(self, changes: int | None, navigations: int) -> None:
        # Return once the page changed after ``changes`` (its count then), or navigated since ``navigations``
        navigated = asyncio.ensure_future(self._news.wait_until(lambda: self.navigations > navigations))
        waits = {navigated}
        if changes is not None:  # an error answer: its document was replaced meanwhile, which is a change too
            waits.add(asyncio.ensure_future(self._ask("Runtime.evaluate", expression=f"arbChangedAfter({changes})",
                                                      awaitPromise=True, returnByValue=True)))  # fmt: skip
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
            await asyncio.gather(*waits, return_exceptions=True)

    def _pids(self) -> list[int]:
        # the browser's processes and this one's other threads (a replay): their work is progress
        return [os.getpid(), *process_tree(self.proc.pid)]

    async def screenshot(self, path: Path) -> None:
        import base64

        shot = await self.call("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(shot["data"]))


async def _first_page(session: aiohttp.ClientSession, endpoint: str, pids: Pids) -> str:
    """The DevTools address of the browser's first page: the browser at ``endpoint`` names each target it
    has, and each new one, once asked to discover them."""
    async with session.ws_connect(endpoint, max_msg_size=0) as ws:
        await ws.send_str(json.dumps({"id": 1, "method": "Target.setDiscoverTargets", "params": {"discover": True}}))
        async with patiently(Patience("a page target", quiet_s=60, pids=pids)):
            async for message in ws:
                data = json.loads(message.data)
                target = data.get("params", {}).get("targetInfo", {})
                if data.get("method") == "Target.targetCreated" and target.get("type") == "page":
                    return f"{endpoint.split('/devtools/', 1)[0]}/devtools/page/{target['targetId']}"
    raise AssertionError(f"chromium closed {endpoint} before it had a page")


def _same_origin(requests: list[str], origin: str) -> list[str]:
    return [u for u in requests if not (u.startswith(origin + "/") or u.startswith(("data:", "blob:", "about:")))]


async def test_page_survives_the_server_restarting_without_duplicate_points(tmp_path: Path) -> None:
    chromium = _chromium()
    hub = _hub(20, events=2)
    server = OpsServer("127.0.0.1", 0, [dashboard.setup(hub)])
    server.start()
    try:
        async with _Browser.launch(chromium, tmp_path / "profile") as browser:
            await browser.call("Page.navigate", url=server.url + "/")
            state = await browser.wait("the page to be live", lambda s: s["status"] == "live" and s["points"][0] == 20)
            assert state["fills"] == 2 and state["canvases"] >= 2
            assert await browser.evaluate("document.getElementById('status').textContent") == "live"  # live data

            port = server.port
            await asyncio.to_thread(server.stop)
            await browser.wait("the page to notice", lambda s: s["status"] == "reconnecting")
            for i in range(20, 26):  # the trading loop goes on while nobody serves the page
                hub.publish(_snapshot(i, position=0.07))
            hub.emit(_fill(2))

            server = OpsServer("127.0.0.1", port, [dashboard.setup(hub)])
            server.start()
            state = await browser.wait(
                "the page to be live again with what it missed",
                lambda s: s["status"] == "live" and s["points"][0] == 26 and s["fills"] == 3,
            )
            assert state["transitions"] == "connecting>live>reconnecting>live"
            assert state["reconnects"] == 1
            assert state["points"] == [26, 26]  # the 20 it had, the 6 it missed, none twice
            assert state["positions"] == {"binance": 0.07, "bybit": -0.07}
            assert state["lastId"] == "26-3"

            hub.publish(_snapshot(26, position=0.07, halted="max_drawdown"))
            state = await browser.wait("the halt to show", lambda s: s["trading"] == "halted")
            assert "max_drawdown" in state["banner"]
            await browser.screenshot(tmp_path / "dashboard-halted.png")
            assert _same_origin(browser.requests, server.url) == []
            assert any(u.endswith("/static/vendor/uPlot.iife.min.js") for u in browser.requests)
    finally:
        server.stop()


async def test_a_page_that_refers_to_a_cdn_is_caught(tmp_path: Path) -> None:
    # the check above would see a CDN: a page served with one external script fails it
    chromium = _chromium()
    static = tmp_path / "static"
    shutil.copytree(STATIC, static)
    html = (static / "index.html").read_text()
    (static / "index.html").write_text(
        html.replace(
            "</head>", '<script src="https://cdn.jsdelivr.net/npm/uplot@1.6.32/dist/uPlot.iife.min.js"></script></head>'
        )
    )

    def setup(app: aiohttp.web.Application) -> None:
        dashboard.Dashboard(OpsHub(), static_dir=static)(app)

    server = OpsServer("127.0.0.1", 0, [setup])
    server.start()
    try:
        async with _Browser.launch(chromium, tmp_path / "profile") as browser:
            await browser.call("Page.navigate", url=server.url + "/")
            await browser.wait("the page to load", lambda s: s["status"] == "live")
            assert _same_origin(browser.requests, server.url) == [
                "https://cdn.jsdelivr.net/npm/uplot@1.6.32/dist/uPlot.iife.min.js"
            ]
    finally:
        server.stop()


# -- a replayed dry run, watched ---------------------------------------------------------------------------


class _Holds:
    """Holds a replay at two of its fills until the test lets it go on: the first fill, and the first
    fill ``gap_ns`` of data after it. The replay runs in a thread of its own (its loop does not wait
    while it is behind), so a hold stops the replay and nothing else: the page is open, and the points
    arrive, while the replay is certainly running, however slow the machine."""

    def __init__(self, gap_ns: int, news: SharedConditions) -> None:
        self.gap_ns = gap_ns
        self.reached = (threading.Event(), threading.Event())
        self.go = (threading.Event(), threading.Event())
        self.news = news
        self._first_ns: int | None = None

    def on_fill(self, row: Any) -> None:
        # in the replay's thread, after the fill was booked
        ts = int(row["local_ts"])
        if self._first_ns is None:
            self._first_ns, hold = ts, 0
        elif not self.reached[1].is_set() and ts - self._first_ns >= self.gap_ns:
            hold = 1
        else:
            return
        self.reached[hold].set()
        self.news.notify()
        self.go[hold].wait(600)  # bounded: the test lets every hold go on its way out

    def let_go(self) -> None:
        for go in self.go:
            go.set()


async def test_dashboard_during_a_replayed_dry_run_of_the_sample_shows_the_paper_account(tmp_path: Path) -> None:
    # The shipped sample (about 650 s of data, pairs at about 230 s, 480 s and 580 s) at 100x: the page
    # opens while the replay is held at its first fill, and watches points arrive while the replay runs
    # on to the next hold, a pair 100 s (data) later; then the replay trades to the end.
    chromium = _chromium()
    config = load_config(write_config_files(tmp_path, arbitrage_overrides={
        "backtest": {"recordings": str(ROOT / "recordings")}, "ops": {"enabled": True, "port": 0},
    }))  # fmt: skip
    account = PaperAccount.open(tmp_path / "paper", config)
    watches: list[Watch] = []
    out = io.StringIO()
    news = SharedConditions()  # the replay's thread tells this loop of its watch and of each hold reached
    holds = _Holds(100 * 1_000_000_000, news)

    def watched(watch: Watch) -> None:
        watches.append(watch)
        news.notify()

    stops: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    async def replay() -> DryRunResult:
        stop = asyncio.Event()
        stops.append((asyncio.get_running_loop(), stop))
        console = Console(file=out, width=200)
        return await dry_run_replay(config, account=account, console=console, speed=100.0,
                                    watchers=dry_run_watchers(config, account, console),
                                    on_watch=_only_watch(watched), on_fill=holds.on_fill,
                                    stop_event=stop)  # fmt: skip

    run = asyncio.create_task(asyncio.to_thread(asyncio.run, replay()))
    try:

        async def replay_reaches(what: str, reached: Callable[[], bool]) -> None:
            # the replay's news until ``reached()``; fails when the replay ends first
            waiting = asyncio.ensure_future(news.wait_until(reached))
            try:
                async with patiently(Patience(what, quiet_s=60, pids=[os.getpid()])):
                    await asyncio.wait({run, waiting}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiting.cancel()
            if not reached():
                pytest.fail(f"the dry run ended before {what}: {run.result()!r}\n{out.getvalue()}")

        await replay_reaches("the dry run's dashboard", lambda: bool(watches))  # a cold Numba cache compiles first
        watch = watches[0]
        assert watch.server is not None
        url, port = watch.server.url, watch.server.port
        assert f"dashboard and metrics: {url}/" in out.getvalue()
        async with _Browser.launch(chromium, tmp_path / "profile") as browser:
            await browser.call("Page.navigate", url=url + "/")

            await replay_reaches("the replay's first fill", holds.reached[0].is_set)
            first = await browser.wait("the page to be live during the run", lambda s: s["status"] == "live"
                                       and s["points"][0] > 0)  # fmt: skip
            assert not run.done(), "the replay must still be running while the page is open"
            # a replay is never shown as the market now: the pill says REPLAY, the tag what is replayed
            shown = await browser.evaluate(
                "[document.getElementById('status').textContent, document.body.dataset.data,"
                " document.getElementById('mode').textContent, document.title]"
            )
            assert shown == ["replay", "replay", "dry-run \u00b7 replay of a recording", "arb - REPLAY"]
            holds.go[0].set()
            # the page follows the run: more points arrive while it trades
            await replay_reaches("the replay's fill 100 s later", holds.reached[1].is_set)
            await browser.wait("points to arrive while the replay runs",
                               lambda s: s["points"][0] > first["points"][0] + 20)  # fmt: skip
            assert not run.done()
            holds.go[1].set()
            async with patiently(Patience("the replay to end", quiet_s=60, pids=[os.getpid()])):
                result = await run
            assert result.account.fills > 0 and result.watchers[0] is watch

            # the run is over and its server stopped with it; its last snapshot is in the hub. Serving
            # the hub again on the same port lets the open page catch up: the account at the end.
            server = OpsServer("127.0.0.1", port, [dashboard.setup(watch.hub)])
            server.start()
            try:
                last = watch.hub.snapshots_since(0)[-1][0]
                state = await browser.wait(
                    "the page to get the final snapshot",
                    lambda s: s["status"] == "live" and s["lastId"].startswith(f"{last}-"),
                )
                await browser.screenshot(tmp_path / "dashboard-dry-run.png")
            finally:
                server.stop()
            assert state["positions"] == {"binance": result.account.position[0][0],
                                          "bybit": result.account.position[0][1]}  # fmt: skip
            assert any(result.account.position[0])
            assert state["points"][0] == len(watch.hub.points_since(0))  # every snapshot, none twice
            assert state["fills"] == min(result.account.fills, 50)
            assert _same_origin(browser.requests, url) == []
    finally:
        for loop, stop in stops:
            with contextlib.suppress(RuntimeError):  # its loop closed: the replay is over
                loop.call_soon_threadsafe(stop.set)
        holds.let_go()
        with contextlib.suppress(Exception):
            await run


# -- two symbols ---------------------------------------------------------------------------------------------

SYMBOLS = ("BTCUSDT", "ETHUSDT")


def _two_symbol_snapshot(i: int) -> Snapshot:
    from arb.ops.snapshot import SymbolState

    ts = T0_NS + i * 500_000_000
    nan = float("nan")
    states = []
    for s, (name, price, size) in enumerate(zip(SYMBOLS, (60_000.0, 3_000.0), (0.001, 0.02), strict=True)):
        position = size * (i // 10)
        states.append(SymbolState(
            name,
            (VenueAccount("binance", position, 1.0 + position, nan, price - 10, price, 0, 2 * i, i),
             VenueAccount("bybit", -position, 1.0 - position, nan, price + 20, price + 30, s, 2 * i, i)),
            spread_bps=(4.0 * math.sin(i / 8 + s), -5.0 - s), entry_bps=5.0 + s, pnl=0.1 * i * (s + 1), fees=0.01 * i,
            pairs=i // 4, limits=(LimitUse("position_limit", position, 10 * size, s),),
        ))  # fmt: skip
    accounts = (VenueAccount("binance", nan, nan, 5_000.0, nan, nan, 0, 4 * i, 2 * i),
                VenueAccount("bybit", nan, nan, 5_000.0, nan, nan, 1, 4 * i, 2 * i))  # fmt: skip
    return Snapshot(
        mode="dry-run", symbol=",".join(SYMBOLS), quote_currency="USDT", ts_ns=ts, wall_ns=time.time_ns(), feeds=(),
        accounts=accounts, equity=10_000.0 + 0.3 * i, pnl=0.3 * i, fees=0.02 * i, pairs=2 * (i // 4),
        limits=(LimitUse("max_drawdown", 0.0, 100.0, 0),), started_wall_ns=time.time_ns() - 60_000_000_000,
        symbols=tuple(states),
    )  # fmt: skip


def _symbols_state(dom: str) -> dict[str, Any]:
    status = re.search(r'<body[^>]*data-status="([^"]*)"', dom)
    several = re.search(r'<body[^>]*data-symbols="([^"]*)"', dom)
    return {
        "status": status.group(1) if status else None,
        "symbols": several.group(1) if several else None,
        "points": dict(re.findall(r'id="chart-spread-(\w+)"[^>]*data-points="(\d+)"', dom)),
        "equity_points": re.findall(r'id="chart-equity"[^>]*data-points="(\d+)"', dom),
        "rows": re.findall(r'<tr id="sym-(\w+)"', dom),
        "positions": {
            (s, v): float(x) for s, v, x in re.findall(r'id="pos-([A-Z0-9]+)-(\w+)" data-value="([^"]*)"', dom)
        },
        "pnl": {s: float(x) for s, x in re.findall(r'id="sym-pnl-(\w+)" data-value="([^"]*)"', dom)},
        "quotes": dict(re.findall(r'id="quote-(\w+)" data-value="([^"]*)"', dom)),
        "limits": re.findall(r'<tr id="limit-([\w-]+)"', dom),
        "canvases": dom.count("<canvas"),
    }


async def test_the_page_of_two_symbols_shows_a_row_and_a_spread_chart_each(tmp_path: Path) -> None:
    chromium = _chromium()
    hub = OpsHub(history=1000)
    for i in range(40):
        hub.publish(_two_symbol_snapshot(i))
    fields = {"side": "sell", "qty": 0.02, "price": 3_000.0, "fee": 0.06, "pair_id": 1, "kind": "pair",
              "symbol": "ETHUSDT"}  # fmt: skip
    hub.emit(OpsEvent("fill", T0_NS, "binance", "binance ETHUSDT sell 0.02 @ 3000", fields))
    with _serving(hub) as server:

        async def live() -> dict[str, Any] | None:
            state = _symbols_state(await _dump_dom(chromium, server.url + "/"))
            return state if state["status"] == "live" and len(state["points"]) == 2 else None

        state = await _retry("the page to show both symbols", live, 60)
        assert state["symbols"] == "several" and state["rows"] == list(SYMBOLS)
        assert state["points"] == {"BTCUSDT": "40", "ETHUSDT": "40"} and state["equity_points"] == ["40"]
        assert state["canvases"] >= 3  # a spread chart per symbol and the equity chart
        last = hub.latest()
        assert last is not None
        expected = {(st.symbol, a.venue): a.position for st in last.symbols for a in st.accounts}
        assert state["positions"] == pytest.approx(expected) and state["positions"][("ETHUSDT", "bybit")] == -0.06
        assert state["pnl"] == pytest.approx({st.symbol: st.pnl for st in last.symbols})
        assert state["quotes"] == {"binance": "5000", "bybit": "5000"}  # the venues' quote, once: the account's
        assert state["limits"] == ["max_drawdown", "BTCUSDT-position_limit", "ETHUSDT-position_limit"]
        shot = tmp_path / "dashboard-two-symbols.png"
        await _screenshot(chromium, server.url + "/", shot, "1400,1800")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    if os.environ.get("ARB_KEEP_SCREENSHOTS"):
        shutil.copy(shot, Path(os.environ["ARB_KEEP_SCREENSHOTS"]) / shot.name)


async def test_the_page_of_a_replayed_two_symbol_dry_run_shows_each_symbols_paper_positions(
    two_symbols: Path, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from tests.support.sample_slice import shared_recordings_until
    from tests.support.two_symbols import two_symbol_config

    chromium = _chromium()
    # their minutes up to 23:58:10 (ETHUSDT's pairs at 23:55:59 and 23:57:37, BTCUSDT's at 23:58:03), as
    # tests/replay/test_live_parity.py replays them (tests/support/sample_slice.py)
    until = dt.datetime(2024, 8, 8, 23, 58, 10, tzinfo=dt.UTC)
    recordings = shared_recordings_until(tmp_path_factory, until, two_symbols, "*.gz", "two-symbols")
    config = load_config(two_symbol_config(tmp_path, recordings, {"ops": {"enabled": True, "port": 0}}))
    account = PaperAccount.open(tmp_path / "paper", config)
    watches: list[Watch] = []
    console = Console(file=io.StringIO())
    result = await dry_run_replay(config, account=account, console=console, speed=None,
                                  watchers=dry_run_watchers(config, account, console),
                                  on_watch=_only_watch(watches.append))  # fmt: skip
    hub = watches[0].hub
    with _serving(hub) as server:

        async def final() -> dict[str, Any] | None:
            state = _symbols_state(await _dump_dom(chromium, server.url + "/"))
            return state if state["status"] == "live" and len(state["points"]) == 2 else None

        state = await _retry("the page to show the run's end", final, 60)
    assert state["rows"] == list(SYMBOLS)
    assert set(state["points"].values()) == {str(len(hub.points_since(0)))}
    for s, name in enumerate(SYMBOLS):
        for v, venue in enumerate(("binance", "bybit")):
            assert state["positions"][(name, venue)] == pytest.approx(result.account.position[s][v], abs=1e-12)
    assert any(result.account.position[1]) and any(result.account.position[0])  # both symbols hold a position


# -- three venues ----------------------------------------------------------------------------------------------

THREE = ("binance", "bybit", "okx")  # names only: the page draws whatever venues the snapshot lists
TITLES = ("Binance", "Bybit", "OKX")
SIX = tuple(f"buy_{THREE[b]}_sell_{THREE[s]}" for b in range(3) for s in range(3) if b != s)


def _three_venue_state(name: str, i: int, s: int) -> tuple[Any, SymbolInventory]:
    # one symbol on three venues: positions that add up to 0, six edges, six directions' pairs left
    from arb.ops.snapshot import SymbolState

    nan = float("nan")
    price = 60_000.0 if s == 0 else 3_000.0
    position = (0.01 + 0.01 * s) * (i // 10)
    positions = (position, -position / 2, -position / 2)
    accounts = tuple(
        VenueAccount(venue, positions[v], 1.0 + positions[v], nan, price + 10 * v, price + 10 * v + 5, v, 2 * i, i)
        for v, venue in enumerate(THREE)
    )
    edges = tuple(round(3.0 * math.sin(i / 8 + d) - d, 3) for d in range(6))
    state = SymbolState(name, accounts, spread_bps=tuple(e + 22.0 for e in edges), entry_bps=5.0, pnl=0.1 * i,
                        fees=0.01 * i, pairs=i // 4, limits=(LimitUse("position_limit", position, 1.0, 0),),
                        edge_bps=edges)  # fmt: skip
    pairs = [(b, v) for b in range(3) for v in range(3) if b != v]
    inventory = SymbolInventory(
        name,
        tuple(
            VenueInventory(venue, 1.0 + positions[v], 0.0, 5_000.0 - 100.0 * v, 50.0 * v)
            for v, venue in enumerate(THREE)
        ),
        tuple(
            Direction(b, v, 0.01, 0 if (b, v) == (2, 1) else d + 1, f"{THREE[v]} base")
            for d, (b, v) in enumerate(pairs)
        ),
    )
    return state, inventory


def _three_venue_snapshot(i: int, symbols: tuple[str, ...] = ("BTCUSDT",)) -> Snapshot:
    nan = float("nan")
    ts = T0_NS + i * 500_000_000
    made = [_three_venue_state(name, i, s) for s, name in enumerate(symbols)]
    states = tuple(state for state, _ in made)
    feeds = tuple(FeedHealth(venue, "spot", name, True, True, v == 2 and i % 7 == 0, f"wss://127.0.0.1:{v + 1}/ws",
                             ts - 40_000_000, 10 * i, 0, 0, 0, 0)
                  for name in symbols for v, venue in enumerate(THREE))  # fmt: skip
    several = len(symbols) > 1
    if several:
        accounts = tuple(VenueAccount(venue, nan, nan, 5_000.0 - 100.0 * v, nan, nan, v, 4 * i, 2 * i)
                         for v, venue in enumerate(THREE))  # fmt: skip
        spread, edge, entry = (nan,) * 6, (nan,) * 6, nan
    else:
        first = states[0]
        accounts = tuple(dataclasses.replace(a, quote=5_000.0 - 100.0 * v) for v, a in enumerate(first.accounts))
        spread, edge, entry = first.spread_bps, first.edge_bps, first.entry_bps
    return Snapshot(
        mode="dry-run", symbol=",".join(symbols), quote_currency="USDT", ts_ns=ts, wall_ns=time.time_ns(),
        feeds=feeds, accounts=accounts, spread_bps=spread, entry_bps=entry, edge_bps=edge,
        equity=15_000.0 + 0.5 * i, pnl=0.5 * i, fees=0.1 * i, pairs=i // 4,
        limits=(LimitUse("max_drawdown", 0.0, 100.0, 0),), started_wall_ns=time.time_ns() - 60_000_000_000,
        symbols=states, inventory=tuple(inv for _, inv in made), venue_names=THREE, venue_titles=TITLES,
    )  # fmt: skip


def test_the_json_of_three_venues_lists_them_and_their_six_directions() -> None:
    s = _three_venue_snapshot(12)
    status: dict[str, Any] = json.loads(json.dumps(dashboard.snapshot_json(s)))  # as the page reads it
    assert status["venue_list"] == [{"name": n, "title": t} for n, t in zip(THREE, TITLES, strict=True)]
    assert [d["name"] for d in status["directions"]] == list(SIX)
    assert status["directions"][5] == {"name": "buy_okx_sell_bybit", "buy": "okx", "sell": "bybit"}
    assert status["edge_bps"] == list(s.edge_bps) and len(status["spread_bps"]) == 6
    [inv] = status["inventory"]
    assert [d["direction"] for d in inv["directions"]] == list(SIX)
    assert [v["venue"] for v in inv["venues"]] == list(THREE)
    # a chart point: the time, six edges, the entry threshold, equity and PnL
    assert dashboard.point(s) == [s.ts_ns / 1e9, *s.edge_bps, 5.0, s.equity, s.pnl]
    # two symbols: the account's six edges and entry are null, then each symbol's six edges, entry and PnL
    two = _three_venue_snapshot(12, SYMBOLS)
    p = dashboard.point(two)
    assert len(p) == 1 + 6 + 3 + 2 * (6 + 2) and p[1:8] == [None] * 7
    assert p[10:16] == list(two.symbols[0].edge_bps) and p[18:24] == list(two.symbols[1].edge_bps)


def _three_venue_state_of(dom: str) -> dict[str, Any]:
    status = re.search(r'<body[^>]*data-status="([^"]*)"', dom)
    body = re.search(r"<body[^>]*>", dom)
    attrs = dict(re.findall(r'data-([\w-]+)="([^"]*)"', body.group(0))) if body else {}
    return {
        "status": status.group(1) if status else None,
        "venues": attrs.get("venues"),
        "directions": attrs.get("directions"),
        "chart": re.findall(r'id="chart-spread(?:-(\w+))?"[^>]*data-points="(\d+)"[^>]*data-lines="(\d+)"', dom),
        "kpi_edges": {d: float(v) for d, v in re.findall(r'id="kpi-edge-(\w+)" data-value="([^"]+)"', dom)},
        "sym_edges": {
            (s, d): float(v) for s, d, v in re.findall(r'id="sym-edge-([A-Z0-9]+)-(\w+)" data-value="([^"]+)"', dom)
        },
        "positions": {k: float(v) for k, v in re.findall(r'id="pos-([\w-]+)" data-value="([^"]*)"', dom)},
        "quotes": {v: float(x) for v, x in re.findall(r'id="quote-(\w+)" data-value="([^"]*)"', dom)},
        "pairs_left": {
            (s, d): v for s, d, v in re.findall(r'id="pairs-left-([A-Z0-9]+)-(\w+)" data-value="([^"]*)"', dom)
        },
        "quote_held": {v: float(x) for v, x in re.findall(r'id="inv-quote-held-(\w+)" data-value="([^"]*)"', dom)},
        "heads": re.findall(r'<th class="n" id="sym-head-(?:edge|pos)-(\w+)">([^<]*)<', dom),
        "text": re.sub(r"<[^>]+>", " ", dom),
    }


async def test_the_page_of_three_venues_draws_a_column_per_venue_and_a_line_per_direction(tmp_path: Path) -> None:
    chromium = _chromium()
    hub = OpsHub(history=1000)
    for i in range(40):
        hub.publish(_three_venue_snapshot(i))
    with _serving(hub) as server:

        async def live() -> dict[str, Any] | None:
            state = _three_venue_state_of(await _dump_dom(chromium, server.url + "/"))
            return state if state["status"] == "live" and state["chart"] else None

        state = await _retry("the page of three venues to be live", live, 60)
        shot = tmp_path / "dashboard-three-venues.png"
        await _screenshot(chromium, server.url + "/", shot, "1400,1200")
    last = hub.latest()
    assert last is not None
    assert state["venues"] == ",".join(THREE) and state["directions"] == ",".join(SIX)
    assert state["chart"] == [("", "40", "6")]  # one spread chart, 40 points, a line per direction
    assert state["kpi_edges"] == pytest.approx(dict(zip(SIX, last.edge_bps, strict=True)))
    assert state["positions"] == pytest.approx({a.venue: a.position for a in last.accounts})
    assert state["quotes"] == {"binance": 5000.0, "bybit": 4900.0, "okx": 4800.0}
    assert state["quote_held"] == {"binance": 0.0, "bybit": 50.0, "okx": 100.0}
    assert state["pairs_left"] == {("BTCUSDT", d): str(0 if d == "buy_okx_sell_bybit" else n + 1)
                                   for n, d in enumerate(SIX)}  # fmt: skip
    # a person reads the venues' titles: the legend, the KPIs, the tables
    for words in ("buy OKX / sell Bybit", "Edge buy Binance / sell OKX", "OKX spot"):
        assert words in state["text"], words
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    if os.environ.get("ARB_KEEP_SCREENSHOTS"):
        shutil.copy(shot, Path(os.environ["ARB_KEEP_SCREENSHOTS"]) / shot.name)


async def test_the_page_of_two_symbols_on_three_venues_has_each_symbols_six_edges(tmp_path: Path) -> None:
    chromium = _chromium()
    hub = OpsHub(history=1000)
    for i in range(30):
        hub.publish(_three_venue_snapshot(i, SYMBOLS))
    with _serving(hub) as server:

        async def live() -> dict[str, Any] | None:
            state = _three_venue_state_of(await _dump_dom(chromium, server.url + "/"))
            return state if state["status"] == "live" and len(state["chart"]) == 2 else None

        state = await _retry("the page of two symbols on three venues", live, 60)
        shot = tmp_path / "dashboard-three-venues-two-symbols.png"
        await _screenshot(chromium, server.url + "/", shot, "1400,1800")
    last = hub.latest()
    assert last is not None
    assert sorted(state["chart"]) == [("BTCUSDT", "30", "6"), ("ETHUSDT", "30", "6")]
    assert state["sym_edges"] == pytest.approx({(st.symbol, d): e for st in last.symbols
                                                for d, e in zip(SIX, st.edge_bps, strict=True)})  # fmt: skip
    assert state["positions"] == pytest.approx({f"{st.symbol}-{a.venue}": a.position for st in last.symbols
                                                for a in st.accounts})  # fmt: skip
    assert state["heads"] == [*((d, f"Edge buy {TITLES[b]} / sell {TITLES[s]}")
                                for d, (b, s) in zip(SIX, [(b, s) for b in range(3) for s in range(3) if b != s],
                                                     strict=True)),
                              *((v, f"Position {t}") for v, t in zip(THREE, TITLES, strict=True))]  # fmt: skip
    assert len(state["pairs_left"]) == 12  # six directions of each symbol
    if os.environ.get("ARB_KEEP_SCREENSHOTS"):
        shutil.copy(shot, Path(os.environ["ARB_KEEP_SCREENSHOTS"]) / shot.name)
