"""The ``arb`` command line: exit codes and messages, never a traceback."""

from __future__ import annotations

import argparse
import asyncio
import gzip
import subprocess
import sys

import numpy as np
import pytest

from arb.cli import _LOCAL_COMMANDS, _MODULE_COMMANDS, _command_of, _parser, main
from arb.events import event_dtype
from arb.recording.convert import load_eod
from arb.recording.format import format_line
from arb.testing.configs import write_config_files
from tests.helpers import SPOT_BTC_HEAD, read_lines


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
    from tests.multi import ETH

    path = write_config_files(
        tmp_path, arbitrage_overrides={"strategy": {"symbol": None, "symbols": ["BTCUSDT", "ETHUSDT"]},
                                       "symbols": {"ETHUSDT": ETH}},
    )  # fmt: skip
    assert main(["check", "--config", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    eth = next(line for line in lines if "strategy: ETHUSDT" in line)
    assert "max order 0.02" in eth and "position limit 0.1" in eth and "binance tick 0.01 lot 0.0001 base 1" in eth
    assert any("strategy: BTCUSDT" in line and "max order 0.001" in line for line in lines)


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(sub.choices)


def test_the_parser_of_one_command_has_that_command_and_all_have_every_command() -> None:
    everything = _commands(_parser())
    assert everything == _MODULE_COMMANDS | _LOCAL_COMMANDS  # a new command is listed in one of the two
    for name in everything:
        assert name in _commands(_parser(name))
        assert _command_of(["-q", "-v", name, "--help"]) == name
    assert _command_of(["-q"]) is None and _command_of(["nosuch", "convert"]) is None


def test_convert_does_not_import_the_live_modules() -> None:
    # Building the parser for one command imports only what that command needs: arb convert is a
    # short process, and aiohttp, ccxt and SQLAlchemy took most of its start.
    code = (
        "import sys; from arb.cli import _parser; _parser('convert'); "
        "print(sorted(m for m in sys.modules if m.startswith(('aiohttp', 'ccxt', 'sqlalchemy', 'arb.runtime.record'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_console_command_runs_main_collecting_less_in_batch_commands(monkeypatch) -> None:
    import gc

    from arb import cli

    seen: list[tuple[int, int, int]] = []
    monkeypatch.setattr(cli, "main", lambda argv=None: seen.append(gc.get_threshold()) or 3)
    before = gc.get_threshold()
    try:
        for argv, batch in ((["arb", "-q", "convert", "x.gz"], True), (["arb", "live"], False)):
            gc.set_threshold(*before)
            monkeypatch.setattr(sys, "argv", argv)
            with pytest.raises(SystemExit) as exit_:
                cli.run()
            assert exit_.value.code == 3  # main's exit code
            assert (seen[-1] == (10_000, 10, 10)) is batch
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def test_an_arb_error_out_of_a_task_group_is_the_one_line_and_its_exit_code(tmp_path, capsys, monkeypatch) -> None:
    # A command whose task group ends with a venue's failure (and a sibling's too): the first ArbError's
    # line and exit code, no traceback, no "unhandled errors in a TaskGroup".
    from arb.errors import EXIT_VENUE_UNAVAILABLE, VenueError
    from arb.runtime import trading

    async def failing(*_: object, **__: object) -> None:
        async def fail(what: str) -> None:
            raise VenueError("binance spot", f"GET /api/v3/{what} got no answer", "the network", retryable=True)

        async with asyncio.TaskGroup() as group:
            group.create_task(fail("order"))
            group.create_task(fail("myTrades"))

    monkeypatch.setattr(trading, "place_one", failing)
    config = write_config_files(tmp_path)
    argv = ["order", "--config", str(config), "--venue", "binance", "--side", "buy", "--qty", "1", "--price", "1"]
    assert main(argv) == EXIT_VENUE_UNAVAILABLE
    err = capsys.readouterr().err
    assert err == "arb order: binance spot: GET /api/v3/order got no answer; check the network\n"


def test_a_bug_beside_an_arb_error_in_a_task_group_is_not_hidden(tmp_path, monkeypatch) -> None:
    from arb.errors import VenueError
    from arb.runtime import trading

    async def failing(*_: object, **__: object) -> None:
        async def venue() -> None:
            raise VenueError("binance spot", "refused", "the key")

        async def bug() -> None:
            raise ZeroDivisionError

        async with asyncio.TaskGroup() as group:
            group.create_task(venue())
            group.create_task(bug())

    monkeypatch.setattr(trading, "place_one", failing)
    config = write_config_files(tmp_path)
    argv = ["order", "--config", str(config), "--venue", "binance", "--side", "buy", "--qty", "1", "--price", "1"]
    with pytest.raises(BaseExceptionGroup):
        main(argv)
