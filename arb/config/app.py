"""The whole configuration, :class:`AppConfig`, and what it computes from its parts: each traded
symbol with its ``[symbols.<SYMBOL>]`` overrides applied (:class:`SymbolConfig`), a configuration for
one symbol alone (:meth:`AppConfig.for_symbol`) and a copy with settings changed in code
(:meth:`AppConfig.with_overrides`), each checked by the same rules as a file."""

from __future__ import annotations

__all__ = [
    "SYMBOL_INSTRUMENT_KEYS",
    "SYMBOL_RISK_KEYS",
    "SYMBOL_SIZE_KEYS",
    "SYMBOL_STRATEGY_KEYS",
    "AppConfig",
    "SymbolConfig",
    "SymbolOverrides",
]

import difflib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import msgspec
from msgspec import field
from msgspec.structs import force_setattr, replace

from arb.config.fields import CodeConfigError, ConfigStruct, fail, got, is_number, toml_path
from arb.config.rebalance import RebalanceConfig, held_assets
from arb.config.sections import (
    AlertsConfig,
    BacktestConfig,
    DryRunConfig,
    ExecutionConfig,
    HistoryConfig,
    LegFaultsConfig,
    LiveConfig,
    OpsConfig,
    RiskConfig,
    StrategyConfig,
)
from arb.config.venue import Instrument, VenueConfig
from arb.errors import ConfigError
from arb.formats import jsonable

_OVERRIDES_FILE: Final = "<overrides>"


SYMBOL_STRATEGY_KEYS: Final = (
    "min_spread_bps",
    "max_order_size",
    "max_position_size",
    "rebalance_threshold",
    "cooldown_ns",
    "funding_horizon_ns",
    "close_before_funding_ns",
)
"""The ``[strategy]`` fields a ``[symbols.<SYMBOL>]`` table may override."""
SYMBOL_RISK_KEYS: Final = (
    "position_limit",
    "max_notional_per_venue",
    "stop_loss_bps",
    "max_pair_loss",
    "max_pairs_per_day",
    "min_pair_interval_ns",
    "max_imbalance_hold_ns",
)
"""The ``[risk]`` fields that hold per symbol, which a ``[symbols.<SYMBOL>]`` table may override."""
SYMBOL_SIZE_KEYS: Final = ("max_order_size", "max_position_size", "rebalance_threshold", "position_limit")
"""Quantities in base units: every symbol after the first must give its own (BTC sizes are no ETH sizes)."""
SYMBOL_INSTRUMENT_KEYS: Final = ("tick_size", "lot_size", "min_qty", "min_notional", "contract_size")
"""The ``[instrument]`` fields of a ``[symbols.<SYMBOL>.<venue>]`` table; it may also set ``base``."""


class SymbolOverrides(msgspec.Struct, frozen=True):
    """``[symbols.<SYMBOL>]``: what one symbol changes from the defaults (field names, times in ns).

    Attributes:
        strategy: ``[strategy]`` fields (:data:`SYMBOL_STRATEGY_KEYS`) and their values for this symbol.
        risk: Per-symbol ``[risk]`` fields (:data:`SYMBOL_RISK_KEYS`).
        venues: ``[symbols.<SYMBOL>.<venue>]`` by venue name: the symbol's trading rules on that venue
            (:data:`SYMBOL_INSTRUMENT_KEYS`) and ``base``, its starting holdings there (spot).
    """

    strategy: Mapping[str, Any] = field(default_factory=dict)
    risk: Mapping[str, Any] = field(default_factory=dict)
    venues: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def venue(self, name: str) -> Mapping[str, Any]:
        """The table of venue ``name`` (empty when the symbol changes nothing there)."""
        return self.venues.get(name, {})


class SymbolConfig(msgspec.Struct, frozen=True):
    """One traded symbol with every default and override resolved.

    Attributes:
        name: The symbol (``"ETHUSDT"``).
        index: Its place in ``strategy.symbols`` (the symbol number in every per-symbol array).
        strategy: ``[strategy]`` for this symbol (``symbol`` and ``symbols`` name it alone).
        risk: ``[risk]`` with this symbol's per-symbol limits (the account-wide ones are the same for all).
        instruments: The symbol's trading rules per venue, in the run's venue order.
        base: Its starting holdings per venue, base units (spot; 0 on linear).
    """

    name: str
    index: int
    strategy: StrategyConfig
    risk: RiskConfig
    instruments: tuple[Instrument, ...]
    base: tuple[float, ...]


class AppConfig(ConfigStruct, frozen=True):
    """The whole configuration: ``arbitrage.toml`` (``path``, resolved, and its sections) and the venue
    file of every venue of the run (``venues``, in ``[strategy] venues`` order: a venue's number is its
    place there), whose ``[instrument]`` and ``[account] base`` describe the first symbol.
    ``symbol_overrides`` holds the ``[symbols.<SYMBOL>]`` tables by symbol; ``symbols`` is computed: every
    symbol resolved (:class:`SymbolConfig`), in ``strategy.symbols`` order.
    """

    path: Path
    strategy: StrategyConfig
    risk: RiskConfig
    execution: ExecutionConfig
    backtest: BacktestConfig
    dry_run: DryRunConfig
    venues: tuple[VenueConfig, ...]
    live: LiveConfig = LiveConfig()
    leg_faults: LegFaultsConfig = LegFaultsConfig()
    ops: OpsConfig = OpsConfig()
    alerts: AlertsConfig = AlertsConfig()
    history: HistoryConfig = HistoryConfig()
    rebalance: RebalanceConfig = RebalanceConfig()
    symbol_overrides: Mapping[str, SymbolOverrides] = field(default_factory=dict)
    symbols: tuple[SymbolConfig, ...] = ()

    _not_in_file = frozenset({"path", "venues", "symbol_overrides", "symbols"})
    _computed = frozenset({"symbols"})

    def _rules(self) -> None:
        names = self.strategy.venue_names
        if not isinstance(self.venues, tuple) or not all(isinstance(v, VenueConfig) for v in self.venues):
            fail(self, "venues", f"expected a VenueConfig per venue of the run, {got(self.venues)}")
        have = tuple(v.name for v in self.venues)
        if have != names:
            fail(self, "venues", f"expected the venue files of {', '.join(names)} ([strategy] venues), in that "
                 f"order, got {', '.join(have) or 'none'}")  # fmt: skip
        force_setattr(self, "symbols", tuple(_resolve_symbols(self)))
        _check_isolated_margin(self)
        _check_auto_rebalance(self)

    def for_symbol(self, s: int) -> AppConfig:
        """This configuration as if symbol number ``s`` were the only one: its ``[strategy]``, its
        per-symbol ``[risk]``, and each venue's ``[instrument]`` and ``[account] base`` for it (the
        venues' quote balances stay the account's). What per-symbol code (the kernel's parameters,
        the venue's order checks) reads."""
        sym = self.symbols[s]
        venues = tuple(
            replace(
                venue,
                instrument=sym.instruments[v],
                account=replace(venue.account, base=sym.base[v]),
            )
            for v, venue in enumerate(self.venues)
        )
        return replace(self, strategy=sym.strategy, risk=sym.risk, venues=venues, symbol_overrides={})

    def as_traded(self) -> AppConfig:
        """This configuration as ``arb live`` reads it: each venue's market data from the network its
        orders go to (:meth:`VenueConfig.as_traded`); ``data_network`` is for the dry run and the recorder."""
        traded = tuple(venue.as_traded() for venue in self.venues)
        if all(a is b for a, b in zip(traded, self.venues, strict=True)):
            return self
        return replace(self, venues=traded)

    @property
    def symbol_names(self) -> tuple[str, ...]:
        """Every traded symbol, in order."""
        return self.strategy.symbols

    @property
    def venue_names(self) -> tuple[str, ...]:
        """The run's venues by name, in their order (``[strategy] venues``)."""
        return tuple(venue.name for venue in self.venues)

    def venue(self, name: str) -> VenueConfig:
        """The venue file of venue ``name`` of the run; raises ``KeyError`` naming the run's venues."""
        for venue in self.venues:
            if venue.name == name:
                return venue
        raise KeyError(f"{name!r} is not a venue of this run ([strategy] venues: {', '.join(self.venue_names)})")

    def venue_index(self, name: str) -> int:
        """The number of venue ``name`` in the run (its place in ``[strategy] venues``); ``KeyError`` if none."""
        names = self.venue_names
        if name not in names:
            raise KeyError(f"{name!r} is not a venue of this run ([strategy] venues: {', '.join(names)})")
        return names.index(name)

    def at(self, dotted: str) -> Any:
        """The section or value at field path ``dotted`` (``risk``, ``<venue>.latency``,
        ``leg_faults.<venue>``), as :meth:`with_overrides` names it; raises ``AttributeError`` or
        ``KeyError`` when there is none."""
        head, _, rest = dotted.partition(".")
        if head in self.venue_names:
            found: Any = self.venue(head)
        elif head == "leg_faults" and rest.partition(".")[0] in self.venue_names:
            venue, _, rest = rest.partition(".")
            found = self.leg_faults.rates(venue)
        else:
            found = getattr(self, head)
        for part in rest.split(".") if rest else ():
            found = getattr(found, part)
        return found

    def to_dict(self) -> dict[str, Any]:
        """The configuration as JSON-serialisable data for reports.

        Keys are the field names (times in ``*_ns``), paths are strings and secrets are redacted to
        ``"${NAME}"`` or ``"***"``. Each venue's file is under its name, as the files and ``--set`` name
        them (``"<venue>": {...}``); ``strategy.venues`` gives their order.
        """
        out = typing.cast(dict[str, Any], jsonable(self))
        del out["venues"]
        return {**out, **{venue.name: venue.to_dict() for venue in self.venues}}

    def with_overrides(self, overrides: Mapping[str, Any]) -> AppConfig:
        """Return a copy with dotted fields replaced, validated like a loaded file.

        Keys are field paths, times in ns; a venue's fields start with its name:
        ``cfg.with_overrides({"strategy.min_spread_bps": 2.0, "<venue>.feed.stale_after_ns": 10**9})``.
        Raises ``ConfigError("<overrides>", key, expected)`` for an unknown field or a bad value.
        """
        config = self
        for dotted, value in overrides.items():
            head, _, rest = dotted.partition(".")
            venue_name, _, field_path = rest.partition(".")
            if head == "leg_faults" and venue_name in config.venue_names:  # a venue's rates, or one of them
                faults = config.leg_faults
                rates = _replace_path(faults.rates(venue_name), field_path.split("."), value, dotted,
                                      f"leg_faults.{venue_name}.") if field_path else value  # fmt: skip
                config = _replace_path(config, ["leg_faults", "venues"], {**faults.venues, venue_name: rates}, dotted)
            elif head in config.venue_names:  # a venue's field, or (no field) its whole VenueConfig
                v = config.venue_index(head)
                venue = _replace_path(config.venues[v], rest.split("."), value, dotted, head + ".") if rest else value
                config = _replace_path(config, ["venues"], (*config.venues[:v], venue, *config.venues[v + 1 :]), dotted)
            else:
                config = _replace_path(config, dotted.split("."), value, dotted)
        return config


def _check_isolated_margin(config: AppConfig) -> None:
    # An isolated position's margin is its value over the leverage, so its liquidation lies about
    # 1/leverage - maintenance rate from the entry whatever its size: a larger limit refuses every pair.
    wanted = config.risk.min_liquidation_distance
    for venue in config.venues:
        perp = venue.perpetual
        if wanted <= 0.0 or venue.market != "linear" or perp.margin_mode != "isolated":
            continue
        room = 1.0 / perp.leverage - perp.maintenance_margin_rate
        if wanted > room:
            fail(config, "risk.min_liquidation_distance", f"expected at most {room:.4g}: {venue.name}'s "
                  f"isolated margin at leverage {perp.leverage} (maintenance margin rate "
                  f"{perp.maintenance_margin_rate:g}) puts liquidation about 1/leverage - rate = {room:.4g} "
                  f"from the entry, so every pair would be refused; got {wanted:g}")  # fmt: skip


def _check_auto_rebalance(config: AppConfig) -> None:
    # arb live withdrawing by itself: within a daily limit of every asset it may move, never without one
    settings = config.rebalance
    assets = held_assets(config.symbol_names)
    missing = [a for a in assets if a not in settings.daily_limit]
    if settings.auto and missing:
        fail(config, "rebalance.daily_limit", f"expected a limit for {', '.join(missing)} with auto = true (the "
             f"most arb live withdraws by itself in 24 hours), e.g. daily_limit = "
             f"{{ {', '.join(f'{a} = ...' for a in assets)} }}")  # fmt: skip


def _resolve_symbols(config: AppConfig) -> list[SymbolConfig]:
    # Each symbol of [strategy] symbols with its [symbols.<SYMBOL>] table applied. A mistake is a
    # CodeConfigError naming the key as the file spells it: symbols.ETHUSDT.binance.tick_size.
    strategy, risk = config.strategy, config.risk
    names = strategy.symbols
    for name, overrides in config.symbol_overrides.items():
        if name not in names:
            fail(config, f"symbols.{name}", f"expected a table for one of the symbols traded "
                  f"([strategy] symbols: {', '.join(names)}), got {name}")  # fmt: skip
        if not isinstance(overrides, SymbolOverrides):
            fail(config, f"symbols.{name}", f"expected a SymbolOverrides, {got(overrides)}")
    out: list[SymbolConfig] = []
    for i, name in enumerate(names):
        ov = config.symbol_overrides.get(name, SymbolOverrides())
        at = f"symbols.{name}."
        for keys, allowed in ((ov.strategy, SYMBOL_STRATEGY_KEYS), (ov.risk, SYMBOL_RISK_KEYS)):
            for key in keys:
                if key not in allowed:
                    fail(config, at + key, f"expected one of {', '.join(allowed)}")
        if i > 0:
            given = {*ov.strategy, *ov.risk}
            for key in SYMBOL_SIZE_KEYS:
                if key not in given:
                    fail(config, at + key, f"missing required key: a quantity in {name}'s base units "
                          f"(sizes do not carry over from {names[0]})")  # fmt: skip
        sym_strategy = _replaced(config, at, strategy, {"symbol": name, "symbols": (name,), **ov.strategy})
        sym_risk = _replaced(config, at, risk, dict(ov.risk))
        instruments: list[Instrument] = []
        base: list[float] = []
        for venue in config.venues:
            table = dict(ov.venue(venue.name))
            vat = f"{at}{venue.name}."
            for key in table:
                if key not in (*SYMBOL_INSTRUMENT_KEYS, "base"):
                    fail(config, vat + key, f"expected one of {', '.join((*SYMBOL_INSTRUMENT_KEYS, 'base'))}")
            held = table.pop("base", None)
            if i == 0:
                instrument = _replaced(config, vat, venue.instrument, table)
                held = venue.account.base if held is None else held
            else:
                for key in ("tick_size", "lot_size"):
                    if key not in table:
                        fail(config, vat + key, f"missing required key: {name}'s {key.replace('_', ' ')} on "
                              f"{venue.name} (the venue file's [instrument] describes {names[0]})")  # fmt: skip
                table.setdefault("min_qty", table["lot_size"])
                table.setdefault("min_notional", venue.instrument.min_notional)
                table.setdefault("contract_size", venue.instrument.contract_size)
                instrument = _replaced(config, vat, None, table)
                held = 0.0 if held is None else held
            if not is_number(held) or held < 0:
                fail(config, vat + "base", f"expected a number >= 0, {got(held)}")
            if venue.market == "linear" and held != 0:
                fail(config, vat + "base", f"expected 0 for a linear market (it holds positions, not base "
                      f"holdings), {got(held)}")  # fmt: skip
            instruments.append(instrument)
            base.append(float(held))
        out.append(SymbolConfig(name, i, sym_strategy, sym_risk, tuple(instruments), tuple(base)))
    return out


def _replaced(config: AppConfig, at: str, obj: Any, changes: Mapping[str, Any]) -> Any:
    # ``obj`` with ``changes`` (a new Instrument when obj is None); a bad value names the key under ``at``.
    cls = Instrument if obj is None else type(obj)
    try:
        return cls(**changes) if obj is None else replace(obj, **changes)
    except CodeConfigError as exc:
        raise CodeConfigError(type(config).__name__, at + toml_path(cls, exc.key or ""), exc.expected) from None
    except TypeError as exc:
        raise CodeConfigError(type(config).__name__, at.rstrip("."), f"expected valid keys: {exc}") from None


def _replace_path(obj: Any, parts: list[str], value: Any, dotted: str, prefix: str = "") -> Any:
    computed: frozenset[str] = getattr(obj, "_computed", frozenset())
    names = [name for name in obj.__struct_fields__ if name not in computed]
    head = parts[0]
    done = dotted[: len(dotted) - len(".".join(parts))] if dotted.endswith(".".join(parts)) else prefix
    if head not in names:
        close = difflib.get_close_matches(head, names, n=1)
        hint = f' (did you mean "{done}{close[0]}"?)' if close else ""
        raise ConfigError(
            _OVERRIDES_FILE,
            dotted,
            f"expected a field of {type(obj).__name__}{hint}; fields: {', '.join(names)}",
        )
    if len(parts) == 2 and isinstance(getattr(obj, head), Mapping):  # one key of a table ([strategy.params])
        value = {**getattr(obj, head), parts[1]: value}
    elif len(parts) > 1:
        child = getattr(obj, head)
        if not isinstance(child, msgspec.Struct):
            raise ConfigError(_OVERRIDES_FILE, dotted, f"expected a path into a section, {done}{head} is a value")
        value = _replace_path(child, parts[1:], value, dotted, prefix)
    try:
        return replace(obj, **{head: value})
    except CodeConfigError as exc:
        raise ConfigError(_OVERRIDES_FILE, done + (exc.key or head), exc.expected) from None
    except TypeError as exc:  # a value msgspec itself refused
        raise ConfigError(_OVERRIDES_FILE, dotted, f"expected a valid value: {exc}") from None
