"""What a periodic report reads: a backtest's report folder, a paper account or the live journal.

Each source is loaded, read-only, into one :class:`SourceData`: the fills (``FILL_DTYPE``, time
order, each naming its symbol), the *marks* that value what is held (per symbol and venue, a mid at a
time) and the starting balances (per symbol).
None of the three keeps equity samples on disk, so the report rebuilds equity from the fills and the
marks (:mod:`arb.reports.figures`). The marks are:

- every fill's price, on its symbol's venue at its ``local_ts`` (the last trade arb made there);
- each session's boundary marks (``marks`` of its summary.json: the books' mids at its start, at each
  UTC midnight it crossed and at its end, valuation prices where they differ) and its final mid
  (``venues.<name>.final_mid``, with several symbols ``symbols.<symbol>.venues.<name>.final_mid``)
  at its ``end_ns``: the backtest's own summary.json, and for a paper account or the journal the
  summary.json of every ``arb dry-run`` / ``arb live`` session of that account found in the results
  folder;
- for the daily report of a running session, the mids the session passes in
  (:func:`arb.reports.write_daily_report`).

A mark a session took at a time wins over a fill's price at the same time, so a position carried
across midnight is valued at the books' mids there, on both sides of the boundary.

A backtest's report folder also keeps its equity samples (``equity.npz``, one a second): the report
measures drawdown and ratios on them (:attr:`SourceData.equity`).

Times are int64 ns since the epoch (UTC): ``local_ts`` of the fills (data time for a replay).
"""

from __future__ import annotations

__all__ = [
    "SOURCES",
    "Mark",
    "SourceData",
    "journal_url",
    "load_backtest",
    "load_live",
    "load_paper",
    "mark_dtype",
    "marks_from",
    "report_venues",
]

import functools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np

from arb.catalog import default_venues
from arb.errors import UsageError
from arb.reports.common import strategy_text
from arb.reports.files import (
    EQUITY_NPZ,
    FUNDING_CSV,
    SUMMARY_JSON,
    TRADES_CSV,
    TRANSFERS_CSV,
    read_equity_npz,
    read_trades_csv,
    read_transfers_csv,
)
from arb.reports.names import SOURCES
from arb.reports.record_files import (
    NO_KIND,
    journal_fills,
    journal_funding,
    read_funding,
    read_json,
    read_legacy_account,
    read_paper_fills,
)
from arb.reports.valuation import InitialBalances
from arb.results.venues import saved_venue_names, venue_names
from arb.strategy.types import (
    FILL_DTYPE,
    FUNDING_DTYPE,
    HEDGE_FAILED,
    TRANSFER_DTYPE,
    equity_dtype,
)

Array = np.ndarray[Any, np.dtype[Any]]
Mark = tuple[int, Sequence[float] | Sequence[Sequence[float]]]
"""``(ts_ns, (mid_0, mid_1, ...))``: a mid per venue (by number) at a time; NaN where not known. With
several symbols, ``(ts_ns, ((mid_0, mid_1, ...), ...))``: one row per symbol, in symbol order (a single
row is the first symbol's)."""


@functools.cache
def mark_dtype(n_venues: int) -> np.dtype[Any]:
    """One mark of a source of ``n_venues`` venues: the time (int64 ns), a mid per venue (quote per base,
    NaN where this mark says nothing) and the symbol number it values. The same object for the same
    number."""
    return np.dtype([("ts", "i8"), ("mid", "f8", (n_venues,)), ("symbol", "i8")])


def _no_equity() -> Array:
    # no equity samples (rows of the default run's venues; SourceData gives them the source's width)
    return np.zeros(0, equity_dtype(len(default_venues())))


@dataclass(frozen=True)
class SourceData:
    """One source, loaded.

    Attributes:
        kind: ``"backtest"``, ``"paper"`` or ``"live"``.
        name: Where it was read (a folder, a file, a redacted database URL).
        fills: ``FILL_DTYPE`` rows sorted by ``local_ts`` (stable).
        marks: :func:`mark_dtype` rows sorted by ``ts`` (fills' prices first among equal times).
        initial: The balances the account started with (inception): PnL is measured against them;
            every symbol's base (``initial.bases``).
        first_ns: The first time the source knows of (a run's start, else its first fill or mark).
        last_ns: The last time it knows of (a run's end, else its last fill or mark). A source that
            knows of no time at all (no fill, no mark) has ``last_ns < first_ns`` (:attr:`empty`).
        quote: The quote currency's name (``USDT``), for the page.
        halts: What the source says stops trading now (a halt reason, a hedge that failed).
        notes: How the marks were found, and anything else the reader must know.
        symbols: The symbols' names by number (one name, or none, for a source of one symbol).
        funding: ``FUNDING_DTYPE`` rows sorted by ``ts``: the funding payments of perpetual positions
            (a backtest's ``funding.csv``, a paper account's, the journal's); empty on spot.
        equity: Equity rows (:func:`~arb.strategy.types.equity_dtype`) sorted by ``ts`` (one per symbol at
            each sample time): the run's own equity samples when the source keeps them (a backtest's
            ``equity.npz``); empty
            otherwise, and the report rebuilds equity from the fills and the marks.
        inventory: What inventory cost the whole run, as its ``summary.json`` holds it (a backtest's
            ``inventory``: misses for want of balance, transfers, balances at the end); None for a
            paper account, the journal, or a backtest written before arb kept it.
        transfers: ``TRANSFER_DTYPE`` rows sorted by ``ts``: the transfers of inventory between the
            venues a backtest made (its ``transfers.csv``), or the withdrawals between them the live
            account made (the journal's ``transfers``: ``arb rebalance --execute``, ``[rebalance] auto``);
            the rebuilt balances, equity and PnL count them (:mod:`arb.reports.transfers`). Empty for a
            paper account.
        venues: The venues' names by number (default: :func:`arb.results.venues.venue_names` of as many as
            ``initial`` holds); every per-venue figure of the report is named by them.
    """

    kind: str
    name: str
    fills: Array
    marks: Array
    initial: InitialBalances
    first_ns: int
    last_ns: int
    quote: str = "quote"
    halts: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())
    symbols: tuple[str, ...] = ()
    funding: Array = field(default_factory=lambda: np.zeros(0, FUNDING_DTYPE))
    equity: Array = field(default_factory=_no_equity)
    inventory: Mapping[str, Any] | None = None
    transfers: Array = field(default_factory=lambda: np.zeros(0, TRANSFER_DTYPE))
    venues: tuple[str, ...] = ()
    strategies: tuple[str, ...] = ()
    """The strategies its runs ran, each in words with its parameters (:func:`arb.reports.common.strategy_text`
    of a summary.json's ``meta.strategy``: the backtest's, or each session report's of an account), each
    once, in the reports' order; empty when none says."""

    def __post_init__(self) -> None:
        n = self.initial.n_venues
        object.__setattr__(self, "venues", venue_names(n, self.venues))
        if len(self.equity) == 0 and self.equity.dtype != equity_dtype(n):
            object.__setattr__(self, "equity", np.zeros(0, equity_dtype(n)))

    @property
    def empty(self) -> bool:
        """True when the source knows of no time: no fill and no mark (an account that never traded)."""
        return self.last_ns < self.first_ns


def marks_from(fills: Array, sessions: Iterable[Mark] = (), n_venues: int | None = None) -> Array:
    """The marks of ``fills`` (each fill's price on its symbol's venue at its ``local_ts``) and of
    ``sessions`` (``(ts_ns, mids)`` each, see :data:`Mark`), as :func:`mark_dtype` rows of ``n_venues``
    venues (default: as many as the default run has, or as the widest session mark or the highest venue
    a fill names, if more) sorted by time; at one time the sessions' mids come after the fills' prices,
    so they win.

    Raises:
        ValueError: A fill's venue, or a session mark, does not fit ``n_venues``.
    """
    given = [(int(ts), row, s) for ts, mids in sessions for s, row in _rows(mids)]
    widest = max([len(row) for _, row, _ in given] + [int(fills["venue"].max()) + 1 if len(fills) else 0])
    n = n_venues if n_venues is not None else max(widest, len(default_venues()))
    if widest > n:
        raise ValueError(f"marks: expected {n} venues, got a fill or a mark of {widest}")
    dtype = mark_dtype(n)
    own = np.zeros(len(fills), dtype)
    own["ts"] = fills["local_ts"]
    own["mid"] = np.nan
    own["mid"][np.arange(len(fills)), fills["venue"].astype(np.int64)] = fills["price"]
    own["symbol"] = fills["symbol"]
    extra = np.zeros(len(given), dtype)
    extra["mid"] = np.nan
    for i, (ts, row, s) in enumerate(given):
        extra["ts"][i], extra["symbol"][i] = ts, s
        extra["mid"][i, : len(row)] = row
    both = np.concatenate([own, extra])
    return both[np.argsort(both["ts"], kind="stable")]


def _rows(mids: Sequence[Any]) -> list[tuple[int, list[float]]]:
    # a mark's mids as (symbol, [mid per venue]): one row (the first symbol's) or one per symbol
    rows = list(mids)
    if rows and all(isinstance(row, Sequence | np.ndarray) for row in rows):
        return [(s, [_finite_or_nan(m) for m in row]) for s, row in enumerate(rows)]
    return [(0, [_finite_or_nan(m) for m in rows])]


def _finite_or_nan(x: Any) -> float:
    try:
        value = float(x)
    except (TypeError, ValueError):
        return math.nan
    return value if math.isfinite(value) else math.nan


def _sorted(fills: Array) -> Array:
    return fills[np.argsort(fills["local_ts"], kind="stable")]


def _span(fills: Array, marks: Array, start: int | None = None) -> tuple[int, int]:
    times = [int(fills["local_ts"].min()), int(fills["local_ts"].max())] if len(fills) else []
    times += [int(marks["ts"].min()), int(marks["ts"].max())] if len(marks) else []
    if start is not None:
        times.append(start)
    if not times:  # nothing known: an empty source (see SourceData.empty)
        return 0, -1
    return min(times), max(times)


def _final_mids(summary: Mapping[str, Any], symbols: Sequence[str], venues: Sequence[str]) -> list[list[float]]:
    # A session report's final mids per symbol of ``symbols`` (its ``symbols`` section by name; a report
    # of one symbol values the first), per venue of ``venues`` by name, NaN where it says nothing
    def venue_mids(figures: Mapping[str, Any]) -> list[float]:
        held = figures.get("venues", {})
        return [_finite_or_nan(held.get(name, {}).get("final_mid")) for name in venues]

    parts = summary.get("symbols")
    if not isinstance(parts, Mapping) or not parts:
        nothing = [math.nan] * len(venues)
        return [venue_mids(summary)] + [nothing] * (len(symbols) - 1)
    return [venue_mids(parts.get(name) or {}) for name in symbols]


def _boundary_marks(summary: Mapping[str, Any], symbols: Sequence[str], venues: Sequence[str]) -> list[Mark]:
    # A session report's boundary marks (its ``marks``: start, midnights, end) per symbol of ``symbols``
    # by name (a report of one symbol values the first), per venue of ``venues`` by name: each at its
    # time, the valuation prices where given (a perpetual's mark price), else the books' mids; NaN where
    # it says nothing
    marks = summary.get("marks")
    if not isinstance(marks, list):
        return []
    names: list[str | None] = [*symbols] or [None]
    out: list[Mark] = []
    for mark in marks:
        if not isinstance(mark, Mapping) or not isinstance(mark.get("ts"), int):
            continue
        mids, prices = mark.get("mids"), mark.get("prices")
        values = prices if isinstance(prices, Mapping) else mids
        if not isinstance(values, Mapping) or not values:
            continue
        rows = []
        for s, name in enumerate(names):
            own = values.get(name) if name is not None else None
            if own is None and s == 0 and len(values) == 1:
                own = next(iter(values.values()))  # one symbol: whatever its name
            own = own if isinstance(own, Mapping) else {}
            rows.append([_finite_or_nan(own.get(venue)) for venue in venues])
        out.append((int(mark["ts"]), rows))
    return out


def _symbols_of(config: Mapping[str, Any] | None) -> tuple[str, ...]:
    # [strategy] symbols of a report's configuration (a report from before several symbols: its symbol)
    strategy = (config or {}).get("strategy") or {}
    names = strategy.get("symbols") or ([strategy["symbol"]] if isinstance(strategy.get("symbol"), str) else [])
    return tuple(str(name) for name in names)


def _quote(config: Mapping[str, Any] | None) -> str:
    from arb.execution.risk import quote_currency

    names = _symbols_of(config)
    return quote_currency(names[0]) if names else "quote"


# -- backtest ----------------------------------------------------------------------------------------


def load_backtest(folder: Path) -> SourceData:
    """A backtest's report folder (``summary.json`` and ``trades.csv`` of ``arb backtest``, and its
    equity samples ``equity.npz`` when the folder has them).

    Marks: the fills' prices, the run's boundary marks (summary.json's ``marks``: the books' mids at
    its start, at each UTC midnight and at its end) and its final mids at its ``meta.end_ns``.
    Starting balances: summary.json's ``initial``; what inventory cost the run: its ``inventory``.
    Raises :class:`UsageError` when either file is missing or unreadable.
    """
    summary_path, trades_path = folder / SUMMARY_JSON, folder / TRADES_CSV
    for path in (summary_path, trades_path):
        if not path.is_file():
            raise UsageError(f"--results: expected a backtest report folder with {path.name}, got {str(folder)!r} "
                             f"(no {path.name})")  # fmt: skip
    summary = read_json(summary_path)
    meta = summary.get("meta", {})
    names = _symbols_of(meta.get("config"))
    initial = summary.get("initial", {})
    try:
        balances = InitialBalances.of_symbols(initial.get("bases") or [initial["base"]], tuple(initial["quote"]))
    except (KeyError, TypeError, ValueError, AttributeError):
        raise UsageError(f"{summary_path}: expected the starting balances under 'initial'") from None
    venues = report_venues(summary, balances.n_venues)
    try:
        fills = _sorted(read_trades_csv(trades_path, names, venues))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    names = _names(names, balances.n_symbols)
    start, end = meta.get("start_ns"), meta.get("end_ns")
    sessions: list[Mark] = [(int(end), _final_mids(summary, names, venues))] if isinstance(end, int) else []
    boundaries = _boundary_marks(summary, names, venues)
    try:
        marks = marks_from(fills, [*boundaries, *sessions], balances.n_venues)
        equity = read_equity_npz(folder / EQUITY_NPZ, balances.n_venues)
        transfers = read_transfers_csv(folder / TRANSFERS_CSV, names, venues)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if len(equity) and equity.dtype != equity_dtype(balances.n_venues):
        raise UsageError(f"{folder / EQUITY_NPZ}: expected the samples of {balances.n_venues} venues (summary.json's)")
    first, last = _span(fills, marks, start if isinstance(start, int) else None)
    halts = []
    states = meta.get("kernel_states") or [meta.get("kernel_state") or {}]
    if any(isinstance(st, Mapping) and isinstance(st.get("flags", 0), int) and st.get("flags", 0) & HEDGE_FAILED
           for st in states):  # fmt: skip
        halts.append("a hedge failed repeatedly (HEDGE_FAILED)")
    halt_reason = (meta.get("risk_state") or {}).get("halt_reason")
    if halt_reason:
        halts.append(f"risk limit [risk] {halt_reason}")
    inventory = summary.get("inventory")  # what inventory cost the run (a backtest since arb kept it)
    return SourceData(
        kind="backtest",
        name=str(folder),
        fills=fills,
        marks=marks,
        initial=balances,
        first_ns=first,
        last_ns=last,
        quote=_quote(meta.get("config")),
        halts=tuple(halts),
        notes=(_BACKTEST_MARKS if boundaries else _OLD_BACKTEST_MARKS,),
        symbols=names,
        funding=read_funding(folder / FUNDING_CSV, ("time", "local_ts"), names, venues),
        equity=equity if len(equity) and equity["symbol"].max() < balances.n_symbols else equity[:0],
        inventory=inventory if isinstance(inventory, Mapping) else None,
        transfers=transfers[np.argsort(transfers["ts"], kind="stable")],
        venues=venues,
        strategies=_strategies([summary]),
    )


def _strategies(summaries: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    # The strategies the runs of these summary.json ran, in words, each once.
    texts = (strategy_text((s.get("meta") or {}).get("strategy")) for s in summaries if isinstance(s, Mapping))
    return tuple(dict.fromkeys(text for text in texts if text))


def report_venues(summary: Mapping[str, Any], n: int) -> tuple[str, ...]:
    """The venues of the run a report's summary.json describes, by number, ``n`` of them (its starting
    balances'): the configuration it saved (``meta.config``, :func:`arb.results.venues.saved_venue_names`:
    ``strategy.venues``, or in a report of an older arb the venue tables named as their key, in the file's
    order); else its ``venues`` section's names, in the file's order; else
    :func:`arb.results.venues.venue_names`."""
    return _named_venues(summary, n) or venue_names(n)


def _named_venues(summary: Mapping[str, Any], n: int) -> tuple[str, ...]:
    # report_venues when the report names n venues; else empty
    saved = saved_venue_names((summary.get("meta") or {}).get("config"))
    if len(saved) == n:
        return saved
    columns = summary.get("venues")
    listed = tuple(str(name) for name in columns) if isinstance(columns, Mapping) else ()
    return listed if len(listed) == n else ()


_BACKTEST_MARKS: Final = (
    "marks: the books' mids at the run's start, at each UTC midnight and at its end (summary.json), and each "
    "fill's price"
)
_OLD_BACKTEST_MARKS: Final = (
    "marks: each fill's price, and the run's final mids at its end (summary.json, written by an older arb: it "
    "has no mids at midnight, so a position carried across midnight is valued at its last fill's price there)"
)


def _names(names: Sequence[str], n: int) -> tuple[str, ...]:
    # the symbols' names of a source of n symbols (their numbers where the names are not known)
    if n == 1 or len(names) >= n:
        return tuple(names[:n])
    return tuple(names) + tuple(str(s) for s in range(len(names), n))


# -- sessions' summaries -------------------------------------------------------------------------------


def _session_summaries(results: Path | None, mode: str, belongs: Any) -> list[tuple[Path, dict[str, Any]]]:
    # summary.json of the sessions of ``mode`` in ``results`` or its direct sub-folders that ``belongs``
    if results is None or not results.is_dir():
        return []
    candidates = [results / SUMMARY_JSON, *sorted(results.glob(f"*/{SUMMARY_JSON}"))]
    found = []
    for path in candidates:
        if not path.is_file():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a folder being written, or not a report: not a source of marks
        meta = data.get("meta") if isinstance(data, dict) else None
        if isinstance(meta, dict) and meta.get("mode") == mode and belongs(meta):
            found.append((path, data))
    return found


def _session_marks(
    summaries: Sequence[tuple[Path, dict[str, Any]]], symbols: Sequence[str], venues: Sequence[str]
) -> list[Mark]:
    marks: list[Mark] = []
    for _, data in summaries:
        marks += _boundary_marks(data, symbols, venues)
        end = data["meta"].get("end_ns")
        if isinstance(end, int):
            marks.append((end, _final_mids(data, symbols, venues)))
    return marks


def _marks_note(summaries: Sequence[tuple[Path, dict[str, Any]]], results: Path | None, given: int) -> str:
    note = "marks: each fill's price"
    if summaries:
        note += f", and the mids at the start, each UTC midnight and the end of {len(summaries)} session report(s) "
        note += f"in {results}"
    elif results is not None:
        note += f" (no session report of this account in {results})"
    if given:
        note += f", and {given} mark(s) from the running session"
    return note


@dataclass(frozen=True, slots=True)
class _AccountMarks:
    # What an account's fills and its session reports tell together (a paper account and the live
    # journal read their sessions alike).
    summaries: list[tuple[Path, dict[str, Any]]]
    """The account's session reports found (path, summary.json)."""
    marks: Array
    first_ns: int
    last_ns: int
    note: str
    """How the marks were found."""


def _account_marks(
    fills: Array,
    names: Sequence[str],
    venues: Sequence[str],
    summaries: Sequence[tuple[Path, dict[str, Any]]],
    results: Path | None,
    marks: Iterable[Mark],
) -> _AccountMarks:
    # the marks of ``fills``, of the account's session reports ``summaries`` (found in ``results``) and of
    # ``marks``, per venue of ``venues``; the span runs from the earliest session's start
    given = list(marks)
    all_marks = marks_from(fills, [*_session_marks(summaries, names, venues), *given], len(venues))
    starts = [d["meta"]["start_ns"] for _, d in summaries if isinstance(d["meta"].get("start_ns"), int)]
    first, last = _span(fills, all_marks, min(starts) if starts else None)
    return _AccountMarks(list(summaries), all_marks, first, last, _marks_note(summaries, results, len(given)))


def _account_venues(given: Sequence[str], summaries: Sequence[tuple[Path, dict[str, Any]]], n: int) -> tuple[str, ...]:
    # The venues of an account of ``n`` venues: ``given`` (the configuration's) when it names n, else
    # those of its latest session report that names n (report_venues), else the default names.
    if len(given) == n:
        return tuple(given)
    for _, data in reversed(summaries):
        if found := _named_venues(data, n):
            return found
    return venue_names(n)


# -- paper account ---------------------------------------------------------------------------------------


def load_paper(
    state_dir: Path, results: Path | None = None, marks: Iterable[Mark] = (), venues: Sequence[str] = ()
) -> SourceData:
    """A paper account: its journal (``paper.sqlite`` in ``[dry_run] state_dir``), read without writing
    (a dry run may be writing it), or the ``account.json`` and ``fills.csv`` of an account an earlier
    arb kept and no dry run has migrated yet.

    Marks: the fills' prices, the final mids of the ``arb dry-run`` reports in ``results`` (or its
    sub-folders) whose ``meta.account`` is this account, and ``marks``. Starting balances: the
    account's inception balances. Venues: ``venues`` (the configuration's) when they are as many as the
    account's, else those its latest session report names, else the default run's. Raises
    :class:`UsageError` when there is no account, or it cannot be read.
    """
    from arb.execution.paper_account import read_paper_account
    from arb.execution.paper_files import DB_NAME, LEGACY_ACCOUNT
    from arb.journal import JournalError

    try:
        journal = read_paper_account(state_dir)
    except JournalError as error:
        raise UsageError(str(error)) from None
    if journal is not None:
        initial = InitialBalances.of_symbols(journal.inception_base, journal.inception_quote)
        symbols, halt = journal.symbols, journal.halt
    elif (state_dir / LEGACY_ACCOUNT).is_file():
        initial, symbols, halt = read_legacy_account(state_dir / LEGACY_ACCOUNT)
    else:
        raise UsageError(f"--state-dir: expected a paper account folder with {DB_NAME}, got {str(state_dir)!r} "
                         f"(no {DB_NAME})")  # fmt: skip
    names = _names(symbols, initial.n_symbols)
    me = state_dir.resolve()

    def belongs(meta: Mapping[str, Any]) -> bool:  # a report of this account (its journal, or its account.json)
        path = meta.get("account")
        return (
            isinstance(path, str) and Path(path).name in (DB_NAME, LEGACY_ACCOUNT) and Path(path).resolve().parent == me
        )

    summaries = _session_summaries(results, "dry-run", belongs)
    run_venues = _account_venues(venues, summaries, initial.n_venues)
    if journal is not None:
        fills = _sorted(journal_fills(journal.fills, symbols, run_venues, journal.path))
        funding = journal_funding(journal.funding, symbols, run_venues, journal.path)
    else:
        fills = _sorted(read_paper_fills(state_dir / "fills.csv", symbols, run_venues))
        funding = read_funding(state_dir / "funding.csv", ("local_ts",), names, run_venues)
    seen = _account_marks(fills, names, run_venues, summaries, results, marks)
    quote = _quote(seen.summaries[-1][1]["meta"].get("config")) if seen.summaries else "quote"
    return SourceData(
        kind="paper",
        name=str(state_dir),
        fills=fills,
        marks=seen.marks,
        initial=initial,
        first_ns=seen.first_ns,
        last_ns=seen.last_ns,
        quote=quote,
        halts=(f"the paper account is halted: {halt}",) if halt else (),
        notes=(seen.note, "times: the fills' local time (data time in a replay)"),
        symbols=names,
        funding=funding,
        venues=run_venues,
        strategies=_strategies([data for _, data in seen.summaries]),
    )


# -- live journal ------------------------------------------------------------------------------------------


def load_live(config: Any, results: Path | None = None, marks: Iterable[Mark] = ()) -> SourceData:
    """The live journal of ``config``'s account (``[live] journal_url`` or ``<state_dir>/<account>.sqlite``).

    Read-only: a SQLite journal is opened with ``mode=ro`` (WAL lets it be read while ``arb live``
    writes), nothing is created. Each journal fill becomes one ``FILL_DTYPE`` row: its pair id and
    kind from its intent (no intent: pair 0, kind 0), a fee paid in the base coin valued at the
    fill's price and one paid in a third coin (BNB) at the price its order's ``done`` event names
    (``fee_prices``; none: left out), as the live engine books them. Marks: the fills' prices, the final mids of the
    ``arb live`` reports of this account in ``results``, and ``marks``. Starting balances: a spot venue's
    reconciliation baseline, else the venues' ``[account]`` tables.

    The account's own moves of money between the venues (the journal's ``transfers``) are
    :attr:`SourceData.transfers`, booked as a backtest's are (:mod:`arb.reports.transfers`): what left
    the sender when it was sent, what reached the receiver's trading wallet when it was credited there,
    the difference the sender's fee, by the rules reconciliation and the engine count them
    (:mod:`arb.journal.transfers`); the starting balances are taken back to before them, so each venue's
    balance ends where reconciliation expects it and a move changes the PnL by its fee alone.
    """
    import sqlalchemy as sa

    from arb.execution.risk import quote_currency
    from arb.journal.journal import fills as fills_table
    from arb.journal.journal import funding as funding_table
    from arb.journal.journal import intents as intents_table
    from arb.journal.journal import order_events as events_table
    from arb.journal.journal import state as state_table
    from arb.journal.transfers import read_rows
    from arb.live.kill import HALT_KEY

    account = config.live.account
    url, name = journal_url(config)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            query = (
                sa.select(fills_table, intents_table.c.pair_id, intents_table.c.kind)
                .select_from(fills_table.outerjoin(intents_table, fills_table.c.client_id == intents_table.c.client_id))
                .where(fills_table.c.account == account)
                .order_by(fills_table.c.local_ts_ns, fills_table.c.exch_ts_ms, fills_table.c.trade_id)
            )
            journal_rows = [dict(r._mapping) for r in conn.execute(query)]
            priced = sa.select(events_table.c.client_id, events_table.c.detail).where(
                events_table.c.kind == "done", events_table.c.detail.contains('"fee_prices"')
            )
            fee_prices = {str(r.client_id): json.loads(r.detail)["fee_prices"] for r in conn.execute(priced)}
            paid_query = sa.select(funding_table).where(funding_table.c.account == account)
            try:
                paid_rows = [dict(r._mapping) for r in conn.execute(paid_query)]
            except sa.exc.OperationalError:  # a journal written before the funding table: none booked
                paid_rows = []
            moves = read_rows(conn, account)
            keys = [f"{account}/{HALT_KEY}", *(f"{account}/{kind}/{v.name}/{v.market}" for v in config.venues
                                               for kind in ("baseline", "baseline-transfers"))]  # fmt: skip
            stored = {
                str(k): str(v)
                for k, v in conn.execute(
                    sa.select(state_table.c.key, state_table.c.value).where(state_table.c.key.in_(keys))
                )
            }
    except sa.exc.SQLAlchemyError as exc:
        raise UsageError(f"journal {name}: cannot read it: {str(exc).splitlines()[0]}") from None
    finally:
        engine.dispose()

    names = tuple(config.symbol_names)
    quote = quote_currency(names[0])
    bases = [name[: -len(quote)] if quote != "quote" and name.endswith(quote) else "" for name in names]
    numbers = {name: s for s, name in enumerate(names)}
    markets = {(v.name, v.market): i for i, v in enumerate(config.venues)}
    rows = []
    for r in journal_rows:
        venue = markets.get((r["venue"], r["market"]))
        symbol = numbers.get(str(r["symbol"])) if len(names) > 1 else 0
        if venue is None or symbol is None:
            continue  # another market or symbol of the account: not this strategy's
        price, qty, fee = float(r["price"]), float(r["qty"]), float(r["fee"])
        if r["fee_asset"] and r["fee_asset"] == bases[symbol]:
            fee *= price  # a fee paid in the base coin, valued at the fill's price (the engine's fee in quote)
        elif r["fee_asset"] and r["fee_asset"] != quote:  # a third coin's, at the price the engine valued it at
            fee *= float(fee_prices.get(str(r["client_id"]), {}).get(r["fee_asset"], 0.0))
        pair_id = int(r["pair_id"]) if r["pair_id"] is not None else 0
        kind = int(r["kind"]) if r["kind"] is not None else NO_KIND
        ts = int(r["local_ts_ns"])
        rows.append(
            (ts, int(r["exch_ts_ms"]) * 1_000_000, venue, int(r["side"]), price, qty, fee, pair_id, kind, 0, symbol)
        )
    fills = _sorted(np.array(rows, dtype=FILL_DTYPE) if rows else np.zeros(0, FILL_DTYPE))
    paid = []
    for r in paid_rows:
        venue = markets.get((r["venue"], r["market"]))
        symbol = numbers.get(str(r["symbol"])) if len(names) > 1 else 0
        if venue is None or symbol is None:
            continue
        paid.append((int(r["local_ts_ns"]), int(r["funding_ts_ns"]), venue, symbol, float(r["rate"]),
                     float(r["mark"]), float(r["position"]), float(r["payment"])))  # fmt: skip
    funding = np.array(paid, dtype=FUNDING_DTYPE) if paid else np.zeros(0, FUNDING_DTYPE)
    funding = funding[np.argsort(funding["ts"], kind="stable")]
    account_text = account

    def belongs(meta: Mapping[str, Any]) -> bool:
        return bool(((meta.get("config") or {}).get("live") or {}).get("account") == account_text)

    venues = tuple(config.venue_names)
    seen = _account_marks(fills, names, venues, _session_summaries(results, "live", belongs), results, marks)
    halt = stored.get(f"{account}/{HALT_KEY}", "")
    start_bases, start_quote, baselines, transfers = _live_balances(config, stored, bases, quote, moves)
    times = [int(t) for t in (*transfers["ts"], *transfers["arrive_ts"]) if t >= 0]  # the span holds the moves
    known = seen.last_ns >= seen.first_ns
    return SourceData(
        kind="live",
        name=name,
        fills=fills,
        marks=seen.marks,
        initial=InitialBalances.of_symbols(start_bases, start_quote),
        first_ns=min([seen.first_ns, *times]) if known else min(times, default=seen.first_ns),
        last_ns=max([seen.last_ns, *times]) if known else max(times, default=seen.last_ns),
        quote=quote,
        halts=(f"the live account is halted: {halt}",) if halt else (),
        notes=(
            seen.note,
            "starting balances: " + baselines,
            "fees paid in the base coin are valued at the fill's price",
        ),
        symbols=names,
        funding=funding,
        transfers=transfers,
        venues=venues,
        strategies=_strategies([data for _, data in seen.summaries]),
    )


def journal_url(config: Any) -> tuple[str, str]:
    """The live journal of ``config`` (``[live] journal_url``, or ``<state_dir>/<account>.sqlite`` opened
    read-only, ``mode=ro``): (the URL to open, its name to show, a password hidden). Raises
    :class:`UsageError` naming ``--state-dir`` when the SQLite file does not exist."""
    import sqlalchemy as sa

    live = config.live
    if live.journal_url:
        return live.journal_url, sa.engine.make_url(live.journal_url).render_as_string(hide_password=True)
    path = Path(live.state_dir) / f"{live.account}.sqlite"
    if not path.is_file():
        raise UsageError(f"--state-dir: expected the live journal {path}, got no such file")
    return f"sqlite:///file:{path.resolve()}?mode=ro&uri=true", str(path)


def _live_balances(
    config: Any, stored: Mapping[str, str], bases: Sequence[str], quote: str, moves: Sequence[Any]
) -> tuple[list[list[float]], list[float], str, Array]:
    # A spot venue's holdings before the journal's first fill (its reconciliation baseline) when the
    # journal has one holding the quote and every symbol's base coin (``bases``), else the venue's
    # [account] table and each symbol's base there; a linear venue's are always the tables'. And the
    # account's own moves of money (``moves``: the journal's transfers rows) as TRANSFER_DTYPE rows, the
    # starting holdings taken back to before them (:func:`arb.reports.live_transfers.journal_moves`).
    held = [[0.0] * len(config.venues) for _ in bases]
    quotes, used, counted = [], [], []
    for v, venue in enumerate(config.venues):
        account = config.live.account
        raw = stored.get(f"{account}/baseline/{venue.name}/{venue.market}")
        values: dict[str, Any] = {}
        if raw is not None and venue.market == "spot":
            try:
                values = dict(json.loads(raw))
            except (ValueError, TypeError):
                values = {}
        if quote in values and all(base in values for base in bases):
            for s, base in enumerate(bases):
                held[s][v] = float(values[base])
            quotes.append(float(values[quote]))
            used.append(f"{venue.name} the journal's baseline")
            counted.append(stored.get(f"{account}/baseline-transfers/{venue.name}/{venue.market}") or "")
        else:
            for s, sym in enumerate(config.symbols):
                held[s][v] = float(sym.base[v]) if len(bases) > 1 else venue.account.base
            quotes.append(venue.account.quote)
            used.append(f"{venue.name} its [account] table")
            counted.append("{}")  # the tables are the holdings before any move
    from arb.reports.live_transfers import journal_moves

    transfers, before = journal_moves(config, moves, counted, bases, quote)
    for v in range(len(quotes)):
        for s in range(len(bases)):
            held[s][v] += before[v][s]
        quotes[v] += before[v][-1]
    return held, quotes, ", ".join(used), transfers
