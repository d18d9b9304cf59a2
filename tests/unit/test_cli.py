"""The ``arb`` command line: exit codes and messages, never a traceback."""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from arb.cli import _COMMAND_MODULES, _DEFINED_HERE, _command_of, _parser, main
from arb.config import load_config
from arb.events import event_dtype
from arb.recording.npz import load_eod
from arb.testing.configs import write_config_files
from connectors.common.record_files import format_line
from tests.support.captures import RECORDINGS, ROOT, SPOT_BTC_HEAD, modules_loaded_by, read_lines


def test_convert_writes_rows_and_the_end_of_day_snapshot(tmp_path, capsys) -> None:
    out = tmp_path / "out" / "spot.npz"
    assert main(["-q", "convert", str(SPOT_BTC_HEAD), "-o", str(out)]) == 0
    with np.load(out) as z:
        rows = z["data"]
    assert rows.dtype == event_dtype and len(rows) > 10_000
    eod = load_eod(tmp_path / "out" / "spot_eod.npz")
    assert eod.synced and eod.venue == "binance" and eod.symbol == "BTCUSDT"
    printed = capsys.readouterr().out
    assert "binance spot BTCUSDT" in printed and "gaps 0" in printed


def test_convert_reports_a_truncated_input(tmp_path, capsys, caplog) -> None:
    src = tmp_path / "cut.gz"
    with gzip.open(src, "wb") as f:
        for ts, payload in read_lines(SPOT_BTC_HEAD)[:800]:
            f.write(format_line(ts, payload))
    src.write_bytes(src.read_bytes()[:-3000])
    assert main(["convert", str(src), "-o", str(tmp_path / "x.npz")]) == 0
    assert any("cut.gz was truncated" in r.getMessage() for r in caplog.records)
    assert "cut.gz: TRUNCATED, converted its" in capsys.readouterr().out
    assert (tmp_path / "x.npz").exists()


def test_convert_missing_input_is_exit_2_with_the_path(tmp_path, capsys) -> None:
    assert main(["convert", str(tmp_path / "missing.gz"), "-o", str(tmp_path / "x.npz")]) == 2
    err = capsys.readouterr().err
    assert "missing.gz" in err and "no such recording file" in err and "Traceback" not in err
    assert not (tmp_path / "x.npz").exists()


def test_a_command_runs_with_room_on_the_frame_stack(tmp_path, monkeypatch) -> None:
    # arb._jit.with_stack_room: a first run's compiling otherwise maps and unmaps frame-stack memory per call
    import arb.cli
    from arb._jit import with_stack_room

    ran: list[str] = []

    def recorded(fn: Any, *args: Any) -> Any:
        ran.append(fn.__name__)
        return with_stack_room(fn, *args)

    monkeypatch.setattr(arb.cli, "with_stack_room", recorded)
    assert main(["-q", "convert", str(SPOT_BTC_HEAD), "-o", str(tmp_path / "x.npz")]) == 0
    assert ran == ["_cmd_convert"] and (tmp_path / "x.npz").exists()


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    # The one line a refused command prints (exit 2, nothing on stdout, no traceback).
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    (line,) = err.strip().splitlines()
    return line


def test_convert_refuses_a_session_given_out_of_time_order(tmp_path, capsys) -> None:
    # The issue's line: the second day first. Told from the files' receive times, before any conversion.
    day1, day2 = (
        RECORDINGS / "binance_spot" / "btcusdt_20240808.gz",
        RECORDINGS / "binance_spot" / "btcusdt_20240809.gz",
    )
    line = _refused(["convert", str(day2), str(day1), "-o", str(tmp_path / "x.npz")], capsys)
    assert line == (
        f"arb convert: {day1}: begins at 2024-08-08 23:54:13.937 UTC, before {day2} (given before it) begins at "
        "2024-08-09 00:00:00.001 UTC: the inputs are one session's files in time order, each once; give them as: "
        f"{day1} {day2}"
    )
    assert list(tmp_path.iterdir()) == []


def test_convert_refuses_files_that_overlap_in_time(tmp_path, capsys) -> None:
    # Begins after the first file begins but before it ends: only a full read of the first can tell.
    lines = read_lines(SPOT_BTC_HEAD)
    first, second = tmp_path / "a.gz", tmp_path / "b.gz"
    for path, part in ((first, lines[:2000]), (second, lines[1000:])):
        with gzip.open(path, "wb") as f:
            for ts, payload in part:
                f.write(format_line(ts, payload))
    line = _refused(["convert", str(first), str(second), "-o", str(tmp_path / "out" / "x.npz")], capsys)
    assert line.startswith(f"arb convert: {second}: begins at 2024-08-08 23:5")
    assert f"before {first} (given before it) ends at 2024-08-08 23:5" in line
    assert line.endswith("these overlap in time: convert each on its own")
    assert not (tmp_path / "out").exists()


def test_convert_refuses_a_file_given_twice_and_an_npz(tmp_path, capsys) -> None:
    line = _refused(["convert", str(SPOT_BTC_HEAD), str(SPOT_BTC_HEAD), "-o", str(tmp_path / "x.npz")], capsys)
    assert (
        line
        == f"arb convert: {SPOT_BTC_HEAD}: given twice: the inputs are one session's files in time order, each once"
    )
    npz = (
        tmp_path / "btcusdt_20240808.npz"
    )  # what `arb convert recordings/binance_spot/*0808*` picks up after a backtest
    npz.write_bytes(b"PK\x03\x04" + bytes(100))
    line = _refused(["convert", str(SPOT_BTC_HEAD), str(npz), "-o", str(tmp_path / "x.npz")], capsys)
    assert line == (
        f"arb convert: {npz}: an .npz of converted rows (what arb convert and the backtest's cache write), not a "
        "recording: give the .gz recordings"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [npz.name]


def test_convert_refuses_a_whole_npz_as_one_not_as_bybit_archive_data(tmp_path, capsys) -> None:
    # Once, a real .npz (a zip) was taken for a zip of Bybit's archive: "the inputs mix formats (... is
    # bybit-archive)". The backtest's cache is written as arb convert writes, so its own output stands for it.
    npz = tmp_path / "btcusdt_20240808.npz"
    assert main(["-q", "convert", str(SPOT_BTC_HEAD), "-o", str(npz)]) == 0
    capsys.readouterr()
    for inputs in ([SPOT_BTC_HEAD, npz], [npz], [npz.with_name("btcusdt_20240808_eod.npz")]):
        for fmt in ([], ["--format", "bybit-archive"]):
            line = _refused(["convert", *map(str, inputs), *fmt, "-o", str(tmp_path / "x.npz")], capsys)
            assert line == (
                f"arb convert: {inputs[-1]}: an .npz of converted rows (what arb convert and the backtest's cache "
                "write), not a recording: give the .gz recordings"
            )
    assert not (tmp_path / "x.npz").exists()


def test_convert_writes_the_output_named_or_refuses_it(tmp_path, capsys) -> None:
    # Once, -o x.txt wrote x.npz, and -o FOLDER wrote FOLDER.npz beside it.
    line = _refused(["convert", str(SPOT_BTC_HEAD), "-o", str(tmp_path / "x.txt")], capsys)
    assert line == (
        f"arb convert: -o/--output: expected an output .npz file, got '{tmp_path / 'x.txt'}' (it writes an .npz, "
        "not a .txt file: name it x.npz)"
    )
    line = _refused(["convert", str(SPOT_BTC_HEAD), "-o", str(tmp_path)], capsys)
    assert line == f"arb convert: -o/--output: expected an output .npz file, got '{tmp_path}' ({tmp_path} is a folder)"
    assert list(tmp_path.iterdir()) == []
    assert main(["-q", "convert", str(SPOT_BTC_HEAD), "-o", str(tmp_path / "day")]) == 0  # no suffix: .npz added
    assert sorted(p.name for p in tmp_path.iterdir()) == ["day.npz", "day_eod.npz"]


@pytest.mark.parametrize("venue", ["binance", "bybit"])
def test_convert_refuses_a_day_whose_book_never_syncs_unless_allowed(tmp_path, capsys, venue) -> None:
    # The sample's second day alone: its snapshot is in the first day's file, so the book never syncs.
    day2 = RECORDINGS / f"{venue}_spot" / "btcusdt_20240809.gz"
    out = tmp_path / "x.npz"
    line = _refused(["-q", "convert", str(day2), "-o", str(out)], capsys)
    assert line == (
        f"arb convert: {venue} spot BTCUSDT: the book never synced: {day2} holds no snapshot of the book; a recording "
        "that began the day before has its snapshot in that day's file: give that file first (both inputs in time "
        "order) or its _eod.npz with --initial-snapshot; --allow-unsynced writes it anyway, trades without a book"
    )
    assert list(tmp_path.iterdir()) == []
    assert main(["-q", "convert", str(day2), "-o", str(out), "--allow-unsynced"]) == 0
    assert "NOT synced" in capsys.readouterr().out
    assert not load_eod(tmp_path / "x_eod.npz").synced


def test_convert_of_the_second_day_from_the_first_days_snapshot_is_synced(tmp_path, capsys) -> None:
    day1, day2 = (
        RECORDINGS / "binance_spot" / "btcusdt_20240808.gz",
        RECORDINGS / "binance_spot" / "btcusdt_20240809.gz",
    )
    assert main(["-q", "convert", str(day1), "-o", str(tmp_path / "d1.npz")]) == 0
    eod = str(tmp_path / "d1_eod.npz")
    assert main(["-q", "convert", str(day2), "-o", str(tmp_path / "d2.npz"), "--initial-snapshot", eod]) == 0
    assert load_eod(tmp_path / "d2_eod.npz").synced


def test_live_refuses_websocket_order_entry_where_the_network_has_none(tmp_path, capsys) -> None:
    path = write_config_files(tmp_path, bybit_overrides={"network": "demo", "order_entry": "websocket"})
    line = _refused(["live", "--config", str(path)], capsys)
    assert "bybit.toml" in line and "order_entry" in line and '"rest"' in line and "/v5/trade" in line


def test_live_refuses_auto_rebalance_without_a_daily_limit_for_each_asset_it_holds(tmp_path, capsys) -> None:
    rebalance = {"auto": True, "daily_limit": {"USDT": 5000}}  # BTCUSDT: BTC too
    path = write_config_files(tmp_path, arbitrage_overrides={"rebalance": rebalance})
    line = _refused(["live", "--config", str(path)], capsys)
    assert "arbitrage.toml" in line and "rebalance.daily_limit" in line and "a limit for BTC" in line
    limits = {"USDT": 5000, "BTC": 0}  # 0: BTC never moved by itself
    path = write_config_files(tmp_path, arbitrage_overrides={"rebalance": {**rebalance, "daily_limit": limits}})
    assert load_config(path).rebalance.daily_limit == limits


def test_check_reports_a_bad_config_with_file_key_and_expectation(tmp_path, capsys) -> None:
    path = write_config_files(tmp_path, arbitrage_overrides={"strategy": {"min_spread_bps": -1.0}})
    assert main(["check", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "arbitrage.toml" in err and "strategy.min_spread_bps" in err and ">= 0" in err
    assert "Traceback" not in err


def test_check_names_an_unknown_key_in_a_venue_file(tmp_path, capsys) -> None:
    path = write_config_files(tmp_path, bybit_overrides={"fees": {"takr": 0.001}})
    assert main(["check", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "bybit.toml" in err and "fees.takr" in err and "taker" in err


def test_check_accepts_the_shipped_config(capsys) -> None:
    assert main(["check", "--config", "config/arbitrage.toml"]) == 0
    assert "binance: spot" in capsys.readouterr().out


def test_check_prints_every_symbol_with_its_own_sizes_and_rules(tmp_path, capsys) -> None:
    from tests.support.two_symbols import ETH

    path = write_config_files(
        tmp_path, arbitrage_overrides={"strategy": {"symbol": None, "symbols": ["BTCUSDT", "ETHUSDT"]},
                                       "symbols": {"ETHUSDT": ETH}},
    )  # fmt: skip
    assert main(["check", "--config", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    eth = next(line for line in lines if "strategy: ETHUSDT" in line)
    assert "max order 0.02" in eth and "position limit 0.1" in eth and "binance tick 0.01 lot 0.0001 base 1" in eth
    assert any("strategy: BTCUSDT" in line and "max order 0.001" in line for line in lines)


def test_check_prints_where_each_command_reads_and_writes(tmp_path, capsys) -> None:
    (tmp_path / "recordings").mkdir()
    path = write_config_files(tmp_path, arbitrage_overrides={"live": {"account": "acct"}})
    assert main(["check", "--config", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    root = tmp_path.resolve()
    assert lines[:5] == [
        f"{root / 'arbitrage.toml'}: ok",
        f"  recordings: {root / 'recordings'}",
        f"  results: {root / 'results'} (not there yet)",
        f"  paper account (dry run): {root / 'paper'} (not there yet)",
        f"  live state: {root / 'live'} (not there yet), journal {root / 'live' / 'acct.sqlite'} (not there yet)",
    ]


# Limits that leave every pair refused, however the market moves: (override, keys named, what the line says).
_NO_PAIR: list[tuple[dict[str, Any], str, str]] = [
    (
        {"risk": {"position_limit": 0.000001}},
        "risk.position_limit",
        "net position if one side of the pair filled alone 1e-05 > 1e-06 ([risk] position_limit): pair refused",
    ),
    (
        {"risk": {"max_notional_per_venue": 1.0}},
        "risk.max_notional_per_venue",
        "position value on one venue 5.00 USDT > limit 1.00 USDT ([risk] max_notional_per_venue): pair refused",
    ),
    (
        {"risk": {"max_total_notional": 3.0}},
        "risk.max_total_notional",
        "every symbol's positions together 10.00 USDT > limit 3.00 USDT ([risk] max_total_notional): pair refused",
    ),
    (
        {"strategy": {"max_order_size": 0.000001}},
        "strategy.max_order_size",
        "max_order_size 1e-06 is below the smallest order both venues accept, 1e-05 BTC (their minimum quantity, "
        "on a lot both take): the kernel never sizes a pair",
    ),
    (
        {"risk": {"position_limit": 0.000001, "max_notional_per_venue": 1.0}},
        "risk.max_notional_per_venue, risk.position_limit",
        "position value on one venue 5.00 USDT > limit 1.00 USDT ([risk] max_notional_per_venue): pair refused; "
        "net position if one side of the pair filled alone 1e-05 > 1e-06 ([risk] position_limit): pair refused",
    ),
]


@pytest.mark.parametrize(("overrides", "keys", "why"), _NO_PAIR, ids=[keys for _, keys, _ in _NO_PAIR])
def test_check_refuses_a_configuration_that_can_never_open_a_pair(tmp_path, capsys, overrides, keys, why) -> None:
    # The venues' smallest order: 0.00001 BTC (Binance's lot and minimum), 5 USDT (Binance's minimum notional).
    path = write_config_files(tmp_path, arbitrage_overrides=overrides)
    assert main(["-q", "check", "--config", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"arb check: {path.resolve()}: {keys}: no pair can ever open, not even the smallest each venue of a direction "
        f"accepts: {why}; expected limits that let it through"
    ]


@pytest.mark.parametrize(
    "overrides",
    [
        {"strategy": {"min_spread_bps": 100_000.0}},  # no spread reaches it: the kernel's choice, not a limit
        {"risk": {"max_notional_per_venue": 10.0}},  # lets through pairs of 5 to 10 USDT
        # exactly the smallest pair, and the kernel sizes no larger one (else the gate refuses each it sizes)
        {"risk": {"position_limit": 0.00001}, "strategy": {"max_order_size": 0.00001}},
        {"risk": {"max_capital_use": 0.0001}},  # refuses a pair or not depending on the price
    ],
)
def test_check_accepts_limits_that_let_some_pair_through(tmp_path, capsys, overrides) -> None:
    path = write_config_files(tmp_path, arbitrage_overrides=overrides)
    assert main(["-q", "check", "--config", str(path)]) == 0
    assert capsys.readouterr().out.startswith(f"{path.resolve()}: ok")


@pytest.mark.parametrize(
    ("argv", "venues"),
    [
        (["live"], ("binance", "bybit")),
        (["reconcile"], ("binance", "bybit")),
        (["reconcile", "--venue", "bybit"], ("bybit",)),
        (["order", "--venue", "binance", "--side", "buy", "--qty", "0.001", "--price", "60000"], ("binance",)),
        (["kill"], ("binance", "bybit")),
    ],
)
def test_a_signing_command_names_every_missing_key_at_once(tmp_path, capsys, monkeypatch, argv, venues) -> None:
    # Once: one unset variable per attempt, the first the command happened to resolve.
    for name in ("BINANCE_API_KEY", "BINANCE_API_SECRET", "BYBIT_API_KEY", "BYBIT_API_SECRET"):
        monkeypatch.delenv(name, raising=False)
    path = write_config_files(tmp_path)
    assert main([*argv, "--config", str(path)]) == 2
    clauses = [
        f"{tmp_path / (venue + '.toml')}: api_key, api_secret: expected environment variables "
        f"{venue.upper()}_API_KEY and {venue.upper()}_API_SECRET to be set"
        for venue in venues
    ]
    assert capsys.readouterr().err.splitlines()[-1] == f"arb {argv[0]}: " + "; ".join(clauses)


@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_and_verbose_work_after_the_command_too(tmp_path, capsys, where) -> None:
    # `arb backtest -q` once answered "unrecognized arguments: -q".
    path = str(write_config_files(tmp_path))
    for flags, quiet, verbose in ((["-q"], True, 0), (["-v", "-v"], False, 2), ([], False, 0)):
        argv = [*flags, "backtest"] if where == "before" else ["backtest", *flags]
        args = _parser("backtest").parse_args(argv)
        assert (args.quiet, args.verbose) == (quiet, verbose)
    argv = ["-q", "check", "--config", path] if where == "before" else ["check", "--config", path, "-q"]
    assert main(argv) == 0
    assert "ok" in capsys.readouterr().out


def test_every_command_has_a_description_for_its_help() -> None:
    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, parser in sub.choices.items():
        assert parser.description and len(parser.description) > 60, f"arb {name} --help has no description"
        assert "-q" in parser._option_string_actions and "-v" in parser._option_string_actions, name


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(sub.choices)


def test_the_parser_of_one_command_has_that_command_and_all_have_every_command() -> None:
    everything = _commands(_parser())
    assert everything == {*_COMMAND_MODULES, *_DEFINED_HERE}  # a new command is listed in one of the two
    for name in everything:
        assert name in _commands(_parser(name))
        assert _command_of(["-q", "-v", name, "--help"]) == name
    assert _command_of(["-q"]) is None and _command_of(["nosuch", "convert"]) is None


def test_convert_does_not_import_the_live_modules() -> None:
    # Building the parser for one command imports only what that command needs: arb convert is a
    # short process, and aiohttp, ccxt and SQLAlchemy took most of its start.
    live = ("aiohttp", "ccxt", "sqlalchemy", "arb.live.record")
    assert modules_loaded_by("from arb.cli import _parser; _parser('convert')", live) == []


def test_the_console_command_runs_main_collecting_less_in_batch_commands(monkeypatch) -> None:
    import gc

    from arb import cli

    seen: list[tuple[int, int, int]] = []
    ended: list[int] = []

    def end_now(code: int) -> None:  # as cli._exit_now ends the process: here, an exit the test catches
        ended.append(code)
        raise SystemExit(code)

    monkeypatch.setattr(cli, "main", lambda argv=None: seen.append(gc.get_threshold()) or 3)
    monkeypatch.setattr(cli, "_exit_now", end_now)
    monkeypatch.setattr(cli.threading, "active_count", lambda: 1)  # as in the console command's process
    before = gc.get_threshold()
    try:
        for argv, batch in ((["arb", "-q", "convert", "x.gz"], True), (["arb", "live"], False)):
            gc.set_threshold(*before)
            monkeypatch.setattr(sys, "argv", argv)
            with pytest.raises(SystemExit) as exit_:
                cli.run()
            assert exit_.value.code == 3  # main's exit code
            assert (seen[-1] == (10_000, 10, 10)) is batch
            assert ended == ([3] if batch else [])  # a batch command skips the teardown; a live one exits
            ended.clear()
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


_ENDS_NOW = """
import atexit, sys
atexit.register(lambda: print("the exit functions ran", flush=False))
sys.argv = ["arb", *sys.argv[1:]]
from arb.cli import run
print("printed, not flushed", end=" ")
run()
"""


def test_a_batch_command_s_process_ends_with_its_files_output_exit_functions_and_status(tmp_path) -> None:
    # The console command's own process, which skips the interpreter's teardown at the end of a batch
    # command: the file it wrote whole, what it and an exit function printed (buffered) on stdout, its
    # error on stderr, its exit status.
    out = tmp_path / "day.npz"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # stdout a pipe: block-buffered
    done = subprocess.run([sys.executable, "-c", _ENDS_NOW, "-q", "convert", str(SPOT_BTC_HEAD), "-o", str(out)],
                          capture_output=True, text=True, cwd=ROOT, env=env, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("printed, not flushed") and done.stdout.endswith("the exit functions ran\n")
    assert main(["-q", "convert", str(SPOT_BTC_HEAD), "-o", str(tmp_path / "here.npz")]) == 0  # in this process
    with np.load(out, allow_pickle=False) as there, np.load(tmp_path / "here.npz", allow_pickle=False) as here:
        assert len(there["data"]) > 10_000 and there["data"].tobytes() == here["data"].tobytes()
    missing = tmp_path / "missing.gz"
    failed = subprocess.run([sys.executable, "-c", _ENDS_NOW, "convert", str(missing), "-o", str(out)],
                            capture_output=True, text=True, cwd=ROOT, env=env, check=False)  # fmt: skip
    assert failed.returncode == 2
    assert str(missing) in failed.stderr and failed.stdout.endswith("the exit functions ran\n")


def test_an_arb_error_out_of_a_task_group_is_the_one_line_and_its_exit_code(tmp_path, capsys, monkeypatch) -> None:
    # A command whose task group ends with a venue's failure (and a sibling's too): the first ArbError's
    # line and exit code, no traceback, no "unhandled errors in a TaskGroup".
    from arb.errors import EXIT_VENUE_UNAVAILABLE, VenueError
    from arb.live import trading_session as trading

    async def failing(*_: object, **__: object) -> None:
        async def fail(what: str) -> None:
            raise VenueError("binance spot", f"GET /api/v3/{what} got no answer", "the network", retryable=True)

        async with asyncio.TaskGroup() as group:
            group.create_task(fail("order"))
            group.create_task(fail("myTrades"))

    monkeypatch.setattr(trading, "place_one", failing)
    for name in ("BINANCE_API_KEY", "BINANCE_API_SECRET"):  # checked before the order is placed
        monkeypatch.setenv(name, "k" * 16)
    config = write_config_files(tmp_path)
    argv = ["order", "--config", str(config), "--venue", "binance", "--side", "buy", "--qty", "1", "--price", "1"]
    assert main(argv) == EXIT_VENUE_UNAVAILABLE
    err = capsys.readouterr().err
    assert err == "arb order: binance spot: GET /api/v3/order got no answer; check the network\n"


def test_a_bug_beside_an_arb_error_in_a_task_group_is_not_hidden(tmp_path, monkeypatch) -> None:
    from arb.errors import VenueError
    from arb.live import trading_session as trading

    async def failing(*_: object, **__: object) -> None:
        async def venue() -> None:
            raise VenueError("binance spot", "refused", "the key")

        async def bug() -> None:
            raise ZeroDivisionError

        async with asyncio.TaskGroup() as group:
            group.create_task(venue())
            group.create_task(bug())

    monkeypatch.setattr(trading, "place_one", failing)
    for name in ("BINANCE_API_KEY", "BINANCE_API_SECRET"):  # checked before the order is placed
        monkeypatch.setenv(name, "k" * 16)
    config = write_config_files(tmp_path)
    argv = ["order", "--config", str(config), "--venue", "binance", "--side", "buy", "--qty", "1", "--price", "1"]
    with pytest.raises(BaseExceptionGroup):
        main(argv)
