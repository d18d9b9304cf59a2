"""The paper account's folder: its lock, its journal (an older account migrated into it), the exports.

:mod:`arb.execution.paper_account` keeps the account; this module keeps what lies around it in
``[dry_run] state_dir``: the writer's lock (``paper.lock``), the journal opened with an account of an
earlier arb (``account.json`` and its CSV files) migrated into it once, a folder set aside by
``--fresh``, and the readable exports (``fills.csv``, ``funding.csv``) made equal to the journal.
"""

from __future__ import annotations

__all__ = [
    "DB_NAME",
    "FILLS_CSV",
    "FILLS_HEADER",
    "FUNDING_CSV",
    "FUNDING_HEADER",
    "KEY_ACCOUNT",
    "KEY_COUNTERS",
    "KEY_DAYS",
    "KEY_HALT",
    "KEY_MIGRATED",
    "KEY_RISK",
    "KEY_SESSIONS",
    "KIND_NAMES",
    "LEGACY_ACCOUNT",
    "LOCK_NAME",
    "VENUE_NUMBERS",
    "AccountDefinition",
    "account_definition",
    "fill_line",
    "folder_name",
    "funding_line",
    "legacy_venues",
    "lock_folder",
    "open_journal",
    "read_definition",
    "set_aside",
    "sync_export",
]

import fcntl
import hashlib
import json
import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

from arb.catalog import default_venues
from arb.execution.risk import RISK_MEMORY_KEY
from arb.files import write_atomic
from arb.journal.journal import JournalError, lock_exclusively
from arb.journal.paper import PaperJournal
from arb.strategy.types import BUY, KIND_NAMES, SELL

log = logging.getLogger(__name__)

DB_NAME: Final = "paper.sqlite"
"""The journal's file name in the account's folder."""
LOCK_NAME: Final = "paper.lock"
FILLS_CSV: Final = "fills.csv"
FUNDING_CSV: Final = "funding.csv"
LEGACY_ACCOUNT: Final = "account.json"
"""The state file of accounts written by earlier versions (migrated at open)."""
FILLS_HEADER: Final = "local_ts,venue,side,price,qty,fee,pair_id,kind,order_id,symbol\n"
_OLD_FILLS_HEADER: Final = "local_ts,venue,side,price,qty,fee,pair_id,kind,order_id\n"  # before several symbols
FUNDING_HEADER: Final = "local_ts,funding_ts,venue,symbol,rate,mark,position,payment\n"
_KINDS: Final = {name: kind for kind, name in KIND_NAMES.items()}


def legacy_venues(n: int = 2) -> tuple[str, ...]:
    """The venues, in their numbers' order, of the first ``n`` columns of a file written before arb named a
    paper account's venues (an ``account.json``, a journal whose account has no ``venues``): those arb then
    traded, the default run's (:func:`~arb.catalog.default_venues`). ``ValueError`` when fewer are known.
    """
    known = default_venues()
    if n > len(known):
        raise ValueError(f"expected at most {len(known)} venues in a file of an earlier arb, got {n}")
    return known[:n]


VENUE_NUMBERS: Final = {name: v for v, name in enumerate(legacy_venues())}
"""A venue's number by its name in files written before runs named their venues (the default run's). A
reader of a run's own files numbers its venues by the run (``config.venue_index(name)``) instead."""
_SIDES: Final = {"buy": BUY, "sell": SELL}

# the journal's state keys (JSON values)
KEY_ACCOUNT: Final = "account"  # symbols, inception base per symbol, inception quote per venue
KEY_COUNTERS: Final = "counters"  # next order and pair ids, each symbol's last pair
KEY_SESSIONS: Final = "sessions"
KEY_DAYS: Final = "replayed_days"
KEY_HALT: Final = "halt"
KEY_RISK: Final = RISK_MEMORY_KEY
KEY_MIGRATED: Final = "migrated_from"  # the older account.json this journal was made from (its sha256)
_MIGRATED_SOURCE: Final = "migrated"


def lock_folder(state_dir: Path) -> IO[str]:
    """The account's writer lock (a POSIX record lock on paper.lock: the process's, released when it ends)."""
    path = state_dir / LOCK_NAME
    return lock_exclusively(
        path, fcntl.lockf, f"paper account {state_dir} is being written by another process (lock {path}); one arb "
        "dry-run (or arb halt) per paper account at a time"
    )  # fmt: skip


def open_journal(state_dir: Path, default_symbol: str) -> tuple[PaperJournal, list[str]]:
    """The folder's journal (created if needed), with an older account.json migrated into it; the notes say what was
    done. A migration refused leaves the folder as it was. The caller holds the lock."""
    db, legacy = state_dir / DB_NAME, state_dir / LEGACY_ACCOUNT
    plan = _plan_migration(state_dir, default_symbol) if legacy.is_file() and not db.is_file() else None
    journal = PaperJournal.open(db, synchronous="full")
    try:
        if not legacy.is_file():
            return journal, []
        records = journal.records()
        if KEY_ACCOUNT not in records.state:  # a journal made, and nothing committed, before a crash
            return journal, _migrate(journal, state_dir, plan or _plan_migration(state_dir, default_symbol))
        marker = records.value(KEY_MIGRATED)
        if marker is not None and marker.get("sha256") == _sha256(legacy):  # migrated; stopped before the move
            folder = _move_legacy(state_dir, str(marker["folder"]))
            return journal, [f"paper account: the files it was migrated from are kept in {folder}"]
        raise JournalError(
            f"{state_dir}: holds both a paper journal ({DB_NAME}) and an {LEGACY_ACCOUNT} it was not migrated "
            f"from (written by an older arb?); move one of them out of the folder"
        )
    except BaseException:
        journal.close()
        raise


def set_aside(state_dir: Path) -> Path | None:
    """Move the account (journal, exports, an older account's files) into a new previous-<UTC time>/ folder; None when
    there is none. The caller holds the lock."""
    names = (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm", FILLS_CSV, FUNDING_CSV, LEGACY_ACCOUNT)
    files = [state_dir / name for name in names if (state_dir / name).exists()]
    if not files:
        return None
    folder = state_dir / folder_name(state_dir, "previous")
    folder.mkdir()
    for file in files:
        file.rename(folder / file.name)
    return folder


def folder_name(state_dir: Path, prefix: str) -> str:
    """<prefix>-<UTC time>, with -2, -3... when taken"""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    name, n = f"{prefix}-{stamp}", 1
    while (state_dir / name).exists():
        n += 1
        name = f"{prefix}-{stamp}-{n}"
    return name


def sync_export(path: Path, header: str, lines: Iterable[str]) -> Path | None:
    """Make an export equal to the journal. A crash may have left it behind by a line or part of one; a file that says
    something else (left by an account whose journal is gone) is moved into replaced-<UTC time>/ first, and that
    folder returned."""
    body = "".join(lines)
    text = header + body if body or path.exists() else ""
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    if current == text:
        return None
    kept = None
    if not text.startswith(current):
        kept = path.parent / folder_name(path.parent, "replaced")
        kept.mkdir()
        path.rename(kept / path.name)
    write_atomic(path, text)
    return kept


def account_definition(
    symbols: Sequence[str], venues: Sequence[str], base: Sequence[Sequence[float]], quote: Sequence[float]
) -> str:
    """The journal's ``account`` value: the symbols and venues in the account's order, and the inception
    balances keyed by name (``base``: per symbol, per venue, base units; ``quote``: per venue, quote)::

        {"symbols": ["BTCUSDT"], "venues": ["<venue>", ...],
         "inception_base": {"BTCUSDT": {"<venue>": 0.05, ...}}, "inception_quote": {"<venue>": 5000.0, ...}}
    """
    return json.dumps(
        {
            "symbols": list(symbols),
            "venues": list(venues),
            "inception_base": {
                name: dict(zip(venues, map(float, row), strict=True)) for name, row in zip(symbols, base, strict=True)
            },
            "inception_quote": dict(zip(venues, map(float, quote), strict=True)),
        }
    )


@dataclass(frozen=True, slots=True)
class AccountDefinition:
    """The journal's ``account`` value read back (:func:`read_definition`)."""

    symbols: list[str]
    venues: tuple[str, ...]
    """The account's venues in its columns' order."""
    inception_base: dict[str, list[float]]
    """Per symbol name, per venue (``venues`` order), base units."""
    inception_quote: list[float]
    """Per venue (``venues`` order), quote."""


def read_definition(saved: Mapping[str, Any]) -> AccountDefinition:
    """The ``account`` value as :func:`account_definition` writes it, or as an earlier arb did (no
    ``venues``; each venue's balance at its number: :func:`legacy_venues`). Raises ``ValueError``,
    ``KeyError`` or ``TypeError`` when it is neither."""
    symbols = [str(name) for name in saved["symbols"]]
    quote = saved["inception_quote"]
    if "venues" in saved:
        venues = tuple(str(name) for name in saved["venues"])
    else:
        venues = legacy_venues(len(quote))
    if len(set(venues)) != len(venues) or len(quote) != len(venues):
        raise ValueError(f"expected one inception quote per venue of {list(venues)}, got {quote!r}")

    def row(value: Any) -> list[float]:
        # a per-venue figure: {venue: x} (by name) or [x, ...] (at the venue's number)
        if isinstance(value, Mapping):
            if set(value) != set(venues):
                raise ValueError(f"expected a figure per venue of {list(venues)}, got {value!r}")
            return [float(value[name]) for name in venues]
        if len(value) != len(venues):
            raise ValueError(f"expected a figure per venue of {list(venues)}, got {value!r}")
        return [float(x) for x in value]

    base = {name: row(saved["inception_base"][name]) for name in symbols}
    return AccountDefinition(symbols, venues, base, row(quote))


def fill_line(row: dict[str, Any]) -> str:
    """One fill's line of ``fills.csv``."""
    side = "buy" if int(row["side"]) == BUY else "sell"
    kind = KIND_NAMES.get(int(row["kind"]), "?")
    return (
        f"{int(row['local_ts_ns'])},{row['venue']},{side},{float(row['price'])!r},{float(row['qty'])!r},"
        f"{float(row['fee'])!r},{int(row['pair_id'])},{kind},{int(row['order_id'])},{row['symbol']}\n"
    )


def funding_line(row: dict[str, Any]) -> str:
    """One funding payment's line of ``funding.csv``."""
    return (
        f"{int(row['local_ts_ns'])},{int(row['funding_ts_ns'])},{row['venue']},{row['symbol']},"
        f"{float(row['rate'])!r},{float(row['mark'])!r},{float(row['position'])!r},{float(row['payment'])!r}\n"
    )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- migrating an account of an earlier arb -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Migration:
    # What an older account becomes in the journal (rows in booking order, state values), and what to say.
    fills: list[dict[str, Any]]
    funding: list[dict[str, Any]]
    state: dict[str, str]
    folder: str
    notes: list[str]


def _migrate(journal: PaperJournal, state_dir: Path, plan: _Migration) -> list[str]:
    # The migration in one transaction; then the older files move into migrated-<UTC time>/.
    journal.book(fills=plan.fills, funding=plan.funding, state=plan.state)
    folder = _move_legacy(state_dir, plan.folder)
    notes = [
        f"paper account migrated into {state_dir / DB_NAME} ({len(plan.fills)} fills, {len(plan.funding)} "
        f"funding payments); the files it was kept in are in {folder}",
        *plan.notes,
    ]
    for note in notes:
        log.info("%s", note)
    return notes


def _plan_migration(state_dir: Path, default_symbol: str) -> _Migration:
    # account.json + fills.csv + funding.csv, read and checked against each other (JournalError when they
    # disagree otherwise than by the crash an earlier arb could leave); nothing is written here.
    legacy = state_dir / LEGACY_ACCOUNT
    try:
        data = json.loads(legacy.read_text(encoding="utf-8"))
        held = [str(x) for x in data.get("symbols", [default_symbol])]  # one unnamed symbol: the configured one
        n = len(held)
        grids = {
            name: _grid(data.get(name) or [[0.0] * len(legacy_venues())] * n, n, name)
            for name in ("inception_base", "position", "cash", "fees", "funding")
        }
        quote = [float(x) for x in data["inception_quote"]]
        if len(quote) != len(legacy_venues()):
            raise ValueError(f"expected inception_quote for {len(legacy_venues())} venues, got {quote}")
        counted = int(data["fills"])
        counters = {name: int(data[name]) for name in ("next_order_id", "next_pair_id", "sessions")}
        lasts = {
            name: [int(x) for x in (data[name] if isinstance(data[name], list) else [data[name]])]
            for name in ("last_buy_venue", "last_sell_venue", "last_pair_id")
        }
    except (ValueError, KeyError, TypeError, IndexError) as error:
        raise JournalError(
            f"{legacy}: not a paper account this arb can migrate ({error!r}); nothing was changed"
        ) from None
    fills = _legacy_fills(state_dir / FILLS_CSV, held)
    funding = _legacy_funding(state_dir / FUNDING_CSV, held)
    bookings = sorted(
        [(int(r["local_ts_ns"]), 0, i, r) for i, r in enumerate(fills)]
        + [(int(r["local_ts_ns"]), 1, i, r) for i, r in enumerate(funding)],
        key=lambda x: x[:3],
    )
    for seq, (*_, row) in enumerate(bookings, start=1):
        row["seq"] = seq
    notes = []
    if counted > len(fills):
        raise JournalError(
            f"{legacy} counts {counted} fills, {FILLS_CSV} holds {len(fills)}: the paper account's files "
            "disagree and arb cannot tell which is right; nothing was changed (--fresh starts a new account "
            "and keeps these files)"
        )
    paid = None
    for m in range(len(funding), -1, -1):  # how many payments account.json had taken in
        figures = _derive([b for b in bookings if (b[1] == 0 and b[2] < counted) or (b[1] == 1 and b[2] < m)], held)
        if _disagreement(figures, grids, held) is None:
            paid = m
            break
    if paid is None:
        figures = _derive([b for b in bookings if b[1] == 1 or b[2] < counted], held)
        raise JournalError(
            f"{legacy} and {FILLS_CSV}/{FUNDING_CSV} disagree: {_disagreement(figures, grids, held)}; arb cannot "
            "tell which is right and changed nothing (--fresh starts a new account and keeps these files)"
        )
    if counted < len(fills) or paid < len(funding):
        missed = [f"{len(fills) - counted} fill(s) of {FILLS_CSV}"] if counted < len(fills) else []
        missed += [f"{len(funding) - paid} payment(s) of {FUNDING_CSV}"] if paid < len(funding) else []
        notes.append(
            f"{legacy} had missed the last {' and '.join(missed)} (an earlier arb stopped between writing the "
            "two files): the account is rebuilt from them"
        )
    order_ids = [int(r["order_id"]) for r in fills]
    pair_ids = [int(r["pair_id"]) for r in fills]
    days = data.get("replayed_days", [])
    folder = folder_name(state_dir, "migrated")
    state = {
        KEY_ACCOUNT: account_definition(held, legacy_venues(), grids["inception_base"], quote),
        KEY_COUNTERS: json.dumps(
            {
                "next_order_id": max([counters["next_order_id"], *(i + 1 for i in order_ids)]),
                "next_pair_id": max([counters["next_pair_id"], *(i + 1 for i in pair_ids)]),
                "symbols": {
                    name: {key: values[k] if k < len(values) else -1 for key, values in lasts.items()}
                    for k, name in enumerate(held)
                },
            }
        ),
        KEY_SESSIONS: str(counters["sessions"]),
        KEY_DAYS: json.dumps(None if days is None else [str(d) for d in days]),
        KEY_HALT: json.dumps(str(data.get("halt", ""))),
        KEY_RISK: json.dumps(dict(data.get(RISK_MEMORY_KEY, {}))),
        KEY_MIGRATED: json.dumps({"sha256": _sha256(legacy), "folder": folder, "fills": len(fills)}),
    }
    return _Migration(fills, funding, state, folder, notes)


def _move_legacy(state_dir: Path, folder_name: str) -> Path:
    # The migrated files into their folder: the CSVs first, account.json last (while it is here, the next
    # open knows the move is unfinished).
    folder = state_dir / folder_name
    folder.mkdir(exist_ok=True)
    for name in (FILLS_CSV, FUNDING_CSV, LEGACY_ACCOUNT):
        if (state_dir / name).exists():
            (state_dir / name).rename(folder / name)
    return folder


def _grid(rows: Any, n_symbols: int, what: str) -> list[list[float]]:
    # A per-(symbol, venue) figure of account.json; a flat pair is one symbol's (written before arb
    # traded several).
    if rows and not isinstance(rows[0], list):
        rows = [rows]
    out = [[float(x) for x in row] for row in rows]
    n_venues = len(legacy_venues())
    if len(out) != n_symbols or any(len(row) != n_venues for row in out):
        raise ValueError(f"expected {what} for {n_symbols} symbol(s) on {n_venues} venues, got {rows}")
    return out


def _csv_rows(path: Path, headers: Sequence[str]) -> Iterator[tuple[int, str, list[str]]]:
    # (line number, header, fields) of each complete line; a last line without its newline was being
    # written when an earlier arb stopped: not logged, left out.
    if not path.is_file():
        return
    text = path.read_text(encoding="utf-8")
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    lines = text.splitlines(keepends=True)
    if not lines:
        return
    if lines[0] not in headers:
        raise JournalError(
            f"{path}: expected the header {headers[0].strip()}, got {lines[0].strip()!r}; nothing was changed"
        )
    for number, line in enumerate(lines[1:], start=2):
        if line.strip():
            yield number, lines[0], line.rstrip("\n").split(",")


def _legacy_rows(
    path: Path, headers: Sequence[str], what: str, parse: Callable[[str, list[str]], dict[str, Any]]
) -> list[dict[str, Any]]:
    # Each data line of an old CSV file as a journal row, ``parse(header, fields)`` between the fields
    # every migrated row has; a line it cannot parse (ValueError, KeyError) stops the migration, naming it.
    out = []
    for number, header, fields in _csv_rows(path, headers):
        try:
            out.append({"seq": 0, **parse(header, fields), "source": _MIGRATED_SOURCE})
        except (ValueError, KeyError):
            raise JournalError(
                f"{path}: line {number}: expected {what}, got {','.join(fields)!r}; nothing was changed"
            ) from None
    return out


def _legacy_venue(name: str) -> str:
    # A venue named in an older account's CSV file: one of the venues arb then traded (KeyError otherwise).
    if name not in legacy_venues():
        raise KeyError(name)
    return name


def _legacy_fills(path: Path, held: list[str]) -> list[dict[str, Any]]:
    def fill(header: str, fields: list[str]) -> dict[str, Any]:
        if len(fields) != header.count(",") + 1:
            raise ValueError(fields)
        symbol = fields[9] if header == FILLS_HEADER else held[0]
        if symbol not in held:
            raise ValueError(symbol)
        return {
            "local_ts_ns": int(fields[0]),
            "exch_ts_ns": 0,
            "venue": _legacy_venue(fields[1]),
            "symbol": symbol,
            "side": _SIDES[fields[2]],
            "price": float(fields[3]),
            "qty": float(fields[4]),
            "fee": float(fields[5]),
            "pair_id": int(fields[6]),
            "kind": _KINDS.get(fields[7], 0),
            "order_id": int(fields[8]),
        }

    return _legacy_rows(path, (FILLS_HEADER, _OLD_FILLS_HEADER), "a fill", fill)


def _legacy_funding(path: Path, held: list[str]) -> list[dict[str, Any]]:
    def payment(header: str, fields: list[str]) -> dict[str, Any]:
        if len(fields) != 8 or fields[3] not in held:
            raise ValueError(fields)
        return {
            "local_ts_ns": int(fields[0]),
            "funding_ts_ns": int(fields[1]),
            "venue": _legacy_venue(fields[2]),
            "symbol": fields[3],
            "rate": float(fields[4]),
            "mark": float(fields[5]),
            "position": float(fields[6]),
            "payment": float(fields[7]),
        }

    return _legacy_rows(path, (FUNDING_HEADER,), "a funding payment", payment)


def _derive(bookings: Sequence[tuple[int, int, int, dict[str, Any]]], held: list[str]) -> dict[str, list[list[float]]]:
    # position, cash, fees, funding per (symbol, venue) and the fill count, from (ts, is funding, index,
    # row) in booking order
    numbers = {name: s for s, name in enumerate(held)}
    venues = {name: v for v, name in enumerate(legacy_venues())}
    figures = {name: [[0.0] * len(venues) for _ in held] for name in ("position", "cash", "fees", "funding")}
    for _, is_funding, _, row in bookings:
        s, v = numbers[row["symbol"]], venues[row["venue"]]
        if is_funding:
            figures["cash"][s][v] += row["payment"]
            figures["funding"][s][v] += row["payment"]
        else:
            side, qty, price, fee = row["side"], row["qty"], row["price"], row["fee"]
            figures["position"][s][v] += side * qty
            figures["cash"][s][v] -= side * qty * price + fee
            figures["fees"][s][v] += fee
    return figures


def _disagreement(
    figures: dict[str, list[list[float]]], grids: dict[str, list[list[float]]], held: list[str]
) -> str | None:
    # The first figure account.json has otherwise than the rows, in words; None when they agree
    # (up to the rounding of a different summation order).
    for name in ("position", "cash", "fees", "funding"):
        for s, symbol in enumerate(held):
            for v, venue in enumerate(legacy_venues()):
                saved, derived = grids[name][s][v], figures[name][s][v]
                if not math.isclose(saved, derived, rel_tol=1e-9, abs_tol=1e-9):
                    return f"{name} of {symbol} on {venue} is {saved!r} in {LEGACY_ACCOUNT}, {derived!r} from the rows"
    return None
