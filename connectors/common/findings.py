"""What reading and converting recordings found, which of it is an error, and how it is worded.

One place decides. :meth:`Findings.check` raises the first problem that stops a conversion (the CLI
prints it as one line and exits 2); :meth:`Findings.warnings` words everything else worth saying,
one line per kind and file, with counts and at most three samples, never a line per message. The
converter builds the findings; the backtest's conversion cache stores them beside the rows and says
them again on every cache hit, so a cached day answers exactly as its first conversion did.

Errors, whatever the options:

- an empty file (0 bytes), a gzip stream without a line, a file that is not gzip;
- a file with no market data of the symbol at all;
- inputs out of time order: a file that begins (by its lines' receive times) before the file given
  before it ends, such as a session's second day given before its first, or one file given twice.

(A file of another venue, market or symbol is refused before conversion, see ``venues.sniff``; so
are inputs whose first lines are already out of order, before anything is read.)

An error unless an unsynced book is allowed (``--allow-unsynced``): a book that never synced, neither
from a snapshot in the files nor from a synced book to start from (:class:`UnsyncedBookError`). Such a
conversion holds trades but no book, which no backtest can use; it is what converting the second day
of a session alone gives, when the session's snapshot is in the first day's file.

Errors unless damaged data is allowed (``--allow-damaged``), warnings when it is:

- corrupt gzip data (a CRC-32 or length mismatch, invalid deflate data): everything from the first
  line that fails a check is dropped, up to the next gzip member if there is one; a checksum mismatch
  that no line shows keeps every line (which byte is wrong is unknown);
- lines without the collector's ``<19 digits> `` prefix (no recorder writes one): skipped;
- a file where more than half of the payloads do not decode as the venue's messages.

Warnings only: a truncated tail (the recorder stopped: complete lines kept), a cut (a recorder
stopped and a later run appended to the file), payloads that do not decode (a minority: what the
venue sent, counted and skipped), streams arb does not read, gaps in the book stream.

Files of other formats (Tardis.dev's CSV datasets, Bybit's public archive: ``arb.recording.imports``)
are read by their own readers, which word what they find themselves: ``fatal`` stops a conversion
whatever the options, ``problems`` (damage) stop it unless damaged data is allowed and are warnings
then, ``notes`` are warnings. The checks above that do not depend on the collector's line format
(an empty file, no usable row) apply to them too.
"""

from __future__ import annotations

__all__ = ["FileFindings", "Findings", "ProgressFn", "UnsyncedBookError", "moment", "order_error"]

import dataclasses
import datetime as dt
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from arb.errors import RecordingError
from connectors.common.normalizer import VenueNormalizer
from connectors.common.record_files import Cut, Damage, ReadReport

ProgressFn = Callable[[int, int], None]
"""Called with (compressed bytes read so far, total compressed bytes)."""

_SHOWN = 3
"""Samples, names or spans shown in one message."""


@dataclass(slots=True)
class FileFindings:
    """What one file's conversion found."""

    path: str
    size: int
    lines: int = 0
    """Non-empty complete lines read (the lines of a lost span not included)."""
    messages: int = 0
    """Payloads handed to the normalizer."""
    usable: int = 0
    """Depth and trade messages of the symbol."""
    truncated: bool = False
    lost_tail_bytes: int = 0
    zero_tail_bytes: int = 0
    last_ts: int = 0
    cuts: list[Cut] = field(default_factory=list)
    damage: list[Damage] = field(default_factory=list)
    tainted: bool = False
    """Lines a damaged or cut member garbled reached the normalizer (a second read skips them)."""
    bad_lines: int = 0
    bad_samples: list[tuple[int, str]] = field(default_factory=list)
    """(line number, text) of the first lines without the ``<19 digits> `` prefix."""
    decode_errors: int = 0
    decode_samples: list[tuple[int, str, str]] = field(default_factory=list)
    """(local time ns, error, payload text) of the first payloads that did not decode."""
    unknown_streams: int = 0
    unknown_names: list[str] = field(default_factory=list)
    """The first few names of streams arb does not read, sorted."""
    unknown_name_count: int = 0
    other_symbols: int = 0
    gaps: int = 0
    first_ts: int = 0
    """Receive time (ns) of the file's first line (0: unknown)."""
    end_ts: int = 0
    """Receive time (ns) of the file's last complete line (0: unknown)."""
    fatal: str = ""
    """A reader of another format found this, which stops a conversion whatever the options ("": nothing)."""
    problems: list[str] = field(default_factory=list)
    """Damage a reader of another format worded: an error unless damaged data is allowed, then a warning."""
    notes: list[str] = field(default_factory=list)
    """What a reader of another format found worth a warning, worded by it."""

    def count(self, normalizer: VenueNormalizer[Any], before: dict[str, int]) -> dict[str, int]:
        """Take what ``normalizer`` counted of this file (``before``: its ``stats.as_dict()`` at the start);
        returns every count's change."""
        stats = normalizer.stats.as_dict()
        delta = {k: stats[k] - before[k] for k in stats}
        self.messages = delta["messages"]
        self.decode_errors = delta["decode_errors"]
        self.decode_samples = [(b.local_ts, b.error, b.raw) for b in normalizer.bad_payloads.samples]
        self.unknown_streams = delta["unknown_streams"]
        self.other_symbols = delta["other_symbols"]
        self.gaps = delta["gaps"]
        return delta

    def download_problems(self, damage: str, truncated: bool, detail: str = "") -> None:
        """Add what a reader of another format found wrong with the file itself (damage, an early end)."""
        if damage:
            self.problems.append(f"{self.path}: {damage}")
        if truncated:
            self.problems.append(
                f"{self.path}: truncated (the gzip stream ends early: an incomplete download?){detail}"
            )

    def bad_rows(self, bad: int, samples: list[tuple[int, str]], what: str) -> str:
        """The finding for ``bad`` lines of a file of another format that are not ``what`` rows."""
        shown = ", ".join(f"line {n:,} {text!r}" for n, text in samples)
        return f"{self.path}: {bad:,} {'line is' if bad == 1 else 'lines are'} not {what} rows: {shown}"

    @classmethod
    def of_read(cls, read: ReadReport) -> FileFindings:
        """What reading alone found (no conversion): every field the two records share, lists copied."""
        return cls(**{name: _copied(getattr(read, name)) for name in _READ_FIELDS})


_READ_FIELDS = tuple(f.name for f in dataclasses.fields(ReadReport) if f.name in FileFindings.__dataclass_fields__)
"""What a :class:`ReadReport` says that a :class:`FileFindings` keeps (all but the progress counter)."""


def _copied(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


@dataclass(slots=True)
class Findings:
    """What converting one or more consecutive files of a venue and symbol found."""

    venue: str
    market: str
    symbol: str
    files: list[FileFindings]
    allow_damaged: bool = False
    """The conversion skipped damage instead of refusing it."""
    book_synced: bool = True
    """The book was in sync at some time of the conversion (from a snapshot in the files, or from the
    synced book it started from)."""
    snapshots: int = 0
    """Snapshots of the book the files held."""
    initial_synced: bool | None = None
    """Whether the book the conversion started from (the previous day's end) was in sync; None: it
    started from nothing."""

    def check(self, allow_damaged: bool, allow_unsynced: bool = False) -> None:
        """Raise :class:`RecordingError` with the message of the first problem that stops a conversion,
        if there is one (:class:`UnsyncedBookError` when it is the book that never synced)."""
        message = self._input_error(allow_damaged)
        if message is not None:
            raise RecordingError(message)
        if not allow_unsynced and not self.book_synced:
            fact = self.unsynced_text()
            raise UnsyncedBookError(f"{fact}; {CONVERT_UNSYNCED_ADVICE}", fact)

    def unsynced_text(self) -> str:
        """What a book that never synced lacked, without what to do about it (the caller knows its options)."""
        what = " ".join(x for x in (self.venue, self.market, self.symbol) if x)
        names = ", ".join(f.path for f in self.files)
        if self.snapshots == 0:
            held = "no snapshot of the book"
        else:
            held = f"{_count(self.snapshots, 'snapshot')} of the book, none of them in line with its updates"
        verb = "holds" if len(self.files) == 1 else "hold"
        before = ", and the book it started from ended out of sync" if self.initial_synced is False else ""
        return f"{what}: the book never synced: {names} {verb} {held}{before}"

    def _input_error(self, allow_damaged: bool) -> str | None:
        # The first file that cannot be converted, or a file that begins before the one given before
        # it ends (a session given out of order, or a file given twice).
        for f in self.files:
            message = _file_error(f, self.venue, self.symbol, allow_damaged)
            if message is not None:
                return message
        given = [(f.path, f.first_ts) for f in self.files]
        for prev, cur in itertools.pairwise(self.files):
            if cur.first_ts and prev.end_ts and cur.first_ts < prev.end_ts:
                return order_error(prev.path, prev.end_ts, cur.path, cur.first_ts, given, ends=True)
        return None

    def warnings(self) -> list[str]:
        """One line per kind of problem and file, in file order."""
        out = []
        for f in self.files:
            out += _file_warnings(f)
            if self.allow_damaged:
                out += f.problems
        return out

    def plan(self, path: str) -> list[Damage | Cut]:
        """The damage and cuts of ``path``, for a reader that must skip them (replay)."""
        marks: list[Damage | Cut] = []
        for f in self.files:
            if f.path == path:
                marks += f.damage
                marks += f.cuts
        return marks

    def to_json(self) -> str:
        """Serialise (for the conversion cache)."""
        return json.dumps(dataclasses.asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Findings:
        """Rebuild what :meth:`to_json` wrote. Raises ``ValueError``/``KeyError``/``TypeError`` on anything else."""
        data: dict[str, Any] = json.loads(text)
        files = []
        for raw in data["files"]:
            raw["cuts"] = [Cut(**c) for c in raw["cuts"]]
            raw["damage"] = [Damage(**d) for d in raw["damage"]]
            raw["bad_samples"] = [tuple(s) for s in raw["bad_samples"]]
            raw["decode_samples"] = [tuple(s) for s in raw["decode_samples"]]
            files.append(FileFindings(**raw))
        initial = data.get("initial_synced")
        return cls(
            data["venue"], data["market"], data["symbol"], files, bool(data["allow_damaged"]),
            book_synced=bool(data.get("book_synced", True)), snapshots=int(data.get("snapshots", 0)),
            initial_synced=None if initial is None else bool(initial),
        )  # fmt: skip


CONVERT_UNSYNCED_ADVICE = (
    "a recording that began the day before has its snapshot in that day's file: give that file first (both "
    "inputs in time order) or its _eod.npz with --initial-snapshot; --allow-unsynced writes it anyway, trades "
    "without a book"
)
"""What ``arb convert`` can do about a book that never synced."""


class UnsyncedBookError(RecordingError):
    """A conversion whose book never synced (see :meth:`Findings.unsynced_text`); ``fact`` says what was
    missing without the advice, for a caller with other options than ``arb convert``'s."""

    def __init__(self, message: str, fact: str) -> None:
        super().__init__(message)
        self.fact = fact


def moment(ts: int) -> str:
    """A receive time (ns since the epoch) as ``2024-08-09 00:00:00.001 UTC``; ``?`` for 0."""
    if not ts:
        return "?"
    when = dt.datetime.fromtimestamp(ts / 1e9, dt.UTC)
    return f"{when:%Y-%m-%d %H:%M:%S}.{when.microsecond // 1000:03d} UTC"


def order_error(
    earlier: str, earlier_ts: int, later: str, later_ts: int, given: list[tuple[str, int]], *, ends: bool
) -> str:
    """The message for inputs out of time order: ``later``, given after ``earlier``, begins at
    ``later_ts``, before ``earlier`` ends (``ends``) or begins at ``earlier_ts``. ``given``: every
    input's (path, first receive time), in the order given, for the order to give them in."""
    edge = "ends" if ends else "begins"
    text = (
        f"{later}: begins at {moment(later_ts)}, before {earlier} (given before it) {edge} at "
        f"{moment(earlier_ts)}: the inputs are one session's files in time order, each once"
    )
    ordered = list(dict.fromkeys(path for path, _ in sorted(given, key=lambda pair: pair[1])))
    if ordered != [path for path, _ in given]:
        text += f"; give them as: {' '.join(ordered)}"
    else:
        text += "; these overlap in time: convert each on its own"
    return text


def at_time(ts: int) -> str:
    """A local time (ns since the epoch) as ``23:55:40.123 UTC``; ``?`` for 0."""
    if not ts:
        return "?"
    moment = dt.datetime.fromtimestamp(ts / 1e9, dt.UTC)
    return f"{moment:%H:%M:%S}.{moment.microsecond // 1000:03d} UTC"


def _damage_text(f: FileFindings, d: Damage) -> str:
    return f"corrupt gzip data ({d.reason} at byte {d.detected_at:,} of {f.size:,})"


def _file_error(f: FileFindings, venue: str, symbol: str, allow_damaged: bool) -> str | None:
    if f.size == 0:
        return f"{f.path}: empty file (0 bytes): nothing was recorded"
    if f.fatal:
        return f.fatal
    if f.problems and not allow_damaged:
        return f"{f.problems[0]}; --allow-damaged keeps what could be read"
    first = f.damage[0] if f.damage else None
    if first is not None and first.reason.startswith("not a gzip file"):
        return f"{f.path}: {first.reason}"
    if f.lines == 0:
        if first is not None and first.line == 1:
            return f"{f.path}: {_damage_text(f, first)} from its first line: nothing can be read"
        if f.truncated:
            return f"{f.path}: truncated before its first complete line ({f.size:,} bytes): nothing can be read"
        return f"{f.path}: no lines (an empty recording)"
    if not allow_damaged:
        bad = [(n, text) for n, text in f.bad_samples if first is None or n < first.line]
        if bad and (first is None or bad[0][0] < first.line):
            n, text = bad[0]
            where = f"line {n:,}" if n else "a line"
            return (
                f"{f.path}: {where} is not a recording line (no 19-digit receive time): {text!r}; "
                "--allow-damaged skips such lines"
            )
        if first is not None and first.located:
            after = f", after {at_time(first.last_good_ts)}" if first.last_good_ts else ""
            return (
                f"{f.path}: {_damage_text(f, first)}; the damage starts at line {first.line:,}{after}; "
                "--allow-damaged keeps the lines before it"
            )
        if first is not None:
            return (
                f"{f.path}: {_damage_text(f, first)}: some byte in lines {first.member_line:,}-{first.line - 1:,} "
                "is wrong and no line shows which; --allow-damaged uses them anyway"
            )
        if f.messages and f.decode_errors * 2 > f.messages:
            return (
                f"{f.path}: {f.decode_errors:,} of {f.messages:,} payloads are not {venue} messages "
                f"({_decode_samples(f, 1)}); --allow-damaged keeps the {f.messages - f.decode_errors:,} that are"
            )
    if f.usable == 0:
        found = [f"{f.lines:,} lines"]
        found += [f"{f.decode_errors:,} undecodable"] if f.decode_errors else []
        found += [f"{f.other_symbols:,} of other symbols"] if f.other_symbols else []
        found += [f"{f.unknown_streams:,} of streams arb does not read"] if f.unknown_streams else []
        what = " ".join(x for x in (venue, symbol) if x)
        return f"{f.path}: no {what} depth or trade message in it ({', '.join(found)})"
    return None


def _decode_samples(f: FileFindings, n: int = _SHOWN) -> str:
    return "; ".join(f"at {at_time(ts)} {raw!r} ({error})" for ts, error, raw in f.decode_samples[:n])


def _file_warnings(f: FileFindings) -> list[str]:
    out = []
    if f.truncated and f.zero_tail_bytes:
        out.append(
            f"{f.path} was truncated: it ends in {f.zero_tail_bytes:,} zero bytes (writes that never reached "
            f"the disk); kept its {f.lines:,} complete lines, up to {at_time(f.last_ts)}"
        )
    elif f.truncated:
        out.append(
            f"{f.path} was truncated (the recorder stopped mid-write): kept its {f.lines:,} complete lines, "
            f"up to {at_time(f.last_ts)}; dropped {f.lost_tail_bytes:,} bytes of an unfinished line"
        )
    if f.cuts:
        times = ", ".join(at_time(c.last_ts) for c in f.cuts[:_SHOWN]) + (", ..." if len(f.cuts) > _SHOWN else "")
        times_ = "once" if len(f.cuts) == 1 else f"{len(f.cuts)} times"
        out.append(
            f"{f.path}: a recording stopped mid-write and a later one appended to the file, {times_} "
            f"(at {times}): read on after each; the unfinished line is lost and the book is out of sync until "
            "it resyncs"
        )
    spans = []
    for d in f.damage:
        if not d.located:
            spans.append(
                f"{_damage_text(f, d)}: some byte in lines {d.member_line:,}-{d.line - 1:,} is wrong and no line "
                "shows which; used them"
            )
            continue
        to = "the end of the file" if d.resume_at is None else f"byte {d.resume_at:,}, where a later gzip member starts"
        after = f" (after {at_time(d.last_good_ts)})" if d.last_good_ts else ""
        spans.append(
            f"{_damage_text(f, d)}: lost everything from line {d.line:,}{after} to {to}; "
            "the book is out of sync from there"
        )
    if spans:
        more = f"; and {len(spans) - _SHOWN} more" if len(spans) > _SHOWN else ""
        out.append(f"{f.path}: " + "; ".join(spans[:_SHOWN]) + more + " (--allow-damaged)")
    if f.bad_lines:
        shown = ", ".join(f"line {n:,} {text!r}" if n else repr(text) for n, text in f.bad_samples[:_SHOWN])
        more = ", ..." if f.bad_lines > _SHOWN else ""
        out.append(
            f"{f.path}: skipped {_count(f.bad_lines, 'line')} without the 19-digit receive time of a "
            f"recording line: {shown}{more} (--allow-damaged)"
        )
    if f.decode_errors:
        more = "; ..." if f.decode_errors > _SHOWN else ""
        out.append(
            f"{f.path}: {f.decode_errors:,} of {f.messages:,} payloads did not decode and were skipped: "
            f"{_decode_samples(f)}{more}"
        )
    if f.unknown_streams:
        names = ", ".join(repr(n) for n in f.unknown_names[:_SHOWN])
        more = f" and {f.unknown_name_count - _SHOWN} more" if f.unknown_name_count > _SHOWN else ""
        out.append(f"{f.path}: skipped {f.unknown_streams:,} messages of streams arb does not read: {names}{more}")
    if f.gaps:
        out.append(f"{f.path}: {_count(f.gaps, 'gap')} in the book stream; the book is empty until each resync")
    out += f.notes
    return out


def _count(n: int, what: str) -> str:
    return f"{n:,} {what}" + ("" if n == 1 else "s")
