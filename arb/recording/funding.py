"""Funding-rate history files: what ``arb funding-history`` writes beside the recordings, and what a
backtest reads to know the rate of each funding time of a span.

One file per venue and symbol, ``<recordings>/<venue>_linear/<symbol lower>_funding.json``::

    {
      "format": "arb-funding-history",
      "version": 1,
      "venue": "<venue>",
      "market": "linear",
      "symbol": "BTCUSDT",
      "source": "<the venue's funding-rate endpoint>",
      "covered": [[1722470400000000000, 1723161600000000000]],
      "funding": [
        {"time_ns": 1722470400000000000, "rate": "0.00010000", "mark_price": "64627.90000000"},
        ...
      ]
    }

- ``covered``: the spans ``[start, end)`` (int64 ns since the epoch) whose fundings were all fetched:
  a funding time inside one that has no entry had none. Sorted, merged where they touch.
- ``funding``: one entry per funding time, oldest first: ``time_ns`` as the venue stamps it (Binance's
  can be a few ms past the hour), ``rate`` the rate that applied, a fraction of the position's
  notional per funding interval (positive: longs pay shorts), and ``mark_price`` the mark price the
  venue used (``""`` where it gives none: Bybit, old Binance entries). Both are the venue's decimal
  strings, unchanged.
- ``source``: the REST endpoint the entries came from. A later fetch merges into the file: entries
  are unique by time (a later fetch's value wins), spans are merged; a fetch from another endpoint
  (mainnet into a testnet file, say) is refused rather than mixed in.

Files are written to a temporary file beside the target and renamed into place: an interrupted
fetch leaves the previous file as it was.
"""

from __future__ import annotations

__all__ = [
    "FORMAT",
    "VERSION",
    "FundingFile",
    "FundingRates",
    "funding_path",
    "funding_rates",
    "load_funding_file",
    "merge_funding",
    "merge_spans",
    "save_funding_file",
]

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np

from arb.errors import RecordingError
from connectors.common.history import FundingRecord

FORMAT: Final = "arb-funding-history"
VERSION: Final = 1
_MARKET: Final = "linear"


@dataclass(frozen=True, slots=True)
class FundingFile:
    """The contents of one funding-history file (see the module docstring)."""

    venue: str
    symbol: str
    source: str
    covered: tuple[tuple[int, int], ...] = ()
    funding: tuple[FundingRecord, ...] = ()

    def gaps(self, start_ns: int, end_ns: int) -> list[tuple[int, int]]:
        """The parts of ``[start_ns, end_ns)`` no covered span holds, in order."""
        out: list[tuple[int, int]] = []
        at = start_ns
        for a, b in self.covered:
            if b <= at:
                continue
            if a >= end_ns:
                break
            if a > at:
                out.append((at, a))
            at = max(at, b)
            if at >= end_ns:
                break
        if at < end_ns:
            out.append((at, end_ns))
        return out


@dataclass(frozen=True, slots=True)
class FundingRates:
    """Each funding time of a span with its rate, as arrays for the backtest."""

    venue: str
    symbol: str
    times_ns: np.ndarray[Any, np.dtype[np.int64]]
    """Funding times, int64 ns since the epoch, ascending."""
    rates: np.ndarray[Any, np.dtype[np.float64]]
    """The rate that applied at each, a fraction of the notional per funding interval."""
    mark_prices: np.ndarray[Any, np.dtype[np.float64]] = field(repr=False)
    """The venue's mark price for each, NaN where it gives none."""


def funding_path(recordings: str | Path, venue: str, symbol: str) -> Path:
    """``<recordings>/<venue>_linear/<symbol lower>_funding.json``."""
    return Path(recordings) / f"{venue}_{_MARKET}" / f"{symbol.lower()}_funding.json"


def merge_spans(spans: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Sort ``[start, end)`` spans and merge those that overlap or touch; empty ones are dropped."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(s for s in spans if s[0] < s[1]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return tuple(out)


def merge_funding(
    old: FundingFile | None,
    venue: str,
    symbol: str,
    source: str,
    span: tuple[int, int],
    fetched: Sequence[FundingRecord],
) -> tuple[FundingFile, int, int]:
    """``old`` (``None``: no file yet) with ``fetched`` (all fundings of ``span``) merged in.

    Returns the new contents, how many entries are new and how many changed value (the fetched one
    wins). Raises :class:`RecordingError` when ``old`` came from another ``source``, venue or symbol.
    """
    if old is not None:
        if (old.venue, old.symbol) != (venue, symbol):
            raise RecordingError(f"the funding file holds {old.venue} {old.symbol}, not {venue} {symbol}")
        if old.source != source:
            raise RecordingError(
                f"the funding file holds history from {old.source}; fetching from {source} would mix two "
                "sources (another network?): move the file away or write elsewhere (--out)"
            )
    by_time = {r.time_ns: r for r in (old.funding if old else ())}
    new = changed = 0
    for record in fetched:
        before = by_time.get(record.time_ns)
        if before is None:
            new += 1
        elif before != record:
            changed += 1
        by_time[record.time_ns] = record
    covered = merge_spans([*(old.covered if old else ()), span])
    funding = tuple(by_time[t] for t in sorted(by_time))
    return FundingFile(venue, symbol, source, covered, funding), new, changed


def save_funding_file(path: str | Path, contents: FundingFile) -> Path:
    """Write ``contents`` to ``path`` atomically (a temporary file renamed into place)."""
    path = Path(path)
    head = {"format": FORMAT, "version": VERSION, "venue": contents.venue, "market": _MARKET,
            "symbol": contents.symbol, "source": contents.source}  # fmt: skip
    spans = [json.dumps(list(span)) for span in contents.covered]
    entries = [json.dumps({"time_ns": r.time_ns, "rate": r.rate, "mark_price": r.mark_price}) for r in contents.funding]
    # One span and one entry a line: readable, and a re-fetch shows as a small diff.
    text = "{\n" + "".join(f" {json.dumps(k)}: {json.dumps(v)},\n" for k, v in head.items())
    text += f' "covered": {_block(spans)},\n "funding": {_block(entries)}\n}}\n'
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def _block(items: list[str]) -> str:
    # A JSON array of already encoded items, one a line.
    return "[\n" + ",\n".join(f"  {item}" for item in items) + "\n ]" if items else "[]"


def load_funding_file(path: str | Path) -> FundingFile:
    """Read a file :func:`save_funding_file` wrote; :class:`RecordingError` naming the file and the
    problem when it is missing or not such a file."""
    path = Path(path)
    if not path.is_file():
        raise RecordingError(f"{path}: no such funding-history file")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RecordingError(f"{path}: not a funding-history file ({exc})") from None
    try:
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise ValueError(f'expected "format": "{FORMAT}"')
        if document.get("version") != VERSION:
            raise ValueError(f"expected version {VERSION}, got {document.get('version')!r}")
        covered = tuple((int(a), int(b)) for a, b in document["covered"])
        funding = tuple(
            FundingRecord(int(e["time_ns"]), _decimal_text(e["rate"]), str(e.get("mark_price", "")))
            for e in document["funding"]
        )
        return FundingFile(str(document["venue"]), str(document["symbol"]), str(document["source"]), covered, funding)
    except (KeyError, TypeError, ValueError) as exc:
        raise RecordingError(f"{path}: not a funding-history file ({exc})") from None


def _decimal_text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"rate {value!r} is not a decimal string")
    if not math.isfinite(float(value)):
        raise ValueError(f"rate {value!r} is not a finite number")
    return value


def funding_rates(recordings: str | Path, venue: str, symbol: str, start_ns: int, end_ns: int) -> FundingRates:
    """Each funding of ``venue``/``symbol`` with a time in ``[start_ns, end_ns)`` and its rate, from
    the file ``arb funding-history`` wrote under ``recordings``.

    Raises :class:`RecordingError`, with the command that fetches what is missing, when there is no
    file or it does not cover the whole span (a span it covers without a funding in it is no error:
    there was none).
    """
    path = funding_path(recordings, venue, symbol)
    fetch = (
        f"arb funding-history --venue {venue} --symbols {symbol.upper()} --start {_day(start_ns)} "
        f"--end {_day(end_ns - 1)}"
    )
    if not path.is_file():
        raise RecordingError(f"no funding history of {venue} {symbol.upper()} in {path}: fetch it with {fetch}")
    contents = load_funding_file(path)
    if contents.venue != venue or contents.symbol != symbol.upper():
        raise RecordingError(f"{path}: holds {contents.venue} {contents.symbol}, not {venue} {symbol.upper()}")
    missing = contents.gaps(start_ns, end_ns)
    if missing:
        spans = ", ".join(f"{_time(a)} to {_time(b)}" for a, b in missing[:3])
        raise RecordingError(f"{path}: has no funding history for {spans}: fetch it with {fetch}")
    chosen = [r for r in contents.funding if start_ns <= r.time_ns < end_ns]
    return FundingRates(
        venue=venue,
        symbol=symbol.upper(),
        times_ns=np.array([r.time_ns for r in chosen], np.int64),
        rates=np.array([float(r.rate) for r in chosen], np.float64),
        mark_prices=np.array([float(r.mark_price) if r.mark_price else math.nan for r in chosen], np.float64),
    )


def _day(ns: int) -> str:
    return np.datetime_as_string(np.datetime64(ns, "ns"), unit="D")


def _time(ns: int) -> str:
    return np.datetime_as_string(np.datetime64(ns, "ns"), unit="s").replace("T", " ") + " UTC"
