"""Typed, frozen, validated configuration: ``arbitrage.toml`` plus one file per venue.

``load_config()`` reads ``arbitrage.toml`` ([strategy], [risk], [execution], [backtest], [dry_run],
[venues]) and the two venue files it names (``binance.toml``, ``bybit.toml``), and returns one frozen
:class:`AppConfig`. Every mistake raises :class:`arb.errors.ConfigError` naming the file, the dotted key
and what was expected; unknown keys are rejected with the closest allowed key as a suggestion.

Units. Times in TOML carry their unit in the key (``order_timeout_ms``, ``report_interval_s``) and
become int64 nanoseconds in the dataclasses, under the same name with an ``_ns`` suffix
(``order_timeout_ns``). Spreads and tolerances stay in basis points (float), fees are fractions
(``0.001`` = 10 bps), sizes are in base-asset units, money in quote-asset units. Paths are resolved
relative to the folder of the file that names them.

How validation works. Each config dataclass declares its TOML-facing fields as
``field(metadata=_spec(...))``: a :class:`_Spec` (range, unit, pattern) in the field's metadata; the
kind of value (bool, int, float, str, path, list of URLs, one of a ``Literal``, secret, nested table)
comes from the type hint.
One generic walk (:func:`_parse_table`) turns a TOML table into constructor arguments, and the same
specs are checked again in every ``__post_init__`` so that objects built in code, or changed with
``dataclasses.replace`` / :meth:`AppConfig.with_overrides`, obey the same rules. Checks that involve
more than one field live in the ``__post_init__`` of the class that owns the fields.

Secrets. ``api_key`` / ``api_secret`` become :class:`Secret` objects, normally a reference
``"${BINANCE_API_KEY}"`` to an environment variable that is read only by :meth:`Secret.resolve`, so a
backtest loads without keys. No ``repr``, ``str`` or :meth:`AppConfig.to_dict` shows a secret value.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import json
import logging
import math
import os
import re
import sys
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, dataclass, field
from pathlib import Path
from typing import Any, Final, Literal, NoReturn, TypeVar, get_args, get_origin, get_type_hints
from urllib.parse import urlsplit

if sys.version_info >= (3, 11):  # noqa: UP036 - the fallback keeps older interpreters explicit
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from arb.errors import ArbError, ConfigError
from arb.events import ASSET_NAMES, NS_PER_MS, NS_PER_S

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "DEPTH_STREAMS",
    "MARKETS",
    "MAX_STREAMS_PER_CONNECTION",
    "SYMBOL_INSTRUMENT_KEYS",
    "SYMBOL_RISK_KEYS",
    "SYMBOL_SIZE_KEYS",
    "SYMBOL_STRATEGY_KEYS",
    "Account",
    "AlertsConfig",
    "AppConfig",
    "BacktestConfig",
    "DryRunConfig",
    "EmailChannel",
    "Endpoints",
    "ExecutionConfig",
    "FeedConfig",
    "Fees",
    "HistoryConfig",
    "Instrument",
    "Latency",
    "LegFaultRates",
    "LegFaultsConfig",
    "LiveConfig",
    "MissingSecretsError",
    "OpsConfig",
    "RiskConfig",
    "Secret",
    "StrategyConfig",
    "SymbolConfig",
    "SymbolOverrides",
    "TelegramChannel",
    "UnsetVariableError",
    "VenueConfig",
    "WebhookChannel",
    "load_config",
    "load_venue_config",
    "quote_currency",
    "require_credentials",
]

log = logging.getLogger(__name__)

DEFAULT_CONFIG_PATH: Final = Path("config") / "arbitrage.toml"
"""Where :func:`load_config` looks when no path is given, relative to the current directory."""

MARKETS: Final = ("spot", "linear")
"""Venue markets: ``spot`` holdings, or ``linear`` (USDT-margined perpetual) positions."""

DEPTH_STREAMS: Final[Mapping[tuple[str, str], tuple[str, ...]]] = {
    # Binance spot documents 1000 ms (`depth`) and 100 ms; USD-M documents 250 ms (`depth`), 500 ms
    # and 100 ms, and serves the undocumented `depth@0ms` that hftbacktest's collector records.
    ("binance", "spot"): ("depth@100ms", "depth"),
    ("binance", "linear"): ("depth@0ms", "depth@100ms", "depth", "depth@500ms"),
    # Bybit v5 live streams document depths 1, 50, 200 and 1000; 500 is the depth of Bybit's
    # historical order-book archives, kept so recordings of that shape can be described.
    ("bybit", "spot"): ("orderbook.50", "orderbook.1", "orderbook.200", "orderbook.500", "orderbook.1000"),
    ("bybit", "linear"): ("orderbook.50", "orderbook.1", "orderbook.200", "orderbook.500", "orderbook.1000"),
}
"""Allowed ``[feed] depth_stream`` values per (venue, market); the first one is the default."""

MAX_STREAMS_PER_CONNECTION: Final[Mapping[str, int]] = {"binance": 1024, "bybit": 100}
"""``[feed] max_streams_per_connection`` per venue when the file leaves it out."""

_META: Final = "arb.config"
_OVERRIDES_FILE: Final = "<overrides>"
_UNIT_NS: Final = {"ms": NS_PER_MS, "s": NS_PER_S, "h": 3600 * NS_PER_S}
_UNIT_WORD: Final = {"ms": "milliseconds", "s": "seconds", "h": "hours"}
_ENV_REF: Final = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_NETWORK_NAME: Final = re.compile(r"[A-Za-z0-9_-]+")
_INT64_MAX: Final = 2**63 - 1

_T = TypeVar("_T")


_QUOTE_CURRENCIES: Final = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "USD", "EUR", "BTC", "ETH", "BNB")


def quote_currency(symbol: str) -> str:
    """The quote currency a symbol ends in (``BTCUSDT`` -> ``USDT``), or ``"quote"`` when unknown."""
    for quote in _QUOTE_CURRENCIES:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return quote
    return "quote"


# --------------------------------------------------------------------------------------------------
# Secrets


class Secret:
    """An API credential: a reference ``"${NAME}"`` to an environment variable, or a literal.

    The value is read only by :meth:`resolve`, at call time, so a configuration loads even when the
    variable is unset (backtests need no keys). ``repr()`` and ``str()`` show ``Secret(${NAME})`` or
    ``Secret(***)``, never the value. Instead of ``NAME`` itself, ``NAME_FILE`` may name a file holding
    the value (a container's ``/run/secrets/...``, systemd's credentials directory): the value then never
    sits in the process's environment. Every value read is remembered by :mod:`arb.logs`, which keeps it
    out of every log line.

    Not a dataclass on purpose: ``dataclasses.asdict`` would copy a literal value out of a dataclass,
    while it leaves this object whole (and its repr redacted).
    """

    __slots__ = ("_literal", "env_name", "file", "key")

    env_name: str | None
    """Name of the environment variable holding the value; ``None`` for a literal."""
    file: str
    """The file that defined the secret (for error messages)."""
    key: str
    """The key that defined the secret, e.g. ``api_key``."""
    _literal: str | None

    def __init__(
        self,
        *,
        env_name: str | None = None,
        literal: str | None = None,
        file: str = "<python>",
        key: str = "secret",
    ) -> None:
        if (env_name is None) == (literal is None):
            raise ValueError("Secret needs exactly one of env_name and literal")
        if env_name is not None and not _ENV_REF.fullmatch("${" + env_name + "}"):
            raise ValueError(f"not an environment variable name: {env_name!r}")
        object.__setattr__(self, "env_name", env_name)
        object.__setattr__(self, "_literal", literal)
        object.__setattr__(self, "file", file)
        object.__setattr__(self, "key", key)

    @classmethod
    def parse(cls, text: str, *, file: str = "<python>", key: str = "secret") -> Secret:
        """Build a secret from its TOML spelling: ``"${NAME}"`` or a literal string.

        Raises ``ValueError`` for an empty string and for a malformed ``${...}`` reference.
        """
        match = _ENV_REF.fullmatch(text)
        if match:
            return cls(env_name=match.group(1), file=file, key=key)
        if not text:
            raise ValueError("it is empty; leave the key out when there is no credential")
        if "${" in text:
            raise ValueError('a malformed reference; spell it like "${BINANCE_API_KEY}"')
        return cls(literal=text, file=file, key=key)

    @property
    def is_literal(self) -> bool:
        """True when the value was written into the file rather than referenced from the environment."""
        return self._literal is not None

    def is_set(self) -> bool:
        """True when :meth:`resolve` would find a value (a literal, or ``NAME`` or ``NAME_FILE`` set now)."""
        name = self.env_name or ""
        return self._literal is not None or bool(os.environ.get(name)) or bool(os.environ.get(name + "_FILE"))

    def resolve(self) -> str:
        """Return the secret value, reading ``os.environ`` now for an environment reference: ``NAME``, or
        the file ``NAME_FILE`` names (its text without the surrounding whitespace).

        Raises :class:`UnsetVariableError` (a ``ConfigError(file, key, "expected environment variable
        NAME to be set ...")``) when neither is set (or ``NAME`` is empty), and a ``ConfigError`` naming
        ``NAME_FILE`` when both are set or its file cannot be read or is empty.
        """
        from arb.logs import remember_secret

        if self._literal is not None:
            remember_secret(self._literal)
            return self._literal
        assert self.env_name is not None  # one of the two is set, see __init__
        name = self.env_name
        value = os.environ.get(name)
        holder = os.environ.get(name + "_FILE")
        if value and holder:
            raise ConfigError(self.file, self.key, f"expected one of {name} and {name}_FILE to be set, got both")
        if not value and holder:
            try:
                value = Path(holder).read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as error:
                reason = error.strerror if isinstance(error, OSError) and error.strerror else error.__class__.__name__
                raise ConfigError(
                    self.file, self.key, f"expected {name}_FILE to name a readable file, {holder}: {reason}"
                ) from None
            if not value:
                expected = f"expected the file {name}_FILE names ({holder}) to hold the value, got an empty file"
                raise ConfigError(self.file, self.key, expected)
        if not value:
            raise UnsetVariableError(
                self.file,
                self.key,
                f"expected environment variable {name} to be set (or {name}_FILE, naming a file that holds it)",
            )
        remember_secret(value)
        return value

    def redacted(self) -> str:
        """``"${NAME}"`` for an environment reference, ``"***"`` for a literal."""
        return "***" if self.env_name is None else "${" + self.env_name + "}"

    def __repr__(self) -> str:
        return f"Secret({self.redacted()})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return (self.env_name, self._literal) == (other.env_name, other._literal)

    def __hash__(self) -> int:
        return hash((self.env_name, self._literal))

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> NoReturn:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[Callable[..., Secret], tuple[str | None, str | None, str, str]]:
        # copy/deepcopy/pickle (and so dataclasses.asdict) rebuild the object instead of poking slots.
        return (_rebuild_secret, (self.env_name, self._literal, self.file, self.key))


def _rebuild_secret(env_name: str | None, literal: str | None, file: str, key: str) -> Secret:
    return Secret(env_name=env_name, literal=literal, file=file, key=key)


class UnsetVariableError(ConfigError):
    """The environment variable a secret references is unset or empty (:meth:`Secret.resolve`)."""


class MissingSecretsError(ConfigError):
    """Credentials a command needs that are not there, every one at once: per file, the keys and the
    environment variables they reference that are unset (or the keys the file lacks), e.g.
    ``binance.toml: api_key, api_secret: expected environment variables BINANCE_API_KEY and
    BINANCE_API_SECRET to be set; bybit.toml: ...``. ``missing``: (file, key, variable name or None
    for a key the file lacks)."""

    def __init__(self, missing: list[tuple[str, str, str | None]]) -> None:
        self.missing = missing
        clauses = []
        for file in dict.fromkeys(f for f, _, _ in missing):
            here = [(key, name) for f, key, name in missing if f == file]
            unset = [name for _, name in here if name is not None]
            absent = [key for key, name in here if name is None]
            if unset:
                keys = ", ".join(key for key, name in here if name is not None)
                noun = "variable" if len(unset) == 1 else "variables"
                names = unset[0] if len(unset) == 1 else ", ".join(unset[:-1]) + " and " + unset[-1]
                clauses.append(f"{file}: {keys}: expected environment {noun} {names} to be set")
            if absent:
                clauses.append(f'{file}: {", ".join(absent)}: expected "${{ENV_VAR}}" naming where the credential is')
        message = "; ".join(clauses)
        # Each clause names its own file and keys: not ConfigError's one-file, one-key shape.
        ArbError.__init__(self, message)
        self.file, self.key, _ = missing[0]
        self.expected = message


def require_credentials(config: AppConfig, venues: Iterable[int] = (0, 1)) -> None:
    """Check that every venue in ``venues`` (asset numbers) has its API key and secret: referenced in
    its file, and each referenced environment variable set now. Raises :class:`MissingSecretsError`
    naming everything missing at once; reads no value beyond whether it is set."""
    missing: list[tuple[str, str, str | None]] = []
    for v in venues:
        venue = config.venues[v]
        for key in ("api_key", "api_secret"):
            secret: Secret | None = getattr(venue, key)
            if secret is None:
                missing.append((str(venue.path), key, None))
            elif not secret.is_set():
                missing.append((secret.file, secret.key, secret.env_name))
    if missing:
        raise MissingSecretsError(missing)


# --------------------------------------------------------------------------------------------------
# Field specs: one declaration per field, read by the generic walk below


@dataclass(frozen=True, slots=True)
class _Spec:
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    unit: str | None = None  # "ms", "s" or "h": the TOML key ends in _ms/_s/_h and the field in _ns
    toml_float: bool = False  # a time that may be fractional in TOML (latencies)
    pattern: str | None = None
    pattern_doc: str = ""
    url_schemes: tuple[str, ...] = ()
    derived: bool = False  # when absent, the loader computes the value from other keys
    toml_key: str | None = None  # the TOML key, when it is not the field name (nor name minus _ns)
    empty_ok: bool = False  # a string that may be "" (an optional URL left out)


def _spec(**options: Any) -> dict[str, _Spec]:
    """Field metadata marking a field as read from TOML, with its :class:`_Spec` options."""
    return {_META: _Spec(**options)}


class _CodeConfigError(ConfigError):
    """A ConfigError raised while building an object in code; the loaders re-raise it as file errors."""


class _BadValueError(Exception):
    def __init__(self, expected: str) -> None:
        super().__init__(expected)
        self.expected = expected


@dataclass(frozen=True, slots=True)
class _FieldInfo:
    name: str
    key: str  # the TOML key
    hint: Any
    kind: str  # bool int float str path strs choice secret section custom
    spec: _Spec
    default: Any  # MISSING when required

    @property
    def mult(self) -> int:
        return _UNIT_NS[self.spec.unit] if self.spec.unit else 1


def _kind_of(hint: Any) -> str:
    simple = {bool: "bool", int: "int", float: "float", str: "str", Path: "path"}
    if hint in simple:
        return simple[hint]
    origin, args = get_origin(hint), get_args(hint)
    if origin is Literal:
        return "choice"
    if origin is tuple and args == (str, Ellipsis):
        return "strs"
    if origin in (types.UnionType, typing.Union) and set(args) == {Secret, type(None)}:
        return "secret"
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return "section"
    return "custom"


_FIELDS: dict[type, tuple[_FieldInfo, ...]] = {}


def _fields_of(cls: type) -> tuple[_FieldInfo, ...]:
    """The spec'd fields of a config dataclass, in declaration order (cached per class)."""
    if cls in _FIELDS:
        return _FIELDS[cls]
    hints = get_type_hints(cls)
    infos = []
    for f in dataclasses.fields(cls):
        spec = f.metadata.get(_META)
        if spec is None:
            continue
        key = spec.toml_key or (f.name[: -len("_ns")] + "_" + spec.unit if spec.unit else f.name)
        infos.append(_FieldInfo(f.name, key, hints[f.name], _kind_of(hints[f.name]), spec, f.default))
    _FIELDS[cls] = tuple(infos)
    return _FIELDS[cls]


def _num(x: float) -> str:
    return f"{x:g}"


def _range_text(spec: _Spec, scale: int) -> str:
    if spec.ge is not None and spec.le is not None:
        return f" between {_num(spec.ge * scale)} and {_num(spec.le * scale)}"
    parts = []
    if spec.gt is not None:
        parts.append(f"> {_num(spec.gt * scale)}")
    if spec.ge is not None:
        parts.append(f">= {_num(spec.ge * scale)}")
    if spec.le is not None:
        parts.append(f"<= {_num(spec.le * scale)}")
    return (" " + " and ".join(parts)) if parts else ""


def _expectation(info: _FieldInfo, *, toml: bool) -> str:
    """What a valid value looks like, e.g. ``a number >= 0`` or ``an integer number of milliseconds > 0``."""
    spec = info.spec
    if spec.unit:
        if toml:
            what = ("a number of " if spec.toml_float else "an integer number of ") + _UNIT_WORD[spec.unit]
        else:
            what = "an integer number of nanoseconds"
        return what + _range_text(spec, 1 if toml else info.mult)
    if info.kind == "choice":
        return "one of " + ", ".join(f'"{c}"' for c in get_args(info.hint))
    what = {
        "bool": "true or false",
        "int": "an integer",
        "float": "a number",
        "str": "a string",
        "path": "a path (string)",
        "strs": "a list of strings" if spec.empty_ok else "a non-empty list of strings",
        "secret": 'a string: "${ENV_VAR_NAME}" (recommended) or the literal value',
    }.get(info.kind, f"a {getattr(info.hint, '__name__', info.hint)}")
    if spec.pattern_doc:
        what += f" of {spec.pattern_doc}"
    if spec.url_schemes:
        what += " (" + " or ".join(f"{s}://" for s in spec.url_schemes) + " URLs)"
    return what + _range_text(spec, 1)


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, (str, list, tuple)):
        text = json.dumps(value, default=str)
        return text if len(text) <= 80 else text[:77] + "..."
    return repr(value)


def _type_name(value: Any) -> str:
    return "table" if isinstance(value, dict) else type(value).__name__


def _got(value: Any) -> str:
    return f"got {_show(value)} ({_type_name(value)})"


def _in_range(spec: _Spec, value: float) -> bool:
    return (
        (spec.ge is None or value >= spec.ge)
        and (spec.gt is None or value > spec.gt)
        and (spec.le is None or value <= spec.le)
    )


def _is_number(value: Any, *, ints_only: bool = False) -> bool:
    if isinstance(value, bool):  # bool is an int to Python, never a number to us
        return False
    if isinstance(value, int):
        return True
    return not ints_only and isinstance(value, float) and math.isfinite(value)


def _check(info: _FieldInfo, value: Any, *, toml: bool, origin: tuple[str, str] = ("<python>", "")) -> Any:
    """Validate one value of ``info``; return it converted (ns, float, Path, tuple, Secret).

    ``toml`` selects the TOML spelling (times in ms/s) over the in-code one (times in ns).
    ``origin`` is (file, dotted key), recorded in a parsed :class:`Secret`. Raises :class:`_BadValueError`.
    """
    spec, kind = info.spec, info.kind

    def bad(extra: str = "") -> _BadValueError:
        return _BadValueError(f"expected {_expectation(info, toml=toml)}{extra}, {_got(value)}")

    if spec.unit:
        if toml:
            if not _is_number(value, ints_only=not spec.toml_float) or not _in_range(spec, value):
                raise bad()
            ns = round(value * info.mult)
        elif not _is_number(value, ints_only=True) or not _in_range(spec, value / info.mult):
            raise bad()
        else:
            ns = value
        if abs(ns) > _INT64_MAX:
            raise bad(" that fits in int64 nanoseconds (under 292 years)")
        return ns
    if kind == "bool":
        if not isinstance(value, bool):
            raise bad()
        return value
    if kind in ("int", "float"):
        if not _is_number(value, ints_only=kind == "int") or not _in_range(spec, value):
            raise bad()
        if kind == "int" and abs(value) > _INT64_MAX:
            raise bad(" that fits in int64")
        return float(value) if kind == "float" else value
    if kind == "str":
        if not isinstance(value, str) or (spec.pattern and not re.fullmatch(spec.pattern, value)):
            raise bad()
        if spec.url_schemes and not (spec.empty_ok and value == "") and not _is_url(value, spec.url_schemes):
            raise bad()
        return value
    if kind == "choice":
        if not isinstance(value, str) or value not in get_args(info.hint):
            raise bad()
        return value
    if kind == "path":
        if isinstance(value, str) and value:
            return Path(value)
        if not toml and isinstance(value, Path):
            return value
        raise bad()
    if kind == "strs":
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise bad()
        if not value and not spec.empty_ok:
            raise bad()
        if spec.url_schemes and not all(_is_url(v, spec.url_schemes) for v in value):
            raise bad()
        return tuple(value)
    if kind == "secret":
        if not toml and (value is None or isinstance(value, Secret)):
            return value
        if not toml or not isinstance(value, str):
            raise bad()
        try:
            return Secret.parse(value, file=origin[0], key=origin[1])
        except ValueError as exc:
            raise bad(f" ({exc})") from None
    if kind == "section":
        if not isinstance(value, info.hint):
            raise bad()
        return value
    return value  # "custom": the owning class checks it in __post_init__


def _is_url(text: str, schemes: tuple[str, ...]) -> bool:
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme in schemes and bool(parts.hostname)


def _validate_instance(obj: Any) -> None:
    """Check every spec'd field of a config object built in code; coerce int->float, str->Path."""
    for info in _fields_of(type(obj)):
        value = getattr(obj, info.name)
        try:
            checked = _check(info, value, toml=False)
        except _BadValueError as bad:
            raise _CodeConfigError(type(obj).__name__, info.name, bad.expected) from None
        if checked is not value:
            object.__setattr__(obj, info.name, checked)


def _fail(obj: Any, key: str, expected: str) -> NoReturn:
    raise _CodeConfigError(type(obj).__name__, key, expected)


def _fmt_ms(ns: int) -> str:
    return f"{_num(ns / NS_PER_MS)} ms"


# --------------------------------------------------------------------------------------------------
# arbitrage.toml


@dataclass(frozen=True, slots=True)
class StrategyConfig:
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
    """

    symbol: str = field(
        metadata=_spec(pattern=r"[A-Z0-9]+", pattern_doc='upper-case letters and digits, e.g. "BTCUSDT"', derived=True)
    )
    min_spread_bps: float = field(metadata=_spec(ge=0))
    max_order_size: float = field(metadata=_spec(gt=0))
    max_position_size: float = field(metadata=_spec(gt=0))
    rebalance_threshold: float = field(metadata=_spec(ge=0))
    book_levels: int = field(default=5, metadata=_spec(ge=1, le=50))
    cooldown_ns: int = field(default=0, metadata=_spec(ge=0, unit="ms"))
    symbols: tuple[str, ...] = field(default=(), metadata=_spec(derived=True, empty_ok=True))
    funding_horizon_ns: int = field(default=0, metadata=_spec(ge=0, le=8760, unit="h", toml_float=True))
    close_before_funding_ns: int = field(default=0, metadata=_spec(ge=0, le=86_400, unit="s"))

    def __post_init__(self) -> None:
        _validate_instance(self)
        if not self.symbols:
            object.__setattr__(self, "symbols", (self.symbol,))
        for name in self.symbols:
            if not re.fullmatch(r"[A-Z0-9]+", name):
                expected = 'expected symbols of upper-case letters and digits, e.g. "BTCUSDT"'
                _fail(self, "symbols", f"{expected}, {_got(name)}")
        if self.symbols[0] != self.symbol:
            _fail(self, "symbol", f"expected the first of symbols ({self.symbols[0]}), {_got(self.symbol)}")
        twice = sorted({name for name in self.symbols if self.symbols.count(name) > 1})
        if twice:
            _fail(self, "symbols", f"expected each symbol once, got {', '.join(twice)} more than once")
        quotes = {name: quote_currency(name) for name in self.symbols}
        if len(set(quotes.values())) > 1:
            listed = ", ".join(f"{name} in {quote}" for name, quote in quotes.items())
            _fail(self, "symbols", f"expected every symbol quoted in one currency (each venue keeps one quote "
                  f"balance), got {listed}")  # fmt: skip


@dataclass(frozen=True, slots=True)
class RiskConfig:
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

    max_drawdown: float = field(metadata=_spec(gt=0))
    stop_loss_bps: float = field(metadata=_spec(gt=0))
    position_limit: float = field(metadata=_spec(gt=0))
    max_notional_per_venue: float = field(default=1e12, metadata=_spec(gt=0))
    stale_after_ns: int = field(default=2_000 * NS_PER_MS, metadata=_spec(gt=0, unit="ms"))
    max_open_orders: int = field(default=4, metadata=_spec(ge=1))
    max_daily_loss: float = field(default=0.0, metadata=_spec(ge=0))
    max_daily_loss_fraction: float = field(default=0.0, metadata=_spec(ge=0, le=1))
    daily_reset_hour_utc: int = field(default=0, metadata=_spec(ge=0, le=23))
    max_pair_loss: float = field(default=0.0, metadata=_spec(ge=0))
    max_pairs_per_day: int = field(default=0, metadata=_spec(ge=0, le=4096))
    min_pair_interval_ns: int = field(default=0, metadata=_spec(ge=0, unit="ms"))
    max_imbalance_hold_ns: int = field(default=0, metadata=_spec(ge=0, unit="ms"))
    max_capital_use: float = field(default=0.0, metadata=_spec(ge=0, le=1))
    max_unknown_orders: int = field(default=0, metadata=_spec(ge=0))
    max_symbol_share: float = field(default=0.0, metadata=_spec(ge=0, le=1))
    max_total_notional: float = field(default=0.0, metadata=_spec(ge=0))
    min_liquidation_distance: float = field(default=0.0, metadata=_spec(ge=0, le=0.5))

    def __post_init__(self) -> None:
        _validate_instance(self)


@dataclass(frozen=True, slots=True)
class ExecutionConfig:
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

    order_timeout_ns: int = field(metadata=_spec(gt=0, unit="ms"))
    slippage_tolerance_bps: float = field(metadata=_spec(ge=0))
    order_type: Literal["ioc", "limit"] = field(default="ioc", metadata=_spec())
    hedge_mode: Literal["hedge", "unwind"] = field(default="hedge", metadata=_spec())
    max_hedge_attempts: int = field(default=3, metadata=_spec(ge=1))
    hedge_retry_ns: int = field(default=1_000 * NS_PER_MS, metadata=_spec(gt=0, unit="ms"))

    def __post_init__(self) -> None:
        _validate_instance(self)


@dataclass(frozen=True, slots=True)
class LegFaultRates:
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

    reject: float = field(default=0.0, metadata=_spec(ge=0, le=1))
    partial: float = field(default=0.0, metadata=_spec(ge=0, le=1))
    partial_min: float = field(default=0.1, metadata=_spec(ge=0, le=1))
    partial_max: float = field(default=0.9, metadata=_spec(ge=0, le=1))
    late: float = field(default=0.0, metadata=_spec(ge=0, le=1))
    late_ns: int = field(default=0, metadata=_spec(ge=0, unit="ms", toml_float=True))

    def __post_init__(self) -> None:
        _validate_instance(self)
        total = 0.0
        for key in ("reject", "partial", "late"):
            total += getattr(self, key)
            if total > 1.0 + 1e-12:
                _fail(
                    self,
                    key,
                    "expected reject + partial + late <= 1 (each order draws at most one fault), got "
                    f"{_num(self.reject)} + {_num(self.partial)} + {_num(self.late)} = "
                    f"{_num(self.reject + self.partial + self.late)}",
                )
        if self.partial_max < self.partial_min:
            _fail(self, "partial_max", f"expected a value >= partial_min ({_num(self.partial_min)}), "
                  f"{_got(self.partial_max)}")  # fmt: skip
        if self.late > 0 and self.late_ns == 0:
            _fail(self, "late_ns", f"expected a delay > 0 when late > 0 (late = {_num(self.late)}), got 0 ms")

    @property
    def active(self) -> bool:
        """True when any fault can happen."""
        return self.reject + self.partial + self.late > 0


@dataclass(frozen=True, slots=True)
class LegFaultsConfig:
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

    seed: int = field(default=0, metadata=_spec(ge=0))
    hedges: bool = field(default=False, metadata=_spec())
    binance: LegFaultRates = field(default=LegFaultRates(), metadata=_spec())
    bybit: LegFaultRates = field(default=LegFaultRates(), metadata=_spec())

    def __post_init__(self) -> None:
        _validate_instance(self)

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


@dataclass(frozen=True, slots=True)
class BacktestConfig:
    """``[backtest]``.

    Attributes:
        recordings: Folder of raw recordings and converted ``.npz`` files, resolved against the folder
            of ``arbitrage.toml`` when loaded from a file.
        out: Folder for backtest reports, resolved the same way.
        feed_latency: ``"recorded"`` uses each row's recorded ``local_ts``; ``"constant"`` replaces the
            feed latency with each venue's ``latency.feed_ms``.
        initial_equity_check: Check the starting balances against the strategy's limits before a run.
    """

    recordings: Path = field(default=Path("../recordings"), metadata=_spec())
    out: Path = field(default=Path("../results"), metadata=_spec())
    feed_latency: Literal["recorded", "constant"] = field(default="recorded", metadata=_spec())
    initial_equity_check: bool = field(default=True, metadata=_spec())

    def __post_init__(self) -> None:
        _validate_instance(self)


@dataclass(frozen=True, slots=True)
class HistoryConfig:
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

    tardis_url: str = field(default="https://datasets.tardis.dev/v1", metadata=_spec(url_schemes=("http", "https")))
    bybit_orderbook_url: str = field(
        default="https://quote-saver.bycsi.com", metadata=_spec(url_schemes=("http", "https"))
    )
    bybit_trades_url: str = field(default="https://public.bybit.com", metadata=_spec(url_schemes=("http", "https")))
    archive_feed_latency_ns: int = field(
        default=10 * NS_PER_MS, metadata=_spec(ge=0, le=60_000, unit="ms", toml_float=True)
    )
    downloads: int = field(default=3, metadata=_spec(ge=1, le=8))

    def __post_init__(self) -> None:
        _validate_instance(self)


@dataclass(frozen=True, slots=True)
class DryRunConfig:
    """``[dry_run]``: paper trading on live or replayed data.

    Attributes:
        report_interval_ns: Time between two progress reports, int64 ns (TOML: ``report_interval_s``).
        state_dir: Folder for the paper account's state and fills, resolved like ``backtest.out``.
        replay_speed: Replay speed multiplier for ``arb dry-run`` on a recording: 1.0 is real time,
            2.0 twice as fast; must be > 0 (on the command line ``--speed max`` replays as fast as
            possible).
    """

    report_interval_ns: int = field(default=300 * NS_PER_S, metadata=_spec(gt=0, unit="s"))
    state_dir: Path = field(default=Path("../paper"), metadata=_spec())
    replay_speed: float = field(default=1.0, metadata=_spec(gt=0))

    def __post_init__(self) -> None:
        _validate_instance(self)


@dataclass(frozen=True, slots=True)
class LiveConfig:
    """``[live]``: real orders, their journal and how unknown outcomes are found out.

    Attributes:
        state_dir: Folder of the journal (``<account>.sqlite``) and live state, resolved like
            ``backtest.out``.
        account: Name of the trading account: the journal file's name and the key of every record.
        journal_url: A database URL for the journal instead of the SQLite file, e.g.
            ``postgresql+psycopg://arb@db.example/arb`` (the password comes from ``PGPASSWORD`` or
            ``~/.pgpass``, never from this file). Empty: SQLite in ``state_dir``.
        journal_synchronous: SQLite's ``synchronous`` for the journal: ``"full"`` (each commit on
            disk before the order goes out; survives a power cut) or ``"normal"`` (survives a
            process crash; a power cut may lose the last commits).
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
    """

    state_dir: Path = field(default=Path("../live"), metadata=_spec())
    account: str = field(
        default="main", metadata=_spec(pattern=r"[A-Za-z0-9_-]{1,40}", pattern_doc="letters, digits, _ and -")
    )
    journal_url: str = field(default="", metadata=_spec())
    journal_synchronous: Literal["full", "normal"] = field(default="full", metadata=_spec())
    request_timeout_ns: int = field(default=5_000 * NS_PER_MS, metadata=_spec(gt=0, unit="ms"))
    unknown_check_interval_ns: int = field(default=500 * NS_PER_MS, metadata=_spec(gt=0, unit="ms"))
    unknown_checks: int = field(default=5, metadata=_spec(ge=1))
    unknown_grace_ns: int = field(default=10_000 * NS_PER_MS, metadata=_spec(ge=0, unit="ms"))
    fill_check_after_ns: int = field(default=2_000 * NS_PER_MS, metadata=_spec(gt=0, unit="ms"))
    shutdown_timeout_ns: int = field(default=10_000 * NS_PER_MS, metadata=_spec(gt=0, unit="ms"))
    stop_timeout_ns: int = field(default=60 * NS_PER_S, metadata=_spec(gt=0, le=3600, unit="s"))
    dead_man_window_ns: int = field(default=30 * NS_PER_S, metadata=_spec(ge=0, le=300, unit="s"))

    def __post_init__(self) -> None:
        _validate_instance(self)
        if 0 < self.dead_man_window_ns < 3 * NS_PER_S:
            _fail(
                self,
                "dead_man_window_ns",
                f"expected 0 (off) or 3 to 300 seconds, got {self.dead_man_window_ns / NS_PER_S:g} s",
            )
        if self.stop_timeout_ns <= self.shutdown_timeout_ns:
            _fail(
                self,
                "stop_timeout_ns",
                f"expected more than shutdown_timeout_ms ({self.shutdown_timeout_ns / NS_PER_S:g} s: the clean stop "
                f"resolves orders in flight first), got {self.stop_timeout_ns / NS_PER_S:g} s",
            )
        if self.journal_url and "://" not in self.journal_url:
            expected = "expected a database URL like postgresql+psycopg://user@host/db"
            _fail(self, "journal_url", f"{expected}, {_got(self.journal_url)}")
        if "@" in self.journal_url and ":" in self.journal_url.split("://", 1)[-1].split("@", 1)[0]:
            _fail(self, "journal_url", "expected no password in the URL: set PGPASSWORD or use ~/.pgpass")


@dataclass(frozen=True, slots=True)
class OpsConfig:
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

    enabled: bool = field(default=True, metadata=_spec())
    host: str = field(default="127.0.0.1", metadata=_spec())
    port: int = field(default=8321, metadata=_spec(ge=0, le=65535))
    metrics: bool = field(default=True, metadata=_spec())
    dashboard: bool = field(default=True, metadata=_spec())
    snapshot_ns: int = field(default=500 * NS_PER_MS, metadata=_spec(ge=10, le=60_000, unit="ms"))
    history: int = field(default=3600, metadata=_spec(ge=10, le=1_000_000))
    daily_report: bool = field(default=True, metadata=_spec())
    health_max_age_ns: int = field(default=10_000 * NS_PER_MS, metadata=_spec(ge=100, le=3_600_000, unit="ms"))

    def __post_init__(self) -> None:
        _validate_instance(self)
        if not self.host or any(c.isspace() for c in self.host):
            _fail(self, "host", f"expected an address to listen on such as 127.0.0.1, {_got(self.host)}")
        if self.health_max_age_ns < 2 * self.snapshot_ns:
            _fail(
                self,
                "health_max_age_ns",
                f"expected at least twice snapshot_ms ({2 * self.snapshot_ns / NS_PER_MS:g} ms: a snapshot comes "
                f"every snapshot_ms), got {self.health_max_age_ns / NS_PER_MS:g} ms",
            )


_ROUTES: Final = ("all", "critical")


@dataclass(frozen=True, slots=True)
class TelegramChannel:
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

    token: Secret | None = field(default=None, metadata=_spec())
    chat_id: str = field(default="", metadata=_spec(empty_ok=True))
    base_url: str = field(default="https://api.telegram.org", metadata=_spec(url_schemes=("http", "https")))
    route: Literal["all", "critical"] = field(default="all", metadata=_spec())
    min_interval_ns: int = field(default=1_000 * NS_PER_MS, metadata=_spec(ge=0, unit="ms"))
    timeout_ns: int = field(default=10_000 * NS_PER_MS, metadata=_spec(gt=0, unit="ms"))
    commands: bool = field(default=False, metadata=_spec())

    def __post_init__(self) -> None:
        _validate_instance(self)
        if self.token is not None and not self.chat_id:
            _fail(self, "chat_id", "expected the chat to write to when a token is set, got none")

    @property
    def enabled(self) -> bool:
        return self.token is not None


@dataclass(frozen=True, slots=True)
class WebhookChannel:
    """``[alerts.webhook]``: a JSON POST carrying ``text`` and ``content`` (Slack and Discord take it).

    Attributes:
        url: The webhook's address, ``"${ARB_WEBHOOK_URL}"`` (it is a credential: from the environment).
        route, min_interval_ns, timeout_ns: As for Telegram.
    """

    url: Secret | None = field(default=None, metadata=_spec())
    route: Literal["all", "critical"] = field(default="all", metadata=_spec())
    min_interval_ns: int = field(default=1_000 * NS_PER_MS, metadata=_spec(ge=0, unit="ms"))
    timeout_ns: int = field(default=10_000 * NS_PER_MS, metadata=_spec(gt=0, unit="ms"))

    def __post_init__(self) -> None:
        _validate_instance(self)

    @property
    def enabled(self) -> bool:
        return self.url is not None


@dataclass(frozen=True, slots=True)
class EmailChannel:
    """``[alerts.email]``: mail through an SMTP server (off while ``to`` is empty).

    Attributes:
        host, port: The SMTP server.
        sender: The From address.
        to: The recipients.
        username: The login, if the server wants one; ``password`` from the environment.
        starttls: Upgrade the connection with STARTTLS (``tls`` for implicit TLS on 465).
        route, min_interval_ns, timeout_ns: As for Telegram.
    """

    host: str = field(default="localhost", metadata=_spec())
    port: int = field(default=587, metadata=_spec(ge=1, le=65535))
    sender: str = field(default="arb@localhost", metadata=_spec())
    to: tuple[str, ...] = field(default=(), metadata=_spec(empty_ok=True))
    username: str = field(default="", metadata=_spec(empty_ok=True))
    password: Secret | None = field(default=None, metadata=_spec())
    security: Literal["starttls", "tls", "none"] = field(default="starttls", metadata=_spec())
    route: Literal["all", "critical"] = field(default="critical", metadata=_spec())
    min_interval_ns: int = field(default=10_000 * NS_PER_MS, metadata=_spec(ge=0, unit="ms"))
    timeout_ns: int = field(default=30_000 * NS_PER_MS, metadata=_spec(gt=0, unit="ms"))

    def __post_init__(self) -> None:
        _validate_instance(self)
        for address in (self.sender, *self.to):
            if "@" not in address:
                key = "sender" if address == self.sender else "to"
                _fail(self, key, f"expected an email address, {_got(address)}")

    @property
    def enabled(self) -> bool:
        return bool(self.to)


@dataclass(frozen=True, slots=True)
class AlertsConfig:
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

    enabled: bool = field(default=True, metadata=_spec())
    cooldown_ns: int = field(default=300 * NS_PER_S, metadata=_spec(ge=0, unit="s"))
    queue_size: int = field(default=256, metadata=_spec(ge=1, le=100_000))
    stale_after_ns: int = field(default=10 * NS_PER_S, metadata=_spec(gt=0, unit="s"))
    resync_burst: int = field(default=5, metadata=_spec(ge=1))
    resync_window_ns: int = field(default=60 * NS_PER_S, metadata=_spec(gt=0, unit="s"))
    abnormal_spread_bps: float = field(default=100.0, metadata=_spec(ge=0))
    abnormal_spread_sigma: float = field(default=0.0, metadata=_spec(ge=0))
    disk_free_min_mb: float = field(default=1024.0, metadata=_spec(ge=0))
    order_ack_p99_ns: int = field(default=500 * NS_PER_MS, metadata=_spec(ge=0, unit="ms", toml_float=True))
    order_ack_window_ns: int = field(default=300 * NS_PER_S, metadata=_spec(gt=0, unit="s"))
    rss_max_mb: float = field(default=0.0, metadata=_spec(ge=0))
    daily_summary: bool = field(default=True, metadata=_spec())
    telegram: TelegramChannel = field(default=TelegramChannel(), metadata=_spec())
    webhook: WebhookChannel = field(default=WebhookChannel(), metadata=_spec())
    email: EmailChannel = field(default=EmailChannel(), metadata=_spec())

    def __post_init__(self) -> None:
        _validate_instance(self)


@dataclass(frozen=True, slots=True)
class _VenueFiles:
    """``[venues]``: the venue files, relative to the folder of ``arbitrage.toml``."""

    binance: Path = field(default=Path("binance.toml"), metadata=_spec())
    bybit: Path = field(default=Path("bybit.toml"), metadata=_spec())


# --------------------------------------------------------------------------------------------------
# Venue files


@dataclass(frozen=True, slots=True)
class Endpoints:
    """``[endpoints.<market>.<network>]``: where one venue network lives.

    Attributes:
        ws: WebSocket URLs (``ws://`` or ``wss://``), tried in turn for failover.
        rest: REST base URL (``http://`` or ``https://``).
        ws_private: The private (user-data) WebSocket for live trading: Binance spot's WebSocket API
            (``wss://ws-api.binance.com:443/ws-api/v3``), Binance USD-M's user-stream base
            (``wss://fstream.binance.com/ws``), Bybit's ``wss://stream.bybit.com/v5/private``.
            Empty when the network is only read (``arb live`` refuses it).
    """

    ws: tuple[str, ...] = field(metadata=_spec(url_schemes=("ws", "wss")))
    rest: str = field(metadata=_spec(url_schemes=("http", "https")))
    ws_private: str = field(default="", metadata=_spec(url_schemes=("ws", "wss"), empty_ok=True))

    def __post_init__(self) -> None:
        _validate_instance(self)


@dataclass(frozen=True, slots=True)
class Fees:
    """``[fees]``: trading fees as fractions of traded value (0.001 = 10 bps; negative = rebate).

    Attributes:
        maker: Fee on fills of resting orders, between -0.01 and 0.01.
        taker: Fee on fills of aggressive orders, between -0.01 and 0.01.
    """

    maker: float = field(metadata=_spec(ge=-0.01, le=0.01))
    taker: float = field(metadata=_spec(ge=-0.01, le=0.01))

    def __post_init__(self) -> None:
        _validate_instance(self)


@dataclass(frozen=True, slots=True)
class Instrument:
    """``[instrument]``: the venue's trading rules for the symbol.

    Attributes:
        tick_size: Price increment, quote currency.
        lot_size: Quantity increment, base units (contracts for linear markets, see ``contract_size``).
        min_qty: Smallest order quantity, base units; in TOML it defaults to ``lot_size``.
        min_notional: Smallest order value (price x quantity), quote currency.
        contract_size: Base units per contract; 1.0 for spot and for Binance/Bybit USDT perpetuals.
    """

    tick_size: float = field(metadata=_spec(gt=0))
    lot_size: float = field(metadata=_spec(gt=0))
    min_qty: float = field(metadata=_spec(ge=0, derived=True))
    min_notional: float = field(default=0.0, metadata=_spec(ge=0))
    contract_size: float = field(default=1.0, metadata=_spec(gt=0))

    def __post_init__(self) -> None:
        _validate_instance(self)


@dataclass(frozen=True, slots=True)
class Latency:
    """``[latency]``: latencies assumed by backtests (TOML in milliseconds, may be fractional).

    Attributes:
        order_entry_ns: Time from sending an order to the venue acting on it, int64 ns
            (TOML: ``order_entry_ms``).
        order_response_ns: Time from the venue acting to the response arriving, int64 ns
            (TOML: ``order_response_ms``).
        feed_ns: Extra market-data latency added in backtests, int64 ns (TOML: ``feed_ms``).
    """

    order_entry_ns: int = field(metadata=_spec(ge=0, unit="ms", toml_float=True))
    order_response_ns: int = field(metadata=_spec(ge=0, unit="ms", toml_float=True))
    feed_ns: int = field(default=0, metadata=_spec(ge=0, unit="ms", toml_float=True))

    def __post_init__(self) -> None:
        _validate_instance(self)


@dataclass(frozen=True, slots=True)
class Account:
    """``[account]``: starting balances for backtests and the paper account.

    Attributes:
        base: Starting base-asset holdings, base units; must be 0 for linear markets (positions, not
            holdings).
        quote: Starting quote-asset balance, quote currency.
    """

    base: float = field(default=0.0, metadata=_spec(ge=0))
    quote: float = field(default=10_000.0, metadata=_spec(ge=0))

    def __post_init__(self) -> None:
        _validate_instance(self)


@dataclass(frozen=True, slots=True)
class PerpetualConfig:
    """``[perpetual]``: what ``arb live`` sets on a linear venue at start (ignored on spot).

    Attributes:
        leverage: The symbol's leverage, 1 to 125 (the venue refuses more than the symbol allows).
        margin_mode: ``"cross"`` or ``"isolated"``. Binance USD-M sets it per symbol; on a Bybit
            unified account it is account-wide, so arb checks it and refuses to start when it
            differs rather than change every position of the account.
        maintenance_margin_rate: The fraction of a position's value the venue requires as
            maintenance margin (its first tier: 0.004 on Binance BTCUSDT, 0.005 on Bybit); the risk
            gate's liquidation estimate uses it in every mode.
        funding_interval_ns: The time between two funding times, int64 ns (TOML:
            ``funding_interval_h``; 8 hours, most symbols'); the kernel's funding term counts the
            funding times in its horizon with it.

    Every mode uses ``leverage``: a pair whose legs would need more initial margin (position value
    over leverage, every symbol's on the venue) than the venue's equity is refused by the risk gate,
    and the paper executor rejects such an order as the venue does.
    """

    leverage: int = field(default=1, metadata=_spec(ge=1, le=125))
    margin_mode: Literal["cross", "isolated"] = field(default="cross", metadata=_spec())
    maintenance_margin_rate: float = field(default=0.004, metadata=_spec(ge=0, le=0.5))
    funding_interval_ns: int = field(default=8 * 3600 * NS_PER_S, metadata=_spec(ge=1, le=24, unit="h"))

    def __post_init__(self) -> None:
        _validate_instance(self)


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """``[feed]``: the market-data connection.

    Attributes:
        depth_stream: Depth channel, see :data:`DEPTH_STREAMS`; in TOML it defaults per venue and
            market (Binance spot ``depth@100ms``, Binance linear ``depth@0ms``, Bybit ``orderbook.50``).
        snapshot_limit: Levels in the REST snapshot used for book sync (Binance only).
        stale_after_ns: No message for this long marks the feed stale, int64 ns.
        reconnect_after_stale_ns: Stale for this long forces a reconnect, int64 ns; must be greater
            than ``stale_after_ns``.
        ping_interval_ns: Interval between client pings, int64 ns.
        read_timeout_ns: A connection silent for this long is closed, int64 ns.
        backoff_initial_ns: First reconnect delay, int64 ns; doubles up to ``backoff_max_ns``.
        backoff_max_ns: Largest reconnect delay, int64 ns.
        failover_after: Consecutive failures on one endpoint before moving to the next ``ws`` URL.
        max_buffered_diffs: Depth diffs buffered while a snapshot is in flight; more forces a resync.
        max_streams_per_connection: Streams (Binance) or topics (Bybit) one connection carries; more
            symbols than fit open more connections. In TOML it defaults per venue: Binance 1024 (its
            documented limit), Bybit 100 (arb's own cap: Bybit limits a connection's subscriptions by
            their length, not their count).

    Every ``*_ns`` field is spelled ``*_ms`` in TOML.
    """

    depth_stream: str = field(metadata=_spec(derived=True))
    snapshot_limit: int = field(default=1000, metadata=_spec(ge=1, le=5000))
    stale_after_ns: int = field(default=2_000 * NS_PER_MS, metadata=_spec(gt=0, unit="ms"))
    reconnect_after_stale_ns: int = field(default=10_000 * NS_PER_MS, metadata=_spec(gt=0, unit="ms"))
    ping_interval_ns: int = field(default=20_000 * NS_PER_MS, metadata=_spec(gt=0, unit="ms"))
    read_timeout_ns: int = field(default=30_000 * NS_PER_MS, metadata=_spec(gt=0, unit="ms"))
    backoff_initial_ns: int = field(default=250 * NS_PER_MS, metadata=_spec(gt=0, unit="ms"))
    backoff_max_ns: int = field(default=30_000 * NS_PER_MS, metadata=_spec(gt=0, unit="ms"))
    failover_after: int = field(default=3, metadata=_spec(ge=1))
    max_buffered_diffs: int = field(default=10_000, metadata=_spec(ge=1))
    max_streams_per_connection: int = field(default=1024, metadata=_spec(ge=1, le=1024, derived=True))

    def __post_init__(self) -> None:
        _validate_instance(self)
        if self.reconnect_after_stale_ns <= self.stale_after_ns:
            _fail(
                self,
                "reconnect_after_stale_ns",
                f"expected a value greater than stale_after ({_fmt_ms(self.stale_after_ns)}), "
                f"got {_fmt_ms(self.reconnect_after_stale_ns)}",
            )
        if self.backoff_max_ns < self.backoff_initial_ns:
            _fail(
                self,
                "backoff_max_ns",
                f"expected a value >= backoff_initial ({_fmt_ms(self.backoff_initial_ns)}), "
                f"got {_fmt_ms(self.backoff_max_ns)}",
            )


@dataclass(frozen=True, slots=True)
class VenueConfig:
    """One venue file (``binance.toml`` or ``bybit.toml``).

    Attributes:
        name: ``"binance"`` or ``"bybit"``: the ``[venues]`` key that named the file.
        path: The venue file, resolved.
        market: ``"spot"`` or ``"linear"``.
        all_endpoints: Every ``[endpoints.<market>.<network>]`` table: market -> network -> Endpoints.
        fees, instrument, latency, feed, account, perpetual: The sections of the same names.
        network: Which network of ``all_endpoints[market]`` to use: ``"mainnet"``, ``"testnet"`` or a
            user-defined one such as ``"local"`` (a fake venue on 127.0.0.1).
        api_key, api_secret: Credentials, or ``None`` (backtests and dry runs need none).
        endpoints: ``all_endpoints[market][network]``, computed.
    """

    name: str
    path: Path
    market: Literal["spot", "linear"] = field(metadata=_spec())
    all_endpoints: Mapping[str, Mapping[str, Endpoints]] = field(hash=False, metadata=_spec(toml_key="endpoints"))
    fees: Fees = field(metadata=_spec())
    instrument: Instrument = field(metadata=_spec())
    latency: Latency = field(metadata=_spec())
    feed: FeedConfig = field(metadata=_spec())
    network: str = field(
        default="testnet",
        metadata=_spec(pattern=_NETWORK_NAME.pattern, pattern_doc="letters, digits, _ and -"),
    )
    account: Account = field(default=Account(), metadata=_spec())
    perpetual: PerpetualConfig = field(default=PerpetualConfig(), metadata=_spec())
    api_key: Secret | None = field(default=None, metadata=_spec())
    api_secret: Secret | None = field(default=None, metadata=_spec())
    endpoints: Endpoints = field(init=False)

    def __post_init__(self) -> None:
        _validate_instance(self)
        if self.name not in ASSET_NAMES:
            _fail(self, "name", f"expected one of {', '.join(map(json.dumps, ASSET_NAMES))}, {_got(self.name)}")
        object.__setattr__(self, "all_endpoints", _check_endpoint_map(self, self.all_endpoints))
        networks = self.all_endpoints.get(self.market, {})
        if self.network not in networks:
            if networks:
                have = ", ".join(f'"{n}"' for n in networks)
                _fail(
                    self,
                    "network",
                    f"expected a network with an [endpoints.{self.market}.<network>] "
                    f"table ({have}), {_got(self.network)}",
                )
            _fail(
                self,
                "network",
                f"expected a network with endpoints, but the file has no "
                f"[endpoints.{self.market}.{self.network}] table (nor any [endpoints.{self.market}.*])",
            )
        object.__setattr__(self, "endpoints", networks[self.network])
        allowed = DEPTH_STREAMS[(self.name, self.market)]
        if self.feed.depth_stream not in allowed:
            _fail(
                self,
                "feed.depth_stream",
                f"expected one of {', '.join(map(json.dumps, allowed))} for "
                f"{self.name} {self.market}, {_got(self.feed.depth_stream)}",
            )
        if self.market == "linear" and self.account.base != 0:
            _fail(
                self,
                "account.base",
                f"expected 0 for a linear market (it holds positions, not base holdings), {_got(self.account.base)}",
            )

    def to_dict(self) -> dict[str, Any]:
        """This venue as JSON-serialisable data (times in ns, paths as strings, secrets redacted)."""
        return typing.cast(dict[str, Any], _jsonable(self))

    def describe_endpoints(self, *, private: bool = False) -> str:
        """One line for a start banner: the network and every URL in use, e.g. ``binance spot on
        testnet: market data wss://stream.testnet.binance.vision/stream, REST https://testnet.binance.vision``
        (``private``: also the user-data stream, for real orders)."""
        ws = self.endpoints.ws
        urls = f"market data {ws[0]}" + (f" (failover: {', '.join(ws[1:])})" if len(ws) > 1 else "")
        urls += f", REST {self.endpoints.rest}"
        if private:
            urls += f", orders and fills {self.endpoints.ws_private or '(none: this network is read-only)'}"
        return f"{self.name} {self.market} on {self.network}: {urls}"


def _check_endpoint_map(venue: VenueConfig, value: Any) -> dict[str, dict[str, Endpoints]]:
    if not isinstance(value, Mapping):
        _fail(venue, "all_endpoints", f"expected a mapping market -> network -> Endpoints, {_got(value)}")
    out: dict[str, dict[str, Endpoints]] = {}
    for market, networks in value.items():
        if market not in MARKETS or not isinstance(networks, Mapping):
            _fail(
                venue,
                "all_endpoints",
                f"expected markets {', '.join(MARKETS)} mapping to networks, {_got(market)}",
            )
        for network, endpoints in networks.items():
            if not isinstance(endpoints, Endpoints) or not _NETWORK_NAME.fullmatch(str(network)):
                _fail(venue, "all_endpoints", f"expected network names mapping to Endpoints, {_got(network)}")
        out[market] = dict(networks)
    return out


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


@dataclass(frozen=True, slots=True)
class SymbolOverrides:
    """``[symbols.<SYMBOL>]``: what one symbol changes from the defaults (field names, times in ns).

    Attributes:
        strategy: ``[strategy]`` fields (:data:`SYMBOL_STRATEGY_KEYS`) and their values for this symbol.
        risk: Per-symbol ``[risk]`` fields (:data:`SYMBOL_RISK_KEYS`).
        binance, bybit: ``[symbols.<SYMBOL>.<venue>]``: the symbol's trading rules on that venue
            (:data:`SYMBOL_INSTRUMENT_KEYS`) and ``base``, its starting holdings there (spot).
    """

    strategy: Mapping[str, Any] = field(default_factory=dict)
    risk: Mapping[str, Any] = field(default_factory=dict)
    binance: Mapping[str, Any] = field(default_factory=dict)
    bybit: Mapping[str, Any] = field(default_factory=dict)

    def venue(self, v: int) -> Mapping[str, Any]:
        """The venue table of asset number ``v``."""
        return self.binance if v == 0 else self.bybit


@dataclass(frozen=True, slots=True)
class SymbolConfig:
    """One traded symbol with every default and override resolved.

    Attributes:
        name: The symbol (``"ETHUSDT"``).
        index: Its place in ``strategy.symbols`` (the symbol number in every per-symbol array).
        strategy: ``[strategy]`` for this symbol (``symbol`` and ``symbols`` name it alone).
        risk: ``[risk]`` with this symbol's per-symbol limits (the account-wide ones are the same for all).
        instruments: The symbol's trading rules per venue, in asset order.
        base: Its starting holdings per venue, base units (spot; 0 on linear).
    """

    name: str
    index: int
    strategy: StrategyConfig
    risk: RiskConfig
    instruments: tuple[Instrument, Instrument]
    base: tuple[float, float]


@dataclass(frozen=True, slots=True)
class AppConfig:
    """The whole configuration: ``arbitrage.toml`` and both venue files.

    Attributes:
        path: The ``arbitrage.toml`` it was loaded from, resolved.
        strategy, risk, execution, backtest, dry_run, live, leg_faults, ops, alerts, history: The sections
            of ``arbitrage.toml``.
        binance, bybit: The venue files named by ``[venues]``; their ``[instrument]`` and ``[account]
            base`` describe the first symbol.
        symbol_overrides: ``[symbols.<SYMBOL>]`` tables by symbol.
        symbols: Every symbol resolved (:class:`SymbolConfig`), in ``strategy.symbols`` order; computed.
    """

    path: Path
    strategy: StrategyConfig = field(metadata=_spec())
    risk: RiskConfig = field(metadata=_spec())
    execution: ExecutionConfig = field(metadata=_spec())
    backtest: BacktestConfig = field(metadata=_spec())
    dry_run: DryRunConfig = field(metadata=_spec())
    binance: VenueConfig
    bybit: VenueConfig
    live: LiveConfig = field(default=LiveConfig(), metadata=_spec())
    leg_faults: LegFaultsConfig = field(default=LegFaultsConfig(), metadata=_spec())
    ops: OpsConfig = field(default=OpsConfig(), metadata=_spec())
    alerts: AlertsConfig = field(default=AlertsConfig(), metadata=_spec())
    history: HistoryConfig = field(default=HistoryConfig(), metadata=_spec())
    symbol_overrides: Mapping[str, SymbolOverrides] = field(default_factory=dict, hash=False)
    symbols: tuple[SymbolConfig, ...] = field(init=False, hash=False)

    def __post_init__(self) -> None:
        _validate_instance(self)
        for name in ASSET_NAMES:
            venue = getattr(self, name)
            if not isinstance(venue, VenueConfig) or venue.name != name:
                _fail(self, name, f'expected the VenueConfig named "{name}", {_got(venue)}')
        object.__setattr__(self, "symbols", tuple(_resolve_symbols(self)))
        _check_isolated_margin(self)

    def for_symbol(self, s: int) -> AppConfig:
        """This configuration as if symbol number ``s`` were the only one: its ``[strategy]``, its
        per-symbol ``[risk]``, and each venue's ``[instrument]`` and ``[account] base`` for it (the
        venues' quote balances stay the account's). What per-symbol code (the kernel's parameters,
        the venue's order checks) reads."""
        sym = self.symbols[s]
        venues = [
            dataclasses.replace(
                venue,
                instrument=sym.instruments[v],
                account=dataclasses.replace(venue.account, base=sym.base[v]),
            )
            for v, venue in enumerate(self.venues)
        ]
        return dataclasses.replace(
            self, strategy=sym.strategy, risk=sym.risk, binance=venues[0], bybit=venues[1], symbol_overrides={}
        )

    @property
    def symbol_names(self) -> tuple[str, ...]:
        """Every traded symbol, in order."""
        return self.strategy.symbols

    @property
    def venues(self) -> tuple[VenueConfig, VenueConfig]:
        """Both venues in asset order: ``venues[arb.events.BINANCE]``, ``venues[arb.events.BYBIT]``."""
        first, second = (getattr(self, name) for name in ASSET_NAMES)  # ASSET_NAMES is in asset order
        return (first, second)

    def to_dict(self) -> dict[str, Any]:
        """The configuration as JSON-serialisable data for reports.

        Field names are the dataclass names (times in ``*_ns``), paths are strings and secrets are
        redacted to ``"${NAME}"`` or ``"***"``.
        """
        return typing.cast(dict[str, Any], _jsonable(self))

    def with_overrides(self, overrides: Mapping[str, Any]) -> AppConfig:
        """Return a copy with dotted fields replaced, validated like a loaded file.

        Keys are dataclass field paths, times in ns:
        ``cfg.with_overrides({"strategy.min_spread_bps": 2.0, "bybit.feed.stale_after_ns": 10**9})``.
        Raises ``ConfigError("<overrides>", key, expected)`` for an unknown field or a bad value.
        """
        config = self
        for dotted, value in overrides.items():
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
            _fail(config, "risk.min_liquidation_distance", f"expected at most {room:.4g}: {venue.name}'s "
                  f"isolated margin at leverage {perp.leverage} (maintenance margin rate "
                  f"{perp.maintenance_margin_rate:g}) puts liquidation about 1/leverage - rate = {room:.4g} "
                  f"from the entry, so every pair would be refused; got {wanted:g}")  # fmt: skip


def _resolve_symbols(config: AppConfig) -> list[SymbolConfig]:
    # Each symbol of [strategy] symbols with its [symbols.<SYMBOL>] table applied. A mistake is a
    # _CodeConfigError naming the key as the file spells it: symbols.ETHUSDT.binance.tick_size.
    strategy, risk = config.strategy, config.risk
    names = strategy.symbols
    for name, overrides in config.symbol_overrides.items():
        if name not in names:
            _fail(config, f"symbols.{name}", f"expected a table for one of the symbols traded "
                  f"([strategy] symbols: {', '.join(names)}), got {name}")  # fmt: skip
        if not isinstance(overrides, SymbolOverrides):
            _fail(config, f"symbols.{name}", f"expected a SymbolOverrides, {_got(overrides)}")
    out: list[SymbolConfig] = []
    for i, name in enumerate(names):
        ov = config.symbol_overrides.get(name, SymbolOverrides())
        at = f"symbols.{name}."
        for keys, allowed in ((ov.strategy, SYMBOL_STRATEGY_KEYS), (ov.risk, SYMBOL_RISK_KEYS)):
            for key in keys:
                if key not in allowed:
                    _fail(config, at + key, f"expected one of {', '.join(allowed)}")
        if i > 0:
            given = {*ov.strategy, *ov.risk}
            for key in SYMBOL_SIZE_KEYS:
                if key not in given:
                    _fail(config, at + key, f"missing required key: a quantity in {name}'s base units "
                          f"(sizes do not carry over from {names[0]})")  # fmt: skip
        sym_strategy = _replaced(config, at, strategy, {"symbol": name, "symbols": (name,), **ov.strategy})
        sym_risk = _replaced(config, at, risk, dict(ov.risk))
        instruments: list[Instrument] = []
        base: list[float] = []
        for v, venue in enumerate(config.venues):
            table = dict(ov.venue(v))
            vat = f"{at}{venue.name}."
            for key in table:
                if key not in (*SYMBOL_INSTRUMENT_KEYS, "base"):
                    _fail(config, vat + key, f"expected one of {', '.join((*SYMBOL_INSTRUMENT_KEYS, 'base'))}")
            held = table.pop("base", None)
            if i == 0:
                instrument = _replaced(config, vat, venue.instrument, table)
                held = venue.account.base if held is None else held
            else:
                for key in ("tick_size", "lot_size"):
                    if key not in table:
                        _fail(config, vat + key, f"missing required key: {name}'s {key.replace('_', ' ')} on "
                              f"{venue.name} (the venue file's [instrument] describes {names[0]})")  # fmt: skip
                table.setdefault("min_qty", table["lot_size"])
                table.setdefault("min_notional", venue.instrument.min_notional)
                table.setdefault("contract_size", venue.instrument.contract_size)
                instrument = _replaced(config, vat, None, table)
                held = 0.0 if held is None else held
            if not _is_number(held) or held < 0:
                _fail(config, vat + "base", f"expected a number >= 0, {_got(held)}")
            if venue.market == "linear" and held != 0:
                _fail(config, vat + "base", f"expected 0 for a linear market (it holds positions, not base "
                      f"holdings), {_got(held)}")  # fmt: skip
            instruments.append(instrument)
            base.append(float(held))
        out.append(SymbolConfig(name, i, sym_strategy, sym_risk, (instruments[0], instruments[1]),
                                (base[0], base[1])))  # fmt: skip
    return out


def _replaced(config: AppConfig, at: str, obj: Any, changes: Mapping[str, Any]) -> Any:
    # ``obj`` with ``changes`` (a new Instrument when obj is None); a bad value names the key under ``at``.
    cls = Instrument if obj is None else type(obj)
    try:
        return cls(**changes) if obj is None else dataclasses.replace(obj, **changes)
    except _CodeConfigError as exc:
        raise _CodeConfigError(type(config).__name__, at + _toml_path(cls, exc.key or ""), exc.expected) from None
    except TypeError as exc:
        raise _CodeConfigError(type(config).__name__, at.rstrip("."), f"expected valid keys: {exc}") from None


def _replace_path(obj: Any, parts: list[str], value: Any, dotted: str) -> Any:
    names = [f.name for f in dataclasses.fields(obj) if f.init]
    head = parts[0]
    done = dotted[: len(dotted) - len(".".join(parts))]
    if head not in names:
        close = difflib.get_close_matches(head, names, n=1)
        hint = f' (did you mean "{done}{close[0]}"?)' if close else ""
        raise ConfigError(
            _OVERRIDES_FILE,
            dotted,
            f"expected a field of {type(obj).__name__}{hint}; fields: {', '.join(names)}",
        )
    if len(parts) > 1:
        child = getattr(obj, head)
        if not dataclasses.is_dataclass(child):
            raise ConfigError(_OVERRIDES_FILE, dotted, f"expected a path into a section, {done}{head} is a value")
        value = _replace_path(child, parts[1:], value, dotted)
    try:
        return dataclasses.replace(obj, **{head: value})
    except _CodeConfigError as exc:
        raise ConfigError(_OVERRIDES_FILE, done + (exc.key or head), exc.expected) from None
    except TypeError as exc:  # a value the dataclass machinery itself refused
        raise ConfigError(_OVERRIDES_FILE, dotted, f"expected a valid value: {exc}") from None


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Secret):
        return obj.redacted()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj


# --------------------------------------------------------------------------------------------------
# Loading


@dataclass(frozen=True, slots=True)
class _Ctx:
    file: str  # as shown in messages
    base_dir: Path  # relative paths in the file resolve against this

    def resolve(self, path: Path) -> Path:
        return (self.base_dir / path.expanduser()).resolve()


_Derive = Mapping[str, Callable[[dict[str, Any]], Any]]


def _unknown_key(ctx: _Ctx, prefix: str, key: str, allowed: Iterable[str]) -> ConfigError:
    allowed = sorted(allowed)
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    hint = f' (did you mean "{close[0]}"?)' if close else ""
    where = f"[{prefix[:-1]}]" if prefix else "the top level"
    return ConfigError(ctx.file, prefix + key, f"unknown key{hint}; allowed keys in {where}: {', '.join(allowed)}")


def _parse_table(
    cls: type,
    table: Mapping[str, Any],
    ctx: _Ctx,
    prefix: str,
    *,
    derive: _Derive | None = None,
    extra_keys: Iterable[str] = (),
) -> dict[str, Any]:
    """Validate ``table`` against the spec'd fields of ``cls``; return constructor arguments.

    Rejects unknown keys first (a typo of a required key reads better as "unknown" than "missing"),
    then checks each scalar field; nested tables (section and custom fields) are only allowed here,
    the caller parses them, as it does ``extra_keys``. ``derive`` computes absent derived fields from
    the parsed values.
    """
    infos = _fields_of(cls)
    allowed = {info.key for info in infos} | set(extra_keys)
    for key in table:
        if key not in allowed:
            raise _unknown_key(ctx, prefix, key, allowed)
    values: dict[str, Any] = {}
    for info in infos:
        if info.kind in ("section", "custom"):
            continue
        dotted = prefix + info.key
        if info.key in table:
            try:
                value = _check(info, table[info.key], toml=True, origin=(ctx.file, dotted))
            except _BadValueError as bad:
                raise ConfigError(ctx.file, dotted, bad.expected) from None
        elif info.spec.derived:
            continue
        elif info.default is not MISSING:
            value = info.default
        else:
            raise ConfigError(ctx.file, dotted, f"missing required key: expected {_expectation(info, toml=True)}")
        values[info.name] = ctx.resolve(value) if info.kind == "path" else value
    for name, compute in (derive or {}).items():
        if name not in values:
            values[name] = compute(values)
    return values


def _toml_path(cls: type, dotted: str) -> str:
    """Map a dotted field path (``feed.stale_after_ns``) to its TOML spelling (``feed.stale_after_ms``)."""
    head, _, rest = dotted.partition(".")
    for info in _fields_of(cls):
        if info.name == head:
            if rest and info.kind == "section":
                return f"{info.key}.{_toml_path(info.hint, rest)}"
            return f"{info.key}.{rest}" if rest else info.key
    return dotted


def _build(cls: Callable[..., _T], values: Mapping[str, Any], ctx: _Ctx, prefix: str) -> _T:
    try:
        return cls(**values)
    except _CodeConfigError as exc:
        assert isinstance(cls, type)
        raise ConfigError(ctx.file, prefix + _toml_path(cls, exc.key or ""), exc.expected) from None


def _section(
    cls: type[_T],
    parent: Mapping[str, Any],
    key: str,
    ctx: _Ctx,
    *,
    at: str = "",
    derive: _Derive | None = None,
) -> _T:
    """Parse and build the table ``parent[key]`` (absent = empty) as ``cls``; ``at`` is its parent's path."""
    dotted = at + key
    raw = parent.get(key, {})
    if not isinstance(raw, dict):
        raise ConfigError(ctx.file, dotted, f"expected a table [{dotted}], {_got(raw)}")
    values = _parse_table(cls, raw, ctx, dotted + ".", derive=derive)
    for info in _fields_of(cls):  # nested tables ([alerts.telegram])
        if info.kind == "section":
            values[info.name] = _section(info.hint, raw, info.key, ctx, at=dotted + ".")
    return _build(cls, values, ctx, dotted + ".")


def _leg_faults_section(parent: Mapping[str, Any], key: str, ctx: _Ctx) -> LegFaultsConfig:
    """``[leg_faults]``: its rate keys apply to both venues, ``[leg_faults.<venue>]`` overrides them."""
    raw = parent.get(key, {})
    if not isinstance(raw, dict):
        raise ConfigError(ctx.file, key, f"expected a table [{key}], {_got(raw)}")
    rate_keys = {info.key for info in _fields_of(LegFaultRates)}
    values = _parse_table(LegFaultsConfig, raw, ctx, key + ".", extra_keys=rate_keys)
    shared = {k: v for k, v in raw.items() if k in rate_keys}
    # the shared values are checked once under their own names, before any venue inherits them
    _build(LegFaultRates, _parse_table(LegFaultRates, shared, ctx, key + "."), ctx, key + ".")
    for name in ASSET_NAMES:
        own = raw.get(name, {})
        at = f"{key}.{name}"
        if not isinstance(own, dict):
            raise ConfigError(ctx.file, at, f"expected a table [{at}], {_got(own)}")
        for k in own:
            if k not in rate_keys:
                raise _unknown_key(ctx, at + ".", k, rate_keys)
        merged = {**shared, **own}
        values[name] = _build(LegFaultRates, _parse_table(LegFaultRates, merged, ctx, at + "."), ctx, at + ".")
    return _build(LegFaultsConfig, values, ctx, key + ".")


def _strategy_symbols(ctx: _Ctx) -> _Derive:
    # [strategy] names its symbols with ``symbol = "BTCUSDT"`` or ``symbols = [...]``.
    def symbol(values: dict[str, Any]) -> str:
        symbols = values.get("symbols")
        if not symbols:
            raise ConfigError(ctx.file, "strategy.symbol", 'missing required key: expected symbol = "BTCUSDT" '
                              '(upper-case letters and digits) or symbols = ["BTCUSDT", "ETHUSDT"]')  # fmt: skip
        return str(symbols[0])

    return {"symbol": symbol}


def _symbol_tables(data: Mapping[str, Any], symbols: tuple[str, ...], ctx: _Ctx) -> dict[str, SymbolOverrides]:
    """``[symbols.<SYMBOL>]`` and ``[symbols.<SYMBOL>.<venue>]``, checked key by key as their sections are."""
    raw = data.get("symbols", {})
    if not isinstance(raw, dict):
        raise ConfigError(ctx.file, "symbols", f"expected [symbols.<SYMBOL>] tables, {_got(raw)}")
    strategy = {info.key: info for info in _fields_of(StrategyConfig) if info.name in SYMBOL_STRATEGY_KEYS}
    risk = {info.key: info for info in _fields_of(RiskConfig) if info.name in SYMBOL_RISK_KEYS}
    instrument = {info.key: info for info in _fields_of(Instrument)}
    base = _FieldInfo("base", "base", float, "float", _Spec(ge=0), 0.0)
    out: dict[str, SymbolOverrides] = {}
    for name, table in raw.items():
        at = f"symbols.{name}"
        if name not in symbols:
            close = difflib.get_close_matches(name, symbols, n=1)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            raise ConfigError(ctx.file, at, f"expected a table for one of the symbols traded{hint}; [strategy] "
                              f"symbols: {', '.join(symbols)}")  # fmt: skip
        if not isinstance(table, dict):
            raise ConfigError(ctx.file, at, f"expected a table [{at}], {_got(table)}")
        parsed: dict[str, dict[str, Any]] = {"strategy": {}, "risk": {}, "binance": {}, "bybit": {}}
        allowed = {**strategy, **risk}
        for key, value in table.items():
            if key in ASSET_NAMES:
                if not isinstance(value, dict):
                    raise ConfigError(ctx.file, f"{at}.{key}", f"expected a table [{at}.{key}], {_got(value)}")
                fields = {**instrument, "base": base}
                for vkey, vvalue in value.items():
                    if vkey not in fields:
                        raise _unknown_key(ctx, f"{at}.{key}.", vkey, fields)
                    parsed[key][fields[vkey].name] = _checked(fields[vkey], vvalue, ctx, f"{at}.{key}.{vkey}")
                continue
            if key not in allowed:
                raise _unknown_key(ctx, at + ".", key, [*allowed, *ASSET_NAMES])
            info = allowed[key]
            parsed["strategy" if key in strategy else "risk"][info.name] = _checked(info, value, ctx, f"{at}.{key}")
        out[name] = SymbolOverrides(**parsed)
    return out


def _checked(info: _FieldInfo, value: Any, ctx: _Ctx, dotted: str) -> Any:
    try:
        return _check(info, value, toml=True, origin=(ctx.file, dotted))
    except _BadValueError as bad:
        raise ConfigError(ctx.file, dotted, bad.expected) from None


def _read_toml(path: Path) -> dict[str, Any]:
    file = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(file, None, "file not found") from None
    except IsADirectoryError:
        raise ConfigError(file, None, "expected a file, found a directory") from None
    except OSError as exc:
        raise ConfigError(file, None, f"cannot read the file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(file, None, f"expected UTF-8 text, byte {exc.start} is not") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(file, None, f"invalid TOML: {exc}") from None


def _parse_endpoints(raw: Any, ctx: _Ctx) -> dict[str, dict[str, Endpoints]]:
    if not isinstance(raw, dict):
        raise ConfigError(ctx.file, "endpoints", f"expected [endpoints.<market>.<network>] tables, {_got(raw)}")
    out: dict[str, dict[str, Endpoints]] = {}
    for market, networks in raw.items():
        if market not in MARKETS:
            raise _unknown_key(ctx, "endpoints.", market, MARKETS)
        if not isinstance(networks, dict):
            raise ConfigError(
                ctx.file,
                f"endpoints.{market}",
                f"expected [endpoints.{market}.<network>] tables, {_got(networks)}",
            )
        out[market] = {}
        for network in networks:
            if not _NETWORK_NAME.fullmatch(network):
                raise ConfigError(
                    ctx.file,
                    f"endpoints.{market}.{network}",
                    "expected a network name of letters, digits, _ and -",
                )
            out[market][network] = _section(Endpoints, networks, network, ctx, at=f"endpoints.{market}.")
    return out


def _load_venue(path: Path, name: str) -> VenueConfig:
    ctx = _Ctx(str(path), path.parent)
    if name not in ASSET_NAMES:
        raise ConfigError(ctx.file, None, f"expected a venue name, one of {', '.join(ASSET_NAMES)}, {_got(name)}")
    data = _read_toml(path)
    values = _parse_table(VenueConfig, data, ctx, "")
    market = values["market"]
    derive: dict[str, _Derive] = {
        "instrument": {"min_qty": lambda v: v["lot_size"]},
        "feed": {
            "depth_stream": lambda _v: DEPTH_STREAMS[(name, market)][0],
            "max_streams_per_connection": lambda _v: MAX_STREAMS_PER_CONNECTION[name],
        },
    }
    for info in _fields_of(VenueConfig):
        if info.kind == "section":
            values[info.name] = _section(info.hint, data, info.key, ctx, derive=derive.get(info.name))
    values["all_endpoints"] = _parse_endpoints(data.get("endpoints", {}), ctx)
    return _build(VenueConfig, {**values, "name": name, "path": path.resolve()}, ctx, "")


def _warn_literal_secrets(venues: Iterable[VenueConfig]) -> None:
    literal = [
        f"{venue.path.name}: {key}"
        for venue in venues
        for key in ("api_key", "api_secret")
        if (secret := getattr(venue, key)) is not None and secret.is_literal
    ]
    if literal:
        log.warning(
            "literal secrets in %s; secrets belong in environment variables: write "
            'api_key = "${VENUE_API_KEY}" and export the variable',
            ", ".join(literal),
        )


def load_venue_config(path: str | Path, name: str) -> VenueConfig:
    """Load one venue file; ``name`` is ``"binance"`` or ``"bybit"`` (the ``[venues]`` key).

    Relative paths inside the file resolve against its folder. Raises :class:`ConfigError` naming the
    file, the dotted key and the expectation; logs one warning if the file holds a literal secret.
    """
    venue = _load_venue(Path(path), name)
    _warn_literal_secrets([venue])
    return venue


def load_config(path: str | Path | None = None, *, warn: bool = True) -> AppConfig:
    """Load ``arbitrage.toml`` and the venue files its ``[venues]`` table names.

    ``path`` defaults to :data:`DEFAULT_CONFIG_PATH` (``config/arbitrage.toml`` under the current
    directory). Venue files and the ``[backtest]`` / ``[dry_run]`` folders resolve against the folder
    of ``arbitrage.toml``. Environment references in secrets are not read here (see
    :meth:`Secret.resolve`); a literal secret logs one warning (``warn=False``: none of the load's
    warnings, for a second load of the same files).

    Raises :class:`ConfigError` (exit code 2) for a missing file, a TOML syntax error (with its line
    and column), an unknown key, a value of the wrong type or out of range, a missing required key,
    an unknown market or a network without endpoints.
    """
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
    data = _read_toml(file)
    values = _parse_table(AppConfig, data, ctx, "", extra_keys=["venues", "symbols"])
    venue_files = _section(_VenueFiles, data, "venues", ctx)
    for info in _fields_of(AppConfig):
        if info.hint is LegFaultsConfig:
            values[info.name] = _leg_faults_section(data, info.key, ctx)
        elif info.hint is StrategyConfig:
            values[info.name] = _section(info.hint, data, info.key, ctx, derive=_strategy_symbols(ctx))
        elif info.kind == "section":
            values[info.name] = _section(info.hint, data, info.key, ctx)
    values["symbol_overrides"] = _symbol_tables(data, values["strategy"].symbols, ctx)
    for name in ASSET_NAMES:
        venue_path: Path = getattr(venue_files, name)
        if not venue_path.is_file():
            raise ConfigError(
                ctx.file, f"venues.{name}", f"expected an existing venue file, {venue_path} does not exist"
            )
        values[name] = _load_venue(venue_path, name)
    config = _build(AppConfig, {**values, "path": file.resolve()}, ctx, "")
    if warn:
        _warn_literal_secrets(config.venues)
        _warn_unreachable(config)
    _remember_secrets(config)
    return config


def _remember_secrets(config: AppConfig) -> None:
    # Every credential the configuration names that can be read now, so no log line ever shows it
    # (arb.logs), even one written before the credential is used.
    alerts = config.alerts
    named = [venue.api_key for venue in config.venues] + [venue.api_secret for venue in config.venues]
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
