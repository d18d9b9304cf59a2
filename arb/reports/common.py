"""What every part of the run report shares: the run's venues (their names and how many), the names of
sides and intent kinds, the checks of a run's arrays and the small reductions over them.

Units as in :mod:`arb.reports.summary`: money in quote currency, quantities in base units, times in
int64 ns.
"""

from __future__ import annotations

__all__ = [
    "KIND_NAMES",
    "QTY_EPS",
    "SIDE_NAMES",
    "Array",
    "JsonFigures",
    "duration_text",
    "first_finite",
    "last_finite",
    "mean_or_none",
    "name_of",
    "none_to_nan",
    "require_fields",
    "require_values",
    "run_venue_names",
    "strategy_text",
    "sum_or_none",
    "utc_text",
    "value_at",
    "venue_count",
]

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, cast

import numpy as np

from arb.formats import jsonable
from arb.results.venues import saved_venue_names, venue_names
from arb.strategy.types import BUY, KIND_NAMES, SELL

Array = np.ndarray[Any, np.dtype[Any]]

QTY_EPS: Final = 1e-12
"""Base quantities this small are float dust, not inventory (lot sizes are 1e-8 and up)."""
SIDE_NAMES: Final = {BUY: "buy", SELL: "sell"}


def venue_count(rows: Array) -> int:
    """How many venues a run's per-venue rows hold: the width of their ``mid`` field (equity rows,
    :func:`~arb.strategy.types.equity_dtype`; marks) or of their ``bid`` (kernel calls)."""
    names = rows.dtype.names or ()
    field = "mid" if "mid" in names else "bid"
    shape = rows.dtype[field].shape
    return int(shape[0]) if shape else 1


def run_venue_names(meta: Mapping[str, Any] | None, n: int, given: Sequence[str] = ()) -> tuple[str, ...]:
    """The names of a run's ``n`` venues by number: ``given`` when it names them; else the configuration
    the run recorded in ``meta`` (``meta["config"]``, :func:`arb.results.venues.saved_venue_names`) when it
    names ``n``; else :func:`arb.results.venues.venue_names` (the default run's when it has ``n``).

    Raises:
        ValueError: ``given`` names a number of venues other than ``n``.
    """
    if given:
        return venue_names(n, given)
    saved = saved_venue_names((meta or {}).get("config"))
    return saved if len(saved) == n else venue_names(n)


class JsonFigures:
    """Figures summary.json holds as they are (a dataclass's fields)."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """The figures as JSON-safe data (None for undefined)."""
        return cast(dict[str, Any], jsonable(self))


def require_fields(array: Array, dtype: np.dtype[Any], what: str) -> None:
    """Raise ``ValueError`` naming ``what`` unless ``array`` has every field of ``dtype``."""
    names = set(array.dtype.names or ())
    missing = [name for name in dtype.names or () if name not in names]
    if missing:
        raise ValueError(f"{what}: expected a structured array with the fields of its dtype, missing {missing}")


def require_values(rows: Array, name: str, allowed: tuple[int, ...], what: str = "fills") -> None:
    """Raise ``ValueError`` naming the first row of ``rows`` whose ``name`` is not one of ``allowed``."""
    bad = np.flatnonzero(~np.isin(rows[name], allowed))
    if len(bad):
        row = int(bad[0])
        raise ValueError(f"{what}: {name} must be one of {allowed}, row {row} has {rows[name][row]}")


def value_at(qty: float, mid: float) -> float | None:
    """``qty`` base valued at ``mid``, quote; None where ``mid`` is not finite, except that a zero
    quantity is worth nothing even where the mid is unknown."""
    if qty == 0:
        return 0.0
    return float(qty * mid) if math.isfinite(mid) else None


def sum_or_none(values: Iterable[float | None]) -> float | None:
    """The sum of ``values``; None as soon as one is None (unknown)."""
    total = 0.0
    for value in values:
        if value is None:
            return None
        total += value
    return total


def mean_or_none(values: Array) -> float | None:
    """The mean of ``values``; None over nothing, or when a value is not finite (a fill valued at a NaN mid)."""
    return float(np.mean(values)) if len(values) and np.isfinite(values).all() else None


def none_to_nan(x: float | None) -> float:
    """``x``, NaN for None."""
    return math.nan if x is None else x


def last_finite(mid: Array) -> Array:
    """Per column of ``mid`` (samples x columns), the last finite value (NaN if none)."""
    out = np.full(mid.shape[1], np.nan)
    for v in range(mid.shape[1]):
        good = np.flatnonzero(np.isfinite(mid[:, v]))
        if len(good):
            out[v] = mid[good[-1], v]
    return out


def first_finite(mid: Array) -> Array:
    """Per column of ``mid``, the first finite value (NaN if none)."""
    return last_finite(mid[::-1])


def duration_text(seconds: float) -> str:
    """A span of time for a person: ``"42 s"``, ``"12.5 min"``, ``"3.2 h"``, ``"40.0 days"``."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.1f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def utc_text(ts_ns: int) -> str:
    """An instant (int64 ns) for a person: ``"2024-08-08 13:05:00 UTC"``."""
    return dt.datetime.fromtimestamp(ts_ns / 1e9, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def name_of(names: Sequence[str], number: int) -> str:
    """The name of ``number`` in ``names``; a number they do not name, as itself."""
    return names[number] if 0 <= number < len(names) else str(number)


def strategy_text(record: Any) -> str:
    """A run's strategy in one line, from its ``meta.strategy`` (:func:`arb.strategy.loading.strategy_record`):
    ``strategy 'cross' (from /path/mystrat.py:Cross): threshold_bps = 5.0, window = 10`` (a built-in:
    ``strategy 'taker' (built in): min_spread_bps = 5.0, ...``, its own parameters; a run of an earlier arb
    recorded none for it: ``the [strategy] settings``; a strategy of a user's that declares none: ``no
    parameters``); "" for a run that recorded none."""
    if not isinstance(record, Mapping) or not isinstance(record.get("name"), str):
        return ""
    origin = record.get("origin")
    where = "built in" if origin == "arb" else f"from {origin}"
    given = record.get("params")
    params: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    shown = ", ".join(f"{k} = {_toml_text(v)}" for k, v in params.items())
    none = "the [strategy] settings" if origin == "arb" else "no parameters"
    return f"strategy {record['name']!r} ({where}): {shown or none}"


def _toml_text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else repr(value)
