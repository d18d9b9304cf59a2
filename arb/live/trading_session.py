"""One account's live trading machinery: the journal and the venues' executors, without the strategy.

:class:`TradingSession` builds, from the configuration, what real orders need: the journal
(``[live]``), one ccxt client and one :class:`~arb.execution.venue_executor.VenueExecutor` per venue carrying
every symbol of ``[strategy] symbols`` (keys from the environment variables the venue files name,
URLs from the venue files, private stream included), and checks each symbol's trading rules on each
venue against the configuration's (``[symbols.<SYMBOL>.<venue>]``, the venue file's ``[instrument]``
for the first). ``arb live`` (:mod:`arb.live.trading`) puts the engine on top; ``arb reconcile``,
``arb order`` (:func:`place_one`: one immediate-or-cancel order through the very same path) and
``arb kill`` use it directly.
"""

from __future__ import annotations

__all__ = [
    "KIND_FLATTEN",
    "KIND_MANUAL",
    "TradingSession",
    "VenueAccount",
    "place_one",
    "reading_session",
    "settings_of",
    "trading_session",
    "venue_account",
    "venue_setup",
]

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import TYPE_CHECKING, Any

from msgspec.structs import replace

from arb.catalog import venue_facts
from arb.config import AppConfig, VenueConfig
from arb.errors import ArbError, ConfigError
from arb.waiting import wait_set
from connectors.common.rest_lane import RestLane

if TYPE_CHECKING:  # ccxt, aiohttp and SQLAlchemy load only when a command trades (``arb --help`` stays quick)
    from arb.execution.journaling import ExecutionJournal
    from arb.execution.live_executor import LiveExecutor
    from arb.execution.live_parts import ClientIds, ExecutionSettings
    from arb.execution.orders import LiveOrder, VenueFill
    from arb.execution.reconcile import VenueReconciliation
    from arb.execution.venue_errors import VenueSetup
    from arb.execution.venue_executor import VenueExecutor
    from arb.execution.wire_trace import WireTrace

log = logging.getLogger(__name__)

KIND_MANUAL = 9
"""The intent kind of an order placed by hand (``arb order``); the kernel's are 1-3."""
KIND_FLATTEN = 8
"""The intent kind of an order the kill switch sends to flatten the net position."""

_INCEPTION = "inception/{venue}/{market}"


def settings_of(config: AppConfig) -> ExecutionSettings:
    """The executors' timings from ``[live]``."""
    from arb.execution.live_parts import ExecutionSettings

    live = config.live
    return ExecutionSettings(
        request_timeout_ns=live.request_timeout_ns,
        unknown_check_interval_ns=live.unknown_check_interval_ns,
        unknown_checks=live.unknown_checks,
        unknown_grace_ns=live.unknown_grace_ns,
        fill_check_after_ns=live.fill_check_after_ns,
        rate_headroom=live.rate_headroom,
        warm_interval_ns=live.warm_interval_ns,
    )


@dataclass(slots=True)
class TradingSession:
    """The journal, the venue executors and their clients for one account (see the module docstring)."""

    config: AppConfig
    journal: ExecutionJournal
    trace: WireTrace
    executors: dict[int, VenueExecutor] = field(default_factory=dict)
    rule_differences: list[str] = field(default_factory=list)
    """Where a venue's published trading rules differ from its venue file."""
    grid_differences: list[str] = field(default_factory=list)
    """Those of them on the grids (``tick_size``, ``lot_size``): the kernel sizes and prices on the
    configuration's, the executor rounds to the venue's, so ``arb live`` refuses to start on any."""

    def live_executor(self, on_ready: Callable[[], None] | None = None) -> LiveExecutor:
        """The open venues behind the engine's executor interface (every venue of the run, for the engine:
        its counts are as wide as the run's venues), every symbol."""
        from arb.execution.live_executor import LiveExecutor

        venues = [self.executors[v] for v in sorted(self.executors)]
        return LiveExecutor(
            venues, on_ready=on_ready, symbols=len(self.config.symbols), n_venues=len(self.config.venues)
        )

    async def reconcile(self, *, accept_venue_state: bool = False) -> list[VenueReconciliation]:
        """Reconcile every open venue with the journal, every symbol (see ``arb.execution.reconcile``)."""
        from arb.execution.reconcile import reconcile_venue

        timeout = self.config.live.unknown_grace_ns + 10 * self.config.live.unknown_check_interval_ns
        return [
            await reconcile_venue(
                self.executors[v], self.journal, accept_venue_state=accept_venue_state, timeout_ns=timeout
            )
            for v in sorted(self.executors)
        ]


def venue_setup(venue: VenueConfig) -> VenueSetup:
    """What a failure message about ``venue`` points at: the variables its key comes from, its market,
    network, REST URL and file."""
    from arb.execution.venue_errors import VenueSetup

    keys = ["api_key", "api_secret"] + (["api_passphrase"] if venue_facts(venue.name).passphrase else [])
    secrets = [getattr(venue, key) for key in keys]
    names = [s.env_name for s in secrets if s is not None and s.env_name]
    if len(names) == len(keys):  # every one of them, each named: the key, the secret, the passphrase
        credentials = f"the environment variables {', '.join(names[:-1])} and {names[-1]}"
    else:
        credentials = f"{', '.join(keys[:-1])} and {keys[-1]} in {venue.path}"
    return VenueSetup(credentials, venue.market, venue.network, venue.endpoints.rest, str(venue.path),
                      passphrase=len(keys) == 3)  # fmt: skip


def _check_tradeable(venue: VenueConfig) -> tuple[str, str, str | None]:
    # The key, the secret and (a venue whose keys have one) the passphrase
    if not venue.endpoints.ws_private:
        raise ConfigError(
            str(venue.path),
            f"endpoints.{venue.market}.{venue.network}.ws_private",
            "expected the private stream's URL for live trading (orders and fills come on it)",
        )
    keys = ["api_key", "api_secret"] + (["api_passphrase"] if venue_facts(venue.name).passphrase else [])
    for key in keys:
        if getattr(venue, key) is None:
            raise ConfigError(str(venue.path), key, 'expected "${ENV_VAR}" naming where the credential is')
    assert venue.api_key is not None and venue.api_secret is not None
    password = venue.api_passphrase.resolve() if venue.api_passphrase is not None else None
    return venue.api_key.resolve(), venue.api_secret.resolve(), password


_GRIDS = ("tick_size", "lot_size")
"""The rules whose difference changes an order: the executor rounds a price or quantity to the venue's."""


def _compare_rules(config: AppConfig, v: int, rules: dict[str, dict[str, tuple[str, str]]]) -> list[tuple[str, str]]:
    # Each symbol's trading rules as venue v states them against the configuration's: the venue file's
    # [instrument] (the first symbol; overridden in [symbols.<SYMBOL>.<venue>]) or [symbols.<SYMBOL>.<venue>].
    # (rule name, what differs), in symbol order.
    venue = config.venues[v]
    out = []
    for s, sym in enumerate(config.symbols):
        inst = sym.instruments[v]
        ours = {
            "tick_size": inst.tick_size,
            "lot_size": inst.lot_size,
            "min_qty": inst.min_qty,
            "min_notional": inst.min_notional,
        }
        overrides = config.symbol_overrides.get(sym.name)
        table = overrides.venue(config.venues[v].name) if overrides is not None else {}
        for name, (theirs, _) in rules.get(sym.name, {}).items():
            try:
                differs = Decimal(repr(ours[name])) != Decimal(theirs)
            except (InvalidOperation, KeyError):
                continue
            if differs:
                if s > 0 or name in table:
                    where = f"[symbols.{sym.name}.{venue.name}] {name} is {ours[name]:g} in {config.path.name}"
                else:
                    where = f"[instrument] {name} is {ours[name]:g} in {venue.path.name}"
                market = f"{venue.name} {venue.market} {sym.name}"
                out.append((name, f"{market}: {where}, the venue says {theirs}"))
    return out


@contextlib.asynccontextmanager
async def trading_session(
    config: AppConfig,
    venues: Sequence[int] | None = None,
    *,
    clock: Callable[[], int] = time.time_ns,
    run_id: str | None = None,
    order_entry: bool = True,
) -> AsyncIterator[TradingSession]:
    """Open the journal and the executors of ``venues`` (numbers in the run; None: every venue of the run)
    (markets loaded, rules compared) and, unless
    ``order_entry`` is False (a session that sends no order), the order WebSocket of each venue whose
    file says ``order_entry = "websocket"``; close all on exit."""
    from arb.execution.journaling import open_execution_journal
    from arb.execution.live_parts import ClientIds
    from arb.execution.wire_trace import WireTrace

    journal = open_execution_journal(config.live)
    trace = WireTrace(clock)
    session = TradingSession(config, journal, trace)
    ids = ClientIds(run_id)
    settings = settings_of(config)
    try:
        for v in range(len(config.venues)) if venues is None else venues:
            await _open_venue(session, v, ids, settings, clock, order_entry)
        for line in session.rule_differences:
            log.warning("%s", line)
        yield session
    finally:
        for venue_executor in session.executors.values():
            venue_executor.stop()
            with contextlib.suppress(Exception):
                await venue_executor.exchange.close()
            if venue_executor.order_entry is not None:
                await venue_executor.order_entry.close()
            if venue_executor.rest_lane is not None:
                await venue_executor.rest_lane.close()
        await trace.close()
        journal.close()


async def _open_venue(
    session: TradingSession,
    v: int,
    ids: ClientIds,
    settings: ExecutionSettings,
    clock: Callable[[], int],
    order_entry: bool,
) -> None:
    # Venue v's executor in the session (its markets loaded, its rules compared with the configuration's),
    # then with order_entry its order lanes: the order WebSocket, the request signer, the REST connections
    from arb.execution.ccxt_setup import make_exchange
    from arb.execution.venue_quotes import QuotingVenueExecutor

    config, journal, trace = session.config, session.journal, session.trace
    venue = config.venues[v]
    key, secret, password = _check_tradeable(venue)
    exchange = make_exchange(
        venue.name,
        venue.market,
        rest=venue.endpoints.rest,
        ws_private=venue.endpoints.ws_private,
        api_key=key,
        api_secret=secret,
        api_password=password,
        network=venue.network,
        timeout_ms=config.live.request_timeout_ns // 1_000_000,
        session=trace.session(),
        pro=True,
    )
    executor = QuotingVenueExecutor(  # IOC orders as VenueExecutor's; quotes for the maker_taker style
        index=v,
        venue=venue.name,
        market=venue.market,
        symbols=config.symbol_names,
        exchange=exchange,
        trace=trace,
        journal=journal,
        ids=ids,
        account=config.live.account,
        settings=settings,
        clock=clock,
        setup=venue_setup(venue),
    )
    session.executors[v] = executor
    rules = await executor.start()
    differences = _compare_rules(config, v, rules)
    session.rule_differences += [text for _, text in differences]
    session.grid_differences += [text for name, text in differences if name in _GRIDS]
    if not order_entry:
        return
    if venue.order_entry == "websocket":
        executor.order_entry = executor.adapter.order_entry(
            venue.endpoints.ws_orders,
            api_key=key,
            api_secret=secret,
            api_password=password,
            request_timeout_ms=config.live.request_timeout_ns // 1_000_000,
        )
        await executor.order_entry.start()  # says in the log whether orders go over it
    executor.create_signer = executor.adapter.create_signer(exchange)
    if venue.rest_connections:
        executor.rest_lane = RestLane(
            venue.endpoints.rest,
            name=f"{venue.name} {venue.market}",
            size=venue.rest_connections,
            request_timeout_s=config.live.request_timeout_ns / 1e9,
            ssl_context=exchange.ssl_context or None,  # ccxt's own (certifi's roots), made at market load
        )
        await executor.rest_lane.start()


@contextlib.asynccontextmanager
async def reading_session(config: AppConfig, venues: Sequence[int] | None = None) -> AsyncIterator[TradingSession]:
    """A session that only reads (``arb check``, ``arb fees``): its journal in a folder of its own, gone
    after, so it writes nothing of the account's and runs beside a running ``arb live``; no order entry."""
    with TemporaryDirectory(prefix="arb-read-") as folder:
        live = replace(config.live, state_dir=Path(folder), journal_url="", intent_log=False)
        async with trading_session(replace(config, live=live), venues, order_entry=False) as session:
            yield session


@dataclass(frozen=True, slots=True)
class VenueAccount:
    """One venue's account for the engine, per symbol in ``[strategy] symbols`` order (see
    :func:`venue_account`): the inception holdings (base units, 0 on linear), the position (spot: base
    gained since the inception; linear: the venue's), the cash (quote moved since the inception, as the
    engine counts it: a position's cost paid, its sale received), and the venue's one quote balance at
    its inception."""

    inception_base: tuple[float, ...]
    inception_quote: float
    position: tuple[float, ...]
    cash: tuple[float, ...]


async def venue_account(session: TradingSession, v: int) -> VenueAccount:
    """Venue ``v``'s account since its inception, every symbol.

    The inception is the venue's holdings before this journal first traded there (kept in its state: the
    quote and each symbol's base; a symbol added later is met at its first start): the holdings at the
    first look, less what arb's orders in the journal had already moved (on spot: ``arb order`` sends
    without looking), so every position the journal holds counts, and the kill switch closes it. The
    account's own moves of money since (``arb rebalance --execute``, ``[rebalance] auto``: the journal's
    ``transfers`` into and out of the trading wallet) move the inception, neither a position nor cash. The
    position is what the account gained since (spot) or the venue's position (linear). The quote moved
    since the inception is split among the symbols by the journal's fills since then (what each symbol's
    trades paid and received, quote fees included) and its funding payments (perpetuals); whatever they
    do not explain stays with the first symbol, so the symbols' cash always adds up to the venue's
    quote.

    A linear venue's quote is its wallet, which moves by realised PnL, fees and funding only: an open
    position's cost never left it. The engine counts cash as spot does (a buy pays its cost, the
    position is valued at the price), so the wallet is taken less each open position's cost at the
    venue's average entry price: the engine's equity is then the venue's (wallet plus unrealised PnL),
    and a restart continues the cash the engine had, not the wallet.
    """
    executor = session.executors[v]
    spot = executor.market == "spot"
    quote, held, cost = await _holdings(executor)
    start_quote, inception, since_ns = _inception(session, v, quote, held)
    from arb.execution.price_grid import to_decimal

    # the difference of the decimals the floats mean: a float difference of two holdings near 50 BTC is off
    # by ~1e-14, a millionth of a 1e-8 lot (OKX spot's), and the kill switch's flatten, floored to the lot,
    # would leave one lot unsold
    position = (
        tuple(float(to_decimal(h) - to_decimal(b)) for h, b in zip(held, inception, strict=True))
        if spot
        else tuple(held)
    )
    cash, coin_fees = _cash_by_symbol(session, executor, since_ns)
    cash[0] = quote - float(cost) - start_quote - coin_fees - sum(cash[1:])
    return VenueAccount(inception, start_quote, position, tuple(cash))


async def _holdings(executor: VenueExecutor) -> tuple[float, list[float], Decimal]:
    # What the venue holds now: its quote balance, each symbol's base (spot) or position (linear), and the
    # open positions' cost at their entry prices (linear; 0 on spot)
    balances = await executor.balances()
    quote = float(balances.get(executor.quote_asset, Decimal(0)))
    cost = Decimal(0)  # the open positions' cost at their entry prices (linear)
    if executor.market == "spot":
        held = [float(balances.get(m.base_asset, Decimal(0))) for m in executor.markets]
    else:
        held = []
        for m in executor.markets:
            qty, entry = await executor.position_and_entry(m.symbol)
            held.append(float(qty))
            cost += qty * entry
    return quote, held, cost


def _inception(
    session: TradingSession, v: int, quote: float, held: list[float]
) -> tuple[float, tuple[float, ...], int]:
    # Venue v's inception (its state in the journal, set at the first look and for a symbol met later; the
    # account's moves of money since shift it): its quote, each symbol's base, and when it was, ns
    from arb.journal.transfers import trading_wallet_moves

    executor = session.executors[v]
    spot = executor.market == "spot"
    key = _INCEPTION.format(venue=executor.venue, market=executor.market)
    stored = session.journal.get_state(key)
    now = executor.clock()
    before = _journaled_moves(session, v) if spot else {}
    transfers = trading_wallet_moves(session.journal.transfers(), executor.venue, executor.market)
    if stored is None:
        # what the journal's fills made before this first look (``arb order`` alone) is the account's too
        first_ns = min((ns for _, _, ns in before.values() if ns), default=now)
        start = float(Decimal(repr(quote)) - sum((moved for _, moved, _ in before.values()), Decimal(0)))
        data: dict[str, Any] = {"quote": start, "ns": min(now, first_ns), "symbols": {}}
    else:
        data = json.loads(stored)
    # the account's moves of money since the inception move it (not a trade): those counted when it was set
    # (kept as "transfers"; one set before arb counted them has each move made until now in its cash) less now
    kept = "transfers" in data
    data.setdefault("transfers", {a: str(x) for a, x in transfers.items()})
    shift = {a: float(transfers.get(a, Decimal(0)) - Decimal(data["transfers"].get(a, "0")))
             for a in set(transfers) | set(data["transfers"])}  # fmt: skip
    shifted = {m.symbol: shift.pop(m.base_asset, 0.0) if spot else 0.0 for m in executor.markets}  # first symbol's
    symbols: dict[str, float] = dict(data.get("symbols") or {})
    if "base" in data:  # one symbol's, written before arb traded several: the first symbol's
        symbols.setdefault(executor.markets[0].symbol, float(data.pop("base")))
    met = [m for m in executor.markets if m.symbol not in symbols]
    for m, amount in zip(executor.markets, held, strict=True):
        if m in met:
            made = before.get(m.symbol, (Decimal(0), Decimal(0), 0))[0]
            symbols[m.symbol] = float(Decimal(repr(amount)) - made) - shifted[m.symbol] if spot else 0.0
    if stored is None or met or not kept:
        data["symbols"] = symbols
        session.journal.set_state(key, json.dumps(data))
    start_quote = float(data["quote"]) + shift.get(executor.quote_asset, 0.0)
    inception = tuple(symbols[m.symbol] + shifted[m.symbol] if spot else 0.0 for m in executor.markets)
    return start_quote, inception, int(data.get("ns", 0))


def _cash_by_symbol(session: TradingSession, executor: VenueExecutor, since_ns: int) -> tuple[list[float], float]:
    # The quote each symbol's fills (and funding, perpetuals) moved since the inception (``since_ns``), the
    # first symbol's left for the caller, and the fees paid in a third coin (BNB) valued in quote
    spot = executor.market == "spot"
    cash = [0.0] * len(executor.markets)
    coin_fees = 0.0  # fees paid in a third coin (BNB): out of the quote, in the engine's cash at their price
    since_ms = since_ns // 1_000_000
    for s, m in enumerate(executor.markets):
        for fill in session.journal.venue_fills(executor.venue, executor.market, m.symbol):
            if fill.exch_ts_ms < since_ms:
                continue
            coin_fee = _coin_fee(session, fill) if fill.fee_asset not in ("", m.base_asset, m.quote_asset) else 0.0
            coin_fees += coin_fee
            if len(cash) > 1:
                paid = fill.side * fill.qty * fill.price + (fill.fee if fill.fee_asset == m.quote_asset else 0)
                cash[s] -= float(paid) + coin_fee
        if len(cash) > 1 and not spot:
            cash[s] += session.journal.funding_paid(executor.venue, executor.market, m.symbol, since_ms * 1_000_000)
    return cash, coin_fees


def _coin_fee(session: TradingSession, fill: VenueFill) -> float:
    # A fee paid in a third coin, in quote at the price its order's done event names (0: the engine had none)
    done = [e["detail"] for e in session.journal.journal.order_events(fill.client_id) if e["kind"] == "done"]
    price = next((d["fee_prices"][fill.fee_asset] for d in done if fill.fee_asset in d.get("fee_prices", {})), 0)
    return float(fill.fee * Decimal(price))


def _journaled_moves(session: TradingSession, v: int) -> dict[str, tuple[Decimal, Decimal, int]]:
    # Per symbol of spot venue v: the base and the quote the fills of arb's own orders in the journal
    # moved (fees in either asset included) and the first one's time (ns; 0: none). What arb's orders
    # made is never part of an inception met after them: the kill switch's to close. A fill of no
    # order of arb's (one reconciliation booked as not arb's) is left to the person who accepts it.
    executor = session.executors[v]
    journal = session.journal
    ours = {row["client_id"] for row in journal.journal.intents(account=journal.account, venue=executor.venue,
                                                                market=executor.market)}  # fmt: skip
    out: dict[str, tuple[Decimal, Decimal, int]] = {}
    for m in executor.markets:
        base = quote = Decimal(0)
        first_ms = 0
        for fill in journal.venue_fills(executor.venue, executor.market, m.symbol):
            if fill.client_id not in ours:
                continue
            base += fill.side * fill.qty - (fill.fee if fill.fee_asset == m.base_asset else 0)
            quote -= fill.side * fill.qty * fill.price + (fill.fee if fill.fee_asset == m.quote_asset else 0)
            first_ms = min(first_ms or fill.exch_ts_ms, fill.exch_ts_ms)
        out[m.symbol] = (base, quote, first_ms * 1_000_000)
    return out


async def place_one(
    config: AppConfig,
    venue: int,
    side: int,
    qty: Decimal,
    price: Decimal,
    *,
    reduce_only: bool,
    timeout_ns: int,
    symbol: int = 0,
) -> tuple[LiveOrder, list[VenueReconciliation]]:
    """Reconcile ``venue`` (every symbol), read the account's fees (journaled, a difference from ``[fees]``
    said), send one order of symbol number ``symbol``, and wait (bounded) until it is done; returns it and
    the reports."""
    from arb.live.account_fees import at_start

    async with trading_session(config, [venue]) as session:
        reports = await session.reconcile()
        if not all(r.ok for r in reports):
            raise ArbError(
                "reconciliation found differences; fix them or accept the venue's state "
                "(arb reconcile --accept-venue-state) before trading"
            )
        await at_start(config, session.executors, session.journal)
        executor = session.executors[venue]
        done = asyncio.Event()
        executor.on_done = lambda _order: done.set()
        async with asyncio.TaskGroup() as group:
            executor.run_background(group)
            order = executor.submit(
                side, float(price), float(qty), KIND_MANUAL, 0, executor.clock(), reduce_only=reduce_only, symbol=symbol
            )
            if order.qty_text != str(qty.normalize()) or order.price_text != str(price.normalize()):
                log.warning("order put on the venue's grid: %s @ %s", order.qty_text, order.price_text)
            await wait_set(done, timeout_ns / 1e9)
            executor.stop()
        return order, reports
