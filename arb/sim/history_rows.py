"""What the venues' history sources (Tardis.dev's CSV datasets, a venue's own archive) make of a venue's
recording, row by row, for the test kit's history files (:mod:`arb.testing.history_files` writes them):
the parts every venue's rows share here, each venue's mapping in its folder (``arb/sim/<venue>/history_rows.py``:
``tardis_rows`` and, for a venue with an archive of its own, ``archive_rows``), found with :func:`history_rows`.

Tardis's data types are named as Tardis names them; times are microseconds (the ns receive time floored),
numbers as JavaScript prints them (:func:`js_number`).
"""

from __future__ import annotations

__all__ = [
    "BOOK",
    "DAY_MS",
    "TICKER",
    "TRADES",
    "US",
    "Rows",
    "TextBook",
    "day_of",
    "history_rows",
    "js_number",
    "level_rows",
    "sorted_levels",
]

import datetime as dt
import importlib
from collections.abc import Iterable, Sequence
from types import ModuleType

import numpy as np

BOOK = "incremental_book_L2"
TRADES = "trades"
TICKER = "derivative_ticker"
US = 1_000
"""ns per us."""
DAY_MS = 86_400_000
Rows = dict[tuple[str, dt.date], list[bytes]]
"""A source's rows by (data type, UTC day)."""


def history_rows(venue: str) -> ModuleType:
    """Venue ``venue``'s mapping of its recordings to its history sources' rows (``arb.sim.<venue>.history_rows``);
    ``ValueError`` when it has none."""
    try:
        return importlib.import_module(f"arb.sim.{venue}.history_rows")
    except ModuleNotFoundError as error:
        raise ValueError(f"no history rows for venue {venue!r} (arb/sim/{venue}/history_rows.py)") from error


def js_number(text: str | float) -> str:
    """A number as JavaScript's ``String(Number(text))`` prints it (what Tardis's CSVs hold)."""
    value = float(text)
    if value == 0:
        return "0"
    if 1e-4 <= abs(value) < 1e16:  # where Python's repr is positional too, the same shortest digits
        shortest = repr(value)
        return shortest[:-2] if shortest.endswith(".0") else shortest
    if 1e-6 <= abs(value) < 1e21:
        return str(np.format_float_positional(value, trim="-"))
    mantissa, _, exp = repr(value).partition("e")
    mantissa = mantissa[:-2] if mantissa.endswith(".0") else mantissa
    sign = "-" if exp.startswith("-") else "+"
    return f"{mantissa}e{sign}{exp.lstrip('+-').lstrip('0') or '0'}"


def day_of(ns: int) -> dt.date:
    """The UTC day of ``ns`` (ns since the epoch)."""
    return dt.datetime.fromtimestamp(ns / 1e9, dt.UTC).date()


class TextBook:
    """One side-keyed book of price text -> size text, in arrival order (as Tardis's mapper keeps levels)."""

    def __init__(self) -> None:
        self.bids: dict[str, str] = {}
        self.asks: dict[str, str] = {}

    def apply(self, bids: Iterable[Sequence[str]], asks: Iterable[Sequence[str]]) -> None:
        for side, levels in ((self.bids, bids), (self.asks, asks)):
            for px, qty in levels:
                if float(qty) == 0:
                    side.pop(px, None)
                else:
                    side[px] = qty


def level_rows(exchange: str, symbol: str, ts: int, local: int, snapshot: bool,
                bids: Iterable[Sequence[str]], asks: Iterable[Sequence[str]]) -> bytes:  # fmt: skip
    """One message's levels as incremental_book_L2 rows (bids first, as Tardis's mappers list them)."""
    flag = "true" if snapshot else "false"
    rows = [f"{exchange},{symbol},{ts},{local},{flag},bid,{js_number(p)},{js_number(q)}\n" for p, q in bids]
    rows += [f"{exchange},{symbol},{ts},{local},{flag},ask,{js_number(p)},{js_number(q)}\n" for p, q in asks]
    return "".join(rows).encode()


def sorted_levels(side: dict[str, str], bids: bool) -> list[tuple[str, str]]:
    """``side``'s levels by price, the best first."""
    return sorted(side.items(), key=lambda kv: float(kv[0]), reverse=bids)
