"""Converting with or without the compiled fast paths gives the same conversion, bit for bit.

``convert_files``/``convert_to_parts`` take ``scan`` (through the venues' compiled scanners,
``connectors.*.fastscan``, or message by message) and ``merge`` (the end-of-day book merging runs
of level rows, or applying them one by one). A first ``arb backtest`` after an install converts its
small days without either rather than compile them first (``scan_pays``, ``merge_pays``);
everything it gets must be what the fast paths give: rows, the end-of-day book, counters, sync
transitions, findings. Checked on every capture and the sample's days (both venues, the second
day starting from the first's book), in memory and in chunks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from arb.recording import convert as convert_module
from arb.recording import venues as venues_module
from arb.recording.convert import convert_files, convert_to_parts
from arb.recording.venues import COMPILE_PAYS_BYTES, merge_pays, scan_pays
from tests.support.captures import RECORDINGS, SPOT_BTC_HEAD, SPOT_ETH_HEAD, USDM_BTC

BYBIT = [RECORDINGS / "bybit_spot" / "btcusdt_20240808.gz", RECORDINGS / "bybit_spot" / "btcusdt_20240809.gz"]
BINANCE = [RECORDINGS / "binance_spot" / "btcusdt_20240808.gz", RECORDINGS / "binance_spot" / "btcusdt_20240809.gz"]


def _same(a: convert_module.ConversionResult, b: convert_module.ConversionResult) -> None:
    assert a.rows.dtype == b.rows.dtype and a.rows.tobytes() == b.rows.tobytes()
    assert a.eod.rows.tobytes() == b.eod.rows.tobytes()
    assert (a.eod.update_id, a.eod.synced, a.eod.exch_ts, a.eod.local_ts) == (
        b.eod.update_id, b.eod.synced, b.eod.exch_ts, b.eod.local_ts,
    )  # fmt: skip
    assert a.stats.as_dict() == b.stats.as_dict()
    assert a.transitions == b.transitions
    assert a.findings.to_json() == b.findings.to_json()
    assert a.local_offset_ns == b.local_offset_ns


@pytest.mark.parametrize("path", [USDM_BTC, SPOT_BTC_HEAD, SPOT_ETH_HEAD, *BINANCE, *BYBIT], ids=lambda p: p.name)
def test_one_file_with_and_without_the_scanners(path: Path) -> None:
    # The sample's second days alone: books that never sync (their snapshots are in the first days).
    _same(
        convert_files([path], allow_unsynced=True),
        convert_files([path], scan=False, merge=False, allow_unsynced=True),
    )


@pytest.mark.parametrize("days", [BINANCE, BYBIT], ids=["binance", "bybit"])
def test_the_second_day_from_the_first_days_book(days: list[Path]) -> None:
    first = convert_files(days[:1])
    slow = convert_files(days[1:], initial=first.eod, scan=False, merge=False)
    _same(convert_files(days[1:], initial=first.eod), slow)


@pytest.mark.parametrize("path", [USDM_BTC, BYBIT[0]], ids=lambda p: p.name)
def test_parts_with_and_without_the_scanners(path: Path, tmp_path: Path) -> None:
    results = []
    for fast in (True, False):
        target = tmp_path / f"{fast}" / "day.npz"
        result = convert_to_parts([path], target, chunk_rows=50_000, scan=fast, merge=fast)
        parts = [np.load(p)["data"] for p in result.parts]
        results.append((result, np.concatenate(parts)))
    (a, rows_a), (b, rows_b) = results
    assert len(a.parts) > 1 and a.part_rows == b.part_rows
    assert rows_a.tobytes() == rows_b.tobytes()
    assert a.eod.rows.tobytes() == b.eod.rows.tobytes() and a.stats.as_dict() == b.stats.as_dict()


def test_fast_paths_are_compiled_when_ready_or_worth_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(venues_module, "cached", lambda fn: False)  # as right after an install
    for venue in ("binance", "bybit"):
        assert not scan_pays(venue, 8 << 20)  # the sample's days
        assert scan_pays(venue, COMPILE_PAYS_BYTES)  # a day of depth diffs
    assert not merge_pays(8 << 20) and merge_pays(COMPILE_PAYS_BYTES)
    monkeypatch.setattr(venues_module, "cached", lambda fn: True)
    assert scan_pays("binance", 0) and scan_pays("bybit", 0) and merge_pays(0)
