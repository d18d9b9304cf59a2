"""A venue's own history archive: the files a venue publishes of its past market data, as one source of
days for the backtest beside arb's recordings and Tardis.dev.

A venue that has such an archive says how it is laid out, fetched, recognised and read in its connector
(``connectors/<venue>/archive.py``, ``ARCHIVE``, a :class:`VenueArchive`); ``arb fetch``, ``arb convert``
and the backtest's loader (``arb.recording``) ask the registry for it
(:attr:`connectors.registry.VenueConnector.archive`) and never name the venue. Its files live under the
recordings folder in a folder of the source's name (:attr:`VenueArchive.source`, e.g. ``bybit-archive``),
laid out as the venue's own URLs are.

An archive has the venue's exchange times only: a row's local time is its exchange time plus a feed
latency the user assumes (``[history] archive_feed_latency_ms``).
"""

from __future__ import annotations

__all__ = ["ArchiveDay", "ArchiveDownload", "ArchiveReader", "VenueArchive"]

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from connectors.common.findings import FileFindings, ProgressFn

EventRows = Any  # hftbacktest event rows (arb.events.EventArray), as the converter takes them


@dataclass(frozen=True, slots=True)
class ArchiveDay:
    """One day of a symbol in the archive: the files to convert (the book first) and the cache beside them."""

    inputs: tuple[Path, ...]
    cache: Path


@dataclass(frozen=True, slots=True)
class ArchiveDownload:
    """One file ``arb fetch`` downloads: ``choices`` are ``(url, path)`` tried in turn (the first found is
    kept); ``kind`` is how it is checked once down (``"zip"``: a whole zip; ``"gzip"``: a whole gzip)."""

    label: str
    choices: tuple[tuple[str, Path], ...]
    kind: str


class ArchiveReader(Protocol):
    """What the converter drives of an archive's reader: the attributes it reads of a normalizer
    (``market``, ``symbol``, ``sink``, ``stats``, ``status``, ``transitions``, ``perp``, ``bad_payloads``)
    and :meth:`feed`, which reads every file itself."""

    venue: str
    market: str
    symbol: str
    sink: Any
    stats: Any
    status: Any
    transitions: list[Any]
    perp: Any

    def resume(self, last_update_id: int, market: str, symbol: str) -> None:
        """Continue from the previous day's synced end-of-day book."""

    def feed(
        self, progress: ProgressFn | None, on_rows: Callable[[EventRows], None] | None, chunk_rows: int
    ) -> list[FileFindings]:
        """Read every file into rows (handed to ``on_rows`` whenever ``chunk_rows`` or more are held, and at
        the end), and say what each held, in the order given."""
        ...


@runtime_checkable
class VenueArchive(Protocol):
    """A venue's history archive (see the module)."""

    venue: str
    """The venue's name."""
    source: str
    """The source's name (``--source``, the loader's and the reports' name of where a day came from) and
    its folder under the recordings."""
    title: str
    """What a person calls it: ``"Bybit's archive"``."""
    describe_files: str
    """What its files are, for a refusal: ``"an order book zip or a trade file"``."""
    default_feed_latency_ns: int
    """The feed latency assumed when none is configured."""

    def days(self, recordings: Path, market: str, symbol: str) -> dict[dt.date, ArchiveDay]:
        """Every day of ``symbol`` on ``market`` the archive's folder under ``recordings`` holds a book for."""
        ...

    def downloads(
        self, recordings: Path, url: Callable[[str], str], market: str, symbol: str, day: dt.date
    ) -> list[ArchiveDownload]:
        """The files of one day to download into ``recordings``; ``url(kind)`` is the server of each kind
        (``[history] <venue>_<kind>_url``, else the venue's default)."""
        ...

    def claims(self, path: Path, first_line: bytes, zipped: bool) -> bool:
        """Whether a file whose first line is ``first_line`` (``zipped``: a zip that is no ``.npz``) is one
        of this archive's."""
        ...

    def identity(
        self, paths: Sequence[Path], venue: str | None, market: str | None, symbol: str | None
    ) -> tuple[str, str, str]:
        """``(venue, market, symbol)`` of ``paths``, checked against what was asked for (None: not asked);
        raises ``arb.errors.RecordingError`` naming the file when they disagree or cannot be told."""
        ...

    def reader(
        self, paths: Sequence[Path], market: str, symbol: str, feed_latency_ns: int, *, scan: bool = True
    ) -> ArchiveReader:
        """A fresh reader of ``paths`` (each conversion read makes its own)."""
        ...
