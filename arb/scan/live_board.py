"""What ``arb scan --live`` shows: the ranking, refreshed in place on a terminal (a ``rich.live.Live`` table),
or as plain lines, a block per refresh, when stdout is not a terminal or with ``-q``.

A venue that is not live for a symbol (stale, syncing, no data) is named in the row's state column, and the
row's current net edge shows that state in place of a number; a figure with nothing known in the window shows
``-``: neither is ever drawn as a zero.
"""

from __future__ import annotations

__all__ = ["Board", "Ranking", "ranking_json", "ranking_lines", "ranking_table", "row_state"]

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

from arb.events import NS_PER_S
from arb.formats import json_float

if TYPE_CHECKING:
    from rich.console import Console
    from rich.live import Live
    from rich.table import Table


@dataclass(frozen=True, slots=True)
class Ranking:
    """One refresh of the live scan (:mod:`arb.scan.live`): the window (ns since the epoch) and its rows, ranked
    (:func:`arb.scan.live.rank_rows`)."""

    start_ns: int
    end_ns: int
    rows: list[dict[str, Any]]
    states: dict[tuple[str, str], str]
    """Each (venue, symbol)'s state at the refresh."""


_ROWS = 20
"""Rows shown per refresh (the best ones), at most."""
_LIVE = "live"


def row_state(row: Mapping[str, Any]) -> str:
    """``"live"`` when both venues of the row are, else each one that is not with its state
    (``"<venue> stale"``, ``"<venue> syncing, <venue> stale"``)."""
    bad = [f"{row[f'{s}_venue']} {row[f'{s}_state']}" for s in ("buy", "sell") if row[f"{s}_state"] != _LIVE]
    return ", ".join(bad) or _LIVE


def _num(v: Any, spec: str) -> str:
    x = float(v)
    return format(x, spec) if math.isfinite(x) else "-"


def _now(row: Mapping[str, Any]) -> str:
    # The current net edge, or why there is none.
    for side in ("buy", "sell"):
        if row[f"{side}_state"] != _LIVE:
            return str(row[f"{side}_state"])
    return _num(row["net_bps_now"], "+.1f")


def _lead(row: Mapping[str, Any]) -> str:
    if not row["lead_venue"]:
        return "-" if not math.isfinite(float(row["lead_ms"])) else "together"
    return f"{row['lead_venue']} {float(row['lead_ms']):.0f} ms"


def _cells(rank: int, row: Mapping[str, Any]) -> list[str]:
    return [
        str(rank), str(row["symbol"]), f"{row['buy_venue']} -> {row['sell_venue']}",
        _num(row["capturable_quote_at_latency"], ",.2f"), _num(row["edge_quote"], ",.2f"),
        _num(row["crossable_quote"], ",.0f"), _num(row["share_above"], ".1%"), str(row["episodes"]),
        _num(row["episode_ms_p50"], ",.0f"), _num(row["net_bps_p50"], "+.1f"), _num(row["net_bps_max"], "+.1f"),
        _now(row), _lead(row), row_state(row),
    ]  # fmt: skip


_HEADERS = ("#", "symbol", "buy -> sell", "capturable", "edge", "crossable", "above", "episodes", "ep p50 ms",
            "net p50", "net max", "now bps", "lead", "state")  # fmt: skip


def _title(ranking: Ranking, venues: Sequence[str], threshold_bps: float) -> str:
    end = dt.datetime.fromtimestamp(ranking.end_ns / NS_PER_S, dt.UTC)
    window = (ranking.end_ns - ranking.start_ns) / NS_PER_S
    return (f"arb scan --live {' '.join(venues)}: {len(ranking.rows)} pairs, window {window:g} s, threshold "
            f"{threshold_bps:g} bps, at {end:%H:%M:%S} UTC")  # fmt: skip


def _not_live(ranking: Ranking) -> str:
    bad = [f"{v} {s} {state}" for (v, s), state in ranking.states.items() if state != _LIVE]
    return "not live: " + ", ".join(bad) if bad else "every venue live"


def ranking_table(ranking: Ranking, venues: Sequence[str], threshold_bps: float, rows: int = _ROWS) -> Table:
    """The best ``rows`` of ``ranking`` as a rich table (quote figures over the window, bps after both fees)."""
    from rich.table import Table

    table = Table(title=_title(ranking, venues, threshold_bps), caption=_not_live(ranking), expand=False)
    for i, header in enumerate(_HEADERS):
        table.add_column(header, justify="left" if i in (1, 2, 12, 13) else "right", no_wrap=True)
    for rank, row in enumerate(ranking.rows[:rows], 1):
        state = row_state(row)
        table.add_row(*_cells(rank, row), style=None if state == _LIVE else "yellow")
    return table


def ranking_lines(ranking: Ranking, venues: Sequence[str], threshold_bps: float, rows: int = _ROWS) -> list[str]:
    """The best ``rows`` of ``ranking`` as plain lines: the title, one line per row, the venues not live."""
    out = [_title(ranking, venues, threshold_bps)]
    for rank, row in enumerate(ranking.rows[:rows], 1):
        c = _cells(rank, row)
        out.append(f"{c[0]:>3} {c[1]:<12} {c[2]:<20} capturable {c[3]} edge {c[4]} crossable {c[5]} "
                   f"above {c[6]} episodes {c[7]} p50 {c[8]} ms net p50 {c[9]} max {c[10]} now {c[11]} "
                   f"lead {c[12]} [{c[13]}]")  # fmt: skip
    out.append(_not_live(ranking))
    return out


def ranking_json(ranking: Ranking) -> dict[str, object]:
    """``ranking`` as JSON-able data for the ops page (:mod:`arb.ops.scan_page`): its window, its rows (floats
    that are not finite as None) and each venue's state per symbol."""
    rows = [{k: json_float(v) if isinstance(v, float) else v for k, v in row.items()} for row in ranking.rows]
    states = [{"venue": v, "symbol": s, "state": state} for (v, s), state in ranking.states.items()]
    return {"start_ns": ranking.start_ns, "end_ns": ranking.end_ns, "rows": rows, "states": states}


class Board:
    """Shows each :class:`~arb.scan.live.Ranking` (:meth:`show`) on ``console`` (default: stdout): a table
    refreshed in place while the board is entered (``with board:``) on a terminal, else plain lines."""

    def __init__(self, venues: Sequence[str], symbols: Sequence[str], *, window_ns: int, threshold_bps: float,
                 plain: bool = False, console: Console | None = None, rows: int = _ROWS) -> None:  # fmt: skip
        if console is None:
            from rich.console import Console

            console = Console()
        self.console = console
        self.venues = tuple(venues)
        self.symbols = tuple(symbols)
        self.window_ns = window_ns
        self.threshold_bps = threshold_bps
        self.rows = rows
        self.plain = plain or not console.is_terminal
        self._live: Live | None = None

    def __enter__(self) -> Board:
        if not self.plain:
            from rich.live import Live

            self._live = Live(console=self.console, auto_refresh=False, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        live, self._live = self._live, None
        if live is not None:
            live.__exit__(kind, exc, tb)

    def show(self, ranking: Ranking) -> None:
        """Draw ``ranking``: in place of the last one on a terminal, below it otherwise."""
        if self._live is not None:
            self._live.update(ranking_table(ranking, self.venues, self.threshold_bps, self.rows), refresh=True)
            return
        for line in ranking_lines(ranking, self.venues, self.threshold_bps, self.rows):
            self.console.print(line, markup=False, highlight=False, soft_wrap=True)
