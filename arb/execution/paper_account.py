"""The paper account of ``arb dry-run``: one journal per account, written atomically at each fill.

The account lives in its folder (``[dry_run] state_dir``, default ``paper/``):

- ``paper.sqlite``: the journal (:mod:`arb.journal.paper`), the one source of truth. Each fill is one
  transaction holding the fill's row and the account state that changed with it (order and pair
  counters, each symbol's last pair, the risk gate's memory); each funding payment, halt, risk event
  and session end likewise. A crash before the commit leaves the fill unlogged (the restart trades
  from the state before it); a crash after it leaves both. Positions, cash, fees, funding and the
  fill count are not stored: :meth:`PaperAccount.open` replays the rows, in the order they were
  booked, with the operations the running account used, so the account it resumes is the log's.
- ``fills.csv`` and ``funding.csv``: readable exports, one line per fill and per payment, appended
  after each commit (flushed, not synced) and rewritten from the journal at open when they differ
  from it. Never read back.
- ``paper.lock``: held by the process writing the account (``arb dry-run``, ``arb halt``); a second
  one is refused. The lock is a POSIX record lock, so it belongs to the process: two account objects
  on one folder in one process share it.

An account written by an earlier arb (``account.json`` rewritten after each fill, ``fills.csv`` and
``funding.csv`` appended before it) is migrated once, in one transaction, when it is first opened;
its files then move into ``migrated-<UTC time>/`` in the same folder. Its fills and payments are taken
from the CSV files (written first, synced): an ``account.json`` a crash left one or more fills behind
is rebuilt from them, and the open says so; any other disagreement between the files is an error and
nothing is migrated. ``--fresh`` moves the account (journal, exports, or the older files) into
``previous-<UTC time>/``; nothing is ever deleted.
"""

from __future__ import annotations

__all__ = [
    "PaperAccount",
    "PaperAccountRecords",
    "holdings_text",
    "positions_text",
    "read_paper_account",
    "update_paper_halt",
]

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final

from arb.config import quote_currency
from arb.errors import ArbError
from arb.execution.failpoints import failpoint
from arb.execution.paper_files import (
    DB_NAME,
    FILLS_CSV,
    FILLS_HEADER,
    FUNDING_CSV,
    FUNDING_HEADER,
    LEGACY_ACCOUNT,
    account_definition,
    fill_line,
    funding_line,
    legacy_venues,
    lock_folder,
    open_journal,
    read_definition,
    set_aside,
    sync_export,
)
from arb.execution.paper_files import KEY_ACCOUNT as _ACCOUNT
from arb.execution.paper_files import KEY_COUNTERS as _COUNTERS
from arb.execution.paper_files import KEY_DAYS as _DAYS
from arb.execution.paper_files import KEY_HALT as _HALT
from arb.execution.paper_files import KEY_RISK as _RISK
from arb.execution.paper_files import KEY_SESSIONS as _SESSIONS
from arb.execution.risk import clear_day
from arb.files import Closing
from arb.journal.journal import JournalError
from arb.journal.paper import PaperJournal, PaperRecords, read_paper_journal

if TYPE_CHECKING:
    from arb.config import AppConfig

log = logging.getLogger(__name__)

_SOURCE: Final = "dry-run"


@dataclass(slots=True)
class PaperAccount(Closing):
    """The persistent paper account: inception balances, what happened since, and counters.

    Per-(symbol, venue) figures are lists in ``symbols`` order of one value per venue in ``venues`` order
    (the run's: ``[strategy] venues``); each venue has one quote balance, ``inception_quote[v]`` plus every
    symbol's ``cash[s][v]``. Open one with :meth:`open` (journaled); one made directly has no journal and
    keeps everything in memory. The journal names each venue (its rows, its inception balances), so an
    account resumed by a run of other venues, or of the same in another order, is laid out in the run's.
    """

    path: Path
    """The account's journal, ``<folder>/paper.sqlite``."""
    inception_base: list[list[float]]
    inception_quote: tuple[float, ...]
    symbols: list[str]
    venues: tuple[str, ...] = ()
    """The venues' names in their numbers' order (the run's); left out, those of an account of an earlier
    arb with as many venues as ``inception_quote`` (:func:`~arb.execution.paper_files.legacy_venues`)."""
    position: list[list[float]] = field(default_factory=list)
    cash: list[list[float]] = field(default_factory=list)
    fees: list[list[float]] = field(default_factory=list)
    funding: list[list[float]] = field(default_factory=list)
    """Funding received minus paid per (symbol, venue), quote (in ``cash`` too); funding.csv has each."""
    fills: int = 0
    next_order_id: int = 1
    next_pair_id: int = 1
    last_buy_venue: list[int] = field(default_factory=list)
    last_sell_venue: list[int] = field(default_factory=list)
    last_pair_id: list[int] = field(default_factory=list)
    sessions: int = 0
    replayed_days: list[str] | None = field(default_factory=list)
    """UTC days (``YYYY-MM-DD``) of recordings this account has traded in replays; None for an
    account written before arb kept them (what it traded is then unknown)."""
    halt: str = ""
    """Why this account is halted (a risk limit, kept across restarts until ``arb halt --paper --clear``);
    "" when not."""
    risk: dict[str, Any] = field(default_factory=dict)
    """The gate's memory across restarts (the risk day, the last 24 hours' pairs): see
    :func:`arb.execution.risk.risk_memory`."""
    resumed: bool = False
    """True when :meth:`open` loaded an existing account."""
    set_aside: Path | None = None
    """Where :meth:`open` with ``fresh`` moved the previous account; None when there was none."""
    notes: list[str] = field(default_factory=list)
    """What :meth:`open` did that a person should know (a migration, a rebuilt account.json)."""
    journal: PaperJournal | None = field(default=None, repr=False)
    _lock: IO[str] | None = field(default=None, repr=False)
    _seq: int = field(default=0, repr=False)  # the last booking number (fills and funding)
    _written: dict[str, str] = field(default_factory=dict, repr=False)  # state values as committed
    _exports: dict[str, IO[str]] = field(default_factory=dict, repr=False)  # fills.csv, funding.csv
    _definition: str = field(default="", repr=False)  # the account's symbols and inception balances, as JSON

    def __post_init__(self) -> None:
        n = len(self.symbols)
        self.inception_quote = tuple(self.inception_quote)
        if not self.venues:
            self.venues = legacy_venues(len(self.inception_quote))
        self.venues = tuple(self.venues)
        n_venues = len(self.venues)
        if len(self.inception_quote) != n_venues or any(len(row) != n_venues for row in self.inception_base):
            raise ValueError(f"expected inception balances for the venues {', '.join(self.venues)}")
        for name in ("position", "cash", "fees", "funding"):
            if not getattr(self, name):
                setattr(self, name, [[0.0] * n_venues for _ in range(n)])
        for name in ("last_buy_venue", "last_sell_venue", "last_pair_id"):
            if not getattr(self, name):
                setattr(self, name, [-1] * n)

    # -- opening and closing ----------------------------------------------------------------------

    @classmethod
    def open(cls, state_dir: Path, config: AppConfig, *, fresh: bool = False) -> PaperAccount:
        """Open the account in ``state_dir`` (its journal, ``paper.sqlite``), or start one from the
        configuration's starting balances; an account of an earlier arb (``account.json``) is migrated.

        The caller's process becomes the account's one writer until :meth:`close` (or its end); an
        account another process writes is refused with :class:`~arb.journal.JournalError`.
        ``fresh`` starts a new account and keeps the old one: its files move into
        ``state_dir/previous-<UTC time>/`` (named in :attr:`set_aside`); nothing is deleted.
        A resumed account is laid out in ``[strategy] symbols`` order: a symbol it has not traded yet
        starts flat, with its configured base; one it holds that is no longer traded is an
        :class:`~arb.errors.ArbError` (its cash and positions would drop out of the account). A journal
        whose counters are behind its own fills is damaged: :class:`~arb.journal.JournalError`.
        """
        state_dir.mkdir(parents=True, exist_ok=True)
        lock = lock_folder(state_dir)
        journal: PaperJournal | None = None
        try:
            moved = set_aside(state_dir) if fresh else None
            journal, notes = open_journal(state_dir, config.strategy.symbol)
            records = journal.records()
            if _ACCOUNT in records.state:
                account = cls._resume(state_dir / DB_NAME, records, config)
            else:
                account = cls(
                    state_dir / DB_NAME,
                    [list(sym.base) for sym in config.symbols],
                    tuple(venue.account.quote for venue in config.venues),
                    list(config.symbol_names),
                    config.venue_names,
                )
            account.set_aside, account.notes = moved, notes
            account.journal, account._lock = journal, lock
            account._written = dict(records.state)
            for path, header, lines in (
                (account.fills_path, FILLS_HEADER, map(fill_line, records.fills)),
                (account.funding_path, FUNDING_HEADER, map(funding_line, records.funding)),
            ):
                kept = sync_export(path, header, lines)
                if kept is not None:
                    account.notes.append(f"{path} held lines its journal does not (kept in {kept}); rewritten")
        except BaseException:
            if journal is not None:
                journal.close()
            lock.close()
            raise
        if account.resumed:
            log.info("resuming paper account %s: %d fills so far", account.path, account.fills)
        return account

    @classmethod
    def _resume(cls, path: Path, records: PaperRecords, config: AppConfig) -> PaperAccount:
        try:
            return cls._resume_from(path, records, config)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise JournalError(
                f"paper journal {path}: its account state cannot be read ({error!r}): the journal is damaged; "
                "nothing was changed (--fresh starts a new account and keeps this one)"
            ) from None

    @classmethod
    def _resume_from(cls, path: Path, records: PaperRecords, config: AppConfig) -> PaperAccount:
        names = list(config.symbol_names)
        venues = config.venue_names
        saved = read_definition(records.value(_ACCOUNT))
        held = saved.symbols
        for what, kept, traded, key in (
            ("symbol", held, names, "[strategy] symbols"),
            ("venue", saved.venues, venues, "[strategy] venues"),
        ):
            gone = [name for name in kept if name not in traded]
            if gone:
                raise ArbError(
                    f"{path}: the paper account holds {', '.join(gone)}, which {key} ({', '.join(traded)}) does "
                    f"not trade; trade that {what} again, or start a new account with --fresh (the old one is kept)"
                )
        # the account laid out in the run's order: a symbol or venue it has not traded starts as configured
        at = {name: v for v, name in enumerate(saved.venues)}
        inception = [
            [
                saved.inception_base[name][at[venue]] if name in held and venue in at else config.symbols[s].base[v]
                for v, venue in enumerate(venues)
            ]
            for s, name in enumerate(names)
        ]
        quote = tuple(
            saved.inception_quote[at[venue]] if venue in at else config.venues[v].account.quote
            for v, venue in enumerate(venues)
        )
        account = cls(path, inception, quote, names, venues)
        account._replay(records)
        counters = records.value(_COUNTERS, {})
        account.next_order_id = int(counters.get("next_order_id", 1))
        account.next_pair_id = int(counters.get("next_pair_id", 1))

        def renumbered(v: int) -> int:
            # a venue number of the journal (its account's order) in the run's order; -1 (none) stays
            return venues.index(saved.venues[v]) if 0 <= v < len(saved.venues) else -1

        for s, name in enumerate(names):
            last = counters.get("symbols", {}).get(name, {})
            account.last_buy_venue[s] = renumbered(int(last.get("last_buy_venue", -1)))
            account.last_sell_venue[s] = renumbered(int(last.get("last_sell_venue", -1)))
            account.last_pair_id[s] = int(last.get("last_pair_id", -1))
        account.sessions = int(records.value(_SESSIONS, 0))
        days = records.value(_DAYS, [])
        account.replayed_days = None if days is None else [str(d) for d in days]
        account.halt = str(records.value(_HALT, ""))
        account.risk = dict(records.value(_RISK, {}))
        account.resumed = True
        account._check(records)
        return account

    def _replay(self, records: PaperRecords) -> None:
        # Positions, cash, fees, funding and the fill count from the rows, in booking order, with the
        # operations record() and record_funding() use: the figures the account had when it wrote them.
        numbers = {name: s for s, name in enumerate(self.symbols)}
        venues = {name: v for v, name in enumerate(self.venues)}
        rows = sorted(
            [(int(r["seq"]), True, r) for r in records.fills] + [(int(r["seq"]), False, r) for r in records.funding],
            key=lambda x: x[0],
        )
        for _, is_fill, row in rows:
            try:
                s, v = numbers[row["symbol"]], venues[row["venue"]]
            except KeyError:
                raise JournalError(
                    f"paper journal {self.path}: booking {row['seq']} names {row['symbol']} on {row['venue']}, "
                    f"which the account ({', '.join(self.symbols)} on {', '.join(self.venues)}) does not hold: "
                    "the journal is damaged"
                ) from None
            if is_fill:
                self._apply_fill(s, v, int(row["side"]), float(row["qty"]), float(row["price"]), float(row["fee"]))
            else:
                self._apply_funding(s, v, float(row["payment"]))
        self._seq = records.last_seq

    def _check(self, records: PaperRecords) -> None:
        # The counters were committed with every fill: a fill at or past them means a damaged journal.
        orders = max((int(r["order_id"]) for r in records.fills), default=0)
        pairs = max((int(r["pair_id"]) for r in records.fills), default=0)
        if orders >= self.next_order_id or pairs >= self.next_pair_id:
            raise JournalError(
                f"paper journal {self.path}: its counters (next order id {self.next_order_id}, next pair id "
                f"{self.next_pair_id}) are behind its own fills (order id {orders}, pair id {pairs}): the journal "
                "is damaged or was edited; nothing was changed (--fresh starts a new account and keeps this one)"
            )

    def close(self) -> None:
        """Close the exports and the journal, and release the account's lock (the figures stay readable)."""
        for handle in self._exports.values():
            handle.close()
        self._exports.clear()
        if self.journal is not None:
            self.journal.close()
            self.journal = None
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    # -- what happens -----------------------------------------------------------------------------

    def record(self, fill: Any) -> None:
        """Take one fill (a ``FILL_DTYPE`` row): commit it with the account state in one transaction,
        then count it in the account and append it to fills.csv.

        Raises :class:`~arb.journal.JournalError` when the journal cannot be written: the fill is then
        neither logged nor counted (the dry run stops; its restart trades from the state before it).
        """
        s = int(fill["symbol"])
        v = int(fill["venue"])
        side = int(fill["side"])
        qty = float(fill["qty"])
        price = float(fill["price"])
        fee = float(fill["fee"])
        row = self._journal_row(
            s,
            v,
            int(fill["local_ts"]),
            exch_ts_ns=int(fill["exch_ts"]),
            side=side,
            price=price,
            qty=qty,
            fee=fee,
            pair_id=int(fill["pair_id"]),
            kind=int(fill["kind"]),
            order_id=int(fill["order_id"]),
        )
        failpoint("paper_fill_taken")
        self._book(fills=[row])
        self._seq += 1
        self._apply_fill(s, v, side, qty, price, fee)
        failpoint("paper_fill_committed")
        self._export(FILLS_CSV, FILLS_HEADER, fill_line(row))
        failpoint("paper_fill_exported")

    def record_funding(self, row: Any) -> None:
        """Take one funding payment (a ``FUNDING_DTYPE`` row): commit it with the account state in one
        transaction, then credit it and append it to funding.csv (errors as :meth:`record`)."""
        s, v, payment = int(row["symbol"]), int(row["venue"]), float(row["payment"])
        booked = self._journal_row(
            s,
            v,
            int(row["ts"]),
            funding_ts_ns=int(row["funding_ts"]),
            rate=float(row["rate"]),
            mark=float(row["mark"]),
            position=float(row["position"]),
            payment=payment,
        )
        self._book(funding=[booked])
        self._seq += 1
        self._apply_funding(s, v, payment)
        self._export(FUNDING_CSV, FUNDING_HEADER, funding_line(booked))

    def _journal_row(self, s: int, v: int, local_ts_ns: int, **fields: Any) -> dict[str, Any]:
        # The journal row of something that happened to symbol ``s`` on venue ``v`` at ``local_ts_ns``:
        # the next sequence number, the names, ``fields``, and where it came from.
        return {"seq": self._seq + 1, "local_ts_ns": local_ts_ns, "venue": self.venues[v], "symbol": self.symbols[s],
                **fields, "source": _SOURCE}  # fmt: skip

    def save(self) -> None:
        """Commit the account state that changed since the last commit (counters, sessions, replayed
        days, the halt, the risk memory), in one transaction; nothing when nothing changed."""
        self._book()

    def _apply_fill(self, s: int, v: int, side: int, qty: float, price: float, fee: float) -> None:
        self.position[s][v] += side * qty
        self.cash[s][v] -= side * qty * price + fee
        self.fees[s][v] += fee
        self.fills += 1

    def _apply_funding(self, s: int, v: int, payment: float) -> None:
        self.cash[s][v] += payment
        self.funding[s][v] += payment

    def _state(self) -> dict[str, str]:
        # The journal's state values of this account now. Its definition (symbols, inception) does not
        # change while it is open; a new account's, or a resumed one laid out anew (a symbol added), goes
        # with the first commit: until then the folder holds no account.
        if not self._definition:
            self._definition = account_definition(self.symbols, self.venues, self.inception_base, self.inception_quote)
        values = {
            _ACCOUNT: self._definition,
            _COUNTERS: json.dumps(
                {
                    "next_order_id": self.next_order_id,
                    "next_pair_id": self.next_pair_id,
                    "symbols": {
                        name: {
                            "last_buy_venue": self.last_buy_venue[s],
                            "last_sell_venue": self.last_sell_venue[s],
                            "last_pair_id": self.last_pair_id[s],
                        }
                        for s, name in enumerate(self.symbols)
                    },
                }
            ),
            _SESSIONS: str(self.sessions),
            _DAYS: json.dumps(self.replayed_days),
            _HALT: json.dumps(self.halt),
            _RISK: json.dumps(self.risk),
        }
        return values

    def _book(self, *, fills: Sequence[dict[str, Any]] = (), funding: Sequence[dict[str, Any]] = ()) -> None:
        # One transaction: the rows and every state value that changed since the last commit.
        if self.journal is None:
            return
        changed = {k: v for k, v in self._state().items() if self._written.get(k) != v}
        if not (fills or funding or changed):
            return
        self.journal.book(fills=fills, funding=funding, state=changed)
        self._written.update(changed)

    def _export(self, name: str, header: str, line: str) -> None:
        # Append one line to a readable export (after the commit; flushed, not synced: the journal is
        # the record, and open() rewrites an export that differs from it).
        if self.journal is None:
            return
        handle = self._exports.get(name)
        if handle is None:
            path = self.path.with_name(name)
            new = not path.exists() or path.stat().st_size == 0
            handle = self._exports[name] = path.open("a", encoding="utf-8")
            if new:
                handle.write(header)
        handle.write(line)
        handle.flush()

    # -- reading ----------------------------------------------------------------------------------

    @property
    def fills_path(self) -> Path:
        """``fills.csv`` beside the journal: one line per fill (an export, never read back)."""
        return self.path.with_name(FILLS_CSV)

    @property
    def funding_path(self) -> Path:
        """``funding.csv`` beside the journal: one line per funding payment (an export, never read back)."""
        return self.path.with_name(FUNDING_CSV)

    def balances(self) -> tuple[list[list[float]], list[float]]:
        """(base per symbol and venue, quote per venue) now, in ``symbols`` and ``venues`` order."""
        n = len(self.venues)
        base = [[self.inception_base[s][v] + self.position[s][v] for v in range(n)] for s in range(len(self.symbols))]
        quote = [self.inception_quote[v] + sum(cash[v] for cash in self.cash) for v in range(n)]
        return base, quote

    def note_replayed(self, start_ns: int, end_ns: int) -> None:
        """Remember the UTC days of recorded data from ``start_ns`` to ``end_ns`` as traded (saved with the account)."""
        day_ns = 86_400 * 1_000_000_000
        days = {
            time.strftime("%Y-%m-%d", time.gmtime(d * 86_400)) for d in range(start_ns // day_ns, end_ns // day_ns + 1)
        }
        self.replayed_days = sorted(days | set(self.replayed_days or ()))

    def resume_note(self, days: list[str] | None) -> str | None:
        """What resuming this account means, for the start of a run; None for a new account.

        ``days``: the UTC days a replay is about to trade (None: live data). A replay of days this
        account already traded trades the same data again, on top of the positions it carries.
        """
        if not self.resumed:
            return None
        held = positions_text(self.symbols, self.position)
        note = f"resuming paper account {self.path}: {self.fills} fills in {self.sessions} session(s), positions {held}"
        if days is None:
            return note
        if self.replayed_days is None:
            again = "its earlier sessions may have traded these recordings already"
        else:
            seen = sorted(set(days) & set(self.replayed_days))
            if not seen:
                return note + "; the replay trades on top of the carried positions"
            again = f"it has traded {_day_span(seen)} already"
        return (
            f"{note}; {again}: this replay trades the same data again, on top of the carried positions "
            "(--fresh starts a new account and keeps this one)"
        )


@dataclass(frozen=True, slots=True)
class PaperAccountRecords:
    """What a reader (``arb report``, the daily report) sees of a paper account's journal."""

    path: Path
    """The journal."""
    symbols: list[str]
    venues: tuple[str, ...]
    """The account's venues, in its columns' order (an account of an earlier arb: the venues it traded)."""
    inception_base: list[list[float]]
    """Per symbol (``symbols`` order), one value per venue (``venues`` order), base units."""
    inception_quote: tuple[float, ...]
    """Per venue (``venues`` order), quote."""
    halt: str
    fills: list[dict[str, Any]]
    """``paper_fills`` rows in booking order (:mod:`arb.journal.paper`)."""
    funding: list[dict[str, Any]]
    """``paper_funding`` rows in booking order."""
    sessions: int = 0
    replayed_days: list[str] | None = None
    risk: dict[str, Any] = field(default_factory=dict)
    """The risk gate's memory (:attr:`PaperAccount.risk`)."""


def read_paper_account(state_dir: Path) -> PaperAccountRecords | None:
    """The paper account in ``state_dir``, read without writing anything (a dry run may be writing it);
    None when the folder holds no journal with an account (an account of an earlier arb not migrated
    yet is not read here). Raises :class:`~arb.journal.JournalError` when the journal cannot be read."""
    db = state_dir / DB_NAME
    if not db.is_file():
        return None
    records = read_paper_journal(db)
    if _ACCOUNT not in records.state:
        return None
    try:
        saved = read_definition(records.value(_ACCOUNT))
        base = [saved.inception_base[name] for name in saved.symbols]
        days = records.value(_DAYS, [])
        return PaperAccountRecords(
            db, saved.symbols, saved.venues, base, tuple(saved.inception_quote), str(records.value(_HALT, "")),
            records.fills,
            records.funding, int(records.value(_SESSIONS, 0)), None if days is None else [str(d) for d in days],
            dict(records.value(_RISK, {})),
        )  # fmt: skip
    except (ValueError, KeyError, TypeError, IndexError) as error:
        raise JournalError(f"paper journal {db}: its account state cannot be read ({error!r})") from None


def holdings_text(symbols: list[str] | tuple[str, ...], base: Any) -> str:
    """Each venue's base holdings now (the configured ones plus the position), in the venues' order,
    ``0.051 | 0.049 BTC`` (three venues: ``0.051 | 0.049 | 0.05 BTC``); with several symbols each one's
    after the other's: ``0.051 | 0.049 BTC, 1.2 | 0.8 ETH``. ``base``: per symbol, per venue."""
    return ", ".join(
        f"{' | '.join(f'{float(x):.8g}' for x in base[s])} {name.removesuffix(quote_currency(name)) or name}"
        for s, name in enumerate(symbols)
    )


def positions_text(symbols: list[str] | tuple[str, ...], position: Any) -> str:
    """Positions per venue in the venues' order, ``+0.001 | -0.001``; with several symbols each one named.
    ``position``: per symbol, per venue."""
    parts = [" | ".join(f"{float(x):+.8g}" for x in position[s]) for s in range(len(symbols))]
    if len(symbols) == 1:
        return parts[0]
    return ", ".join(f"{name} {part}" for name, part in zip(symbols, parts, strict=True))


def update_paper_halt(
    state_dir: Path, default_symbol: str, *, halt: str | None = None, clear: bool = False
) -> tuple[Path, str, dict[str, Any]] | None:
    """``arb halt`` on the paper account in ``state_dir``: (its journal, its halt, its risk memory) as
    they were, after setting the halt to ``halt`` (None: left as it is) and, with ``clear``, lifting the
    daily loss pause (:func:`~arb.execution.risk.clear_day`), in one transaction. None when the folder
    holds no paper account (nothing is created then). ``default_symbol``: the symbol of an account
    written before arb traded several (a migration needs it).

    Only reading (``halt`` None, no ``clear``) works beside a running dry run; a change raises
    :class:`~arb.journal.JournalError` while another process writes the account (the running dry run
    would not see it, and would write its own halt over it).
    """
    db = state_dir / DB_NAME
    if halt is None and not clear and db.is_file():
        records = read_paper_journal(db)
        if _ACCOUNT not in records.state:
            return None
        return db, str(records.value(_HALT, "")), dict(records.value(_RISK, {}))
    if not (db.is_file() or (state_dir / LEGACY_ACCOUNT).is_file()):
        return None
    lock = lock_folder(state_dir)
    try:
        journal, _ = open_journal(state_dir, default_symbol)
        try:
            records = journal.records()
            if _ACCOUNT not in records.state:
                return None
            before = str(records.value(_HALT, ""))
            memory = dict(records.value(_RISK, {}))
            changes = {}
            if halt is not None:
                changes[_HALT] = json.dumps(halt)
            if clear and memory:
                changes[_RISK] = json.dumps(clear_day(memory))
            if changes:
                journal.book(state=changes)
            return db, before, memory
        finally:
            journal.close()
    finally:
        lock.close()


def _day_span(days: list[str]) -> str:
    # "2024-08-08", "2024-08-08 and 2024-08-09", "2024-08-08 to 2024-08-10 (3 days)"
    if len(days) == 1:
        return days[0]
    if len(days) == 2:
        return f"{days[0]} and {days[1]}"
    return f"{days[0]} to {days[-1]} ({len(days)} days)"
