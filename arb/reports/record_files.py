"""The records a paper account and a report folder keep, read into arrays: a paper account's journal rows
and the files of an account an earlier arb kept (``account.json``, ``fills.csv``, ``funding.csv``), a
report's ``funding.csv``, its JSON files (:mod:`arb.reports.sources` makes a source of them).

A venue is named in the records and numbered here by the source's venues (their names, in the run's
order); a record naming a venue the source does not hold is refused. Times int64 ns.
"""

from __future__ import annotations

__all__ = [
    "NO_KIND",
    "journal_fills",
    "journal_funding",
    "read_funding",
    "read_json",
    "read_legacy_account",
    "read_paper_fills",
    "venue_number",
]

import csv
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np

from arb.errors import UsageError
from arb.execution.paper_files import KIND_NAMES
from arb.reports.valuation import InitialBalances
from arb.strategy.types import BUY, FILL_DTYPE, FUNDING_DTYPE, SELL

Array = np.ndarray[Any, np.dtype[Any]]

_KINDS: Final = {name: kind for kind, name in KIND_NAMES.items()}  # "quote" too: a maker pair opens with it
_SIDES: Final = {"buy": BUY, "sell": SELL}
_PAPER_HEADER: Final = ("local_ts", "venue", "side", "price", "qty", "fee", "pair_id", "kind", "order_id", "symbol")
NO_KIND: Final = 0
"""The kind of a fill whose kind the records do not give (a paper fill written as "?", a journal fill
without its intent): not a pair's."""


def read_json(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; :class:`UsageError` naming the file when it cannot be read or holds
    something else."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: cannot read it ({exc.__class__.__name__}: {exc})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a JSON object")
    return data


def venue_number(numbers: Mapping[str, int], name: str, where: Path | str) -> int:
    """Venue ``name``'s number in ``numbers`` (the source's venues by name); :class:`UsageError` naming
    ``where`` for a venue the source does not hold."""
    if name not in numbers:
        raise UsageError(f"{where}: a record names the venue {name!r}, which the account ({', '.join(numbers)}) "
                         "does not hold")  # fmt: skip
    return numbers[name]


def journal_fills(
    rows: Sequence[Mapping[str, Any]], symbols: Sequence[str], venues: Sequence[str], where: Path
) -> Array:
    """A paper journal's ``paper_fills`` rows (of the journal ``where``) as ``FILL_DTYPE`` rows, symbols
    numbered by ``symbols`` (a name not there after them), venues by ``venues`` (:func:`venue_number`). The
    venue time of a fill migrated from fills.csv is not known: its local time stands in, as the file's
    reader does."""
    numbers = {name: i for i, name in enumerate(symbols)}
    venue_numbers = {name: v for v, name in enumerate(venues)}
    out = np.zeros(len(rows), FILL_DTYPE)
    for i, r in enumerate(rows):
        local = int(r["local_ts_ns"])
        out[i] = (local, int(r["exch_ts_ns"]) or local, venue_number(venue_numbers, r["venue"], where),
                  int(r["side"]), float(r["price"]), float(r["qty"]), float(r["fee"]), int(r["pair_id"]),
                  int(r["kind"]), int(r["order_id"]), numbers.setdefault(r["symbol"], len(numbers)))  # fmt: skip
    return out


def journal_funding(
    rows: Sequence[Mapping[str, Any]], symbols: Sequence[str], venues: Sequence[str], where: Path
) -> Array:
    """A paper journal's ``paper_funding`` rows as ``FUNDING_DTYPE`` rows sorted by ``ts``, numbered as
    :func:`journal_fills` numbers fills (a symbol it does not know: the first)."""
    numbers = {name: i for i, name in enumerate(symbols)}
    venue_numbers = {name: v for v, name in enumerate(venues)}
    out = np.zeros(len(rows), FUNDING_DTYPE)
    for i, r in enumerate(rows):
        out[i] = (int(r["local_ts_ns"]), int(r["funding_ts_ns"]), venue_number(venue_numbers, r["venue"], where),
                  numbers.get(r["symbol"], 0), float(r["rate"]), float(r["mark"]), float(r["position"]),
                  float(r["payment"]))  # fmt: skip
    return out[np.argsort(out["ts"], kind="stable")]


def read_legacy_account(path: Path) -> tuple[InitialBalances, list[str], str]:
    """The ``account.json`` of an account an earlier arb kept: (its inception balances, its symbols, its
    halt); :class:`UsageError` when it holds no balances."""
    account = read_json(path)
    try:
        base = account["inception_base"]
        rows = base if base and isinstance(base[0], list) else [base]  # per symbol, a value per venue
        initial = InitialBalances.of_symbols(rows, tuple(account["inception_quote"]))
    except (KeyError, TypeError, ValueError, IndexError):
        raise UsageError(f"{path}: expected inception_base and inception_quote") from None
    symbols = [str(name) for name in account.get("symbols", [])]
    return initial, symbols, str(account.get("halt") or "")


def read_funding(path: Path, lead: tuple[str, ...], symbols: Sequence[str], venues: Sequence[str]) -> Array:
    """A funding.csv as ``FUNDING_DTYPE`` rows sorted by ``ts``: a report's (``lead`` ``time,local_ts``:
    time,local_ts,funding_time,venue,symbol,...) or a paper account's (``local_ts``:
    local_ts,funding_ts,venue,symbol,...); the columns after the venue are symbol, rate, mark, position,
    payment. Symbols numbered by ``symbols`` (a number as itself, else the first), venues by ``venues``.
    No file: no payment was booked (empty). :class:`UsageError` names a line that does not parse."""
    if not path.is_file():
        return np.zeros(0, FUNDING_DTYPE)
    numbers = {name: i for i, name in enumerate(symbols)}
    venue_numbers = {name: v for v, name in enumerate(venues)}
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
            rows.append((int(row[at["local_ts"]]), funding_ts, venue_numbers[row[at["venue"]]],
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


def read_paper_fills(path: Path, symbols: Sequence[str], venues: Sequence[str]) -> Array:
    """The fills.csv of an account an earlier arb kept (today's export is the same),
    ``local_ts,venue,side,price,qty,fee,pair_id,kind,order_id,symbol``, as ``FILL_DTYPE`` rows: the symbol
    column numbered by ``symbols`` (a file without it is one symbol's), the venue by ``venues``. No file:
    empty. :class:`UsageError` names a line that does not parse."""
    numbers = {name: i for i, name in enumerate(symbols)}
    venue_numbers = {name: v for v, name in enumerate(venues)}
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
            rows.append((int(ts), int(ts), venue_numbers[venue], _SIDES[side], float(price), float(qty), float(fee),
                         int(pair_id), _KINDS.get(kind, NO_KIND), int(order_id), symbol))  # fmt: skip
        except (ValueError, KeyError):
            raise UsageError(f"{path}: line {line}: expected a fill, got {','.join(row)!r}") from None
    return np.array(rows, dtype=FILL_DTYPE) if rows else np.zeros(0, FILL_DTYPE)
