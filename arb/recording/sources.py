"""Where each source's files live in the recordings folder, and which source a venue's day is taken from.

The sources, each in its own layout under the recordings folder (``[backtest] recordings``):

- ``recording`` (arb's own recorder, hftbacktest's collector): ``<venue>_<market>/<symbol>_<YYYYMMDD>.gz``;
- ``tardis`` (Tardis.dev's CSV datasets, as ``arb fetch --source tardis`` and Tardis's own client name
  them): ``tardis/<exchange>_<data_type>_<YYYY-MM-DD>_<SYMBOL>.csv.gz``, with Tardis's exchange id (each
  venue's facts give its own per market), data type (``incremental_book_L2`` or ``book_snapshot_25`` /
  ``book_snapshot_5`` for the book, ``trades``, ``derivative_ticker``) and name of the symbol (the venue's,
  :func:`arb.recording.tardis.names`);
- a venue's own archive, where it has one (:class:`~connectors.common.archive.VenueArchive`): in a folder
  of the source's name (``<venue>-archive``), laid out as the venue's URLs are.

A day of a venue, market and symbol exists in a source when the source's book file for it is there
(the recording itself, Tardis's book file, the archive's book file); trades and the derivative ticker
join it when present. Tardis's book file is the day's ``incremental_book_L2`` (every level's every
update), else its ``book_snapshot_25`` (the top 25 levels a side after each change among them), else its
``book_snapshot_5`` (:data:`arb.recording.tardis.BOOK_TYPES`): the full book wins when both are there.
When several sources have a day, it is taken from the first of :func:`source_order`: arb's own recording,
else Tardis, else the venue's archive. So days of one venue may come from different sources, and the
venues of a day too.

Each day converts to a cache beside its book file (``<stem>.npz`` and ``<stem>_eod.npz``).
"""

from __future__ import annotations

__all__ = [
    "TARDIS_DIR",
    "DayFiles",
    "available_days",
    "find_day_files",
    "source_order",
    "tardis_path",
    "tardis_url",
]

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from arb.recording.tardis import BOOK_TYPES, exchanges, names
from connectors.registry import venue as venue_connector
from connectors.registry import venue_archives

TARDIS_DIR = "tardis"

_RECORDING = re.compile(r"^(?P<symbol>[a-z0-9]+)_(?P<day>\d{8})\.gz$")
_TARDIS = re.compile(
    r"^(?P<exchange>[a-z-]+)_(?P<type>incremental_book_L2|book_snapshot_25|book_snapshot_5|trades|derivative_ticker)_"
    r"(?P<day>\d{4}-\d{2}-\d{2})_(?P<symbol>[A-Z0-9-]+)\.csv\.gz$"
)


def source_order() -> tuple[str, ...]:
    """Which source a day is taken from when several have it: the first (arb's recordings, Tardis, then
    each venue's own archive)."""
    return ("recording", "tardis", *(archive.source for archive in venue_archives()))


@dataclass(frozen=True, slots=True)
class DayFiles:
    """One venue's day of one symbol in one source: the files to convert, in order, and the cache."""

    day: dt.date
    source: str
    """One of :func:`source_order`."""
    inputs: tuple[Path, ...]
    """What the converter reads: the book file first, then trades and the ticker when present."""
    cache: Path
    """The converted day (``<stem>.npz``; its parts and end-of-day book beside it)."""

    @property
    def book(self) -> Path:
        """The file whose presence makes the day (the recording, the book CSV, the order book zip)."""
        return self.inputs[0]

    @property
    def eod(self) -> Path:
        """The end-of-day book's file."""
        return self.cache.with_name(self.cache.stem + "_eod.npz")


def tardis_path(recordings: Path, exchange: str, data_type: str, day: dt.date, symbol: str) -> Path:
    """Where ``arb fetch`` puts one Tardis file (Tardis's own client's file name)."""
    return recordings / TARDIS_DIR / f"{exchange}_{data_type}_{day:%Y-%m-%d}_{symbol.upper()}.csv.gz"


def tardis_url(base: str, exchange: str, data_type: str, day: dt.date, symbol: str) -> str:
    """Tardis's download URL of one file: ``{base}/{exchange}/{data_type}/{YYYY}/{MM}/{DD}/{SYMBOL}.csv.gz``."""
    return f"{base.rstrip('/')}/{exchange}/{data_type}/{day:%Y/%m/%d}/{symbol.upper()}.csv.gz"


def available_days(recordings: Path, venue: str, market: str, symbol: str) -> dict[dt.date, list[DayFiles]]:
    """Every day of ``symbol`` on ``venue``'s ``market`` in every source, each day's sources in
    :func:`source_order` order."""
    out: dict[dt.date, list[DayFiles]] = {}
    for found in (_recordings(recordings, venue, market, symbol), _tardis(recordings, venue, market, symbol),
                  _archive(recordings, venue, market, symbol)):  # fmt: skip
        for day, files in found.items():
            out.setdefault(day, []).append(files)
    return out


def find_day_files(recordings: Path, venue: str, market: str, symbol: str) -> dict[dt.date, DayFiles]:
    """Every day of ``symbol`` on ``venue``'s ``market``, each from the first source that has it."""
    return {day: sources[0] for day, sources in available_days(recordings, venue, market, symbol).items()}


def _recordings(recordings: Path, venue: str, market: str, symbol: str) -> dict[dt.date, DayFiles]:
    folder = recordings / f"{venue}_{market}"
    out: dict[dt.date, DayFiles] = {}
    if not folder.is_dir():
        return out
    for path in folder.iterdir():
        m = _RECORDING.match(path.name)
        if m and m["symbol"] == symbol.lower():
            day = dt.datetime.strptime(m["day"], "%Y%m%d").date()
            out[day] = DayFiles(day, "recording", (path,), path.with_name(path.name[: -len(".gz")] + ".npz"))
    return out


def _tardis(recordings: Path, venue: str, market: str, symbol: str) -> dict[dt.date, DayFiles]:
    exchange = next((e for e, pair in exchanges().items() if pair == (venue, market)), None)
    folder = recordings / TARDIS_DIR
    out: dict[dt.date, DayFiles] = {}
    if exchange is None or not folder.is_dir():
        return out
    try:
        name = names(venue).symbol(symbol, market)
    except ValueError:  # a symbol the venue cannot spell: Tardis has no file of it
        return out
    found: dict[dt.date, dict[str, Path]] = {}
    for path in folder.iterdir():
        m = _TARDIS.match(path.name)
        if m and m["exchange"] == exchange and m["symbol"] == name and path.stat().st_size:
            day = dt.date.fromisoformat(m["day"])
            found.setdefault(day, {})[m["type"]] = path
    for day, files in found.items():
        book = next((files[t] for t in BOOK_TYPES if t in files), None)
        if book is None:
            continue
        inputs = [book, *([files["trades"]] if "trades" in files else [])]
        if market == "linear" and "derivative_ticker" in files:
            inputs.append(files["derivative_ticker"])
        cache = folder / f"{exchange}_{day:%Y-%m-%d}_{name}.npz"
        out[day] = DayFiles(day, "tardis", tuple(inputs), cache)
    return out


def _archive(recordings: Path, venue: str, market: str, symbol: str) -> dict[dt.date, DayFiles]:
    archive = venue_connector(venue).archive
    if archive is None:
        return {}
    days = archive.days(recordings, market, symbol)
    return {day: DayFiles(day, archive.source, found.inputs, found.cache) for day, found in days.items()}
