"""Whole days in bounded memory (issue 12): the chunked conversion gives today's rows, bit for bit.

``convert_to_parts`` reads a large recording twice and applies hftbacktest's corrections a chunk at a
time (``arb.recording.stream``); these tests hold it to ``convert_files`` (every row in memory) on the
real captures with chunks small enough to put hundreds of boundaries in them, with a boundary right
inside bursts that the event-order correction reorders, on damaged input, and through the loader and
the backtest on the shipped sample (its first minutes: ``tests/support/sample_slice.py``).
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pytest
from hftbacktest.data.validation import correct_event_order

import arb.recording.loader as loader
from arb.backtest.run import run_backtest
from arb.cli import main
from arb.config import load_config
from arb.errors import RecordingError
from arb.events import EXCH_EVENT, LOCAL_EVENT, event_dtype
from arb.recording.convert import convert_files, convert_to_parts, read_inputs
from arb.recording.inputs import prepare_inputs
from arb.recording.npz import load_eod, part_path
from arb.recording.stream import Bounds, OrderStream
from arb.testing.configs import write_config_files
from tests.support.captures import ROOT
from tests.support.sample_slice import shared_recordings_until

USDM = ROOT / "tests" / "fixtures" / "binance_usdm_btcusdt_20240808.gz"
SAMPLE = ROOT / "recordings"
FIRST_MINUTES = dt.datetime(2024, 8, 8, 23, 58, 30, tzinfo=dt.UTC)
"""The sample's first four minutes (Bybit's half: about 450,000 rows, five parts of 100,000)."""


def _rows(parts: list[Path]) -> np.ndarray:
    return np.concatenate([np.load(p)["data"] for p in parts])


def _same_conversion(inputs: list[Path], tmp_path: Path, chunk_rows: int, **kwargs: object) -> int:
    # convert_to_parts == convert_files: rows, end-of-day book, findings, counters. Returns the parts.
    ref = convert_files(inputs, **kwargs)  # type: ignore[arg-type]
    got = convert_to_parts(inputs, tmp_path / "out.npz", chunk_rows=chunk_rows, **kwargs)  # type: ignore[arg-type]
    parts = [np.load(p)["data"] for p in got.parts]  # each part read once: hundreds of files
    rows = np.concatenate(parts)
    assert rows.dtype == event_dtype
    assert rows.tobytes() == ref.rows.tobytes()
    assert got.part_rows == [len(part) for part in parts]
    assert got.eod.rows.tobytes() == ref.eod.rows.tobytes()
    assert (got.eod.update_id, got.eod.synced, got.eod.exch_ts, got.eod.local_ts) == (
        ref.eod.update_id,
        ref.eod.synced,
        ref.eod.exch_ts,
        ref.eod.local_ts,
    )
    assert got.local_offset_ns == ref.local_offset_ns
    assert got.findings.to_json() == ref.findings.to_json()
    assert got.stats.as_dict() == ref.stats.as_dict()
    assert got.transitions == ref.transitions
    if len(ref.rows):
        assert got.min_latency_ns == int((ref.rows["local_ts"] - ref.rows["exch_ts"]).min())
        assert (got.first_local_ts, got.last_local_ts) == (ref.rows["local_ts"].min(), ref.rows["local_ts"].max())
        assert (got.first_exch_ts, got.last_exch_ts) == (ref.rows["exch_ts"].min(), ref.rows["exch_ts"].max())
    return len(got.parts)


@pytest.mark.parametrize(
    "files",
    [
        [USDM],
        [SAMPLE / "binance_spot" / "btcusdt_20240808.gz", SAMPLE / "binance_spot" / "btcusdt_20240809.gz"],
        [SAMPLE / "bybit_spot" / "btcusdt_20240808.gz"],
    ],
    ids=["usdm", "binance-spot-two-days", "bybit-spot"],
)
def test_chunked_rows_equal_the_in_memory_rows_on_the_captures(tmp_path: Path, files: list[Path]) -> None:
    parts = _same_conversion(files, tmp_path, chunk_rows=1_000)
    assert parts > 300  # hundreds of chunk boundaries


def test_the_second_day_from_the_first_days_book(tmp_path: Path) -> None:
    first = convert_files([SAMPLE / "bybit_spot" / "btcusdt_20240808.gz"])
    _same_conversion([SAMPLE / "bybit_spot" / "btcusdt_20240809.gz"], tmp_path, 1_000, initial=first.eod)


def test_a_fixed_offset_and_a_base_latency_chunk_alike(tmp_path: Path) -> None:
    _same_conversion([USDM], tmp_path / "a", 5_000, local_offset_ns=1_300_000_000)
    _same_conversion([USDM], tmp_path / "b", 5_000, base_latency_ns=250_000)


def _raw_rows(path: Path) -> np.ndarray:
    # The normalizer's rows before hftbacktest's corrections, in the order the stream gets them.
    paths, venue, market, symbol = prepare_inputs([path], None, None, None, None)
    normalizer, _, _ = read_inputs(paths, venue, market, symbol, None, False, None, False)
    return normalizer.sink.take().copy()


def test_a_boundary_right_inside_a_reordered_burst(tmp_path: Path) -> None:
    # Rows whose exchange time is earlier than a row received before them: the event-order correction
    # splits them. Put a chunk boundary just before, on and just after such a row.
    raw = _raw_rows(USDM)
    exch = raw["exch_ts"]
    late = np.flatnonzero(exch < np.maximum.accumulate(exch))
    assert len(late) > 1000  # the capture has many (trades and diffs stamped out of receive order)
    ref = convert_files([USDM])
    split = int(np.sum(((ref.rows["ev"] & EXCH_EVENT) == 0) | ((ref.rows["ev"] & LOCAL_EVENT) == 0)))
    assert split > 0  # the correction did write rows on one side only
    i = int(late[len(late) // 2])
    for boundary in (i - 1, i, i + 1):
        got = convert_to_parts([USDM], tmp_path / f"b{boundary}.npz", chunk_rows=boundary)
        assert len(got.parts) > 1
        assert _rows(got.parts).tobytes() == ref.rows.tobytes()


def _built(n: int, seed: int) -> np.ndarray:
    # Rows in receive order with exchange times that jump back (bursts stamped out of order), ties in
    # both times, and one row whose exchange time lies far behind everything before it.
    rng = np.random.default_rng(seed)
    rows = np.zeros(n, event_dtype)
    local = np.cumsum(rng.integers(0, 3, n)) + 1_000
    rows["local_ts"] = local
    rows["exch_ts"] = local - rng.integers(0, 12, n)
    rows["exch_ts"][n // 2] = local[0] - 50
    rows["ev"] = rng.integers(1, 4, n)
    rows["px"] = rng.integers(1, 5, n).astype(np.float64)
    rows["qty"] = 1.0
    return rows


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_boundary_of_built_rows(seed: int) -> None:
    # The stream against hftbacktest's own correct_event_order, for every block size from 1 to n.
    raw = _built(120, seed)
    ref = correct_event_order(
        raw.copy(), np.argsort(raw["exch_ts"], kind="mergesort"), np.argsort(raw["local_ts"], kind="mergesort")
    )
    for step in range(1, len(raw) + 1):
        for part_rows in (1, 7, 1_000):
            bounds = Bounds(step)
            bounds.add(raw)
            out: list[np.ndarray] = []
            stream = OrderStream(bounds, 0, part_rows, lambda p, out=out: out.append(p.copy()))
            stream.add(raw.copy())
            stream.finish()
            assert np.concatenate(out).tobytes() == ref.tobytes(), (step, part_rows)


def test_the_stream_refuses_rows_that_differ_from_the_first_read() -> None:
    raw = _built(50, 4)
    bounds = Bounds(10)
    bounds.add(raw)
    stream = OrderStream(bounds, 0, 100, lambda p: None)
    stream.add(raw[:-1].copy())
    with pytest.raises(RuntimeError, match="the second read gave 49 rows, the first 50"):
        stream.finish()


def _flipped_copy(tmp_path: Path) -> Path:
    path = tmp_path / "binance_linear" / "btcusdt_20240808.gz"
    path.parent.mkdir(parents=True)
    data = bytearray(USDM.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the deflate data: garbled lines, then the inflater fails
    path.write_bytes(bytes(data))
    return path


def test_damage_is_refused_or_skipped_alike(tmp_path: Path) -> None:
    damaged = _flipped_copy(tmp_path)
    with pytest.raises(RecordingError) as ref:
        convert_files([damaged])
    with pytest.raises(RecordingError) as got:
        convert_to_parts([damaged], tmp_path / "refused.npz", chunk_rows=1_000)
    assert str(got.value) == str(ref.value)
    assert not list(tmp_path.glob("refused*")) and not list(tmp_path.glob(".refused*"))  # nothing written
    _same_conversion([damaged], tmp_path, 1_000, allow_damaged=True)


def test_parts_of_a_longer_earlier_conversion_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "out.npz"
    many = convert_to_parts([USDM], target, chunk_rows=50_000)
    assert len(many.parts) == 10 and all(p.is_file() for p in many.parts)
    few = convert_to_parts([USDM], target, chunk_rows=200_000)
    assert few.parts == [part_path(target, i) for i in range(3)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.npz", "out.p001.npz", "out.p002.npz"]
    one = convert_to_parts([USDM], target, chunk_rows=1_000_000)
    assert one.parts == [target] and one.single is not None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.npz"]


def test_arb_convert_chunk_rows_writes_parts_equal_to_one_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-q", "convert", str(USDM), "-o", str(tmp_path / "one.npz")]) == 0
    assert main(["-q", "convert", str(USDM), "-o", str(tmp_path / "many.npz"), "--chunk-rows", "100,000"]) == 0
    out = capsys.readouterr().out
    assert "5 parts of at most 100,000 rows" in out and "many.p004.npz (give hftbacktest all of them" in out
    one = np.load(tmp_path / "one.npz")
    assert one.files == ["data"]  # a small input: the same single file as before
    many = _rows([part_path(tmp_path / "many.npz", i) for i in range(5)])
    assert many.tobytes() == one["data"].tobytes()
    a, b = load_eod(tmp_path / "one_eod.npz"), load_eod(tmp_path / "many_eod.npz")
    assert a.rows.tobytes() == b.rows.tobytes() and a.update_id == b.update_id


def _sample_config(root: Path, tmp_path_factory: pytest.TempPathFactory, until: dt.datetime) -> Path:
    # the shipped sample's BTCUSDT received before ``until`` (cut once for the run: tests/support/sample_slice.py),
    # copied into root/recordings, where the run converts it
    shared = shared_recordings_until(tmp_path_factory, until)
    for venue in ("binance_spot", "bybit_spot"):
        (root / "recordings" / venue).mkdir(parents=True)
        for path in (shared / venue).glob("*.gz"):  # not what other tests converted there
            shutil.copy(path, root / "recordings" / venue / path.name)
    return write_config_files(root)


def test_the_backtest_over_parts_equals_the_in_memory_backtest(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the sample's first day and its second's first half minute: the first pairs, and a day's parts after
    # another's (the second day starts from the first's book)
    until = dt.datetime(2024, 8, 9, 0, 0, 30, tzinfo=dt.UTC)
    config = load_config(_sample_config(tmp_path, tmp_path_factory, until))
    whole = run_backtest(config)
    monkeypatch.setattr(loader, "CHUNK_ROWS", 50_000)
    parts = run_backtest(config)  # the cache key has the chunk size: converted again, in parts
    assert (tmp_path / "recordings" / "bybit_spot" / "btcusdt_20240808.p005.npz").is_file()
    for name in ("fills", "equity", "calls", "sent"):
        assert getattr(parts, name).tobytes() == getattr(whole, name).tobytes(), name
    assert len(whole.fills) > 0
    for name in ("counters", "kernel_state", "risk_state", "sync_losses", "out_of_sync", "rows", "local_shift_ns",
                 "start_ns", "end_ns", "days", "risk_events"):  # fmt: skip
        assert getattr(parts, name) == getattr(whole, name), name


def test_a_cached_day_in_parts_is_read_back(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(_sample_config(tmp_path, tmp_path_factory, FIRST_MINUTES))
    day = sorted(loader.find_days(config.backtest.recordings, config.venue("bybit"), "BTCUSDT"))[:1]
    whole = loader.load_timeline(config, day)
    monkeypatch.setattr(loader, "CHUNK_ROWS", 100_000)
    built = loader.load_timeline(config, day)
    again = loader.load_timeline(config, day)  # from the cache
    for session in (built, again):
        assert not session.in_memory
        assert session.arrays[1] and all(isinstance(a, str) for a in session.arrays[1])
        for v in range(2):
            assert np.concatenate(list(session.parts(v))).tobytes() == np.concatenate(whole.arrays[v]).tobytes()
            assert session.rows(v) == sum(len(a) for a in whole.arrays[v])
        assert (session.start_ns, session.end_ns, session.local_shift_ns) == (
            whole.start_ns,
            whole.end_ns,
            whole.local_shift_ns,
        )
        assert session.assets[1].days[0].rows.tobytes() == whole.assets[1].days[0].rows.tobytes()
    folder = Path(again.arrays[0][0]).parent
    again.close()
    assert not folder.exists()


def test_a_constant_feed_latency_from_parts_equals_it_in_memory(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    _sample_config(tmp_path, tmp_path_factory, FIRST_MINUTES)
    overrides = {"backtest": {"feed_latency": "constant"}}
    config = load_config(
        write_config_files(tmp_path, arbitrage_overrides=overrides, binance_overrides={"latency": {"feed_ms": 3.0}})
    )
    day = sorted(loader.find_days(config.backtest.recordings, config.venue("bybit"), "BTCUSDT"))[:1]
    whole = loader.load_timeline(config, day)
    monkeypatch.setattr(loader, "CHUNK_ROWS", 100_000)
    parts = loader.load_timeline(config, day)
    assert not parts.in_memory
    for v in range(2):
        assert np.concatenate(list(parts.parts(v))).tobytes() == np.concatenate(whole.arrays[v]).tobytes()
    assert (parts.start_ns, parts.end_ns) == (whole.start_ns, whole.end_ns)
