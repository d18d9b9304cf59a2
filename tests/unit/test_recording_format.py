"""Reading recordings: truncated gzip, bad lines, concatenated members; writing outputs atomically."""

from __future__ import annotations

import dataclasses
import gzip
import zipfile
import zlib

import numpy as np
import pytest

from arb.errors import RecordingError
from arb.events import event_dtype
from arb.recording.convert import convert_files
from arb.recording.npz import load_eod, read_member, save_eod, write_npz
from connectors.common.findings import FileFindings
from connectors.common.record_files import LineReader, format_line
from tests.support.captures import SPOT_BTC_HEAD, read_lines


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


def test_findings_of_a_read_keep_what_the_read_found_in_lists_of_their_own(tmp_path) -> None:
    lines = read_lines(SPOT_BTC_HEAD)[:50]
    path = tmp_path / "bad.gz"
    with gzip.open(path, "wb") as f:
        for ts, payload in lines:
            f.write(format_line(ts, payload) + b"no timestamp\n")
    reader = LineReader(path)
    list(reader)
    found = FileFindings.of_read(reader.report)
    read = reader.report
    assert (found.path, found.size, found.lines, found.bad_lines) == (read.path, read.size, read.lines, 50)
    assert (found.first_ts, found.end_ts) == (read.first_ts, read.end_ts) and found.first_ts == lines[0][0]
    assert found.bad_samples == read.bad_samples and found.bad_samples is not read.bad_samples
    assert found.messages == 0  # what only a conversion counts stays at its default


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

    monkeypatch.setattr(np.lib.format, "write_array", boom)
    with pytest.raises(KeyboardInterrupt):
        write_npz(out, rows[:10])
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["day.npz"]


def test_written_npz_is_a_deflated_zip_that_numpy_and_zipfile_read(tmp_path) -> None:
    # write_npz deflates with ISA-L (zipfile would use zlib): every reader must see the same arrays,
    # and each member must be compressed and pass zipfile's CRC check.
    rows = convert_files([SPOT_BTC_HEAD]).rows
    out = write_npz(tmp_path / "day.npz", rows, venue=np.array("binance"), update_id=np.array(7, np.int64))
    with zipfile.ZipFile(out) as z:
        assert z.testzip() is None
        infos = {i.filename: i for i in z.infolist()}
        assert set(infos) == {"data.npy", "venue.npy", "update_id.npy"}
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in infos.values())
        assert infos["data.npy"].compress_size < infos["data.npy"].file_size // 4
    with np.load(out, allow_pickle=False) as z:
        assert z["data"].tobytes() == rows.tobytes() and z["data"].dtype == rows.dtype
        assert str(z["venue"]) == "binance" and int(z["update_id"]) == 7


def test_a_member_read_in_one_pass_is_what_numpy_reads(tmp_path) -> None:
    # A day of events (a record dtype) and the shapes NumPy's own reader keeps: each the same bytes, dtype
    # and shape as np.load's; a member cut short is an error, never a shorter array.
    events = np.zeros(70_001, event_dtype)
    events["local_ts"] = np.arange(70_001)
    events["px"] = np.linspace(1.0, 2.0, 70_001)
    extra = {"none": events[:0], "grid": np.ones((3, 2)), "fortran": np.asfortranarray(np.ones((3, 2))),
             "word": np.array("venue"), "count": np.array(7, np.int64)}  # fmt: skip
    path = write_npz(tmp_path / "x.npz", events, **extra)
    with np.load(path, allow_pickle=False) as z:
        for key in ("data", *extra):
            got, want = read_member(z, key), z[key]
            assert (got.dtype, got.shape, got.tobytes()) == (want.dtype, want.shape, want.tobytes()), key
    short = tmp_path / "short.npz"
    with zipfile.ZipFile(path) as whole, zipfile.ZipFile(short, "w", zipfile.ZIP_DEFLATED) as cut:
        cut.writestr("data.npy", whole.read("data.npy")[:-640])
    with np.load(short, allow_pickle=False) as z, pytest.raises(ValueError, match="bytes of array data"):
        read_member(z, "data")


def test_eod_snapshot_round_trip_and_bad_file(tmp_path) -> None:
    eod = convert_files([SPOT_BTC_HEAD]).eod
    assert eod is not None and eod.venue_state == ""  # binance's normalizer needs nothing beyond the book
    state = '{"ct_val": "0.01", "asks": [["67001.5", "2"]]}'
    loaded = load_eod(save_eod(tmp_path / "eod.npz", dataclasses.replace(eod, venue_state=state)))
    assert loaded.venue_state == state and loaded.update_id == eod.update_id
    assert loaded.rows.tobytes() == eod.rows.tobytes()
    with np.load(tmp_path / "eod.npz") as z:  # a snapshot written before venue_state reads as "nothing"
        older = {name: z[name] for name in z.files if name != "venue_state"}
    np.savez_compressed(tmp_path / "older.npz", **older)
    assert load_eod(tmp_path / "older.npz").venue_state == ""
    with pytest.raises(RecordingError, match="no such snapshot"):
        load_eod(tmp_path / "missing.npz")
    other = tmp_path / "other.npz"
    np.savez(other, x=np.arange(3))
    with pytest.raises(RecordingError, match="not an arb end-of-day snapshot"):
        load_eod(other)


# -- damage: where it starts, a second read that skips it, cuts and zero-filled tails ------------------


def _members(*parts: list[tuple[int, bytes]]) -> bytes:
    return b"".join(gzip.compress(b"".join(format_line(ts, p) for ts, p in part)) for part in parts)


def _unfinished_member(lines: list[tuple[int, bytes]], extra: bytes = b"") -> bytes:
    # A gzip member as a recorder leaves it when it dies after a sync flush: no trailer.
    deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = deflate.compress(b"".join(format_line(ts, p) for ts, p in lines) + extra)
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + body + deflate.flush(zlib.Z_SYNC_FLUSH)


@pytest.mark.parametrize("prefetch", [0, 2])
def test_a_cut_member_is_read_on_from_the_next_one(tmp_path, prefetch: int) -> None:
    lines = read_lines(SPOT_BTC_HEAD)[:900]
    path = tmp_path / "cut.gz"
    path.write_bytes(_unfinished_member(lines[:400], b'1723161254167927184 {"unfini') + _members(lines[400:]))
    reader = LineReader(path, 4096)
    lost = []
    reader.on_lost = lost.append
    text = b"".join(bytes(c) for c in reader.chunks(prefetch=prefetch))
    assert text == b"".join(format_line(ts, p) for ts, p in lines)  # the unfinished line is dropped
    (cut,) = reader.report.cuts
    assert lost == [cut] and cut.line == 401 and cut.last_ts == lines[399][0]
    assert not reader.report.damage and not reader.report.truncated


def test_damage_starts_at_the_first_bad_line_and_a_second_read_skips_it(tmp_path) -> None:
    lines = read_lines(SPOT_BTC_HEAD)[:1500]
    good = _members(lines[:500])
    spoilt = bytearray(_members(lines[500:1000]))
    spoilt[len(spoilt) // 2] ^= 0xFF
    path = tmp_path / "damaged.gz"
    path.write_bytes(good + bytes(spoilt) + _members(lines[1000:]))
    first = LineReader(path, 2048, keep_going=True)
    list(first)
    (damage,) = first.report.damage
    assert 500 < damage.line <= 1000 and damage.located and damage.member_line == 501
    assert damage.resume_at == len(good) + len(spoilt)  # the third member
    assert damage.last_good_ts == lines[damage.line - 2][0]
    second = LineReader(path, 2048, skip=first.report.damage, keep_going=True)
    assert list(second) == lines[: damage.line - 1] + lines[1000:]  # no garbled line gets through
    assert second.report.damage == first.report.damage and second.report.bad_lines == 0
    strict = LineReader(path, 2048)
    list(strict)
    assert strict.report.damage[0].resume_at is None  # without keep_going the read ends at the damage


def test_a_zero_filled_tail_is_a_truncation(tmp_path) -> None:
    lines = read_lines(SPOT_BTC_HEAD)[:300]
    path = tmp_path / "zeros.gz"
    path.write_bytes(_unfinished_member(lines) + b"\0" * 4096)
    reader = LineReader(path)
    assert list(reader) == lines
    assert reader.report.truncated and reader.report.zero_tail_bytes == 4096 and not reader.report.damage


def test_a_file_that_is_not_gzip_says_so(tmp_path) -> None:
    path = tmp_path / "plain.gz"
    path.write_bytes(b"".join(format_line(ts, p) for ts, p in read_lines(SPOT_BTC_HEAD)[:10]))
    with pytest.raises(RecordingError, match=r"plain.gz: not a gzip file: it starts with b'17231.*an uncompressed"):
        convert_files([path], venue="binance")
