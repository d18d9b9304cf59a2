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
    "MARK_DTYPE",
    "SOURCES",
    "Mark",
    "SourceData",
    "journal_url",
    "load_backtest",
    "load_live",
    "load_paper",
    "marks_from",
]

import csv
import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np

from arb.errors import UsageError
from arb.events import ASSET_NAMES
from arb.execution.paper_files import KIND_NAMES, VENUE_NUMBERS
from arb.reports.common import VENUES
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
from arb.reports.valuation import InitialBalances
from arb.strategy.types import (
    BUY,
    FILL_DTYPE,
    FUNDING_DTYPE,
    HEDGE_FAILED,
    SELL,
    TRANSFER_DTYPE,
    equity_dtype,
)

Array = np.ndarray[Any, np.dtype[Any]]
Mark = tuple[int, Sequence[float] | Sequence[Sequence[float]]]
"""``(ts_ns, (mid_binance, mid_bybit))``: a mid per venue at a time; NaN where not known. With several
symbols, ``(ts_ns, ((mid_binance, mid_bybit), ...))``: one pair per symbol, in symbol order (a single
pair is the first symbol's)."""

MARK_DTYPE: Final = np.dtype([("ts", "i8"), ("mid", "f8", (2,)), ("symbol", "i8")])
"""One mark: the time (int64 ns), a mid per venue (quote per base, NaN where this mark says nothing)
and the symbol number it values."""

_KINDS: Final = {name: kind for kind, name in KIND_NAMES.items()}  # "quote" too: a maker pair opens with it
_SIDES: Final = {"buy": BUY, "sell": SELL}
_PAPER_HEADER: Final = ("local_ts", "venue", "side", "price", "qty", "fee", "pair_id", "kind", "order_id", "symbol")
_NO_KIND: Final = 0  # a paper fill whose kind the file wrote as "?" (not a pair's)


@dataclass(frozen=True)
class SourceData:
    """One source, loaded.

    Attributes:
        kind: ``"backtest"``, ``"paper"`` or ``"live"``.
        name: Where it was read (a folder, a file, a redacted database URL).
        fills: ``FILL_DTYPE`` rows sorted by ``local_ts`` (stable).
        marks: ``MARK_DTYPE`` rows sorted by ``ts`` (fills' prices first among equal times).
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
    equity: Array = field(default_factory=lambda: np.zeros(0, equity_dtype(len(VENUES))))
    inventory: Mapping[str, Any] | None = None
    transfers: Array = field(default_factory=lambda: np.zeros(0, TRANSFER_DTYPE))

    @property
    def empty(self) -> bool:
        """True when the source knows of no time: no fill and no mark (an account that never traded)."""
        return self.last_ns < self.first_ns


def marks_from(fills: Array, sessions: Iterable[Mark] = ()) -> Array:
    """The marks of ``fills`` (each fill's price on its symbol's venue at its ``local_ts``) and of
    ``sessions`` (``(ts_ns, mids)`` each, see :data:`Mark`), as ``MARK_DTYPE`` sorted by time; at one
    time the sessions' mids come after the fills' prices, so they win."""
    own = np.zeros(len(fills), MARK_DTYPE)
    own["ts"] = fills["local_ts"]
    own["mid"] = np.nan
    own["mid"][np.arange(len(fills)), fills["venue"].astype(np.int64)] = fills["price"]
    own["symbol"] = fills["symbol"]
    given = [(int(ts), pair, s) for ts, mids in sessions for s, pair in _pairs(mids)]
    extra = np.array(given, dtype=MARK_DTYPE) if given else np.zeros(0, MARK_DTYPE)
    both = np.concatenate([own, extra])
    return both[np.argsort(both["ts"], kind="stable")]


def _pairs(mids: Sequence[Any]) -> list[tuple[int, list[float]]]:
    # a mark's mids as (symbol, [mid_binance, mid_bybit]): one pair (the first symbol's) or one per symbol
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


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: cannot read it ({exc.__class__.__name__}: {exc})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a JSON object")
    return data


def _final_mids(summary: Mapping[str, Any], symbols: Sequence[str] = ()) -> list[list[float]]:
    # A session report's final mids per symbol of ``symbols`` (its ``symbols`` section by name; a report
    # of one symbol values the first), NaN where it says nothing
    def venue_mids(figures: Mapping[str, Any]) -> list[float]:
        venues = figures.get("venues", {})
        return [_finite_or_nan(venues.get(name, {}).get("final_mid")) for name in ASSET_NAMES]

    parts = summary.get("symbols")
    if not isinstance(parts, Mapping) or not parts:
        nothing = [math.nan] * len(ASSET_NAMES)
        return [venue_mids(summary)] + [nothing] * (len(symbols) - 1)
    return [venue_mids(parts.get(name) or {}) for name in symbols]


def _boundary_marks(summary: Mapping[str, Any], symbols: Sequence[str] = ()) -> list[Mark]:
    # A session report's boundary marks (its ``marks``: start, midnights, end) per symbol of ``symbols``
    # by name (a report of one symbol values the first): each at its time, the valuation prices where
    # given (a perpetual's mark price), else the books' mids; NaN where it says nothing
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
            rows.append([_finite_or_nan(own.get(venue)) for venue in ASSET_NAMES])
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
    summary = _read_json(summary_path)
    meta = summary.get("meta", {})
    names = _symbols_of(meta.get("config"))
    try:
        fills = _sorted(read_trades_csv(trades_path, names))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    initial = summary.get("initial", {})
    try:
        balances = InitialBalances.of_symbols(initial.get("bases") or [initial["base"]], tuple(initial["quote"]))
    except (KeyError, TypeError, ValueError, AttributeError):
        raise UsageError(f"{summary_path}: expected the starting balances under 'initial'") from None
    names = _names(names, balances.n_symbols)
    start, end = meta.get("start_ns"), meta.get("end_ns")
    sessions: list[Mark] = [(int(end), _final_mids(summary, names))] if isinstance(end, int) else []
    boundaries = _boundary_marks(summary, names)
    marks = marks_from(fills, [*boundaries, *sessions])
    try:
        equity = read_equity_npz(folder / EQUITY_NPZ)
        transfers = read_transfers_csv(folder / TRANSFERS_CSV, names)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
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
        funding=_read_funding(folder / FUNDING_CSV, ("time", "local_ts"), names),
        equity=equity if len(equity) and equity["symbol"].max() < balances.n_symbols else equity[:0],
        inventory=inventory if isinstance(inventory, Mapping) else None,
        transfers=transfers[np.argsort(transfers["ts"], kind="stable")],
    )


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


def _session_marks(summaries: Sequence[tuple[Path, dict[str, Any]]], symbols: Sequence[str] = ()) -> list[Mark]:
    marks: list[Mark] = []
    for _, data in summaries:
        marks += _boundary_marks(data, symbols)
        end = data["meta"].get("end_ns")
        if isinstance(end, int):
            marks.append((end, _final_mids(data, symbols)))
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
    results: Path | None,
    mode: str,
    belongs: Callable[[Mapping[str, Any]], bool],
    marks: Iterable[Mark],
) -> _AccountMarks:
    # the marks of ``fills``, of the reports of ``mode`` sessions in ``results`` that ``belongs`` to the
    # account, and of ``marks``; the span runs from the earliest session's start
    summaries = _session_summaries(results, mode, belongs)
    given = list(marks)
    all_marks = marks_from(fills, [*_session_marks(summaries, names), *given])
    starts = [d["meta"]["start_ns"] for _, d in summaries if isinstance(d["meta"].get("start_ns"), int)]
    first, last = _span(fills, all_marks, min(starts) if starts else None)
    return _AccountMarks(summaries, all_marks, first, last, _marks_note(summaries, results, len(given)))


# -- paper account ---------------------------------------------------------------------------------------


def load_paper(state_dir: Path, results: Path | None = None, marks: Iterable[Mark] = ()) -> SourceData:
    """A paper account: its journal (``paper.sqlite`` in ``[dry_run] state_dir``), read without writing
    (a dry run may be writing it), or the ``account.json`` and ``fills.csv`` of an account an earlier
    arb kept and no dry run has migrated yet.

    Marks: the fills' prices, the final mids of the ``arb dry-run`` reports in ``results`` (or its
    sub-folders) whose ``meta.account`` is this account, and ``marks``. Starting balances: the
    account's inception balances. Raises :class:`UsageError` when there is no account, or it cannot be read.
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
        symbols = journal.symbols
        fills = _sorted(_journal_fills(journal.fills, symbols))
        funding = _journal_funding(journal.funding, symbols)
        halt = journal.halt
    elif (state_dir / LEGACY_ACCOUNT).is_file():
        initial, symbols, halt = _read_legacy_account(state_dir / LEGACY_ACCOUNT)
        fills = _sorted(_read_paper_fills(state_dir / "fills.csv", symbols))
        funding = _read_funding(state_dir / "funding.csv", ("local_ts",), _names(symbols, initial.n_symbols))
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

    seen = _account_marks(fills, names, results, "dry-run", belongs, marks)
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
    )


def _journal_fills(rows: Sequence[Mapping[str, Any]], symbols: Sequence[str]) -> Array:
    # paper_fills rows -> FILL_DTYPE (the venue time of a fill migrated from fills.csv is not known: its
    # local time stands in, as the file's reader does)
    numbers = {name: i for i, name in enumerate(symbols)}
    out = np.zeros(len(rows), FILL_DTYPE)
    for i, r in enumerate(rows):
        local = int(r["local_ts_ns"])
        out[i] = (local, int(r["exch_ts_ns"]) or local, VENUE_NUMBERS[r["venue"]], int(r["side"]), float(r["price"]),
                  float(r["qty"]), float(r["fee"]), int(r["pair_id"]), int(r["kind"]), int(r["order_id"]),
                  numbers.setdefault(r["symbol"], len(numbers)))  # fmt: skip
    return out


def _journal_funding(rows: Sequence[Mapping[str, Any]], symbols: Sequence[str]) -> Array:
    numbers = {name: i for i, name in enumerate(symbols)}
    out = np.zeros(len(rows), FUNDING_DTYPE)
    for i, r in enumerate(rows):
        out[i] = (int(r["local_ts_ns"]), int(r["funding_ts_ns"]), VENUE_NUMBERS[r["venue"]],
                  numbers.get(r["symbol"], 0), float(r["rate"]), float(r["mark"]), float(r["position"]),
                  float(r["payment"]))  # fmt: skip
    return out[np.argsort(out["ts"], kind="stable")]


def _read_legacy_account(path: Path) -> tuple[InitialBalances, list[str], str]:
    # account.json of an earlier arb: (inception balances, symbols, halt)
    account = _read_json(path)
    try:
        base = account["inception_base"]
        rows = base if base and isinstance(base[0], list) else [base]  # per symbol: [[binance, bybit], ...]
        initial = InitialBalances.of_symbols(rows, tuple(account["inception_quote"]))
    except (KeyError, TypeError, ValueError, IndexError):
        raise UsageError(f"{path}: expected inception_base and inception_quote") from None
    symbols = [str(name) for name in account.get("symbols", [])]
    return initial, symbols, str(account.get("halt") or "")


def _read_funding(path: Path, lead: tuple[str, ...], symbols: Sequence[str]) -> Array:
    # A funding.csv: a report's (time,local_ts,funding_time,venue,symbol,...) or a paper account's
    # (local_ts,funding_ts,venue,symbol,...); the last five columns are symbol, rate, mark, position,
    # payment after the venue. None there: no payment was booked.
    if not path.is_file():
        return np.zeros(0, FUNDING_DTYPE)
    numbers = {name: i for i, name in enumerate(symbols)}
    reader = _complete_rows(path)
    header = next(reader, None)
    if header is None or tuple(header[: len(lead)]) != lead or "payment" not in header:
        raise UsageError(f"{path}: expected a funding.csv, got the header {header}")
    at = {name: i for i, name in enumerate(header)}
    rows = []
    for line, row in enumerate(reader, start=2):
        if not row:
            continue
        try:
            if len(row) != len(header):
                raise ValueError(row)
            funding_ts = int(row[at["funding_ts"]]) if "funding_ts" in at else _parse_iso(row[at["funding_time"]])
            symbol = row[at["symbol"]]
            rows.append((int(row[at["local_ts"]]), funding_ts, VENUE_NUMBERS[row[at["venue"]]],
                         numbers.get(symbol, int(symbol) if symbol.isdigit() else 0), float(row[at["rate"]]),
                         float(row[at["mark"]]), float(row[at["position"]]), float(row[at["payment"]])))  # fmt: skip
        except (ValueError, KeyError):
            raise UsageError(f"{path}: line {line}: expected a funding payment, got {','.join(row)!r}") from None
    out = np.array(rows, dtype=FUNDING_DTYPE) if rows else np.zeros(0, FUNDING_DTYPE)
    return out[np.argsort(out["ts"], kind="stable")]


def _complete_rows(path: Path) -> Iterator[list[str]]:
    # the csv rows of ``path``'s complete lines: a last line without its newline is being appended by
    # the running session, not a row yet
    text = path.read_text(encoding="utf-8")
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    return csv.reader(text.splitlines())


def _parse_iso(text: str) -> int:
    # "2024-05-06T00:00:05.000000000Z" -> int64 ns
    return int(np.datetime64(text.rstrip("Z"), "ns").astype(np.int64))


def _read_paper_fills(path: Path, symbols: list[str] | None = None) -> Array:
    # fills.csv of an account an earlier arb kept (today's export is the same):
    # local_ts,venue,side,price,qty,fee,pair_id,kind,order_id,symbol
    # (the symbol column is numbered by ``symbols``; a file without it is one symbol's)
    numbers = {name: i for i, name in enumerate(symbols or ())}
    if not path.is_file():
        return np.zeros(0, FILL_DTYPE)
    rows = []
    reader = _complete_rows(path)
    header = next(reader, None)
    if header is None:
        return np.zeros(0, FILL_DTYPE)
    if tuple(header) not in (_PAPER_HEADER, _PAPER_HEADER[:-1]):
        raise UsageError(f"{path}: expected the header {','.join(_PAPER_HEADER)}, got {header}")
    width = len(header)
    for line, row in enumerate(reader, start=2):
        if not row:
            continue
        try:
            if len(row) != width:
                raise ValueError(row)
            ts, venue, side, price, qty, fee, pair_id, kind, order_id = row[:9]
            symbol = numbers.setdefault(row[9], len(numbers)) if width > 9 else 0
            rows.append((int(ts), int(ts), VENUE_NUMBERS[venue], _SIDES[side], float(price), float(qty), float(fee),
                         int(pair_id), _KINDS.get(kind, _NO_KIND), int(order_id), symbol))  # fmt: skip
        except (ValueError, KeyError):
            raise UsageError(f"{path}: line {line}: expected a fill, got {','.join(row)!r}") from None
    return np.array(rows, dtype=FILL_DTYPE) if rows else np.zeros(0, FILL_DTYPE)


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
        kind = int(r["kind"]) if r["kind"] is not None else _NO_KIND
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

    seen = _account_marks(fills, names, results, "live", belongs, marks)
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
) -> tuple[list[tuple[float, float]], tuple[float, float], str, Array]:
    # A spot venue's holdings before the journal's first fill (its reconciliation baseline) when the
    # journal has one holding the quote and every symbol's base coin (``bases``), else the venue's
    # [account] table and each symbol's base there; a linear venue's are always the tables'. And the
    # account's own moves of money (``moves``: the journal's transfers rows) as TRANSFER_DTYPE rows, the
    # starting holdings taken back to before them (:func:`arb.reports.live_transfers.journal_moves`).
    held = [[0.0, 0.0] for _ in bases]
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
    return [(b[0], b[1]) for b in held], (quotes[0], quotes[1]), ", ".join(used), transfers
