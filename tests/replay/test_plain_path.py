"""The Numba-free conversion equals the compiled one, bit for bit, and never imports Numba.

``convert_files(..., plain=True)`` (what ``arb convert`` does for a small recording) reads with the
venues' per-message code (levels parsed by msgspec, rows expanded with NumPy) and runs hftbacktest's
corrections and the end-of-day book in NumPy (``arb.recording.plain``). Its rows, end-of-day snapshot,
counters, transitions and findings must be those of the compiled path on the real captures and on
copies with faults injected; its corrections those of hftbacktest itself; and a small ``arb convert``
process must not import Numba or hftbacktest.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hftbacktest.data import validation as hbt

from arb.book import OrderBook
from arb.events import (
    BUY_EVENT,
    DEPTH_CLEAR_EVENT,
    DEPTH_EVENT,
    DEPTH_SNAPSHOT_EVENT,
    LOCAL_EVENT,
    SELL_EVENT,
    EventArray,
    event_dtype,
)
from arb.recording import plain
from arb.recording.convert import ConversionResult, convert_files
from arb.recording.venues import PLAIN_MAX_BYTES, plain_pays
from connectors.common.levels import parse_levels, parse_levels_plain
from tests.replay.test_bulk_path import FAULTS, _spot, _usdm, _write
from tests.support.captures import RECORDINGS, ROOT, SPOT_BTC, SPOT_ETH_HEAD, USDM_BTC

Index = np.ndarray[Any, np.dtype[np.intp]]


def _same(a: EventArray, b: EventArray) -> None:
    assert a.dtype == b.dtype == event_dtype
    assert len(a) == len(b)
    assert a.tobytes() == b.tobytes()


def _same_conversion(got: ConversionResult, want: ConversionResult) -> None:
    _same(got.rows, want.rows)
    _same(got.eod.rows, want.eod.rows)
    assert (got.eod.update_id, got.eod.synced, got.eod.exch_ts, got.eod.local_ts) == (
        want.eod.update_id, want.eod.synced, want.eod.exch_ts, want.eod.local_ts,
    )  # fmt: skip
    assert got.eod.perp == want.eod.perp and got.eod.venue_state == want.eod.venue_state
    assert got.stats == want.stats
    assert got.transitions == want.transitions
    assert got.local_offset_ns == want.local_offset_ns
    assert got.findings.warnings() == want.findings.warnings()
    assert got.findings.files == want.findings.files


def _both(paths: list[Path], **options: Any) -> None:
    want = convert_files(paths, **options)
    got = convert_files(paths, plain=True, **options)
    _same_conversion(got, want)


# -- whole conversions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "paths",
    [[USDM_BTC], SPOT_BTC, sorted((RECORDINGS / "bybit_spot").glob("*.gz"))[:1]],
    ids=["usdm", "binance-spot-both-days", "bybit-spot"],
)
def test_plain_equals_compiled_on_captures(paths: list[Path]) -> None:
    _both(paths)


def test_plain_equals_compiled_with_bbo_and_a_given_offset() -> None:
    _both([SPOT_ETH_HEAD], include_bbo=True, local_offset_ns=3_000_000)


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("capture", ["spot", "usdm"])
def test_plain_equals_compiled_on_faults(fault: str, capture: str, tmp_path: Path) -> None:
    lines = (_spot if capture == "spot" else _usdm)()
    path = _write(tmp_path / f"{capture}_{fault}.gz", FAULTS[fault](lines))
    options: dict[str, Any] = {"venue": "binance", "allow_damaged": True}
    want = convert_files([path], **options)
    got = convert_files([path], plain=True, **options)
    _same_conversion(got, want)
    assert got.findings.files[0].decode_samples == want.findings.files[0].decode_samples


def test_the_next_day_starts_from_the_plain_snapshot() -> None:
    first, second = SPOT_BTC
    want = convert_files([second], initial=convert_files([first]).eod)
    got = convert_files([second], initial=convert_files([first], plain=True).eod, plain=True)
    _same_conversion(got, want)


def test_choice_by_size() -> None:
    assert plain_pays(USDM_BTC.stat().st_size)
    assert plain_pays(PLAIN_MAX_BYTES) and not plain_pays(PLAIN_MAX_BYTES + 1)


# -- the corrections against hftbacktest's own -------------------------------------------------


def _orders(rows: EventArray) -> tuple[Index, Index]:
    return np.argsort(rows["exch_ts"], kind="mergesort"), np.argsort(rows["local_ts"], kind="mergesort")


def _outcome(fn: Any, *args: Any) -> tuple[str, Any]:
    try:
        return "ok", fn(*args)
    except (AssertionError, ValueError) as exc:
        return type(exc).__name__, None


def _check_corrections(raw: EventArray, base: int) -> None:
    mine = plain.correct_local_timestamp(raw.copy(), base)
    with contextlib.redirect_stdout(io.StringIO()):
        theirs = hbt.correct_local_timestamp(raw.copy(), base)
    _same(mine, theirs)
    by_exch, by_local = _orders(mine)
    kind, merged = _outcome(plain.correct_event_order, mine, by_exch, by_local)
    # hftbacktest's merge reads one index past the end of each order: a valid extra entry keeps it inside
    their_kind, their_merged = _outcome(hbt.correct_event_order, theirs, np.append(by_exch, 0), np.append(by_local, 0))
    assert kind == their_kind
    if merged is not None:
        _same(merged, their_merged)
        assert _outcome(plain.validate_event_order, merged)[0] == _outcome(hbt.validate_event_order, merged)[0]


def _raw_rows(path: Path) -> EventArray:
    captured: list[EventArray] = []
    from arb.recording import convert as convert_module

    real = convert_module._correct

    def spy(rows: EventArray, *args: Any) -> tuple[EventArray, int]:
        captured.append(rows.copy())
        return real(rows, *args)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(convert_module, "_correct", spy)
        convert_files([path], plain=True, with_eod=False)
    return captured[0]


@pytest.mark.parametrize(("path", "base"), [(USDM_BTC, 0), (SPOT_ETH_HEAD, 1_000_000)], ids=["usdm", "spot-eth-head"])
def test_corrections_equal_hftbacktest_on_captures(path: Path, base: int) -> None:
    _check_corrections(_raw_rows(path), base)


@pytest.mark.parametrize("seed", range(12))
def test_corrections_equal_hftbacktest_on_built_rows(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 300))
    rows = np.zeros(n, event_dtype)
    rows["ev"] = rng.choice([1, 2, 3, 4, 1 | BUY_EVENT, 2 | SELL_EVENT], n)
    rows["exch_ts"] = 1_000 + rng.integers(0, int(rng.integers(1, 60)), n)  # few distinct times: many ties
    low, high = [(-50, 50), (0, 20), (-30, 1), (1, 2), (0, 1)][seed % 5]
    rows["local_ts"] = rows["exch_ts"] + rng.integers(low, high, n)
    rows["px"] = rng.choice([100.0, 100.5, np.nan], n)
    rows["qty"] = rng.choice([0.0, 1.0, 2.5], n)
    if seed % 3 == 0 and n > 1:
        rows[1::2] = rows[0:-1:2]  # identical rows at identical times
    for base in (0, 7):
        _check_corrections(rows, base)


def test_validate_messages_and_empty_rows() -> None:
    rows = np.zeros(2, event_dtype)
    rows["ev"] = 1 | (1 << 31) | (1 << 30)
    rows["exch_ts"] = [4, 5]
    rows["local_ts"] = [5, 4]
    with pytest.raises(ValueError, match="local events are out of order"):
        plain.validate_event_order(rows)
    rows["exch_ts"] = [5, 4]
    with pytest.raises(ValueError, match="exchange events are out of order"):  # checked first
        plain.validate_event_order(rows)
    empty = np.zeros(0, event_dtype)
    _same(plain.correct_local_timestamp(empty, 0), empty)
    _same(plain.correct_event_order(empty, np.zeros(0, np.int64), np.zeros(0, np.int64)), empty)


# -- the end-of-day book against arb.book --------------------------------------------------------


def _book_rows(rows: EventArray) -> EventArray:
    book = OrderBook(4)
    book.apply(rows, merge=False)
    return book.snapshot_rows(11, 22)


@pytest.mark.parametrize("seed", range(16))
def test_end_of_day_book_equals_the_compiled_book(seed: int) -> None:
    # Crossing levels, clears of a side or of the whole book, zero quantities, prices written many times.
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    rows = np.zeros(n, event_dtype)
    kinds = rng.choice([DEPTH_EVENT, DEPTH_SNAPSHOT_EVENT, DEPTH_CLEAR_EVENT, 2], n, p=[0.6, 0.2, 0.05, 0.15])
    sides = rng.choice([BUY_EVENT, SELL_EVENT, 0, BUY_EVENT | SELL_EVENT], n, p=[0.45, 0.45, 0.05, 0.05])
    rows["ev"] = kinds | sides | LOCAL_EVENT
    rows["px"] = 100.0 + rng.integers(-20, 21, n) * 0.5
    rows["qty"] = rng.choice([0.0, 1.0, 2.0, 0.25], n)
    got = plain.end_of_day_rows(rows, 11, 22)
    assert got is not None
    _same(got, _book_rows(rows))


def test_end_of_day_book_leaves_odd_prices_to_the_compiled_book() -> None:
    rows = np.zeros(2, event_dtype)
    rows["ev"] = [DEPTH_EVENT | BUY_EVENT, DEPTH_EVENT | SELL_EVENT]
    rows["px"] = [100.0, np.nan]
    rows["qty"] = [1.0, 1.0]
    assert plain.end_of_day_rows(rows, 0, 0) is None


def test_end_of_day_book_on_the_capture() -> None:
    rows = convert_files([USDM_BTC], plain=True, with_eod=False).rows
    local = rows[(rows["ev"] & LOCAL_EVENT) != 0]
    got = plain.end_of_day_rows(local, 1, 2)
    assert got is not None and len(got) > 1000
    book = OrderBook()
    book.apply(local)
    _same(got, book.snapshot_rows(1, 2))


# -- levels ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        b'[["61737.63000000","0.00100000"],["61737.62","1.5"]]',
        b"[]",
        b"[[1,2],[3.25,4]]",
        b'[["1.","2"]]',
        b'[[".5","2"]]',
        b'[["007","2"]]',
        b'[["1e3","2"]]',
        b'[["12345678901234567890.5","1"]]',
        b'[[ "1", "2" ]]',
        b'[["1","2","3"]]',
        b'[["-0","-0.0"],["-00","1"]]',
        b"[[-0,1]]",
        b'[["1"]]',
        b'[["-","2"]]',
        b'[["1[","2"]]',
        b'[["nan","2"]]',
        b'[["1",2]',
        b'{"a":1}',
        b'[["' + b"9" * 400 + b'","1"]]',
    ],
)
def test_plain_levels_equal_the_compiled_parser(text: bytes) -> None:
    want = _outcome(parse_levels, text)
    got = _outcome(parse_levels_plain, text)
    assert got[0] == want[0]
    if want[1] is not None:
        assert got[1].shape == want[1].shape and got[1].tobytes() == want[1].tobytes()


# -- the process -----------------------------------------------------------------------------------

_NOT_NEEDED = (
    # compiled code
    "numba", "hftbacktest", "llvmlite",
    # the live side: sockets, event loops, exchange clients, the venues' private clients and feeds
    "asyncio", "websockets", "aiohttp", "ccxt", "ssl", "yaml", "sqlalchemy", "concurrent.futures",
    "connectors.common.private", "connectors.common.feed", "connectors.common.orders",
    "connectors.binance.private", "connectors.binance.feed", "connectors.bybit.private", "connectors.bybit.feed",
)  # fmt: skip
_PROBE = """
import sys
from arb.cli import main
code = main(["convert", "-q", sys.argv[1], "-o", sys.argv[2]])
print(code, sorted(m for m in sys.argv[3:] if m in sys.modules))
"""


@pytest.mark.parametrize("path", [SPOT_ETH_HEAD, USDM_BTC], ids=["spot-eth-head", "usdm"])
def test_a_small_convert_process_imports_only_what_converting_needs(path: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(path), str(tmp_path / "out.npz"), *_NOT_NEEDED],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "0 []"
    assert (tmp_path / "out.npz").is_file() and (tmp_path / "out_eod.npz").is_file()
