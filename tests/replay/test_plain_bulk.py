"""The Numba-free bulk read of Binance lines equals reading them one by one.

``BinanceNormalizer.on_lines`` of a normalizer without compiled code (the Numba-free conversion of a
small recording) settles the common lines of a block with array operations (``connectors.binance.bulk``,
``connectors.common.levels_bulk``) and every other line with the per-message code. Whatever the lines,
the rows (all fields, bit for bit), counters, transitions, book state, bad lines and logged payloads
must be those of ``on_message`` line by line on a normalizer of its own; checked on the captures and on
copies with faults injected (truncated and malformed lines, gaps, unknown streams and events, levels
spelled every unusual way), in blocks of several sizes. The whole conversion against the compiled path
is ``tests/replay/test_plain_path.py``'s.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest

from arb.events import EventArray
from arb.recording.convert import convert_files
from connectors.binance import bulk as bulk_module
from connectors.binance.normalize import BinanceNormalizer
from connectors.common.levels import parse_levels_plain
from connectors.common.levels_bulk import parse_level_arrays
from connectors.common.record_files import LineReader
from tests.replay.test_bulk_path import FAULTS, Lines, _raw_lines, _same_rows, _same_state, _usdm, _where, _write
from tests.replay.test_plain_path import _same_conversion
from tests.support.captures import SPOT_BTC_HEAD, USDM_BTC

# -- the oracle: on_message line by line, without compiled code --------------------------------


def _one_by_one(lines: Lines, include_bbo: bool) -> tuple[BinanceNormalizer, EventArray, list[bytes]]:
    normalizer = BinanceNormalizer(include_bbo=include_bbo, echo=False, compiled=False)
    bad: list[bytes] = []
    for line in lines:
        if not line:
            continue
        if line[19:20] == b" " and line[:19].isdigit():
            normalizer.on_message(line[20:], int(line[:19]))
        else:
            bad.append(line)
    return normalizer, normalizer.sink.take(), bad


def _in_blocks(lines: Lines, include_bbo: bool, block: int) -> tuple[BinanceNormalizer, EventArray, list[bytes]]:
    normalizer = BinanceNormalizer(include_bbo=include_bbo, echo=False, compiled=False)
    bad: list[bytes] = []
    kept = [line for line in lines if line]
    for at in range(0, len(kept), block):
        normalizer.on_lines(kept[at : at + block], bad.append)
    return normalizer, normalizer.sink.take(), bad


def _check(lines: Lines, include_bbo: bool = False, block: int = 2000) -> BinanceNormalizer:
    want, want_rows, want_bad = _one_by_one(lines, include_bbo)
    got, got_rows, got_bad = _in_blocks(lines, include_bbo, block)
    _same_rows(got_rows, want_rows)
    _same_state(got, want)
    assert got_bad == want_bad
    assert got.bad_payloads.samples == want.bad_payloads.samples
    assert got.stats.unknown_stream_names == want.stats.unknown_stream_names
    return got


# -- faults of the bulk read's own ---------------------------------------------------------------


def _edit_levels(lines: Lines, nth: int, side: bytes, text: bytes) -> Lines:
    # The nth diff (after the snapshot) with its bids or asks spelled as ``text``.
    out = list(lines)
    i = _where(lines, b"@depth", nth)
    head, _, rest = out[i].partition(b'"' + side + b'":[')
    depth = 1
    end = 0
    while depth:
        depth += {ord("["): 1, ord("]"): -1}.get(rest[end], 0)
        end += 1
    out[i] = head + b'"' + side + b'":' + text + rest[end:]
    return out


_ODD_LEVELS = [
    b'[["1.","2"]]',
    b'[[".5","2"]]',
    b'[["007","2"]]',
    b'[["1e3","2"]]',
    b'[[ "1", "2" ]]',
    b'[["1","2","3"]]',
    b'[["1"]]',
    b"[[1,2],[3.25,4]]",
    b'[["-0.0","1"],["-12.5","0.000"]]',
    b'[["1234567890.123456","1"]]',
    b'[["12345678.1234567","1"]]',
    b'[["123456789","1"]]',
    b'[["1.123456789","1"]]',
    b'[["1\\u0030","2"]]',
    b'[["nan","2"]]',
    b'[["1","2"],]',
    b'[["1","2"]["3","4"]]',
    b'[[["1","2"]]]',
    b'[["1","2"],"3"]',
    b'[["1-2","3"]]',
    b'[["1..2","3"]]',
    b'[["--1","3"]]',
    b'[["","3"]]',
    b"[]",
]


def _odd_levels(lines: Lines) -> Lines:
    out = list(lines)
    for k, text in enumerate(_ODD_LEVELS):
        out = _edit_levels(out, 20 + k, b"b" if k % 2 else b"a", text)
    return out


def _unknown_events(lines: Lines) -> Lines:
    out = list(lines)
    i = _where(lines, b"@depth", 20)
    out[i] = out[i].replace(b'"e":"depthUpdate"', b'"e":"depthUpdateV2"', 1)  # a known stream: still a diff
    j = _where(lines, b"@trade", 20)
    out.insert(j, out[j][:20] + b'{"e":"newEvent","E":1723161256299,"s":"BTCUSDT"}')
    out.insert(j, out[j][:20] + b'{"stream":"btcusdt@newStream","data":{"e":"newEvent"}}')
    return out


def _truncated(lines: Lines) -> Lines:
    out = list(lines)
    for stream, nth, keep in ((b"@depth", 60, 150), (b"@depth", 61, 40), (b"@trade", 60, 60), (b"@trade", 61, 25)):
        i = _where(lines, stream, nth)
        out[i] = out[i][:keep]
    out[-1] = out[-1][: len(out[-1]) // 3]
    return out


def _gaps(lines: Lines) -> Lines:
    out = list(lines)
    i = _where(lines, b"@depth", 25)
    out[i] = out[i].replace(b'"pu":', b'"pu":1', 1)  # its pu no longer the previous u: a gap
    j = _where(lines, b"@depth", 45)
    return out[:j] + out[j + 2 :]  # two diffs lost


_BULK_FAULTS: dict[str, Callable[[Lines], Lines]] = {
    "odd-levels": _odd_levels,
    "unknown-events": _unknown_events,
    "truncated": _truncated,
    "gaps": _gaps,
}
_ALL = {**FAULTS, **_BULK_FAULTS}


@pytest.mark.parametrize("fault", list(_ALL))
@pytest.mark.parametrize("include_bbo", [False, True], ids=["trades+depth", "with-bbo"])
def test_bulk_equals_one_by_one_on_faults(fault: str, include_bbo: bool) -> None:
    lines = _usdm()
    faulted = _ALL[fault](lines)
    assert faulted != lines
    _check(faulted, include_bbo)


@pytest.mark.parametrize("block", [64, 257, 100_000])
def test_bulk_equals_one_by_one_in_blocks(block: int) -> None:
    _check(_odd_levels(_truncated(_usdm())), block=block)


def test_bulk_equals_one_by_one_on_spot() -> None:
    _check(_raw_lines(SPOT_BTC_HEAD))


@pytest.mark.parametrize("chunk_size", [1000, 1 << 16])
@pytest.mark.parametrize("include_bbo", [False, True], ids=["trades+depth", "with-bbo"])
def test_whole_buffers_equal_one_by_one(chunk_size: int, include_bbo: bool, tmp_path: Path) -> None:
    # on_chunk over LineReader.chunks (what the converter hands a normalizer without compiled code): empty
    # lines, lines without the prefix, an unterminated last line, buffers cut anywhere.
    lines = _truncated(_odd_levels(_unknown_events(_usdm())))
    lines[300:300] = [b"", b"", b"12345 not a line", b"\r"]
    path = _write(tmp_path / "chunks.gz", lines)
    want, want_rows, want_bad = _one_by_one(lines, include_bbo)
    got = BinanceNormalizer(include_bbo=include_bbo, echo=False, compiled=False)
    reader = LineReader(path, chunk_size)
    for chunk in reader.chunks():
        reader.add_lines(got.on_chunk(chunk, reader.bad_line))
    _same_rows(got.sink.take(), want_rows)
    _same_state(got, want)
    assert got.bad_payloads.samples == want.bad_payloads.samples
    assert reader.report.lines == sum(1 for line in lines if line)
    assert reader.report.bad_lines == len(want_bad)


@pytest.mark.parametrize("fault", list(_BULK_FAULTS))
def test_plain_conversion_equals_compiled_on_bulk_faults(fault: str, tmp_path: Path) -> None:
    path = _write(tmp_path / f"{fault}.gz", _BULK_FAULTS[fault](_usdm()))
    options: dict[str, Any] = {"venue": "binance", "allow_damaged": True}
    want = convert_files([path], **options)
    got = convert_files([path], plain=True, **options)
    _same_conversion(got, want)
    assert got.findings.files[0].decode_samples == want.findings.files[0].decode_samples


def test_the_capture_takes_the_bulk_read(monkeypatch: pytest.MonkeyPatch) -> None:
    # Only the uncommon lines go one by one: the first line, the diffs before the snapshot, the snapshot,
    # the bridge.
    one_by_one: list[int] = []
    real = BinanceNormalizer._one_by_one

    def counted(self: BinanceNormalizer, lines: Any, on_bad_line: Any) -> None:
        one_by_one.append(len(lines))
        real(self, lines, on_bad_line)

    monkeypatch.setattr(BinanceNormalizer, "_one_by_one", counted)
    settled: list[int] = []
    real_emit = bulk_module._Block.emit

    def emitted(self: Any, pos: int, stop: int) -> None:
        settled.append(stop - pos)
        real_emit(self, pos, stop)

    monkeypatch.setattr(bulk_module._Block, "emit", emitted)
    result = convert_files([USDM_BTC], plain=True, with_eod=False)
    assert result.stats.messages == 93_954
    assert sum(settled) > 93_900 and sum(one_by_one) < 50  # 7 when this was written


# -- the levels ----------------------------------------------------------------------------------


def _plain(text: bytes) -> Any:
    try:
        return parse_levels_plain(text)
    except ValueError:
        return None


def _check_levels(texts: list[bytes]) -> int:
    # Every array read in bulk is what parse_levels_plain reads, bit for bit; returns how many were.
    found = parse_level_arrays([msgspec.Raw(t) if k % 2 else t for k, t in enumerate(texts)])
    assert found.offsets.shape == (len(texts) + 1,) and found.ok.shape == (len(texts),)
    for k, text in enumerate(texts):
        got = found.values[found.offsets[k] : found.offsets[k + 1]]
        if found.ok[k]:
            want = _plain(text)
            assert want is not None, text
            assert got.shape == want.shape and got.tobytes() == want.tobytes(), text
        else:
            assert got.shape[0] == 0
    return int(found.ok.sum())


def test_levels_in_bulk_are_the_plain_parser_or_left_to_it() -> None:
    common = [b'[["61737.63000000","0.00100000"],["61737.62","1.5"]]', b"[]", b'[["0","-0"],["-0.000","99999999"]]']
    assert _check_levels(common + _ODD_LEVELS + common) >= 2 * len(common) + 2  # "-0.0..." and "[]" of the odd
    assert _check_levels(list(reversed(_ODD_LEVELS))) >= 2
    assert _check_levels([b'[["1\\"","2"]]', *common]) == len(common)  # an escaped quote does not shift the rest


def test_levels_in_bulk_on_random_decimals() -> None:
    rng = random.Random(20241127)

    def decimal() -> str:
        whole = str(rng.randrange(10 ** rng.randrange(1, 9)))
        if rng.random() < 0.3:
            text = whole
        else:
            text = whole + "." + "".join(rng.choice("0123456789") for _ in range(rng.randrange(1, 9)))
        return ("-" if rng.random() < 0.1 else "") + text

    texts = []
    for _ in range(300):
        pairs = ",".join(f'["{decimal()}","{decimal()}"]' for _ in range(rng.randrange(0, 30)))
        texts.append(f"[{pairs}]".encode())
    read = _check_levels(texts)
    assert read > 100  # the ones of at most 15 digits
    values = parse_level_arrays(texts).values
    assert np.isfinite(values).all()
