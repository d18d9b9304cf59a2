"""Files arb did not record: which format they are in, what they hold, and their reader.

``arb convert`` and the backtest's loader convert three formats through the one machinery of
:mod:`arb.recording.convert` (chunks, hftbacktest's corrections, the end-of-day book, the findings):

- ``recording``: arb's (and hftbacktest's collector's) ``<19-digit ns> <raw frame>`` gzip lines;
- ``tardis``: Tardis.dev's CSV datasets (:mod:`arb.recording.tardis`): ``incremental_book_L2``,
  ``trades`` and ``derivative_ticker`` files of one exchange and symbol;
- ``bybit-archive``: Bybit's public archive (:mod:`arb.recording.bybit_archive`): order book zips (or
  their unzipped ``.data`` files) and trade files of one market and symbol.

:func:`detect` tells them apart from the files' first bytes (a zip, a header line, a 19-digit prefix),
which is unambiguous for every file these sources publish; a ``--format`` the content contradicts, inputs
of several formats at once, and an ``.npz`` (a zip of numpy arrays: converted rows, not a source) are
refused. :class:`Import` settles venue, market and symbol from
the files (refusing a file of another venue, market or symbol than the one asked for) and makes the
reader the converter drives.
"""

from __future__ import annotations

__all__ = ["FORMATS", "Import", "ImportReader", "detect", "import_of", "npz_given"]

import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from arb.errors import RecordingError
from arb.recording import bybit_archive, tardis
from arb.recording.npz import EodSnapshot
from arb.recording.textfile import first_line

ImportReader = tardis.TardisReader | bybit_archive.BybitArchiveReader
"""The readers of other formats, which the converter drives as it drives a normalizer, except that each
reads the files itself: ``feed(progress, on_rows, chunk_rows)`` reads every file, its rows going to
``sink`` (handed to ``on_rows`` whenever ``chunk_rows`` or more are held, and at the end, when it is
given), and returns what each file held, in the order given."""

FORMATS = ("recording", "tardis", "bybit-archive")
"""Every format ``arb convert --format`` takes."""


def npz_given(path: Path) -> RecordingError:
    """The refusal of an ``.npz`` given as a file to convert (the backtest's cache beside the recordings,
    which a glob such as ``*0809*`` also matches)."""
    return RecordingError(
        f"{path}: an .npz of converted rows (what arb convert and the backtest's cache write), not a recording: "
        "give the .gz recordings"
    )


def _format_of(path: Path) -> tuple[str, str]:
    # (format, what its first line looks like) from the file's first bytes.
    if zipfile.is_zipfile(path):
        if _holds_arrays(path):
            raise npz_given(path)
        return "bybit-archive", "it is a zip archive"
    line = first_line(path, 200)
    shown = f"it starts with {line[:60].decode('utf-8', 'replace')!r}"
    if any(line == header for header in tardis.HEADERS.values()):
        return "tardis", shown
    if line.startswith(b"exchange,symbol,timestamp,local_timestamp,"):
        raise RecordingError(
            f"{path}: a Tardis dataset arb does not read ({shown}): arb reads incremental_book_L2, trades and "
            "derivative_ticker"
        )
    if line.startswith((bybit_archive.LINEAR_TRADES_HEADER, bybit_archive.SPOT_TRADES_HEADER)):
        return "bybit-archive", shown
    if line.startswith(b'{"topic":"orderbook.'):
        return "bybit-archive", shown
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
    if fmt is not None and fmt not in FORMATS:
        raise RecordingError(f"--format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    if fmt is not None:
        for path, kind, line in found:
            if kind != fmt:
                what = {"tardis": "a Tardis CSV (incremental_book_L2, trades or derivative_ticker)",
                        "bybit-archive": "a file of Bybit's archive (an order book zip or a trade file)",
                        "recording": "a recording (<19-digit ns> <frame> lines)"}[fmt]  # fmt: skip
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
    """``tardis`` or ``bybit-archive``."""
    feed_latency_ns: int = bybit_archive.DEFAULT_FEED_LATENCY_NS
    """Bybit's archive: local time = exchange time + this (it has no receive time)."""

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
        return _archive_identity(paths, venue, market, symbol)

    def reader(
        self, paths: Sequence[Path], venue: str, market: str, symbol: str, *, scan: bool = True
    ) -> tardis.TardisReader | bybit_archive.BybitArchiveReader:
        """A fresh reader of ``paths`` (each conversion read makes its own)."""
        if self.format == "tardis":
            files = [tardis.inspect(p) for p in paths]
            return tardis.TardisReader(venue, market, symbol, [f for f in files if f is not None])
        items = [bybit_archive.inspect(p) for p in paths]
        return bybit_archive.BybitArchiveReader(
            market, symbol, [f for f in items if f is not None], self.feed_latency_ns, scan=scan
        )


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
        if f.exchange and f.exchange not in tardis.EXCHANGES:
            raise RecordingError(
                f"{f.path}: Tardis exchange {f.exchange!r} is not one arb trades "
                f"(expected {', '.join(tardis.EXCHANGES)})"
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
    their_venue, their_market = tardis.EXCHANGES[first.exchange]
    sample = f"its first row is {first.exchange},{first.symbol},..."
    if venue is not None and venue != their_venue:
        raise RecordingError(f"{first.path}: looks like {their_venue} data, not {venue} ({sample})")
    if market is not None and market != their_market:
        raise RecordingError(
            f"{first.path}: looks like {their_venue} {their_market} data, not {market} ({sample}; Tardis's "
            f"{tardis.exchange_of(their_venue, market)!r} is {their_venue} {market})"
        )
    if symbol is not None and symbol.upper() != first.symbol:
        raise RecordingError(f"{first.path}: holds {first.symbol} data, not {symbol.upper()} ({sample})")
    if not any(f.data_type == tardis.BOOK for f in files):
        raise RecordingError(
            f"no {tardis.BOOK} file among the inputs ({', '.join(p.name for p in paths)}): the book needs one"
        )
    return their_venue, their_market, first.symbol


def _archive_identity(
    paths: Sequence[Path], venue: str | None, market: str | None, symbol: str | None
) -> tuple[str, str, str]:
    if venue is not None and venue != "bybit":
        raise RecordingError(f"{paths[0]}: Bybit's archive holds Bybit data, not {venue}")
    items = []
    for path in paths:
        f = bybit_archive.inspect(path)
        if f is None:
            raise RecordingError(
                f"{path}: not a file of Bybit's archive (an order book zip starting with a "
                '{"topic":"orderbook.N.SYMBOL",...} line, or a trade file with its header)'
            )
        items.append(f)
    symbols = {f.symbol for f in items if f.symbol}
    if len(symbols) > 1:
        raise RecordingError(f"the inputs hold several symbols ({', '.join(sorted(symbols))}): convert one at a time")
    found_symbol = symbols.pop() if symbols else None
    if symbol is not None and found_symbol is not None and symbol.upper() != found_symbol:
        where = next(f.path for f in items if f.symbol == found_symbol)
        raise RecordingError(f"{where}: holds {found_symbol} data, not {symbol.upper()}")
    symbol = (symbol or found_symbol or "").upper()
    if not symbol:
        raise RecordingError(f"{paths[0]}: cannot tell the symbol; pass --symbol")
    told: dict[str, Path] = {}  # what trade files' headers say; else what the paths say (Bybit's layout)
    for f in items:
        if f.market is not None:
            told.setdefault(f.market, f.path)
    if not told and market is None:
        for f in items:
            said = _market_in_path(f.path)
            if said is not None:
                told.setdefault(said, f.path)
    if market is not None:
        other = next(((m, p) for m, p in told.items() if m != market), None)
        if other is not None:
            raise RecordingError(f"{other[1]}: looks like Bybit {other[0]} data, not {market}")
    elif len(told) > 1:
        raise RecordingError(f"the inputs mix Bybit markets ({', '.join(f'{p.name}: {m}' for m, p in told.items())})")
    elif told:
        market = next(iter(told))
    else:
        raise RecordingError(
            f"{paths[0]}: cannot tell Bybit's market (an order book file does not say spot or linear); "
            "pass --market spot|linear"
        )
    if not any(f.kind == bybit_archive.BOOK for f in items):
        raise RecordingError(
            f"no order book file among the inputs ({', '.join(p.name for p in paths)}): the book needs one"
        )
    return "bybit", market, symbol


def _market_in_path(path: Path) -> str | None:
    # Bybit's own URL layout (orderbook/linear/..., trading/... for linear trades, spot/... for spot).
    parts = [p.lower() for p in path.parts[:-1]]
    if "linear" in parts or "trading" in parts:
        return "linear"
    if "spot" in parts:
        return "spot"
    name = path.name.lower()
    if "linear" in name:
        return "linear"
    if "spot" in name:
        return "spot"
    return None
