"""Record arrays a driver appends to for as long as it runs, in bounded memory.

The live engine keeps what it did as NumPy record arrays (its decisions, the orders it sent, its
equity samples, fills and funding: :class:`arb.live.engine.EngineLog`) for the run's report and the
terminal's lines. A dry run or ``arb live`` that runs for weeks would keep every decision of every
book change: :class:`RowLog` grows by doubling up to ``keep`` rows, then sheds old rows instead of
growing. Two ways to shed:

- the oldest rows go, the newest ``keep // 2`` stay (decisions and orders sent: the recent past is
  what a report of them reads; the account's own record is the journal, on disk);
- ``thin``: every other group of ``group`` rows goes, the first and the newest always kept (equity
  samples: the curve spans the whole run, coarser the older it is; a group is one sample, a row per
  symbol).

``n`` is the rows held (the compiled code writes at ``data[n:]`` after :meth:`RowLog.room`), ``shed``
the rows let go, ``total`` every row ever appended.
"""

from __future__ import annotations

__all__ = ["RowLog"]

from typing import Any

import numpy as np

from arb.strategy.types import narrow_venues


class RowLog:
    """An append-only record array of ``dtype``: capacity doubling from ``capacity``, at most ``keep``
    rows held (``None``: no bound), shedding the oldest half or, ``thin``, every other ``group`` of rows."""

    def __init__(
        self,
        dtype: np.dtype[Any],
        capacity: int = 1024,
        *,
        keep: int | None = None,
        thin: bool = False,
        group: int = 1,
        shown: np.dtype[Any] | None = None,
    ) -> None:
        if keep is not None and keep < 2 * group:
            raise ValueError(f"keep must hold at least two groups of {group} rows, got {keep}")
        self.data = np.zeros(capacity if keep is None else min(capacity, keep), dtype)
        self.n = 0
        self.keep = keep
        self.thin = thin
        self.group = group
        self.shed = 0
        """Rows let go so far."""
        self.shown = shown
        """The dtype :meth:`view` gives the rows in, when the compiled code writes wider ones (``MAX_VENUES``
        columns a venue field, :func:`arb.strategy.types.narrow_venues`); None: ``dtype``."""

    @property
    def total(self) -> int:
        """Every row ever appended: the held ones and the shed ones."""
        return self.n + self.shed

    def next(self) -> Any:
        self.room(1)
        row = self.data[self.n]
        self.n += 1
        return row

    def room(self, more: int) -> np.ndarray[Any, Any]:
        """The array, with room for ``more`` rows after the ``n`` held: grown (doubling) up to ``keep``
        rows, then old rows shed (``n`` smaller) until they fit. Do not keep the array across calls."""
        while self.n + more > len(self.data):
            if self.keep is not None and len(self.data) >= self.keep and self.n > self.group:
                self._shed()
                continue
            size = len(self.data) * 2 if self.keep is None else min(len(self.data) * 2, max(self.keep, self.n + more))
            self.data = np.concatenate([self.data, np.zeros(size - len(self.data), self.data.dtype)])
        return self.data

    def view(self) -> np.ndarray[Any, Any]:
        """The rows held: a view of them, or, with ``shown``, a copy in that dtype (the run's venues)."""
        if self.shown is not None:
            return narrow_venues(self.data[: self.n], self.shown)
        return self.data[: self.n]

    def _shed(self) -> None:
        n, group = self.n, self.group
        if self.thin:
            whole = n - n % group  # a partial group (none, as the engine writes) stays at the end
            groups = self.data[:whole].reshape(-1, group)
            picked = [*range(0, len(groups) - 1, 2), len(groups) - 1]  # the first and the newest stay
            kept = np.concatenate([groups[picked].reshape(-1), self.data[whole:n]])
        else:
            stay = min(n, max(group, (self.keep or n) // 2))
            kept = self.data[n - stay : n].copy()
        self.data[: len(kept)] = kept
        self.shed += n - len(kept)
        self.n = len(kept)
