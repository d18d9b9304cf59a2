"""Every option of every ``arb`` command, given a bad value: exit 2, one line naming the option and
what it expects, no traceback, and nothing run. The table is checked against the parser, so an
option added without a row here fails :func:`test_every_option_that_takes_a_value_has_a_row`."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from arb.cli import _COMMANDS, _parser, main
from arb.testing.configs import write_config_files
from tests.support.captures import ROOT
from tests.support.processes import run_arb

# Placeholders, replaced per test by paths under tmp_path.
FILE = "<an existing file>"
DIR = "<an existing folder>"
MISSING = "<a path that does not exist>"
UNDER_FILE = "<a path under a file>"
NPZ_DIR = "<an existing folder named out.npz>"
CONFIG = "<a valid configuration>"
REC = "<a recording file>"
CONFIG_STATE_IS_A_FILE = "<a configuration whose state and recordings folders are files>"

_ORDER = ["order", "--venue", "binance", "--side", "buy", "--qty", "0.001", "--price", "60000"]

# (command line, the option the answer must name)
_FETCH = ["fetch", "--source", "tardis", "--start", "2024-08-01"]
CASES: list[tuple[list[str], str]] = [
    # convert
    (["convert", MISSING, "-o", MISSING], "INPUT"),
    (["convert", DIR, "-o", MISSING], "INPUT"),
    (["convert", REC], "-o/--output"),
    (["convert", REC, "-o", NPZ_DIR], "-o/--output"),
    (["convert", REC, "-o", UNDER_FILE], "-o/--output"),
    (["convert", REC, "-o", MISSING, "--venue", "kraken"], "--venue"),
    (["convert", REC, "-o", MISSING, "--market", "futures"], "--market"),
    (["convert", REC, "-o", MISSING, "--symbol", "btc-usdt"], "--symbol"),
    (["convert", REC, "-o", MISSING, "--initial-snapshot", MISSING], "--initial-snapshot"),
    (["convert", REC, "-o", MISSING, "--initial-snapshot", FILE], "--initial-snapshot"),
    (["convert", REC, "-o", MISSING, "--base-latency-us", "-1"], "--base-latency-us"),
    (["convert", REC, "-o", MISSING, "--base-latency-us", "nan"], "--base-latency-us"),
    (["convert", REC, "-o", MISSING, "--base-latency-us", "fast"], "--base-latency-us"),
    (["convert", REC, "-o", MISSING, "--local-offset-ms", "inf"], "--local-offset-ms"),
    (["convert", REC, "-o", MISSING, "--local-offset-ms", "1ms"], "--local-offset-ms"),
    (["convert", REC, "-o", MISSING, "--local-offset-ms", "1e300"], "--local-offset-ms"),
    (["convert", REC, "-o", MISSING, "--local-offset-ms", "-1e15"], "--local-offset-ms"),
    (["convert", REC, "-o", MISSING, "--base-latency-us", "1e300"], "--base-latency-us"),
    (["convert", REC, "-o", MISSING, "--speed", "2"], "--speed"),
    (["convert", REC, "-o", MISSING, "--format", "csv"], "--format"),
    (["convert", REC, "-o", MISSING, "--feed-latency-ms", "-5"], "--feed-latency-ms"),
    (["convert", REC, "-o", MISSING, "--feed-latency-ms", "slow"], "--feed-latency-ms"),
    (["convert", REC, "-o", MISSING, "--chunk-rows", "999"], "--chunk-rows"),
    (["convert", REC, "-o", MISSING, "--chunk-rows", "1.5e6"], "--chunk-rows"),
    (["convert", REC, "-o", MISSING, "--chunk-rows", "many"], "--chunk-rows"),
    (["convert", REC, "-o", MISSING, "--chunk-rows", "-1000"], "--chunk-rows"),
    # check
    (["check", "--config", MISSING], "--config"),
    (["check", "--config", DIR], "--config"),
    (["check", "--config"], "--config"),
    # backtest
    (["backtest", "--config", MISSING], "--config"),
    (["backtest", "--start", "2024-02-30"], "--start"),
    (["backtest", "--start", "yesterday"], "--start"),
    (["backtest", "--end", "08/09/2024"], "--end"),
    (["backtest", "--recordings", MISSING], "--recordings"),
    (["backtest", "--recordings", FILE], "--recordings"),
    (["backtest", "--out", FILE], "--out"),
    (["backtest", "--out", UNDER_FILE], "--out"),
    (["backtest", "--speed", "2"], "--speed"),
    # record
    (["record", "--config", MISSING], "--config"),
    (["record", "--symbols", "btc/usdt"], "--symbols"),
    (["record", "--symbols"], "--symbols"),
    (["record", "--config", CONFIG, "--symbols", "BTCUSDT", "btcusdt"], "--symbols"),
    (["record", "--duration", "0"], "--duration"),
    (["record", "--duration", "-5m"], "--duration"),
    (["record", "--duration", "soon"], "--duration"),
    (["record", "--out", FILE], "--out"),
    (["record", "--status-every", "0s"], "--status-every"),
    # funding-history
    (["funding-history"], "--start"),
    (["funding-history", "--config", MISSING, "--start", "2024-08-01"], "--config"),
    (["funding-history", "--start", "2024-02-30"], "--start"),
    (["funding-history", "--start", "2999-01-01"], "--start"),
    (["funding-history", "--start", "2024-08-01", "--end", "last"], "--end"),
    (["funding-history", "--start", "2024-08-08", "--end", "2024-08-01"], "--end"),
    (["funding-history", "--start", "2024-08-01", "--symbols", "btc/usdt"], "--symbols"),
    (["funding-history", "--config", CONFIG, "--start", "2024-08-01", "--symbols", "BTCUSDT", "btcusdt"], "--symbols"),
    (["funding-history", "--start", "2024-08-01", "--venue", "kraken"], "--venue"),
    (["funding-history", "--start", "2024-08-01", "--out", FILE], "--out"),
    (["funding-history", "--start", "2024-08-01", "--out", UNDER_FILE], "--out"),
    # fetch
    (["fetch", "--source", "binance", "--start", "2024-08-01"], "--source"),
    (["fetch", "--source", "tardis"], "--start"),
    (["fetch", "--config", MISSING, "--source", "tardis", "--start", "2024-08-01"], "--config"),
    (["fetch", "--source", "tardis", "--start", "2024-02-30"], "--start"),
    (["fetch", "--source", "tardis", "--start", "2999-01-01"], "--start"),
    (["fetch", "--source", "tardis", "--start", "2024-08-01", "--end", "last"], "--end"),
    (["fetch", "--source", "tardis", "--start", "2024-08-08", "--end", "2024-08-01"], "--end"),
    (["fetch", "--source", "tardis", "--start", "2024-08-01", "--symbols", "btc/usdt"], "--symbols"),
    (["fetch", "--config", CONFIG, *_FETCH[1:], "--symbols", "BTCUSDT", "btcusdt"], "--symbols"),
    (["fetch", "--source", "tardis", "--start", "2024-08-01", "--venue", "kraken"], "--venue"),
    (
        ["fetch", "--config", CONFIG, "--source", "bybit-archive", "--start", "2024-08-01", "--venue", "binance"],
        "--venue",
    ),
    (["fetch", "--source", "tardis", "--start", "2024-08-01", "--market", "futures"], "--market"),
    (["fetch", "--config", CONFIG, *_FETCH[1:], "--venue", "okx"], "--market"),  # not a venue of the run
    (
        ["fetch", "--config", CONFIG, *_FETCH[1:], "--venue", "okx", "--market", "linear", "--symbols", "SOLUSDT"],
        "--symbols",
    ),  # a swap whose contract value arb does not know
    (["fetch", "--source", "tardis", "--start", "2024-08-01", "--out", FILE], "--out"),
    (["fetch", "--source", "tardis", "--start", "2024-08-01", "--out", UNDER_FILE], "--out"),
    (["fetch", "--source", "tardis", "--start", "2024-08-01", "--base-url", "ftp://mirror"], "--base-url"),
    # dry-run
    (["dry-run", "--config", MISSING], "--config"),
    (["dry-run", "--duration", "0s"], "--duration"),
    (["dry-run", "--duration", "10 minutes"], "--duration"),
    (["dry-run", "--speed", "0"], "--speed"),
    (["dry-run", "--speed", "-1"], "--speed"),
    (["dry-run", "--speed", "fast"], "--speed"),
    (["dry-run", "--speed", "nan"], "--speed"),
    (["dry-run", "--speed", "inf"], "--speed"),
    (["dry-run", "--start", "2024-08-32"], "--start"),
    (["dry-run", "--end", "tomorrow"], "--end"),
    (["dry-run", "--recordings", MISSING], "--recordings"),
    (["dry-run", "--state-dir", FILE], "--state-dir"),
    (["dry-run", "--state-dir", UNDER_FILE], "--state-dir"),
    (["dry-run", "--config", CONFIG_STATE_IS_A_FILE], "--state-dir"),
    (["record", "--config", CONFIG_STATE_IS_A_FILE], "--out"),
    (["dry-run", "--out", FILE], "--out"),
    (["dry-run", "--live-data", "--speed", "2"], "--speed"),
    (["dry-run", "--live-data", "--start", "2024-08-08"], "--start"),
    (["dry-run", "--live-data", "--end", "2024-08-08"], "--end"),
    (["dry-run", "--live-data", "--recordings", DIR], "--recordings"),
    (["dry-run", "--live-data", "--allow-damaged"], "--allow-damaged"),
    # parity
    (["parity", "--config", MISSING], "--config"),
    (["parity", "--start", "first"], "--start"),
    (["parity", "--end", "2024-13-01"], "--end"),
    # reconcile
    (["reconcile", "--config", MISSING], "--config"),
    (["reconcile", "--venue", "kraken"], "--venue"),
    # latency
    (["latency", "--config", MISSING], "--config"),
    (["latency", "--venue", "kraken"], "--venue"),
    (["latency", "--plot", DIR], "--plot"),
    (["latency", "--plot", UNDER_FILE], "--plot"),
    (["latency", "--export", FILE], "--export"),
    # order
    (["order", "--config", MISSING, *_ORDER[1:]], "--config"),
    (["order", "--venue", "kraken", *_ORDER[3:]], "--venue"),
    ([*_ORDER[:3], "--side", "hold", *_ORDER[5:]], "--side"),
    ([*_ORDER[:5], "--qty", "0", *_ORDER[7:]], "--qty"),
    ([*_ORDER[:5], "--qty", "-0.1", *_ORDER[7:]], "--qty"),
    ([*_ORDER[:5], "--qty", "lots", *_ORDER[7:]], "--qty"),
    ([*_ORDER[:7], "--price", "nan"], "--price"),
    ([*_ORDER[:7], "--price", "1e999999"], "--price"),
    ([*_ORDER[:7]], "--price"),
    ([*_ORDER, "--timeout", "0"], "--timeout"),
    ([*_ORDER, "--symbol", "eth-usdt"], "--symbol"),
    (["order", "--config", CONFIG, *_ORDER[1:], "--symbol", "XRPUSDT"], "--symbol"),  # not a traded symbol
    # fees
    (["fees", "--config", MISSING], "--config"),
    # rebalance
    (["rebalance", "--config", MISSING], "--config"),
    # live
    (["live", "--config", MISSING], "--config"),
    (["live", "--duration", "0"], "--duration"),
    (["live", "--duration", "1d"], "--duration"),
    (["live", "--out", FILE], "--out"),
    # kill
    (["kill", "--config", MISSING], "--config"),
    (["kill", "--timeout", "never"], "--timeout"),
    # halt
    (["halt", "--config", MISSING], "--config"),
    (["halt", "--state-dir", FILE], "--state-dir"),
    (["halt", "--reason", "  "], "--reason"),
    (["halt", "--reason", "x" * 201], "--reason"),
    (["halt", "--clear"], "--clear"),  # which account's halt it lifts is named, never both by default
    # alert-test
    (["alert-test", "--config", MISSING], "--config"),
    (["alert-test", "--config"], "--config"),
    # report
    (["report", "--period", "year"], "--period"),
    (["report", "--period"], "--period"),
    (["report", "--date", "2024-02-30"], "--date"),
    (["report", "--date", "yesterday"], "--date"),
    (["report", "--source", "journal"], "--source"),
    (["report", "--results", MISSING], "--results"),
    (["report", "--results", FILE], "--results"),
    (["report", "--state-dir", MISSING], "--state-dir"),
    (["report", "--state-dir", FILE], "--state-dir"),
    (["report", "--against", MISSING], "--against"),
    (["report", "--against", FILE], "--against"),
    (["report", "--config", MISSING], "--config"),
    (["report", "--out", DIR], "--out"),
    (["report", "--out", UNDER_FILE], "--out"),
    # sweep
    (["sweep"], "--grid"),
    (["sweep", "--grid", MISSING], "--grid"),
    (["sweep", "--grid", DIR], "--grid"),
    (["sweep", "--grid", FILE, "--config", MISSING], "--config"),
    (["sweep", "--grid", FILE, "--start", "2024-02-30"], "--start"),
    (["sweep", "--grid", FILE, "--end", "last"], "--end"),
    (["sweep", "--grid", FILE, "--workers", "0"], "--workers"),
    (["sweep", "--grid", FILE, "--workers", "two"], "--workers"),
    (["sweep", "--grid", FILE, "--workers", "1000"], "--workers"),
    (["sweep", "--grid", FILE, "--ray", "cluster"], "--ray"),
    (["sweep", "--grid", FILE, "--ray", "10.0.0.5:99999"], "--ray"),
    (["sweep", "--grid", FILE, "--recordings", MISSING], "--recordings"),
    (["sweep", "--grid", FILE, "--out", FILE], "--out"),
    (["sweep", "--grid", FILE, "--out", UNDER_FILE], "--out"),
    ([*_FETCH, "--book", "full"], "--book"),
    (["fetch", "--source", "bybit-archive", "--start", "2024-08-01", "--book", "snapshot25"], "--book"),
    # scan
    (["scan", "--config", MISSING], "--config"),
    (["scan", "--venues", "binance"], "--venues"),
    (["scan", "--venues", "Binance,bybit"], "--venues"),
    (["scan", "--venues", "binance,binance"], "--venues"),
    (["scan", "--venues", "binance,kraken"], "--venues"),
    (["scan", "--market", "futures"], "--market"),
    (["scan", "--symbols", "btc/usdt"], "--symbols"),
    (["scan", "--symbols", "BTCUSDT,BTCUSDT"], "--symbols"),
    (["scan", "--top", "0"], "--top"),
    (["scan", "--start", "2024-02-30"], "--start"),
    (["scan", "--end", "last"], "--end"),
    (["scan", "--min-edge-bps", "wide"], "--min-edge-bps"),
    (["scan", "--latency-ms", "-5"], "--latency-ms"),
    (["scan", "--depth-levels", "0"], "--depth-levels"),
    (["scan", "--size", "-1"], "--size"),
    (["scan", "--report-top", "100"], "--report-top"),
    (["scan", "--rows", "none"], "--rows"),
    (["scan", "--workers", "0"], "--workers"),
    (["scan", "--ray", "cluster"], "--ray"),
    (["scan", "--recordings", MISSING], "--recordings"),
    (["scan", "--out", FILE], "--out"),
    (["scan", "--view", "paper"], "--view"),
    (["scan", "--backtest", "0"], "--backtest"),
    (["scan", "--window", "forever"], "--window"),
    (["scan", "--every", "0"], "--every"),
    (["scan", "--duration", "-1m"], "--duration"),
    (["scan", "--window", "10m"], "--window"),  # only with --live
    # status
    (["status", "--config", MISSING], "--config"),
    (["status", "--url", "127.0.0.1:8321"], "--url"),
    (["status", "--url", "ftp://host"], "--url"),
    (["status", "--timeout", "soon"], "--timeout"),
    (["status", "--state-dir", MISSING], "--state-dir"),
    (["status", "--state-dir", FILE], "--state-dir"),
    # the command itself
    (["trade"], "COMMAND"),
]
# every command: --log-format on its side of the line; one that reads the configuration: --set's shape
CASES += [([name, "--log-format", "xml"], "--log-format") for name in _COMMANDS]
CASES += [([name, "--set", "risk=1"], "--set") for name in _COMMANDS if name != "convert"]


def _fill(argv: list[str], tmp_path: Path) -> list[str]:
    (tmp_path / "file.txt").write_text("not what any option wants\n")
    (tmp_path / "folder").mkdir(exist_ok=True)
    (tmp_path / "out.npz").mkdir(exist_ok=True)
    rec = tmp_path / "rec.gz"
    rec.write_bytes(b"")
    blocked = write_config_files(
        tmp_path / "config",
        arbitrage_overrides={"dry_run": {"state_dir": "../file.txt"}, "backtest": {"recordings": "../file.txt"}},
    )
    places = {
        FILE: tmp_path / "file.txt",
        DIR: tmp_path / "folder",
        MISSING: tmp_path / "missing",
        UNDER_FILE: tmp_path / "file.txt" / "sub",
        NPZ_DIR: tmp_path / "out.npz",
        CONFIG: ROOT / "config" / "arbitrage.toml",
        REC: rec,
        CONFIG_STATE_IS_A_FILE: blocked,
    }
    return [str(places.get(a, a)) for a in argv]


def _case_id(case: tuple[list[str], str]) -> str:
    argv, option = case
    return f"{argv[0]} {option} " + " ".join(a for a in argv[1:] if not a.startswith("<"))


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_a_bad_value_is_exit_2_naming_the_option(
    case: tuple[list[str], str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv, option = case
    filled = _fill(argv, tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    code = main(filled)  # anything raised here is the traceback a user would have seen
    out, err = capsys.readouterr()
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    command = "arb" if option == "COMMAND" else f"arb {argv[0]}"
    assert lines[0].startswith(f"{command}: ") and option in lines[0], err
    assert "expected" in lines[0] or "unrecognized" in lines[0], err
    assert "Traceback" not in err and out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing was written


def _options(parser: argparse.ArgumentParser) -> set[tuple[str, str]]:
    # (command, option) for every option of every command that takes a value
    out = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                for sub_action in sub._actions:
                    if sub_action.nargs == 0:  # a flag: nothing to get wrong
                        continue
                    names = "/".join(sub_action.option_strings) or str(sub_action.metavar or sub_action.dest)
                    out.add((name, names))
    return out


def test_every_option_that_takes_a_value_has_a_row() -> None:
    covered = {(argv[0], option) for argv, option in CASES}
    assert _options(_parser()) - covered == set()


@pytest.mark.parametrize("value", ["0", "fast", "-1"])
async def test_the_installed_command_answers_a_bad_speed_without_a_traceback(value: str, tmp_path: Path) -> None:
    # The three cases through a real process: what the user's shell sees.
    code, stdout, stderr = await run_arb("dry-run", "--speed", value, cwd=tmp_path)
    assert code == 2
    assert stderr.strip() == (
        f"arb dry-run: --speed: expected a number > 0 (1 is real time, 10 ten times faster) or max, got '{value}'"
    )
    assert stdout == ""
