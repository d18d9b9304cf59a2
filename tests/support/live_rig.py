"""A live-trading rig for tests: a fake private venue, a configuration pointing at it, a session.

The configuration is written to files by ``arb.testing.configs`` with the venue's loopback URLs
(network ``local``, private stream included), keys come from environment variables as in production,
and the journal is a SQLite file (or the PostgreSQL URL given) in the test's folder.
"""

from __future__ import annotations

__all__ = [  # the pair rigs live in arb.testing.pair_rig (the fault campaign uses them too)
    "ALL_SPECS",
    "BINANCE_LINEAR",
    "BINANCE_LINEAR_BTC_RULES",
    "BINANCE_LINEAR_ETH_RULES",
    "BINANCE_SPOT",
    "BINANCE_SPOT_ETH_RULES",
    "BINANCE_SPOT_RULES",
    "BYBIT_LINEAR",
    "BYBIT_LINEAR_BTC_RULES",
    "BYBIT_LINEAR_ETH_RULES",
    "BYBIT_SPOT",
    "BYBIT_SPOT_ETH_RULES",
    "BYBIT_SPOT_RULES",
    "EVERY_SPEC",
    "KEY",
    "OKX_LINEAR",
    "OKX_SPECS",
    "OKX_SPOT",
    "PASSPHRASE",
    "SECOND_RULES",
    "SECOND_SIZES",
    "SECRET",
    "UNTIL_BUSY",
    "UNTIL_CPU_S",
    "UNTIL_STARVED",
    "WAIT_S",
    "ArbProcess",
    "MarketHold",
    "VenueSpec",
    "account",
    "answered_order",
    "arb_id",
    "arb_live",
    "arb_process",
    "assert_journal_matches_ledgers",
    "assert_journal_settled",
    "at_ask",
    "best",
    "both_books_up",
    "both_keys",
    "create_requests",
    "dry_run_task",
    "ended",
    "eventually",
    "exited",
    "fake_venue",
    "interrupted",
    "journal_of",
    "ledger_id",
    "ledger_symbol",
    "linear_pair",
    "live_resumed",
    "live_trading",
    "live_up",
    "load",
    "net_base",
    "order_socket_url",
    "paper_pair_config",
    "paper_venues_config",
    "resumed_to_the_band",
    "second_recording",
    "set_keys",
    "spot_pair",
    "standing_pair",
    "standing_recordings",
    "symbol_tables",
    "two_symbol_session",
    "two_symbol_venue",
    "until",
    "use_measured_latency",
    "venue_and_config",
    "venue_and_executor",
    "venue_and_session",
    "warm_up_linear",
    "write_live_config",
    "write_pair_config",
    "write_two_symbol_config",
]

import asyncio
import atexit
import contextlib
import fcntl
import gzip
import json
import os
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_UP, Decimal
from pathlib import Path
from typing import Any, Literal

import pytest

from arb.config import AppConfig, load_config
from arb.execution.reconcile import VenueReconciliation
from arb.execution.venue_executor import VenueExecutor
from arb.journal.journal import Journal
from arb.live.engine import Engine
from arb.live.session_loop import warm_up_kernel
from arb.live.trading_session import TradingSession
from arb.recording.venues import make_normalizer
from arb.sim.binance.exchange import FakeBinanceExchange
from arb.sim.bybit.exchange import FakeBybitExchange
from arb.sim.ledger import SymbolRules
from arb.sim.okx.exchange import FakeOkxExchange
from arb.sim.options import VenueOptions
from arb.sim.replay import FrameKind
from arb.testing import waiting
from arb.testing.configs import DEFAULT_ARBITRAGE, deep_merge, local_endpoints, write_config_files
from arb.testing.pair_rig import (
    KEY,
    PAIR,
    PASSPHRASE,
    SECRET,
    account,
    arb_id,
    book_stream,
    instrument_of,
    key_environment,
    linear_pair,
    order_socket_url,
    spot_pair,
    symbol_rules,
    symbol_tables,
    without_pings,
    write_pair_config,
)
from arb.testing.waiting import Patience, PatienceError, patiently
from arb.waiting import Conditions
from connectors.okx.trading import okx_client_id
from tests.support.arb_forks import forked_child, shared_forks
from tests.support.captures import BYBIT_OB500, RECORDINGS, ROOT, SPOT_BTC_HEAD, SPOT_ETH_HEAD, USDM_BTC
from tests.support.scenario_days import write_standing_spread

BINANCE_SPOT_RULES = symbol_rules("binance", "spot")
BYBIT_SPOT_RULES = symbol_rules("bybit", "spot")
OKX_SPOT_RULES = symbol_rules("okx", "spot")
BINANCE_SPOT_ETH_RULES = symbol_rules("binance", "spot", "ETHUSDT")
BYBIT_SPOT_ETH_RULES = symbol_rules("bybit", "spot", "ETHUSDT")
BINANCE_LINEAR_BTC_RULES = symbol_rules("binance", "linear")
BYBIT_LINEAR_BTC_RULES = symbol_rules("bybit", "linear")
OKX_LINEAR_RULES = symbol_rules("okx", "linear")
BINANCE_LINEAR_ETH_RULES = symbol_rules("binance", "linear", "ETHUSDT")
BYBIT_LINEAR_ETH_RULES = symbol_rules("bybit", "linear", "ETHUSDT")
BYBIT_LINEAR_XRP_RULES = symbol_rules("bybit", "linear", "XRPUSDT")
"""The venues' real rules the tests trade (their test kits', ``arb/sim/<venue>/testkit.py``)."""

WAIT_S = 60.0
"""A bound on an in-process wait that hangs, not on its speed: a busy machine makes ccxt and the fakes
several times slower."""


@dataclass(frozen=True, slots=True)
class VenueSpec:
    """One venue-market the rig can stand up."""

    venue: str
    market: Literal["spot", "linear"]
    symbol: str
    recording: Path
    rules: SymbolRules
    balances: dict[str, str]

    @property
    def index(self) -> int:
        return 0 if self.venue == "binance" else 1  # OKX runs beside Binance: venues = ["binance", "okx"]

    @property
    def id(self) -> str:
        return f"{self.venue}-{self.market}"


BYBIT_SPOT = VenueSpec("bybit", "spot", "BTCUSDT", RECORDINGS / "bybit_spot" / "btcusdt_20240808.gz",
                       BYBIT_SPOT_RULES, {"USDT": "100000", "BTC": "50"})  # fmt: skip
BYBIT_LINEAR = VenueSpec("bybit", "linear", "XRPUSDT", BYBIT_OB500, BYBIT_LINEAR_XRP_RULES, {"USDT": "10000"})
BINANCE_SPOT = VenueSpec("binance", "spot", "BTCUSDT", SPOT_BTC_HEAD, BINANCE_SPOT_RULES,
                         {"USDT": "100000", "BTC": "50"})  # fmt: skip
BINANCE_LINEAR = VenueSpec("binance", "linear", "BTCUSDT", USDM_BTC, BINANCE_LINEAR_BTC_RULES, {"USDT": "100000"})
OKX_SPOT_RECORDING = RECORDINGS / "okx_spot" / "btcusdt_20240808.gz"
OKX_SPOT = VenueSpec("okx", "spot", "BTCUSDT", OKX_SPOT_RECORDING, OKX_SPOT_RULES, {"USDT": "100000", "BTC": "50"})
OKX_LINEAR = VenueSpec("okx", "linear", "BTCUSDT", OKX_SPOT_RECORDING, OKX_LINEAR_RULES, {"USDT": "100000"})
"""OKX's swap, on the spot recording's books made a swap's (:func:`okx_books_recording`)."""
ALL_SPECS = [BINANCE_SPOT, BINANCE_LINEAR, BYBIT_SPOT, BYBIT_LINEAR]
"""The four venue-markets of Binance and Bybit."""
OKX_SPECS = [OKX_SPOT, OKX_LINEAR]
EVERY_SPEC = [*ALL_SPECS, *OKX_SPECS]
"""The six venue-markets arb trades (a test module moves from ALL_SPECS to it once it runs on OKX)."""


def okx_books_recording(spot: Path, out: Path, *, swap: bool) -> Path:
    """OKX's spot recording ``spot`` as the fake replays it: its ``books`` pushes alone (the recording's
    subscription answers and trades left out), checksums 0 as OKX sends them since June 2026; ``swap``: as
    BTC-USDT-SWAP's, sizes in contracts of 0.01 BTC (rounded up to OKX's 0.01-contract lot, so no level
    vanishes)."""
    lot = Decimal("0.01")
    with gzip.open(spot, "rt") as lines, gzip.open(out, "wt", compresslevel=1) as written:  # read once, by the fake
        for line in lines:
            stamp, _, text = line.partition(" ")
            message = json.loads(text)
            arg = message.get("arg") or {}
            if arg.get("channel") != "books" or "data" not in message:
                continue
            for data in message["data"]:
                data["checksum"] = 0
                for level in (data.get("asks") or []) + (data.get("bids") or []) if swap else []:
                    level[1] = f"{(Decimal(level[1]) / lot).quantize(lot, rounding=ROUND_UP):f}"
            if swap:
                arg["instId"] = "BTC-USDT-SWAP"
            written.write(f"{stamp} {json.dumps(message, separators=(',', ':'))}\n")
    return out


def each_spec(specs: Sequence[VenueSpec]) -> Any:
    """A ``spec`` fixture for a test module (``spec = each_spec(ALL_SPECS)``): a test there that takes
    ``spec`` runs on each of ``specs`` in turn; one that parametrizes ``spec`` itself runs on those it names."""

    @pytest.fixture(params=specs, ids=lambda s: s.id)
    def spec(request: pytest.FixtureRequest) -> VenueSpec:
        chosen: VenueSpec = request.param
        return chosen

    return spec


def write_live_config(folder: Path, spec: VenueSpec, venue: Any, *, journal_url: str = "",
                      live: dict[str, Any] | None = None, order_entry: str = "rest",
                      ws_orders: str | None = None) -> Path:  # fmt: skip
    """Configuration files whose ``spec.venue`` points at ``venue`` (the other venue is left as shipped);
    ``order_entry``: the venue file's, over ``ws_orders`` (the fake's order WebSocket by default)."""
    endpoints = local_endpoints(venue.ws_urls[0], venue.rest_url, market=spec.market, ws_private=venue.private_ws_url,
                                ws_orders=order_socket_url(venue) if ws_orders is None else ws_orders)  # fmt: skip
    overrides = {**endpoints, "instrument": instrument_of(spec.rules), "order_entry": order_entry}
    strategy: dict[str, Any] = {"symbol": spec.symbol}
    if spec.venue == "okx":
        strategy["venues"] = ["binance", "okx"]  # OKX is number 1 beside Binance (VenueSpec.index)
    if spec.market == "linear":
        overrides["account"] = {"base": 0.0, "quote": 10000.0}
    live_section = {"unknown_check_interval_ms": 50, "unknown_checks": 3, "unknown_grace_ms": 300,
                    "fill_check_after_ms": 300, "request_timeout_ms": 5000, "journal_url": journal_url,
                    **(live or {})}  # fmt: skip
    return write_config_files(
        folder,
        arbitrage_overrides={"strategy": strategy, "live": live_section},
        **{f"{spec.venue}_overrides": overrides},
    )


@contextlib.asynccontextmanager
async def fake_venue(spec: VenueSpec, options: VenueOptions | None = None) -> AsyncIterator[Any]:
    """The fake private venue of ``spec`` with one account (keys KEY/SECRET), its book synced."""
    if spec.venue == "binance":
        binance_options = without_pings(options)
        async with FakeBinanceExchange(
            spec.recording, market=spec.market, rules=[spec.rules], options=binance_options
        ) as binance:
            binance.add_account("arb", api_key=KEY, api_secret=SECRET, balances=spec.balances)
            async with asyncio.timeout(WAIT_S):
                await binance.advance_until(lambda frame: frame.kind is FrameKind.REST_SNAPSHOT)
                await binance.advance_until(lambda frame: "@depth" in frame.stream)
            yield binance
        return
    if spec.venue == "okx":
        async with _fake_okx(spec, options) as okx:
            yield okx
        return
    async with FakeBybitExchange(spec.recording, market=spec.market, rules=[spec.rules], options=options) as venue:
        venue.add_account("arb", api_key=KEY, api_secret=SECRET, balances=spec.balances)
        async with asyncio.timeout(WAIT_S):
            await venue.advance_until(lambda frame: frame.stream.startswith("orderbook."))
        yield venue


@contextlib.asynccontextmanager
async def _fake_okx(spec: VenueSpec, options: VenueOptions | None, **more: Any) -> AsyncIterator[FakeOkxExchange]:
    # OKX's fake with one account (KEY, SECRET, PASSPHRASE), its book synced; the swap's recording made for it
    recording = _okx_books(spec.recording, swap=spec.market == "linear")
    async with FakeOkxExchange(recording, market=spec.market, rules=[spec.rules], options=options,
                               checksums="zero", **more) as okx:  # fmt: skip
        okx.add_account("arb", api_key=KEY, api_secret=SECRET, passphrase=PASSPHRASE, balances=spec.balances)
        async with asyncio.timeout(WAIT_S):
            await okx.advance_until(lambda frame: frame.stream.startswith("books"))
        yield okx


_OKX_BOOKS: dict[tuple[Path, bool], Path] = {}
"""The fake's recordings made so far in this process (by :func:`_okx_books`)."""


def _okx_books(spot: Path, *, swap: bool) -> Path:
    # okx_books_recording once per process and recording (seconds of JSON each time, and dozens of tests
    # start a fake OKX), into a folder removed as the process exits; the fake only reads it
    key = (spot, swap)
    if key not in _OKX_BOOKS:
        folder = Path(tempfile.mkdtemp(prefix="arb-okx-books-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _OKX_BOOKS[key] = okx_books_recording(spot, folder / f"{'swap' if swap else 'spot'}-{spot.name}", swap=swap)
    return _OKX_BOOKS[key]


def ledger_id(fake: Any, client_id: str) -> str:
    """arb's client id as ``fake``'s ledger holds it: OKX's ``clOrdId`` is letters and digits (the dashes as
    ``X``), the other venues take arb's as it is."""
    return okx_client_id(client_id) if isinstance(fake, FakeOkxExchange) else client_id


def ledger_symbol(fake: Any, spec: VenueSpec) -> str:
    """``spec``'s symbol as ``fake``'s ledger names it (OKX's instrument id, ``BTC-USDT-SWAP``)."""
    return next(iter(fake.instruments)) if isinstance(fake, FakeOkxExchange) else spec.symbol


def arb_symbol(fake: Any, symbol: str) -> str:
    """A symbol of ``fake``'s ledger as arb names it (OKX's ``BTC-USDT-SWAP`` is ``BTCUSDT``)."""
    return symbol.removesuffix("-SWAP").replace("-", "") if isinstance(fake, FakeOkxExchange) else symbol


def set_keys(monkeypatch: pytest.MonkeyPatch, spec: VenueSpec, *, key: str = KEY, secret: str = SECRET) -> None:
    prefix = spec.venue.upper()
    monkeypatch.setenv(f"{prefix}_API_KEY", key)
    monkeypatch.setenv(f"{prefix}_API_SECRET", secret)
    if spec.venue == "okx":
        monkeypatch.setenv("OKX_API_PASSPHRASE", PASSPHRASE)


def best(venue: Any, spec: VenueSpec) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """Best bid, its qty, best ask, its qty of the venue's book now."""
    view = venue.book(spec.symbol, 1)
    (bid, bid_qty), (ask, ask_qty) = view.bids[0], view.asks[0]
    unit = Decimal(1)  # base units per size unit: an OKX swap's book is in contracts
    if isinstance(venue, FakeOkxExchange):
        unit = next(i.contract for i in venue.instruments.values())
    return Decimal(bid), Decimal(bid_qty) * unit, Decimal(ask), Decimal(ask_qty) * unit


def load(path: Path) -> AppConfig:
    return load_config(path)


@contextlib.asynccontextmanager
async def venue_and_config(
    spec: VenueSpec,
    folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    live: dict[str, Any] | None = None,
    order_entry: str = "rest",
    **venue: Any,
) -> AsyncIterator[tuple[Any, AppConfig]]:
    """The fake venue of ``spec`` (``venue``: its keywords, as ``fake_venue``'s) with the keys set, and
    the configuration written in ``folder`` pointing at it (``order_entry``: the venue file's), loaded."""
    set_keys(monkeypatch, spec)
    async with fake_venue(spec, **venue) as fake:
        yield fake, load(write_live_config(folder, spec, fake, live=live, order_entry=order_entry))


@contextlib.asynccontextmanager
async def venue_and_session(
    spec: VenueSpec, folder: Path, monkeypatch: pytest.MonkeyPatch, *, live: dict[str, Any] | None = None, **venue: Any
) -> AsyncIterator[tuple[Any, TradingSession]]:
    """The fake venue of ``spec`` (``venue_and_config``) and an open TradingSession of that venue
    pointed at it."""
    from arb.live.trading_session import trading_session

    async with (
        venue_and_config(spec, folder, monkeypatch, live=live, **venue) as (fake, config),
        trading_session(config, [spec.index]) as session,
    ):
        yield fake, session


@contextlib.asynccontextmanager
async def reconciled_session(
    config: AppConfig, spec: VenueSpec, **options: Any
) -> AsyncIterator[tuple[TradingSession, VenueReconciliation]]:
    """A TradingSession of ``spec``'s venue opened as arb starts one, reconciled first (``options``: the
    reconciliation's keywords): the session and the reconciliation's report."""
    from arb.live.trading_session import trading_session

    async with trading_session(config, [spec.index]) as session:
        (report,) = await session.reconcile(**options)
        yield session, report


async def reconciled(config: AppConfig, spec: VenueSpec, **options: Any) -> VenueReconciliation:
    """The reconciliation report of a new TradingSession of ``spec``'s venue (arb starting), ``options``
    its keywords."""
    async with reconciled_session(config, spec, **options) as (_, report):
        return report


async def answered_order(executor: VenueExecutor, side: int, price: Decimal, qty: Decimal, intent: int = 1) -> Any:
    """A manual order of ``intent`` sent through ``executor`` (its background tasks running meanwhile),
    once the venue has answered it (at most ``WAIT_S``); the executor is stopped after it."""
    from arb.live.trading_session import KIND_MANUAL

    async with asyncio.TaskGroup() as group:
        executor.run_background(group)
        order = executor.submit(side, float(price), float(qty), KIND_MANUAL, intent, executor.clock())
        await eventually(lambda: order.answered, executor)
        executor.stop()
    return order


@contextlib.asynccontextmanager
async def venue_and_executor(
    spec: VenueSpec, folder: Path, monkeypatch: pytest.MonkeyPatch, *, live: dict[str, Any] | None = None, **venue: Any
) -> AsyncIterator[tuple[Any, VenueExecutor]]:
    """The fake venue of ``spec`` and an open TradingSession's executor pointed at it (keys set)."""
    async with venue_and_session(spec, folder, monkeypatch, live=live, **venue) as (fake, session):
        yield fake, session.executors[spec.index]


# -- both venues: arb live end to end --------------------------------------------------------------------


def both_keys(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Both venues' keys in this process's environment; returns them for a child's environment too."""
    keys = key_environment()
    for name, value in keys.items():
        monkeypatch.setenv(name, value)
    return keys


def standing_recordings(root: Path, *, heartbeat_ms: int = 100, venues: tuple[str, str] = PAIR) -> tuple[Path, Path]:
    """The end-to-end tests' market: the standing spread (``write_standing_spread``) in ``root``/recordings,
    30 s of data, a heartbeat every ``heartbeat_ms``. Returns the two venues' files (Binance's and
    Bybit's unless ``venues`` says)."""
    return write_standing_spread(root, duration_ms=30_000, heartbeat_ms=heartbeat_ms, venues=venues)


async def both_books_up(binance: Any, bybit: Any, timeout_s: float) -> None:
    """Advance both fake venues' recordings together until each has a bid and an ask on BTCUSDT (at most
    ``timeout_s``)."""
    async with asyncio.timeout(timeout_s):
        while not all(v.book("BTCUSDT", 1).bids and v.book("BTCUSDT", 1).asks for v in (binance, bybit)):
            await binance.advance(1)
            await bybit.advance(1)


@contextlib.asynccontextmanager
async def standing_pair(
    folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    arbitrage: dict[str, Any] | None = None,
    order_entry: str = "rest",
    live: dict[str, Any] | None = None,
    venues: tuple[str, str] = PAIR,
) -> AsyncIterator[tuple[Any, Any, Path, dict[str, str]]]:
    """Both fake spot venues (``venues``, Binance's and Bybit's by default) replaying
    ``standing_recordings``, their keys in this environment (returned for a child's too) and the pair
    configuration written in ``folder`` pointing at them (``arbitrage`` merged into its settings, ``live``
    into its ``[live]``, ``order_entry`` both venue files'). Yields the first venue, the second, the
    configuration's path, the keys."""
    keys = both_keys(monkeypatch)
    async with spot_pair(*standing_recordings(folder, venues=venues), venues=venues) as (binance, bybit):
        config = write_pair_config(folder, binance, bybit, arbitrage=arbitrage, live=live, order_entry=order_entry)
        yield binance, bybit, config, keys


class ArbProcess(asyncio.SubprocessProtocol):
    """A running ``arb`` child whose output is copied, as it comes, to ``out``/stdout and ``out``/stderr
    (the files tests read). Each chunk of output and the end (exited, its output all copied) is a change
    (:meth:`wait_until`); :meth:`wait` returns once the end has come, so the files are whole then."""

    def __init__(self, out: Path) -> None:
        self._files = {1: (out / "stdout").open("wb", buffering=0), 2: (out / "stderr").open("wb", buffering=0)}
        self._transport: asyncio.SubprocessTransport | None = None
        self._exited = False
        self._changes = Conditions()
        self.size = 0
        """Bytes of output so far (both streams)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.SubprocessTransport)
        self._transport = transport
        for fd in self._files:  # room for a burst of output while this process is busy elsewhere
            pipe = transport.get_pipe_transport(fd)
            if pipe is None:  # fd is not piped
                continue
            with contextlib.suppress(OSError, AttributeError):
                fcntl.fcntl(pipe.get_extra_info("pipe").fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        assert isinstance(data, bytes)
        self._files[fd].write(data)
        self.size += len(data)
        self._changes.notify()

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        self._files[fd].close()
        self._changed()

    def process_exited(self) -> None:
        self._exited = True
        self._changed()

    def _changed(self) -> None:
        if self.ended and self._transport is not None:
            self._transport.close()
        self._changes.notify()

    @property
    def ended(self) -> bool:
        """The process exited and its output is all in the files."""
        return self._exited and all(f.closed for f in self._files.values())

    @property
    def pid(self) -> int:
        assert self._transport is not None
        return self._transport.get_pid()

    @property
    def returncode(self) -> int | None:
        """The exit code once it exited (a signal's: minus its number), else None."""
        return None if self._transport is None else self._transport.get_returncode()

    def send_signal(self, signal_number: int) -> None:
        assert self._transport is not None
        self._transport.send_signal(signal_number)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Return once ``predicate()`` holds: asked now, after each chunk of output and at the end."""
        await self._changes.wait_until(predicate)

    async def wait(self) -> int:
        """The exit code, once the process ended and its output is all in the files."""
        await self.wait_until(lambda: self.ended)
        rc = self.returncode
        assert rc is not None
        return rc

    def close_files(self) -> None:
        for f in self._files.values():
            f.close()


@contextlib.asynccontextmanager
async def arb_process(out: Path, keys: dict[str, str], *args: str) -> AsyncIterator[ArbProcess]:
    """A real ``arb ARGS`` process with ``keys`` in its environment, working in ``out``; its output goes
    to files (``out``/stdout, ``out``/stderr) as it comes (:class:`ArbProcess`). Killed on the way out if
    it still runs. Forked from the worker's server that has imported arb and loaded its compiled code
    (``tests/support/arb_forks.py``): the command as it runs, without its start-up's CPU every time."""
    out.mkdir(parents=True, exist_ok=True)
    process = ArbProcess(out)
    env = {**os.environ, **keys, "PYTHONPATH": str(ROOT)}
    try:
        async with forked_child(shared_forks(), process, *args, env=env, cwd=out):
            try:
                yield process
            finally:
                if process.returncode is None:
                    process.kill()
                await process.wait()
    finally:
        process.close_files()


def arb_live(config: Path, out: Path, keys: dict[str, str], *extra: str) -> contextlib.AbstractAsyncContextManager[Any]:
    """A real ``arb live`` process (``arb_process``), its report in ``out``/report."""
    return arb_process(out, keys, "live", "--config", str(config), "--out", str(out / "report"), *extra)


def _output(out: Path) -> str:
    return (out / "stderr").read_text() + (out / "stdout").read_text()


UNTIL_BUSY = 0.5
"""The share of a core an ``arb`` child must use to count as working while a test awaits a condition:
one starting (importing, loading Numba's cache, reconciling) takes a whole core; ``arb live`` trading
the tests' markets takes a tenth of one (its account lines and feeds), which is no sign of progress."""
UNTIL_STARVED = 0.8
"""... or the share of the polls at which it must be runnable (a busy machine's start-up waits for a core
at nearly every poll; a running ``arb live`` at a third of them)."""
UNTIL_CPU_S = 240.0
"""The most CPU seconds an ``arb`` child may use while a test awaits one condition: a start-up whose
Numba cache is cold compiles in about 60; no test's trading takes a tenth of that. A bound in work done,
which a busy machine does not shorten."""


async def until(condition: Callable[[], bool], process: ArbProcess, out: Path, timeout: float, *watched: Any) -> None:
    """Await ``condition()`` while the process lives (its output in the failure message): asked now, after
    each chunk of the process's output and at each change of ``watched`` (the fakes whose state it reads,
    anything with a ``wait_until``).

    Fails once ``timeout`` seconds passed without the process working (:data:`UNTIL_BUSY`: starting up,
    compiling, or waiting for a core to do so on a busy machine; see arb.testing.waiting), or once it used
    :data:`UNTIL_CPU_S`. Its output is no progress: ``arb live`` prints its account line every second
    whether it trades or not. The failure says where each watched venue's market is (a recording played
    out before the condition held: the market ran out before arb did what the test awaits)."""
    patience = Patience("the condition", quiet_s=timeout, pids=[process.pid], busy=UNTIL_BUSY,
                        starved=UNTIL_STARVED, cpu_limit_s=UNTIL_CPU_S)  # fmt: skip
    try:
        await waiting.until(lambda: condition() or process.ended, patience, process, *watched)
    except PatienceError as error:
        pytest.fail(f"{error}{_markets(watched)}; arb live's output:\n{_output(out)[-4000:]}")
    if not condition():
        pytest.fail(f"arb live ended (rc {process.returncode}) before the condition held:\n{_output(out)[-4000:]}")


def _markets(watched: Iterable[Any]) -> str:
    # where each watched fake venue's recording is: "; binance's market played out, ..."
    said = [f"{v.venue_name}'s market {'played out' if v.exhausted else f'at frame {v.position}'}"
            for v in watched if hasattr(v, "exhausted") and hasattr(v, "venue_name")]  # fmt: skip
    return "; " + ", ".join(said) if said else ""


class MarketHold:
    """The fake venues' timed playback held where it is, on one market time (no frame released after
    it), until :meth:`resume`, which plays on at the recorded pace from there as though no time had
    passed. For a test that stops ``arb live`` and starts another: a real market goes on meanwhile, but
    a test's recording is finite, and a restart on a busy machine (tens of seconds) would come up after
    its end; held, the restart meets the market it left, however long it takes to come up. ``at_ns``:
    hold at that receive time instead (the frames before it still come at their pace, or at once when
    they are late): a test that waits for arb to act before the market moves on."""

    def __init__(self, *venues: Any, at_ns: int | None = None) -> None:
        self.venues = venues
        following = [frame.local_ts for v in venues if (frame := v.peek()) is not None]
        self.held_ns = min(following, default=2**62) - 1 if at_ns is None else at_ns
        """The market time held: every frame at or before it released, none after."""
        for venue in venues:
            venue.gate(self.held_ns)

    async def resume(self) -> None:
        """Play on from the held time, now (each venue's pace restarted there: they stay on one clock)."""
        for venue in self.venues:
            await venue.skip_to(self.held_ns)
            venue.gate(None)


async def exited(process: ArbProcess, quiet_s: float = 60) -> int:
    """The exit code of ``process`` once it has ended; fails after ``quiet_s`` without the process
    working (a stop that resolves orders and closes the journal takes a while on a busy machine)."""
    try:
        async with patiently(Patience("the process to exit", quiet_s=quiet_s, pids=[process.pid])):
            return await process.wait()
    except PatienceError as error:
        pytest.fail(str(error))


def ended(out: Path, rc: int, expected: int) -> str:
    """The stderr of the ``arb live`` that wrote to ``out`` and exited ``rc``: it exited ``expected``,
    without a traceback."""
    stderr = (out / "stderr").read_text()
    assert rc == expected, stderr[-3000:]
    assert "Traceback" not in stderr
    return stderr


async def interrupted(process: ArbProcess, out: Path) -> str:
    """Ctrl-C (SIGINT) to the ``arb live`` ``process`` that writes to ``out``, and its stderr once it has
    ended (``exited``): it exited 130, without a traceback (``ended``)."""
    process.send_signal(signal.SIGINT)
    return ended(out, await exited(process), 130)


async def live_up(
    binance: Any,
    bybit: Any,
    process: Any,
    out: Path,
    *,
    streams: Iterable[str],
    topics: Iterable[str],
    timeout: float = 60,
) -> None:
    """Await ``arb live``'s subscriptions: every stream in ``streams`` on ``binance`` (the first venue),
    every one in ``topics`` on ``bybit`` (the second) and both user streams; ``timeout`` as for
    :func:`until` (time without progress)."""
    streams, topics = tuple(streams), tuple(topics)

    def up() -> bool:
        return (
            all(binance.subscriber_count(s) >= 1 for s in streams)
            and all(bybit.subscriber_count(t) >= 1 for t in topics)
            and binance.user_streams_up()
            and bybit.user_streams_up()
        )

    await until(up, process, out, timeout, binance, bybit)


@contextlib.asynccontextmanager
async def live_trading(
    config: Path, out: Path, keys: dict[str, str], binance: Any, bybit: Any, *, symbols: Iterable[str]
) -> AsyncIterator[Any]:
    """``arb live`` started (the symbols' books and both user streams subscribed), then both venues'
    recordings played in real time (``binance`` and ``bybit``: the pair's first venue and its second)."""
    symbols = tuple(symbols)
    async with arb_live(config, out, keys) as process:
        await _spot_up(binance, bybit, process, out, symbols)
        binance.play(1.0)
        bybit.play(1.0)
        yield process


@contextlib.asynccontextmanager
async def live_resumed(
    config: Path, out: Path, keys: dict[str, str], hold: MarketHold, *, symbols: Iterable[str]
) -> AsyncIterator[Any]:
    """``arb live`` started again on the pair of spot venues ``hold`` holds (a :func:`live_trading`
    stopped): once it has subscribed as there, the market plays on from where it was held."""
    binance, bybit = hold.venues
    async with arb_live(config, out, keys) as process:
        await _spot_up(binance, bybit, process, out, tuple(symbols))
        await hold.resume()
        yield process


def net_base(venue: Any) -> Decimal:
    """How much base arb's account gained on ``venue`` by trading: buys less sells less fees paid in base."""
    trades = account(venue).trades
    moved = sum((t.qty if t.side.value == "buy" else -t.qty for t in trades), Decimal(0))
    return moved - sum((t.fee for t in trades if t.fee_asset == "BTC"), Decimal(0))


async def resumed_to_the_band(config: Path, out: Path, keys: dict[str, str], hold: MarketHold, band: Decimal) -> str:
    """:func:`live_resumed` on BTCUSDT until the first venue of ``hold`` is long ``band`` (base, net of fees)
    and the second as short, then interrupted: its stderr."""
    long, short = hold.venues
    async with live_resumed(config, out, keys, hold, symbols=["BTCUSDT"]) as process:
        await until(lambda: net_base(long) >= band and -net_base(short) >= band, process, out, 60, long, short)
        return await interrupted(process, out)


async def _spot_up(first: Any, second: Any, process: Any, out: Path, symbols: tuple[str, ...]) -> None:
    await live_up(first, second, process, out, streams=[book_stream(first, s) for s in symbols],
                  topics=[book_stream(second, s) for s in symbols])  # fmt: skip


def dry_run_task(config: AppConfig, account: Any, console: Any, **options: Any) -> asyncio.Task[Any]:
    """``dry_run_live`` of ``config`` on the paper ``account`` as a task, printing to ``console`` with the
    terminal's watchers; ``options`` go to ``dry_run_live`` (``stop_event``, ``on_fill``...)."""
    from arb.live.dry_run import dry_run_live
    from arb.ops.terminal import dry_run_watchers

    watchers = dry_run_watchers(config, account, console)
    return asyncio.create_task(dry_run_live(config, account=account, console=console, watchers=watchers, **options))


def paper_pair_config(folder: Path, binance: Any, bybit: Any, arbitrage: dict[str, Any]) -> AppConfig:
    """The configuration of a dry run on the two fake venues (:func:`paper_venues_config` of both)."""
    return paper_venues_config(folder, {"binance": binance, "bybit": bybit}, arbitrage)


def paper_venues_config(
    folder: Path, fakes: dict[str, Any], arbitrage: dict[str, Any], venue: dict[str, Any] | None = None
) -> AppConfig:
    """The configuration of a dry run on the fake public venues ``fakes`` (by venue name, in the run's
    order: ``[strategy] venues``), written in ``folder`` and loaded: each venue's endpoints at its fake,
    orders answered in 1 ms each way, paper accounts of 1 BTC and 100,000 USDT (``venue`` merged into
    each venue file's overrides); ``arbitrage`` is its arbitrage settings."""
    own = deep_merge({"latency": {"order_entry_ms": 1.0, "order_response_ms": 1.0},
                      "account": {"base": 1.0, "quote": 1e5}}, venue)  # fmt: skip
    overrides = {f"{name}_overrides": {**own, **local_endpoints(fake.ws_urls, fake.rest_url)}
                 for name, fake in fakes.items()}  # fmt: skip
    arbitrage = deep_merge({"strategy": {"venues": list(fakes)}}, arbitrage)
    return load(write_config_files(folder, arbitrage_overrides=arbitrage, **overrides))


def journal_of(config_dir: Path) -> Journal:
    """The journal an ``arb live`` configured by :func:`write_pair_config` in ``config_dir`` keeps."""
    (path,) = (config_dir / "live").glob("*.sqlite")
    return Journal.open(path)


def assert_journal_matches_ledgers(journal: Journal, venues: dict[str, Any]) -> None:
    """Every fill of every venue's ledger is in the journal exactly once, under its symbol (a venue may
    number each symbol's trades from the same id), at its price, quantity and fee, from an intent of
    that symbol, and none is invented; every order the venues hold is an intent, no client id twice."""
    for venue, fake in venues.items():
        trades = {(arb_symbol(fake, t.symbol), fake.exec_id(t)): t for t in account(fake).trades}
        rows = journal.fills(venue=venue)
        booked = {(f["symbol"], f["trade_id"]): f for f in rows}
        assert len(booked) == len(rows) and set(booked) == set(trades), venue
        for key, trade in trades.items():
            fill = booked[key]
            assert (Decimal(fill["price"]), Decimal(fill["qty"]), Decimal(fill["fee"])) == (
                trade.price,
                trade.qty,
                trade.fee,
            )
            assert fill["client_id"] == arb_id(fake, trade.client_id) and fill["client_id"].startswith("arb-")
            intent = journal.intent(fill["client_id"])
            assert intent is not None and intent["symbol"] == arb_symbol(fake, trade.symbol), key
    intents = {i["client_id"] for i in journal.intents()}
    for venue, fake in venues.items():
        held = [arb_id(fake, o.client_id) for o in account(fake).orders]
        assert len(held) == len(set(held)) and set(held) <= intents, venue  # no client id went out twice


def assert_journal_settled(config_dir: Path, venues: dict[str, Any]) -> None:
    """The journal of the configuration in ``config_dir`` matches the venues' ledgers
    (``assert_journal_matches_ledgers``: every fill booked once, no id sent twice) and holds no intent
    whose fate is unknown."""
    with journal_of(config_dir) as journal:
        assert_journal_matches_ledgers(journal, venues)
        assert not journal.intents(in_flight=True)


# -- two symbols on one venue-market ---------------------------------------------------------------------

SECOND_RULES = {
    BINANCE_SPOT.id: BINANCE_SPOT_ETH_RULES,
    BYBIT_SPOT.id: BYBIT_SPOT_ETH_RULES,
    BINANCE_LINEAR.id: BINANCE_LINEAR_ETH_RULES,
    BYBIT_LINEAR.id: BYBIT_LINEAR_ETH_RULES,
}
"""Each venue-market's second symbol (ETHUSDT): its rules there."""
SECOND_SIZES = {"max_order_size": 0.05, "max_position_size": 0.5, "rebalance_threshold": 0.1, "position_limit": 0.2}


def second_recording(spec: VenueSpec, two_symbols: Path) -> Path | None:
    """The second symbol's recording on ``spec`` (spot: real Binance ETHUSDT, and its generated Bybit side
    from the ``two_symbols`` fixture); None on a linear market, where ETHUSDT is tradable but not replayed."""
    if spec.market == "linear":
        return None
    return SPOT_ETH_HEAD if spec.venue == "binance" else two_symbols / "bybit_spot" / "ethusdt_20240808.gz"


@contextlib.asynccontextmanager
async def two_symbol_venue(
    spec: VenueSpec, second: Path | None, options: VenueOptions | None = None
) -> AsyncIterator[Any]:
    """The fake private venue of ``spec`` trading ``spec.symbol`` and ETHUSDT (replaying ``second`` when
    given), one account holding both; returns once every replayed symbol's book is up."""
    rules = [spec.rules, SECOND_RULES[spec.id]]
    sessions = [spec.recording, *([second] if second is not None else [])]
    balances = {**spec.balances, **({"ETH": "20"} if spec.market == "spot" else {})}
    replayed = [spec.symbol, *(["ETHUSDT"] if second is not None else [])]
    if spec.venue == "binance":
        venue: Any = FakeBinanceExchange(sessions, market=spec.market, rules=rules, options=without_pings(options))
    else:
        venue = FakeBybitExchange(sessions, market=spec.market, rules=rules, options=options)
    async with venue:
        venue.add_account("arb", api_key=KEY, api_secret=SECRET, balances=balances)
        async with asyncio.timeout(WAIT_S):
            while not all(venue.book(s, 1).bids and venue.book(s, 1).asks for s in replayed):
                assert await venue.advance(1) == 1, "the recording ended before every book was up"
        yield venue


def write_two_symbol_config(folder: Path, spec: VenueSpec, venue: Any, *, symbols: tuple[str, ...] = (),
                            live: dict[str, Any] | None = None) -> Path:  # fmt: skip
    """Configuration files whose ``spec.venue`` points at ``venue``, trading ``symbols`` (``spec.symbol``
    and ETHUSDT by default, in that order; one name: that symbol alone)."""
    names = list(symbols or (spec.symbol, "ETHUSDT"))
    rules = {spec.symbol: spec.rules, "ETHUSDT": SECOND_RULES[spec.id]}
    defaults = {
        k: DEFAULT_ARBITRAGE["strategy"][k] for k in ("max_order_size", "max_position_size", "rebalance_threshold")
    }
    sizes = {spec.symbol: {**defaults, "position_limit": DEFAULT_ARBITRAGE["risk"]["position_limit"]},
             "ETHUSDT": SECOND_SIZES}  # fmt: skip
    first = sizes[names[0]]
    strategy = {"symbol": None, "symbols": names, **{k: v for k, v in first.items() if k != "position_limit"}}
    arbitrage: dict[str, Any] = {"strategy": strategy, "risk": {"position_limit": first["position_limit"]},
                                 "live": _live_section(live)}  # fmt: skip
    if len(names) > 1:  # the other venue is not opened, but a symbol after the first needs its rules on both
        arbitrage["symbols"] = {n: symbol_tables(rules[n], rules[n], sizes[n]) for n in names[1:]}
    overrides = {**_endpoints(spec, venue), "instrument": instrument_of(rules[names[0]]), **_linear_account(spec)}
    return write_config_files(folder, arbitrage_overrides=arbitrage, **{f"{spec.venue}_overrides": overrides})


def _live_section(live: dict[str, Any] | None) -> dict[str, Any]:
    return {"unknown_check_interval_ms": 50, "unknown_checks": 3, "unknown_grace_ms": 300,
            "fill_check_after_ms": 300, "request_timeout_ms": 5000, **(live or {})}  # fmt: skip


def _endpoints(spec: VenueSpec, venue: Any) -> dict[str, Any]:
    return local_endpoints(venue.ws_urls[0], venue.rest_url, market=spec.market, ws_private=venue.private_ws_url)


def _linear_account(spec: VenueSpec) -> dict[str, Any]:
    return {"account": {"base": 0.0, "quote": 10000.0}} if spec.market == "linear" else {}


@contextlib.asynccontextmanager
async def two_symbol_session(
    spec: VenueSpec, folder: Path, monkeypatch: pytest.MonkeyPatch, two_symbols: Path, **venue: Any
) -> AsyncIterator[tuple[Any, TradingSession]]:
    """The two-symbol fake venue of ``spec`` and an open session on it (a configuration trading both)."""
    from arb.live.trading_session import trading_session

    set_keys(monkeypatch, spec)
    async with two_symbol_venue(spec, second_recording(spec, two_symbols), **venue) as fake:
        config = load(write_two_symbol_config(folder, spec, fake))
        async with trading_session(config, [spec.index]) as session:
            yield fake, session


def warm_up_linear(folder: Path, venues: tuple[str, str] = PAIR) -> None:
    """Compile (or load from Numba's cache) what arb live compiles for two linear venues (``venues``), in
    this process and before a recording's clock starts: a child ``arb live`` then loads it and starts in
    seconds even after a source change."""
    venue = {**local_endpoints("ws://127.0.0.1:9/ws", "http://127.0.0.1:9", market="linear"), "feed": {}}
    arbitrage = {"strategy": {"venues": list(venues)}}
    overrides = {f"{name}_overrides": venue for name in venues}
    config = load_config(write_config_files(folder, arbitrage_overrides=arbitrage, **overrides))
    warm_up_kernel(config)
    Engine(config)
    for v in config.venues:
        make_normalizer(v.name, v.market, config.strategy.symbol)


def use_measured_latency(venue_file: Path, folder: Path) -> None:
    """Make the venue file's backtests replay what ``arb latency --export`` wrote into ``folder``."""
    text = venue_file.read_text()
    assert "\n[latency]\n" in text
    venue_file.write_text(
        text.replace("\n[latency]\n", f'\n[latency]\norder = "measured"\nmeasured_dir = "{folder}"\n')
    )


def at_ask(venue: Any, spec: VenueSpec, fraction: Decimal) -> tuple[Decimal, Decimal]:
    """The venue's best ask and a buy there of ``fraction`` of the level's quantity, at least the
    venue's minimum quantity and notional."""
    _, _, ask, ask_qty = best(venue, spec)
    rules = spec.rules
    qty = (ask_qty * fraction).quantize(rules.step_size)
    floor = (rules.min_notional / ask).quantize(rules.step_size) + rules.step_size
    return ask, max(qty, floor, rules.min_qty)


def create_requests(venue: Any) -> list[Any]:
    """The order-create requests the venue answered (Binance ``POST .../order``, Bybit ``/v5/order/create``)."""
    return [r for r in venue.stats.rest_requests if r.method == "POST" and r.path.endswith(("/order", "/create"))]


async def eventually(predicate: Callable[[], bool], *watched: Any) -> None:
    """Await ``predicate()``, asked now and at each change of ``watched`` (the objects whose state it
    reads: an executor, a fake venue, an order socket; anything with a ``wait_until``), at most WAIT_S."""
    try:
        async with asyncio.timeout(WAIT_S):
            await waiting.wait_for(predicate, *watched)
    except TimeoutError:
        if predicate():
            pytest.fail("the predicate holds, but none of the objects watched said it changed")
        raise
