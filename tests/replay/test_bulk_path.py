"""The converter's bulk path equals the live path, message for message.

``convert_files`` feeds Binance recordings through ``BinanceNormalizer.on_chunk``: a compiled scan
settles the common frames and hands every other line to the per-message code. Whatever the input,
the rows (all eight fields, bit for bit, in order), the counters, the sync transitions and the book
status must be exactly those of reading the file with plain ``gzip`` and calling ``on_message`` line by
line (the oracle below shares no reading code with the converter). Checked on the real captures and
on copies with faults injected, both markets, with and without bookTicker rows.
"""

from __future__ import annotations

import functools
import gzip
import random
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest

from arb.events import EventArray
from arb.recording import convert as convert_module
from arb.recording.convert import _correct, convert_files
from connectors.binance import normalize as normalize_module
from connectors.binance.normalize import BinanceNormalizer
from connectors.common.record_files import LineReader
from connectors.common.rows import RowSink
from connectors.common.scan import POW10, read_decimal
from tests.support.captures import SPOT_BTC, SPOT_BTC_HEAD, SPOT_ETH_HEAD, USDM_BTC, with_mark_price

Lines = list[bytes]


# -- the oracle: plain gzip, on_message line by line ------------------------------------------


def _raw_lines(path: Path) -> Lines:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    return data.split(b"\n")


def _oracle(files: Sequence[Lines], include_bbo: bool) -> tuple[BinanceNormalizer, EventArray, int, int]:
    normalizer = BinanceNormalizer(include_bbo=include_bbo)
    lines = bad = 0
    for file_lines in files:
        for line in file_lines:
            if not line:
                continue
            lines += 1
            if line[19:20] == b" " and line[:19].isdigit():
                normalizer.on_message(line[20:], int(line[:19]))
            else:
                bad += 1
    return normalizer, normalizer.sink.take(), lines, bad


def _write(path: Path, lines: Lines) -> Path:
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(b"\n".join(lines))
    return path


def _same_rows(got: EventArray, want: EventArray) -> None:
    assert got.dtype == want.dtype
    assert len(got) == len(want)
    if got.tobytes() != want.tobytes():
        bad = np.flatnonzero(got != want)
        first = int(bad[0]) if len(bad) else -1  # NaN or -0.0 differences show only in the bytes
        raise AssertionError(f"rows differ from row {first}: got {got[first]}, want {want[first]}")


def _same_state(got: BinanceNormalizer, want: BinanceNormalizer) -> None:
    assert got.stats == want.stats
    assert got.transitions == want.transitions
    assert got.status == want.status
    assert got.symbol == want.symbol and got.market == want.market
    assert got._clock_offset == want._clock_offset and got._last_exch_ts == want._last_exch_ts
    assert got.perp.saved() == want.perp.saved() or (got.perp.saved().known is want.perp.saved().known is False)
    if want.sync is None:
        assert got.sync is None
    else:
        assert got.sync is not None
        assert got.sync.state is want.sync.state
        assert got.sync.last_update_id == want.sync.last_update_id
        assert [d.final_update_id for d in got.sync.buffer] == [d.final_update_id for d in want.sync.buffer]


def _check_bulk(
    paths: Sequence[Path], include_bbo: bool = False, chunk_size: int | None = None
) -> tuple[BinanceNormalizer, EventArray]:
    """on_chunk over LineReader.chunks against the oracle: raw rows, state, line counts."""
    want, want_rows, want_lines, want_bad = _oracle([_raw_lines(p) for p in paths], include_bbo)
    got = BinanceNormalizer(include_bbo=include_bbo)
    lines = bad = 0
    for path in paths:
        reader = LineReader(path, chunk_size) if chunk_size else LineReader(path)
        for chunk in reader.chunks():
            reader.add_lines(got.on_chunk(chunk, reader.bad_line))
        lines += reader.report.lines
        bad += reader.report.bad_lines
    _same_rows(got.sink.take(), want_rows)
    _same_state(got, want)
    assert (lines, bad) == (want_lines, want_bad)
    return want, want_rows


def _check_convert(paths: Sequence[Path], include_bbo: bool = False) -> BinanceNormalizer:
    """convert_files end to end against the oracle's rows through the same hftbacktest corrections, after
    :func:`_check_bulk`; the oracle's normalizer."""
    want, want_rows = _check_bulk(paths, include_bbo)
    # allow_damaged: some faults are lines without a timestamp, which convert_files otherwise refuses
    result = convert_files(paths, venue="binance", include_bbo=include_bbo, with_eod=False, allow_damaged=True)
    corrected, offset = _correct(want_rows, 0, None)
    _same_rows(result.rows, corrected)
    assert result.local_offset_ns == offset
    assert result.stats == want.stats
    assert result.transitions == want.transitions
    return want


# -- the real captures --------------------------------------------------------------------------


@pytest.mark.parametrize("include_bbo", [False, True], ids=["trades+depth", "with-bbo"])
def test_usdm_whole_file(include_bbo: bool) -> None:
    _check_convert([USDM_BTC], include_bbo)


@pytest.mark.parametrize("path", [SPOT_BTC_HEAD, SPOT_ETH_HEAD], ids=["spot-btc-head", "spot-eth-head"])
@pytest.mark.parametrize("include_bbo", [False, True], ids=["trades+depth", "with-bbo"])
def test_spot_heads(path: Path, include_bbo: bool) -> None:
    _check_convert([path], include_bbo)


def test_sample_recording_both_files_consecutive() -> None:
    _check_convert(SPOT_BTC)


@pytest.fixture(scope="module")
def usdm_with_mark_price(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return with_mark_price(USDM_BTC, tmp_path_factory.mktemp("mark") / "btcusdt_20240808.gz")


@pytest.mark.parametrize("include_bbo", [False, True], ids=["trades+depth", "with-bbo"])
def test_usdm_with_mark_price_frames(include_bbo: bool, usdm_with_mark_price: Path) -> None:
    # markPrice@1s frames (one a second, a funding time passing among them) are declined by the scan
    # and go the per-message way in the middle of the bulk path: the rows are still the oracle's.
    want = _check_convert([usdm_with_mark_price], include_bbo)  # the bulk path's rows and state, then the converter's
    assert want.stats.mark_messages == 375 and want.stats.funding_rollovers == 1
    assert want.perp.saved().known


@pytest.mark.parametrize("chunk_size", [997, 4096], ids=["997B", "4KiB"])
def test_lines_split_across_reads(chunk_size: int) -> None:
    _check_bulk([SPOT_BTC_HEAD], chunk_size=chunk_size)


def test_bulk_array_growing_many_times(monkeypatch: pytest.MonkeyPatch) -> None:
    # The scan runs out of room mid-line over and over; each time it grows and resumes that line.
    monkeypatch.setattr(normalize_module, "_SCAN_ROOM", 7)
    _check_bulk([SPOT_BTC_HEAD], include_bbo=True)


def test_converter_reading_small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(convert_module, "_SCAN_CHUNK", 1000)
    _check_convert([SPOT_BTC_HEAD])


# -- injected faults ------------------------------------------------------------------------------


@functools.cache
def _capture(path: Path, lines: int | None = None) -> tuple[bytes, ...]:
    # A capture's lines, read once per process (each fault takes a new list of them)
    return tuple(_raw_lines(path)[:lines])


def _spot() -> Lines:
    return list(_capture(SPOT_BTC_HEAD))


def _usdm() -> Lines:
    return list(_capture(USDM_BTC, 6000))


def _where(lines: Lines, stream: bytes, nth: int) -> int:
    # Index of the nth line of a stream (counted after the book synced: past the snapshot).
    snapshot = next(i for i, line in enumerate(lines) if b'"lastUpdateId"' in line[:60])
    hits = [i for i, line in enumerate(lines) if i > snapshot and stream in line[20:60]]
    return hits[nth]


def _replace_once(out: Lines, lines: Lines, stream: bytes, nth: int, old: bytes, new: bytes) -> None:
    # In ``out``, the first ``old`` of the nth line of a stream (as ``_where`` counts in ``lines``) becomes ``new``.
    i = _where(lines, stream, nth)
    out[i] = out[i].replace(old, new, 1)


def _split(line: bytes) -> tuple[bytes, dict[str, Any]]:
    return line[:20], msgspec.json.decode(line[20:])


def _drop_depth(lines: Lines) -> Lines:
    i = _where(lines, b"@depth", 40)
    return lines[:i] + lines[i + 1 :]


def _duplicate_depth(lines: Lines) -> Lines:
    i = _where(lines, b"@depth", 40)
    return [*lines[: i + 1], lines[i], *lines[i + 1 :]]


def _swap_depth(lines: Lines) -> Lines:
    i = _where(lines, b"@depth", 40)
    j = _where(lines, b"@depth", 41)
    out = list(lines)
    out[i], out[j] = out[j], out[i]
    return out


def _malformed_json(lines: Lines) -> Lines:
    out = list(lines)
    for stream, nth in ((b"@depth", 30), (b"@trade", 30), (b"@bookTicker", 30)):
        i = _where(lines, stream, nth)
        out[i] = out[i][: len(out[i]) // 2]
    return out


def _malformed_levels(lines: Lines) -> Lines:
    out = list(lines)
    _replace_once(out, lines, b"@depth", 30, b'"b":[["', b'"b":[["x')
    _replace_once(out, lines, b"@depth", 50, b'"]]', b'",]]')
    return out


def _unknown_streams(lines: Lines) -> Lines:
    out = list(lines)
    i = _where(lines, b"@trade", 20)
    out.insert(i, out[i].replace(b"@trade", b"@kline_1m", 1))
    out.insert(i, out[i].replace(b"@trade", b"@aggTrade2", 1))
    out.insert(i, out[i].replace(b'"stream":"btcusdt@trade', b'"stream":"btcusdt', 1))
    return out


def _no_timestamp(lines: Lines) -> Lines:
    out = list(lines)
    i = _where(lines, b"@depth", 30)
    j = _where(lines, b"@trade", 30)
    out[i] = out[i][20:]
    out[j] = b"12345 " + out[j][20:]
    out.insert(j, b"\r")
    out.insert(j, b"")  # an empty line: skipped, not counted
    return out


def _spaces(lines: Lines) -> Lines:
    out = list(lines)
    for stream, nth in ((b"@depth", 30), (b"@trade", 30), (b"@bookTicker", 30)):
        i = _where(lines, stream, nth)
        out[i] = out[i][:20] + out[i][20:].replace(b'":', b'": ').replace(b",", b", ")
    i = _where(lines, b"@depth", 31)
    out[i] = out[i] + b" "  # trailing whitespace
    j = _where(lines, b"@trade", 31)
    out[j] = out[j] + b"\r"  # a CRLF line end
    return out


def _key_order(lines: Lines) -> Lines:
    out = list(lines)
    for stream, nth in ((b"@depth", 30), (b"@trade", 30), (b"@bookTicker", 30), (b"@depth", 31)):
        i = _where(lines, stream, nth)
        prefix, frame = _split(out[i])
        data = frame["data"]
        order = list(reversed(data)) if nth == 30 else [k for k in data if k not in "ab"] + ["a", "b"]
        frame["data"] = {k: data[k] for k in order}
        out[i] = prefix + msgspec.json.encode(frame)
    # the envelope's own keys swapped
    i = _where(lines, b"@depth", 32)
    prefix, frame = _split(out[i])
    out[i] = prefix + msgspec.json.encode({"data": frame["data"], "stream": frame["stream"]})
    # header keys after the levels: the scan handles these itself
    i = _where(lines, b"@depth", 33)
    prefix, frame = _split(out[i])
    data = frame["data"]
    frame["data"] = {"b": data["b"], "a": data["a"], **{k: v for k, v in data.items() if k not in "ab"}}
    out[i] = prefix + msgspec.json.encode(frame)
    return out


def _bare_messages(lines: Lines) -> Lines:
    out = list(lines)
    for stream, nth in ((b"@depth", 30), (b"@trade", 30), (b"@bookTicker", 30)):
        i = _where(lines, stream, nth)
        prefix, frame = _split(out[i])
        out[i] = prefix + msgspec.json.encode(frame["data"])
    i = _where(lines, b"@trade", 31)
    out.insert(i, out[i][:20] + b'{"result":null,"id":1}')
    out.insert(i, out[i][:20] + b'{"code":-1003,"msg":"Too many requests"}')
    return out


def _other_symbols_and_values(lines: Lines) -> Lines:
    # Frames the scan must settle exactly or hand over: other symbols, non-market trades, escapes,
    # numbers outside its exact range, duplicate keys, large ids and times.
    out = list(lines)

    def edit(stream: bytes, nth: int, fn: Callable[[dict[str, Any]], None]) -> None:
        i = _where(lines, stream, nth)
        prefix, frame = _split(out[i])
        fn(frame["data"])
        out[i] = prefix + msgspec.json.encode(frame)

    edit(b"@trade", 10, lambda d: d.update(s="ETHUSDT"))
    edit(b"@depth", 10, lambda d: d.update(s="ETHUSDT"))
    edit(b"@bookTicker", 10, lambda d: d.update(s="ETHUSDT"))
    edit(b"@trade", 11, lambda d: d.update(X="INSURANCE_FUND"))
    edit(b"@trade", 12, lambda d: d.update(p="61800.123456789012345", q="0.00000000000000000001"))
    edit(b"@trade", 13, lambda d: d.update(p="6.18e4", q="01.5"))
    edit(b"@trade", 14, lambda d: d.update(q="-0.0", p="12345678901234.5"))
    edit(b"@depth", 11, lambda d: d["b"].insert(0, ["61800.123456789012345", "1e-3"]))
    edit(b"@depth", 12, lambda d: d["a"].insert(0, ["0000.5", "1."]))
    edit(b"@depth", 13, lambda d: d["a"].insert(0, ["-0.0", "12345678.00000000"]))
    # past what the scan takes (ms < 9e12, 18-digit ids), still within int64 for the rows
    edit(b"@depth", 14, lambda d: d.update(E=9_100_000_000_000, T=9_100_000_000_000))
    edit(b"@trade", 15, lambda d: d.update(t=1_234_567_890_123_456_789))
    edit(b"@bookTicker", 11, lambda d: d.update(u=1_234_567_890_123_456_789))
    _replace_once(out, lines, b"@trade", 16, b'"s":"', b'"s":"\\u0042')
    _replace_once(out, lines, b"@trade", 16, b"\\u0042B", b"\\u0042")
    _replace_once(out, lines, b"@trade", 17, b'"p":', b'"p":"1.0","p":')
    _replace_once(out, lines, b"@depth", 15, b'"e":"depthUpdate"', b'"e":"depth\\u0055pdate"')
    return out


def _before_the_snapshot(lines: Lines) -> Lines:
    # Faults while diffs are still buffered: a malformed one, a duplicate, one of another symbol.
    snapshot = next(i for i, line in enumerate(lines) if b'"lastUpdateId"' in line[:60])
    depth = [i for i in range(snapshot) if b"@depth" in lines[i][20:60]]
    out = list(lines)
    out.insert(depth[0] + 1, lines[depth[0]])
    out[depth[1] + 1] = out[depth[1] + 1][:-5]
    return out


FAULTS: dict[str, Callable[[Lines], Lines]] = {
    "drop-depth": _drop_depth,
    "duplicate-depth": _duplicate_depth,
    "swap-depth": _swap_depth,
    "malformed-json": _malformed_json,
    "malformed-levels": _malformed_levels,
    "unknown-stream": _unknown_streams,
    "no-timestamp": _no_timestamp,
    "spaces-in-json": _spaces,
    "key-order": _key_order,
    "bare-messages": _bare_messages,
    "odd-values": _other_symbols_and_values,
    "before-snapshot": _before_the_snapshot,
}


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("capture", ["spot", "usdm"])
@pytest.mark.parametrize("include_bbo", [False, True], ids=["trades+depth", "with-bbo"])
def test_fault(fault: str, capture: str, include_bbo: bool, tmp_path: Path) -> None:
    lines = (_spot if capture == "spot" else _usdm)()
    faulted = FAULTS[fault](lines)
    assert faulted != lines
    _check_convert([_write(tmp_path / f"{capture}_{fault}.gz", faulted)], include_bbo)


def test_gap_then_a_new_snapshot_resyncs_in_the_bulk_path(tmp_path: Path) -> None:
    # Drop a diff (a gap), then replay the original snapshot line later: too old, still out of sync.
    lines = _spot()
    snapshot = next(line for line in lines if b'"lastUpdateId"' in line[:60])
    faulted = _drop_depth(lines)
    faulted.insert(_where(faulted, b"@depth", 60), snapshot)
    _check_convert([_write(tmp_path / "resync.gz", faulted)])


def test_unterminated_last_line_and_empty_lines(tmp_path: Path) -> None:
    lines = _spot()[:500]
    path = tmp_path / "tail.gz"
    with gzip.open(path, "wb") as f:
        f.write(b"\n\n" + b"\n".join(lines).rstrip(b"\n"))  # no final newline, two leading empty lines
    _check_convert([path])


def test_plain_text_file(tmp_path: Path) -> None:
    path = tmp_path / "plain.txt"
    path.write_bytes(b"\n".join(_spot()[:800]))
    _check_convert([path])


# -- the pieces ------------------------------------------------------------------------------------


def _decimal(text: str) -> float | None:
    buf = np.frombuffer(b'"' + text.encode() + b'"', np.uint8)
    value, end = read_decimal(buf, 0, buf.shape[0], POW10)
    return value if end == buf.shape[0] else None


def test_decimals_are_float_of_the_text_or_refused() -> None:
    lax = msgspec.json.Decoder(list[float], strict=False)
    rng = random.Random(20240808)
    texts = ["0", "-0", "0.0", "-0.000", "61800.20", "61837.63000000", "0.00000001", "123456789012345"]
    for _ in range(20_000):
        whole = str(rng.randrange(10 ** rng.randrange(1, 13)))
        frac = "".join(rng.choice("0123456789") for _ in range(rng.randrange(0, 12)))
        texts.append(("-" if rng.random() < 0.1 else "") + whole + ("." + frac if frac else ""))
    accepted = 0
    for text in texts:
        got = _decimal(text)
        whole, _, frac = text.lstrip("-").partition(".")
        mantissa = int(whole + frac.rstrip("0"))  # the fraction's trailing zeros do not count
        if len(whole + frac) > 18 or mantissa >= 10**15:
            assert got is None, text
            continue
        assert got is not None, text
        accepted += 1
        want = float(text)
        assert np.float64(got).tobytes() == np.float64(want).tobytes(), text
        assert lax.decode(b'["' + text.encode() + b'"]')[0] == want  # what the trade decoder makes
    assert accepted > 10_000
    for text in ["", "-", ".5", "5.", "05", "00.5", "+1", "1e3", "1.5e-3", " 1", "1 ", "nan", "1.2.3",
                 "1234567890123456", "0.1234567890123456", "1234567890123456789"]:  # fmt: skip
        assert _decimal(text) is None, text


def test_row_sink_keeps_order_across_segments_and_bulk_rows() -> None:
    sink = RowSink()
    sink.one(1, 10, 11, 1.5, 2.5, order_id=3, ival=4)
    bulk, fill = sink.reserve(2)
    assert fill == 1
    bulk[fill : fill + 2] = np.zeros(2, bulk.dtype)
    bulk["ev"][fill : fill + 2] = [2, 3]
    sink.commit(fill + 2)
    sink.levels(4, 20, 21, np.array([[1.0, 2.0], [3.0, 4.0]]), ival=9)
    extra = np.zeros(1, bulk.dtype)
    extra["ev"] = 5
    sink.extend(extra)
    sink.one(6, 30, 31, 0.0, 0.0, fval=float("nan"))
    sink.one(7, 40, 41, 0.0, 0.0, fval=2.5)
    assert sink.rows == 8
    rows = sink.take()
    assert rows["ev"].tolist() == [1, 2, 3, 4, 4, 5, 6, 7]
    assert rows["ival"].tolist() == [4, 0, 0, 9, 9, 0, 0, 0]
    assert rows["fval"][:6].tolist() == [0.0] * 6 and np.isnan(rows["fval"][6]) and rows["fval"][7] == 2.5
    assert sink.rows == 0 and sink.taken == 8 and len(sink.take()) == 0
    sink.one(1, 1, 1, 0.0, 0.0, fval=3.5)  # a value set before a bulk reserve lands on its row
    bulk, fill = sink.reserve(1)
    sink.commit(fill)
    sink.one(2, 1, 1, 0.0, 0.0, fval=4.5)
    assert sink.take()["fval"].tolist() == [3.5, 4.5]
    with pytest.raises(ValueError, match="does not follow"):
        sink.commit(1)


def test_the_scan_settles_almost_every_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # Equality alone would also hold if every line went the per-message way: check it does not.
    handed_over: list[bytes] = []
    per_line = BinanceNormalizer.on_lines

    def counting(self: BinanceNormalizer, lines: Sequence[bytes], on_bad_line: Callable[[bytes], None]) -> None:
        handed_over.extend(lines)
        per_line(self, lines, on_bad_line)

    monkeypatch.setattr(BinanceNormalizer, "on_lines", counting)
    result = convert_files([USDM_BTC], venue="binance", with_eod=False)
    assert result.stats.messages == 93_954
    # the first line (symbol not known yet), the diffs buffered before the snapshot, the snapshot
    assert len(handed_over) <= 10
    assert sum(b'"lastUpdateId"' in line for line in handed_over) == 1


def test_prefetching_reader_equals_the_plain_one_and_stops_cleanly(tmp_path: Path) -> None:
    plain = b"".join(bytes(c) for c in LineReader(SPOT_BTC_HEAD, 4096).chunks())
    ahead = b"".join(bytes(c) for c in LineReader(SPOT_BTC_HEAD, 4096).chunks(prefetch=2))
    assert ahead == plain
    # a consumer that stops early leaves no helper thread behind
    chunks = LineReader(SPOT_BTC_HEAD, 1024).chunks(prefetch=2)
    next(chunks)
    chunks.close()
    assert not [t for t in threading.enumerate() if t.name == "recording-inflate"]


def test_prefetching_reader_on_a_truncated_file(tmp_path: Path) -> None:
    whole = _write(tmp_path / "whole.gz", _spot()[:1500])
    cut = tmp_path / "cut.gz"
    cut.write_bytes(whole.read_bytes()[:-3000])
    plain = LineReader(cut, 2048)
    ahead = LineReader(cut, 2048)
    assert b"".join(map(bytes, plain.chunks())) == b"".join(map(bytes, ahead.chunks(prefetch=3)))
    assert ahead.report.truncated and ahead.report.lost_tail_bytes == plain.report.lost_tail_bytes > 0


def test_prefetching_reader_reraises_the_helpers_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(self: LineReader) -> Iterator[bytes]:
        yield b"1723161253937085768 {}\n"
        raise OSError("disk gone")

    monkeypatch.setattr(LineReader, "_pieces", failing)
    chunks = LineReader(SPOT_BTC_HEAD).chunks(prefetch=2)
    assert bytes(next(chunks)).startswith(b"1723161253937085768")
    with pytest.raises(OSError, match="disk gone"):
        next(chunks)
