"""The sections of ``arbitrage.toml``: ``[strategy]``, ``[risk]``, ``[execution]``, ``[leg_faults]``,
``[backtest]``, ``[dry_run]``, ``[live]``, ``[ops]``, ``[alerts]``, ``[history]`` and ``[venues]``.

Each is a frozen :class:`~arb.config.fields.ConfigStruct`: a field's type says what it accepts (see
:mod:`arb.config.fields`), ``_rules`` checks what involves several fields. Times are int64 nanoseconds
in code and carry their unit in the TOML key (``cooldown_ms``).
"""

from __future__ import annotations

__all__ = [
    "AlertsConfig",
    "BacktestConfig",
    "DryRunConfig",
    "EmailChannel",
    "ExecutionConfig",
    "HistoryConfig",
    "LegFaultRates",
    "LegFaultsConfig",
    "LiveConfig",
    "OpsConfig",
    "RiskConfig",
    "StrategyConfig",
    "TelegramChannel",
    "VenueFiles",
    "WebhookChannel",
    "quote_currency",
]

import re
from pathlib import Path
from typing import Annotated, Final, Literal

from msgspec import Meta, field
from msgspec.structs import force_setattr

from arb.config.fields import (
    FRACTIONAL,
    ConfigStruct,
    Fraction,
    NonNegative,
    NonNegativeInt,
    Positive,
    PositiveInt,
    fail,
    got,
    shown,
)
from arb.config.secrets import Secret
from arb.events import NS_PER_MS, NS_PER_S

_HOUR: Final = 3600 * NS_PER_S
_QUOTE_CURRENCIES: Final = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "USD", "EUR", "BTC", "ETH", "BNB")
_SYMBOL: Final = r"\A[A-Z0-9]+\Z"
_SYMBOL_DOC: Final = 'upper-case letters and digits, e.g. "BTCUSDT"'
_SYMBOL_MISSING: Final = (
    'expected symbol = "BTCUSDT" (upper-case letters and digits) or symbols = ["BTCUSDT", "ETHUSDT"]'
)


def quote_currency(symbol: str) -> str:
    """The quote currency a symbol ends in (``BTCUSDT`` -> ``USDT``), or ``"quote"`` when unknown."""
    for quote in _QUOTE_CURRENCIES:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return quote
    return "quote"


class StrategyConfig(ConfigStruct, frozen=True):
    """``[strategy]``: what the kernel trades and when.

    Attributes:
        symbol: The first (or only) symbol traded on both venues, upper-case letters and digits
            (``"BTCUSDT"``).
        symbols: Every symbol traded, ``symbol`` first (TOML: ``symbol = "BTCUSDT"`` or ``symbols =
            ["BTCUSDT", "ETHUSDT"]``). All share one quote currency: each venue has one quote balance.
            The other keys here are every symbol's defaults; ``[symbols.<SYMBOL>]`` overrides them.
        min_spread_bps: Minimum net edge, in basis points of price, before a pair of orders is sent.
        max_order_size: Largest quantity of one leg, in base-asset units.
        max_position_size: Largest absolute position the strategy may hold on one venue, base units.
        rebalance_threshold: Imbalance between the two venues' positions, in base units, at which the
            strategy leans its quotes back toward balance.
        book_levels: Price levels per side in the kernel's view of each book (1..50).
        cooldown_ns: Minimum time between two new pairs, int64 ns (TOML: ``cooldown_ms``).
        funding_horizon_ns: Perpetuals: the entry rule counts the funding a pair's legs would pay or
            earn if held this long (each linear venue's estimate of its coming rate, at every funding
            time inside the horizon) as a cost or gain in its spread, int64 ns (TOML:
            ``funding_horizon_h``, fractional hours allowed); 0, the default: off.
        close_before_funding_ns: Perpetuals: this long before a funding time at which the held
            imbalance would pay, the inventory rule leans back to balance, taking a pair that shrinks
            the imbalance (no further than flat) whenever its spread loses less than the payment it
            avoids, and opens none that grows it; int64 ns (TOML: ``close_before_funding_s``); 0, the
            default: off.
        style: ``"taker"`` (the default): both legs of a pair take liquidity. ``"maker_taker"``: a
            post-only quote rests on a venue of ``maker_venues``, priced from the other venue's book so
            that a fill hedged there clears ``min_spread_bps`` after the maker and taker fees, and each
            fill is hedged there at once (in backtests, the dry run and ``arb live`` alike).
        maker_venues: ``maker_taker``: the venues that may quote (``["binance"]``, ``["bybit"]`` or both).
        quote_size: ``maker_taker``: a quote's quantity before the caps, base units (0: ``max_order_size``).
        quote_tolerance_bps: ``maker_taker``: a quote is re-priced when its target price moved further
            than this from it, basis points of its price.
        min_quote_life_ns: ``maker_taker``: no quote is re-priced before it is this old (a quote that
            would cross, or a venue that cannot take orders, cancels at once), int64 ns (TOML:
            ``min_quote_life_ms``).
        quote_hold_ns: ``maker_taker``: the longest a refused quote holds its side back when the view
            never shows a book that would have refused it, int64 ns (TOML: ``quote_hold_ms``).
        inventory_skew_bps: How far the entry threshold of each direction moves per unit of inventory
            imbalance, basis points: the imbalance is the two venues' base holdings' difference in
            full pairs (``(base0 - base1) / (2 x max_order_size)``); the direction that restores
            balance needs that much less (never below breaking even after fees and slippage), the one
            that drains the short venue that much more; 0, the default: off (docs/inventory.md).
    """

    symbol: Annotated[str, Meta(pattern=_SYMBOL, description=_SYMBOL_DOC, extra={"missing": _SYMBOL_MISSING})]
    min_spread_bps: NonNegative
    max_order_size: Positive
    max_position_size: Positive
    rebalance_threshold: NonNegative
    book_levels: Annotated[int, Meta(ge=1, le=50)] = 5
    cooldown_ns: NonNegativeInt = field(default=0, name="cooldown_ms")
    symbols: tuple[str, ...] = ()
    funding_horizon_ns: Annotated[int, Meta(ge=0, le=8760 * _HOUR), FRACTIONAL] = field(
        default=0, name="funding_horizon_h"
    )
    close_before_funding_ns: Annotated[int, Meta(ge=0, le=86_400 * NS_PER_S)] = field(
        default=0, name="close_before_funding_s"
    )
    style: Literal["taker", "maker_taker"] = "taker"
    maker_venues: tuple[Literal["binance", "bybit"], ...] = ("binance",)
    quote_size: NonNegative = 0.0
    quote_tolerance_bps: NonNegative = 1.0
    min_quote_life_ns: NonNegativeInt = field(default=100 * NS_PER_MS, name="min_quote_life_ms")
    quote_hold_ns: Annotated[int, Meta(ge=NS_PER_MS, le=3_600 * NS_PER_S)] = field(
        default=NS_PER_S, name="quote_hold_ms"
    )
    inventory_skew_bps: Annotated[float, Meta(ge=0, le=10_000)] = 0.0

    def _rules(self) -> None:
        if not self.maker_venues:
            fail(self, "maker_venues", 'expected at least one venue, e.g. ["binance"]')
        if not self.symbols:
            force_setattr(self, "symbols", (self.symbol,))
        for name in self.symbols:
            if not re.match(_SYMBOL, name):
                expected = 'expected symbols of upper-case letters and digits, e.g. "BTCUSDT"'
                fail(self, "symbols", f"{expected}, {got(name)}")
        if self.symbols[0] != self.symbol:
            fail(self, "symbol", f"expected the first of symbols ({self.symbols[0]}), {got(self.symbol)}")
        twice = sorted({name for name in self.symbols if self.symbols.count(name) > 1})
        if twice:
            fail(self, "symbols", f"expected each symbol once, got {', '.join(twice)} more than once")
        quotes = {name: quote_currency(name) for name in self.symbols}
        if len(set(quotes.values())) > 1:
            listed = ", ".join(f"{name} in {quote}" for name, quote in quotes.items())
            fail(self, "symbols", f"expected every symbol quoted in one currency (each venue keeps one quote "
                  f"balance), got {listed}")  # fmt: skip


class RiskConfig(ConfigStruct, frozen=True):
    """``[risk]``: limits the risk gate enforces whatever the strategy asks for.

    Attributes:
        max_drawdown: Loss from the equity peak, in quote currency, at which trading stops.
        stop_loss_bps: Adverse move, in basis points, at which an open imbalance is closed.
        position_limit: Largest absolute net position across both venues, base units.
        max_notional_per_venue: Largest absolute position value on one venue, quote currency.
        stale_after_ns: A venue with no depth update for this long is stale and gets no new risk,
            int64 ns (TOML: ``stale_after_ms``).
        max_open_orders: Largest number of open orders per venue.
        max_daily_loss: Trading PnL lost since the risk day began at which new pairs stop until the
            next day, quote currency; 0: off.
        max_daily_loss_fraction: The same, as a fraction of the account's equity at the day's start;
            0: off.
        daily_reset_hour_utc: The hour (UTC) at which a risk day begins.
        max_pair_loss: A pair that lost more than this (quote, from its sending until the position is
            flat again) halts trading until a person clears it; 0: off.
        max_pairs_per_day: At most this many pairs in any 24 hours; 0: off.
        min_pair_interval_ns: At least this long between two pairs, int64 ns (TOML:
            ``min_pair_interval_ms``); 0: off.
        max_imbalance_hold_ns: A net position held this long halts new pairs until a person clears
            it, int64 ns (TOML: ``max_imbalance_hold_ms``); 0: off.
        max_capital_use: Each venue's position value stays within this fraction of the venue's
            equity; 0: off.
        max_unknown_orders: More orders of unknown outcome on a venue than this hold new pairs back
            until they are resolved (live trading; 0 pauses at the first one).
        max_symbol_share: No symbol's positions (both venues, at the mids) above this fraction of the
            account's equity; 0: off.
        max_total_notional: The positions of every symbol on every venue together stay within this
            value, quote currency; 0: off.
        min_liquidation_distance: Perpetuals: no pair may bring a linear venue's position within this
            fraction of its mark price of the estimated liquidation price (from the venue's equity,
            the ``[perpetual]`` leverage, margin mode and maintenance margin rate); 0: off.

    ``position_limit``, ``max_notional_per_venue``, ``stop_loss_bps``, ``max_pair_loss``,
    ``max_pairs_per_day``, ``min_pair_interval_ns`` and ``max_imbalance_hold_ns`` hold per symbol (a
    ``[symbols.<SYMBOL>]`` table may override them); the others hold for the whole account.
    """

    max_drawdown: Positive
    stop_loss_bps: Positive
    position_limit: Positive
    max_notional_per_venue: Positive = 1e12
    stale_after_ns: PositiveInt = field(default=2_000 * NS_PER_MS, name="stale_after_ms")
    max_open_orders: Annotated[int, Meta(ge=1)] = 4
    max_daily_loss: NonNegative = 0.0
    max_daily_loss_fraction: Fraction = 0.0
    daily_reset_hour_utc: Annotated[int, Meta(ge=0, le=23)] = 0
    max_pair_loss: NonNegative = 0.0
    max_pairs_per_day: Annotated[int, Meta(ge=0, le=4096)] = 0
    min_pair_interval_ns: NonNegativeInt = field(default=0, name="min_pair_interval_ms")
    max_imbalance_hold_ns: NonNegativeInt = field(default=0, name="max_imbalance_hold_ms")
    max_capital_use: Fraction = 0.0
    max_unknown_orders: NonNegativeInt = 0
    max_symbol_share: Fraction = 0.0
    max_total_notional: NonNegative = 0.0
    min_liquidation_distance: Annotated[float, Meta(ge=0, le=0.5)] = 0.0


class ExecutionConfig(ConfigStruct, frozen=True):
    """``[execution]``: how intents become orders.

    Attributes:
        order_timeout_ns: An order unanswered for this long is cancelled, int64 ns
            (TOML: ``order_timeout_ms``).
        slippage_tolerance_bps: Allowed price move between decision and order, basis points.
        order_type: ``"ioc"`` (immediate-or-cancel, the default) or ``"limit"`` (rests on the book).
        hedge_mode: When only one leg filled: ``"hedge"`` completes the other leg, ``"unwind"`` closes
            the filled one.
        max_hedge_attempts: Attempts at the hedge or unwind before alerting (``HEDGE_FAILED``: no new
            pair, the exposure named). Past them the kernel keeps trying, alternating venues, at most
            once per ``hedge_retry_ns``.
        hedge_retry_ns: Past ``max_hedge_attempts``, the least time between two attempts, int64 ns
            (TOML: ``hedge_retry_ms``): a venue that refuses every order is not hammered into a ban.
    """

    order_timeout_ns: PositiveInt = field(name="order_timeout_ms")
    slippage_tolerance_bps: NonNegative
    order_type: Literal["ioc", "limit"] = "ioc"
    hedge_mode: Literal["hedge", "unwind"] = "hedge"
    max_hedge_attempts: Annotated[int, Meta(ge=1)] = 3
    hedge_retry_ns: PositiveInt = field(default=1_000 * NS_PER_MS, name="hedge_retry_ms")


class LegFaultRates(ConfigStruct, frozen=True):
    """``[leg_faults]`` (both venues) or ``[leg_faults.<venue>]``: what the simulated venue does to an order.

    Each order draws at most one fault; the three chances are exclusive, so their sum is at most 1.

    Attributes:
        reject: Chance the venue rejects the order (0..1).
        partial: Chance it fills only part of the order (0..1).
        partial_min: Smallest part filled, a fraction of the order's quantity (0..1).
        partial_max: Largest part filled (``partial_min``..1); the part is drawn uniformly between
            the two and rounded down to the venue's lot (a part that rounds to 0 fills nothing).
        late: Chance the order reaches the venue late (0..1).
        late_ns: How much later than ``latency.order_entry``, int64 ns (TOML: ``late_ms``, may be
            fractional); must be > 0 when ``late`` is.
    """

    reject: Fraction = 0.0
    partial: Fraction = 0.0
    partial_min: Fraction = 0.1
    partial_max: Fraction = 0.9
    late: Fraction = 0.0
    late_ns: Annotated[int, Meta(ge=0), FRACTIONAL] = field(default=0, name="late_ms")

    def _rules(self) -> None:
        total = 0.0
        for key in ("reject", "partial", "late"):
            total += getattr(self, key)
            if total > 1.0 + 1e-12:
                fail(
                    self,
                    key,
                    "expected reject + partial + late <= 1 (each order draws at most one fault), got "
                    f"{shown(self.reject)} + {shown(self.partial)} + {shown(self.late)} = "
                    f"{shown(self.reject + self.partial + self.late)}",
                )
        if self.partial_max < self.partial_min:
            fail(self, "partial_max", f"expected a value >= partial_min ({shown(self.partial_min)}), "
                  f"{got(self.partial_max)}")  # fmt: skip
        if self.late > 0 and self.late_ns == 0:
            fail(self, "late_ns", f"expected a delay > 0 when late > 0 (late = {shown(self.late)}), got 0 ms")

    @property
    def active(self) -> bool:
        """True when any fault can happen."""
        return self.reject + self.partial + self.late > 0


class LegFaultsConfig(ConfigStruct, frozen=True):
    """``[leg_faults]``: the leg-fault model the backtest and the dry run's paper executor share.

    In TOML the rate keys of :class:`LegFaultRates` written in ``[leg_faults]`` apply to both venues;
    a ``[leg_faults.binance]`` or ``[leg_faults.bybit]`` table overrides them for one venue (keys it
    leaves out keep the ``[leg_faults]`` values). All chances 0 (the default) turns the model off.

    Attributes:
        seed: Seed of the draws. An order's fault depends only on the seed and its order number, so
            the same seed faults the same orders in a backtest and in a dry run of the same data.
        hedges: Hedge and unwind orders draw faults too; by default only the legs of new pairs do.
        binance, bybit: Each venue's rates.
    """

    seed: NonNegativeInt = 0
    hedges: bool = False
    binance: LegFaultRates = LegFaultRates()
    bybit: LegFaultRates = LegFaultRates()

    @classmethod
    def same(cls, rates: LegFaultRates, *, seed: int = 0, hedges: bool = False) -> LegFaultsConfig:
        """The same rates on both venues."""
        return cls(seed=seed, hedges=hedges, binance=rates, bybit=rates)

    @property
    def venues(self) -> tuple[LegFaultRates, LegFaultRates]:
        """Both venues' rates in asset order."""
        return (self.binance, self.bybit)

    @property
    def enabled(self) -> bool:
        """True when any fault can happen on either venue."""
        return self.binance.active or self.bybit.active


class BacktestConfig(ConfigStruct, frozen=True):
    """``[backtest]``.

    Attributes:
        recordings: Folder of raw recordings and converted ``.npz`` files, resolved against the folder
            of ``arbitrage.toml`` when loaded from a file.
        out: Folder for backtest reports, resolved the same way.
        feed_latency: ``"recorded"`` uses each row's recorded ``local_ts``; ``"constant"`` replaces the
            feed latency with each venue's ``latency.feed_ms``.
        initial_equity_check: Check the starting balances against the strategy's limits before a run.
        queue_model: How hftbacktest advances a resting order's place in its price level's queue (the
            ``maker_taker`` style's quotes): ``"risk_averse"`` (the default: only trades at the price
            move it forward), ``"power"``, ``"power2"``, ``"power3"`` (a size decrease at the level is
            shared between the queue ahead and behind by ``x ** queue_power``), ``"log"``, ``"log2"``
            (by ``log(1 + x)``). Quotes fill whole once the queue ahead is gone.
        queue_power: The exponent of the ``power`` models (default 3).
        transfer_policy: How the backtest moves inventory between the venues: ``"none"`` (the default:
            never; a venue short of an asset stops the direction that needs it) or ``"threshold"``: when
            a venue's share of an asset (a symbol's base on spot, or the quote) falls below
            ``transfer_threshold``, the other venue sends what evens the two out, paying the asset's
            fee at once; it arrives the asset's delay later (docs/inventory.md).
        transfer_threshold: ``threshold``: the share of an asset's holdings (both venues' and what is
            on its way) below which a venue is sent more.
        transfer_fee_base: The fee of one transfer of a symbol's base asset, base units.
        transfer_fee_quote: The fee of one transfer of the quote asset, quote currency.
        transfer_delay_base_ns: How long a transfer of base takes to arrive, int64 ns (TOML:
            ``transfer_delay_base_s``, fractional seconds allowed).
        transfer_delay_quote_ns: The same for the quote (TOML: ``transfer_delay_quote_s``).
    """

    recordings: Path = Path("../recordings")
    out: Path = Path("../results")
    feed_latency: Literal["recorded", "constant"] = "recorded"
    initial_equity_check: bool = True
    queue_model: Literal["risk_averse", "power", "power2", "power3", "log", "log2"] = "risk_averse"
    queue_power: Annotated[float, Meta(gt=0, le=10)] = 3.0
    transfer_policy: Literal["none", "threshold"] = "none"
    transfer_threshold: Annotated[float, Meta(gt=0, lt=0.5)] = 0.25
    transfer_fee_base: NonNegative = 0.0
    transfer_fee_quote: NonNegative = 0.0
    transfer_delay_base_ns: Annotated[int, Meta(ge=0, le=7 * 86_400 * NS_PER_S), FRACTIONAL] = field(
        default=0, name="transfer_delay_base_s"
    )
    transfer_delay_quote_ns: Annotated[int, Meta(ge=0, le=7 * 86_400 * NS_PER_S), FRACTIONAL] = field(
        default=0, name="transfer_delay_quote_s"
    )


class HistoryConfig(ConfigStruct, frozen=True):
    """``[history]``: where ``arb fetch`` downloads history from, and how Bybit's archive is timed
    (``docs/data.md``).

    Attributes:
        tardis_url: Tardis.dev's datasets API (a mirror's, or a local test server's, when pointed there).
        bybit_orderbook_url: Bybit's order book archive (``.../orderbook/<market>/<SYMBOL>/...``).
        bybit_trades_url: Bybit's trade archive (``.../trading/<SYMBOL>/...``, ``.../spot/<SYMBOL>/...``).
        archive_feed_latency_ns: Bybit's archive has the exchange's time only: a row's local time is its
            exchange time plus this, int64 ns (TOML ``archive_feed_latency_ms``, may be fractional).
        downloads: Files ``arb fetch`` downloads at once (a polite few).
    """

    tardis_url: Annotated[str, Meta(extra={"urls": ("http", "https")})] = "https://datasets.tardis.dev/v1"
    bybit_orderbook_url: Annotated[str, Meta(extra={"urls": ("http", "https")})] = "https://quote-saver.bycsi.com"
    bybit_trades_url: Annotated[str, Meta(extra={"urls": ("http", "https")})] = "https://public.bybit.com"
    archive_feed_latency_ns: Annotated[int, Meta(ge=0, le=60_000 * NS_PER_MS), FRACTIONAL] = field(
        default=10 * NS_PER_MS, name="archive_feed_latency_ms"
    )
    downloads: Annotated[int, Meta(ge=1, le=8)] = 3


class DryRunConfig(ConfigStruct, frozen=True):
    """``[dry_run]``: paper trading on live or replayed data.

    Attributes:
        report_interval_ns: Time between two progress reports, int64 ns (TOML: ``report_interval_s``).
        state_dir: Folder for the paper account's state and fills, resolved like ``backtest.out``.
        replay_speed: Replay speed multiplier for ``arb dry-run`` on a recording: 1.0 is real time,
            2.0 twice as fast; must be > 0 (on the command line ``--speed max`` replays as fast as
            possible).
    """

    report_interval_ns: PositiveInt = field(default=300 * NS_PER_S, name="report_interval_s")
    state_dir: Path = Path("../paper")
    replay_speed: Positive = 1.0


class LiveConfig(ConfigStruct, frozen=True):
    """``[live]``: real orders, their journal and how unknown outcomes are found out.

    Attributes:
        state_dir: Folder of the journal (``<account>.sqlite``) and live state, resolved like
            ``backtest.out``.
        account: Name of the trading account: the journal file's name and the key of every record.
        journal_url: A database URL for the journal instead of the SQLite file, e.g.
            ``postgresql+psycopg://arb@db.example/arb`` (the password comes from ``PGPASSWORD`` or
            ``~/.pgpass``, never from this file). Empty: SQLite in ``state_dir``.
        journal_synchronous: SQLite's ``synchronous`` for the journal: ``"normal"`` (the default:
            survives a crash of arb; a power cut may lose the last commits) or ``"full"`` (each commit
            on disk; survives a power cut, and with it every intent is synced before its order goes
            out, which costs each order an fsync: turn ``intent_log`` off to use it).
        intent_log: Store each intent in a memory-mapped log before the order goes out, and commit it
            to the journal with the next flush, after the request was written (``<account>.intents``
            in ``state_dir``; on by default): no database write on the order's path, the intent
            survives a crash of arb as with ``"normal"`` (not a power cut), and a restart commits what
            the log holds before it reconciles. Needs ``journal_synchronous = "normal"`` with SQLite.
        request_timeout_ns: An order request unanswered this long is *unknown* (TOML ms).
        unknown_check_interval_ns: How often an unknown order is queried (TOML ms).
        unknown_checks: Consecutive "no such order" answers, over at least ``unknown_grace``, before
            an unknown order counts as never placed.
        unknown_grace_ns: The least time over which those answers must spread (TOML ms).
        fill_check_after_ns: An answered order whose fills have not all arrived on the user stream
            by then is checked over REST (TOML ms).
        shutdown_timeout_ns: On stop, how long to wait for orders in flight to be resolved (TOML ms).
        stop_timeout_ns: The whole clean stop's bound, from the stop signal (SIGTERM, Ctrl-C) to the
            process's exit: cancelling, resolving orders in flight (``shutdown_timeout``), the report.
            Past it the process logs what was left and exits 1 (the next start reconciles); a
            supervisor's stop timeout (systemd ``TimeoutStopSec``, compose ``stop_grace_period``) must
            be longer (TOML s).
        dead_man_window_ns: The venues' dead-man's switch while trading (Bybit disconnect-cancel-all,
            Binance USD-M countdown cancel): the venue cancels arb's open orders when arb has been
            silent this long (TOML s, 3-300; 0 turns it off).
        quotes_without_dead_man: The ``maker_taker`` style may rest quotes on a venue where no dead-man's
            switch cancels them if arb dies (Binance spot has none; a ``dead_man_window`` of 0 arms none):
            they stay on the book until a person or the next start cancels them. False (the default):
            ``arb live`` refuses to start with such quotes, naming this key.
        warm_interval_ns: While trading, each venue builds and signs a create it never sends this often,
            so the code and data of an order's way to the wire stay in the CPU's caches: a decision's
            first order otherwise runs them cold, several times slower than its second (TOML ms; 0 turns
            it off; each costs tens of microseconds of the event loop).
        gc_interval_ns: While trading, Python's garbage collector runs on this timer instead of when
            allocations cross its thresholds (which a decision's own allocations did, pausing it up to
            2 ms): the young objects every interval, older ones every tenth and thousandth (TOML ms; 0:
            Python's thresholds).
        rate_headroom: The share of any of a venue's request limits (Binance's request weight and
            order counts, a Bybit endpoint's limit) at which arb stops optional traffic to the venue
            (new pairs, new quotes, routine checks of resting quotes) until the limit's window resets,
            keeping the rest for hedges, cancels and finding out (1.0: stop only at the limit).
    """

    state_dir: Path = Path("../live")
    account: Annotated[str, Meta(pattern=r"\A[A-Za-z0-9_-]{1,40}\Z", description="letters, digits, _ and -")] = "main"
    journal_url: str = ""
    journal_synchronous: Literal["full", "normal"] = "normal"
    intent_log: bool = True
    request_timeout_ns: PositiveInt = field(default=5_000 * NS_PER_MS, name="request_timeout_ms")
    unknown_check_interval_ns: PositiveInt = field(default=500 * NS_PER_MS, name="unknown_check_interval_ms")
    unknown_checks: Annotated[int, Meta(ge=1)] = 5
    unknown_grace_ns: NonNegativeInt = field(default=10_000 * NS_PER_MS, name="unknown_grace_ms")
    fill_check_after_ns: PositiveInt = field(default=2_000 * NS_PER_MS, name="fill_check_after_ms")
    shutdown_timeout_ns: PositiveInt = field(default=10_000 * NS_PER_MS, name="shutdown_timeout_ms")
    stop_timeout_ns: Annotated[int, Meta(gt=0, le=3600 * NS_PER_S)] = field(
        default=60 * NS_PER_S, name="stop_timeout_s"
    )
    warm_interval_ns: Annotated[int, Meta(ge=0, le=60 * NS_PER_S)] = field(
        default=5 * NS_PER_MS, name="warm_interval_ms"
    )
    gc_interval_ns: Annotated[int, Meta(ge=0, le=10 * NS_PER_S)] = field(default=20 * NS_PER_MS, name="gc_interval_ms")
    dead_man_window_ns: Annotated[int, Meta(ge=0, le=300 * NS_PER_S)] = field(
        default=30 * NS_PER_S, name="dead_man_window_s"
    )
    quotes_without_dead_man: bool = False
    rate_headroom: Annotated[float, Meta(gt=0, le=1)] = 0.8

    def _rules(self) -> None:
        if 0 < self.dead_man_window_ns < 3 * NS_PER_S:
            fail(
                self,
                "dead_man_window_ns",
                f"expected 0 (off) or 3 to 300 seconds, got {self.dead_man_window_ns / NS_PER_S:g} s",
            )
        if self.stop_timeout_ns <= self.shutdown_timeout_ns:
            fail(
                self,
                "stop_timeout_ns",
                f"expected more than shutdown_timeout_ms ({self.shutdown_timeout_ns / NS_PER_S:g} s: the clean stop "
                f"resolves orders in flight first), got {self.stop_timeout_ns / NS_PER_S:g} s",
            )
        if self.intent_log and not self.journal_url and self.journal_synchronous == "full":
            fail(
                self,
                "intent_log",
                'expected false with journal_synchronous = "full": the log survives a crash of arb, not a power '
                'cut, which "full" promises (set intent_log = false to sync every intent before its order, or '
                'journal_synchronous = "normal" to keep the log, the default)',
            )
        if self.journal_url and "://" not in self.journal_url:
            expected = "expected a database URL like postgresql+psycopg://user@host/db"
            fail(self, "journal_url", f"{expected}, {got(self.journal_url)}")
        if "@" in self.journal_url and ":" in self.journal_url.split("://", 1)[-1].split("@", 1)[0]:
            fail(self, "journal_url", "expected no password in the URL: set PGPASSWORD or use ~/.pgpass")


class OpsConfig(ConfigStruct, frozen=True):
    """``[ops]``: what a running ``arb record``, ``arb dry-run`` or ``arb live`` shows while it runs.

    One HTTP server (its own thread) serves the Prometheus metrics on ``/metrics`` and the live
    dashboard on ``/``; the trading loop only publishes snapshots for them (see ``docs/monitoring.md``).

    Attributes:
        enabled: Serve ``/metrics`` and the dashboard at all.
        host: The address to listen on; ``127.0.0.1`` (the default) keeps it on this machine. Anything
            else is logged as a warning: the page has no login.
        port: The TCP port; 0 picks a free one (printed at start).
        metrics: Serve ``/metrics``.
        dashboard: Serve the dashboard (``/``, ``/events``, ``/api/v1/status``).
        snapshot_ns: How often the loop publishes a snapshot (TOML ``snapshot_ms``).
        history: Snapshots kept for the dashboard's charts (at ``snapshot_ms`` each).
        daily_report: A running dry run or live session writes the day's HTML report at each UTC day
            boundary (into its ``state_dir``/reports).
        health_max_age_ns: ``/healthz`` answers 503 when the trading loop's latest snapshot is older
            than this (the loop is stuck or gone); a few ``snapshot_ms`` at least (TOML
            ``health_max_age_ms``).
    """

    enabled: bool = True
    host: str = "127.0.0.1"
    port: Annotated[int, Meta(ge=0, le=65_535)] = 8321
    metrics: bool = True
    dashboard: bool = True
    snapshot_ns: Annotated[int, Meta(ge=10 * NS_PER_MS, le=60_000 * NS_PER_MS)] = field(
        default=500 * NS_PER_MS, name="snapshot_ms"
    )
    history: Annotated[int, Meta(ge=10, le=1_000_000)] = 3600
    daily_report: bool = True
    health_max_age_ns: Annotated[int, Meta(ge=100 * NS_PER_MS, le=3_600_000 * NS_PER_MS)] = field(
        default=10_000 * NS_PER_MS, name="health_max_age_ms"
    )

    def _rules(self) -> None:
        if not self.host or any(c.isspace() for c in self.host):
            fail(self, "host", f"expected an address to listen on such as 127.0.0.1, {got(self.host)}")
        if self.health_max_age_ns < 2 * self.snapshot_ns:
            fail(
                self,
                "health_max_age_ns",
                f"expected at least twice snapshot_ms ({2 * self.snapshot_ns / NS_PER_MS:g} ms: a snapshot comes "
                f"every snapshot_ms), got {self.health_max_age_ns / NS_PER_MS:g} ms",
            )


class TelegramChannel(ConfigStruct, frozen=True):
    """``[alerts.telegram]``: messages through a Telegram bot (off while ``token`` is unset).

    Attributes:
        token: The bot's token, ``"${ARB_TELEGRAM_TOKEN}"``: from the environment only.
        chat_id: The chat to write to.
        base_url: The Bot API's address (a local fake in tests).
        route: ``"all"`` alerts, or only ``"critical"`` ones (a second bot can take the rest).
        min_interval_ns: The least time between two messages to the chat; Telegram allows about one a
            second per chat (TOML ``min_interval_ms``).
        timeout_ns: A request unanswered this long is given up and retried (TOML ``timeout_ms``).
        commands: Obey commands from ``chat_id`` (``/status``; ``/kill`` then ``/kill confirm``: the
            kill switch of a running ``arb live``), read by long polling ``getUpdates``. Off by default:
            a bot that takes commands must be one only its owner can write to.
    """

    token: Secret | None = None
    chat_id: str = ""
    base_url: Annotated[str, Meta(extra={"urls": ("http", "https")})] = "https://api.telegram.org"
    route: Literal["all", "critical"] = "all"
    min_interval_ns: NonNegativeInt = field(default=1_000 * NS_PER_MS, name="min_interval_ms")
    timeout_ns: PositiveInt = field(default=10_000 * NS_PER_MS, name="timeout_ms")
    commands: bool = False

    def _rules(self) -> None:
        if self.token is not None and not self.chat_id:
            fail(self, "chat_id", "expected the chat to write to when a token is set, got none")

    @property
    def enabled(self) -> bool:
        return self.token is not None


class WebhookChannel(ConfigStruct, frozen=True):
    """``[alerts.webhook]``: a JSON POST carrying ``text`` and ``content`` (Slack and Discord take it).

    Attributes:
        url: The webhook's address, ``"${ARB_WEBHOOK_URL}"`` (it is a credential: from the environment).
        route, min_interval_ns, timeout_ns: As for Telegram.
    """

    url: Secret | None = None
    route: Literal["all", "critical"] = "all"
    min_interval_ns: NonNegativeInt = field(default=1_000 * NS_PER_MS, name="min_interval_ms")
    timeout_ns: PositiveInt = field(default=10_000 * NS_PER_MS, name="timeout_ms")

    @property
    def enabled(self) -> bool:
        return self.url is not None


class EmailChannel(ConfigStruct, frozen=True):
    """``[alerts.email]``: mail through an SMTP server (off while ``to`` is empty).

    Attributes:
        host, port: The SMTP server.
        sender: The From address.
        to: The recipients.
        username: The login, if the server wants one; ``password`` from the environment.
        starttls: Upgrade the connection with STARTTLS (``tls`` for implicit TLS on 465).
        route, min_interval_ns, timeout_ns: As for Telegram.
    """

    host: str = "localhost"
    port: Annotated[int, Meta(ge=1, le=65_535)] = 587
    sender: str = "arb@localhost"
    to: tuple[str, ...] = ()
    username: str = ""
    password: Secret | None = None
    security: Literal["starttls", "tls", "none"] = "starttls"
    route: Literal["all", "critical"] = "critical"
    min_interval_ns: NonNegativeInt = field(default=10_000 * NS_PER_MS, name="min_interval_ms")
    timeout_ns: PositiveInt = field(default=30_000 * NS_PER_MS, name="timeout_ms")

    def _rules(self) -> None:
        for address in (self.sender, *self.to):
            if "@" not in address:
                key = "sender" if address == self.sender else "to"
                fail(self, key, f"expected an email address, {got(address)}")

    @property
    def enabled(self) -> bool:
        return bool(self.to)


class AlertsConfig(ConfigStruct, frozen=True):
    """``[alerts]``: messages to a phone when something needs a person (``docs/monitoring.md``).

    Attributes:
        enabled: Send alerts at all (a channel without its credential is off by itself).
        cooldown_ns: The same alert (kind, venue, symbol) is sent once per this; its "resolved"
            message always goes (TOML ``cooldown_s``).
        queue_size: Alerts waiting to be sent; past it the newest are dropped and counted.
        stale_after_ns: A venue disconnected or stale this long is alerted (TOML ``stale_after_s``).
        resync_burst: This many book resyncs of one venue within ``resync_window`` is alerted.
        resync_window_ns: (TOML ``resync_window_s``).
        abnormal_spread_bps: A spread (either direction, at the touch) beyond this is alerted; 0 off.
        abnormal_spread_sigma: A spread this many standard deviations from its recent mean (over
            the dashboard's history) is alerted; 0 off.
        disk_free_min_mb: Free space left where recordings go below this is alerted.
        order_ack_p99_ns: A venue whose order round trips' 99th percentile over
            ``order_ack_window`` is above this is alerted; 0 off (TOML ``order_ack_p99_ms``).
        order_ack_window_ns: (TOML ``order_ack_window_s``).
        rss_max_mb: The process's resident memory above this is alerted; 0 off.
        daily_summary: Send the day's figures at each UTC day boundary.
    """

    enabled: bool = True
    cooldown_ns: NonNegativeInt = field(default=300 * NS_PER_S, name="cooldown_s")
    queue_size: Annotated[int, Meta(ge=1, le=100_000)] = 256
    stale_after_ns: PositiveInt = field(default=10 * NS_PER_S, name="stale_after_s")
    resync_burst: Annotated[int, Meta(ge=1)] = 5
    resync_window_ns: PositiveInt = field(default=60 * NS_PER_S, name="resync_window_s")
    abnormal_spread_bps: NonNegative = 100.0
    abnormal_spread_sigma: NonNegative = 0.0
    disk_free_min_mb: NonNegative = 1024.0
    order_ack_p99_ns: Annotated[int, Meta(ge=0), FRACTIONAL] = field(default=500 * NS_PER_MS, name="order_ack_p99_ms")
    order_ack_window_ns: PositiveInt = field(default=300 * NS_PER_S, name="order_ack_window_s")
    rss_max_mb: NonNegative = 0.0
    daily_summary: bool = True
    telegram: TelegramChannel = TelegramChannel()
    webhook: WebhookChannel = WebhookChannel()
    email: EmailChannel = EmailChannel()


class VenueFiles(ConfigStruct, frozen=True):
    """``[venues]``: the venue files, relative to the folder of ``arbitrage.toml``."""

    binance: Path = Path("binance.toml")
    bybit: Path = Path("bybit.toml")
