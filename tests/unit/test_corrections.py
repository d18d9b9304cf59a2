"""arb's cached corrections against hftbacktest's own, row for row.

``arb.recording.corrections`` replaces ``hftbacktest.data.validation``'s ``correct_local_timestamp``,
``correct_event_order`` and ``validate_event_order`` in the converter (hftbacktest's are compiled in
every process). Each is run beside hftbacktest's on the raw rows of every real capture at hand (the
fixtures, the sample recording, the shared data folder when present) and on rows built to hit each
branch: ties on one or both times, NaN prices, exchange times going back, negative and positive feed
latency. The outputs must be the same bytes.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hftbacktest.data import validation as hbt

from arb.events import EXCH_EVENT, LOCAL_EVENT, EventArray, event_dtype
from arb.recording import corrections as ours
from arb.recording.venues import infer_venue, make_normalizer
from connectors.binance.normalize import BinanceNormalizer
from connectors.common.record_files import LineReader
from tests.support.captures import FIXTURES, RECORDINGS, SPOT_BTC_HEAD, SPOT_ETH_HEAD, USDM_BTC

SHARED = Path("/work/shared/data/binance")
CAPTURES = [
    USDM_BTC,
    SPOT_BTC_HEAD,
    SPOT_ETH_HEAD,
    *sorted(RECORDINGS.glob("*/*.gz")),
    *(sorted(SHARED.glob("*/*.gz")) if SHARED.is_dir() else []),
]


def _raw(path: Path) -> EventArray:
    # The rows as the converter hands them to the corrections (normalized, before any correction).
    venue, market = infer_venue(path)
    normalizer = make_normalizer(venue, market, echo=False)
    reader = LineReader(path)
    if isinstance(normalizer, BinanceNormalizer):
        for chunk in reader.chunks():
            normalizer.on_chunk(chunk, reader.bad_line)
    else:
        for block in reader.blocks():
            normalizer.on_lines(block, reader.bad_line)
    return normalizer.sink.take()


def _theirs_local(rows: EventArray, base: int) -> EventArray:
    with contextlib.redirect_stdout(io.StringIO()):  # hftbacktest prints the shift (from compiled code
        out: EventArray = hbt.correct_local_timestamp(rows, base)  # it may still reach the real stdout)
    return out


Index = np.ndarray[Any, np.dtype[np.intp]]


def _orders(rows: EventArray) -> tuple[Index, Index]:
    return np.argsort(rows["exch_ts"], kind="mergesort"), np.argsort(rows["local_ts"], kind="mergesort")


def _theirs_order(rows: EventArray, by_exch: Index, by_local: Index) -> EventArray:
    # hftbacktest's merge reads one index past the end of each order once that order is used up
    # (the value is never used): a valid extra entry keeps that read inside the arrays, where small
    # arrays otherwise crash the interpreter.
    out: EventArray = hbt.correct_event_order(rows, np.append(by_exch, 0), np.append(by_local, 0))
    return out


def _same_bytes(a: EventArray, b: EventArray) -> None:
    assert a.dtype == b.dtype == event_dtype
    assert len(a) == len(b)
    assert a.tobytes() == b.tobytes()


def _validate_outcome(fn, rows: EventArray) -> str:  # type: ignore[no-untyped-def]
    try:
        fn(rows)
    except ValueError as exc:
        return str(exc)
    return "ok"


def _check_all(raw: EventArray, base: int) -> tuple[int, EventArray]:
    # Every step on both sides; returns (offset applied, corrected rows).
    mine = ours.correct_local_timestamp(raw.copy(), base)
    theirs = _theirs_local(raw.copy(), base)
    _same_bytes(mine, theirs)
    offset = int(mine["local_ts"][0] - raw["local_ts"][0]) if len(raw) else 0
    by_exch, by_local = _orders(mine)
    merged = ours.correct_event_order(mine, by_exch, by_local)
    _same_bytes(merged, _theirs_order(theirs, by_exch, by_local))
    _same_bytes(mine, theirs)  # neither touched its input
    assert _validate_outcome(ours.validate_event_order, merged) == _validate_outcome(hbt.validate_event_order, merged)
    return offset, merged


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_same_as_hftbacktest_on_captures(path: Path) -> None:
    raw = _raw(path)
    assert len(raw) > 0
    for base in (0, 1_000_000):
        offset, merged = _check_all(raw, base)
        assert _validate_outcome(ours.validate_event_order, merged) == "ok"
        if offset:
            assert offset == base - int(np.min(raw["local_ts"] - raw["exch_ts"]))


def test_captures_hit_the_tricky_cases() -> None:
    # The real captures do exercise both corrections: a recorder clock behind the venue's (negative
    # latency), and exchange times that go back in arrival order (rows split in two).
    raw = _raw(USDM_BTC)
    assert np.min(raw["local_ts"] - raw["exch_ts"]) < 0
    assert np.any(np.diff(raw["exch_ts"]) < 0)
    _, merged = _check_all(raw, 0)
    assert len(merged) > len(raw)
    both = (merged["ev"] & (EXCH_EVENT | LOCAL_EVENT)) == (EXCH_EVENT | LOCAL_EVENT)
    assert 0 < int(np.sum(both)) < len(merged)


def _synthetic(rng: np.random.Generator, n: int, spread: int, latency: tuple[int, int]) -> EventArray:
    rows = np.zeros(n, event_dtype)
    rows["ev"] = rng.choice([1, 2, 3, 4, 1 | (1 << 29), 2 | (1 << 28)], n)
    rows["exch_ts"] = 1_000 + rng.integers(0, spread, n)  # few distinct values: many ties
    rows["local_ts"] = rows["exch_ts"] + rng.integers(latency[0], latency[1], n)
    rows["px"] = rng.choice([100.0, 100.5, np.nan], n)
    rows["qty"] = rng.choice([0.0, 1.0, 2.5], n)
    rows["order_id"] = rng.integers(0, 3, n)
    return rows


@pytest.mark.parametrize("seed", range(40))
def test_same_as_hftbacktest_on_built_rows(seed: int) -> None:
    rng = np.random.default_rng(seed)
    latency = [(-50, 50), (0, 20), (-30, 1), (1, 2), (0, 1)][seed % 5]
    rows = _synthetic(rng, int(rng.integers(1, 400)), int(rng.integers(1, 60)), latency)
    if seed % 3 == 0:
        # identical rows at identical times, the case where a row meets itself in both orders
        rows[1::2] = rows[0:-1:2] if len(rows) > 1 else rows[1::2]
    for base in (0, 7):
        try:
            _check_all(rows, base)
        except (AssertionError, ValueError) as exc:
            # Two different rows meeting at the same two times: both sides must refuse.
            if "rows with the same times differ" not in str(exc):
                raise
            shifted = ours.correct_local_timestamp(rows.copy(), base)
            by_exch, by_local = _orders(shifted)
            with pytest.raises(AssertionError):
                _theirs_order(shifted, by_exch, by_local)


def test_merge_mismatch_refused_like_hftbacktest() -> None:
    rows = np.zeros(2, event_dtype)
    rows["ev"] = [1, 2]
    rows["exch_ts"] = [10, 10]
    rows["local_ts"] = [20, 20]
    by_exch = np.array([0, 1])
    by_local = np.array([1, 0])  # not a stable sort: the two rows meet at the same times
    with pytest.raises(AssertionError, match="rows with the same times differ"):
        ours.correct_event_order(rows, by_exch, by_local)
    with pytest.raises(AssertionError):
        _theirs_order(rows, by_exch, by_local)


def test_validate_messages_match() -> None:
    rows = np.zeros(4, event_dtype)
    rows["ev"] = EXCH_EVENT | LOCAL_EVENT
    rows["exch_ts"] = [1, 2, 2, 3]
    rows["local_ts"] = [5, 6, 6, 7]
    assert _validate_outcome(ours.validate_event_order, rows) == "ok"
    for field, flag in (("exch_ts", EXCH_EVENT), ("local_ts", LOCAL_EVENT)):
        bad = rows.copy()
        bad[field][2] = 0
        assert _validate_outcome(ours.validate_event_order, bad) == _validate_outcome(hbt.validate_event_order, bad)
        assert _validate_outcome(ours.validate_event_order, bad) != "ok"
        bad["ev"][2] = (EXCH_EVENT | LOCAL_EVENT) & ~flag  # the row going back is not an event of that side
        assert _validate_outcome(ours.validate_event_order, bad) == "ok"
        assert _validate_outcome(hbt.validate_event_order, bad) == "ok"
    both_bad = rows.copy()
    both_bad["exch_ts"][2] = 0
    both_bad["local_ts"][1] = 0
    assert _validate_outcome(ours.validate_event_order, both_bad) == "exchange events are out of order."
    assert _validate_outcome(hbt.validate_event_order, both_bad) == "exchange events are out of order."


def test_empty_rows() -> None:
    empty = np.zeros(0, event_dtype)
    assert len(ours.correct_local_timestamp(empty, 5)) == 0
    assert len(ours.correct_event_order(empty, np.zeros(0, np.int64), np.zeros(0, np.int64))) == 0
    ours.validate_event_order(empty)


def test_fixtures_folder_present() -> None:
    assert FIXTURES.is_dir()
