"""The grid file of ``arb sweep``: which parameters to vary, over which values, and how to rank the runs.

A grid file is TOML. ``[grid]`` maps each parameter, spelled as in the configuration files
(``arbitrage.toml`` keys under their section, venue-file keys under the venue's name, ``<venue>.``, for any
venue of the run's ``[strategy] venues``, and ``[leg_faults.<venue>]`` rates under ``leg_faults.<venue>.``;
times in the key's unit: ``cooldown_ms``), to a list of values; a single value is a one-value list. The
sweep runs every combination (the cartesian product, in the order the file lists the keys)::

    [grid]
    "strategy.min_spread_bps" = [3, 5, 8]
    "strategy.cooldown_ms" = [0, 500]
    "<venue>.latency.order_entry_ms" = [1.0, 5.0]  # a venue file's key after the venue's name
    "leg_faults.reject" = [0.0, 0.05]          # every venue, as [leg_faults] reject does
    "leg_faults.<venue>.late" = [0.0, 0.1]     # one venue's, as [leg_faults.<venue>] late does

    [sweep]
    objective = "pnl"                           # how the runs are ranked (OBJECTIVES)
    heatmap = ["strategy.min_spread_bps", "strategy.cooldown_ms"]

Unquoted dotted keys (``strategy.min_spread_bps = [3, 5]``) are TOML tables and read the same. Every
key and every value is checked by the configuration's own rules before anything runs (the key names a
setting that exists, the value has its kind and range, and each combination passes the checks that
involve several settings), so a bad grid is one :class:`~arb.errors.ConfigError` naming the grid file,
the key and what was expected (exit 2).

With several symbols, ``[strategy]`` and ``[risk]`` keys set every symbol's default (a symbol whose
``[symbols.<SYMBOL>]`` table sets its own keeps it), and one symbol's own setting is swept as it is
written there: ``"symbols.ETHUSDT.max_order_size" = [0.01, 0.02]`` (the per-symbol ``[strategy]`` and
``[risk]`` keys of docs/configuration.md).

The strategy's own parameters (``[strategy.params]``) are swept as ``"strategy.params.<name>"``, each
value checked against the strategy's ``params`` struct (:func:`arb.strategy.loading.param_value`)::

    "strategy.params.window" = [300, 600, 1200]

Keys that choose the data (``strategy.symbol``, ``strategy.symbols``, ``backtest.recordings``, a venue's
``market``) cannot be swept: every point runs on the same recorded days.
"""

from __future__ import annotations

__all__ = ["OBJECTIVES", "Grid", "Parameter", "apply_overrides", "load_grid", "toml_value"]

import difflib
import itertools
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import msgspec

from arb.config import (
    SYMBOL_RISK_KEYS,
    SYMBOL_STRATEGY_KEYS,
    AppConfig,
    LegFaultRates,
    LegFaultsConfig,
    RiskConfig,
    StrategyConfig,
    SymbolOverrides,
    VenueConfig,
)

# The configuration's field types are the one definition of every key's TOML spelling, unit, kind
# and range; the grid reuses them rather than keeping a second copy that could drift.
from arb.config.fields import BadValueError, FieldSpec, check_value, fields_of
from arb.config.messages import read_file, unknown_key
from arb.errors import ConfigError

OBJECTIVES: Final[Mapping[str, str]] = {
    "pnl": "net PnL over the whole run, quote currency (the equity curve's)",
    "pnl_per_pair": "mean PnL of one arbitrage pair, quote currency",
    "pnl_to_drawdown": "net PnL divided by the largest drawdown of net PnL (PnL itself when none)",
    "win_rate": "share of pairs that made money",
    "sharpe": "annualised Sharpe ratio of net PnL (only for runs of a day or more: shorter is noise)",
}
"""Objectives a sweep can rank by (``[sweep] objective``), all higher-is-better; the default is ``pnl``."""

_SCALAR_KINDS: Final = ("bool", "int", "float", "str", "choice")
_DATA_KEYS: Final = {
    "strategy.symbol": "the symbol chooses the recordings",
    "strategy.symbols": "the symbols choose the recordings",
    "backtest.recordings": "the recordings folder chooses the data",
    "backtest.out": "reports go to --out",
}
_SWEEP_KEYS: Final = ("objective", "heatmap")
_TOP_KEYS: Final = ("grid", "sweep")


@dataclass(frozen=True, slots=True)
class Parameter:
    """One swept setting.

    Attributes:
        key: As the grid file spells it (``strategy.cooldown_ms``).
        fields: The field paths it sets (:func:`apply_overrides`) (``strategy.cooldown_ns``): one, or
            one per venue of the run for a ``leg_faults`` rate written for every venue.
        values: The values as written in the file (what results.csv and best.toml show).
        field_values: The same values converted to the fields' units (times in int64 ns).
    """

    key: str
    fields: tuple[str, ...]
    values: tuple[Any, ...]
    field_values: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Grid:
    """A parsed grid file.

    Attributes:
        path: The file.
        parameters: The swept settings in the file's order.
        objective: One of :data:`OBJECTIVES`.
        heatmap: The two parameter keys the heatmap shows, or None (the first two with more than one
            value are used, when there are two).
    """

    path: Path
    parameters: tuple[Parameter, ...]
    objective: str
    heatmap: tuple[str, str] | None

    def points(self) -> list[dict[str, Any]]:
        """Every combination, as ``{grid key: value as written}``, in a fixed order (the last key varies fastest)."""
        keys = [p.key for p in self.parameters]
        return [
            dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(p.values for p in self.parameters))
        ]

    def overrides(self, point: Mapping[str, Any]) -> dict[str, Any]:
        """The overrides of one point for :func:`apply_overrides` (field paths, times in ns)."""
        out: dict[str, Any] = {}
        for p in self.parameters:
            value = p.field_values[p.values.index(point[p.key])]
            for path in p.fields:
                out[path] = value
        return out

    def config_at(self, config: AppConfig, point: Mapping[str, Any]) -> AppConfig:
        """``config`` with one point's values (:func:`apply_overrides` of :meth:`overrides`)."""
        return apply_overrides(config, self.overrides(point))

    def heatmap_axes(self) -> tuple[str, str] | None:
        """The heatmap's (x, y) keys: ``[sweep] heatmap``, else the first two keys with several values."""
        if self.heatmap is not None:
            return self.heatmap
        varied = [p.key for p in self.parameters if len(p.values) > 1]
        return (varied[0], varied[1]) if len(varied) >= 2 else None


def load_grid(path: str | Path, config: AppConfig) -> Grid:
    """Read and check a grid file against ``config`` (the configuration the sweep starts from).

    Raises :class:`ConfigError` naming ``path``, the key and what was expected for: a missing file or
    a TOML syntax error, an unknown table or key, a key that names no setting (with the closest one
    as a hint), a setting that cannot be swept (paths, endpoints, secrets, the data's own keys), an
    empty or repeated list of values, a value of the wrong kind or out of range, a combination that
    breaks a rule involving several settings, an unknown objective and a heatmap key not in the grid.
    """
    path = Path(path)
    file = str(path)
    data = _read(path)
    for top in data:
        if top not in _TOP_KEYS:
            raise _unknown(file, "", top, _TOP_KEYS)
    raw = data.get("grid")
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(
            file,
            "grid",
            'expected a [grid] table of settings and their values, e.g. "strategy.min_spread_bps" = [3, 5]',
        )
    flat = _flatten(raw, "", file)
    parameters = tuple(_parameter(file, key, values, config) for key, values in flat.items())
    seen: dict[str, str] = {}
    for p in parameters:
        for f in p.fields:
            if f in seen:
                raise ConfigError(file, f"grid.{p.key}", f"expected each setting once, it is also set by {seen[f]}")
            seen[f] = p.key
    sweep = data.get("sweep", {})
    if not isinstance(sweep, dict):
        raise ConfigError(file, "sweep", f"expected a table [sweep], got {sweep!r}")
    for key in sweep:
        if key not in _SWEEP_KEYS:
            raise _unknown(file, "sweep.", key, _SWEEP_KEYS)
    objective = sweep.get("objective", "pnl")
    if objective not in OBJECTIVES:
        raise ConfigError(
            file, "sweep.objective", f"expected one of {', '.join(map(repr, OBJECTIVES))}, got {objective!r}"
        )
    heatmap = sweep.get("heatmap")
    if heatmap is not None:
        keys = [p.key for p in parameters]
        if (
            not isinstance(heatmap, list)
            or len(heatmap) != 2
            or not all(isinstance(k, str) for k in heatmap)
            or heatmap[0] == heatmap[1]
        ):
            raise ConfigError(file, "sweep.heatmap", f"expected two different keys of [grid], got {heatmap!r}")
        for k in heatmap:
            if k not in keys:
                raise ConfigError(file, "sweep.heatmap", f"expected keys of [grid] ({', '.join(keys)}), got {k!r}")
        heatmap = (heatmap[0], heatmap[1])
    grid = Grid(path, parameters, objective, heatmap)
    _check_points(grid, config)
    return grid


def apply_overrides(config: AppConfig, overrides: Mapping[str, Any]) -> AppConfig:
    """``config`` with ``overrides`` (field paths, as :meth:`Grid.overrides` gives them) applied.

    Fields of one section are replaced together, so the checks that involve several of them see the
    new values side by side (``leg_faults.late`` with ``late_ms``), never a half-changed section.
    Raises :class:`ConfigError` whose key is the field path of the value refused.
    """
    groups: dict[str, dict[str, Any]] = {}
    own: dict[str, dict[str, dict[str, Any]]] = {}  # symbol -> "strategy"/"risk" -> field -> value
    for path, value in overrides.items():
        if path.startswith(_SYMBOL_PATH):
            symbol, part, field = path[len(_SYMBOL_PATH) :].split(".")
            own.setdefault(symbol, {}).setdefault(part, {})[field] = value
            continue
        parent, _, leaf = path.rpartition(".")
        groups.setdefault(parent, {})[leaf] = value
    if own:
        tables = dict(config.symbol_overrides)
        for symbol, parts in own.items():
            table = tables.get(symbol, SymbolOverrides())
            tables[symbol] = msgspec.structs.replace(
                table, **{part: {**getattr(table, part), **fields} for part, fields in parts.items()}
            )
        try:
            config = msgspec.structs.replace(config, symbol_overrides=tables)
        except ConfigError as exc:
            raise ConfigError("<overrides>", exc.key, exc.expected) from None
    for parent, values in groups.items():
        if not parent:
            config = config.with_overrides(values)
            continue
        section: Any = config.at(parent)
        if isinstance(section, Mapping):  # a table of values ([strategy.params]): its keys replaced
            config = config.with_overrides({parent: {**section, **values}})
            continue
        try:
            changed = msgspec.structs.replace(section, **values)
        except ConfigError as exc:  # the section's own check, named by its field
            raise ConfigError("<overrides>", f"{parent}.{exc.key}", exc.expected) from None
        except TypeError as exc:
            raise ConfigError("<overrides>", parent, f"expected fields of {type(section).__name__}: {exc}") from None
        config = config.with_overrides({parent: changed})
    return config


def toml_value(value: Any) -> str:
    """A grid value as TOML text (``5.0``, ``true``, ``"hedge"``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def _read(path: Path) -> dict[str, Any]:
    file = str(path)
    raw = read_file(path)
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(file, None, f"expected TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(file, None, f"expected UTF-8 TOML text: {exc}") from None


def _unknown(file: str, prefix: str, key: str, allowed: tuple[str, ...] | list[str]) -> ConfigError:
    return unknown_key(file, prefix, key, allowed, qualified=True)


def _flatten(table: Mapping[str, Any], prefix: str, file: str) -> dict[str, Any]:
    # {"strategy": {"min_spread_bps": [..]}} and {"strategy.min_spread_bps": [..]} both become the dotted key.
    out: dict[str, Any] = {}
    for key, value in table.items():
        dotted = prefix + key
        if isinstance(value, dict):
            out.update(_flatten(value, dotted + ".", file))
        elif dotted in out:
            raise ConfigError(file, f"grid.{dotted}", "expected each key once, it is written twice")
        else:
            out[dotted] = value
    return out


def _resolve(file: str, key: str, venues: tuple[str, ...]) -> tuple[list[str], FieldSpec, type]:
    # (field path parts, the leaf's info, the class owning it) of a grid key in TOML spelling; ``venues``:
    # the run's, whose files' keys start with the venue's name (and [leg_faults.<venue>]'s with leg_faults.)
    parts = key.split(".")
    cls: type = AppConfig
    path: list[str] = []
    at = "grid."
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if cls is LegFaultsConfig and part in venues:  # [leg_faults.<venue>]: one venue's rates
            if last:
                raise ConfigError(file, at + part, f"expected a rate of the {part} venue, e.g. {at[5:]}{part}.reject")
            cls = LegFaultRates
            path.append(part)
            at += part + "."
            continue
        if cls is AppConfig and part in venues:
            if last:
                raise ConfigError(
                    file, at + part, f"expected a setting of the {part} venue file, e.g. {part}.fees.taker"
                )
            cls = VenueConfig
            path.append(part)
            at += part + "."
            continue
        infos = {info.key: info for info in fields_of(cls)}
        allowed = sorted([*infos, *venues] if cls is AppConfig else infos)
        if cls is LegFaultsConfig:
            rate_infos = {info.key: info for info in fields_of(LegFaultRates)}
            allowed = sorted({*allowed, *rate_infos, *venues} - {"venues"})
            if part in rate_infos and part not in infos:
                if not last:
                    raise ConfigError(file, at + part, "expected a setting, this is a value")
                # a rate of [leg_faults] applies to every venue, as in arbitrage.toml
                return [*path, "*", rate_infos[part].name], rate_infos[part], LegFaultRates
        info = infos.get(part)
        if info is None:
            raise _unknown(file, at, part, allowed)
        if info.kind == "section":
            if last:
                raise ConfigError(file, at + part, f"expected a setting inside [{(at + part)[5:]}], it is a table")
            cls = info.hint
            path.append(info.name)
            at += part + "."
            continue
        if not last:
            raise ConfigError(file, at + part, f"expected a path to a setting, {(at + part)[5:]} is a value")
        path.append(info.name)
        return path, info, cls
    raise ConfigError(file, "grid." + key, "expected a setting")  # pragma: no cover - the loop returns


_SYMBOL_PATH: Final = "symbol_overrides."
"""The field path of a symbol's own setting: ``symbol_overrides.<SYMBOL>.strategy.<field>`` (or ``risk``)."""


def _symbol_parameter(file: str, key: str, config: AppConfig) -> tuple[list[str], FieldSpec]:
    # ``symbols.<SYMBOL>.<key>``: one symbol's own [strategy] or [risk] setting.
    at = f"grid.{key}"
    parts = key.split(".")
    names = config.symbol_names
    if len(parts) != 3 or parts[1] not in names:
        close = difflib.get_close_matches(parts[1], names, n=1) if len(parts) > 1 else []
        hint = f' (did you mean "symbols.{close[0]}"?)' if close else ""
        raise ConfigError(file, at, f"expected symbols.<SYMBOL>.<key> for a symbol traded{hint} "
                          f"([strategy] symbols: {', '.join(names)})")  # fmt: skip
    own = {info.key: ("strategy", info) for info in fields_of(StrategyConfig) if info.name in SYMBOL_STRATEGY_KEYS}
    own |= {info.key: ("risk", info) for info in fields_of(RiskConfig) if info.name in SYMBOL_RISK_KEYS}
    if parts[2] not in own:
        raise _unknown(file, f"grid.symbols.{parts[1]}.", parts[2], sorted(own))
    part, info = own[parts[2]]
    return [_SYMBOL_PATH + parts[1], part, info.name], info


def _parameter(file: str, key: str, raw: Any, config: AppConfig) -> Parameter:
    at = f"grid.{key}"
    venues = config.venue_names
    venue_key = key.split(".")[1:] if key.split(".")[0] in venues else []
    if key in _DATA_KEYS or venue_key in (["market"], ["network"], ["data_network"]):
        why = _DATA_KEYS.get(key, "the market chooses the recordings")
        raise ConfigError(
            file,
            at,
            f"expected a setting of the strategy, risk, execution, latency, fees...; {why}, so it cannot be swept",
        )
    if key.startswith(_PARAMS_PATH):
        return _strategy_parameter(file, key, raw, config)
    if key.split(".")[0] == "symbols":
        parts, info = _symbol_parameter(file, key, config)
    else:
        parts, info, _owner = _resolve(file, key, venues)
    if info.kind not in _SCALAR_KINDS:
        raise ConfigError(file, at, "expected a number, a boolean or a choice setting; this one cannot be swept")

    def setting(value: Any, values: list[Any]) -> Any:
        try:
            return check_value(info, value, toml=True, origin=(file, at))
        except BadValueError as bad:
            raise ConfigError(file, at, f"{bad.expected} in {_show_list(values)}") from None

    values, converted = _values(file, at, raw, setting)
    if "*" in parts:
        star = parts.index("*")
        fields = tuple(".".join([*parts[:star], name, *parts[star + 1 :]]) for name in venues)
    else:
        fields = (".".join(parts),)
    return Parameter(key, fields, tuple(values), tuple(converted))


_PARAMS_PATH: Final = "strategy.params."
"""A key of the strategy's own parameters (``[strategy.params]``), its field path the same."""


def _strategy_parameter(file: str, key: str, raw: Any, config: AppConfig) -> Parameter:
    # ``strategy.params.<name>``: a parameter of the configuration's strategy, each value as it takes it.
    from arb.strategy.loading import ParamError, param_value, strategy_of

    at = f"grid.{key}"
    strategy = strategy_of(config)

    def parameter(value: Any, values: list[Any]) -> Any:
        try:
            return param_value(strategy, key[len(_PARAMS_PATH) :], value)
        except ParamError as bad:
            expected = bad.expected if bad.unknown else f"{bad.expected} in {_show_list(values)}"
            raise ConfigError(file, at, expected) from None

    values, converted = _values(file, at, raw, parameter)
    return Parameter(key, (key,), tuple(values), tuple(converted))


def _values(file: str, at: str, raw: Any, convert: Callable[[Any, list[Any]], Any]) -> tuple[list[Any], list[Any]]:
    # A grid key's values (a list, or one value) and each as ``convert(value, values)`` takes it (it raises
    # the ConfigError of a value it refuses): never empty, no value twice.
    values = raw if isinstance(raw, list) else [raw]
    if not values:
        raise ConfigError(file, at, "expected a non-empty list of values")
    converted = [convert(value, values) for value in values]
    if len({repr(v) for v in converted}) != len(converted):
        raise ConfigError(file, at, f"expected distinct values, got {_show_list(values)}")
    return values, converted


def _check_points(grid: Grid, config: AppConfig) -> None:
    # Every combination passes the configuration's checks (e.g. leg_faults.reject + late <= 1).
    keys = {f: p.key for p in grid.parameters for f in p.fields}
    for point in grid.points():
        try:
            apply_overrides(config, grid.overrides(point))
        except ConfigError as exc:
            shown = ", ".join(f"{k} = {toml_value(v)}" for k, v in point.items())
            key = f"grid.{keys[exc.key]}" if exc.key in keys else "grid"
            # the configuration's in-code messages speak of ns; a grid is written in the TOML units
            expected = exc.expected.replace("an integer number of nanoseconds", "a time")
            if exc.key not in keys and exc.key:
                expected = f"{exc.key}: {expected}"
            raise ConfigError(str(grid.path), key, f"{expected} (at the point {shown})") from None


def _show_list(values: list[Any]) -> str:
    text = "[" + ", ".join(toml_value(v) for v in values) + "]"
    return text if len(text) <= 80 else text[:77] + "..."
