"""Choose the days to run, convert them on demand (cached next to them), and line the run's venues up in time.

Recordings live in ``<recordings>/<venue>_<market>/<symbol lower>_<YYYYMMDD>.gz`` (see
recordings/README.md); days fetched from Tardis.dev or Bybit's archive (``arb fetch``) in their own
folders beside them (:mod:`arb.recording.sources`). A venue's day is taken from arb's own recording when
there is one, else from Tardis, else from Bybit's archive, so the days of one venue, and the venues of
one day, may come from different sources. :func:`plan_days` alone decides which days a run covers, from what the user
typed and what each venue recorded: exactly the days asked for, each recorded for every venue, with
no day missing in between; anything else is a :class:`RecordingError` that names the venue and the
day, lists what is there and names the ``arb fetch`` command, as typed, that fetches what is missing
(:mod:`arb.recording.fetch_hints`).

A day's conversion is cached beside its recording as ``<name>.npz`` (rows, plus the conversion's
findings: its warnings, the damage it skipped) and ``<name>_eod.npz`` (the book at the end of the
day); the cache is rebuilt when the recording, the previous day's cache, the chunk size or the
converter changes. A day of more than :data:`CHUNK_ROWS` rows is converted a chunk at a time
(:func:`~arb.recording.convert.convert_to_parts`) into parts: ``<name>.npz`` holds the first and
``<name>.p001.npz``, ... the others. A cache hit says the same warnings and raises the same errors as
the conversion that wrote it. Days of one venue are converted in order, each starting from the
previous day's end-of-day book, so the book and its sync state carry across midnight.

A session whose days are all one part each is held in memory, as hftbacktest arrays. A session with a
day of several parts is read from files: the rows, with the session's local shift applied, are written
part by part as ``.npy`` files into a temporary folder that hftbacktest reads one file at a time (it
loads a file when its clock reaches it and drops it when done); memory stays near a few parts.

Both venues were recorded by one machine's clock, so they get one common shift of local time: the
smallest that makes every local time at least its exchange time (the shared captures' clock ran
1.27 s behind the venues), keeping the two venues' relative timing exactly as recorded. Each source has
its own clock (this machine's recorder, Tardis's collectors, an assumed latency on Bybit's exchange
time), so the shift is worked out per source over every day taken from it
(:attr:`Timeline.source_shifts`); days of one source keep their relative timing exactly.

With several symbols (``[strategy] symbols``) every symbol's two venues are loaded the same way and
share that one shift; a session's assets are in hftbacktest's order, asset ``2 * s + v`` for symbol
``s`` on venue ``v``.
"""

from __future__ import annotations

__all__ = [
    "CHUNK_ROWS",
    "DayData",
    "Timeline",
    "VenueData",
    "find_day_files",
    "find_days",
    "load_timeline",
    "plan_days",
]

import datetime as dt
import functools
import logging
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from arb import __version__
from arb.config import AppConfig, VenueConfig
from arb.errors import RecordingError
from arb.events import (
    DEPTH_CLEAR_EVENT,
    DEPTH_EVENT,
    DEPTH_SNAPSHOT_EVENT,
    EVENT_KIND_MASK,
    EXCH_EVENT,
    LOCAL_EVENT,
    SYNC_LOST_EVENT,
    SYNC_RESTORED_EVENT,
    EventArray,
    event_dtype,
)
from arb.recording.convert import DEFAULT_CHUNK_ROWS, PartsResult, convert_to_parts
from arb.recording.fetch_hints import fetch_command
from arb.recording.npz import EodSnapshot, load_eod, part_paths, read_member, save_eod
from arb.recording.sources import DayFiles, find_day_files, source_order
from arb.recording.venues import merge_pays, plain_pays, scan_pays
from connectors.common.findings import Findings, UnsyncedBookError

log = logging.getLogger(__name__)

_CACHE_VERSION = f"arb-{__version__}-convert-6"  # 6: whether the book ever synced, file times, the source's format

CHUNK_ROWS = DEFAULT_CHUNK_ROWS
"""Rows a day is converted and cached in at a time; a day with more is cached in several parts."""


@dataclass(frozen=True, slots=True)
class DayData:
    """One venue's converted day."""

    day: dt.date
    recording: Path
    parts: tuple[Path, ...]
    """The cached part files, in order (one for a day of at most :data:`CHUNK_ROWS` rows)."""
    part_rows: tuple[int, ...]
    eod: EodSnapshot
    findings: Findings
    """What the conversion found (the damage and cuts a replay of the recording must skip too)."""
    min_latency_ns: int = 0
    """Smallest ``local_ts - exch_ts`` of the rows (0 without rows)."""
    first_local_ts: int = 0
    last_local_ts: int = 0
    first_exch_ts: int = 0
    last_exch_ts: int = 0
    loaded: EventArray | None = None
    """The rows, held in memory when the day is one part."""
    source: str = "recording"
    """Where the day came from: ``recording``, ``tardis`` or a venue's archive (``<venue>-archive``;
    :mod:`arb.recording.sources`)."""

    @property
    def rows(self) -> EventArray:
        """Converted rows, local times *not yet* shifted (see :class:`VenueData`). A day of several parts
        is read from its files and put together on each call: the whole day in memory."""
        if self.loaded is not None:
            return self.loaded
        return np.concatenate(list(self.iter_parts())) if self.parts else np.zeros(0, event_dtype)

    @property
    def row_count(self) -> int:
        """Rows in all parts."""
        return sum(self.part_rows)

    def iter_parts(self) -> Iterator[EventArray]:
        """The rows part by part (one part in memory at a time)."""
        if self.loaded is not None:
            yield self.loaded
            return
        for path, n in zip(self.parts, self.part_rows, strict=True):
            rows = _read_part(path)
            if len(rows) != n:
                raise RecordingError(f"{path}: holds {len(rows):,} rows, its index says {n:,} (convert again)")
            yield rows


def _read_part(path: Path) -> EventArray:
    try:
        with np.load(path, allow_pickle=False) as z:
            return read_member(z, "data").view(event_dtype)  # np.load drops the aligned flag
    except (KeyError, ValueError, OSError) as exc:
        raise RecordingError(f"{path}: cannot read this converted part ({exc}); delete it to convert again") from exc


@dataclass(slots=True)
class VenueData:
    """One venue's days of one symbol, ready for hftbacktest."""

    venue: VenueConfig
    """The venue as the symbol sees it (``config.for_symbol(s).venues[v]``: its trading rules)."""
    days: list[DayData]
    initial: EodSnapshot | None
    """The book before the first day (the previous day's end), when that day was recorded too."""
    min_latency_ns: int = 0
    """Smallest ``local_ts - exch_ts`` over all rows before any shift."""
    symbol: str = ""
    """The symbol these days are of."""


def venue_dir(recordings: Path, venue: VenueConfig) -> Path:
    """``<recordings>/<venue>_<market>``."""
    return recordings / f"{venue.name}_{venue.market}"


def find_days(recordings: Path, venue: VenueConfig, symbol: str) -> dict[dt.date, Path]:
    """Every day of ``symbol`` for ``venue`` in any source, by UTC date: the book file of the source the
    day is taken from (:func:`find_day_files` has every input of it)."""
    return {day: files.book for day, files in find_day_files(recordings, venue.name, venue.market, symbol).items()}


def plan_days(config: AppConfig, start: dt.date | None, end: dt.date | None) -> list[dt.date]:
    """The days a run covers: every day from ``start`` to ``end``, each recorded for every venue of the
    run (of every symbol traded).

    ``start``/``end`` are what the user typed (``--start``/``--end``), None where they typed nothing,
    and messages say when a day was a default. With neither, the run goes from the first to the last
    day recorded for every venue. With one typed, the other end is the farthest day the run reaches
    from it without a missing day (the book cannot be carried across one): ``--start`` alone runs up
    to the day before the first one a venue lacks, so a day fetched far from the recordings runs on
    its own. A typed day that a venue did not record, an ``end`` before ``start``, and a day
    between them that a venue lacks are a :class:`RecordingError` that names
    the venue and the day, lists the days recorded and names the ``arb fetch`` that fetches the
    missing ones. No typed day is ever added, dropped or moved.
    """
    recordings = config.backtest.recordings
    pairs = [(venue, symbol) for symbol in config.symbol_names for venue in config.venues]
    venues = [venue for venue, _ in pairs]
    recorded = [find_days(recordings, venue, symbol) for venue, symbol in pairs]
    for (venue, symbol), days in zip(pairs, recorded, strict=True):
        if not days:
            typed = start if start is not None else end
            if typed is not None:
                fetch = f"fetch them: {fetch_command(config, typed, end)}"
            else:  # a first of the month: Tardis serves it without a key
                month = dt.datetime.now(dt.UTC).date().replace(day=1) - dt.timedelta(days=1)
                fetch = f"fetch a day, e.g.: {fetch_command(config, month.replace(day=1))}"
            raise RecordingError(
                f"no {venue.name} {venue.market} recordings of {symbol} in "
                f"{venue_dir(recordings, venue)} (expected files like {symbol.lower()}_YYYYMMDD.gz), nor days "
                f"fetched from Tardis or a venue's archive in {recordings}; {fetch} (docs/data.md)"
            )
    names = [f"{v.name} {v.market} {symbol}" for v, symbol in pairs]
    one_symbol = len(config.symbol_names) == 1
    short = [v.name if one_symbol else f"{v.name} {symbol}" for v, symbol in pairs]

    def lacking(day: dt.date) -> list[int]:
        return [i for i, days in enumerate(recorded) if day not in days]

    def listing(which: list[int]) -> str:
        return "; ".join(f"{names[i]} has {_day_list(recorded[i])}" for i in which)

    for flag, day in (("--start", start), ("--end", end)):
        if day is None:
            continue
        missing = lacking(day)
        if missing:
            nor = " nor for ".join(f"{names[i]} (recorded: {_day_list(recorded[i])})" for i in missing)
            has = [names[i] for i in range(len(venues)) if i not in missing]
            also = f"; {' and '.join(has)} {'has' if len(has) == 1 else 'have'} it" if has else ""
            hint = fetch_command(config, day, None, [venues[i].name for i in missing])
            raise RecordingError(f"{flag} {day:%Y-%m-%d}: no recording of that day for {nor}{also}; fetch it: {hint}")
    if start is not None and end is not None and end < start:
        raise RecordingError(f"--end {end:%Y-%m-%d} is before --start {start:%Y-%m-%d}")
    both = sorted(set.intersection(*(set(days) for days in recorded)))
    lo = start if start is not None else next((d for d in both if end is None or d <= end), None)
    hi = end if end is not None else next((d for d in reversed(both) if start is None or d >= start), None)
    one_day = dt.timedelta(days=1)
    if start is not None and end is None:  # as far as the book carries from --start
        hi = start
        while hi + one_day in both:
            hi += one_day
    elif end is not None and start is None:
        lo = end
        while lo - one_day in both:
            lo -= one_day
    if lo is None or hi is None:
        every = "every venue" if one_symbol else "every venue of every symbol"
        raise RecordingError(f"no day is recorded for {every} ({listing(list(range(len(venues))))})")
    run = [lo + dt.timedelta(days=i) for i in range((hi - lo).days + 1)]
    outside = [
        f"{names[i]} also has {_day_list([d for d in days if (start is None and d < lo) or (end is None and d > hi)])}"
        for i, days in enumerate(recorded)
        if any((start is None and d < lo) or (end is None and d > hi) for d in days)
    ]
    if outside:
        log.warning(
            "running %s: the days recorded for every venue; %s, not run",
            _range_text(lo, hi, start, end),
            "; ".join(outside),
        )
    gaps = [(d, lacking(d)) for d in run if lacking(d)]
    if gaps:
        shown = ", ".join(
            f"{d:%Y-%m-%d} (missing for {' and '.join(short[i] for i in which)})" for d, which in gaps[:5]
        )
        more = f" and {len(gaps) - 5} more" if len(gaps) > 5 else ""
        hint = fetch_command(config, gaps[0][0], gaps[-1][0], [venues[i].name for _, which in gaps for i in which])
        raise RecordingError(
            f"{_range_text(lo, hi, start, end)} has a gap: {shown}{more}; the book cannot be carried across "
            f"a missing day, so run the days on each side of it separately with --start/--end "
            f"({listing(list(range(len(venues))))}), or fetch the missing days: {hint}"
        )
    return run


def _range_text(lo: dt.date, hi: dt.date, start: dt.date | None, end: dt.date | None) -> str:
    # "--start 2024-08-08 .. --end 2024-08-10 (default: the last day recorded for every venue of the run)"
    first = f"--start {lo:%Y-%m-%d}" + (
        "" if start is not None else " (default: the first day recorded for every venue of the run)" if end is None
        else " (default: the first day of the unbroken run of days recorded for every venue of the run up to --end)"
    )  # fmt: skip
    last = f"--end {hi:%Y-%m-%d}" + (
        "" if end is not None else " (default: the last day recorded for every venue of the run)" if start is None
        else " (default: the last day of the unbroken run of days recorded for every venue of the run from --start)"
    )  # fmt: skip
    return f"{first} .. {last}"


def _day_list(days: dict[dt.date, Path] | list[dt.date]) -> str:
    # "2024-08-08, 2024-08-09" or, for long runs of days, "2024-01-01..2024-03-31, 2024-04-02".
    ordered = sorted(days)
    runs: list[list[dt.date]] = []
    for day in ordered:
        if runs and day - runs[-1][-1] == dt.timedelta(days=1):
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = [
        ", ".join(f"{d:%Y-%m-%d}" for d in run) if len(run) <= 2 else f"{run[0]:%Y-%m-%d}..{run[-1]:%Y-%m-%d}"
        for run in runs
    ]
    if len(parts) > 6:
        parts = [*parts[:3], f"... ({len(ordered)} days in all)", *parts[-2:]]
    return ", ".join(parts)


def _source_key(files: DayFiles, previous: Path | None, chunk_rows: int, latency_ns: int) -> str:
    key = f"{_CACHE_VERSION}|chunk {chunk_rows}|{files.source}"
    if files.source not in ("recording", "tardis"):  # a venue's archive: its local times are assumed
        key += f"|latency {latency_ns}"
    for path in files.inputs:
        stat = path.stat()
        key += f"|{path.name}|{stat.st_size}|{stat.st_mtime_ns}"
    if previous is not None and previous.exists():
        prev = previous.stat()
        key += f"|{previous.name}|{prev.st_size}|{prev.st_mtime_ns}"
    return key


@dataclass(frozen=True, slots=True)
class _Cached:
    # What a day's cache holds (its index, in <name>.npz).
    parts: tuple[Path, ...]
    part_rows: tuple[int, ...]
    eod: EodSnapshot
    findings: Findings
    figures: dict[str, int]
    rows: EventArray | None


_FIGURES = ("min_latency_ns", "first_local_ts", "last_local_ts", "first_exch_ts", "last_exch_ts")


def _index(key: str, result: PartsResult) -> dict[str, Any]:
    # The arrays saved beside part 0's rows: the source key, findings, the parts and their figures.
    out: dict[str, Any] = {
        "source": np.array(key),
        "findings": np.array(result.findings.to_json()),
        "part_rows": np.array(result.part_rows, np.int64),
    }
    for name in _FIGURES:
        out[name] = np.array(getattr(result, name), np.int64)
    return out


def _load_cached(npz: Path, eod_path: Path, key: str) -> _Cached | None:
    if not (npz.exists() and eod_path.exists()):
        return None
    try:
        with np.load(npz, allow_pickle=False) as z:
            if str(z["source"]) != key:
                return None
            part_rows = tuple(int(n) for n in z["part_rows"])
            parts = tuple(part_paths(npz, len(part_rows)))
            if not all(p.is_file() for p in parts):
                return None
            figures = {name: int(z[name]) for name in _FIGURES}
            rows = read_member(z, "data").view(event_dtype) if len(parts) == 1 else None
            findings = Findings.from_json(str(z["findings"]))
        return _Cached(parts, part_rows, load_eod(eod_path), findings, figures, rows)
    except (KeyError, ValueError, TypeError, OSError, RecordingError):
        return None


def _convert_day(
    venue: VenueConfig,
    symbol: str,
    files: DayFiles,
    initial: EodSnapshot | None,
    previous_eod: Path | None,
    allow_damaged: bool,
    fast: tuple[bool, bool],
    latency_ns: int,
    allow_unsynced: bool = False,
    before_compiling: Callable[[], None] | None = None,
) -> _Cached:
    # Convert one day (or take it from the cache), then say what its conversion found: a cache hit
    # raises the same error and logs the same warnings as the conversion that wrote it. ``fast``:
    # convert_to_parts's scan and merge (its compiled fast paths; the same conversion either way).
    # ``latency_ns``: the feed latency assumed for Bybit's archive. ``allow_unsynced``: a book that never
    # syncs is no error (a day read only for its end). A day small enough converts without Numba
    # (plain_pays: the same rows, nothing to compile); ``before_compiling`` is called before one that
    # converts compiled.
    npz, eod_path = files.cache, files.eod
    chunk_rows = CHUNK_ROWS
    key = _source_key(files, previous_eod, chunk_rows, latency_ns)
    cached = _load_cached(npz, eod_path, key)
    if cached is not None:
        cached.findings.check(allow_damaged, allow_unsynced)
    else:
        log.info("converting %s", ", ".join(str(p) for p in files.inputs))
        plain = files.source == "recording" and plain_pays(sum(path.stat().st_size for path in files.inputs))
        if not plain and before_compiling is not None:
            before_compiling()
        result = convert_to_parts(
            list(files.inputs),
            npz,
            chunk_rows=chunk_rows,
            venue=venue.name,
            market=venue.market,
            symbol=symbol,
            initial=initial,
            local_offset_ns=0,  # one shift for every venue is applied later
            allow_damaged=allow_damaged,
            index=lambda r: _index(key, r),
            scan=fast[0],
            merge=fast[1],
            allow_unsynced=allow_unsynced,
            fmt=files.source,
            feed_latency_ns=latency_ns,
            plain=plain,
        )
        save_eod(eod_path, result.eod)
        figures = {name: int(getattr(result, name)) for name in _FIGURES}
        cached = _Cached(
            tuple(result.parts), tuple(result.part_rows), result.eod, result.findings, figures, result.single
        )
    for warning in cached.findings.warnings():
        log.warning(warning)
    return cached


def load_venue(
    config: AppConfig,
    venue: VenueConfig,
    days: list[dt.date],
    progress: Callable[[str], None] | None = None,
    *,
    allow_damaged: bool = False,
    symbol: str | None = None,
    before_compiling: Callable[[], None] | None = None,
) -> VenueData:
    """Convert (or load from cache) ``days`` of one venue and symbol (default: the first symbol),
    carrying the book from day to day.

    When the day before the first one is recorded too, it is converted first so that the first day
    starts from its end-of-day book (a day file has no snapshot of its own when the session began
    the day before). ``allow_damaged`` keeps what can be read of a damaged recording.

    A day whose book never syncs (no snapshot in its file, and no synced book from the day before) is
    a :class:`RecordingError` saying which day and what to do; the day before the first is only read
    for its end, so its own book may never sync.

    Each day is taken from the first source that has it (:mod:`arb.recording.sources`). A day whose
    previous day came from another source continues from its end-of-day book all the same: a Tardis or
    archive day replaces it with its own first snapshot (updates before that snapshot mark the book out of
    sync), and a recording's normalizer finds that the update ids do not chain (a Tardis book has none) and
    marks it out of sync until a snapshot, as after any gap.
    """
    symbol = symbol or config.strategy.symbol
    recordings = find_day_files(config.backtest.recordings, venue.name, venue.market, symbol)
    before = days[0] - dt.timedelta(days=1)
    chain = ([before] if before in recordings else []) + days
    # Compile the converter's fast paths only if they are ready or these days are big enough to pay
    # for it: a first backtest on small days converts them without, instead of compiling first.
    size = sum(path.stat().st_size for day in chain for path in recordings[day].inputs)
    fast = (scan_pays(venue.name, size), merge_pays(size))
    latency_ns = config.history.archive_feed_latency_ns
    initial: EodSnapshot | None = None
    previous_eod: Path | None = None
    first_initial: EodSnapshot | None = None
    out: list[DayData] = []
    for day in chain:
        files = recordings[day]
        if progress is not None:
            shown = f" {symbol}" if len(config.symbols) > 1 else ""
            source = "" if files.source == "recording" else f" ({files.source})"
            progress(f"{venue.name}{shown} {day:%Y-%m-%d}{source}")
        try:
            got = _convert_day(
                venue,
                symbol,
                files,
                initial,
                previous_eod,
                allow_damaged,
                fast,
                latency_ns,
                allow_unsynced=day == before,
                before_compiling=before_compiling,
            )
        except UnsyncedBookError as exc:
            folder = venue_dir(config.backtest.recordings, venue)
            raise RecordingError(_unsynced_day(exc, day, recordings, folder)) from None
        except RecordingError as exc:
            if day != before:
                raise
            raise RecordingError(
                f"{exc} (read only for the {venue.name} book at the start of {days[0]:%Y-%m-%d})"
            ) from exc
        eod = got.eod
        if day == before:
            first_initial = eod if eod.synced else None
        else:
            figures = got.figures
            found = DayData(day, files.book, got.parts, got.part_rows, eod, got.findings, **figures, loaded=got.rows,
                            source=files.source)  # fmt: skip
            out.append(found)
        initial = eod
        previous_eod = files.eod
    lat = [d.min_latency_ns for d in out if d.row_count]
    return VenueData(venue, out, first_initial, min(lat) if lat else 0, symbol)


def _unsynced_day(exc: UnsyncedBookError, day: dt.date, recorded: Mapping[dt.date, object], folder: Path) -> str:
    # A run's day whose book never synced, and what the user can do about it.
    previous = day - dt.timedelta(days=1)
    if previous not in recorded:
        advice = (
            f"the day before, {previous:%Y-%m-%d}, is not recorded in {folder}: a recording that began that day has "
            "its snapshot in that day's file; put it there, or start on a day whose recording begins with a "
            "snapshot (--start)"
        )
    else:
        advice = (
            f"{previous:%Y-%m-%d} ended with the book out of sync and {day:%Y-%m-%d} brought no snapshot: end the "
            f"run before it (--end {previous:%Y-%m-%d}), or start on a later day whose recording begins with a "
            "snapshot (--start)"
        )
    return f"{day:%Y-%m-%d}: {exc.fact}; {advice}"


Feed = list[EventArray] | list[str]
"""One asset's data for hftbacktest's ``BacktestAsset.data``: arrays, or ``.npy`` file paths."""


class Timeline:
    """Every symbol's two venues on one timeline.

    :attr:`assets` are the (symbol, venue) data in hftbacktest's asset order, ``2 * s + v``;
    :attr:`arrays` is what hftbacktest reads: per asset, per day, the rows with the common local shift
    applied. When every day is one part they are arrays in memory; otherwise they are ``.npy`` files
    written on first use into a temporary folder that lives as long as the session (or until
    :meth:`close`): keep the session alive until the backtest is closed.
    """

    __slots__ = ("_arrays", "_constant", "_temp", "assets", "end_ns", "local_shift_ns", "source_shifts", "start_ns",
                 "symbols")  # fmt: skip

    def __init__(
        self,
        assets: tuple[VenueData, ...],
        local_shift_ns: int,
        start_ns: int,
        end_ns: int,
        arrays: tuple[list[EventArray], ...] | None = None,
        *,
        constant_feed_latency: bool = False,
        source_shifts: dict[str, int] | None = None,
    ) -> None:
        self.assets = assets
        self.symbols = tuple(data.symbol for data in assets[::2])
        self._constant = constant_feed_latency
        self.local_shift_ns = local_shift_ns
        """The shift of the local clock of arb's own recordings (the recorder's), ns."""
        self.source_shifts = source_shifts if source_shifts is not None else {"recording": local_shift_ns}
        """Each source's shift of its local clock, ns (``recording`` is :attr:`local_shift_ns`)."""
        self.start_ns = start_ns
        self.end_ns = end_ns
        self._arrays: tuple[Feed, ...] | None = arrays
        self._temp: tempfile.TemporaryDirectory[str] | None = None

    @property
    def in_memory(self) -> bool:
        """True when every day is one part: :attr:`arrays` are arrays, not files."""
        return all(len(d.parts) <= 1 for v in self.assets for d in v.days)

    @property
    def arrays(self) -> tuple[Feed, ...]:
        """Per asset, per day (per part, from files): the rows with the common local shift applied (and
        the constant feed latency, when configured). Keep them, and the session, alive while
        hftbacktest runs."""
        if self._arrays is None and self.in_memory:  # made at the first read: a dry run never reads them
            self._arrays = tuple(
                [_feed_rows(d.rows, v.venue, self.shift_of(d), self._constant) for d in v.days] for v in self.assets
            )
        elif self._arrays is None:
            self._temp = tempfile.TemporaryDirectory(prefix="arb-session-")
            folder = Path(self._temp.name)
            self._arrays = tuple(self._write(folder, a) for a in range(len(self.assets)))
        return self._arrays

    def shift_of(self, day: DayData) -> int:
        """The shift of ``day``'s local clock (its source's), ns."""
        return self.source_shifts.get(day.source, 0)

    def rows(self, a: int) -> int:
        """Rows hftbacktest gets for asset ``a``."""
        feed = self.arrays[a]
        return sum(len(x) if isinstance(x, np.ndarray) else _npy_rows(Path(x)) for x in feed)

    def parts(self, a: int) -> Iterator[EventArray]:
        """Asset ``a``'s rows as hftbacktest gets them, one array (a day, or a part) at a time."""
        return _each(self.arrays[a])

    def close(self) -> None:
        """Remove the temporary files (after hftbacktest is closed)."""
        if self._temp is not None:
            self._temp.cleanup()
            self._temp = None
            self._arrays = None

    def _write(self, folder: Path, a: int) -> list[str]:
        # Each part of each day, shifted as :func:`_feed_rows` says, as an .npy file of its own.
        data = self.assets[a]
        out: list[str] = []
        for day in data.days:
            for i, rows in enumerate(day.iter_parts()):
                shifted = _feed_rows(rows, data.venue, self.shift_of(day), self._constant)
                if not len(shifted):
                    continue
                path = folder / f"{data.venue.name}_{data.symbol.lower()}_{day.day:%Y%m%d}_{i:04d}.npy"
                np.save(path, shifted, allow_pickle=False)
                out.append(str(path))
        return out


def _npy_rows(path: Path) -> int:
    return int(np.load(path, mmap_mode="r", allow_pickle=False).shape[0])


def _load_npy(path: Path) -> EventArray:
    return np.ascontiguousarray(np.load(path, allow_pickle=False)).view(event_dtype)


def _feed_rows(rows: EventArray, venue: VenueConfig, shift_ns: int, constant: bool) -> EventArray:
    # One day's (or part's) rows as hftbacktest gets them: local times shifted by the session's shift
    # and the venue's feed latency, or rebuilt for a constant feed latency.
    feed_ns = venue.latency.feed_ns
    rows = np.ascontiguousarray(rows)
    out = rows.view(np.uint8).copy().view(rows.dtype)  # as bytes: a record array's copy goes field by field
    out["local_ts"] += shift_ns + feed_ns
    return _constant_feed_latency(out, feed_ns) if constant else out


def _feed_span(rows: EventArray, venue: VenueConfig, shift_ns: int, constant: bool) -> tuple[int, int] | None:
    # The first and the last local time of _feed_rows(rows, ...), without making them; None when it has no row.
    if constant:  # every exchange-side row once, at its exchange time plus the feed latency
        exch = rows["exch_ts"][(rows["ev"] & EXCH_EVENT) != 0]
        late = max(venue.latency.feed_ns, 1)
        return (int(exch.min()) + late, int(exch.max()) + late) if len(exch) else None
    local = rows["local_ts"]
    moved = shift_ns + venue.latency.feed_ns
    return (int(local.min()) + moved, int(local.max()) + moved) if len(local) else None


def load_timeline(
    config: AppConfig,
    days: list[dt.date],
    progress: Callable[[str], None] | None = None,
    *,
    allow_damaged: bool = False,
    before_compiling: Callable[[], None] | None = None,
) -> Timeline:
    """Convert/load every symbol's two venues' days and put them on one local timeline.

    ``allow_damaged`` keeps what can be read of a damaged recording (see :func:`convert_files`);
    without it a damaged day is a :class:`RecordingError`. A day converts without Numba when it is small
    (:func:`arb.recording.venues.plain_pays`); ``before_compiling`` is called before each day that
    converts compiled (a first backtest waits there for a core, :meth:`arb.backtest.run.Warming.make_room`).
    """
    assets: list[VenueData] = []
    for s, symbol in enumerate(config.symbol_names):
        own = config.for_symbol(s)
        for venue in own.venues:
            assets.append(load_venue(own, venue, days, progress, allow_damaged=allow_damaged, symbol=symbol,
                                     before_compiling=before_compiling))  # fmt: skip
    # One shift for every venue and symbol of a source: they share its clock (the recorder's, Tardis's).
    shifts = _source_shifts(assets)
    shift = shifts["recording"]
    for source, by in shifts.items():
        if by:
            clock = "recorder" if source == "recording" else source
            log.info("local clock of the %s days shifted by %+.3f ms (%s behind the venues)", source, by / 1e6, clock)
    constant = config.backtest.feed_latency == "constant"
    if all(len(d.parts) <= 1 for v in assets for d in v.days):
        # Days in memory: the shifted rows are made when hftbacktest needs them (Timeline.arrays), their span now
        firsts = [_feed_span(v.days[0].rows, v.venue, shifts[v.days[0].source], constant) for v in assets if v.days]
        lasts = [_feed_span(v.days[-1].rows, v.venue, shifts[v.days[-1].source], constant) for v in assets if v.days]
        starts = [span[0] for span in firsts if span is not None]
        ends = [span[1] for span in lasts if span is not None]
        return Timeline(tuple(assets), shift, min(starts), max(ends), constant_feed_latency=constant,
                        source_shifts=shifts)  # fmt: skip
    # Days in parts: the shifted rows are written to files only when hftbacktest needs them.
    # (Each asset's first day's earliest and last day's latest local time, as the arrays would say.)
    starts, ends = [], []
    for v in assets:
        if not v.days:
            continue
        first, last = v.days[0], v.days[-1]
        if constant:
            late = max(v.venue.latency.feed_ns, 1)
            begin, finish = first.first_exch_ts + late, last.last_exch_ts + late
        else:
            late = v.venue.latency.feed_ns
            begin = first.first_local_ts + shifts[first.source] + late
            finish = last.last_local_ts + shifts[last.source] + late
        if first.row_count:
            starts.append(begin)
        if last.row_count:
            ends.append(finish)
    return Timeline(tuple(assets), shift, min(starts), max(ends), constant_feed_latency=constant, source_shifts=shifts)


def _source_shifts(assets: list[VenueData]) -> dict[str, int]:
    # Per source, the smallest shift that makes every local time of its days at least the exchange time.
    out = {}
    for source in source_order():
        lat = [d.min_latency_ns for v in assets for d in v.days if d.source == source and d.row_count]
        out[source] = max(0, -min(lat)) if lat else 0
    return out


def _constant_feed_latency(rows: EventArray, feed_ns: int) -> EventArray:
    # Every event reaches us feed_ns after the venue stamped it: rebuild the event order from the
    # exchange-side rows (each original event appears exactly once with the EXCH flag). arb's own
    # correct_event_order, cached: hftbacktest's compiled again in every process (about 2.5 s of CPU).
    from arb.recording.corrections import correct_event_order

    base = rows[(rows["ev"] & EXCH_EVENT) != 0].copy()
    base["ev"] &= ~np.uint64(EXCH_EVENT | LOCAL_EVENT)
    base["local_ts"] = base["exch_ts"] + max(feed_ns, 1)
    ordered = correct_event_order(
        base, np.argsort(base["exch_ts"], kind="mergesort"), np.argsort(base["local_ts"], kind="mergesort")
    )
    return np.ascontiguousarray(ordered)


_BOOK_KINDS = (DEPTH_EVENT, DEPTH_SNAPSHOT_EVENT, DEPTH_CLEAR_EVENT, SYNC_LOST_EVENT, SYNC_RESTORED_EVENT)


def _each(arrays: Feed) -> Iterator[EventArray]:
    # The arrays of a venue's feed, reading files one at a time.
    for item in arrays:
        yield item if isinstance(item, np.ndarray) else _load_npy(Path(item))


def book_times(arrays: Feed) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Sorted distinct local times at which this venue's book (or its sync state) changed."""
    parts = []
    for rows in _each(arrays):
        ev = rows["ev"]
        kinds = ev & EVENT_KIND_MASK
        mask = (ev & LOCAL_EVENT) != 0
        mask &= functools.reduce(np.logical_or, [kinds == kind for kind in _BOOK_KINDS])
        parts.append(_distinct(rows["local_ts"][mask]))  # per array: a depth message has many rows
    return np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int64)


def _distinct(ts: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    # np.unique(ts); a converted array's local rows are in local time order already, so without the sort.
    step = np.diff(ts)
    if len(ts) < 2 or (step < 0).any():
        out: np.ndarray[Any, Any] = np.unique(ts)
        return out
    keep = np.empty(len(ts), bool)
    keep[0] = True
    np.not_equal(step, 0, out=keep[1:])
    return np.compress(keep, ts)


def sync_transitions(arrays: Feed, synced_at_start: bool) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(local times, states) of sync changes: 1 = synced from that time on, 0 = not synced."""
    ts = [np.iinfo(np.int64).min]
    state = [1 if synced_at_start else 0]
    for rows in _each(arrays):
        ev = rows["ev"]  # the masks on the column: copying every local row (64 bytes each) cost ~0.1 s a day
        kinds = ev & EVENT_KIND_MASK
        at = np.flatnonzero(((ev & LOCAL_EVENT) != 0) & ((kinds == SYNC_LOST_EVENT) | (kinds == SYNC_RESTORED_EVENT)))
        ts.extend(rows["local_ts"][at].tolist())
        state.extend((kinds[at] == SYNC_RESTORED_EVENT).astype(np.int64).tolist())
    return np.array(ts, np.int64), np.array(state, np.int64)
