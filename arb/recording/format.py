"""The recording format: hftbacktest's collector format.

One message a line, ``<19-digit local receive time in ns> <raw payload exactly as received>``,
gzip-compressed, one file per venue/market/symbol/UTC day. REST snapshots fetched for book sync sit
inline as bare JSON objects. Files written by hftbacktest's collector and by ``arb record`` read
the same.

Reading streams the file in chunks (memory stays flat on multi-GB days), tolerates a truncated gzip
tail (a recorder killed mid-write) by yielding every complete line and saying how much was lost, and
counts lines that do not start with a timestamp instead of failing on them.
"""

from __future__ import annotations

import logging
import queue
import threading
import zlib
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arb.errors import RecordingError

_inflate_module: Any = zlib
try:  # ISA-L's inflate is about twice as fast as zlib's on these files
    from isal import isal_zlib

    _inflate_module = isal_zlib
except ImportError:  # pragma: no cover - isal is a dependency; zlib is the fallback
    pass
_inflater = _inflate_module.decompressobj
_INFLATE_ERRORS: tuple[type[Exception], ...] = (zlib.error, _inflate_module.error)

__all__ = ["TS_DIGITS", "LineReader", "ReadReport", "format_line"]

log = logging.getLogger(__name__)

TS_DIGITS = 19
"""Width of the local-time prefix: nanoseconds since the epoch, 19 digits until the year 2286."""

_CHUNK = 1 << 20


def format_line(local_ts: int, payload: bytes) -> bytes:
    """One recording line for ``payload`` received at ``local_ts`` ns (newline included)."""
    return b"%019d %s\n" % (local_ts, payload)


@dataclass(slots=True)
class ReadReport:
    """What reading one file found."""

    path: str
    lines: int = 0
    """Non-empty complete lines (good and bad)."""
    bad_lines: int = 0
    """Lines without a ``<19 digits> `` prefix: logged with their text and skipped."""
    truncated: bool = False
    """The gzip stream ended early (the recorder stopped mid-write)."""
    lost_tail_bytes: int = 0
    """Bytes of an incomplete last line that were dropped."""
    bytes_read: int = 0
    """Compressed bytes consumed so far (for progress)."""


class LineReader:
    """Iterate ``(local_ts, payload)`` over one recording file (gzip or plain text)."""

    def __init__(self, path: str | Path, chunk_size: int = _CHUNK) -> None:
        self.path = Path(path)
        self.chunk_size = chunk_size
        self.report = ReadReport(str(self.path))
        if not self.path.is_file():
            raise RecordingError(f"{self.path}: no such recording file")
        self.size = self.path.stat().st_size

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        for block in self.blocks():
            for line in block:
                if line[TS_DIGITS : TS_DIGITS + 1] == b" " and line[:TS_DIGITS].isdigit():
                    yield int(line[:TS_DIGITS]), line[TS_DIGITS + 1 :]
                else:
                    self.bad_line(line)

    def bad_line(self, line: bytes) -> None:
        """Count (and log the first few of) a line without the ``<19 digits> `` prefix."""
        report = self.report
        report.bad_lines += 1
        if report.bad_lines <= 20:
            log.warning("%s: line without a 19-digit timestamp prefix, skipped: %r", self.path, line[:300])

    def blocks(self) -> Iterator[list[bytes]]:
        """Yield the file's complete, non-empty raw lines (prefix included) in lists of ~1 MB."""
        report = self.report
        tail = b""
        for data in self._pieces():
            lines = (tail + data).split(b"\n")
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
        self._warn_if_truncated()

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
        pieces = _prefetched(self._pieces(), prefetch) if prefetch > 0 else self._pieces()
        for data in pieces:
            last = data.rfind(b"\n")
            if last < 0:
                tail += data
                continue
            start = 0
            if tail:
                start = data.find(b"\n") + 1
                yield tail + data[:start]
            if start <= last:
                yield memoryview(data)[start : last + 1]
            tail = data[last + 1 :]
        if tail:
            self._last_line(tail)
            if not self.report.truncated:
                yield tail
        self._warn_if_truncated()

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

    def _last_line(self, tail: bytes) -> None:
        # An unterminated last line: kept at a clean end of file, counted as lost after a truncation.
        if self.report.truncated:
            self.report.lost_tail_bytes = len(tail)

    def _warn_if_truncated(self) -> None:
        report = self.report
        if report.truncated:
            log.warning(
                "%s was truncated (the recorder stopped mid-write): read its %d complete lines, "
                "dropped %d bytes of a partial line",
                self.path,
                report.lines,
                report.lost_tail_bytes,
            )

    def _pieces(self) -> Generator[bytes, None, None]:
        # The inflated bytes in file order, a read at a time. A stream that ends early or turns
        # corrupt sets report.truncated (what was inflated before that is still yielded).
        gz = self.path.suffix == ".gz"
        inflate = _inflater(31) if gz else None
        report = self.report
        with self.path.open("rb") as f:
            while True:
                raw = f.read(self.chunk_size)
                report.bytes_read += len(raw)
                if not raw:
                    break
                try:
                    data = inflate.decompress(raw) if inflate is not None else raw
                    while inflate is not None and inflate.eof and inflate.unused_data:
                        # Concatenated gzip members (an appending recorder writes them): go on.
                        rest = inflate.unused_data
                        inflate = _inflater(31)
                        data += inflate.decompress(rest)
                except _INFLATE_ERRORS as exc:
                    report.truncated = True
                    log.warning("%s: corrupt gzip data after %d bytes: %s", self.path, report.bytes_read, exc)
                    break
                if data:
                    yield data
        if inflate is not None and not inflate.eof:
            report.truncated = True


_ITEM, _END, _ERROR = 0, 1, 2


def _prefetched(items: Generator[bytes, None, None], depth: int) -> Iterator[bytes]:
    # Run `items` on a helper thread, at most `depth` items ahead, re-raising its errors here. When
    # the consumer stops early (or raises), the helper is told to stop, unblocked and joined.
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

    helper = threading.Thread(target=produce, name="recording-inflate", daemon=True)
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
            try:  # make room for a put the helper may be blocked in; it then sees `stop`
                while True:
                    slots.get_nowait()
            except queue.Empty:
                pass
            helper.join(0.01)
