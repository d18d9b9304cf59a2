"""How numbers, times and records are written for people and for JSON, in one place.

- :func:`jsonable` turns what arb holds (NumPy scalars and arrays, dataclasses, paths, secrets) into
  what :mod:`json` writes, with NaN and infinities as ``null`` (JSON has neither); :func:`json_float`
  does it for one number.
- :func:`money`, :func:`num` and :func:`pct` write a figure for a person: ``"n/a"`` for a missing or
  non-finite value, thousands separated, and a tiny non-zero value never shown as ``0.00``.
- :func:`iso_ns` writes int64 ns times as ISO-8601 UTC text to the nanosecond.
"""

from __future__ import annotations

__all__ = ["iso_ns", "json_float", "jsonable", "money", "num", "pct"]

import dataclasses
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, SupportsFloat

import numpy as np


def jsonable(obj: Any, *, default: Callable[[Any], Any] | None = None) -> Any:
    """A copy of ``obj`` made of ``None``, ``bool``, ``int``, ``float``, ``str``, lists and dicts.

    NumPy scalars and arrays become Python values and lists; non-finite floats become ``None``; a
    :class:`~pathlib.Path` its text; a dataclass or a ``msgspec.Struct`` a dict of its fields; an object
    with a ``redacted()`` method (a configuration secret) what that method returns, never its value;
    mappings (keys as text), lists, tuples and sets their items. Anything else is returned as it is,
    or, with ``default``, as ``default`` makes it (``default=str``: its text).
    """
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        return json_float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist(), default=default)
    if isinstance(obj, Path):
        return str(obj)
    redacted = getattr(obj, "redacted", None)
    if callable(redacted):
        return redacted()
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v, default=default) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [jsonable(v, default=default) for v in obj]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: jsonable(getattr(obj, f.name), default=default) for f in dataclasses.fields(obj)}
    fields = getattr(type(obj), "__struct_fields__", None)  # a msgspec.Struct
    if fields is not None:
        return {name: jsonable(getattr(obj, name), default=default) for name in fields}
    return obj if default is None else default(obj)


def json_float(x: SupportsFloat) -> float | None:
    """``x`` as a JSON number: a ``float``, or ``None`` when it is NaN or infinite (JSON has neither)."""
    value = float(x)
    return value if math.isfinite(value) else None


def num(
    x: float | None, digits: int = 3, *, sign: bool = False, grouping: bool = True, small: float | None = None
) -> str:
    """``x`` with ``digits`` decimals and thousands separated (``"1,234.500"``); ``"n/a"`` when it is
    ``None`` or not finite. ``sign`` writes ``+`` before positive values; ``grouping=False`` leaves the
    thousands unseparated (``"1234.500"``).

    A small non-zero value is written with two significant digits instead (``"4.2e-06"``,
    ``"0.0042"``): by default (``small=None``) one that would show as zero, else one whose magnitude is
    below ``small`` (``small=0``: never)."""
    if x is None or not math.isfinite(x):
        return "n/a"
    plus = "+" if sign else ""
    text = f"{x:{plus}{',' if grouping else ''}.{digits}f}"
    if x != 0 and (float(text.replace(",", "")) == 0 if small is None else abs(x) < small):
        return f"{x:{plus}.2g}"
    return text


def money(
    x: float | None,
    quote: str = "",
    digits: int = 2,
    *,
    sign: bool = False,
    grouping: bool = True,
    small: float | None = None,
) -> str:
    """An amount of money: :func:`num` of ``x`` followed by its currency when one is given
    (``"1,234.56 USDT"``); ``"n/a"`` (without the currency) when there is no figure."""
    text = num(x, digits, sign=sign, grouping=grouping, small=small)
    return text if text == "n/a" or not quote else f"{text} {quote}"


def pct(x: float | None, digits: int = 2, *, small: float | None = None) -> str:
    """A fraction as a percentage with ``digits`` decimals (``0.9231`` is ``"92.31%"``); ``"n/a"`` when
    it is ``None`` or not finite. A small non-zero fraction is written with two significant digits
    (``"0.0037%"``): by default one that would show as zero, else one below ``small`` (0: never)."""
    if x is None or not math.isfinite(x):
        return "n/a"
    text = f"{x:.{digits}%}"
    if x != 0 and (float(text[:-1]) == 0 if small is None else abs(x) < small):
        return f"{x * 100:.2g}%"
    return text


def iso_ns(ts: np.ndarray[Any, np.dtype[Any]]) -> list[str]:
    """Times in int64 ns since the epoch as ISO-8601 UTC text to the nanosecond
    (``"2024-08-08T00:00:01.250000000Z"``), one per element."""
    text = np.datetime_as_string(np.asarray(ts).astype("datetime64[ns]"), unit="ns")
    return [s + "Z" for s in np.atleast_1d(text).tolist()]
