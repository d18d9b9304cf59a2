"""Live executors: real orders through ccxt, journaled before they are sent, never sent twice.

One :class:`VenueExecutor` per venue-market (Binance spot, Binance USD-M, Bybit spot or linear) owns
a ccxt async client (:mod:`arb.execution.ccxt_setup`), the venue's user stream (ccxt.pro) and the
orders in flight there, for every traded symbol (one market each, :class:`VenueMarket`; one private
connection carries them all). :class:`LiveExecutor` puts two of them behind the interface the engine
already drives the paper executor through (``submit``, ``next_event_ts``, ``run_until``,
``cancel_all``, ``open_orders`` per symbol and venue, ``summary``), so the kernel and the risk gate
above do not know which one they talk to.

An order's life (see :mod:`arb.execution.orders` for the states):

1. ``submit`` (synchronous, on the decision's path): price and quantity go on the venue's grid in the
   safe direction (:mod:`arb.execution.grid`), the order gets a client id unique forever, and the
   intent is **committed to the journal**: the one write the hot path waits for. Only then is the
   request handed to a task.
2. The request goes out through ccxt's ``create_order`` on a session whose trace hooks note when its
   bytes were written, the HTTP status, headers and body. The outcome is decided by arb
   (:mod:`arb.execution.outcome`): accepted, rejected (with the venue's code) or **unknown**.
3. An unknown order is resolved by querying it by client id, every ``unknown_check_interval``; it
   stays in flight (counted as open, blocking what the risk gate blocks) until the venue says what
   happened. Only after ``unknown_checks`` consecutive "does not exist" answers spread over at least
   ``unknown_grace`` does arb conclude the venue never took it. It is never sent again.
4. Fills come from the user stream, each booked once by its trade id (the journal refuses a second
   copy too). An order whose fills are not all seen ``fill_check_after`` after it was answered (a
   silent or reconnecting stream) is swept over REST; every stream reconnect triggers a sweep of
   the trades since the last fill.
5. When an order is terminal and all its fills are in, the engine is told, once.

Rate limits: the venues' weight headers (Binance ``X-MBX-USED-WEIGHT-1M``, Bybit
``X-Bapi-Limit-Status``) and ``Retry-After`` block new orders on that venue until the window
resets; a ban (Binance 418, Bybit 403) blocks it until the ban ends and is reported loudly.
Blocked orders are refused locally, journaled as rejected, never sent; :attr:`LiveExecutor.blocked_until`
tells the engine until when, so the kernel does not choose that venue meanwhile.

Every other request (markets, balances, positions, order queries, trade history, cancels, the
dead-man's switch, order books) goes through :meth:`VenueExecutor.call`: a failure becomes one
:class:`~arb.errors.VenueError` worded from what the wire showed, by the rule that decides an order's
outcome (:mod:`arb.execution.venue_errors`), and the rate guard learns of any rate limit or ban in it.

Journal writes other than the intent (acks, fills, states) are queued and committed together right
after the current step, off the decision's path.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import itertools
import logging
import secrets
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol, TypeVar

import aiohttp
import ccxt

from arb.errors import ArbError, VenueError
from arb.execution.failpoints import failpoint
from arb.execution.grid import grid_price, grid_qty, wire
from arb.execution.orders import LiveOrder
from arb.execution.outcome import Answer, Outcome, classify
from arb.execution.paper import Rejection
from arb.execution.venue_errors import VenueSetup, venue_error
from connectors.common.orders import OrderState, VenueFill, VenueOrderUpdate

__all__ = [
    "ClientIds",
    "ExecutionSettings",
    "JournalSink",
    "LiveExecutor",
    "RateGuard",
    "VenueExecutor",
    "VenueMarket",
    "WireRecord",
    "WireTrace",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

NS_PER_MS = 1_000_000
ZERO = Decimal(0)


# ---------------------------------------------------------------------------------------------------
# Seeing the wire: when a request was written, and what came back


@dataclass(slots=True)
class WireRecord:
    """What one request did on the wire (filled by :class:`WireTrace`'s hooks)."""

    written_ns: int = 0
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    """The response body as ccxt read it (None when none was read: timeout, dropped connection)."""
    on_written: Callable[[], None] | None = None
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

    async def _start(self, session: Any, ctx: Any, params: Any) -> None:
        # A new request: the record describes it from now on (not what an earlier request of the call said)
        rec = _CURRENT.get()
        if rec is not None:
            url = params.url
            rec.request = f"{params.method} {url.path}"
            rec.url = str(url.with_query(None))
            rec.written_ns, rec.status, rec.headers, rec.body = 0, None, {}, None

    # aiohttp calls these hooks just *before* it hands the bytes to the transport, in the same task
    # step; a callback scheduled from them runs right after the write, when the bytes are in the socket.

    async def _headers_sent(self, session: Any, ctx: Any, params: Any) -> None:
        rec = _CURRENT.get()
        if rec is not None and params.method in ("GET", "DELETE"):  # no body follows
            asyncio.get_running_loop().call_soon(self._written, rec)

    async def _chunk_sent(self, session: Any, ctx: Any, params: Any) -> None:
        rec = _CURRENT.get()
        if rec is not None:
            asyncio.get_running_loop().call_soon(self._written, rec)

    def _written(self, rec: WireRecord) -> None:
        rec.written_ns = self.clock()
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


# ---------------------------------------------------------------------------------------------------
# Client ids, rate limits, settings


class ClientIds:
    """Client order ids unique forever: ``arb`` + a run id (time and randomness) + a sequence number.

    36 characters at most, ``[A-Za-z0-9-]`` (what both venues accept). The journal's primary key on
    the id makes a collision an error before anything is sent, never a silent reuse.
    """

    def __init__(self, run_id: str | None = None) -> None:
        self.run_id = run_id or f"{_base36(time.time_ns() // NS_PER_MS)}{_base36(secrets.randbits(30))}"
        self._seq = itertools.count(1)

    def next(self, pair_id: int, venue: int) -> str:
        return f"arb-{self.run_id}-{_base36(next(self._seq))}-{venue}"


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


class RateGuard:
    """Whether a venue may get a new order now, from what its answers said about our usage.

    ``weight_limit`` is the venue's published per-minute request weight (Binance exchangeInfo
    ``rateLimits``); at or above it, orders wait for the next minute. ``Retry-After`` and bans block
    until the time they give.
    """

    def __init__(self, venue: str, clock: Callable[[], int], weight_limit: int | None = None) -> None:
        self.venue = venue
        self.clock = clock
        self.weight_limit = weight_limit
        self.used_weight = 0
        self.blocked_until_ns = 0
        self.banned = False
        self.reason = ""
        self.rate_limited = 0
        """How many answers were rate limits or bans."""

    def blocked(self) -> str | None:
        """Why no order may go out now, or None."""
        if self.clock() < self.blocked_until_ns:
            return self.reason
        if self.banned:
            log.warning("%s: the ban has ended; orders may go out again", self.venue)
        self.banned = False
        return None

    def observe(self, headers: dict[str, str], answer: Answer | None = None) -> None:
        """Take one response's headers (and its classified answer) into account."""
        now = self.clock()
        lower = {k.lower(): v for k, v in headers.items()}
        if self.venue == "binance":
            used = lower.get("x-mbx-used-weight-1m")
            if used is not None and used.isdigit():
                self.used_weight = int(used)
                if self.weight_limit is not None and self.used_weight >= self.weight_limit:
                    minute = 60 * 1_000_000_000
                    self._block(now - now % minute + minute, f"request weight {used} of {self.weight_limit} used")
        else:
            remaining = lower.get("x-bapi-limit-status")
            reset = lower.get("x-bapi-limit-reset-timestamp")
            if remaining == "0" and reset is not None and reset.isdigit():
                self._block(int(reset) * NS_PER_MS, "the endpoint's request limit is used up")
        if answer is not None and answer.rate_limited:
            self.rate_limited += 1
            wait = answer.retry_after_s if answer.retry_after_s is not None else (120.0 if answer.banned else 60.0)
            what = "BANNED" if answer.banned else "rate limited"
            self._block(now + int(wait * 1e9), f"{what} ({answer.code} {answer.message})".strip())
            if answer.banned:
                self.banned = True
                log.error("%s: %s for %.0f s: no new orders on this venue until then", self.venue, what, wait)

    def _block(self, until_ns: int, reason: str) -> None:
        if until_ns > self.blocked_until_ns:
            self.blocked_until_ns = until_ns
            self.reason = reason


@dataclass(frozen=True, slots=True)
class ExecutionSettings:
    """Timings of the live executors (from ``[live]``), int64 ns."""

    request_timeout_ns: int = 5_000 * NS_PER_MS
    unknown_check_interval_ns: int = 500 * NS_PER_MS
    unknown_checks: int = 5
    unknown_grace_ns: int = 10_000 * NS_PER_MS
    fill_check_after_ns: int = 2_000 * NS_PER_MS
    stream_retry_ns: int = 1_000 * NS_PER_MS
    """Wait before reopening a user stream that failed (doubling to 30 s while it keeps failing)."""


class JournalSink(Protocol):
    """What the executor writes to the journal (``arb.journal.Journal`` has it)."""

    def record_intent(self, order: LiveOrder, *, venue: str, market: str, account: str, run_id: str) -> None: ...
    def record_state(self, order: LiveOrder, event: str, ts_ns: int, detail: dict[str, Any]) -> None: ...
    def record_fill(
        self, order: LiveOrder | None, fill: VenueFill, *, venue: str, market: str, source: str, local_ts_ns: int
    ) -> bool: ...
    def flush(self) -> None: ...


# ---------------------------------------------------------------------------------------------------
# One venue-market, every symbol


@dataclass(slots=True)
class VenueMarket:
    """One traded symbol's market on a venue, as the venue states it (set by :meth:`VenueExecutor.start`).

    ``index`` is the symbol's number in ``[strategy] symbols`` (the engine's per-symbol arrays),
    ``symbol`` the venue's id (``"BTCUSDT"``), ``ccxt_symbol`` ccxt's (``"BTC/USDT"``,
    ``"BTC/USDT:USDT"``); ``tick``/``step`` the price and quantity grids; ``last_fill_ms`` the venue's
    time of the last fill seen (where a REST sweep of its trades starts).
    """

    index: int
    symbol: str
    ccxt_symbol: str = ""
    tick: Decimal = ZERO
    step: Decimal = ZERO
    base_asset: str = ""
    quote_asset: str = ""
    last_fill_ms: int = 0


class VenueExecutor:
    """Real orders on one venue-market through ccxt, for every traded symbol, with one user stream and
    the journal.

    ``exchange``: a ccxt.pro client from :func:`arb.execution.ccxt_setup.make_exchange` whose session
    is ``trace.session()``. ``symbols``: the venue's ids of the traded symbols in ``[strategy] symbols``
    order (``("BTCUSDT", "ETHUSDT")``); ``symbol`` alone is the one-symbol form. ``on_done(order)`` is
    called when an order is done (terminal with every fill seen).

    One client, so one private connection carries every symbol's orders and fills (Binance spot's
    WS-API subscription, USD-M's listen key and Bybit's ``/v5/private`` are account-wide): they are
    routed by the symbol each message names, and each symbol's trades are told apart by
    ``(symbol, trade id)`` and its orders by ``(symbol, order id)`` (Binance numbers both per symbol).
    The rate guard, the resolver and the dead-man's switch are the venue's, shared by the symbols.
    """

    def __init__(
        self,
        *,
        index: int,
        venue: str,
        market: str,
        exchange: Any,
        trace: WireTrace,
        journal: JournalSink,
        ids: ClientIds,
        account: str,
        settings: ExecutionSettings,
        symbol: str = "",
        symbols: Sequence[str] = (),
        clock: Callable[[], int] = time.time_ns,
        on_done: Callable[[LiveOrder], None] | None = None,
        setup: VenueSetup | None = None,
    ) -> None:
        names = tuple(symbols) or (symbol,)
        if not all(names) or len(set(names)) != len(names):
            raise ValueError(f"{venue} {market}: expected distinct symbols, got {names}")
        self.index = index
        self.venue = venue
        self.market = market
        self.markets = [VenueMarket(s, name) for s, name in enumerate(names)]
        """Every traded symbol's market, in ``[strategy] symbols`` order."""
        self._market_of = {m.symbol: m for m in self.markets}
        self.exchange = exchange
        self.trace = trace
        self.journal = journal
        self.ids = ids
        self.account = account
        self.settings = settings
        self.clock = clock
        self.on_done = on_done
        self.setup = setup or VenueSetup(market=market)
        """What a failure message points at (the key's variables, the URLs, the venue file)."""
        self.guard = RateGuard(venue, clock)
        self.orders: dict[str, LiveOrder] = {}
        """Every order of this run by client id (in flight or done)."""
        self._in_flight: dict[str, LiveOrder] = {}
        """The orders the engine has not been told the end of, by client id."""
        self._by_venue_id: dict[tuple[str, str], LiveOrder] = {}
        self._seen_trades: set[tuple[str, str]] = set()
        self.orphan_fills: list[VenueFill] = []
        """Fills for orders this run did not send (reconciliation explains them)."""
        self._tasks: set[asyncio.Task[Any]] = set()
        self._background: list[asyncio.Task[Any]] = []
        self.stream_up = False
        self.stream_reconnects = 0
        self._sweep_after_ns = 0
        self._stopping = False
        self.next_order_id = 1
        self.counters = {
            "sent": 0,
            "rejected": 0,
            "unknown": 0,
            "resolved": 0,
            "not_found": 0,
            "fills": 0,
            "duplicate_fills": 0,
            "sweeps": 0,
            "local_rejects": 0,
        }

    # -- the first symbol's market (what a one-symbol caller reads) ------------------------------------

    @property
    def symbols(self) -> tuple[str, ...]:
        """The venue's ids of the traded symbols, in order."""
        return tuple(m.symbol for m in self.markets)

    @property
    def symbol(self) -> str:
        """The first symbol's venue id."""
        return self.markets[0].symbol

    @property
    def _ccxt_symbol(self) -> str:
        return self.markets[0].ccxt_symbol

    @property
    def tick(self) -> Decimal:
        """The first symbol's price grid."""
        return self.markets[0].tick

    @property
    def step(self) -> Decimal:
        """The first symbol's quantity grid."""
        return self.markets[0].step

    @property
    def base_asset(self) -> str:
        """The first symbol's base asset."""
        return self.markets[0].base_asset

    @property
    def quote_asset(self) -> str:
        """The quote asset (every symbol's: one quote balance per venue)."""
        return self.markets[0].quote_asset

    @property
    def last_fill_ms(self) -> int:
        """The venue's time of the last fill seen, over every symbol (0: none)."""
        return max(m.last_fill_ms for m in self.markets)

    @last_fill_ms.setter
    def last_fill_ms(self, value: int) -> None:
        for m in self.markets:
            m.last_fill_ms = value

    def market_of(self, symbol: str) -> VenueMarket | None:
        """The traded market of venue id ``symbol``, or None (a symbol arb does not trade)."""
        return self._market_of.get(symbol)

    # -- requests -----------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """``"binance spot"``: how messages name this venue-market."""
        return f"{self.venue} {self.market}"

    async def call(self, request: Callable[[], Awaitable[T]], *, hint: str = "") -> T:
        """Await one ccxt call (one or more REST requests) and return its result; a failure of any kind
        (refused, unreachable, no answer, an error answer) raises :class:`~arb.errors.VenueError` naming
        the venue, the request, what it answered and what to check (``hint``: what to check when the
        venue refuses for a reason of the request's own, such as an account setting it needs).

        A rate limit or ban in the answer blocks new orders on the venue as an order's would."""
        with self.trace.recording() as rec:
            try:
                return await request()
            except (TimeoutError, ccxt.BaseError, aiohttp.ClientError, OSError) as error:
                raise self.failure(error, rec, hint=hint) from error

    def failure(self, error: BaseException, rec: WireRecord, *, hint: str = "") -> VenueError:
        """The :class:`~arb.errors.VenueError` for ``error`` raised by a request recorded in ``rec``."""
        if not rec.request:  # the client refused before any request left (ccxt checks its arguments)
            return VenueError(self.name, f"arb's ccxt client refused the call: {error}",
                              hint or f"the venue file {self.setup.file}".rstrip(), code="client")  # fmt: skip
        timed_out = isinstance(error, ccxt.RequestTimeout | TimeoutError)
        answer = classify(
            self.venue,
            written=rec.written_ns > 0,
            http_status=None if timed_out else rec.status,
            headers=rec.headers,
            body=None if timed_out else rec.body,
            timed_out=timed_out,
            now_ms=self.clock() // NS_PER_MS,
        )
        if answer.rate_limited:
            self.guard.observe(rec.headers, answer)
        setup = self.setup
        if not setup.rest and rec.url:  # the base the request went to
            setup = VenueSetup(setup.credentials, setup.market, setup.network, rec.url, setup.file)
        credentials = (str(getattr(self.exchange, "apiKey", "") or ""), str(getattr(self.exchange, "secret", "") or ""))
        return venue_error(
            self.name, answer, setup, request=rec.request, hint=hint, reason=_reason(error), redact=credentials
        )

    # -- setup --------------------------------------------------------------------------------------

    async def start(self) -> dict[str, dict[str, tuple[str, str]]]:
        """Load the markets; returns each symbol's trading rules as the venue states them: symbol ->
        name -> (value, unit)."""
        await self.call(self.exchange.load_markets)
        out = {}
        for m in self.markets:
            market = self._find_market(m.symbol)
            m.ccxt_symbol = market["symbol"]
            m.base_asset, m.quote_asset = market["base"], market["quote"]
            m.tick = Decimal(str(market["precision"]["price"]))
            m.step = Decimal(str(market["precision"]["amount"]))
            limits = market.get("limits", {})
            out[m.symbol] = {
                "tick_size": (wire(m.tick), "price"),
                "lot_size": (wire(m.step), "base"),
                "min_qty": (str((limits.get("amount") or {}).get("min") or 0), "base"),
                "min_notional": (str((limits.get("cost") or {}).get("min") or 0), "quote"),
            }
        quotes = {m.quote_asset for m in self.markets}
        if len(quotes) != 1:
            raise ArbError(f"{self.venue} {self.market}: the symbols are quoted in {sorted(quotes)}; arb needs one")
        if self.venue == "binance":
            self.guard.weight_limit = _binance_weight_limit({}, self.exchange)
        return out

    @property
    def _category(self) -> str:
        # Bybit's ``category`` of this market
        return "spot" if self.market == "spot" else "linear"

    def _find_market(self, symbol: str) -> dict[str, Any]:
        wanted = "spot" if self.market == "spot" else "swap"
        for market in self.exchange.markets.values():
            if market["id"] == symbol and market["type"] == wanted:
                return dict(market)
        raise ArbError(
            f"{self.venue} {self.market}: the venue lists no market {symbol} (one of [strategy] symbols): "
            "nothing was traded"
        )

    def run_background(self, group: asyncio.TaskGroup) -> None:
        """Start the user stream and the resolver in ``group``; they run until :meth:`stop`."""
        self._stopping = False
        self._background = [
            group.create_task(self._watch("orders"), name=f"{self.venue}-orders"),
            group.create_task(self._watch("trades"), name=f"{self.venue}-trades"),
            group.create_task(self._resolver(), name=f"{self.venue}-resolver"),
        ]

    @property
    def has_dead_man(self) -> bool:
        """Whether the venue-market has a dead-man's switch (Binance spot has none)."""
        return self.venue == "bybit" or self.market == "linear"

    def _dead_man_text(self, window_s: int) -> str:
        if not self.has_dead_man:
            return "none (Binance spot has no dead-man's switch)"
        if self.venue == "binance" and len(self.markets) > 1:
            return f"armed, {window_s} s, for {', '.join(self.symbols)}"
        return f"armed, {window_s} s"

    async def arm_dead_man(self, window_s: int, *, attempts: int = 3, backoff_s: float = 0.5) -> str:
        """Arm the venue's dead-man's switch once, before anything is traded; says what was armed (see
        :meth:`run_dead_man`, which keeps it armed afterwards).

        An answer that may change by itself (no answer, HTTP 5xx, a rate limit) is tried again, up to
        ``attempts`` requests ``backoff_s`` apart (doubling), and the text says how many it took. A
        refusal (Bybit turns disconnect-cancel on per account), or the same failure ``attempts`` times,
        raises :class:`~arb.errors.VenueError`: arb does not trade without the switch it was asked for
        (``[live] dead_man_window_s = 0`` asks for none).
        """
        if not self.has_dead_man:
            return self._dead_man_text(window_s)
        first: VenueError | None = None
        delay = backoff_s
        for attempt in range(1, attempts + 1):
            try:
                await self._arm_once(window_s)
                break
            except VenueError as error:
                first = first or error
                if not error.retryable or attempt == attempts:
                    tries = f" ({attempt} attempts)" if attempt > 1 else ""
                    raise VenueError(
                        self.name,
                        f"the dead-man's switch could not be armed, nothing was traded: {error.answered}{tries}",
                        f"{error.check}; or set [live] dead_man_window_s = 0 to trade without it",
                        code=error.code,
                        retryable=error.retryable,
                    ) from error
                log.warning("%s: arming the dead-man's switch failed (%s); trying again in %.1f s",
                            self.name, error.answered, delay)  # fmt: skip
                await asyncio.sleep(delay)
                delay *= 2
        text = self._dead_man_text(window_s)
        if first is not None:
            text += f" (at attempt {attempt}; the first: {first.answered})"
        return text

    async def _arm_once(self, window_s: int) -> None:
        # One arming request per switch: Bybit's DCP window for the product, or USD-M's countdown per symbol
        if self.venue == "bybit":
            product = "SPOT" if self.market == "spot" else "DERIVATIVES"
            hint = (
                "that the account has disconnect-cancel-all (DCP) turned on: Bybit turns it on per account (ask Bybit)"
            )
            await self.call(
                lambda: self.exchange.privatePostV5OrderDisconnectedCancelAll(
                    {"product": product, "timeWindow": window_s}
                ),
                hint=hint,
            )
            return
        for m in self.markets:
            renew = {"symbol": m.symbol, "countdownTime": window_s * 1000}
            await self.call(
                functools.partial(self.exchange.fapiPrivatePostCountdownCancelAll, renew),
                hint="that the key may trade USD-M futures",
            )

    def run_dead_man(self, group: asyncio.TaskGroup, window_s: int, *, armed: bool = False) -> str:
        """Keep the venue's dead-man's switch armed in ``group`` while trading; says what was armed.

        Bybit: disconnect-cancel-all (DCP) with ``window_s``, and the ``dcp`` topic subscribed on every
        private connection (ccxt does not subscribe it): if arb's private stream stays down longer than
        the window, Bybit cancels the product's orders (every symbol's). Binance USD-M:
        ``countdownCancelAll`` renewed for every symbol every quarter window (it is per symbol): if arb
        stops renewing, Binance cancels the symbols' orders. Binance spot has no such switch
        (immediate-or-cancel orders leave nothing open to cancel). ``armed``: :meth:`arm_dead_man` has
        armed it already (the first request is not sent again).
        """
        if self.venue == "bybit":
            task = group.create_task(self._dcp_keeper(window_s, armed), name=f"{self.venue}-dcp")
        elif self.market == "linear":
            task = group.create_task(self._countdown_keeper(window_s, armed), name=f"{self.venue}-countdown")
        else:
            return self._dead_man_text(window_s)
        self._background.append(task)
        return self._dead_man_text(window_s)

    async def _dcp_keeper(self, window_s: int, armed: bool) -> None:
        if not armed:
            await self._arm_once(window_s)
        url = await self.exchange.get_url_by_market_type(self._ccxt_symbol, True)
        subscribed: object = None
        while not self._stopping:
            client = self.exchange.clients.get(url)
            if client is not None and client is not subscribed:
                try:
                    await self.exchange.authenticate(url)
                    await client.send({"op": "subscribe", "args": ["dcp"], "req_id": "arb-dcp"})
                    subscribed = client
                except Exception as error:  # noqa: BLE001 - the stream is reconnecting: try on the next turn
                    log.info("%s: dcp subscription not sent yet (%r)", self.venue, error)
            await asyncio.sleep(1.0)

    async def _countdown_keeper(self, window_s: int, armed: bool) -> None:
        if armed:
            await asyncio.sleep(window_s / 4)
        while not self._stopping:
            for m in self.markets:
                renew = {"symbol": m.symbol, "countdownTime": window_s * 1000}
                try:
                    await self.call(functools.partial(self.exchange.fapiPrivatePostCountdownCancelAll, renew))
                except VenueError as error:
                    log.warning("%s: countdown cancel of %s not renewed (%s); retrying", self.venue, m.symbol, error)
            await asyncio.sleep(window_s / 4)

    def stop(self) -> None:
        """End the background tasks (a TaskGroup treats their cancellation as a normal end)."""
        self._stopping = True
        for task in self._background:
            task.cancel()
        self._background = []

    def adopt(self, orders: Iterable[LiveOrder], trade_keys: Iterable[tuple[str, str]]) -> None:
        """Take over orders a previous run left in flight (from the journal) and the ``(symbol, trade id)``
        of every fill it booked. Each order must be of a traded symbol (:meth:`market_of`)."""
        for order in orders:
            market = self._market_of[order.symbol]
            order.venue = self.index
            order.symbol_index = market.index
            self.orders[order.client_id] = order
            if not order.answered:
                self._in_flight[order.client_id] = order
            if order.venue_order_id:
                self._by_venue_id[(order.symbol, order.venue_order_id)] = order
        self._seen_trades.update(trade_keys)

    # -- sending ------------------------------------------------------------------------------------

    @property
    def in_flight(self) -> list[LiveOrder]:
        """Orders the engine has not been told the end of (every symbol's)."""
        return list(self._in_flight.values())

    def submit(
        self,
        side: int,
        price: float,
        qty: float,
        kind: int,
        pair_id: int,
        now: int,
        *,
        reduce_only: bool = False,
        symbol: int = 0,
    ) -> LiveOrder:
        """Put an order of symbol number ``symbol`` on its grid, commit its intent, and hand it to a task;
        returns it at once."""
        intent_ns = self.clock()
        market = self.markets[symbol]
        price_d = grid_price(price, market.tick, side)
        qty_d = grid_qty(qty, market.step)
        order = LiveOrder(
            order_id=self.next_order_id,
            client_id=self.ids.next(pair_id, self.index),
            venue=self.index,
            side=side,
            price=float(price_d),
            qty=float(qty_d),
            kind=kind,
            pair_id=pair_id,
            sent_ts=now,
            price_text=wire(price_d),
            qty_text=wire(qty_d),
            symbol=market.symbol,
            symbol_index=market.index,
            reduce_only=reduce_only,
            intent_ns=intent_ns,
        )
        self.next_order_id += 1
        refusal = self.guard.blocked() or ("quantity below one lot" if qty_d <= 0 else None)
        try:
            self.journal.record_intent(
                order, venue=self.venue, market=self.market, account=self.account, run_id=self.ids.run_id
            )
        except Exception as error:  # noqa: BLE001 - any journal failure means: do not send
            log.error("%s: journal refused intent %s (%s): not sent", self.venue, order.client_id, error)
            refusal = f"journal: {error}"
        self.orders[order.client_id] = order
        self._in_flight[order.client_id] = order
        if refusal is not None:
            self._reject(order, Rejection("local", refusal), "local")
            self.counters["local_rejects"] += 1
            return order
        failpoint("intent_committed")
        task = asyncio.get_running_loop().create_task(self._send(order), name=f"send-{order.client_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return order

    def _create_params(self, order: LiveOrder) -> dict[str, Any]:
        params: dict[str, Any] = {"timeInForce": "IOC", "clientOrderId": order.client_id}
        if self.venue == "binance":
            params["newOrderRespType"] = "FULL" if self.market == "spot" else "RESULT"
        if order.reduce_only:
            params["reduceOnly"] = True
        return params

    async def _send(self, order: LiveOrder) -> None:
        rec = self.trace.record()
        rec.on_written = lambda: failpoint("request_written")
        timed_out = False
        reply: dict[str, Any] | None = None
        try:
            result = await self.exchange.create_order(
                self.markets[order.symbol_index].ccxt_symbol,
                "limit",
                "buy" if order.side > 0 else "sell",
                order.qty_text,
                order.price_text,
                self._create_params(order),
            )
            reply = result.get("info") if isinstance(result, dict) else None
        except ccxt.RequestTimeout:
            timed_out = True
        except (TimeoutError, ccxt.BaseError, aiohttp.ClientError) as error:
            log.debug("%s: create %s raised %r", self.venue, order.client_id, error)
        except Exception as error:  # noqa: BLE001 - a bug in a library must not leave the order in limbo:
            # the wire record still says whether the request left, so the outcome is decided as always
            log.error("%s: create %s raised an unexpected %r", self.venue, order.client_id, error)
        now = self.clock()
        order.written_ns = rec.written_ns
        if rec.written_ns and order.state is OrderState.PENDING:
            order.state = OrderState.SENT
        answer = classify(
            self.venue,
            written=rec.written_ns > 0,
            http_status=None if timed_out else rec.status,
            headers=rec.headers,
            body=None if timed_out else rec.body,
            timed_out=timed_out,
            now_ms=now // NS_PER_MS,
        )
        self.guard.observe(rec.headers, answer)
        self.counters["sent"] += 1
        order.ack_ns = now
        if answer.outcome is Outcome.ACCEPTED:
            self.journal.record_state(order, "ack", now, {"written_ns": rec.written_ns})
            if reply is not None:
                self._take_reply(order, reply, now)
            elif order.state is OrderState.SENT:
                order.state = OrderState.ACCEPTED
        elif answer.outcome is Outcome.REJECTED:
            code: int | str = int(answer.code) if answer.code.lstrip("-").isdigit() else answer.code
            self._reject(order, Rejection(code, answer.message), "venue")
        else:
            self._unknown(order, answer, now)
        failpoint("answer_processed")
        self._check_done(order)
        self.journal.flush()

    def _take_reply(self, order: LiveOrder, reply: dict[str, Any], now: int) -> None:
        update = self._parse_update(reply)
        if update is not None:
            self._apply(order, update, "reply")
        elif order.state in (OrderState.SENT, OrderState.PENDING):
            self._apply(
                order,
                VenueOrderUpdate(
                    order.client_id, str(reply.get("orderId", "")), OrderState.ACCEPTED, ZERO, symbol=order.symbol
                ),
                "reply",
            )
        for fill in self._parse_fills(reply):
            self._book_fill(fill, "reply")

    def _reject(self, order: LiveOrder, rejection: Rejection, source: str) -> None:
        order.state = OrderState.REJECTED
        order.rejection = rejection
        self.counters["rejected"] += 1
        detail = {"code": str(rejection.code), "message": rejection.message, "source": source}
        self.journal.record_state(order, "reject", self.clock(), detail)
        log.warning(
            "%s rejected %s (%s %s %s @ %s): %s %s",
            self.venue,
            order.client_id,
            order.symbol,
            "buy" if order.side > 0 else "sell",
            order.qty_text,
            order.price_text,
            rejection.code,
            rejection.message,
            extra={**_ids(self.venue, order), "event": "reject", "code": str(rejection.code)},
        )
        self._check_done(order)

    def _unknown(self, order: LiveOrder, answer: Answer, now: int) -> None:
        if order.state.terminal:
            return  # the stream already told us
        order.state = OrderState.UNKNOWN
        order.unknown_since_ns = now
        order.not_found = 0
        self.counters["unknown"] += 1
        self.journal.record_state(order, "unknown", now, {"code": answer.code, "message": answer.message})
        log.warning(
            "%s: order %s outcome UNKNOWN (%s %s); querying it, never resending",
            self.venue,
            order.client_id,
            answer.code,
            answer.message,
            extra={**_ids(self.venue, order), "event": "unknown", "code": str(answer.code)},
        )

    # -- what the venue says -------------------------------------------------------------------------

    def _parse_update(self, raw: dict[str, Any]) -> VenueOrderUpdate | None:
        if self.venue == "binance":
            from connectors.binance.orders import order_update
        else:
            from connectors.bybit.orders import order_update
        return order_update(raw)

    def _parse_fills(self, raw: dict[str, Any]) -> list[VenueFill]:
        if self.venue == "binance":
            from connectors.binance.orders import fills as binance_fills

            return binance_fills(raw)
        from connectors.bybit.orders import fills as bybit_fills

        # the fee asset of a row without feeCurrency is its symbol's (a spot buy pays in the base coin)
        market = self._market_of.get(str(raw.get("symbol", ""))) or self.markets[0]
        return bybit_fills(
            raw, spot=self.market == "spot", base_asset=market.base_asset, quote_asset=market.quote_asset
        )

    def _symbol_of(self, symbol: str) -> str:
        # A message's symbol; the first symbol's when the message names none (one-symbol callers' raw rows)
        return symbol or self.markets[0].symbol

    def _order_for(self, client_id: str, venue_order_id: str, symbol: str) -> LiveOrder | None:
        order = self.orders.get(client_id) if client_id else None
        if order is None and venue_order_id:
            order = self._by_venue_id.get((symbol, venue_order_id))
        if order is not None and order.symbol != symbol:
            # client ids are arb's and unique forever, so this is a venue message that names another market
            # than the order was sent to (see ccxt's Bybit spot/contract guess): not this order's
            log.error("%s: a %s message about %s, an order of %s: ignored", self.venue, symbol, client_id, order.symbol)
            return None
        return order

    def _apply(self, order: LiveOrder, update: VenueOrderUpdate, source: str) -> None:
        before = order.state
        if order.apply(update):
            if order.venue_order_id:
                self._by_venue_id[(order.symbol, order.venue_order_id)] = order
            if before is OrderState.UNKNOWN and order.state is not OrderState.UNKNOWN:
                self.counters["resolved"] += 1
                log.info(
                    "%s: unknown order %s resolved by %s: %s", self.venue, order.client_id, source, order.state.value
                )
            self.journal.record_state(
                order,
                "state",
                self.clock(),
                {"state": order.state.value, "executed": str(order.executed_qty), "source": source},
            )
        self._check_done(order)

    def on_order_message(self, raw: dict[str, Any], source: str = "stream") -> None:
        """One order report (user stream or REST), as the venue's raw JSON; routed by the symbol it names
        (a symbol arb does not trade is not arb's business)."""
        update = self._parse_update(raw)
        if update is None:
            return
        symbol = self._symbol_of(update.symbol)
        if symbol not in self._market_of:
            return
        order = self._order_for(update.client_id, update.venue_order_id, symbol)
        if order is not None:
            self._apply(order, update, source)

    def on_trade_message(self, raw: dict[str, Any], source: str = "stream") -> None:
        """One trade report (user stream or REST history), as the venue's raw JSON."""
        for fill in self._parse_fills(raw):
            if self._symbol_of(fill.symbol) in self._market_of:
                self._book_fill(fill, source)

    def _book_fill(self, fill: VenueFill, source: str) -> None:
        now = self.clock()
        symbol = self._symbol_of(fill.symbol)
        key = (symbol, fill.trade_id)
        if key in self._seen_trades:
            self.counters["duplicate_fills"] += 1
            return
        order = self._order_for(fill.client_id, fill.venue_order_id, symbol)
        new = self.journal.record_fill(
            order, fill, venue=self.venue, market=self.market, source=source, local_ts_ns=now
        )
        self._seen_trades.add(key)
        market = self._market_of[symbol]
        market.last_fill_ms = max(market.last_fill_ms, fill.exch_ts_ms)
        if not new:
            self.counters["duplicate_fills"] += 1
        if order is None:
            if new:
                self.orphan_fills.append(fill)
                log.warning(
                    "%s: fill %s of %s for an order this run did not send (order %s)",
                    self.venue,
                    fill.trade_id,
                    symbol,
                    fill.venue_order_id,
                )
            return
        if fill.venue_order_id and not order.venue_order_id:
            order.venue_order_id = fill.venue_order_id
            self._by_venue_id[(symbol, fill.venue_order_id)] = order
        if order.add_fill(fill, now):
            self.counters["fills"] += 1
            failpoint("fill_booked")
        self._check_done(order)

    def _check_done(self, order: LiveOrder) -> None:
        if order.answered or not order.done:
            return
        order.answered = True
        self._in_flight.pop(order.client_id, None)
        market = self._market_of.get(order.symbol) or self.markets[0]
        order.settle(self.clock(), market.quote_asset, market.base_asset)
        detail = {"state": order.state.value, "filled": wire(order.filled) if order.fills else "0"}
        self.journal.record_state(order, "done", order.respond_ts, detail)
        if self.on_done is not None:
            self.on_done(order)

    # -- finding out ------------------------------------------------------------------------------------

    async def query(self, order: LiveOrder) -> VenueOrderUpdate | None:
        """Ask the venue for the order by client id; None when it says the order does not exist."""
        if self.venue == "binance":
            method = getattr(self.exchange, "privateGetOrder" if self.market == "spot" else "fapiPrivateGetOrder")
            try:
                raw = await self.call(lambda: method({"symbol": order.symbol, "origClientOrderId": order.client_id}))
            except VenueError as error:
                if error.code == "-2013":  # "Order does not exist."
                    return None
                raise
            return self._parse_update(raw)
        request = {"category": self._category, "symbol": order.symbol, "orderLinkId": order.client_id}
        for name in ("privateGetV5OrderRealtime", "privateGetV5OrderHistory"):
            method = getattr(self.exchange, name)
            response = await self.call(functools.partial(method, request))
            rows = ((response or {}).get("result") or {}).get("list") or []
            if rows:
                return self._parse_update(rows[0])
        return None

    async def order_trades(self, order: LiveOrder) -> list[dict[str, Any]]:
        """The venue's trade history rows of one order (REST)."""
        if not order.venue_order_id:
            return []
        if self.venue == "binance":
            method = getattr(
                self.exchange, "privateGetMyTrades" if self.market == "spot" else "fapiPrivateGetUserTrades"
            )
            rows = await self.call(lambda: method({"symbol": order.symbol, "orderId": order.venue_order_id}))
            return list(rows or [])
        response = await self.call(
            lambda: self.exchange.privateGetV5ExecutionList(
                {"category": self._category, "symbol": order.symbol, "orderId": order.venue_order_id}
            )
        )
        return list(((response or {}).get("result") or {}).get("list") or [])

    async def trades_since(self, since_ms: int, symbol: str | None = None) -> list[dict[str, Any]]:
        """The venue's trade history rows of ``symbol`` (the first symbol's by default) since ``since_ms`` (REST)."""
        symbol = symbol or self.symbol
        if self.venue == "binance":
            method = getattr(
                self.exchange, "privateGetMyTrades" if self.market == "spot" else "fapiPrivateGetUserTrades"
            )
            rows = await self.call(lambda: method({"symbol": symbol, "startTime": since_ms, "limit": 1000}))
            return list(rows or [])
        response = await self.call(
            lambda: self.exchange.privateGetV5ExecutionList(
                {"category": self._category, "symbol": symbol, "startTime": since_ms, "limit": 100}
            )
        )
        return list(((response or {}).get("result") or {}).get("list") or [])

    async def resolve(self, order: LiveOrder) -> None:
        """One look at an order still in flight: its state (by query) and its fills (by trade history)."""
        now = self.clock()
        try:
            update = await self.query(order)
        except VenueError as error:
            log.info("%s: query of %s failed (%s); will ask again", self.venue, order.client_id, error)
            return
        if update is None:
            if order.state is OrderState.UNKNOWN or order.state is OrderState.SENT:
                order.not_found += 1
                waited = now - order.unknown_since_ns if order.unknown_since_ns else 0
                if order.not_found >= self.settings.unknown_checks and waited >= self.settings.unknown_grace_ns:
                    self.counters["not_found"] += 1
                    log.warning(
                        "%s: %s not found after %d queries over %.1f s: the venue never took it",
                        self.venue,
                        order.client_id,
                        order.not_found,
                        waited / 1e9,
                        extra={**_ids(self.venue, order), "event": "not_found"},
                    )
                    self._reject(order, Rejection("not-found", "the venue has no such order"), "query")
            self.journal.flush()
            return
        order.not_found = 0
        self._apply(order, update, "query")
        if order.executed_qty > order.filled:
            self.counters["sweeps"] += 1
            for row in await self.order_trades(order):
                self.on_trade_message(row, "rest")
        self.journal.flush()

    async def sweep(self) -> None:
        """After a stream gap: book every symbol's trades since its last fill seen (and a margin before it)."""
        self.counters["sweeps"] += 1
        for m in self.markets:
            last = m.last_fill_ms
            since = max(0, last - 60_000) if last else max(0, self.clock() // NS_PER_MS - 600_000)
            for row in await self.trades_since(since, m.symbol):
                self.on_trade_message(row, "rest")
        self.journal.flush()

    async def _resolver(self) -> None:
        interval = self.settings.unknown_check_interval_ns / 1e9
        while not self._stopping:
            await asyncio.sleep(interval)
            now = self.clock()
            if self._sweep_after_ns and now >= self._sweep_after_ns:
                self._sweep_after_ns = 0
                try:
                    await self.sweep()
                except VenueError as error:
                    log.info("%s: trade sweep failed (%s); will try again", self.venue, error)
                    self._sweep_after_ns = now + self.settings.stream_retry_ns
            for order in self.in_flight:
                due = order.state is OrderState.UNKNOWN or (
                    order.ack_ns and now - order.ack_ns >= self.settings.fill_check_after_ns
                )
                if due:
                    try:
                        await self.resolve(order)
                    except VenueError as error:
                        log.info("%s: checking %s failed (%s); will try again", self.venue, order.client_id, error)

    async def _watch(self, what: str) -> None:
        # No symbol: ccxt then delivers every symbol's orders (trades) of the account's one private
        # connection, and each message is routed by the symbol it names.
        delay = self.settings.stream_retry_ns / 1e9
        watch = self.exchange.watch_orders if what == "orders" else self.exchange.watch_my_trades
        handle = self.on_order_message if what == "orders" else self.on_trade_message
        while not self._stopping:
            try:
                items = await watch()
                if not self.stream_up:
                    self.stream_up = True
                delay = self.settings.stream_retry_ns / 1e9
                for item in items:
                    info = item.get("info") if isinstance(item, dict) else None
                    if isinstance(info, dict):
                        handle(info, "stream")
                self.journal.flush()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # noqa: BLE001 - a stream failure of any kind: reconnect, then sweep
                if self._stopping:
                    return
                self.stream_up = False
                self.stream_reconnects += 1
                log.warning(
                    "%s user stream (%s) failed: %r; reopening in %.1f s, then a REST sweep",
                    self.venue,
                    what,
                    error,
                    delay,
                )
                self._sweep_after_ns = self.clock() + int(delay * 1e9) + self.settings.stream_retry_ns
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    # -- the account ------------------------------------------------------------------------------------

    async def balances(self) -> dict[str, Decimal]:
        """The account's balance per asset as the venue states it (spot: free + locked; linear: wallet)."""
        if self.venue == "binance":
            from connectors.binance.orders import balances

            if self.market == "spot":
                return balances(await self.call(lambda: self.exchange.privateGetAccount({"omitZeroBalances": "true"})))
            return balances(await self.call(lambda: self.exchange.fapiPrivateV2GetBalance({})))
        from connectors.bybit.orders import balances as bybit_balances

        raw = await self.call(lambda: self.exchange.privateGetV5AccountWalletBalance({"accountType": "UNIFIED"}))
        return bybit_balances(raw)

    async def position(self, symbol: str | None = None) -> Decimal:
        """The venue's signed position in ``symbol`` (the first symbol by default; linear only: spot has
        holdings, see balances)."""
        return (await self.position_and_entry(symbol))[0]

    async def position_and_entry(self, symbol: str | None = None) -> tuple[Decimal, Decimal]:
        """The venue's signed position in ``symbol`` (the first symbol by default) and its average entry
        price, quote per base (0 when flat); ``(0, 0)`` on spot, which has holdings (see balances)."""
        if self.market == "spot":
            return ZERO, ZERO
        symbol = symbol or self.symbol
        if self.venue == "binance":
            from connectors.binance.orders import position_and_entry

            raw = await self.call(lambda: self.exchange.fapiPrivateV2GetPositionRisk({"symbol": symbol}))
            return position_and_entry(raw, symbol)
        from connectors.bybit.orders import position_and_entry as bybit_position_and_entry

        raw = await self.call(lambda: self.exchange.privateGetV5PositionList({"category": "linear", "symbol": symbol}))
        return bybit_position_and_entry(raw, symbol)

    async def best_prices(self, symbol: int = 0) -> tuple[Decimal, Decimal]:
        """The best bid and ask of symbol number ``symbol`` in the venue's order book now (REST)."""
        ccxt_symbol = self.markets[symbol].ccxt_symbol
        book = await self.call(lambda: self.exchange.fetch_order_book(ccxt_symbol, 5))
        try:
            return Decimal(str(book["bids"][0][0])), Decimal(str(book["asks"][0][0]))
        except (KeyError, IndexError, TypeError) as error:
            name = self.markets[symbol].symbol
            raise VenueError(self.name, f"the order book of {name} has an empty side ({error!r})",
                             "the venue's status page (is the market open?)", code="empty-book",
                             retryable=True) from None  # fmt: skip

    @property
    def blocked_until_ns(self) -> int:
        """Until when (the executor's clock, ns) new orders on this venue are refused locally: a rate limit,
        a used-up request weight or a ban (0, or a time past: none)."""
        return self.guard.blocked_until_ns

    async def open_orders(self, symbol: str | None = None) -> list[VenueOrderUpdate]:
        """The venue's open orders in ``symbol``, or in every traded symbol when None."""
        if symbol is None:
            return [u for m in self.markets for u in await self.open_orders(m.symbol)]
        if self.venue == "binance":
            method = getattr(
                self.exchange, "privateGetOpenOrders" if self.market == "spot" else "fapiPrivateGetOpenOrders"
            )
            rows = await self.call(lambda: method({"symbol": symbol}))
        else:
            response = await self.call(
                lambda: self.exchange.privateGetV5OrderRealtime(
                    {"category": self._category, "symbol": symbol, "openOnly": 0}
                )
            )
            rows = ((response or {}).get("result") or {}).get("list") or []
        updates = [self._parse_update(row) for row in rows or []]
        return [u for u in updates if u is not None and not u.state.terminal]

    # -- shutting down -------------------------------------------------------------------------------

    async def cancel_open(self, symbol: str | None = None) -> int:
        """Cancel every open order of ``symbol`` on the venue, or of every traded symbol when None (a kill
        switch's second step); returns how many were cancelled."""
        if symbol is None:
            return sum([await self.cancel_open(m.symbol) for m in self.markets])
        if self.venue == "binance" and self.market == "linear":
            # USD-M answers {"code":200,"msg":"The operation of cancel all open order is done."}, no list:
            # count what was open, cancel, and count what is left.
            before = await self.open_orders(symbol)
            await self.call(lambda: self.exchange.fapiPrivateDeleteAllOpenOrders({"symbol": symbol}))
            return len(before) - len(await self.open_orders(symbol)) if before else 0
        if self.venue == "binance":
            try:
                rows = await self.call(lambda: self.exchange.privateDeleteOpenOrders({"symbol": symbol}))
            except VenueError as error:
                if error.code == "-2011":  # "Unknown order sent.": no open orders
                    return 0
                raise
            return len(rows) if isinstance(rows, list) else 0
        response = await self.call(
            lambda: self.exchange.privatePostV5OrderCancelAll({"category": self._category, "symbol": symbol})
        )
        return len(((response or {}).get("result") or {}).get("list") or [])

    async def drain(self, timeout_ns: int) -> list[LiveOrder]:
        """Wait (bounded) for the orders in flight to be done; returns those still in flight."""
        deadline = self.clock() + timeout_ns
        while self.in_flight and self.clock() < deadline:
            for order in self.in_flight:
                with contextlib.suppress(VenueError):
                    await self.resolve(order)
            if self.in_flight:
                await asyncio.sleep(self.settings.unknown_check_interval_ns / 1e9)
        return self.in_flight


def _reason(error: BaseException) -> str:
    # What failed under a request, in a few words: the connection's error (refused, unknown host), else
    # the client's own text (ccxt's, after an answer it could not use)
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


def _binance_weight_limit(info: dict[str, Any], exchange: Any) -> int | None:
    # exchangeInfo's REQUEST_WEIGHT per minute, which ccxt keeps on the first market's raw response
    raw = getattr(exchange, "last_json_response", None)
    limits = raw.get("rateLimits") if isinstance(raw, dict) else None
    for limit in limits or []:
        if limit.get("rateLimitType") == "REQUEST_WEIGHT" and limit.get("interval") == "MINUTE":
            return int(limit["limit"]) * max(1, int(limit.get("intervalNum", 1)))
    return None


# ---------------------------------------------------------------------------------------------------
# Both venues behind the engine's executor interface


class LiveExecutor:
    """Two venue executors behind the interface the engine drives the paper executor through.

    ``symbols``: how many symbols are traded (the venue executors' markets by default). Counts per
    (symbol, venue) are indexed as the engine's assets, ``2 * symbol + venue``. ``on_ready()`` is
    called whenever an order is done, so the driver can wake the engine, which then collects it with
    :meth:`run_until`.
    """

    def __init__(
        self,
        venues: Iterable[VenueExecutor],
        *,
        on_ready: Callable[[], None] | None = None,
        symbols: int | None = None,
    ) -> None:
        self.venues = list(venues)
        self.on_ready = on_ready
        self.n_symbols = symbols or max((len(getattr(v, "markets", ())) for v in self.venues), default=0) or 1
        self._done: deque[LiveOrder] = deque()
        self._undelivered = [0] * (2 * self.n_symbols)
        """Per asset ``2 * s + v``: orders done on the venue and not yet handed to the engine (:meth:`run_until`)."""
        for executor in self.venues:
            executor.on_done = self._order_done
        self.rejections: list[LiveOrder] = []

    @property
    def open_orders(self) -> list[int]:
        """Orders the engine has not been told the end of, per asset ``2 * symbol + venue`` (unknown
        ones included).

        An order done on the venue but not yet handed over still counts: the engine may decide at a
        book update it received before the answer, and must not take a leg whose fill it has not seen
        yet for a lone one (it would hedge a pair that was complete).
        """
        counts = list(self._undelivered)
        for v in self.venues:
            for order in v.in_flight:
                counts[2 * _symbol_of(order) + v.index] += 1
        return counts

    @property
    def blocked_until(self) -> list[int]:
        """Per venue, until when (ns, the executors' clock) it refuses new orders locally (a rate limit, a
        ban; 0 or a time past: it takes orders): what the kernel's view says of it."""
        return [v.blocked_until_ns for v in self.venues]

    @property
    def unknown_orders(self) -> list[int]:
        """Orders whose outcome is unknown (sent, unanswered, being queried), per venue (every symbol's)."""
        return [sum(1 for o in v.in_flight if o.state is OrderState.UNKNOWN) for v in self.venues]

    @property
    def next_order_id(self) -> int:
        return sum(v.next_order_id - 1 for v in self.venues) + 1

    def submit(
        self, venue: int, side: int, price: float, qty: float, kind: int, pair_id: int, now: int, symbol: int = 0
    ) -> LiveOrder:
        """Send one IOC limit order of symbol number ``symbol`` on ``venue`` (asset number); returns at
        once (see VenueExecutor.submit)."""
        return self.venues[venue].submit(side, price, qty, kind, pair_id, now, symbol=symbol)

    def _order_done(self, order: LiveOrder) -> None:
        if order.state is OrderState.REJECTED:
            self.rejections.append(order)
        self._done.append(order)
        self._undelivered[2 * _symbol_of(order) + order.venue] += 1
        if self.on_ready is not None:
            self.on_ready()

    def next_event_ts(self) -> int | None:
        """When the oldest done order not yet handed to the engine was done, or None."""
        return self._done[0].respond_ts if self._done else None

    def restamp(self, ts: int, venue: int | None = None) -> None:
        """Date every order done and not yet handed over (of ``venue``, or all) at ``ts``: with a replayed
        clock, live parity answers each order at the backtest's time of that answer."""
        for order in self._done:
            if venue is None or order.venue == venue:
                order.respond_ts = ts

    def run_until(self, ts: int, on_answer: Callable[[Any], None]) -> None:
        """Hand the engine every order done at or before ``ts``."""
        while self._done and self._done[0].respond_ts <= ts:
            self._hand_over(self._done.popleft(), on_answer)

    def _hand_over(self, order: LiveOrder, on_answer: Callable[[Any], None]) -> None:
        self._undelivered[2 * _symbol_of(order) + order.venue] -= 1
        on_answer(order)

    def cancel_all(self, on_answer: Callable[[Any], None]) -> int:
        """Hand over what is done; returns how many orders are still in flight (see :meth:`shutdown`)."""
        while self._done:
            self._hand_over(self._done.popleft(), on_answer)
        return sum(self.open_orders)

    async def shutdown(self, timeout_ns: int) -> list[LiveOrder]:
        """Cancel open orders on both venues and wait (bounded) for in-flight ones; returns the rest."""
        left: list[LiveOrder] = []
        for executor in self.venues:
            try:
                await executor.cancel_open()
            except VenueError as error:
                log.error("cancelling the open orders at the stop failed: %s", error)
            left += await executor.drain(timeout_ns)
            executor.stop()
        return left

    def summary(self) -> dict[str, Any]:
        """Counters for reports (``orders_per_symbol``: orders sent per symbol, both venues)."""
        per_symbol: dict[str, int] = {}
        for v in self.venues:
            for order in v.orders.values():
                per_symbol[order.symbol] = per_symbol.get(order.symbol, 0) + 1
        return {
            "orders": sum(v.next_order_id - 1 for v in self.venues),
            "orders_per_symbol": per_symbol,
            "rejected": len(self.rejections),
            "rejection_codes": sorted({str(o.rejection.code) for o in self.rejections if o.rejection}),
            "venues": {
                f"{v.venue}-{v.market}": dict(
                    v.counters, stream_reconnects=v.stream_reconnects, rate_limited=v.guard.rate_limited
                )
                for v in self.venues
            },
        }


def _symbol_of(order: Any) -> int:
    # The order's symbol number (0 for an object without one: a one-symbol caller's)
    return int(getattr(order, "symbol_index", 0))


def _ids(venue: str, order: LiveOrder) -> dict[str, object]:
    # an order's names for a structured log line (arb.logs: --log-format json)
    return {"venue": venue, "symbol": order.symbol, "client_id": order.client_id, "pair_id": order.pair_id}
