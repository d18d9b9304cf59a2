"""A backtest's conversion of small days without Numba: the same timeline, and no wait for a core.

The loader converts a day whose recordings are small (``arb.recording.venues.plain_pays``) without compiled
code, as ``arb convert`` does: a first backtest after an install then compiles no converter, and its
conversion runs beside the warm-up's two processes instead of waiting for one of them
(``before_compiling``, :meth:`arb.backtest.run.Warming.make_room`). A larger day converts compiled, and
waits first.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import msgspec
import numpy as np
import pytest

import arb.recording.venues as venues
from arb.config import AppConfig
from arb.recording.loader import load_timeline, plan_days
from tests.support.captures import RECORDINGS


def _copy(sample_config: AppConfig, tmp_path: Path) -> AppConfig:
    # the shipped sample's recordings, without their conversions
    for folder in ("binance_spot", "bybit_spot"):
        shutil.copytree(RECORDINGS / folder, tmp_path / folder, ignore=shutil.ignore_patterns("*.npz"))
    backtest = msgspec.structs.replace(sample_config.backtest, recordings=tmp_path)
    return msgspec.structs.replace(sample_config, backtest=backtest)


def _load(config: AppConfig) -> tuple[list[bytes], list[str], int]:
    # every asset's rows as hftbacktest reads them, the waits asked for, the common local shift
    waits: list[str] = []
    timeline = load_timeline(config, plan_days(config, None, None), before_compiling=lambda: waits.append("wait"))
    try:
        rows = [b"".join(np.ascontiguousarray(part).tobytes() for part in timeline.parts(a))
                for a in range(len(timeline.assets))]  # fmt: skip
        return rows, waits, timeline.local_shift_ns
    finally:
        timeline.close()


def test_small_days_convert_without_waiting_and_large_ones_wait(sample_config, tmp_path, monkeypatch) -> None:
    small, waited_small, shift_small = _load(_copy(sample_config, tmp_path / "small"))
    assert waited_small == []  # the sample's days are small: converted without Numba, nothing waited for
    monkeypatch.setattr(venues, "PLAIN_MAX_BYTES", 0)  # every day "large": converted compiled
    large, waited_large, shift_large = _load(_copy(sample_config, tmp_path / "large"))
    assert len(waited_large) == 4  # each venue's two days waited before converting
    assert len(small) == 2 and all(len(rows) > 0 for rows in small)
    assert small == large  # the two conversions give hftbacktest the same rows, byte for byte
    assert shift_small == shift_large


def test_a_cached_day_never_waits(sample_config, tmp_path, monkeypatch) -> None:
    config = _copy(sample_config, tmp_path)
    monkeypatch.setattr(venues, "PLAIN_MAX_BYTES", 0)
    _, first, _ = _load(config)
    _, again, _ = _load(config)
    assert len(first) == 4
    assert again == []  # read from the conversions the first load wrote: nothing to compile


@pytest.mark.parametrize("feed_latency", ["recorded", "constant"])
def test_an_in_memory_session_spans_the_rows_it_makes_for_hftbacktest_when_they_are_read(
    sample_config: AppConfig, feed_latency: str
) -> None:
    # The rows hftbacktest gets are made at the first read of ``arrays`` (a dry run never reads them); the
    # session's start and end, known before, are their first asset-day's earliest and last one's latest
    # local times, with the shift and the feed latency, recorded or constant
    backtest = msgspec.structs.replace(sample_config.backtest, feed_latency=feed_latency)
    venues = tuple(  # a feed latency of its own per venue: 7 ms, 8 ms
        msgspec.structs.replace(v, latency=msgspec.structs.replace(v.latency, feed_ns=(7 + i) * 1_000_000))
        for i, v in enumerate(sample_config.venues)
    )
    config = msgspec.structs.replace(sample_config, backtest=backtest, venues=venues)
    session = load_timeline(config, plan_days(config, None, None))
    assert session.in_memory and session._arrays is None
    feeds = session.arrays
    assert session.start_ns == min(int(feed[0]["local_ts"].min()) for feed in feeds if len(feed[0]))
    assert session.end_ns == max(int(feed[-1]["local_ts"].max()) for feed in feeds if len(feed[-1]))
    assert session.arrays is feeds  # made once
