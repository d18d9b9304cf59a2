"""The sections of ``arbitrage.toml``: ``[strategy]``, ``[risk]``, ``[execution]``, ``[leg_faults]``,
``[backtest]``, ``[dry_run]``, ``[live]``, ``[ops]``, ``[alerts]``, ``[history]`` and ``[venues]``.

Each is a frozen :class:`~arb.config.fields.ConfigStruct`: a field's type says what it accepts (see
:mod:`arb.config.fields`), ``_rules`` checks what involves several fields. Times are int64 nanoseconds
in code and carry their unit in the TOML key (``cooldown_ms``). Every key's meaning, unit, default
and range is written once, in ``docs/configuration.md`` (``tests/unit/test_docs.py`` keeps every key
there); the docstrings here add only what that page does not say.
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
    "WebhookChannel",
    "kernel_parts",
    "quote_currency",
]

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Final, Literal, get_args

from msgspec import Meta, field
from msgspec.structs import force_setattr

from arb.catalog import default_venues, known_venues, venue_facts
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
from arb.events import MAX_VENUES, NS_PER_MS, NS_PER_S

_HOUR: Final = 3600 * NS_PER_S
_QUOTE_CURRENCIES: Final = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "USD", "EUR", "BTC", "ETH", "BNB")
_SYMBOL: Final = r"\A[A-Z0-9]+\Z"
_VenueName = Annotated[
    str, Meta(pattern=r"\A[a-z][a-z0-9_]*\Z", description="a venue's name: lower-case letters, digits and _")
]
_VENUE_LIST: Final = Meta(extra={"names": "venue names", "example": json.dumps(list(default_venues()[:1]))})
_RUN_VENUES: Final = Meta(extra={"names": "venue names", "example": json.dumps(list(default_venues()))})
_SYMBOL_DOC: Final = 'upper-case letters and digits, e.g. "BTCUSDT"'
_SYMBOL_MISSING: Final = (
    'expected symbol = "BTCUSDT" (upper-case letters and digits) or symbols = ["BTCUSDT", "ETHUSDT"]'
)


_Style = Literal["taker", "maker_taker"]
_STYLES: Final = get_args(_Style)
"""The built-in strategies ``[strategy] style`` (and ``kernel``) may name."""
_KERNEL_FORMS: Final = (
    f'"package.module:Name", "path/to/file.py:Name" or a built-in strategy ({", ".join(map(json.dumps, _STYLES))})'
)


def kernel_parts(spec: str) -> tuple[str, str, bool]:
    """``[strategy] kernel`` split into (what holds the strategy, the object's name, whether the first is a
    file): ``"pkg.mod:ZScore"`` -> ``("pkg.mod", "ZScore", False)``, ``"strategies/z.py:ZScore"`` ->
    ``("strategies/z.py", "ZScore", True)``; a built-in's name (``"taker"``) -> ``("taker", "", False)``.
    A target is a file when it ends in ``.py`` or holds a path separator."""
    target, colon, name = spec.rpartition(":")
    if not colon:
        return spec, "", False
    return target, name, target.endswith(".py") or "/" in target or "\\" in target


def _kernel_problem(spec: str) -> str | None:
    # What is wrong with the spelling of [strategy] kernel (None: nothing); whether it loads is arb.strategy's.
    target, name, is_file = kernel_parts(spec)
    if not spec:
        return None
    if not name:
        return None if target in _STYLES else ""
    if not target or not name.isidentifier():
        return ""
    if not is_file and not all(part.isidentifier() for part in target.split(".")):
        return ""
    return None


def quote_currency(symbol: str) -> str:
    """The quote currency a symbol ends in (``BTCUSDT`` -> ``USDT``), or ``"quote"`` when unknown."""
    for quote in _QUOTE_CURRENCIES:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return quote
    return "quote"


class StrategyConfig(ConfigStruct, frozen=True):
    """``[strategy]``: what the kernel trades and when.

    ``symbols`` always lists every symbol traded, ``symbol`` first (filled in from ``symbol`` when the
    file gives only that); all share one quote currency, as each venue has one quote balance. The other
    keys are every symbol's defaults; ``[symbols.<SYMBOL>]`` overrides them.
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
    style: _Style = "taker"
    kernel: str = ""
    """The run's strategy (``"package.module:Name"``, ``"path/to/file.py:Name"`` or a built-in's name); empty:
    the built-in ``style`` names. A relative file is made absolute when the file is read (against its
    folder; on the command line against the current one)."""
    params: Mapping[str, Any] = field(default_factory=dict)
    """``[strategy.params]``, as written: the strategy's own parameters, checked against its ``params``
    struct by :mod:`arb.strategy.loading` (this layer knows no strategy)."""
    maker_venues: Annotated[tuple[_VenueName, ...], _VENUE_LIST] = ()
    venues: Annotated[tuple[_VenueName, ...], _RUN_VENUES] = ()
    quote_size: NonNegative = 0.0
    quote_tolerance_bps: NonNegative = 1.0
    min_quote_life_ns: NonNegativeInt = field(default=100 * NS_PER_MS, name="min_quote_life_ms")
    quote_hold_ns: Annotated[int, Meta(ge=NS_PER_MS, le=3_600 * NS_PER_S)] = field(
        default=NS_PER_S, name="quote_hold_ms"
    )
    inventory_skew_bps: Annotated[float, Meta(ge=0, le=10_000)] = 0.0

    def _rules(self) -> None:
        self._venue_rules()
        if _kernel_problem(self.kernel) is not None:
            fail(self, "kernel", f"expected {_KERNEL_FORMS}, {got(self.kernel)}")
        if not isinstance(self.params, Mapping) or not all(isinstance(key, str) for key in self.params):
            fail(self, "params", f"expected a table [strategy.params] of the strategy's parameters, {got(self.params)}")
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

    def _venue_rules(self) -> None:
        # ``venues``: two to MAX_VENUES of the venues arb knows, each once (left out: the default run's);
        # ``maker_venues``: some of them (left out: the first; the loader refuses an empty list written)
        known = known_venues()
        venues = self.venues or default_venues()
        unknown = [name for name in venues if name not in known]
        if unknown:
            fail(self, "venues", f"expected venues arb knows ({', '.join(known)}), got {', '.join(unknown)}")
        if not 2 <= len(venues) <= MAX_VENUES or len(set(venues)) != len(venues):
            fail(self, "venues", f"expected 2 to {MAX_VENUES} different venues, e.g. {json.dumps(list(known[:2]))}, "
                 f"got {json.dumps(list(venues))}")  # fmt: skip
        force_setattr(self, "venues", tuple(venues))
        makers = self.maker_venues or (venues[0],)
        strangers = [name for name in makers if name not in venues]
        if strangers:
            fail(self, "maker_venues", f"expected venues of the run ([strategy] venues: {', '.join(venues)}), "
                 f"got {', '.join(strangers)}")  # fmt: skip
        force_setattr(self, "maker_venues", tuple(makers))

    @property
    def venue_names(self) -> tuple[str, ...]:
        """The run's venues, in their order (a venue's number is its place here)."""
        return self.venues or ()


class RiskConfig(ConfigStruct, frozen=True):
    """``[risk]``: limits the risk gate enforces whatever the strategy asks for.

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
    """``[execution]``: how intents become orders."""

    order_timeout_ns: PositiveInt = field(name="order_timeout_ms")
    slippage_tolerance_bps: NonNegative
    order_type: Literal["ioc", "limit"] = "ioc"
    hedge_mode: Literal["hedge", "unwind"] = "hedge"
    max_hedge_attempts: Annotated[int, Meta(ge=1)] = 3
    hedge_retry_ns: PositiveInt = field(default=1_000 * NS_PER_MS, name="hedge_retry_ms")


class LegFaultRates(ConfigStruct, frozen=True):
    """``[leg_faults]`` (every venue) or ``[leg_faults.<venue>]``: what the simulated venue does to an order.

    Each order draws at most one fault; the three chances are exclusive, so their sum is at most 1.
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

    In TOML the rate keys of :class:`LegFaultRates` written in ``[leg_faults]`` apply to every venue; a
    ``[leg_faults.<venue>]`` table overrides them for one venue of the run (keys it leaves out keep the
    ``[leg_faults]`` values). All chances 0 (the default) turns the model off. An order's fault depends
    only on ``seed`` and its order number, so the same seed faults the same orders in a backtest and in a
    dry run of the same data. ``venues`` holds each venue's rates, by name, as the loader merged them;
    a venue it leaves out draws no fault.
    """

    seed: NonNegativeInt = 0
    hedges: bool = False
    venues: Mapping[str, LegFaultRates] = field(default_factory=dict)

    @classmethod
    def same(
        cls, rates: LegFaultRates, venues: Sequence[str] | None = None, *, seed: int = 0, hedges: bool = False
    ) -> LegFaultsConfig:
        """The same rates on every venue of ``venues`` (default: the default run's)."""
        names = default_venues() if venues is None else venues
        return cls(seed=seed, hedges=hedges, venues=dict.fromkeys(names, rates))

    def rates(self, venue: str) -> LegFaultRates:
        """Venue ``venue``'s rates (none: no fault)."""
        return self.venues.get(venue, _NO_FAULTS)

    @property
    def enabled(self) -> bool:
        """True when any fault can happen on any venue."""
        return any(rates.active for rates in self.venues.values())


_NO_FAULTS: Final = LegFaultRates()


class BacktestConfig(ConfigStruct, frozen=True):
    """``[backtest]``: paths resolve against the folder of ``arbitrage.toml`` when loaded from a file."""

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
    """``[history]``: where ``arb fetch`` downloads history from, and how a venue's own archive (one
    without receive times) is timed (``docs/data.md``). A venue's archive servers default to its facts
    (``[archives]`` of its ``venue.toml``); ``[history] <venue>_<kind>_url`` names another
    (``archives``, by that key).
    """

    tardis_url: Annotated[str, Meta(extra={"urls": ("http", "https")})] = "https://datasets.tardis.dev/v1"
    archives: Mapping[str, str] = field(default_factory=dict)
    archive_feed_latency_ns: Annotated[int, Meta(ge=0, le=60_000 * NS_PER_MS), FRACTIONAL] = field(
        default=10 * NS_PER_MS, name="archive_feed_latency_ms"
    )
    downloads: Annotated[int, Meta(ge=1, le=8)] = 3

    _not_in_file = frozenset({"archives"})

    def _rules(self) -> None:
        for key, url in self.archives.items():
            venue = next((name for name in known_venues() if key.startswith(name + "_")), None)
            kinds = venue_facts(venue).archives if venue is not None else {}
            if key.removeprefix(f"{venue}_") not in kinds:
                allowed = [f"{name}_{kind}" for name in known_venues() for kind in venue_facts(name).archives]
                fail(self, key, f"expected one of {', '.join(allowed) or 'no key'} (a venue's archive)")
            scheme, _, rest = url.partition("://") if isinstance(url, str) else ("", "", "")
            if scheme not in ("http", "https") or not rest:
                fail(self, key, f"expected an http:// or https:// URL, {got(url)}")

    def archive_url(self, venue: str, kind: str) -> str:
        """Where venue ``venue``'s archive of ``kind`` (``"orderbook"``, ``"trades"``) is served: the
        setting, else the venue's facts; raises ``KeyError`` when the venue has no such archive."""
        key = f"{kind}_url"
        return self.archives.get(f"{venue}_{key}") or venue_facts(venue).archives[key]


class DryRunConfig(ConfigStruct, frozen=True):
    """``[dry_run]``: paper trading on live or replayed data."""

    report_interval_ns: PositiveInt = field(default=300 * NS_PER_S, name="report_interval_s")
    state_dir: Path = Path("../paper")
    replay_speed: Positive = 1.0


class LiveConfig(ConfigStruct, frozen=True):
    """``[live]``: real orders, their journal and how unknown outcomes are found out."""

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
    daily_reports_kept: Annotated[int, Meta(ge=0, le=100_000)] = 0
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
    """``[alerts.telegram]``: messages through a Telegram bot (off while ``token`` is unset)."""

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
    """``[alerts.webhook]``: a JSON POST carrying ``text`` and ``content`` (Slack and Discord take it)."""

    url: Secret | None = None
    route: Literal["all", "critical"] = "all"
    min_interval_ns: NonNegativeInt = field(default=1_000 * NS_PER_MS, name="min_interval_ms")
    timeout_ns: PositiveInt = field(default=10_000 * NS_PER_MS, name="timeout_ms")

    @property
    def enabled(self) -> bool:
        return self.url is not None


class EmailChannel(ConfigStruct, frozen=True):
    """``[alerts.email]``: mail through an SMTP server (off while ``to`` is empty)."""

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
    """``[alerts]``: messages to a phone when something needs a person (``docs/monitoring.md``)."""

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
