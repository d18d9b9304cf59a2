"""Write raw market-data frames to disk in the collector format, one gzip file per venue/market/symbol/day.

Every frame becomes the line ``<19-digit local receive ns> <payload exactly as received>\\n``
(:func:`connectors.common.record_files.format_line`) in ``<out>/<venue>_<market>/<symbol lower>_<YYYYMMDD>.gz``,
where the day is the UTC day of the frame's local receive time: a session that crosses midnight
continues in the next day's file (rotation happens on the first frame of the new day). A file that
exists already is appended to as a new gzip member, which :class:`~connectors.common.record_files.LineReader`
(and ``zcat``) read as one stream.

Speed: :meth:`Recorder.write` formats the line and appends it to the stream's buffer; every
``block_bytes`` (16 KiB, a few dozen frames) the block is deflated in place with ISA-L at level 3
(about 300 MB/s, some 50 us per block: six times zlib's level 6, for files about 15 % larger). No
thread: the cost is small, bounded and paid in the caller's thread, so a recorder on one core never
competes with the feed for the GIL. ``benchmarks/bench_feed.py`` measures it.

Durability: :meth:`Recorder.flush` deflates what is buffered, ends each file's deflate stream on a
``Z_SYNC_FLUSH`` point and hands the bytes to the OS. ``write`` flushes whenever ``flush_interval_ns``
(default 1 s, on the injected monotonic clock) has passed since the last flush, and ``arb record``
also flushes on a 1 s timer, so a crash or Ctrl-C loses at most the last second and leaves every
file readable up to its last flush (the reader reports the missing gzip trailer as a truncated tail
and keeps every complete line). :meth:`Recorder.close` ends each gzip member (CRC-32 and size
trailer), ``fsync``\\ s and closes the files.

Errors: a file that cannot be opened or written raises :class:`~arb.errors.RecordingError`: a
recorder never loses data silently, and a feed treats it as fatal, never as a network error.
"""

from __future__ import annotations

__all__ = ["DEFAULT_LEVEL", "NS_PER_DAY", "Recorder", "RecorderStats", "recording_path"]

import logging
import os
import struct
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BufferedWriter
from pathlib import Path
from typing import Any

from arb.errors import RecordingError
from arb.events import NS_PER_S
from arb.files import Closing
from connectors.common.record_files import format_line

_deflate_module: Any = zlib
try:  # ISA-L deflates about six times faster than zlib at a similar ratio; zlib is the fallback
    from isal import isal_zlib

    _deflate_module = isal_zlib
except ImportError:  # pragma: no cover - isal is a dependency
    pass

log = logging.getLogger(__name__)

NS_PER_DAY = 86_400 * NS_PER_S
DEFAULT_LEVEL = 3
"""Deflate level: ISA-L's highest (0-3); with the zlib fallback, zlib's level 3."""
_BLOCK_BYTES = 1 << 14
# A gzip member header: magic, deflate, no flags, mtime 0, no extra flags, OS unknown (RFC 1952).
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"


def recording_path(out_dir: str | Path, venue: str, market: str, symbol: str, local_ts: int) -> Path:
    """``<out_dir>/<venue>_<market>/<symbol lower>_<YYYYMMDD>.gz`` for a frame received at ``local_ts`` ns."""
    day = datetime.fromtimestamp(local_ts // NS_PER_DAY * 86_400, UTC).strftime("%Y%m%d")
    return Path(out_dir) / f"{venue}_{market}" / f"{symbol.lower()}_{day}.gz"


@dataclass(slots=True)
class RecorderStats:
    """What a recorder has written since it was created."""

    lines: int = 0
    line_bytes: int = 0
    """Uncompressed bytes of those lines."""
    files_opened: int = 0


class _DayFile:
    # One output file: one gzip member written by hand (header, raw deflate, CRC-32 and size), so
    # that a sync flush is one call and the deflater can be ISA-L's.
    __slots__ = ("crc", "day", "deflater", "path", "pending", "pending_bytes", "raw", "size", "start_size")

    def __init__(self, path: Path, day: int, level: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.day = day
        self.raw: BufferedWriter = path.open("ab")
        self.start_size = self.raw.tell()
        self.raw.write(_GZIP_HEADER)
        self.deflater = _deflate_module.compressobj(level, _deflate_module.DEFLATED, -15)
        self.crc = 0
        self.size = 0
        self.pending: list[bytes] = []
        self.pending_bytes = 0

    def compress(self) -> None:
        if not self.pending:
            return
        data = b"".join(self.pending)
        self.pending.clear()
        self.pending_bytes = 0
        self.crc = zlib.crc32(data, self.crc)
        self.size += len(data)
        out = self.deflater.compress(data)
        if out:
            self.raw.write(out)

    def flush(self) -> None:
        self.compress()
        self.raw.write(self.deflater.flush(_deflate_module.Z_SYNC_FLUSH))
        self.raw.flush()

    def written(self) -> int:
        return self.raw.tell() - self.start_size

    def close(self) -> int:
        # End the member, fsync, close; returns the bytes this recorder added to the file.
        try:
            self.compress()
            self.raw.write(self.deflater.flush(_deflate_module.Z_FINISH))
            self.raw.write(struct.pack("<II", self.crc & 0xFFFFFFFF, self.size & 0xFFFFFFFF))
            self.raw.flush()
            os.fsync(self.raw.fileno())
            return self.written()
        finally:
            self.raw.close()


class Recorder(Closing):
    """Writes frames of any number of venue/market/symbol streams; use as a context manager or call
    :meth:`close`.

    ``out_dir``: the recordings folder (created as needed). ``flush_interval_ns``: the longest time a
    written line may stay unflushed, measured on ``monotonic`` (int ns). ``level``: deflate level
    (:data:`DEFAULT_LEVEL`). ``block_bytes``: uncompressed bytes gathered before they are deflated.
    """

    def __init__(
        self,
        out_dir: str | Path,
        *,
        flush_interval_ns: int = NS_PER_S,
        level: int = DEFAULT_LEVEL,
        block_bytes: int = _BLOCK_BYTES,
        monotonic: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.flush_interval_ns = flush_interval_ns
        self.level = level
        self.block_bytes = block_bytes
        self.stats = RecorderStats()
        self._monotonic = monotonic
        self._files: dict[tuple[str, str, str], _DayFile] = {}
        self._paths: dict[Path, None] = {}
        self._closed_bytes = 0
        self._last_flush = monotonic()
        self._closed = False

    @property
    def paths(self) -> list[Path]:
        """Every file written to, in the order they were first opened."""
        return list(self._paths)

    @property
    def bytes_written(self) -> int:
        """Compressed bytes written so far, all files (up to the last deflated block)."""
        return self._closed_bytes + sum(f.written() for f in self._files.values())

    def write(
        self, venue: str, market: str, symbol: str, local_ts: int, payload: bytes, *, settle: bool = True
    ) -> None:
        """Append one frame received at ``local_ts`` (ns since the epoch) to its stream's file.

        With ``settle=False`` the line is only buffered (in memory, so a parse error that follows
        cannot lose it) and the deflating and flushing that may be due wait for :meth:`settle`: a feed
        publishes the frame's rows first, so compression never sits between a frame and its rows.
        Raises :class:`~arb.errors.RecordingError` when the file cannot be opened or written.
        """
        if self._closed:
            raise RecordingError(f"{self.out_dir}: the recorder is closed")
        key = (venue, market, symbol)
        day = local_ts // NS_PER_DAY
        file = self._files.get(key)
        if file is None or file.day != day:
            file = self._open(key, local_ts, day, file)
        line = format_line(local_ts, payload)
        file.pending.append(line)
        file.pending_bytes += len(line)
        stats = self.stats
        stats.lines += 1
        stats.line_bytes += len(line)
        if settle:
            self.settle()

    def settle(self) -> None:
        """Do what buffered lines call for: a flush once ``flush_interval`` has passed, else deflate
        every file holding a full block. Raises :class:`~arb.errors.RecordingError` on a write error."""
        if self._monotonic() - self._last_flush >= self.flush_interval_ns:
            self.flush()
            return
        for file in self._files.values():
            if file.pending_bytes >= self.block_bytes:
                try:
                    file.compress()
                except OSError as exc:
                    raise RecordingError(f"{file.path}: cannot write the recording ({exc})") from exc

    def flush(self) -> None:
        """Deflate what is buffered and hand every file to the OS, each ending on a sync point."""
        self._last_flush = self._monotonic()
        for file in self._files.values():
            try:
                file.flush()
            except OSError as exc:
                raise RecordingError(f"{file.path}: cannot write the recording ({exc})") from exc

    def close(self) -> None:
        """Write every buffered line, end each gzip member, fsync and close the files. Idempotent."""
        if self._closed:
            return
        self._closed = True
        errors: list[str] = []
        for file in self._files.values():
            try:
                self._closed_bytes += file.close()
            except OSError as exc:
                errors.append(f"{file.path}: {exc}")
        self._files.clear()
        log.info(
            "recorder closed: %d lines in %d files, %d bytes", self.stats.lines, len(self._paths), self.bytes_written
        )
        if errors:
            raise RecordingError("cannot close the recording: " + "; ".join(errors))

    def _open(self, key: tuple[str, str, str], local_ts: int, day: int, old: _DayFile | None) -> _DayFile:
        # Rotate: close the previous day's file of this stream and open (append to) the new day's.
        if old is not None:
            try:
                self._closed_bytes += old.close()
            except OSError as exc:
                raise RecordingError(f"{old.path}: cannot write the recording ({exc})") from exc
            log.info("recording %s closed at the UTC day boundary", old.path)
        path = recording_path(self.out_dir, *key, local_ts)
        try:
            file = _DayFile(path, day, self.level)
        except OSError as exc:
            raise RecordingError(f"{path}: cannot write the recording ({exc})") from exc
        self._files[key] = file
        self._paths[path] = None
        self.stats.files_opened += 1
        log.info("recording %s %s %s to %s%s", *key, path, " (appending)" if file.start_size else "")
        return file
