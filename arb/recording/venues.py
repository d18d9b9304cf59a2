"""What the converter knows of each venue's recordings, in one table.

For each venue: the normalizer that reads its frames, the compiled scanners a conversion may use
(and whether they pay for their compile on this input), and how its frames are told from their first
lines (:func:`sniff`). Each venue's part of it is its connector's (``connectors/<venue>/recordings.py``,
:class:`~connectors.common.recordings.RecordingFormat`); nothing here names a venue.
"""

from __future__ import annotations

__all__ = [
    "COMPILE_PAYS_BYTES",
    "FOLDER",
    "PLAIN_MAX_BYTES",
    "VENUES",
    "Sniff",
    "infer_venue",
    "make_normalizer",
    "merge_pays",
    "plain_pays",
    "refuse_other_data",
    "say_converter_compiling",
    "scan_pays",
    "sniff",
]

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arb._jit import Compiled, cached, say_compiling
from arb.errors import RecordingError
from connectors.common.findings import FileFindings, Findings
from connectors.common.lazy import lazy_module
from connectors.common.normalizer import VenueNormalizer
from connectors.common.record_files import LineReader, ReadReport, sample
from connectors.common.recordings import RecordingFormat
from connectors.registry import venue as connector
from connectors.registry import venue_names

log = logging.getLogger("arb.recording.convert")

_INFER_CHUNK = 1 << 14

COMPILE_PAYS_BYTES = 64 << 20
"""Compressed recording bytes from which compiling a fast path pays for itself in one conversion.

A venue's scanners take 5-7 s of CPU to compile (once: Numba caches them); decoding message by
message instead costs 0.04-0.09 s more per compressed MB (the sample's days and the USD-M
capture). The book's run merging takes ~2 s; applying the end-of-day book's rows one by one costs
~0.03 s more per MB on the USD-M capture's deep book. Either way about 64 MB of recordings are
needed before the compile is won back."""


PLAIN_MAX_BYTES = 16 << 20
"""Compressed recording bytes up to which ``arb convert`` converts without Numba (:func:`plain_pays`).

Importing Numba and starting its CPU target take about 0.75 s of CPU before anything compiled runs (its
cache warm); the Numba-free conversion costs about 0.1 s more per compressed MB than the compiled one
(the USD-M capture, 3.6 MB: about 0.3 s against 0.08 s). Below about 16 MB it is the faster process."""

_book = lazy_module("arb.book")
_corrections = lazy_module("arb.recording.corrections")

VENUES = venue_names()

FOLDER = re.compile(r"^(?P<venue>" + "|".join(VENUES) + r")_(?P<market>spot|linear)$")
"""A recordings folder's name: ``<venue>_<market>``."""
_FILE = re.compile(r"^(?P<symbol>[a-z0-9]+)_\d{8}\.gz$")


def _venue(venue: str) -> RecordingFormat:
    if venue not in VENUES:
        raise RecordingError(f"unknown venue {venue!r}: expected one of {', '.join(VENUES)}")
    return connector(venue).recordings


def scan_pays(venue: str, input_bytes: int) -> bool:
    """Whether converting ``input_bytes`` of ``venue``'s recordings should go through its compiled
    scanners: yes when they are compiled already (in this process or Numba's cache), or when the
    input is large enough to pay for compiling them (:data:`COMPILE_PAYS_BYTES`); no otherwise, e.g.
    the first backtest after an install on small days. The rows are the same either way."""
    ready = all(cached(f) for f in _venue(venue).scanners())
    return ready or input_bytes >= COMPILE_PAYS_BYTES


def merge_pays(input_bytes: int) -> bool:
    """Whether the end-of-day book of a conversion of ``input_bytes`` should merge runs of level rows
    (``arb.book.apply_rows``) rather than apply them one by one (``apply_rows_one_by_one``, which
    compiles in a fraction of the time): as :func:`scan_pays` decides. The same book either way."""
    return cached(_book.apply_rows) or input_bytes >= COMPILE_PAYS_BYTES


def plain_pays(input_bytes: int) -> bool:
    """Whether a conversion of ``input_bytes`` of recordings should run without Numba at all (the
    Numba-free path: :mod:`arb.recording.plain`, each venue's per-message code): yes up to
    :data:`PLAIN_MAX_BYTES`, where importing Numba would cost the process more than compiled code saves.
    Decided before anything compiled is looked at (asking Numba's cache imports Numba). The rows are the
    same either way."""
    return input_bytes <= PLAIN_MAX_BYTES


def say_converter_compiling(venue: str, scan: bool, merge: bool, shift: bool) -> None:
    """Before a conversion: say which of the compiled parts it will call are not in Numba's cache (a first
    run's wait). ``scan``, ``merge``: whether it uses the venue's scanners, the book's run merging;
    ``shift``: whether it finds the local times' shift itself (hftbacktest's correction) rather than
    being given it."""
    fixed = _corrections.COMPILED
    parts: list[Compiled] = [("the converter", fixed + _corrections.SHIFT_COMPILED if shift else fixed, 5.0)]
    if scan:
        v = _venue(venue)
        parts.append((v.scanner, v.scanners(), v.scan_compile_s))
    if merge:
        parts.append(("the book's run merging", [_book.apply_rows], 3.0))
    say_compiling(parts, log)


def make_normalizer(
    venue: str,
    market: str | None = None,
    symbol: str | None = None,
    *,
    include_bbo: bool = False,
    echo: bool = True,
    bulk: bool = False,
    scan: bool = True,
    compiled: bool = True,
) -> VenueNormalizer[Any]:
    """The normalizer for ``venue`` (one of :data:`VENUES`); ``echo=False`` for a quiet one.

    ``bulk``: for a converter, which hands recordings to ``on_chunk`` (its compiled scan of whole
    buffers) where the venue has one, and only the lines that scan declines to ``on_message``; the
    per-frame scan would decline those too, so it is left out (never compiled or loaded). ``scan=False``:
    without any compiled scan (every message decoded by the per-message code). ``compiled=False``: no
    compiled code at all (and no scan): the normalizer never imports Numba. Same rows in every case.
    """
    v = _venue(venue)
    frame_scan = scan and not (bulk and v.bulk_scan)
    options: dict[str, Any] = {"include_bbo": include_bbo, "echo": echo, "frame_scan": frame_scan}
    if not compiled:
        options["compiled"] = False
    made: VenueNormalizer[Any] = v.normalizer(symbol, market, **options)
    return made


@dataclass(frozen=True, slots=True)
class Sniff:
    """What a recording's first lines say it holds (None where they do not tell)."""

    venue: str | None = None
    market: str | None = None
    symbol: str | None = None
    line: int = 0
    """The line that told the venue."""
    sample: str = ""
    """Its payload, cut for messages."""
    read: ReadReport | None = None
    """What reading the first lines found (no lines at all, damage at the start)."""


def sniff(path: str | Path, max_lines: int = 200) -> Sniff:
    """Guess venue, market and symbol from a recording's first ``max_lines`` lines.

    Binance frames carry ``"stream"`` (``btcusdt@depth@100ms``: symbol first), or ``"e"`` /
    ``"lastUpdateId"``; a depth diff with ``pu`` is USD-M (``linear``), one without is spot. Bybit
    frames carry ``"topic"`` (``orderbook.50.BTCUSDT``: symbol last); linear tickers carry
    ``fundingRate``, spot tickers ``usdIndexPrice``; otherwise the path is consulted (a folder or
    file name containing ``spot`` or ``linear``).
    """
    found: RecordingFormat | None = None
    market: str | None = None
    symbol: str | None = None
    line = 0
    text = ""
    # Small reads: the first lines are all it needs, and inflating a whole 1 MB read costs ~10 ms.
    reader = LineReader(path, _INFER_CHUNK)
    for i, (_, payload) in enumerate(reader):
        if i >= max_lines:
            break
        head = payload[:40]
        if found is None:
            found = next((v for v in map(_venue, VENUES) if v.recognise(head)), None)
            if found is not None:
                line, text = i + 1, sample(payload)
        if found is not None:
            told_symbol, told_market = found.details(payload, head)
            symbol = symbol or told_symbol
            market = market or told_market
        if found is not None and market is not None and symbol is not None:
            break
    if found is not None and found.market_from_path and market is None:
        parts = " ".join(p.lower() for p in Path(path).parts)
        if "linear" in parts:
            market = "linear"
        elif "spot" in parts:
            market = "spot"
    return Sniff(found.name if found else None, market, symbol, line, text, reader.report)


def infer_venue(path: str | Path, max_lines: int = 200) -> tuple[str, str | None]:
    """Guess ``(venue, market)`` from a recording's first lines (market ``None`` if undecided).

    See :func:`sniff`. Raises :class:`RecordingError` when the lines do not tell the venue.
    """
    found = sniff(path, max_lines)
    if found.venue is None and found.read is not None and found.read.lines == 0:
        Findings("", "", "", [FileFindings.of_read(found.read)]).check(allow_damaged=False)
    if found.venue is None:
        raise RecordingError(
            f"{path}: cannot tell the venue from the first {max_lines} lines; pass --venue {'|'.join(VENUES)}"
        )
    return found.venue, found.market


def _same_format(seen: str, venue: str) -> bool:
    # Whether data that looks like venue ``seen``'s is ``venue``'s: the same venue, or one whose recordings
    # are read by the very same format (a generated venue of the test kit, arb.testing.twins, is one)
    return seen == venue or (venue in VENUES and _venue(seen) is _venue(venue))


def refuse_other_data(path: Path, found: Sniff, venue: str, market: str | None, symbol: str | None) -> None:
    """Raise :class:`RecordingError` when ``path`` holds another venue, market or symbol than the one
    asked for, or than its place in the recordings layout (``<venue>_<market>/<symbol>_<day>.gz``) says."""
    told = f"line {found.line}: {found.sample!r}"
    place = f"it is in a {path.parent.name} folder"
    folder = FOLDER.match(path.parent.name)
    named = _FILE.match(path.name) if folder else None  # the layout's name, only in the layout's folder
    if found.venue is not None and not _same_format(found.venue, venue):
        raise RecordingError(f"{path}: looks like {found.venue} data, not {venue} ({told})")
    if folder and found.venue is not None and not _same_format(found.venue, folder["venue"]):
        raise RecordingError(f"{path}: looks like {found.venue} data, but {place} ({told})")
    if market and found.market and found.market != market:
        raise RecordingError(f"{path}: looks like {venue} {found.market} data, not {market} ({told})")
    if folder and found.market and found.market != folder["market"]:
        raise RecordingError(f"{path}: looks like {venue} {found.market} data, but {place} ({told})")
    if symbol and found.symbol and found.symbol != symbol.upper():
        raise RecordingError(f"{path}: holds {found.symbol} data, not {symbol.upper()} ({told})")
    if named and found.symbol and found.symbol != named["symbol"].upper():
        raise RecordingError(f"{path}: holds {found.symbol} data, but its name says {named['symbol']} ({told})")
