"""Which days a run covers: exactly the days asked for, each recorded for every venue of the run, or a clear error.

``plan_days`` only lists file names, so most cases here use empty files with the right names; the
command-line cases run ``arb backtest`` and ``arb dry-run`` on the shipped sample (or a copy of it
with a day missing) and stop at the error, before anything is converted.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path

import pytest

from arb.cli import main
from arb.config import AppConfig, load_config
from arb.errors import RecordingError
from arb.recording.loader import plan_days
from arb.testing.configs import write_config_files
from tests.support.captures import RECORDINGS

D = dt.date


def _config(tmp_path: Path, binance: list[str], bybit: list[str]) -> AppConfig:
    for venue, days in (("binance", binance), ("bybit", bybit)):
        folder = tmp_path / "recordings" / f"{venue}_spot"
        folder.mkdir(parents=True, exist_ok=True)
        for day in days:
            (folder / f"btcusdt_{day.replace('-', '')}.gz").touch()
    return load_config(write_config_files(tmp_path, arbitrage_overrides={"backtest": {"recordings": "recordings"}}))


@pytest.mark.parametrize(
    ("binance", "bybit", "start", "end", "days"),
    [
        (["2024-08-08", "2024-08-09"], ["2024-08-08", "2024-08-09"], None, None, [D(2024, 8, 8), D(2024, 8, 9)]),
        (["2024-08-08", "2024-08-09"], ["2024-08-08", "2024-08-09"], D(2024, 8, 9), None, [D(2024, 8, 9)]),
        (["2024-08-08", "2024-08-09"], ["2024-08-08", "2024-08-09"], None, D(2024, 8, 8), [D(2024, 8, 8)]),
        (["2024-08-07", "2024-08-08"], ["2024-08-08", "2024-08-09"], None, None, [D(2024, 8, 8)]),
        # one end typed: the other is as far as the book carries from it, so a day far from the rest runs alone
        (["2024-01-01", "2024-08-08", "2024-08-09"], ["2024-01-01", "2024-08-08", "2024-08-09"], D(2024, 1, 1), None,
         [D(2024, 1, 1)]),
        (["2024-08-08", "2024-08-09", "2024-08-11"], ["2024-08-08", "2024-08-09", "2024-08-11"], D(2024, 8, 8), None,
         [D(2024, 8, 8), D(2024, 8, 9)]),
        (["2024-08-08", "2024-08-09", "2024-08-11"], ["2024-08-07", "2024-08-09", "2024-08-11"], None, D(2024, 8, 9),
         [D(2024, 8, 9)]),
    ],
)  # fmt: skip
def test_the_days_run_are_the_days_asked_for(tmp_path, binance, bybit, start, end, days) -> None:
    assert plan_days(_config(tmp_path, binance, bybit), start, end) == days


@pytest.mark.parametrize(
    ("binance", "bybit", "start", "end", "message"),
    [
        # a day before anything was recorded: never moved to the first recorded day
        (
            ["2024-08-08", "2024-08-09"],
            ["2024-08-08", "2024-08-09"],
            D(2024, 1, 1),
            None,
            "--start 2024-01-01: no recording of that day for binance spot BTCUSDT (recorded: 2024-08-08, "
            "2024-08-09) nor for bybit spot BTCUSDT (recorded: 2024-08-08, 2024-08-09)",
        ),
        # a day recorded for one venue only: named, with what each venue has
        (
            ["2024-08-08", "2024-08-09"],
            ["2024-08-08"],
            D(2024, 8, 9),
            None,
            "--start 2024-08-09: no recording of that day for bybit spot BTCUSDT (recorded: 2024-08-08); "
            "binance spot BTCUSDT has it",
        ),
        (
            ["2024-08-08"],
            ["2024-08-08", "2024-08-09"],
            None,
            D(2024, 8, 9),
            "--end 2024-08-09: no recording of that day for binance spot BTCUSDT (recorded: 2024-08-08); "
            "bybit spot BTCUSDT has it",
        ),
        (["2024-08-08", "2024-08-09"], ["2024-08-08", "2024-08-09"], D(2024, 8, 9), D(2024, 8, 8),
         "--end 2024-08-08 is before --start 2024-08-09"),
        # a day missing in the middle: the book cannot be carried across it; the missing days' fetch is named
        (
            ["2024-08-08", "2024-08-09", "2024-08-10"],
            ["2024-08-08", "2024-08-10"],
            D(2024, 8, 8),
            D(2024, 8, 10),
            "--start 2024-08-08 .. --end 2024-08-10 has a gap: 2024-08-09 (missing for bybit)",
        ),
        (
            ["2024-08-08", "2024-08-09", "2024-08-10"],
            ["2024-08-08", "2024-08-10"],
            None,
            None,
            "--start 2024-08-08 (default: the first day recorded for every venue of the run) .. --end 2024-08-10 "
            "(default: the last day recorded for every venue of the run) has a gap: 2024-08-09 (missing for bybit)",
        ),
        (
            ["2024-08-07"],
            ["2024-08-08"],
            None,
            None,
            "no day is recorded for every venue (binance spot BTCUSDT has 2024-08-07; bybit spot BTCUSDT has "
            "2024-08-08)",
        ),
    ],
)  # fmt: skip
def test_a_day_that_is_not_there_is_an_error_naming_venue_and_day(
    tmp_path, binance, bybit, start, end, message
) -> None:
    with pytest.raises(RecordingError) as error:
        plan_days(_config(tmp_path, binance, bybit), start, end)
    assert message in str(error.value)


def test_long_lists_of_days_are_shown_as_ranges(tmp_path) -> None:
    days = [f"2024-03-{d:02d}" for d in range(1, 31)]
    config = _config(tmp_path, days, days[:10] + days[11:])
    with pytest.raises(RecordingError) as error:
        plan_days(config, D(2024, 3, 11), None)
    assert "bybit spot BTCUSDT (recorded: 2024-03-01..2024-03-10, 2024-03-12..2024-03-30)" in str(error.value)


def test_days_left_out_by_a_default_are_named(tmp_path, caplog) -> None:
    config = _config(tmp_path, ["2024-08-08", "2024-08-09"], ["2024-08-08"])
    with caplog.at_level(logging.WARNING, logger="arb.recording.loader"):
        assert plan_days(config, None, None) == [D(2024, 8, 8)]
    (record,) = caplog.records
    text = record.getMessage()
    assert "--end 2024-08-08 (default: the last day recorded for every venue of the run)" in text
    assert "binance spot BTCUSDT also has 2024-08-09, not run" in text


def _linked_sample(tmp_path: Path, days: dict[str, tuple[str, ...]]) -> Path:
    """The shipped sample, linked into ``tmp_path``/recordings with only the ``days`` of each venue's
    folder (``binance_spot``, ``bybit_spot``); returns that recordings folder."""
    for name, folder_days in days.items():
        folder = tmp_path / "recordings" / name
        folder.mkdir(parents=True)
        for day in folder_days:
            os.symlink(RECORDINGS / name / f"btcusdt_{day}.gz", folder / f"btcusdt_{day}.gz")
    return tmp_path / "recordings"


def _refused(
    command: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    recordings: Path,
    *options: str,
    quiet: bool = False,
) -> tuple[str, str]:
    """``arb [-q] COMMAND OPTIONS`` (backtest, or dry-run at full speed) on ``recordings``, its output in
    ``tmp_path``/out: it exits 2; returns what it wrote to stdout and stderr."""
    args = ["--recordings", str(recordings), "--out", str(tmp_path / "out")]
    extra = ["--state-dir", str(tmp_path / "paper"), "--speed", "max"] if command == "dry-run" else []
    assert main([*(["-q"] if quiet else []), command, *options, *args, *extra]) == 2
    out, err = capsys.readouterr()
    return out, err


@pytest.mark.parametrize("command", ["backtest", "dry-run"])
def test_the_usage_line_start_2024_01_01_is_an_error_on_the_sample(tmp_path, capsys, command) -> None:
    # Once, `arb backtest --start 2024-01-01` ran 2024-08-08..09 and exited 0.
    _, err = _refused(command, tmp_path, capsys, RECORDINGS, "--start", "2024-01-01")
    assert err.splitlines() == [
        f"arb {command}: --start 2024-01-01: no recording of that day for binance spot BTCUSDT (recorded: "
        "2024-08-08, 2024-08-09) nor for bybit spot BTCUSDT (recorded: 2024-08-08, 2024-08-09); fetch it: "
        "arb fetch --start 2024-01-01"
    ]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["backtest", "dry-run"])
def test_a_day_recorded_for_one_venue_only_is_named(tmp_path, capsys, command) -> None:
    # Once: "--end 2024-08-08 is before --start 2024-08-09", about an --end nobody typed.
    # the shipped sample with Bybit's 2024-08-09 file missing
    recordings = _linked_sample(tmp_path, {"binance_spot": ("20240808", "20240809"), "bybit_spot": ("20240808",)})
    _, err = _refused(command, tmp_path, capsys, recordings, "--start", "2024-08-09")
    assert err.splitlines() == [
        f"arb {command}: --start 2024-08-09: no recording of that day for bybit spot BTCUSDT "
        f"(recorded: 2024-08-08); binance spot BTCUSDT has it; fetch it: arb fetch --start 2024-08-09 --venue bybit "
        f"--out {recordings.resolve()}"
    ]


@pytest.mark.parametrize("command", ["backtest", "dry-run"])
def test_the_fetch_hint_names_what_set_changed_from_the_file(tmp_path, capsys, command) -> None:
    # Once, --set was read into "what the file says" too: the hint fetched into ./recordings, or BTCUSDT.
    recordings = _linked_sample(tmp_path, {"binance_spot": ("20240808", "20240809"), "bybit_spot": ("20240808",)})
    extra = ["--state-dir", str(tmp_path / "paper"), "--speed", "max"] if command == "dry-run" else []
    out = ["--out", str(tmp_path / "out"), *extra]
    assert main([command, "--set", f"backtest.recordings={recordings}", "--start", "2024-08-09", *out]) == 2
    assert capsys.readouterr().err.endswith(
        f"; fetch it: arb fetch --start 2024-08-09 --venue bybit --out {recordings.resolve()}\n"
    )
    assert main([command, "--set", "strategy.symbol=XRPUSDT", "--start", "2024-08-08", *out]) == 2
    assert capsys.readouterr().err.endswith(
        "; fetch them: arb fetch --start 2024-08-08 --symbols XRPUSDT (docs/data.md)\n"
    )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["backtest", "dry-run"])
def test_a_day_whose_book_never_syncs_and_no_day_before_is_refused(tmp_path, capsys, command) -> None:
    # Once: the sample's second day alone ran with empty books (the backtest ended in a traceback).
    recordings = _linked_sample(tmp_path, {"binance_spot": ("20240809",), "bybit_spot": ("20240809",)})
    out, err = _refused(command, tmp_path, capsys, recordings, quiet=True)
    assert out == ""
    folder = recordings / "binance_spot"
    assert err.splitlines() == [
        f"arb {command}: 2024-08-09: binance spot BTCUSDT: the book never synced: {folder / 'btcusdt_20240809.gz'} "
        f"holds no snapshot of the book; the day before, 2024-08-08, is not recorded in {folder}: a recording that "
        "began that day has its snapshot in that day's file; put it there, or start on a day whose recording begins "
        "with a snapshot (--start)"
    ]
    assert not (tmp_path / "out").exists()


def test_the_samples_second_day_starts_from_the_first_days_book(tmp_path) -> None:
    # A run of the second day alone reads the first for its end-of-day book; a run of both carries it.
    from arb.recording.loader import load_venue

    config = load_config(
        write_config_files(tmp_path, arbitrage_overrides={"backtest": {"recordings": str(RECORDINGS)}})
    )
    for venue in config.venues:
        alone = load_venue(config, venue, [D(2024, 8, 9)])
        assert alone.initial is not None and alone.initial.synced
        both = load_venue(config, venue, [D(2024, 8, 8), D(2024, 8, 9)])
        assert both.initial is None
        for data in (alone, both):
            assert all(day.eod.synced and day.findings.book_synced for day in data.days)
            assert data.days[-1].row_count == alone.days[0].row_count
