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
