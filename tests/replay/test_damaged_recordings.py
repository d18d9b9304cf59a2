"""Damaged recordings through ``arb convert``, ``arb backtest`` and ``arb dry-run``: the exit code, a
message of a few lines that names the file, never a traceback, and the same answer on the second
run (when the backtest's conversion cache answers).

The damage is done to a constructed two-venue day (tests/support/scenario_days.py: 60 s, a message every
100 ms) or to the shipped Binance capture: a truncated tail, a CRC-32 that does not match, a byte
flipped inside the deflate data, a line that is not a recording line, an empty file, a Bybit file in
the Binance folder; a recorder that crashed and a later run that appended to the same file; floods
of bad lines and payloads.

In-process runs: pytest's log capture stands in for stderr (``main`` logs through the root logger),
so what a user would see is the captured records plus what was printed; one test per command runs
the real process and reads its stderr.
"""

from __future__ import annotations

import datetime as dt
import gzip
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from arb.cli import main
from arb.events import EVENT_KIND_MASK, SYNC_LOST_EVENT, SyncReason
from arb.recording.convert import convert_files
from arb.recording.recorder import Recorder
from arb.testing.configs import write_config_files
from connectors.common.record_files import LineReader
from tests.support.captures import ROOT, SPOT_BTC, read_lines
from tests.support.scenario_days import Book, write_scenario

DAY = dt.date(2024, 1, 1)
SHOWN_AT_MOST = 8
"""Lines a user sees for one damaged file (log lines and messages; the dry run's progress lines aside)."""


def _day(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A constructed day of both venues; (config, binance file, bybit file)."""
    binance, bybit = write_scenario(
        tmp_path / "recordings",
        DAY,
        Book(bids={59990.0: 1.0}, asks={60000.0: 1.0}),
        Book(bids={59995.0: 1.0}, asks={60005.0: 1.0}),
        [],
        duration_ms=60_000,
        heartbeat_ms=100,
    )
    overrides = {"backtest": {"recordings": "recordings"}, "dry_run": {"state_dir": "paper"}}
    return write_config_files(tmp_path, arbitrage_overrides=overrides), binance, bybit


def _truncated(binance: Path, bybit: Path) -> None:
    data = binance.read_bytes()
    binance.write_bytes(data[: len(data) * 2 // 3])  # the recorder died mid-write


def _checksum(binance: Path, bybit: Path) -> None:
    data = bytearray(binance.read_bytes())
    data[-8] ^= 0xFF  # the gzip trailer's CRC-32: every line reads, one of them must be wrong
    binance.write_bytes(bytes(data))


def _flipped(binance: Path, bybit: Path) -> None:
    data = bytearray(binance.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the deflate data: garbled lines from line 293 on
    binance.write_bytes(bytes(data))


def _garbage_line(binance: Path, bybit: Path) -> None:
    lines = gzip.decompress(binance.read_bytes()).splitlines(keepends=True)
    lines.insert(300, b"<html><body>502 Bad Gateway</body></html>\n")
    binance.write_bytes(gzip.compress(b"".join(lines)))


def _empty(binance: Path, bybit: Path) -> None:
    binance.write_bytes(b"")


def _wrong_venue(binance: Path, bybit: Path) -> None:
    binance.write_bytes(bybit.read_bytes())


DAMAGE: dict[str, tuple[Callable[[Path, Path], None], tuple[int, str], tuple[int, str]]] = {
    # name: (damage, (exit code, what the message says), the same with --allow-damaged)
    "truncated": (
        _truncated,
        (0, "was truncated (the recorder stopped mid-write): kept its 395 complete lines, up to 00:00:40.305 UTC"),
        (0, "was truncated (the recorder stopped mid-write): kept its 395 complete lines, up to 00:00:40.305 UTC"),
    ),
    "checksum": (
        _checksum,
        (2, "corrupt gzip data (CRC-32 mismatch at byte 7,172 of 7,177): some byte in lines 1-601 is wrong"),
        (0, "some byte in lines 1-601 is wrong and no line shows which; used them (--allow-damaged)"),
    ),
    "flipped": (
        _flipped,
        (2, "corrupt gzip data (CRC-32 mismatch at byte 7,172 of 7,177); the damage starts at line 293, after "
            "00:00:30.005 UTC; --allow-damaged keeps the lines before it"),
        (0, "lost everything from line 293 (after 00:00:30.005 UTC) to the end of the file"),
    ),
    "garbage line": (
        _garbage_line,
        (2, "line 301 is not a recording line (no 19-digit receive time): '<html><body>502 Bad Gateway</body></html>'"),
        (0, "skipped 1 line without the 19-digit receive time of a recording line: line 301 "),
    ),
    "empty": (_empty, (2, "empty file (0 bytes): nothing was recorded"), (2, "empty file (0 bytes)")),
    "wrong venue": (
        _wrong_venue,
        (2, "looks like bybit data"),  # "not binance", or for convert: "but it is in a binance_spot folder"
        (2, "looks like bybit data"),
    ),
}  # fmt: skip


def _argv(command: str, tmp_path: Path, config: Path, binance: Path, run: int) -> list[str]:
    out = str(tmp_path / f"out-{command}-{run}")
    if command == "convert":
        return ["convert", str(binance), "-o", out + ".npz"]
    if command == "backtest":
        return ["backtest", "--config", str(config), "--out", out]
    return ["dry-run", "--config", str(config), "--out", out, "--speed", "max", "--state-dir", str(tmp_path / "paper")]


def _run(
    argv: list[str], capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> tuple[int, list[str], int]:
    """(exit code, the warnings and errors said, how many lines a user would see)."""
    caplog.clear()
    with caplog.at_level(logging.INFO):
        code = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    printed = [line for line in err.splitlines() if line.strip() and not line.startswith("[")]  # [..] = progress
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    said += [line for line in printed if line.startswith("arb ")]
    shown = len([r for r in caplog.records if r.levelno >= logging.INFO]) + len(printed)
    return code, said, shown


@pytest.mark.parametrize("allow", [False, True], ids=["refused", "allowed"])
@pytest.mark.parametrize("command", ["convert", "backtest", "dry-run"])
@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_recording(tmp_path, capsys, caplog, damage: str, command: str, allow: bool) -> None:
    config, binance, bybit = _day(tmp_path)
    spoil, refused, allowed = DAMAGE[damage]
    spoil(binance, bybit)
    want_code, want_text = allowed if allow else refused
    answers = []
    for run in (1, 2):  # the second run of backtest and dry-run answers from the conversion cache
        argv = _argv(command, tmp_path, config, binance, run) + (["--allow-damaged"] if allow else [])
        code, said, shown = _run(argv, capsys, caplog)
        assert code == want_code, said
        about = [line for line in said if str(binance) in line]
        assert any(want_text in line for line in about), said
        assert shown <= SHOWN_AT_MOST, said
        if code == 2:
            assert len(said) == 1 and said[0].startswith(f"arb {command}: {binance}: ")  # one line, first the file
        answers.append((code, said))
    assert answers[0] == answers[1]


def test_damage_allowed_is_marked_out_of_sync_where_the_lines_were_lost(tmp_path) -> None:
    _, binance, bybit = _day(tmp_path)
    _flipped(binance, bybit)
    rows = convert_files([binance], allow_damaged=True).rows
    lost = rows[(rows["ev"] & EVENT_KIND_MASK) == SYNC_LOST_EVENT]
    assert len(lost) == 1  # one row, on both the exchange and the local side
    assert set(lost["ival"].tolist()) == {SyncReason.DAMAGED}
    assert int(lost["local_ts"].max()) <= int(rows["local_ts"].max())


def test_a_cached_allowed_conversion_still_refuses_without_the_flag(tmp_path, capsys, caplog) -> None:
    config, binance, bybit = _day(tmp_path)
    _flipped(binance, bybit)
    argv = ["backtest", "--config", str(config), "--out", str(tmp_path / "out")]
    fresh = _run(argv, capsys, caplog)
    assert _run([*argv, "--allow-damaged"], capsys, caplog)[0] == 0  # now the cache holds the kept part
    cached = _run(argv, capsys, caplog)
    assert cached[:2] == fresh[:2]
    assert cached[0] == 2


def _recorded_twice(tmp_path: Path, crash_cut: int) -> tuple[Path, list[tuple[int, bytes]]]:
    # A recorder that dies after a flush (and `crash_cut` more bytes are lost), then a second run
    # that appends to the same file: the first member has no gzip trailer.
    lines = read_lines(SPOT_BTC[0])[:3000]
    first = Recorder(tmp_path)
    for ts, payload in lines[:1500]:
        first.write("binance", "spot", "BTCUSDT", ts, payload)
    first.flush()
    path = first.paths[0]
    first._files.clear()  # the process dies here: the file is never closed
    if crash_cut:
        path.write_bytes(path.read_bytes()[:-crash_cut])
    with Recorder(tmp_path) as second:
        for ts, payload in lines[1500:]:
            second.write("binance", "spot", "BTCUSDT", ts, payload)
    return path, lines


@pytest.mark.parametrize("crash_cut", [0, 200], ids=["at-a-flush", "mid-write"])
def test_a_crashed_and_appended_recording_reads_on_after_the_cut(tmp_path, capsys, caplog, crash_cut: int) -> None:
    path, lines = _recorded_twice(tmp_path, crash_cut)
    code, said, shown = _run(["convert", str(path), "-o", str(tmp_path / "x.npz")], capsys, caplog)
    assert code == 0 and shown <= SHOWN_AT_MOST
    (warning,) = [line for line in said if str(path) in line]
    assert "a recording stopped mid-write and a later one appended to the file, once" in warning
    kept = list(LineReader(path))
    assert kept[-1500:] == lines[1500:]  # the second session whole
    assert kept[: len(kept) - 1500] == lines[: len(kept) - 1500]  # the first up to its last complete line
    assert (len(kept) == 3000) == (crash_cut == 0)


# -- floods: one summary, never a line per message -------------------------------------------------------


def _spoiled_sample(tmp_path: Path, edit: Callable[[list[bytes]], None]) -> Path:
    lines = gzip.decompress(SPOT_BTC[0].read_bytes()).splitlines(keepends=True)
    edit(lines)
    path = tmp_path / "binance_spot" / SPOT_BTC[0].name
    path.parent.mkdir()
    path.write_bytes(gzip.compress(b"".join(lines), 1))
    return path


def test_a_corrupt_capture_is_one_line_not_a_flood(tmp_path, capsys, caplog) -> None:
    # A byte flipped 20 % into the real capture garbles thousands of stream names: this printed
    # 9,469 log lines (one per garbled name), 0.9 MB, and exited 0.
    data = bytearray(SPOT_BTC[0].read_bytes())
    data[len(data) // 5] ^= 0xFF
    path = tmp_path / "binance_spot" / SPOT_BTC[0].name
    path.parent.mkdir()
    path.write_bytes(bytes(data))
    code, said, shown = _run(["convert", str(path), "-o", str(tmp_path / "x.npz")], capsys, caplog)
    assert code == 2
    assert said == [
        f"arb convert: {path}: corrupt gzip data (CRC-32 mismatch at byte 1,274,092 of 1,274,097); the damage "
        "starts at line 8,105, after 23:55:22.404 UTC; --allow-damaged keeps the lines before it"
    ]
    assert shown == 1
    code, said, shown = _run(["convert", str(path), "-o", str(tmp_path / "x.npz"), "--allow-damaged"], capsys, caplog)
    assert code == 0 and shown <= 3
    assert [line for line in said if str(path) in line] == [
        f"{path}: corrupt gzip data (CRC-32 mismatch at byte 1,274,092 of 1,274,097): lost everything from line "
        "8,105 (after 23:55:22.404 UTC) to the end of the file; the book is out of sync from there (--allow-damaged)"
    ]


def test_undecodable_payloads_are_counted_with_three_short_samples(tmp_path, capsys, caplog) -> None:
    def insert(lines: list[bytes]) -> None:
        ts = lines[5000][:19]
        lines[5000:5000] = [ts + b" {" + b'"x":' * 100 + b"\n"] * 2000

    path = _spoiled_sample(tmp_path, insert)
    code, said, shown = _run(["convert", str(path), "-o", str(tmp_path / "x.npz")], capsys, caplog)
    assert code == 0 and shown <= 3
    (summary,) = [line for line in said if str(path) in line]
    assert summary.startswith(
        f"{path}: 2,000 of 43,249 payloads did not decode and were skipped: at 23:54:59.658 UTC '{{"
    )
    assert summary.count('\'{"x":') == 3 and summary.endswith("; ...")
    assert len(summary) < len(str(path)) + 700  # three samples of at most 120 characters, not 2,000 payloads


@pytest.mark.parametrize("allow", [False, True], ids=["refused", "allowed"])
def test_many_lines_that_are_not_recording_lines_say_one_line(tmp_path, capsys, caplog, allow: bool) -> None:
    path = _spoiled_sample(tmp_path, lambda lines: lines.__setitem__(slice(7000, 7000), [b"\x00\xff garbage\n"] * 3000))
    argv = ["convert", str(path), "-o", str(tmp_path / "x.npz")] + (["--allow-damaged"] if allow else [])
    code, said, shown = _run(argv, capsys, caplog)
    about = [line for line in said if str(path) in line]
    if allow:
        assert code == 0 and shown <= 3
        assert about == [
            f"{path}: skipped 3,000 lines without the 19-digit receive time of a recording line: line 7,001 "
            "'\\x00� garbage', line 7,002 '\\x00� garbage', line 7,003 '\\x00� garbage', ... (--allow-damaged)"
        ]
    else:
        assert code == 2 and shown == 1
        assert about == [
            f"arb convert: {path}: line 7,001 is not a recording line (no 19-digit receive time): '\\x00� garbage'; "
            "--allow-damaged skips such lines"
        ]


# -- what the user sees: the real process's stderr -------------------------------------------------------


@pytest.mark.parametrize("command", ["convert", "backtest", "dry-run"])
def test_the_real_command_prints_one_line_and_no_traceback(tmp_path, command: str) -> None:
    # One run of the process: a second one gives the same answer (test_damaged_recording's second runs, in
    # process, of the same command on the same refused file: nothing is cached of a refused conversion)
    config, binance, bybit = _day(tmp_path)
    _flipped(binance, bybit)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "arb.cli", *_argv(command, tmp_path, config, binance, 1)]
    run = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=tmp_path, check=False)
    assert run.returncode == 2
    lines = [line for line in run.stderr.splitlines() if ": compiling " not in line]  # a first run's notice
    assert lines[-1].startswith(f"arb {command}: {binance}: corrupt gzip data (CRC-32 mismatch")
    assert len(lines) <= 2  # the error, and at most the info line "converting ..."
    assert "Traceback" not in run.stderr


def test_the_replay_skips_what_the_conversion_skipped(tmp_path) -> None:
    # dry-run reads the raw files again: it must skip the same span and lose sync at the same place.
    from arb.config import load_config
    from arb.live.recorded_source import replay
    from arb.recording.loader import load_timeline

    config_path, binance, bybit = _day(tmp_path)
    _flipped(binance, bybit)
    config = load_config(config_path)
    session = load_timeline(config, [DAY], allow_damaged=True)
    batches = [b for _, group in replay(config, session) for b in group if b.venue == 0]
    lost = [b for b in batches if len(b.rows) and SYNC_LOST_EVENT in (b.rows["ev"] & EVENT_KIND_MASK)]
    (mark,) = lost
    assert mark.rows["ival"][0] == SyncReason.DAMAGED
    converted = session.arrays[0][0]
    last_binance = int(converted["local_ts"].max())
    assert batches[-1].local_ts <= last_binance  # nothing after the damage reached the engine


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("binance_spot_ethusdt_20240808_head2000.gz", "holds ETHUSDT data, but its name says btcusdt (line 1: "),
        ("binance_usdm_btcusdt_20240808.gz", "looks like binance linear data, but it is in a binance_spot folder"),
    ],
)
def test_another_symbols_or_markets_data_in_the_layout_is_refused(tmp_path, capsys, caplog, source, message) -> None:
    path = tmp_path / "binance_spot" / "btcusdt_20240808.gz"
    path.parent.mkdir()
    path.write_bytes((ROOT / "tests" / "fixtures" / source).read_bytes())
    for allow in ([], ["--allow-damaged"]):
        code, said, _ = _run(["convert", str(path), "-o", str(tmp_path / "x.npz"), *allow], capsys, caplog)
        assert code == 2 and len(said) == 1 and f"arb convert: {path}: {message}" in said[0]


def test_a_damaged_day_before_start_says_why_it_was_read(tmp_path, capsys, caplog) -> None:
    config, binance, bybit = _day(tmp_path)
    next_day = DAY + dt.timedelta(days=1)
    write_scenario(
        tmp_path / "recordings",
        next_day,
        Book({59990.0: 1.0}, {60000.0: 1.0}),
        Book({59995.0: 1.0}, {60005.0: 1.0}),
        [],
    )
    _flipped(binance, bybit)
    argv = ["backtest", "--config", str(config), "--out", str(tmp_path / "out"), "--start", f"{next_day}"]
    code, said, _ = _run(argv, capsys, caplog)
    assert code == 2 and len(said) == 1
    assert said[0].startswith(f"arb backtest: {binance}: corrupt gzip data")
    assert said[0].endswith("(read only for the binance book at the start of 2024-01-02)")
