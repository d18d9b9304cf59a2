"""Read collector recordings and turn them into the fake venue's market clock.

A recording is hftbacktest's collector format: gzip text (plain text when the file name does not end
in ``.gz``), one message a line, ``<19-digit local receive ns> <raw JSON>``. Consecutive files of one
session (``btcusdt_20240808.gz`` then ``btcusdt_20240809.gz``) are read as one stream. A line without
the nanosecond prefix (Bybit's public order-book archive is such a file) gets its time from the
message itself (Bybit ``ts`` or Binance ``E``, in milliseconds), or the previous line's time.

Several sessions are merged by local receive time into one sequence; each element is a
:class:`ReplayFrame` whose ``index`` is its position on the venue's clock. The venue pulls frames
lazily, so a large file costs only what is released (or looked ahead at).
"""

from __future__ import annotations

__all__ = [
    "Classified",
    "Classifier",
    "FrameKind",
    "Replay",
    "ReplayFrame",
    "SessionSpec",
    "normalize_sessions",
    "read_lines",
]

import gzip
import heapq
import logging
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from os import PathLike
from pathlib import Path
from typing import IO

from arb.errors import RecordingError

logger = logging.getLogger(__name__)

NS_PER_MS = 1_000_000

SessionSpec = str | PathLike[str] | Sequence[str | PathLike[str]]
"""One session: a file, or the consecutive files of one session in order."""


class FrameKind(Enum):
    """What a recorded line is, as far as the venue cares."""

    DATA = "data"
    """A WebSocket frame: Binance combined-stream frame or Bybit v5 topic message."""
    REST_SNAPSHOT = "rest_snapshot"
    """A Binance REST depth snapshot the collector wrote inline; never sent over WebSocket."""


@dataclass(frozen=True, slots=True)
class Classified:
    """What a venue's classifier learned from one raw line."""

    kind: FrameKind
    stream: str
    """Binance stream name or Bybit topic; ``""`` for a REST snapshot."""
    symbol: str | None
    """Upper-case symbol, or ``None`` when the line does not name one (Binance REST snapshot)."""
    exch_ts_ms: int | None
    """The message's own time in milliseconds, used only when the line has no local time."""


Classifier = Callable[[bytes], Classified | None]
"""Venue-specific: raw line payload -> :class:`Classified`, or ``None`` to skip the line."""


@dataclass(frozen=True, slots=True)
class ReplayFrame:
    """One recorded message at its place on the venue's market clock."""

    index: int
    """Position on the clock: 0 for the first line of the merged recording."""
    local_ts: int
    """Local receive time in nanoseconds, as recorded."""
    raw: bytes
    """The payload exactly as recorded (the line without its time prefix and line end)."""
    kind: FrameKind
    stream: str
    """Binance stream name or Bybit topic; ``""`` for a REST snapshot."""
    stream_index: int
    """The k-th frame of ``stream`` (0-based over the recording); -1 for a REST snapshot."""
    symbol: str
    """Upper-case symbol the frame belongs to (a REST snapshot gets its session's symbol)."""
    session: int
    """Which session (0-based, in the order given to the venue) the frame came from."""


_Pending = tuple[int, int, bytes, FrameKind, str, str | None]
"""One session's classified line on its way to the merge: ``(local_ts, session, raw, kind, stream, symbol)``.
A plain tuple, made per recorded line: the merge orders by its first two fields (receive time, then
session, as ``heapq.merge`` breaks ties between its inputs), never further (a session's lines are
compared only with another session's)."""


def normalize_sessions(sessions: SessionSpec | Sequence[SessionSpec]) -> list[list[Path]]:
    """Turn the venue's ``recordings`` argument into a list of sessions, each a list of files.

    A single path is one session; a sequence holds sessions, each a path or a sequence of paths.
    """
    if isinstance(sessions, (str, PathLike)):
        return [[Path(sessions)]]
    result: list[list[Path]] = []
    for session in sessions:
        if isinstance(session, (str, PathLike)):
            result.append([Path(session)])
        else:
            result.append([Path(p) for p in session])
    if not result or any(not files for files in result):
        raise RecordingError("the fake venue needs at least one recording file")
    return result


def _open(path: Path) -> IO[bytes] | gzip.GzipFile:
    if not path.is_file():
        raise RecordingError(f"{path}: recording not found")
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")
    return path.open("rb")


def read_lines(paths: Sequence[Path]) -> Iterator[tuple[int | None, bytes]]:
    """Yield ``(local_ts_ns or None, payload)`` for every non-empty line of consecutive files."""
    for path in paths:
        with _open(path) as handle:
            for line in handle:
                line = line.rstrip(b"\r\n")
                if not line.strip():
                    continue
                space = line.find(b" ")
                if space > 0 and line[:space].isdigit():
                    yield int(line[:space]), line[space + 1 :]
                else:
                    yield None, line


def _session_frames(
    session: int,
    paths: Sequence[Path],
    classify: Classifier,
    on_symbol: Callable[[str], None],
) -> Iterator[_Pending]:
    """One session's lines, classified; lines that name no symbol take the session's symbol."""
    symbol: str | None = None
    last_ts = 0
    held: list[_Pending] = []
    for local_ts, raw in read_lines(paths):
        classified = classify(raw)
        if classified is None:
            logger.warning("skipping an unrecognised recorded line: %.200r", raw)
            continue
        if local_ts is None:
            exch = classified.exch_ts_ms
            local_ts = exch * NS_PER_MS if exch is not None else last_ts
        last_ts = local_ts
        named = classified.symbol
        if named is not None:
            if named != symbol:
                on_symbol(named)
            symbol = named
        elif symbol is None:
            held.append((local_ts, session, raw, classified.kind, classified.stream, None))
            continue  # a REST snapshot before the first line naming the symbol
        if held:
            yield from ((*h[:5], symbol) for h in held)
            held.clear()
        yield local_ts, session, raw, classified.kind, classified.stream, symbol
    for item in held:
        logger.warning("session %d: a line whose symbol is never named: %.120r", session, item[2])
        yield (*item[:5], "")


class Replay:
    """The merged recording as a lazily read sequence with look-ahead.

    ``pop`` releases the next frame (the venue's clock moves); ``peek`` and ``find_ahead`` look into
    the future without moving it. ``max_frames`` bounds the recording (useful on large files).
    """

    def __init__(
        self,
        sessions: Sequence[Sequence[Path]],
        classify: Classifier,
        *,
        max_frames: int | None = None,
    ) -> None:
        for files in sessions:
            for path in files:
                if not path.is_file():
                    raise RecordingError(f"{path}: recording not found")
        self.symbols: set[str] = set()
        """Symbols named by the frames read so far (released or looked ahead at)."""
        iterators = [_session_frames(i, files, classify, self.symbols.add) for i, files in enumerate(sessions)]
        self._merged: Iterator[_Pending] = heapq.merge(*iterators)
        self._ahead: deque[ReplayFrame] = deque()
        self._created = 0
        self._stream_counts: Counter[str] = Counter()
        self._max_frames = max_frames
        self._source_done = False
        self.released = 0
        """How many frames have been popped (the clock's position)."""

    def _pull(self) -> ReplayFrame | None:
        if self._source_done:
            return None
        if self._max_frames is not None and self._created >= self._max_frames:
            self._source_done = True
            return None
        pending = next(self._merged, None)
        if pending is None:
            self._source_done = True
            return None
        local_ts, session, raw, kind, stream, symbol = pending
        if kind is FrameKind.DATA:
            counts = self._stream_counts
            stream_index = counts[stream]
            counts[stream] = stream_index + 1
        else:
            stream_index = -1
        frame = ReplayFrame(self._created, local_ts, raw, kind, stream, stream_index, symbol or "", session)
        self._created += 1
        self._ahead.append(frame)
        return frame

    def peek(self) -> ReplayFrame | None:
        """The next frame to be released, or ``None`` at the end of the recording."""
        if not self._ahead and self._pull() is None:
            return None
        return self._ahead[0]

    def pop(self) -> ReplayFrame | None:
        """Release the next frame: it leaves the future. ``None`` at the end of the recording."""
        if not self._ahead and self._pull() is None:
            return None
        self.released += 1
        return self._ahead.popleft()

    def find_ahead(self, predicate: Callable[[ReplayFrame], bool]) -> ReplayFrame | None:
        """The first not-yet-released frame matching ``predicate``, reading ahead as needed."""
        for queued in self._ahead:
            if predicate(queued):
                return queued
        while (pulled := self._pull()) is not None:
            if predicate(pulled):
                return pulled
        return None

    def prime(self) -> None:
        """Read the first frame of every session so that :attr:`symbols` names each session's."""
        self.peek()

    @property
    def exhausted(self) -> bool:
        """True when every frame has been released."""
        return self.peek() is None
