"""Reading recordings: truncated gzip, bad lines, concatenated members; writing outputs atomically."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from arb.errors import RecordingError
from arb.recording.convert import convert_files, load_eod, write_npz
from arb.recording.format import LineReader, format_line
from tests.helpers import SPOT_BTC_HEAD, read_lines


def _write(path, lines: list[tuple[int, bytes]]) -> None:
    with gzip.open(path, "wb") as f:
        for ts, payload in lines:
            f.write(format_line(ts, payload))


def test_truncated_gzip_keeps_every_complete_line(tmp_path) -> None:
    lines = read_lines(SPOT_BTC_HEAD)[:400]
    whole = tmp_path / "whole.gz"
    _write(whole, lines)
    cut = tmp_path / "cut.gz"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])  # the recorder died mid-write
    reader = LineReader(cut)
    got = list(reader)
    assert 0 < len(got) < len(lines)
    assert got == lines[: len(got)]  # exactly a prefix, nothing garbled
    assert reader.report.truncated
    assert reader.report.lost_tail_bytes > 0


def test_truncated_input_converts_what_is_complete(tmp_path) -> None:
    lines = read_lines(SPOT_BTC_HEAD)[:1500]
    whole = tmp_path / "whole.gz"
    _write(whole, lines)
    cut = tmp_path / "cut.gz"
    cut.write_bytes(whole.read_bytes()[:-4000])
    result = convert_files([cut])
    assert [r.truncated for r in result.reads] == [True]
    n = result.reads[0].lines
    prefix = tmp_path / "prefix.gz"
    _write(prefix, lines[:n])
    reference = convert_files([prefix])
    assert np.array_equal(result.rows, reference.rows)


def test_lines_without_a_timestamp_are_counted_and_skipped(tmp_path) -> None:
    lines = read_lines(SPOT_BTC_HEAD)[:50]
    path = tmp_path / "bad.gz"
    with gzip.open(path, "wb") as f:
        for i, (ts, payload) in enumerate(lines):
            f.write(format_line(ts, payload))
            if i == 10:
                f.write(b"garbage without a timestamp\n\n")
    reader = LineReader(path)
    got = list(reader)
    assert got == lines
    assert reader.report.bad_lines == 1
    assert reader.report.bad_samples == [(12, "garbage without a timestamp")]  # its line number, as zcat counts


def test_concatenated_gzip_members_read_as_one_stream(tmp_path) -> None:
    lines = read_lines(SPOT_BTC_HEAD)[:60]
    path = tmp_path / "members.gz"
    with path.open("wb") as out:
        for chunk in (lines[:20], lines[20:45], lines[45:]):
            out.write(gzip.compress(b"".join(format_line(ts, p) for ts, p in chunk)))
    assert list(LineReader(path, chunk_size=977)) == lines


def test_plain_text_recordings_are_read_too(tmp_path) -> None:
    lines = read_lines(SPOT_BTC_HEAD)[:30]
    path = tmp_path / "plain.txt"
    path.write_bytes(b"".join(format_line(ts, p) for ts, p in lines))
    assert list(LineReader(path)) == lines


def test_missing_and_empty_inputs_are_clear_errors(tmp_path) -> None:
    with pytest.raises(RecordingError, match="no such recording file"):
        convert_files([tmp_path / "nope.gz"])
    empty = tmp_path / "empty.gz"
    _write(empty, [])
    with pytest.raises(RecordingError, match="no lines"):
        convert_files([empty])
    with pytest.raises(RecordingError, match="no lines"):
        convert_files([empty], venue="binance")


def test_failed_write_leaves_the_previous_output_whole(tmp_path, monkeypatch) -> None:
    rows = convert_files([SPOT_BTC_HEAD]).rows
    out = tmp_path / "day.npz"
    write_npz(out, rows)
    before = out.read_bytes()

    def boom(*args, **kwargs):  # Ctrl-C in the middle of saving
        args[0].write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez_compressed", boom)
    with pytest.raises(KeyboardInterrupt):
        write_npz(out, rows[:10])
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["day.npz"]


def test_eod_snapshot_round_trip_and_bad_file(tmp_path) -> None:
    with pytest.raises(RecordingError, match="no such snapshot"):
        load_eod(tmp_path / "missing.npz")
    other = tmp_path / "other.npz"
    np.savez(other, x=np.arange(3))
    with pytest.raises(RecordingError, match="not an arb end-of-day snapshot"):
        load_eod(other)
