"""How numbers and records are written for people and for JSON, in one place.

- :func:`jsonable` turns what arb holds (NumPy scalars and arrays, dataclasses, paths, secrets) into
  what :mod:`json` writes, with NaN and infinities as ``null`` (JSON has neither).
- :func:`money` and :func:`num` write a figure for a person: ``"n/a"`` for a missing or non-finite
  value, thousands separated, and a tiny non-zero value never shown as ``0.00``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["jsonable", "money", "num"]


def jsonable(obj: Any) -> Any:
    """A copy of ``obj`` made of ``None``, ``bool``, ``int``, ``float``, ``str``, lists and dicts.

    NumPy scalars and arrays become Python values and lists; non-finite floats become ``None``; a
    :class:`~pathlib.Path` its text; a dataclass or a ``msgspec.Struct`` a dict of its fields; an object
    with a ``redacted()`` method (a configuration secret) what that method returns, never its value;
    mappings (keys as text), lists, tuples and sets their items. Anything else is returned as it is.
    """
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, Path):
        return str(obj)
    redacted = getattr(obj, "redacted", None)
    if callable(redacted):
        return redacted()
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [jsonable(v) for v in obj]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    fields = getattr(type(obj), "__struct_fields__", None)  # a msgspec.Struct
    if fields is not None:
        return {name: jsonable(getattr(obj, name)) for name in fields}
    return obj


def num(x: float | None, digits: int = 3, *, sign: bool = False) -> str:
    """``x`` with ``digits`` decimals and thousands separated (``"1,234.500"``); ``"n/a"`` when it is
    ``None`` or not finite; a non-zero value that would show as zero is written with two significant
    digits instead (``"4.2e-06"``). ``sign`` writes ``+`` before positive values."""
    if x is None or not math.isfinite(x):
        return "n/a"
    plus = "+" if sign else ""
    text = f"{x:{plus},.{digits}f}"
    if x != 0 and float(text.replace(",", "")) == 0:
        return f"{x:{plus}.2g}"
    return text


def money(x: float | None, quote: str = "", digits: int = 2, *, sign: bool = False) -> str:
    """An amount of money: :func:`num` of ``x`` followed by its currency when one is given
    (``"1,234.56 USDT"``); ``"n/a"`` (without the currency) when there is no figure."""
    text = num(x, digits, sign=sign)
    return text if text == "n/a" or not quote else f"{text} {quote}"
