"""The scan's read of a day (a venue's scan read, ``connectors/<venue>/scan_read.py``) gives exactly what the
venue's normalizer gives, as a conversion reads the day: the same rows, the same findings (counts, samples, damage,
cuts) and so the same top of book, on a session of the sample and on damaged copies of its lines."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from arb.errors import RecordingError
from arb.events import SYNC_LOST_EVENT, SYNC_RESTORED_EVENT, EventArray, event_dtype
from arb.recording.venues import make_normalizer
from arb.scan.tops import Tops, read_tops, scan_read_of
from connectors.common import scan_pass
from connectors.common.findings import Findings
from connectors.common.record_files import format_line
from connectors.registry import venue_names
from tests.support.captures import BYBIT_OB500, RECORDINGS, kind_of, read_lines

_VENUES = ("bybit", "okx", "binance")
"""The venues with a scan read (the second test holds the list to the registry's)."""


def _session(venue: str) -> list[Path]:
    # A session of the venue's sample, its symbol's two days read in one go (the second day's book never syncs
    # alone). The sample's sessions are all alike (the same frames, the same depth): its smallest symbol's.
    return sorted(RECORDINGS.glob(f"{venue}_spot/solusdt_*.gz"))


def _both(paths: list[Path], **options: Any) -> tuple[tuple[Tops, Findings, EventArray], ...]:
    # The days read by the venue's scan read and by its normalizer: (tops, findings, rows) each. The venue,
    # market and symbol: the keywords', else the recording's folder and name.
    day = options
    if "venue" not in options:
        venue, market = paths[0].parent.name.split("_")
        day = {"venue": venue, "market": market, "symbol": paths[0].name.split("_")[0].upper(), **options}
    out = []
    for scan_read in (True, False):
        chunks: list[EventArray] = []

        def rows(chunks: list[EventArray] = chunks) -> Any:
            chunks.clear()  # a damaged file is read twice: only the last read's rows are the day's
            return lambda chunk: chunks.append(chunk.copy())

        tops, findings = read_tops(paths, rows, scan_read=scan_read, **day)
        out.append((tops, findings, np.concatenate(chunks) if chunks else np.zeros(0, event_dtype)))
    return tuple(out)


def _assert_same(paths: list[Path], **options: Any) -> tuple[Tops, Findings, EventArray]:
    (tops, findings, rows), (want_tops, want_findings, want_rows) = _both(paths, **options)
    assert findings == want_findings
    assert rows.tobytes() == want_rows.tobytes()  # every field of every row, NaN included
    assert tops.records.tobytes() == want_tops.records.tobytes() and tops.end_ns == want_tops.end_ns
    return tops, findings, rows


@pytest.mark.parametrize("venue", _VENUES)
def test_the_scan_read_gives_the_normalizers_rows_findings_and_tops(venue: str) -> None:
    tops, findings, rows = _assert_same(_session(venue))
    assert len(rows) and len(findings.files) == 2
    assert np.isfinite(tops.records["bid_px"]).any()


def test_every_venue_with_a_compiled_scanner_has_a_scan_read_and_another_format_reads_as_before() -> None:
    # Hyperliquid's recordings are read by its normalizer (no scan read); a Bybit archive file (another
    # format) by its own reader whatever scan_read says
    read = {name: scan_read_of(name) is not None for name in venue_names()}
    assert read == {**dict.fromkeys(_VENUES, True), "hyperliquid": False}
    day = {"venue": "bybit", "market": "linear", "symbol": "XRPUSDT", "fmt": "bybit-archive"}
    (tops, findings, _), (want_tops, want_findings, _) = _both([BYBIT_OB500], **day)
    assert findings == want_findings and tops.records.tobytes() == want_tops.records.tobytes()
    assert len(tops.records)


_LINES = 800
"""Lines of a sample day the damaged copies keep (a damaged book resyncs, or not, on the slow path: few lines)."""


def _rewrite(source: Path, target: Path, edit: Any) -> list[tuple[int, bytes]]:
    # The first _LINES lines of ``source`` passed through ``edit`` (a list in, a list out), as one member at target.
    lines = edit(read_lines(source)[:_LINES])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(gzip.compress(b"".join(format_line(ts, p) for ts, p in lines), mtime=0))
    return lines


def _depth_lines(lines: list[tuple[int, bytes]], marker: bytes) -> list[int]:
    return [k for k, (_, payload) in enumerate(lines) if marker in payload[:60]]


@pytest.mark.parametrize(("venue", "book", "trades"), [
    ("bybit", b'"orderbook.', b'"publicTrade.'),
    ("okx", b'"books"', b'"trades"'),
    ("binance", b"@depth", b"@trade"),
])  # fmt: skip
def test_damaged_lines_gaps_and_a_resync_read_the_same(tmp_path: Path, venue: str, book: bytes, trades: bytes) -> None:
    # Malformed payloads (a book frame and a trade frame cut short, a book frame with an unknown key), a line
    # without its time prefix, a duplicated and a missing book update (a gap: the book is lost), and the day's
    # first snapshot again later (Bybit's resync): logged, counted and skipped, lost and restored, alike.
    source = RECORDINGS / f"{venue}_spot" / "solusdt_20240808.gz"

    def edit(lines: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
        depth = _depth_lines(lines, book)
        trade = _depth_lines(lines, trades)
        a, b, c, d = depth[len(depth) // 5], depth[len(depth) // 3], depth[len(depth) // 2], depth[2 * len(depth) // 3]
        ts, payload = lines[a]
        lines[a] = (ts, payload[: len(payload) // 2])
        ts, payload = lines[trade[len(trade) // 2]]
        lines[trade[len(trade) // 2]] = (ts, payload[:-3])
        ts, payload = lines[b]
        lines[b] = (ts, payload.replace(b'{"', b'{"unknown":1,"', 2))
        lines.insert(c, lines[c])  # a duplicate
        del lines[d + 1]  # a gap
        lines.insert(d + 40, (lines[d + 40][0], lines[depth[0]][1]))  # the first snapshot again
        return lines

    lines = _rewrite(source, tmp_path / f"{venue}_spot" / source.name, edit)
    raw = tmp_path / f"{venue}_spot" / "solusdt_20240808.gz"
    raw.write_bytes(gzip.compress(gzip.decompress(raw.read_bytes()).replace(
        format_line(*lines[100]), b"garbage without a time\n" + format_line(*lines[100])), mtime=0))  # fmt: skip
    _, findings, rows = _assert_same([raw], allow_damaged=True)  # the line without its prefix: skipped
    (read,) = findings.files
    assert read.decode_errors >= 2 and read.bad_lines == 1 and read.gaps >= 1
    assert len(read.decode_samples) >= 2  # logged with their payload
    kinds = kind_of(rows)
    assert (kinds == SYNC_LOST_EVENT).sum() >= 1 and (kinds == SYNC_RESTORED_EVENT).sum() >= 1


def _members(*parts: list[tuple[int, bytes]]) -> bytes:
    return b"".join(gzip.compress(b"".join(format_line(ts, p) for ts, p in part), mtime=0) for part in parts)


def _unfinished_member(lines: list[tuple[int, bytes]]) -> bytes:
    # A gzip member as a recorder leaves it when it dies after a sync flush: no trailer, a line cut short.
    deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = deflate.compress(b"".join(format_line(ts, p) for ts, p in lines) + b'1723161254167927184 {"unfini')
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + body + deflate.flush(zlib.Z_SYNC_FLUSH)


@pytest.mark.parametrize("venue", ["bybit", "okx", "binance"])
def test_damaged_gzip_and_a_cut_read_the_same_and_once(tmp_path: Path, venue: str) -> None:
    # Corrupt deflate data in a middle member (with allow_damaged: skipped, the book lost there; found before
    # any of its lines is passed on, so the day is read once: a read again is the next test's) and a member cut
    # short by a recorder that died, then appended to: the same findings, rows and tops.
    lines = read_lines(RECORDINGS / f"{venue}_spot" / "solusdt_20240808.gz")[:_LINES]
    third = len(lines) // 3
    spoilt = bytearray(_members(lines[third : 2 * third]))
    spoilt[len(spoilt) // 2] ^= 0xFF
    damaged = tmp_path / f"{venue}_spot" / "solusdt_20240808.gz"
    damaged.parent.mkdir()
    damaged.write_bytes(_members(lines[:third]) + bytes(spoilt) + _members(lines[2 * third :]))
    with pytest.raises(RecordingError):
        read_tops([damaged], venue=venue, market="spot", symbol="SOLUSDT")
    tops, findings, _ = _assert_same([damaged], allow_damaged=True)
    assert findings.files[0].damage and (np.diff(tops.records["local_ts"]) >= 0).all()
    cut = tmp_path / f"{venue}_spot" / "solusdt_20240809.gz"
    cut.write_bytes(_unfinished_member(lines[:third]) + _members(lines[third:]))
    tops, findings, _ = _assert_same([cut])
    assert findings.files[0].cuts and (np.diff(tops.records["local_ts"]) >= 0).all()


@pytest.mark.parametrize("venue", ["bybit", "okx"])
def test_a_pass_short_of_room_asks_for_more_and_reads_the_same(monkeypatch: pytest.MonkeyPatch, venue: str) -> None:
    # A sink with room for a few rows at a time: the venue's pass stops at each line that needs more (its
    # NEEDS_ROOM) and goes on in a larger one, leaving what the normalizer's own code leaves
    lines = [format_line(ts, payload) for ts, payload in read_lines(_session(venue)[0])[:_LINES]]
    monkeypatch.setattr(scan_pass, "_ROOM", 1)
    read, own = (make_normalizer(venue, "spot", "SOLUSDT", echo=False, bulk=True) for _ in range(2))
    scan = scan_read_of(venue)
    bad: list[bytes] = []
    assert scan is not None and scan.read_chunk(read, b"".join(lines), bad.append) == _LINES
    own.on_lines([line.rstrip(b"\n") for line in lines], bad.append)
    assert not bad
    assert read.sink.take().tobytes() == own.sink.take().tobytes()
    assert read.stats == own.stats and read.status == own.status


@pytest.mark.parametrize("venue", ["okx", "binance"])
def test_a_day_read_again_after_damage_feeds_the_second_read_to_fresh_books_and_receivers(
    tmp_path: Path, venue: str
) -> None:
    # A stored (uncompressed) middle member with a flipped byte: its lines come out garbled before its check
    # fails at its end, so the first read has passed them on and the day is read again, skipping the member.
    # The second read's rows go to a new receiver and a new book (fed both, the tops would go back in time).
    lines = read_lines(RECORDINGS / f"{venue}_spot" / "solusdt_20240808.gz")[:4000]
    third = len(lines) // 3
    stored = bytearray(gzip.compress(b"".join(format_line(ts, p) for ts, p in lines[third : 2 * third]), 0, mtime=0))
    stored[len(stored) // 10] ^= 0x20
    damaged = tmp_path / f"{venue}_spot" / "solusdt_20240808.gz"
    damaged.parent.mkdir()
    damaged.write_bytes(_members(lines[:third]) + bytes(stored) + _members(lines[2 * third :]))
    for scan_read in (True, False):
        receivers = []

        def rows(receivers: list[list[EventArray]] = receivers) -> Any:
            receivers.append([])
            return lambda chunk, kept=receivers[-1]: kept.append(chunk.copy())

        tops, findings = read_tops([damaged], rows, venue=venue, market="spot", symbol="SOLUSDT",
                                   allow_damaged=True, scan_read=scan_read)  # fmt: skip
        assert len(receivers) == 2 and findings.files[0].damage  # read twice
        second = np.concatenate(receivers[1])["local_ts"]
        assert (np.diff(tops.records["local_ts"]) >= 0).all() and (np.diff(second) >= 0).all()
        assert tops.records["local_ts"][-1] <= second.max()
    _assert_same([damaged], allow_damaged=True)
