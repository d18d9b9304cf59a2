"""The compiled token readers: the level reader accepts exactly the decimals the decimal reader does."""

from __future__ import annotations

import random

import numpy as np

from arb.events import event_dtype
from connectors.common.scan import FAIL, FULL, POW10, finish_levels, read_decimal_packed, read_levels


def _packed(text: bytes) -> int | None:
    buf = np.frombuffer(b'"' + text + b'"', np.uint8)
    packed, end = read_decimal_packed(buf, 0, buf.shape[0])
    return packed if end == buf.shape[0] else None


def _levels(text: bytes, rows: int = 4) -> tuple[int, int, np.ndarray]:
    buf = np.frombuffer(text, np.uint8)
    out = np.zeros(rows, event_dtype)
    count, end = read_levels(buf, 0, buf.shape[0], out, 0, 7)
    return count, end, out


def _texts() -> list[bytes]:
    rng = random.Random(20240808)
    texts = [b"0", b"-0", b"0.0", b"61837.63000000", b"0.00000001", b"123456789012345", b"1234567890123450000"]
    texts += [b"", b"-", b".5", b"5.", b"05", b"00.5", b"+1", b"1e3", b"1.2.3", b"--1", b"-.5", b" 1", b"1 "]
    texts += [b"1234567890123456", b"0.1234567890123456", b"123456789012345678", b"1234567890123456789"]
    alphabet = b"0000123456789..-e+ x"
    for _ in range(30_000):
        texts.append(bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 22))))
    for _ in range(10_000):
        whole = str(rng.randrange(10 ** rng.randrange(1, 13))).encode()
        frac = bytes(rng.choice(b"0123456789") for _ in range(rng.randrange(0, 10)))
        texts.append((b"-" if rng.random() < 0.1 else b"") + whole + (b"." + frac if frac else b""))
    return texts


def test_level_reader_takes_exactly_what_the_decimal_reader_takes() -> None:
    accepted = 0
    for text in _texts():
        want = _packed(text)
        for frame in (b'[["' + text + b'","1"]]', b'[["1","' + text + b'"]]'):
            count, end, out = _levels(frame)
            if want is None:
                assert end == FAIL, frame
                continue
            assert (count, end) == (1, len(frame)), frame
            field = "exch_ts" if frame.startswith(b'[["' + text) else "ival"
            assert int(out[0][field]) == want, frame
            assert int(out[0]["ev"]) == 7
        accepted += want is not None
    assert accepted > 10_000


def test_level_reader_layout_and_room() -> None:
    count, end, out = _levels(b'[["61837.63","0.5"],["61837.62","0"]]')
    assert (count, end) == (2, 37)
    finish_levels(out, 0, 2, 5, 6, 9, POW10)
    assert out["px"][:2].tolist() == [61837.63, 61837.62] and out["qty"][:2].tolist() == [0.5, 0.0]
    assert out["exch_ts"][:2].tolist() == [5, 5] and out["ival"][:2].tolist() == [9, 9]
    assert _levels(b"[]")[:2] == (0, 2)
    assert _levels(b'[["1","2"],["3","4"]]', rows=1)[1] == FULL
    malformed = [b'[["1","2"]', b'[["1","2"],]', b'[["1"]]', b'[["1","2","3"]]', b"[[1,2]]", b'[ ["1","2"]]']
    malformed += [b'[["1", "2"]]', b'[["1","2"]x', b'[["1","2"', b'[["1","2', b"[", b"", b'{"1":"2"}']
    for bad in malformed:
        assert _levels(bad)[1] == FAIL, bad
