"""Write raw market-data frames to disk in the collector format, one gzip file per venue/market/symbol/day.

Every frame becomes the line ``<19-digit local receive ns> <payload exactly as received>\\n``
(:func:`arb.recording.format.format_line`) in ``<out>/<venue>_<market>/<symbol lower>_<YYYYMMDD>.gz``,
where the day is the UTC day of the frame's local receive time: a session that crosses midnight
continues in the next day's file (rotation happens on the first frame of the new day). A file that
exists already is appended to as a new gzip member, which :class:`~arb.recording.format.LineReader`
(and ``zcat``) read as one stream.

Durability: lines are buffered in memory and compressed in blocks; :meth:`Recorder.flush` compresses
what is buffered and ends the deflate block with ``Z_SYNC_FLUSH``, then hands it to the OS. ``write``
flushes whenever ``flush_interval_ns`` (default 1 s, on the injected monotonic clock) has passed since
the last flush, and the ``arb record`` command also flushes on a 1 s timer, so a crash or Ctrl-C
loses at most the last second and leaves every file readable up to its last flush (the reader reports
the missing gzip trailer as a truncated tail and keeps every complete line). :meth:`Recorder.close`
writes the trailers and ``fsync``\\ s each file.

Speed: a line costs a ``%``-format and a list append; compression runs on blocks of
``buffer_bytes`` (64 KiB), at zlib level 6 like hftbacktest's collector. ``benchmarks/bench_feed.py``
measures it against the full-rate streams.
"""

from __future__ import annotations

import gzip
import logging
import os
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BufferedWriter
from pathlib import Path
from types import TracebackType
from typing import Self

from arb.errors import RecordingError
from arb.events import NS_PER_S
from arb.recording.format import format_line

__all__ = ["NS_PER_DAY", "Recorder", "RecorderStats", "recording_path"]

log = logging.getLogger(__name__)

NS_PER_DAY = 86_400 * NS_PER_S
_DEFAULT_BUFFER = 1 << 16


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
    compressed_bytes: int = 0
    """Gzip bytes written to disk so far (up to the last flush or block)."""
    files_opened: int = 0
    flushes: int = 0


class _DayFile:
    # One open output file: the raw file, its gzip member and the lines not compressed yet.
    __slots__ = ("day", "gz", "path", "pending", "pending_bytes", "raw", "start_size")

    def __init__(self, path: Path, day: int, compresslevel: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.day = day
        self.raw: BufferedWriter = path.open("ab")
        self.start_size = self.raw.tell()
        # No file name and a fixed mtime in the header: the content alone decides the bytes.
        self.gz = gzip.GzipFile(filename="", mode="wb", fileobj=self.raw, compresslevel=compresslevel, mtime=0)
        self.pending: list[bytes] = []
        self.pending_bytes = 0

    def compress(self) -> None:
        if self.pending:
            self.gz.write(b"".join(self.pending))
            self.pending.clear()
            self.pending_bytes = 0

    def flush(self) -> None:
        self.compress()
        self.gz.flush(zlib.Z_SYNC_FLUSH)

    def written(self) -> int:
        return self.raw.tell() - self.start_size

    def close(self) -> int:
        # Returns the compressed bytes this file received.
        try:
            self.compress()
            self.gz.close()
            self.raw.flush()
            os.fsync(self.raw.fileno())
            return self.written()
        finally:
            self.raw.close()


class Recorder:
    """Writes frames of any number of venue/market/symbol streams; use as a context manager or call
    :meth:`close`.

    ``out_dir``: the recordings folder (created as needed). ``flush_interval_ns``: the longest time a
    written line may stay in memory, measured on ``monotonic`` (int ns). ``compresslevel``: zlib level
    (1-9). ``buffer_bytes``: uncompressed bytes gathered before a block is compressed.
    """

    def __init__(
        self,
        out_dir: str | Path,
        *,
        flush_interval_ns: int = NS_PER_S,
        compresslevel: int = 6,
        buffer_bytes: int = _DEFAULT_BUFFER,
        monotonic: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.flush_interval_ns = flush_interval_ns
        self.compresslevel = compresslevel
        self.buffer_bytes = buffer_bytes
        self.stats = RecorderStats()
        self._monotonic = monotonic
        self._files: dict[tuple[str, str, str], _DayFile] = {}
        self._paths: dict[Path, None] = {}
        self._closed_bytes = 0
        self._last_flush = monotonic()
        self._closed = False

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def paths(self) -> list[Path]:
        """Every file written to, in the order they were first opened."""
        return list(self._paths)

    @property
    def bytes_written(self) -> int:
        """Compressed bytes written to disk so far, all files."""
        return self._closed_bytes + sum(f.written() for f in self._files.values())

    def write(self, venue: str, market: str, symbol: str, local_ts: int, payload: bytes) -> None:
        """Append one frame received at ``local_ts`` (ns since the epoch) to its stream's file.

        Raises :class:`~arb.errors.RecordingError` when the file cannot be written (disk full, ...):
        losing the recording silently is worse than stopping.
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
        try:
            if file.pending_bytes >= self.buffer_bytes:
                file.compress()
            if self._monotonic() - self._last_flush >= self.flush_interval_ns:
                self.flush()
        except OSError as exc:
            raise RecordingError(f"{file.path}: cannot write the recording ({exc})") from exc

    def flush(self) -> None:
        """Compress what is buffered and push every file to the OS (each ends on a sync point)."""
        self._last_flush = self._monotonic()
        try:
            for file in self._files.values():
                file.flush()
        except OSError as exc:
            raise RecordingError(f"{self.out_dir}: cannot flush the recording ({exc})") from exc
        self.stats.flushes += 1
        self.stats.compressed_bytes = self.bytes_written

    def close(self) -> None:
        """Write every buffered line, end each gzip member and close the files. Idempotent."""
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
        self.stats.compressed_bytes = self._closed_bytes
        if errors:
            raise RecordingError("cannot close the recording: " + "; ".join(errors))

    def _open(self, key: tuple[str, str, str], local_ts: int, day: int, old: _DayFile | None) -> _DayFile:
        # Rotate: close the previous day's file of this stream and open (append to) the new day's.
        if old is not None:
            try:
                self._closed_bytes += old.close()
            except OSError as exc:
                raise RecordingError(f"{old.path}: cannot close the recording ({exc})") from exc
            log.info("recording %s closed at the UTC day boundary", old.path)
        path = recording_path(self.out_dir, *key, local_ts)
        try:
            file = _DayFile(path, day, self.compresslevel)
        except OSError as exc:
            raise RecordingError(f"{path}: cannot open the recording ({exc})") from exc
        self._files[key] = file
        self._paths[path] = None
        self.stats.files_opened += 1
        log.info("recording %s %s %s to %s%s", *key, path, " (appending)" if file.start_size else "")
        return file
