"""Reading the configuration files: :func:`load_config` (``arbitrage.toml`` and the venue files it
names) and :func:`load_venue_config` (one venue file).

A file is read with ``tomllib`` and decoded by msgspec into its schema: the TOML keys of the sections
(:data:`_ArbitrageFile`, :data:`_VenueFile`, derived from :class:`~arb.config.app.AppConfig` and
:class:`~arb.config.venue.VenueConfig` so that every key is declared once). Before decoding, what TOML
spells differently from the fields is converted (:func:`_prepare`): times to int64 ns, secrets to
:class:`~arb.config.secrets.Secret` (remembering the file and key), relative paths resolved against the
file's folder, absent tables as empty ones, and the keys other keys imply (``symbol`` from ``symbols``,
``min_qty`` from ``lot_size``, a venue's default depth stream). The run's venues are ``[strategy]
venues`` (left out: the default run's, :func:`arb.catalog.default_venues`), each read from its
own file (``[venues] <venue> = "path"``, else ``<venue>.toml`` beside ``arbitrage.toml``).
``[leg_faults]`` rates apply to every venue and ``[leg_faults.<venue>]`` tables override them; a
``[symbols.<SYMBOL>]`` table overrides a symbol's settings, its ``[symbols.<SYMBOL>.<venue>]`` tables its
rules per venue; ``[history] <venue>_<kind>_url`` names a venue's archive server and ``[rebalance]
<venue>_share`` a venue's share: all are put in shape here. The objects are then built in code, where
the rules that involve several sections run.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "Setting",
    "as_written",
    "command_line_settings",
    "config_option",
    "load_config",
    "load_venue_config",
]

import contextlib
import contextvars
import difflib
import json
import logging
import re
import tomllib
import typing
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final, TypeVar

import msgspec
from msgspec import NODEFAULT, UNSET, Meta, UnsetType

from arb.catalog import default_venues, known_venues, venue_facts
from arb.config.app import (
    SYMBOL_RISK_KEYS,
    SYMBOL_STRATEGY_KEYS,
    AppConfig,
    SymbolOverrides,
)
from arb.config.fields import (
    BadValueError,
    CodeConfigError,
    ConfigStruct,
    dict_types,
    fields_of,
    from_toml,
    got,
    spec_by_key,
    struct_of,
    toml_path,
)
from arb.config.messages import decode, read_file, unknown_key
from arb.config.sections import LegFaultRates, RiskConfig, StrategyConfig, kernel_parts
from arb.config.venue import (
    ACCOUNT_FEES_FILE,
    ENDPOINT_TABLES,
    Account,
    FeedConfig,
    Fees,
    Instrument,
    VenueConfig,
)
from arb.errors import ConfigError

log = logging.getLogger("arb.config")

DEFAULT_CONFIG_PATH: Final = Path("config") / "arbitrage.toml"
"""Where :func:`load_config` looks when no path is given, relative to the current directory."""

_T = TypeVar("_T")
_Hooks = Mapping[type, Callable[[dict[str, Any]], None]]

Setting = tuple[str, Any]
"""One ``--set section.key=value``: the dotted key as the files spell it and the value as TOML reads it
(:func:`arb.command_line.setting`)."""
_ABSENT: Final = object()
_SETTINGS: contextvars.ContextVar[tuple[Setting, ...]] = contextvars.ContextVar("settings", default=())


@dataclass(frozen=True, slots=True)
class _Ctx:
    file: str  # as shown in messages
    base_dir: Path  # relative paths in the file resolve against this

    def resolve(self, path: Path) -> Path:
        return (self.base_dir / path.expanduser()).resolve()


# --------------------------------------------------------------------------------------------------
# The files' schemas, derived from the classes


def _schema(
    name: str,
    sources: Sequence[tuple[type[msgspec.Struct], Collection[str] | None]],
    *,
    optional: bool = False,
    retype: Mapping[str, tuple[Any, Any]] | None = None,
    more: Iterable[tuple[str, Any, Any]] = (),
) -> type[ConfigStruct]:
    """A Struct of the TOML keys of ``sources`` (each a class and the fields taken, None for all it reads
    from a file), with their types, rules and defaults; ``optional``: every key may be left out (it is
    then ``UNSET``); ``retype``: a field's file type and default; ``more``: further (name, type, default)."""
    fields: list[tuple[str, Any, Any]] = []
    for cls, names in sources:
        skip: frozenset[str] = getattr(cls, "_not_in_file", frozenset())
        for info in msgspec.structs.fields(cls):
            if info.name in skip or (names is not None and info.name not in names):
                continue
            if optional:
                fields.append((info.name, info.type | UnsetType, msgspec.field(default=UNSET, name=info.encode_name)))
            elif retype and info.name in retype:
                hint, default = retype[info.name]
                fields.append((info.name, hint, msgspec.field(default=default, name=info.encode_name)))
            else:
                fields.append((info.name, info.type, _same_default(info)))
    fields.extend(more)
    schema = msgspec.defstruct(name, fields, bases=(ConfigStruct,), kw_only=True, module=__name__)
    return typing.cast(type[ConfigStruct], schema)


def _same_default(info: msgspec.structs.FieldInfo) -> Any:
    # The field's own default (or factory, or none: required), under its TOML name.
    if info.default_factory is not NODEFAULT:
        return msgspec.field(default_factory=info.default_factory, name=info.encode_name)
    if info.default is not NODEFAULT:
        return msgspec.field(default=info.default, name=info.encode_name)
    return msgspec.field(name=info.encode_name)


_VenueFile: Final = _schema("_VenueFile", [(VenueConfig, None)], retype={"all_endpoints": (ENDPOINT_TABLES, {})})
"""A venue file's keys."""
_SymbolVenueTable: Final = _schema("_SymbolVenueTable", [(Instrument, None), (Account, ("base",))], optional=True)
"""``[symbols.<SYMBOL>.<venue>]``: the symbol's trading rules on a venue and its holdings there."""
_SymbolTable: Final = _schema(
    "_SymbolTable",
    [(StrategyConfig, SYMBOL_STRATEGY_KEYS), (RiskConfig, SYMBOL_RISK_KEYS)],
    optional=True,
    more=[("venues", dict[str, _SymbolVenueTable], msgspec.field(default_factory=dict))],  # type: ignore[valid-type]
)
"""``[symbols.<SYMBOL>]``: a symbol's own ``[strategy]`` and per-symbol ``[risk]`` keys; its venue tables
(``[symbols.<SYMBOL>.<venue>]``) are moved under ``venues`` before decoding (:func:`_venue_tables`)."""
_VenuePaths = Annotated[dict[str, Path], Meta(description='<venue> = "path"')]
_ArbitrageFile: Final = _schema(
    "_ArbitrageFile",
    [(AppConfig, None)],
    more=[
        ("venues", _VenuePaths, msgspec.field(default_factory=dict)),
        (
            "symbols",
            Annotated[dict[str, _SymbolTable], Meta(description="<SYMBOL>")],  # type: ignore[valid-type]
            msgspec.field(default_factory=dict),
        ),
    ],
)
"""``arbitrage.toml``'s keys."""
_FeesTable: Final = _schema("_FeesTable", [(Fees, None)])
_AccountFeesFile: Final = _schema(
    "_AccountFeesFile", [], more=[(venue, _FeesTable | UnsetType, UNSET) for venue in known_venues()]
)
""":data:`~arb.config.venue.ACCOUNT_FEES_FILE`'s keys: a venue file's ``[fees]`` per venue."""


# --------------------------------------------------------------------------------------------------
# From the TOML spelling to the fields'


def _prepare(value: Any, hint: Any, ctx: _Ctx, dotted: str, hooks: _Hooks) -> Any:
    """``value`` (a table of the file, or a table of tables) with what TOML spells differently from the
    fields of ``hint`` converted; a value of the wrong kind is left for the decoder to name."""
    cls = struct_of(hint)
    if cls is not None:
        return _prepare_table(value, cls, ctx, dotted, hooks) if isinstance(value, dict) else value
    kv = dict_types(hint)
    if kv is not None and isinstance(value, dict):
        return {k: _prepare(v, kv[1], ctx, f"{dotted}{k}.", hooks) for k, v in value.items()}
    return value


def _prepare_table(
    table: dict[str, Any], cls: type[msgspec.Struct], ctx: _Ctx, dotted: str, hooks: _Hooks
) -> dict[str, Any]:
    out = dict(table)
    for spec in fields_of(cls):
        here = dotted + spec.key
        if spec.key not in table:  # an absent table is an empty one; a default folder is the file's
            if spec.kind == "section" and spec.default is not UNSET:
                out[spec.key] = _prepare({}, spec.hint, ctx, here + ".", hooks)
            elif spec.kind == "path" and isinstance(spec.default, Path):
                out[spec.key] = ctx.resolve(spec.default)
            continue
        value = table[spec.key]
        if spec.kind in ("section", "custom"):
            out[spec.key] = _prepare(value, spec.hint, ctx, here + ".", hooks)
        elif spec.kind == "path":
            if isinstance(value, str) and value:
                out[spec.key] = ctx.resolve(Path(value))
        elif spec.unit or spec.kind == "secret":
            try:
                out[spec.key] = from_toml(spec, value, (ctx.file, here))
            except BadValueError as bad:
                raise ConfigError(ctx.file, here, bad.expected) from None
    hook = hooks.get(cls)
    if hook is not None:
        hook(out)
    return out


def _first_symbol(strategy: dict[str, Any]) -> None:
    # [strategy] names its symbols with symbol = "BTCUSDT" or symbols = [...]: symbol is the first.
    symbols = strategy.get("symbols")
    if "symbol" not in strategy and isinstance(symbols, list) and symbols and isinstance(symbols[0], str):
        strategy["symbol"] = symbols[0]


def _kernel_resolved(value: Any, base: Path) -> Any:
    # [strategy] kernel naming a file: the file made absolute against ``base`` (a module's name, a
    # built-in's, or a value of the wrong kind as it is).
    if not isinstance(value, str):
        return value
    target, name, is_file = kernel_parts(value)
    if not is_file:
        return value
    return f"{(base / Path(target).expanduser()).resolve()}:{name}"


def _some_venues(ctx: _Ctx) -> Callable[[dict[str, Any]], None]:
    # [strategy] venues and maker_venues left out take their defaults; written empty, they are refused;
    # a strategy file (kernel) is relative to the file's folder.
    def check(strategy: dict[str, Any]) -> None:
        for key in ("venues", "maker_venues"):
            if strategy.get(key) == []:
                raise ConfigError(ctx.file, f"strategy.{key}", f"expected at least one venue, e.g. "
                                  f'["{_run_venues({"strategy": strategy})[0]}"], got []')  # fmt: skip

    def both(strategy: dict[str, Any]) -> None:
        check(strategy)
        _first_symbol(strategy)
        if "kernel" in strategy:
            strategy["kernel"] = _kernel_resolved(strategy["kernel"], ctx.base_dir)

    return both


def _lot_is_min_qty(instrument: dict[str, Any]) -> None:
    if "min_qty" not in instrument and "lot_size" in instrument:
        instrument["min_qty"] = instrument["lot_size"]


def _feed_defaults(name: str, market: Any) -> Callable[[dict[str, Any]], None]:
    # A venue's depth stream defaults per market (its first market's while the market itself is wrong).
    facts = venue_facts(name)
    streams = facts.depth_streams.get(market) if isinstance(market, str) else None
    stream = (streams or facts.depth_streams[facts.markets[0]])[0]

    def fill(feed: dict[str, Any]) -> None:
        feed.setdefault("depth_stream", stream)
        feed.setdefault("max_streams_per_connection", facts.max_streams_per_connection)

    return fill


def _run_venues(raw: Mapping[str, Any]) -> tuple[str, ...]:
    # The run's venues as the file (with --set) gives them: [strategy] venues, else the default run's. A
    # value of the wrong shape is left for the decoder to name; until then the default is worked with.
    strategy = raw.get("strategy")
    written = strategy.get("venues") if isinstance(strategy, dict) else None
    if isinstance(written, list) and written and all(isinstance(name, str) for name in written):
        return tuple(written)
    return default_venues()


def _venue_tables(table: dict[str, Any], venues: Sequence[str], ctx: _Ctx, at: str) -> dict[str, Any]:
    """``table`` with its sub-tables named after a venue of the run moved under ``venues`` (how the
    schemas hold them); a sub-table named after a venue arb knows that the run does not trade is refused."""
    out = {k: v for k, v in table.items() if k not in venues}
    out["venues"] = {k: v for k, v in table.items() if k in venues}
    for key in table:
        if key in known_venues() and key not in venues:
            raise ConfigError(ctx.file, at + key, f"expected a venue of the run ([strategy] venues: "
                              f"{', '.join(venues)}); {key} is not traded")  # fmt: skip
    return out


def _named_keys(table: Any, suffix: str, field: str, venues: Sequence[str]) -> None:
    # ``<venue><suffix> = value`` keys of ``table`` (``[history] <venue>_orderbook_url``, ``[rebalance]
    # <venue>_share``: the forms that name a venue in the key) moved into its ``field`` table, keyed
    # ``<venue><suffix>`` with the venue's name (history) or by the venue's name alone (shares).
    if not isinstance(table, dict):
        return
    for key in list(table):
        venue = next((v for v in venues if key.startswith(v + "_")), None)
        if venue is None or not key.endswith(suffix):
            continue
        inner = table.setdefault(field, {})
        if isinstance(inner, dict):
            inner[key if suffix == "_url" else venue] = table.pop(key)


def _leg_faults(source: dict[str, Any], ctx: _Ctx, venues: Sequence[str]) -> dict[str, Any]:
    """``source`` with ``[leg_faults]``'s rates (checked once, under their own names) written into every
    venue's table of the run, under what each venue's own table (``[leg_faults.<venue>]``) sets."""
    table = source.get("leg_faults")
    if not isinstance(table, dict):
        return source
    rates = [spec.key for spec in fields_of(LegFaultRates)]
    allowed = sorted({*rates, "seed", "hedges", *venues})
    for key in table:
        if key not in allowed:
            raise unknown_key(ctx.file, "leg_faults.", key, allowed)
    shared = {k: v for k, v in table.items() if k in rates}
    decode(LegFaultRates, shared, _prepare(shared, LegFaultRates, ctx, "leg_faults.", {}), ctx.file, "leg_faults")
    merged = {k: v for k, v in table.items() if k in ("seed", "hedges")}
    merged["venues"] = {}
    for name in venues:
        own = table.get(name, {})
        merged["venues"][name] = {**shared, **own} if isinstance(own, dict) else own
    return {**source, "leg_faults": merged}


def _symbol_overrides(parsed: Any, source: Mapping[str, Any], ctx: _Ctx) -> dict[str, SymbolOverrides]:
    """``[symbols.<SYMBOL>]`` tables as :class:`SymbolOverrides` (field names, times in ns, in the
    file's order); a table for a symbol not traded is refused."""
    symbols: tuple[str, ...] = parsed.strategy.symbols
    out: dict[str, SymbolOverrides] = {}
    for name, table in parsed.symbols.items():
        if name not in symbols:
            close = difflib.get_close_matches(name, symbols, n=1)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            raise ConfigError(ctx.file, f"symbols.{name}", f"expected a table for one of the symbols traded{hint}; "
                              f"[strategy] symbols: {', '.join(symbols)}")  # fmt: skip
        parts: dict[str, dict[str, Any]] = {"strategy": {}, "risk": {}, "venues": {}}
        written = source["symbols"][name]
        for key in written:
            if key == "venues":  # the venue tables (_venue_tables): each as its fields
                for venue, given in written[key].items():
                    specs = (spec_by_key(_SymbolVenueTable, k) for k in given)
                    decoded = table.venues[venue]
                    parts["venues"][venue] = {s.name: getattr(decoded, s.name) for s in specs if s is not None}
                continue
            spec = spec_by_key(_SymbolTable, key)
            assert spec is not None  # the decoder refused any other key
            parts["strategy" if spec.name in SYMBOL_STRATEGY_KEYS else "risk"][spec.name] = getattr(table, spec.name)
        out[name] = SymbolOverrides(**parts)
    return out


# --------------------------------------------------------------------------------------------------
# Loading


def _read_toml(path: Path) -> dict[str, Any]:
    file = str(path)
    raw = read_file(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(file, None, f"expected UTF-8 text, byte {exc.start} is not") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(file, None, f"invalid TOML: {exc}") from None


def _build(cls: Callable[..., _T], values: Mapping[str, Any], file: str) -> _T:
    # An object built in code from decoded parts: a rule's refusal names the key as the file spells it.
    try:
        return cls(**values)
    except CodeConfigError as exc:
        assert isinstance(cls, type)
        raise ConfigError(file, toml_path(cls, exc.key or ""), exc.expected) from None


def _load_venue(
    path: Path, name: str, settings: Sequence[Setting] = (), account_fees: tuple[Path, dict[str, Any]] | None = None
) -> VenueConfig:
    ctx = _Ctx(str(path), path.parent)
    if name not in known_venues():
        raise ConfigError(ctx.file, None, f"expected a venue name, one of {', '.join(known_venues())}, {got(name)}")
    source = _read_toml(path)
    if account_fees is not None:  # the account's rates over the file's, under the command line's
        source["fees"] = {**(source.get("fees") or {}), **account_fees[1]}
    written = _apply_settings(source, settings, _VenueFile, f"{name}.")
    hooks: _Hooks = {Instrument: _lot_is_min_qty, FeedConfig: _feed_defaults(name, source.get("market"))}
    try:
        parsed = decode(_VenueFile, source, _prepare(source, _VenueFile, ctx, "", hooks), ctx.file)
        values = {spec.name: getattr(parsed, spec.name) for spec in fields_of(_VenueFile)}
        if account_fees is not None and not any(key.startswith("fees.") for key, _ in settings):
            values["fees"] = msgspec.structs.replace(values["fees"], source=str(account_fees[0]))
        return _build(VenueConfig, {**values, "name": name, "path": path.resolve()}, ctx.file)
    except ConfigError as exc:
        raise _named_by_setting(exc, written, f"{name}.") from None


def _account_fees(path: Path) -> dict[str, tuple[Path, dict[str, Any]]]:
    # The rates ``arb fees --write`` stored, by venue, each as a [fees] table (checked as a file is).
    source = _read_toml(path)
    decode(_AccountFeesFile, source, source, str(path))
    return {name: (path, source[name]) for name in known_venues() if name in source}


def _warn_literal_secrets(venues: Iterable[VenueConfig]) -> None:
    literal = [
        f"{venue.path.name}: {key}"
        for venue in venues
        for key in ("api_key", "api_secret", "api_passphrase")
        if (secret := getattr(venue, key)) is not None and secret.is_literal
    ]
    if literal:
        log.warning(
            "literal secrets in %s; secrets belong in environment variables: write "
            'api_key = "${VENUE_API_KEY}" and export the variable',
            ", ".join(literal),
        )


def load_venue_config(path: str | Path, name: str) -> VenueConfig:
    """Load one venue file; ``name`` is the venue's (one of :func:`arb.catalog.known_venues`).

    Relative paths inside the file resolve against its folder. Raises :class:`ConfigError` naming the
    file, the dotted key and the expectation; logs one warning if the file holds a literal secret.
    """
    venue = _load_venue(Path(path), name)
    _warn_literal_secrets([venue])
    return venue


@contextlib.contextmanager
def command_line_settings(settings: Iterable[Setting]) -> Iterator[None]:
    """While the block runs, :func:`load_config` applies ``settings`` (the command line's ``--set``, in
    order) over every file it reads: the command being run loads its configuration with them wherever
    it does, without each command handing them along."""
    token = _SETTINGS.set(tuple(settings))
    try:
        yield
    finally:
        _SETTINGS.reset(token)


def load_config(
    path: str | Path | None = None, *, warn: bool = True, settings: Iterable[Setting] | None = None
) -> AppConfig:
    """Load ``arbitrage.toml`` and the venue files its ``[venues]`` table names.

    ``path`` defaults to :data:`DEFAULT_CONFIG_PATH` (``config/arbitrage.toml`` under the current
    directory). Venue files and the ``[backtest]`` / ``[dry_run]`` folders resolve against the folder
    of ``arbitrage.toml``. Environment references in secrets are not read here (see
    :meth:`Secret.resolve`); a literal secret logs one warning (``warn=False``: none of the load's
    warnings, for a second load of the same files).

    ``settings`` (default: the command line's, :func:`command_line_settings`) replace single keys, as
    if the file wrote them: ``("risk.position_limit", 0.01)``; a key of a venue file starts with the
    venue's name (``<venue>.fees.taker``). They are checked exactly as the file is; a bad one is a
    :class:`ConfigError` naming ``--set <key>`` instead of the file. A relative path given this way is
    relative to the current directory, as on any command line.

    Raises :class:`ConfigError` (exit code 2) for a missing file, a TOML syntax error (with its line
    and column), an unknown key, a value of the wrong type or out of range, a missing required key,
    an unknown market or a network without endpoints.
    """
    return _load_config(path, warn, tuple(_SETTINGS.get() if settings is None else settings))


def as_written(config: AppConfig) -> AppConfig | None:
    """What ``config``'s file gives alone, without the running command's ``--set``: what a command arb
    prints as a hint reads when it is given only ``--config`` (the hint adds what differs); None when the
    file cannot be read now."""
    try:
        return load_config(config.path, warn=False, settings=())
    except (ConfigError, OSError):
        return None


def config_option(config: AppConfig) -> list[str]:
    """``["--config", PATH]`` for a hint when ``config`` is not the default file under the current
    folder, else nothing."""
    return ["--config", str(config.path)] if config.path != DEFAULT_CONFIG_PATH.resolve() else []


_Written = tuple[str, Any, str]
"""A setting :func:`_apply_settings` wrote: its key, its value, and the shallowest key it wrote (the first
table it made, else its own key)."""


def _named_by_setting(exc: ConfigError, written: Sequence[_Written], prefix: str = "") -> ConfigError:
    # A refusal of what --set wrote (relative to the file, ``prefix`` before it) names the option, not the
    # file it was applied over: of its key, of a key below it, or of a table it made on its way
    # (``--set foo.bar``: the unknown key foo). A key other than the option's own is said after it.
    for key, value, root in reversed(written):
        if exc.key is not None and (exc.key == root or exc.key.startswith(root + ".")):
            if exc.key == key:
                error = ConfigError(f"--set {prefix}{key}", None, exc.expected + _read_as_text(key, value, prefix))
            else:
                error = ConfigError(f"--set {prefix}{key}", prefix + exc.key, exc.expected)
            error.key = prefix + exc.key
            return error
    return exc


def _read_as_text(key: str, value: Any, prefix: str) -> str:
    # A value that looks like a TOML array or table but is none was taken as its text: say so, and for
    # an array of bare words, how to write it (``[name]``: the shell ate the quotes of ``["name"]``).
    text = value.strip() if isinstance(value, str) else ""
    if (text[:1], text[-1:]) not in (("[", "]"), ("{", "}")) or _toml_value(text) is not _ABSENT:
        return ""
    kind = "array" if text[0] == "[" else "inline table"
    items = [item.strip() for item in text[1:-1].split(",") if item.strip()] if text[0] == "[" else []
    fixed = "[" + ", ".join(i if _toml_value(i) is not _ABSENT else json.dumps(i.strip("'\"")) for i in items) + "]"
    if items and _toml_value(fixed) is not _ABSENT and "'" not in fixed:
        return (f"; {text} is not a TOML {kind} (a string in one is quoted), so it was read as text: "
                f"write --set {prefix}{key}='{fixed}'")  # fmt: skip
    return f"; {text} is not a TOML {kind}, so it was read as text"


def _toml_value(text: str) -> Any:
    # ``text`` as a TOML value, or _ABSENT when TOML cannot read it.
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except (tomllib.TOMLDecodeError, KeyError):
        return _ABSENT


def _apply_settings(
    source: dict[str, Any], settings: Iterable[Setting], schema: Any, prefix: str = ""
) -> list[_Written]:
    """Write each setting (its key relative to ``source``'s table, ``prefix`` before it in messages) into
    ``source`` (a file's table as TOML read it), making the tables on its way; a relative path becomes
    absolute against the current directory. Returns what each wrote, for :func:`_named_by_setting`."""
    written: list[_Written] = []
    for key, value in settings:
        parts = key.split(".")
        table = source
        hint: Any = schema
        root = key
        for i, part in enumerate(parts[:-1]):
            if part not in table and root == key:
                root = ".".join(parts[: i + 1])
            below = table.setdefault(part, {})
            if not isinstance(below, dict):
                where = prefix + ".".join(parts[: i + 1])
                raise ConfigError(f"--set {prefix}{key}", None, f"expected a key inside a table, {where} is a value")
            table = below
            hint = _field_hint(hint, part)
        spec = _field_spec(hint, parts[-1])
        kv = dict_types(hint) if hint is not None and spec is None else None
        is_path = (spec is not None and spec.kind == "path") or (kv is not None and kv[1] is Path)
        if is_path and isinstance(value, str) and value:
            value = str(Path(value).expanduser().resolve())
        elif hint is StrategyConfig and parts[-1] == "kernel":  # a strategy file: relative to here too
            value = _kernel_resolved(value, Path.cwd())
        table[parts[-1]] = value
        written.append((key, value, root))
    return written


def _field_hint(hint: Any, key: str) -> Any:
    # The type of table key ``key`` of a table of type ``hint`` (None when unknown: the decoder says so).
    spec = _field_spec(hint, key)
    if spec is not None:
        return spec.hint
    kv = dict_types(hint) if hint is not None else None
    return kv[1] if kv is not None else None


def _field_spec(hint: Any, key: str) -> Any:
    cls = struct_of(hint) if hint is not None else None
    return spec_by_key(cls, key) if cls is not None else None


def _load_config(path: str | Path | None, warn: bool, settings: Sequence[Setting]) -> AppConfig:
    if path is None:
        file = DEFAULT_CONFIG_PATH
        if not file.is_file():
            raise ConfigError(
                str(file),
                None,
                f"no configuration file here (looked in {Path.cwd()}); pass --config PATH to name one",
            )
    else:
        file = Path(path)
    ctx = _Ctx(str(file), file.parent)
    known = known_venues()
    mine = [(k, v) for k, v in settings if k.split(".", 1)[0] not in known]
    by_venue = {name: [(k.split(".", 1)[1], v) for k, v in settings if k.split(".", 1)[0] == name] for name in known}
    raw = _read_toml(file)
    written = _apply_settings(raw, mine, _ArbitrageFile)
    venues = _run_venues(raw)
    raw, archives = _archives(raw)
    try:
        source = _in_shape(raw, ctx, venues)
        prepared = _prepare(source, _ArbitrageFile, ctx, "", {StrategyConfig: _some_venues(ctx)})
        parsed = decode(_ArbitrageFile, source, prepared, ctx.file)
        symbol_overrides = _symbol_overrides(parsed, source, ctx)
        paths = _venue_paths(parsed.venues, venues, ctx)
    except ConfigError as exc:
        raise _named_by_setting(_as_written(exc), written) from None
    strangers = [name for name in by_venue if by_venue[name] and name not in venues]
    if strangers:
        key = next(k for k, _ in settings if k.split(".", 1)[0] == strangers[0])
        raise ConfigError(f"--set {key}", None, f"expected a venue of the run ([strategy] venues: "
                          f"{', '.join(venues)}); {strangers[0]} is not traded")  # fmt: skip
    values = {spec.name: getattr(parsed, spec.name) for spec in fields_of(AppConfig)}
    values["symbol_overrides"] = symbol_overrides
    if archives:
        try:
            values["history"] = msgspec.structs.replace(values["history"], archives=archives)
        except CodeConfigError as exc:
            raise _named_by_setting(ConfigError(ctx.file, f"history.{exc.key}", exc.expected), written) from None
    fees_file = parsed.live.state_dir / ACCOUNT_FEES_FILE
    account_fees = _account_fees(fees_file) if fees_file.is_file() else {}
    if account_fees and warn:
        log.info("fees: the account's for %s, from %s (arb fees --write), instead of the venue files' [fees]",
                 " and ".join(account_fees), fees_file)  # fmt: skip
    values["venues"] = tuple(_load_venue(paths[name], name, by_venue[name], account_fees.get(name)) for name in venues)
    try:
        config = _build(AppConfig, {**values, "path": file.resolve()}, ctx.file)
    except ConfigError as exc:
        raise _named_by_setting(exc, written) from None
    if warn:
        _warn_literal_secrets(config.venues)
        _warn_unreachable(config)
    _remember_secrets(config)
    return config


def _in_shape(raw: dict[str, Any], ctx: _Ctx, venues: Sequence[str]) -> dict[str, Any]:
    # The arbitrage file's tables that name venues in their keys, moved where the schema holds them:
    # [leg_faults.<venue>], [symbols.<SYMBOL>.<venue>], [history] <venue>_<kind>_url, [rebalance] <venue>_share.
    source = _leg_faults(raw, ctx, venues)
    symbols = source.get("symbols")
    if isinstance(symbols, dict):
        source["symbols"] = {
            name: _venue_tables(table, venues, ctx, f"symbols.{name}.") if isinstance(table, dict) else table
            for name, table in symbols.items()
        }
    _named_keys(source.get("rebalance"), "_share", "split", venues)
    return source


def _archives(raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    # [history] split in two: its own keys, and the <venue>_<kind>_url keys that name a venue's archive
    # server (HistoryConfig.archives, checked there).
    table = raw.get("history")
    if not isinstance(table, dict):
        return dict(raw), {}
    named = {
        k: v for k, v in table.items() if k.endswith("_url") and any(k.startswith(n + "_") for n in known_venues())
    }
    return {**raw, "history": {k: v for k, v in table.items() if k not in named}}, named


_MOVED: Final = (
    (re.compile(r"\A(leg_faults|symbols\.[A-Z0-9]+)\.venues\.(.+)\Z"), r"\1.\2"),
    (re.compile(r"\Ahistory\.archives\.(.+)\Z"), r"history.\1"),
    (re.compile(r"\Arebalance\.split\.([a-z0-9_]+)\Z"), r"rebalance.\1_share"),
)
"""Where :func:`_in_shape` moved a table that names a venue in its key, and how the file spells it."""


def _as_written(exc: ConfigError) -> ConfigError:
    # A refusal inside a table _in_shape moved names the key as the file spells it.
    if exc.key is not None:
        for moved, written in _MOVED:
            if moved.match(exc.key):
                exc.key = moved.sub(written, exc.key)
                break
    return exc


def _venue_paths(written: Mapping[str, Path], venues: Sequence[str], ctx: _Ctx) -> dict[str, Path]:
    # Each venue's file: as [venues] names it, else <venue>.toml beside arbitrage.toml; it must exist.
    for name in written:
        if name not in known_venues():
            raise ConfigError(ctx.file, f"venues.{name}", f"expected a venue arb knows ({', '.join(known_venues())})")
    out: dict[str, Path] = {}
    for name in venues:
        path = ctx.resolve(written.get(name, Path(f"{name}.toml")))
        if not path.is_file():
            raise ConfigError(ctx.file, f"venues.{name}", f"expected an existing venue file, {path} does not exist")
        out[name] = path
    return out


def _remember_secrets(config: AppConfig) -> None:
    # Every credential the configuration names that can be read now, so no log line ever shows it
    # (arb.logs), even one written before the credential is used.
    alerts = config.alerts
    named = [s for venue in config.venues for s in (venue.api_key, venue.api_secret, venue.api_passphrase)]
    named += [alerts.telegram.token, alerts.webhook.url, alerts.email.password]
    for secret in named:
        if secret is not None and secret.is_set():
            with contextlib.suppress(ConfigError):  # a bad *_FILE is said when the secret is used
                secret.resolve()


def _warn_unreachable(config: AppConfig) -> None:
    # Valid, but nothing would ever trade: say so once per symbol, naming the keys.
    for sym in config.symbols:
        order, limit = sym.strategy.max_order_size, sym.risk.position_limit
        if order > limit:
            where = "" if len(config.symbols) == 1 else f" ({sym.name})"
            log.warning(
                "%s: strategy.max_order_size %g > risk.position_limit %g%s: the gate refuses every pair (one leg "
                "filling alone would take the net position past the limit); raise position_limit or lower the size",
                config.path.name, order, limit, where,
            )  # fmt: skip
