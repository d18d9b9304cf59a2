"""The recording format: hftbacktest's collector format.

One message a line, ``<19-digit local receive time in ns> <raw payload exactly as received>``,
gzip-compressed, one file per venue/market/symbol/UTC day. REST snapshots fetched for book sync sit
inline as bare JSON objects. Files written by hftbacktest's collector and by ``arb record`` read
the same.

Reading streams the file in chunks (memory stays flat on multi-GB days) and tells apart what can
happen to a recording:

- **a truncated tail** (the recorder stopped mid-write, or its last writes never reached the disk and
  the file ends in zero bytes): every complete line is read, the unfinished one is dropped and
  counted; :attr:`ReadReport.truncated` says so;
- **a cut** (a gzip member that stops without its trailer, followed by another: a recorder that
  stopped and a later run that appended to the same file): the reader drops the unfinished line and
  reads on from the next member (:class:`Cut`);
- **damage** (the inflater fails: invalid deflate data, a CRC-32 or length mismatch, not gzip at
  all): the reader finds where the bad data starts (:class:`Damage`) and stops there, or, with
  ``keep_going``, reads on from the next gzip member if there is one. Deflate damage garbles the
  output before the inflater notices, so the damage starts at the first line of the damaged member
  that fails a check (no 19-digit prefix, a payload that is not JSON, a receive time earlier than the
  line before): everything from there on is lost, since what follows may be copies of older lines.
  A second read with ``skip`` set to the damage found stops *before* the bad data;
- **lines without the ``<19 digits> `` prefix** in otherwise sound data: never written by a recorder,
  so damage too; counted with the first few as samples (:attr:`ReadReport.bad_samples`).

The reader itself never raises or logs for any of these: it reports, and
:mod:`connectors.common.findings` decides what is an error and words the messages.
"""

from __future__ import annotations

__all__ = [
    "INFLATE_ERRORS",
    "SAMPLE_CHARS",
    "TS_DIGITS",
    "Cut",
    "Damage",
    "LineReader",
    "ReadReport",
    "format_line",
    "inflater",
    "prefetched",
    "sample",
]

import collections
import contextlib
import queue
import threading
import zlib
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import msgspec

from arb.errors import RecordingError

_inflate_module: Any = zlib
try:  # ISA-L's inflate is about twice as fast as zlib's on these files
    from isal import isal_zlib

    _inflate_module = isal_zlib
except ImportError:  # pragma: no cover - isal is a dependency; zlib is the fallback
    pass
inflater = _inflate_module.decompressobj
INFLATE_ERRORS: tuple[type[Exception], ...] = (zlib.error, _inflate_module.error)

TS_DIGITS = 19
"""Width of the local-time prefix: nanoseconds since the epoch, 19 digits until the year 2286."""

SAMPLE_CHARS = 120
"""Characters of a bad line or payload kept as a sample for messages."""
_SAMPLES = 3
"""Samples kept of each kind of bad line."""

_CHUNK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b\x08"
_VERIFY_BYTES = 1 << 16
"""Compressed bytes a candidate gzip member must inflate without error to be read on from."""
_EXAMINE_STEP = 1 << 16
_raw_json = msgspec.json.Decoder(msgspec.Raw)  # validates the JSON without building objects


def format_line(local_ts: int, payload: bytes) -> bytes:
    """One recording line for ``payload`` received at ``local_ts`` ns (newline included)."""
    return b"%019d %s\n" % (local_ts, payload)


def sample(data: bytes | str) -> str:
    """``data`` as text for a message: at most :data:`SAMPLE_CHARS` characters, marked when cut."""
    text = data if isinstance(data, str) else data.decode("utf-8", "replace")
    return text if len(text) <= SAMPLE_CHARS else text[: SAMPLE_CHARS - 3] + "..."


@dataclass(frozen=True, slots=True)
class Damage:
    """Part of a gzip recording whose inflated data cannot be trusted, from line :attr:`line` on.

    Positions: ``detected_at`` and ``resume_at`` are offsets in the file (compressed bytes);
    ``start`` is an offset in the inflated stream and ``line`` a line number (1-based, as
    ``zcat | sed -n`` counts until the first cut or lost span; after one, both count on from where
    the lost part began).
    """

    reason: str
    """What the inflater found: ``"invalid deflate data (...)"``, ``"CRC-32 mismatch"``, ``"not a gzip file"``."""
    detected_at: int
    """File offset of the byte at which the inflater failed."""
    start: int
    """Inflated offset of the first line that cannot be trusted: everything before it is kept."""
    line: int
    """Line number of that line."""
    last_good_ts: int
    """Local time (ns) of the last line kept before it; 0 when there is none."""
    located: bool = True
    """False for a checksum mismatch that no line shows: the member's lines all pass every check, but
    some byte among them is wrong. Nothing is dropped then; ``member_line``..``line - 1`` holds it."""
    member_line: int = 1
    """First line of the damaged gzip member."""
    resume_at: int | None = None
    """File offset of a later gzip member the reader went on from; None: the rest of the file is lost."""

    @property
    def resume(self) -> int | None:
        """File offset the reader goes on from (None: it stops)."""
        return self.resume_at


@dataclass(frozen=True, slots=True)
class Cut:
    """A gzip member that stops without its trailer and is followed by another one: a recorder
    stopped mid-write and a later run appended to the file. The member reads cleanly up to the next
    one; its unfinished last line is dropped."""

    at: int
    """File offset where the next member starts."""
    start: int
    """Inflated offset just after the last complete line before the cut."""
    line: int
    """Line number of the first line after the cut."""
    last_ts: int
    """Local time (ns) of the last complete line before the cut."""

    @property
    def resume(self) -> int:
        """File offset the reader goes on from."""
        return self.at


@dataclass(slots=True)
class ReadReport:
    """What reading one file found."""

    path: str
    size: int = 0
    """File size in bytes."""
    lines: int = 0
    """Non-empty complete lines passed on (good and bad)."""
    bad_lines: int = 0
    """Lines without a ``<19 digits> `` prefix (passed to :meth:`LineReader.bad_line` and skipped)."""
    bad_samples: list[tuple[int, str]] = field(default_factory=list)
    """The first few of them: (line number, text cut to :data:`SAMPLE_CHARS`); line 0 when unknown."""
    truncated: bool = False
    """The gzip stream ended early (the recorder stopped mid-write)."""
    lost_tail_bytes: int = 0
    """Bytes of an incomplete last line that were dropped."""
    zero_tail_bytes: int = 0
    """Zero bytes the file ends in (writes the disk never received), read as a truncation."""
    last_ts: int = 0
    """Local time (ns) of the last complete line, when the file was truncated."""
    first_ts: int = 0
    """Local time (ns) of the first line read (0: no line with a receive time was read)."""
    end_ts: int = 0
    """Local time (ns) of the last complete line read (0: none). Where the file stops, what the next
    file of a session must not begin before."""
    cuts: list[Cut] = field(default_factory=list)
    damage: list[Damage] = field(default_factory=list)
    tainted: bool = False
    """Lines the inflater garbled before it failed were passed on (a read with ``skip`` would not)."""
    bytes_read: int = 0
    """Compressed bytes consumed so far (for progress)."""


Mark = Damage | Cut
"""What :meth:`LineReader._pieces` yields between data where lines were lost."""


@dataclass(slots=True)
class _Position:
    # Where the inflated stream stands: what was passed on, and where the current gzip member began.
    pos: int = 0
    """File offset of the next read."""
    out: int = 0
    """Inflated bytes passed on."""
    lines: int = 0
    """Newlines passed on."""
    member_pos: int = 0
    member_out: int = 0
    member_lines: int = 0
    last: bytes = b""
    """The last piece passed on (for the time of the last complete line)."""
    count: bool = True
    """Count newlines here; False when the consumer counts them into `lines` as it splits (blocks)."""

    def passed(self, data: bytes) -> None:
        self.out += len(data)
        if self.count:
            self.lines += data.count(b"\n")
        if data:
            self.last = data

    def new_member(self, pos: int) -> None:
        self.member_pos, self.member_out, self.member_lines = pos, self.out, self.lines


class LineReader:
    """Iterate ``(local_ts, payload)`` over one recording file (gzip or plain text).

    ``skip``: the damage and cuts an earlier read of the same file found; this read stops at each
    one's start and goes on from where it resumes (or ends), so no bad line reaches the consumer
    (the first read may have passed some on before the inflater noticed).
    ``keep_going``: after damage not in ``skip``, go on from the next gzip member instead of
    stopping. ``on_lost(mark)`` is called, in the consumer's thread and in order with the data, where
    lines were lost (a :class:`Cut`, or a :class:`Damage` that dropped lines).
    """

    def __init__(
        self,
        path: str | Path,
        chunk_size: int = _CHUNK,
        *,
        skip: Sequence[Mark] = (),
        keep_going: bool = False,
        on_lost: Callable[[Mark], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.chunk_size = chunk_size
        self.skip = sorted(skip, key=lambda d: d.start)
        self.keep_going = keep_going
        self.on_lost = on_lost
        self.report = ReadReport(str(self.path))
        if not self.path.is_file():
            raise RecordingError(f"{self.path}: no such recording file")
        self.size = self.report.size = self.path.stat().st_size
        # Line number of each piece's first byte, appended by _pieces (maybe on the helper thread),
        # taken by the consumer as it receives the piece: that is how bad lines get their number.
        self._piece_lines: collections.deque[int] = collections.deque()
        self._buffer: tuple[bytes | memoryview, int] = (b"", 0)
        self._search_from = 0

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        for block in self.blocks():
            for line in block:
                if line[TS_DIGITS : TS_DIGITS + 1] == b" " and line[:TS_DIGITS].isdigit():
                    yield int(line[:TS_DIGITS]), line[TS_DIGITS + 1 :]
                else:
                    self.bad_line(line)

    def bad_line(self, line: bytes) -> None:
        """Count a line without the ``<19 digits> `` prefix; keep the first few as samples."""
        report = self.report
        report.bad_lines += 1
        if len(report.bad_samples) < _SAMPLES:
            report.bad_samples.append((self._line_number(line), sample(line)))

    def blocks(self) -> Iterator[list[bytes]]:
        """Yield the file's complete, non-empty raw lines (prefix included) in lists of ~1 MB."""
        report = self.report
        tail = b""
        at = _Position(count=False)  # the split below counts the newlines for _pieces
        for data in self._pieces(at):
            if isinstance(data, Damage | Cut):
                tail = self._mark(data, tail)
                continue
            buf = tail + data
            self._buffer, self._search_from = (buf, self._piece_line()), 0
            lines = buf.split(b"\n")
            at.lines += len(lines) - 1
            tail = lines.pop()
            if b"" in lines:
                lines = [line for line in lines if line]
            report.lines += len(lines)
            yield lines
        if tail:
            self._last_line(tail)
            if not report.truncated:
                report.lines += 1
                yield [tail]

    def chunks(self, prefetch: int = 0) -> Iterator[bytes | memoryview]:
        """Yield the file's complete lines as buffers of whole ``\\n``-separated lines (prefix included).

        Each buffer ends with ``\\n``, except a last line left unterminated at a clean end of file. Empty
        lines are left in. Unlike :meth:`blocks`, this does not count lines: the consumer adds the
        non-empty lines it finds with :meth:`add_lines` (a scanner counts them as it goes; counting
        here would read every byte once more). Most buffers are zero-copy views of the inflated data.

        ``prefetch`` > 0 reads and inflates on a helper thread, up to that many reads ahead, while the
        consumer works on the buffers (ISA-L and zlib release the GIL while inflating; a scanner that
        releases it too runs in parallel). The report's byte counts then run ahead of the consumer.
        """
        tail = b""
        pieces = prefetched(self._pieces(), prefetch) if prefetch > 0 else self._pieces()
        for data in pieces:
            if isinstance(data, Damage | Cut):
                tail = self._mark(data, tail)
                continue
            first_line = self._piece_line()
            last = data.rfind(b"\n")
            if last < 0:
                tail += data
                continue
            start = 0
            if tail:
                start = data.find(b"\n") + 1
                head = tail + data[:start]
                self._buffer, self._search_from = (head, first_line), 0
                yield head
            if start <= last:
                self._buffer, self._search_from = (memoryview(data)[start : last + 1], first_line + (start > 0)), 0
                yield self._buffer[0]
            tail = data[last + 1 :]
        if tail:
            self._last_line(tail)
            if not self.report.truncated:
                self._buffer, self._search_from = (tail, 0), 0
                yield tail

    def add_lines(self, lines: int) -> None:
        """Count ``lines`` more non-empty lines in the report (for :meth:`chunks` consumers)."""
        self.report.lines += lines

    def size_hint(self) -> int:
        """The inflated size in bytes as the file states it (gzip's ISIZE of its last member), else its size.

        A hint for preallocation only: it is modulo 2**32, and an appended file states its last member.
        """
        if self.path.suffix != ".gz" or self.size < 18:
            return self.size
        with self.path.open("rb") as f:
            f.seek(-4, 2)
            return int.from_bytes(f.read(4), "little")

    # -- consumer side ---------------------------------------------------------------------------

    def _piece_line(self) -> int:
        # The line number of the first byte of the piece just received (0 when unknown).
        return self._piece_lines.popleft() if self._piece_lines else 0

    def _line_number(self, line: bytes) -> int:
        # Where `line` (a bad line the consumer found in the current buffer) sits: only for samples.
        buf, first_line = self._buffer
        if not first_line:
            return 0
        data = bytes(buf)
        at = data.find(line, self._search_from)
        if at < 0:
            return 0
        self._search_from = at + len(line)
        return first_line + data.count(b"\n", 0, at)

    def _mark(self, mark: Mark, tail: bytes) -> bytes:
        # Lines were lost here: drop the unfinished line before it and tell the consumer.
        if self.on_lost is not None and (isinstance(mark, Cut) or mark.located):
            self.on_lost(mark)
        return b""

    def _last_line(self, tail: bytes) -> None:
        # An unterminated last line: kept at a clean end of file, counted as lost after a truncation.
        if self.report.truncated:
            self.report.lost_tail_bytes += len(tail)

    # -- reading ---------------------------------------------------------------------------------

    def _pieces(self, at: _Position | None = None) -> Generator[bytes | Mark, None, None]:
        # The inflated bytes in file order, a read at a time, with a Cut or Damage between them where
        # lines were lost. Sets report.truncated, report.cuts and report.damage. `at` tracks the
        # position (a consumer in this thread may count the newlines into it).
        report = self.report
        at = at or _Position()
        with self.path.open("rb") as f:
            if self.path.suffix != ".gz":
                while raw := f.read(self.chunk_size):
                    report.bytes_read += len(raw)
                    self._piece_lines.append(at.lines + 1)
                    _note_times(report, raw, at.out == 0)
                    at.passed(raw)
                    yield raw
                return
            plan = list(self.skip)
            inflate = inflater(31)
            while True:
                raw = f.read(self.chunk_size)
                if not raw:
                    break
                at.pos += len(raw)
                report.bytes_read = at.pos
                got: list[bytes] = []
                try:
                    got.append(inflate.decompress(raw))
                    while inflate.eof and inflate.unused_data:
                        # Concatenated gzip members (an appending recorder writes them): go on.
                        rest = inflate.unused_data
                        reached = yield from self._pass(at, b"".join(got), plan)
                        got.clear()
                        if reached is not None:
                            break
                        at.new_member(at.pos - len(rest))
                        inflate = inflater(31)
                        got.append(inflate.decompress(rest))
                    else:
                        reached = yield from self._pass(at, b"".join(got), plan)
                except INFLATE_ERRORS:
                    reached = yield from self._pass(at, b"".join(got), plan)
                    if reached is None:
                        reached = yield from self._after_error(f, at, plan)
                        if reached is None:  # a zero-filled tail: the end
                            return
                if reached is not None:
                    inflate = yield from self._jump(f, at, reached)
                    if inflate is None:
                        return
            if not inflate.eof:
                report.truncated = True
                report.last_ts = _last_complete_ts(at.last)

    def _pass(self, at: _Position, data: bytes, plan: list[Mark]) -> Generator[bytes, None, Mark | None]:
        # Pass `data` on, up to the start of the next planned damage; return that damage once reached.
        if plan and at.out + len(data) >= plan[0].start:
            reached = plan.pop(0)
            data = data[: max(reached.start - at.out, 0)]
        else:
            reached = None
        if data:
            self._piece_lines.append(at.lines + 1)
            _note_times(self.report, data, at.out == 0)
            at.passed(data)
            yield data
        return reached

    def _jump(self, f: IO[bytes], at: _Position, mark: Mark) -> Generator[Mark, None, Any]:
        # Lines are lost from mark.start: record and pass on the mark, then go on from where it
        # resumes (a new inflater) or stop (None).
        found: list[Any] = self.report.cuts if isinstance(mark, Cut) else self.report.damage
        if mark not in found:
            found.append(mark)
        yield mark
        if mark.resume is None:
            return None
        f.seek(mark.resume)
        at.pos = self.report.bytes_read = mark.resume
        at.out, at.lines = mark.start, mark.line - 1
        at.new_member(mark.resume)
        return inflater(31)

    def _after_error(self, f: IO[bytes], at: _Position, plan: list[Mark]) -> Generator[bytes, None, Mark | None]:
        # The inflater failed in the current member. Find out where and why (a second inflate of the
        # member with zlib, whose state can be copied), pass on what came before, and decide: a cut
        # (the member reads cleanly up to a later one), a zero-filled tail (a truncation), or damage.
        keep_from = at.out - at.member_out
        first_line = at.member_lines + 1
        exam = _examine(self.path, at.member_pos, first_line, keep_from)
        if plan and plan[0].start <= at.out + len(exam.kept):
            return (yield from self._pass(at, exam.kept, plan))
        later = _next_member(f, at.member_pos + 1, self.size)
        if later is not None:
            head = _examine(self.path, at.member_pos, first_line, keep_from, stop=later)
            if not head.reason and head.first_bad is None:
                cut = Cut(later, at.member_out + head.complete_end, first_line + head.complete_lines, head.last_line_ts)
                self.report.tainted |= at.out > cut.start
                yield from self._pass(at, head.kept[: max(cut.start - at.out, 0)], [])
                return cut
        zeros_from = _zero_tail_start(f, self.size)
        if zeros_from < self.size and zeros_from <= exam.error_at:
            yield from self._pass(at, exam.kept, [])
            self.report.truncated = True
            self.report.zero_tail_bytes = self.size - zeros_from
            self.report.last_ts = exam.last_line_ts
            return None
        if exam.first_bad is not None:
            start, line, last_good = exam.first_bad
            located = True
        else:  # nothing looks wrong before the failure: keep every complete line
            start, line, last_good = exam.complete_end, first_line + exam.complete_lines, exam.last_line_ts
            located = not exam.checksum
        if not last_good and at.member_out + start <= at.out:  # no sound line in this member: the one before
            last_good = _last_complete_ts(at.last)
        damage = Damage(
            reason=exam.reason or "invalid deflate data",
            detected_at=exam.error_at,
            start=at.member_out + start,
            line=line,
            last_good_ts=last_good,
            located=located,
            member_line=first_line,
            resume_at=later if self.keep_going else None,
        )
        self.report.tainted |= at.out > damage.start
        yield from self._pass(at, exam.kept[: max(damage.start - at.out, 0)], [])
        return damage


@dataclass(slots=True)
class _Exam:
    # What a second inflate of a damaged member found.
    error_at: int = 0
    reason: str = ""
    checksum: bool = False
    """The failure is the trailer's check (all the member's data came out)."""
    kept: bytes = b""
    """The member's output from `keep_from` up to the failure."""
    first_bad: tuple[int, int, int] | None = None
    """(offset in the member's output, line number, local time of the line before) of the first bad line."""
    complete_end: int = 0
    """Offset in the member's output just after its last complete line."""
    complete_lines: int = 0
    last_line_ts: int = 0


_REASONS = (
    ("incorrect data check", "CRC-32 mismatch", True),
    ("incorrect length check", "length mismatch", True),
    ("incorrect header check", "not a gzip file", False),
    ("unknown compression method", "not a gzip file", False),
)


def _examine(path: Path, member_pos: int, first_line: int, keep_from: int, stop: int | None = None) -> _Exam:
    # Inflate the member at `member_pos` again with zlib, a step at a time, keeping a copy of the
    # state before each step: when a step fails, redo it in small pieces to find the exact offset.
    # Check every line on the way; keep the output from `keep_from` on. With `stop`, read only the
    # bytes before it (exam.reason stays empty if they inflate without error).
    exam = _Exam()
    inflate = zlib.decompressobj(31)
    out = 0  # member output so far
    kept: list[bytes] = []
    partial = b""
    line = first_line
    prev_ts = 0  # local time of the last sound line before the first bad one
    with path.open("rb") as f:
        f.seek(member_pos)
        head = f.read(16)
        f.seek(member_pos)
        pos = member_pos
        while not (exam.reason or inflate.eof or (stop is not None and pos >= stop)):
            raw = f.read(_EXAMINE_STEP if stop is None else min(_EXAMINE_STEP, stop - pos))
            if not raw:
                exam.error_at, exam.reason = pos, "unexpected end of data"
                break
            saved = inflate.copy()
            try:
                pieces = [(inflate.decompress(raw), len(raw))]
            except zlib.error as exc:
                pieces, failed = _bisect(saved, raw)
                exam.error_at = pos + failed
                exam.reason, exam.checksum = _reason(str(exc), head, member_pos)
            for data, used in pieces:
                pos += used
                if keep_from < out + len(data):
                    kept.append(data[max(keep_from - out, 0) :])
                base = out - len(partial)  # member offset of the first line completed by `data`
                lines = (partial + data).split(b"\n")
                partial = lines.pop()
                for text in lines:
                    if text:
                        ts = _line_ts(text, prev_ts)
                        if ts is None:
                            if exam.first_bad is None:
                                exam.first_bad = (base, line, prev_ts)
                        else:
                            if exam.first_bad is None:
                                prev_ts = ts
                            exam.last_line_ts = ts
                    base += len(text) + 1
                    line += 1
                    exam.complete_lines += 1
                out += len(data)
                exam.complete_end = out - len(partial)
    if not exam.reason:
        exam.error_at = pos
    exam.kept = b"".join(kept)
    return exam


def _bisect(inflate: Any, raw: bytes) -> tuple[list[tuple[bytes, int]], int]:
    # Feed `raw` into `inflate` 1 KB at a time, then the failing KB a byte at a time (each on a copy):
    # ([(output, bytes used)] up to the failure, offset in `raw` of the byte at which it fails).
    pieces: list[tuple[bytes, int]] = []
    done = 0
    for size in (1024, 1):
        while done < len(raw):
            trial = inflate.copy()
            try:
                data = trial.decompress(raw[done : done + size])
            except zlib.error:
                break
            inflate = trial
            pieces.append((data, len(raw[done : done + size])))
            done += size
            if inflate.eof:
                return pieces, done
    return pieces, min(done, len(raw))


def _reason(message: str, head: bytes, member_pos: int) -> tuple[str, bool]:
    # zlib's error message -> (reason in arb's words, whether it is the trailer's check). `head`: the
    # first bytes of the member that failed, which starts at `member_pos`.
    for words, reason, checksum in _REASONS:
        if words in message:
            if reason == "not a gzip file" and member_pos:
                reason = f"bytes that are not gzip after the last sound member: {head!r}"
            elif reason == "not a gzip file":
                reason = f"not a gzip file: it starts with {head!r}"
                if head[:TS_DIGITS].isdigit():
                    reason += " (an uncompressed recording? gzip it, or name it without .gz)"
            return reason, checksum
    detail = message.rsplit(": ", 1)[-1]
    return f"invalid deflate data ({detail})", False


def _line_ts(line: bytes, prev_ts: int) -> int | None:
    # The local time of a sound recording line, None for one that fails a check.
    if line[TS_DIGITS : TS_DIGITS + 1] != b" " or not line[:TS_DIGITS].isdigit():
        return None
    ts = int(line[:TS_DIGITS])
    if ts < prev_ts:
        return None
    try:
        _raw_json.decode(line[TS_DIGITS + 1 :])
    except msgspec.DecodeError:
        return None
    return ts


def _receive_ts(line: bytes) -> int:
    # The receive time of a recording line, or of its first 20 bytes (0 without the ``<19 digits> `` prefix).
    head = line[:TS_DIGITS]
    return int(head) if line[TS_DIGITS : TS_DIGITS + 1] == b" " and head.isdigit() else 0


def _note_times(report: ReadReport, data: bytes, at_start: bool) -> None:
    # Keep the first and last receive times of the lines in a piece passed on. ``at_start``: the piece
    # begins the file's data, so its first bytes begin a line (any other piece may begin mid-line: its
    # last line counts only when a newline before it shows where it begins).
    end = data.rfind(b"\n")
    if end < 0:
        return
    if not report.first_ts and at_start:
        start = 0
        for _ in range(_FIRST_LINES):  # the first lines may be damage: the first with a receive time
            stop = data.find(b"\n", start)
            if stop < 0:
                break
            report.first_ts = _receive_ts(data[start : min(stop, start + TS_DIGITS + 1)])
            if report.first_ts:
                break
            start = stop + 1
    start = data.rfind(b"\n", 0, end)
    if start >= 0 or at_start:
        ts = _receive_ts(data[start + 1 : min(end, start + TS_DIGITS + 2)])
        if ts:
            report.end_ts = ts


_FIRST_LINES = 100
"""Lines of the first piece searched for the first receive time."""


def _last_complete_ts(data: bytes) -> int:
    # The local time of the last complete line in `data` (0 when there is none).
    end = data.rfind(b"\n")
    if end < 0:
        return 0
    start = data.rfind(b"\n", 0, end) + 1
    line = data[start:end]
    return int(line[:TS_DIGITS]) if line[:TS_DIGITS].isdigit() else 0


def _read_at(f: IO[bytes], offset: int, size: int) -> bytes:
    # `size` bytes at `offset`, leaving the file where it was.
    here = f.tell()
    f.seek(offset)
    data = f.read(size)
    f.seek(here)
    return data


def _member_ok(f: IO[bytes], offset: int) -> bool:
    # Does a gzip member start at `offset`: a header and some deflate data that inflates cleanly?
    data = _read_at(f, offset, _VERIFY_BYTES)
    if len(data) < 10 or data[:3] != _GZIP_MAGIC or data[3] & 0xE0:
        return False
    try:
        inflater(31).decompress(data)
    except INFLATE_ERRORS:
        return False
    return True


def _next_member(f: IO[bytes], after: int, size: int) -> int | None:
    # The offset of the first sound gzip member that starts at or after `after`, else None.
    here = f.tell()
    try:
        window = 1 << 20
        pos = after
        while pos < size:
            f.seek(pos)
            data = f.read(window + len(_GZIP_MAGIC) - 1)
            at = data.find(_GZIP_MAGIC)
            while at >= 0:
                if _member_ok(f, pos + at):
                    return pos + at
                at = data.find(_GZIP_MAGIC, at + 1)
            pos += window
        return None
    finally:
        f.seek(here)


def _zero_tail_start(f: IO[bytes], size: int) -> int:
    # The offset where the file's trailing run of zero bytes begins (`size` when it ends otherwise).
    here = f.tell()
    try:
        end = size
        while end > 0:
            start = max(end - (1 << 16), 0)
            f.seek(start)
            data = f.read(end - start)
            stripped = data.rstrip(b"\0")
            if stripped:
                return start + len(stripped)
            end = start
        return 0
    finally:
        f.seek(here)


_ITEM, _END, _ERROR = 0, 1, 2


def prefetched(items: Generator[Any, None, None], depth: int, name: str = "recording-inflate") -> Iterator[Any]:
    """Run ``items`` on a helper thread named ``name``, at most ``depth`` items ahead, re-raising its errors
    here. When the consumer stops early (or raises), the helper is told to stop, unblocked and joined."""
    slots: queue.Queue[tuple[int, Any]] = queue.Queue(max(depth, 2))
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                slots.put((_ITEM, item))
            slots.put((_END, None))
        except Exception as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
            slots.put((_ERROR, exc))
        finally:
            items.close()  # closes the file

    helper = threading.Thread(target=produce, name=name, daemon=True)
    helper.start()
    try:
        while True:
            kind, value = slots.get()
            if kind == _END:
                return
            if kind == _ERROR:
                raise value
            yield value
    finally:
        stop.set()
        while helper.is_alive():
            with contextlib.suppress(queue.Empty):  # make room for a put the helper may be blocked in
                while True:
                    slots.get_nowait()
            helper.join(0.01)
