"""What the account holds is worth: the starting balances, the prices holdings are valued at, the
account's equity series over several symbols, and the books' marks at a run's boundaries.

Units: prices and money in quote currency, quantities in base units, times in int64 ns.
"""

from __future__ import annotations

__all__ = [
    "AccountEquity",
    "InitialBalances",
    "account_equity",
    "boundary_marks",
    "unit_value",
    "value_prices",
]

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from arb.events import MAX_VENUES
from arb.reports.common import Array, last_finite, sum_or_none, value_at, venue_count
from arb.results.marks import NS_PER_DAY, BoundaryMark

if TYPE_CHECKING:
    from arb.config import AppConfig


@dataclass(frozen=True, slots=True)
class InitialBalances:
    """Starting balances per venue, indexed by the venue's number in the run (one value per venue).

    Attributes:
        base: Base-asset holdings at the start, base units (0 on a linear market); with several
            symbols, the first symbol's.
        quote: Quote balance (spot) or cash (linear) at the start, quote currency: each venue's one
            balance, shared by every symbol.
        bases: Every symbol's starting base per venue, in ``[strategy] symbols`` order, each in its own
            base units (``bases[0] == base``); ``(base,)`` with one symbol. Build it with
            :meth:`of_symbols`.

    Every tuple holds one value per venue, 1 to ``MAX_VENUES`` of them, all as many.
    """

    base: tuple[float, ...]
    quote: tuple[float, ...]
    bases: tuple[tuple[float, ...], ...] = ()

    def __post_init__(self) -> None:
        quote = _per_venue("quote", self.quote)
        base = _per_venue("base", self.base, len(quote))
        bases = tuple(_per_venue(f"bases[{s}]", row, len(quote)) for s, row in enumerate(self.bases)) or (base,)
        if bases[0] != base:
            raise ValueError(f"InitialBalances.bases[0] {bases[0]} is not base {base}: the first symbol's")
        for name, value in (("base", base), ("quote", quote), ("bases", bases)):
            object.__setattr__(self, name, value)

    @classmethod
    def of_symbols(cls, bases: Sequence[Sequence[float]] | Array, quote: Sequence[float]) -> InitialBalances:
        """Every symbol's starting base per venue (one row of a value per venue per symbol) and the venues'
        quote."""
        rows = [tuple(float(x) for x in row) for row in bases]
        if not rows:
            raise ValueError("InitialBalances.of_symbols: expected the base of at least one symbol")
        return cls(rows[0], tuple(float(q) for q in quote), tuple(rows))

    @classmethod
    def from_config(cls, config: AppConfig) -> InitialBalances:
        """The ``[account]`` tables of the run's venue files (every symbol's base: its own, see
        ``config.symbols``)."""
        quote = tuple(venue.account.quote for venue in config.venues)
        if len(config.symbols) > 1:
            return cls.of_symbols([sym.base for sym in config.symbols], quote)
        return cls(base=tuple(venue.account.base for venue in config.venues), quote=quote)

    @property
    def n_symbols(self) -> int:
        """How many symbols the balances describe."""
        return len(self.bases)

    @property
    def n_venues(self) -> int:
        """How many venues the balances describe."""
        return len(self.quote)

    def symbol(self, s: int) -> InitialBalances:
        """Symbol ``s``'s part of the account, as its equity rows hold it: its own starting base, and the
        venues' starting quote for the first symbol (0 for the others), so the parts add up to the account."""
        quote = self.quote if s == 0 else (0.0,) * self.n_venues
        return InitialBalances(self.bases[s], quote)

    def equity(self, mid: Sequence[float] | Array) -> float | None:
        """Total value of the starting balances at ``mid`` (quote per base, per venue; with several
        symbols one row of mids per symbol); None if unknown."""
        mids = np.asarray(mid, dtype=np.float64)
        if mids.ndim == 2:
            return sum_or_none(self.symbol(s).equity(mids[s]) for s in range(self.n_symbols))
        return sum_or_none(self.venue_equity(v, mids[v]) for v in range(self.n_venues))

    def venue_equity(self, venue: int, mid: float) -> float | None:
        """Value of one venue's starting balances at ``mid``, quote currency; None if ``mid`` is needed and unknown."""
        value = value_at(self.base[venue], float(mid))
        return None if value is None else self.quote[venue] + value

    def to_dict(self) -> dict[str, Any]:
        """``{"base": [b0, b1, ...], "quote": [q0, q1, ...]}`` (a value per venue); with several symbols also
        ``"bases"``, one list per symbol."""
        out: dict[str, Any] = {"base": list(self.base), "quote": list(self.quote)}
        if self.n_symbols > 1:
            out["bases"] = [list(row) for row in self.bases]
        return out


def _per_venue(name: str, values: Sequence[float], n: int | None = None) -> tuple[float, ...]:
    # one finite value per venue: 1 to MAX_VENUES of them, ``n`` when given (the quote's count)
    row = tuple(float(v) for v in values)
    fits = len(row) == n if n is not None else 1 <= len(row) <= MAX_VENUES
    if not fits or not all(math.isfinite(v) for v in row):
        want = f"{n}" if n is not None else f"1 to {MAX_VENUES}"
        raise ValueError(f"InitialBalances.{name}: expected {want} finite numbers (one per venue), got {row}")
    return row


def value_prices(equity: Array) -> Array:
    """What each sample's holdings were valued at, per venue: ``EQUITY_DTYPE``'s ``price`` (a
    perpetual's mark price, else the mid) where it was written, else the ``mid``."""
    price: Array = np.where(equity["price"] > 0.0, equity["price"], equity["mid"])
    return price


def unit_value(mids: Sequence[float | None] | Array) -> float:
    """What one unit of a symbol's base is worth when quantities of several symbols are pooled (the
    account's holding time): the mean of its finite mids per venue (``mids``, None or NaN where
    unknown), quote currency; NaN when none is known."""
    values = np.array([math.nan if m is None else float(m) for m in mids])
    finite = values[np.isfinite(values)]
    return float(np.mean(finite)) if len(finite) else math.nan


@dataclass(frozen=True, slots=True)
class AccountEquity:
    """The account's equity series: every symbol's equity rows of one sample time summed.

    Attributes:
        ts: Time of each sample, int64 ns (local).
        equity: The account's equity at each sample, quote currency (NaN where a symbol's is unknown).
        equity_venue: Per venue (columns by venue number), the account's equity there, quote currency.
        mid: Each symbol's mids at each sample, shape ``(samples, symbols, venues)`` (a symbol without a
            row at a sample keeps its last row's).
    """

    ts: Array
    equity: Array
    equity_venue: Array
    mid: Array


def account_equity(equity: Array, n_symbols: int | None = None) -> AccountEquity:
    """The account series of ``equity`` (``EQUITY_DTYPE``, one row per symbol per sample time, in time
    order): a sample is the rows sharing a time, symbols ascending; each symbol counts with its latest
    row at or before the sample (NaN before its first). With one symbol, each row is a sample.

    ``n_symbols``: how many symbols (default: the highest ``symbol`` in ``equity`` plus one).
    """
    n = int(n_symbols if n_symbols is not None else (int(equity["symbol"].max()) + 1 if len(equity) else 1))
    ts, symbol = equity["ts"], equity["symbol"]
    starts = np.ones(len(equity), dtype=bool)
    starts[1:] = (ts[1:] != ts[:-1]) | (symbol[1:] <= symbol[:-1])
    first = np.flatnonzero(starts)
    last = np.append(first[1:], len(equity)) - 1  # each sample's last row
    n_venues = venue_count(equity)
    total: Array = np.zeros(len(first))
    venue: Array = np.zeros((len(first), n_venues))
    mid = np.full((len(first), n, n_venues), np.nan)
    for s in range(n):
        rows = np.flatnonzero(symbol == s)
        at = np.searchsorted(rows, last, side="right") - 1  # the symbol's latest row in each sample
        seen = at >= 0
        pick = rows[np.maximum(at, 0)] if len(rows) else np.zeros(len(last), np.int64)
        own = np.where(seen, equity["equity"][pick] if len(rows) else np.nan, np.nan)
        own_venue = np.where(seen[:, None], equity["equity_venue"][pick] if len(rows) else np.nan, np.nan)
        total = own if s == 0 else total + own
        venue = own_venue if s == 0 else venue + own_venue
        mid[:, s] = np.where(seen[:, None], equity["mid"][pick] if len(rows) else np.nan, np.nan)
    return AccountEquity(ts=np.array(ts[first]), equity=total, equity_venue=venue, mid=mid)


def boundary_marks(
    equity: Array, n_symbols: int = 1, day_marks: Sequence[BoundaryMark] | None = None
) -> tuple[BoundaryMark, ...]:
    """The marks a report values a run's positions at across a boundary: the mids at the run's start
    (its first equity sample), at every UTC midnight after that sample up to the last one, and at its
    end (the last finite mid and valuation price per venue: what :func:`summarize` calls the final
    mid). Empty without a sample.

    Args:
        equity: ``EQUITY_DTYPE`` samples in time order (one row per symbol at each sample time).
        n_symbols: How many symbols the rows hold.
        day_marks: The driver's own marks at midnights (``at == "midnight"``, ``ts`` the midnight):
            the books at the very instant. A midnight they do not cover gets the mids of the last
            sample before it (``book_ts`` says when that was).

    Returns:
        The marks in time order: ``start``, each ``midnight``, ``end``.
    """
    if len(equity) == 0:
        return ()
    n = max(int(n_symbols), 1)
    n_venues = venue_count(equity)
    ts = equity["ts"]
    prices = value_prices(equity)
    first, last = int(ts[0]), int(ts[-1])
    rows = [np.flatnonzero(equity["symbol"] == s) for s in range(n)]

    def at(index: int, column: Array) -> Array:
        # per symbol, its row's values at its latest row at or before sample row ``index`` (NaN before any)
        out = np.full((n, n_venues), np.nan)
        for s, own in enumerate(rows):
            k = int(np.searchsorted(own, index, side="right")) - 1
            if k >= 0:
                out[s] = column[own[k]]
        return out

    start_row = int(np.flatnonzero(ts == first)[-1])
    marks = [BoundaryMark("start", first, first, at(start_row, equity["mid"]), at(start_row, prices))]
    given = {int(m.ts): m for m in day_marks or () if m.at == "midnight"}
    midnight = (first // NS_PER_DAY + 1) * NS_PER_DAY
    while midnight <= last:
        mark = given.get(midnight)
        if mark is None:
            before = int(np.searchsorted(ts, midnight, side="left")) - 1  # the last row before midnight
            mark = BoundaryMark("midnight", midnight, int(ts[before]), at(before, equity["mid"]), at(before, prices))
        marks.append(mark)
        midnight += NS_PER_DAY
    end_mid = np.array([last_finite(equity["mid"][own]) if len(own) else np.full(n_venues, np.nan) for own in rows])
    end_price = np.array([last_finite(prices[own]) if len(own) else np.full(n_venues, np.nan) for own in rows])
    marks.append(BoundaryMark("end", last, last, end_mid, end_price))
    return tuple(marks)
