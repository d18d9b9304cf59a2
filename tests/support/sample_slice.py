"""Recordings cut at a receive time: the shipped sample's first minutes (or another recordings folder's),
for tests whose point a shorter replay proves as well as the whole of it. The sample starts at
2024-08-08 23:54:13 UTC; the shipped configuration's pairs are at about 23:58:03, 00:02:18 and 00:03:57.

:func:`recordings_until` writes, for each venue folder, the lines of each recording received before the cut,
unchanged and in order (a day's file whose lines all come after the cut is left out): the same captures up
to there, snapshots and books included, as if the recorder had stopped at the cut.
:func:`shared_recordings_until` makes such a folder once for the run's workers (``tests/support/shared.py``).
"""

from __future__ import annotations

__all__ = ["recordings_until", "shared_recordings_until"]

import datetime as dt
import gzip
from pathlib import Path

import pytest

from tests.support.captures import RECORDINGS
from tests.support.shared import made_once

VENUES = ("binance_spot", "bybit_spot")
"""The venue folders the shipped configuration trades."""


def recordings_until(
    folder: Path,
    until: dt.datetime,
    source: Path = RECORDINGS,
    files: str = "btcusdt_*.gz",
    venues: tuple[str, ...] = VENUES,
) -> Path:
    """Write ``folder/<venue>/<file>`` with the lines of each ``source/<venue>/<files>`` (a glob pattern:
    the sample's BTCUSDT by default) received before ``until`` (timezone-aware), for each of ``venues``;
    returns ``folder``."""
    end = int(until.timestamp()) * 1_000_000_000 + until.microsecond * 1_000
    for venue in venues:
        (folder / venue).mkdir(parents=True, exist_ok=True)
        for path in sorted((source / venue).glob(files)):
            with gzip.open(path, "rb") as lines:
                kept = [line for line in lines if int(line[:19]) < end]
            if kept:
                (folder / venue / path.name).write_bytes(gzip.compress(b"".join(kept), 1))
    return folder


def shared_recordings_until(
    tmp_path_factory: pytest.TempPathFactory,
    until: dt.datetime,
    source: Path = RECORDINGS,
    files: str = "btcusdt_*.gz",
    name: str = "sample",
) -> Path:
    """:func:`recordings_until` of ``source``'s ``files`` (named ``name``), made once for the run's workers: a
    folder for ``[backtest] recordings`` whose recordings are read-only (every worker's tests read them; the
    runs' conversions cache their days beside them, as beside the shipped ones)."""
    return made_once(tmp_path_factory, f"{name}-until-{until:%Y%m%d-%H%M%S}",
                     lambda folder: recordings_until(folder, until, source, files))  # fmt: skip
