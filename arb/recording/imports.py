"""Files arb did not record: which format they are in, what they hold, and their reader.

``arb convert`` and the backtest's loader convert these formats through the one machinery of
:mod:`arb.recording.convert` (chunks, hftbacktest's corrections, the end-of-day book, the findings):

- ``recording``: arb's (and hftbacktest's collector's) ``<19-digit ns> <raw frame>`` gzip lines;
- ``tardis``: Tardis.dev's CSV datasets (:mod:`arb.recording.tardis`): ``incremental_book_L2`` (or
  ``book_snapshot_25`` / ``_5``), ``trades`` and ``derivative_ticker`` files of one exchange and symbol;
- a venue's own archive (``<venue>-archive``, where the venue has one:
  :class:`~connectors.common.archive.VenueArchive`), read by the venue's own reader.

:func:`detect` tells them apart from the files' first bytes (a zip, a header line, a 19-digit prefix),
which is unambiguous for every file these sources publish; a ``--format`` the content contradicts, inputs
of several formats at once, and an ``.npz`` (a zip of numpy arrays: converted rows, not a source) are
refused. :class:`Import` settles venue, market and symbol from
the files (refusing a file of another venue, market or symbol than the one asked for) and makes the
reader the converter drives.
"""

from __future__ import annotations

__all__ = ["Import", "ImportReader", "detect", "formats", "import_of", "npz_given"]

import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from arb.errors import RecordingError
from arb.recording.npz import EodSnapshot
from connectors.common.archive import ArchiveReader, VenueArchive
from connectors.common.lazy import lazy_module
from connectors.common.textfile import first_line
from connectors.registry import venue_archives

if TYPE_CHECKING:
    from arb.recording import tardis
else:
    tardis = lazy_module("arb.recording.tardis")  # compiled readers: loaded for a Tardis dataset only

ImportReader: TypeAlias = "tardis.TardisReader | ArchiveReader"
"""The readers of other formats, which the converter drives as it drives a normalizer, except that each
reads the files itself: ``feed(progress, on_rows, chunk_rows)`` reads every file, its rows going to
``sink`` (handed to ``on_rows`` whenever ``chunk_rows`` or more are held, and at the end, when it is
given), and returns what each file held, in the order given."""

DEFAULT_FEED_LATENCY_NS = 10_000_000
"""The feed latency assumed for an archive without receive times when neither its venue nor the
command gives one, ns."""


def formats() -> tuple[str, ...]:
    """Every format ``arb convert --format`` takes: recordings, Tardis, and each venue's archive."""
    return ("recording", "tardis", *(archive.source for archive in venue_archives()))


def _archive(source: str) -> VenueArchive:
    # The venue archive whose source is ``source``.
    return next(archive for archive in venue_archives() if archive.source == source)


def npz_given(path: Path) -> RecordingError:
    """The refusal of an ``.npz`` given as a file to convert (the backtest's cache beside the recordings,
    which a glob such as ``*0809*`` also matches)."""
    return RecordingError(
        f"{path}: an .npz of converted rows (what arb convert and the backtest's cache write), not a recording: "
        "give the .gz recordings"
    )


def _format_of(path: Path) -> tuple[str, str]:
    # (format, what its first line looks like) from the file's first bytes.
    zipped = zipfile.is_zipfile(path)
    if zipped and _holds_arrays(path):
        raise npz_given(path)
    line = b"" if zipped else first_line(path, 4096)  # a book_snapshot_25 header is 1.7 kB
    shown = "it is a zip archive" if zipped else f"it starts with {line[:60].decode('utf-8', 'replace')!r}"
    if line.startswith(b"exchange,") and any(line == header for header in tardis.HEADERS.values()):
        return "tardis", shown
    if line.startswith(b"exchange,symbol,timestamp,local_timestamp,"):
        raise RecordingError(
            f"{path}: a Tardis dataset arb does not read ({shown}): arb reads incremental_book_L2, "
            "book_snapshot_25, book_snapshot_5, trades and derivative_ticker"
        )
    for archive in venue_archives():
        if archive.claims(path, line, zipped):
            return archive.source, shown
    return "recording", shown


def _holds_arrays(path: Path) -> bool:
    # Whether the zip ``path`` is an .npz: numpy's arrays (``<name>.npy`` members), not Bybit's .data file.
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError):
        return False
    return bool(names) and all(name.endswith(".npy") for name in names)


def detect(paths: Sequence[Path], fmt: str | None = None) -> str:
    """The one format of ``paths`` (``fmt`` when given: then every file must be in it).

    Raises :class:`RecordingError` when the files are of several formats, when one is not in ``fmt``, or
    when one is an ``.npz`` of converted rows (in none of them: :func:`npz_given`). A file that is none of
    the three reads as ``recording`` here; the recording reader then says what is wrong with it.
    """
    found = [(path, *_format_of(path)) for path in paths]
    if fmt is not None and fmt not in formats():
        raise RecordingError(f"--format: expected one of {', '.join(formats())}, got {fmt!r}")
    if fmt is not None:
        for path, kind, line in found:
            if kind != fmt:
                if fmt == "tardis":
                    what = "a Tardis CSV (incremental_book_L2, book_snapshot_25 or _5, trades or derivative_ticker)"
                elif fmt == "recording":
                    what = "a recording (<19-digit ns> <frame> lines)"
                else:
                    what = f"a file of {_archive(fmt).title} ({_archive(fmt).describe_files})"
                raise RecordingError(f"{path}: not {what}: {line} ({kind} data?)")
        return fmt
    kinds = sorted({kind for _, kind, _ in found})
    if len(kinds) > 1:
        listed = "; ".join(f"{path.name} is {kind}" for path, kind, _ in found)
        raise RecordingError(f"the inputs mix formats ({listed}): convert each source on its own")
    return kinds[0]


@dataclass(frozen=True, slots=True)
class Import:
    """A conversion of files in another format than arb's recordings: how to read them."""

    format: str
    """``tardis``, or a venue archive's source (``<venue>-archive``)."""
    feed_latency_ns: int = DEFAULT_FEED_LATENCY_NS
    """A venue's archive: local time = exchange time + this (it has no receive time)."""

    def prepare(
        self,
        paths: Sequence[Path],
        venue: str | None,
        market: str | None,
        symbol: str | None,
        initial: EodSnapshot | None,
    ) -> tuple[str, str, str]:
        """``(venue, market, symbol)`` of the files, checked against what was asked for (and against the
        previous day's snapshot); :class:`RecordingError` naming the file when they disagree."""
        if initial is not None:
            venue = venue or initial.venue
            market = market or initial.market
            symbol = symbol or initial.symbol
        if self.format == "tardis":
            return _tardis_identity(paths, venue, market, symbol)
        return _archive(self.format).identity(paths, venue, market, symbol)

    def reader(self, paths: Sequence[Path], venue: str, market: str, symbol: str, *, scan: bool = True) -> ImportReader:
        """A fresh reader of ``paths`` (each conversion read makes its own)."""
        if self.format == "tardis":
            files = [tardis.inspect(p) for p in paths]
            return tardis.TardisReader(venue, market, symbol, [f for f in files if f is not None])
        return _archive(self.format).reader(paths, market, symbol, self.feed_latency_ns, scan=scan)


def import_of(paths: Sequence[Path], fmt: str | None = None, feed_latency_ns: int | None = None) -> Import | None:
    """The :class:`Import` for ``paths`` (None: arb's own recordings), by :func:`detect`."""
    kind = detect(paths, fmt)
    if kind == "recording":
        return None
    if feed_latency_ns is None:
        return Import(kind)
    if feed_latency_ns < 0:
        raise RecordingError(f"the feed latency must be >= 0 ns, got {feed_latency_ns}")
    return Import(kind, feed_latency_ns)


def _tardis_identity(
    paths: Sequence[Path], venue: str | None, market: str | None, symbol: str | None
) -> tuple[str, str, str]:
    files = []
    for path in paths:
        f = tardis.inspect(path)
        if f is None:  # detect() said it was one
            raise RecordingError(f"{path}: not a Tardis CSV this reader knows")
        files.append(f)
    for f in files:
        if f.exchange and f.exchange not in tardis.exchanges():
            raise RecordingError(
                f"{f.path}: Tardis exchange {f.exchange!r} is not one arb trades "
                f"(expected {', '.join(tardis.exchanges())})"
            )
    told = [f for f in files if f.exchange]
    if not told:
        raise RecordingError(f"{files[0].path}: no rows after the header (an empty Tardis file)")
    first = told[0]
    for f in told[1:]:
        if f.exchange != first.exchange or f.symbol != first.symbol:
            raise RecordingError(
                f"{f.path}: holds {f.exchange} {f.symbol}, but {first.path.name} holds {first.exchange} "
                f"{first.symbol}: convert one exchange and symbol at a time"
            )
    their_venue, their_market = tardis.exchanges()[first.exchange]
    sample = f"its first row is {first.exchange},{first.symbol},..."
    if venue is not None and venue != their_venue:
        raise RecordingError(f"{first.path}: looks like {their_venue} data, not {venue} ({sample})")
    if market is not None and market != their_market:
        raise RecordingError(
            f"{first.path}: looks like {their_venue} {their_market} data, not {market} ({sample}; Tardis's "
            f"{tardis.exchange_of(their_venue, market)!r} is {their_venue} {market})"
        )
    spelling = tardis.names(their_venue)
    theirs = spelling.arb_symbol(first.symbol, their_market)  # the venue's instrument name as arb's symbol
    if symbol is not None and symbol.upper() != theirs:
        raise RecordingError(f"{first.path}: holds {first.symbol} data, not {symbol.upper()} ({sample})")
    try:
        spelling.base_per_amount(theirs, their_market)
    except ValueError as exc:
        raise RecordingError(f"{first.path}: {their_venue} {their_market} {first.symbol}: expected {exc}") from None
    if not any(f.data_type in tardis.BOOK_TYPES for f in files):
        raise RecordingError(
            f"no {tardis.BOOK} (or book_snapshot) file among the inputs ({', '.join(p.name for p in paths)}): "
            "the book needs one"
        )
    return their_venue, their_market, theirs
