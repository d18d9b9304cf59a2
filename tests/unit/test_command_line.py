"""Options where a person types them: ``--log-format`` on either side of the command and its fatal line,
``--set section.key=value`` checked as the file is, ``arb check`` refusing a configuration whose gate
refuses every pair the kernel sizes, and a command line that answers without loading the trading code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from arb.cli import _COMMANDS, main
from arb.config import load_config
from arb.testing.configs import write_config_files
from tests.support.captures import ROOT

# --- --log-format on either side, and the fatal line in it -------------------------------------------


@pytest.mark.parametrize("where", ["before", "after"])
def test_log_format_json_works_on_either_side_and_the_fatal_line_is_json(tmp_path, capsys, where) -> None:
    # before: `arb check --log-format json` was "unrecognized arguments", and with it before the command
    # the line the failure ends on was plain text among JSON lines
    path = write_config_files(tmp_path, arbitrage_overrides={"strategy": {"min_spread_bps": -1.0}})
    argv = ["--log-format", "json", "check", "--config", str(path)]
    if where == "after":
        argv = ["check", "--config", str(path), "--log-format", "json"]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    (line,) = err.strip().splitlines()
    record = json.loads(line)
    assert record["level"] == "ERROR" and record["logger"] == "arb" and record["exit_code"] == 2
    assert record["message"].startswith(f"arb check: {path}: strategy.min_spread_bps: expected")


def test_a_command_line_that_does_not_parse_ends_on_a_json_line_too(capsys) -> None:
    assert main(["check", "--log-format=json", "--nosuch"]) == 2
    record = json.loads(capsys.readouterr().err)
    assert record["exit_code"] == 2 and record["message"].startswith("arb check: unrecognized arguments: --nosuch")


# --- --set section.key=value --------------------------------------------------------------------------


def test_set_changes_one_key_of_either_file_over_what_the_file_says(tmp_path, capsys) -> None:
    path = write_config_files(tmp_path)
    settings = ["strategy.min_spread_bps=7.5", "binance.fees.taker=0.002", "strategy.style=maker_taker",
                "backtest.recordings=here"]  # fmt: skip
    argv = ["-q", "check", "--config", str(path), *(w for s in settings for w in ("--set", s))]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "min spread 7.5 bps" in out and "binance: spot" in out and "taker fee 20 bps" in out
    assert f"recordings: {Path.cwd() / 'here'}" in out  # a path on the command line: from where it is typed
    config = load_config(path, settings=[("strategy.style", "maker_taker"), ("risk.position_limit", 0.002)])
    assert config.strategy.style == "maker_taker" and config.risk.position_limit == 0.002
    assert load_config(path).strategy.style == "taker"  # the file itself is untouched


@pytest.mark.parametrize(
    ("setting", "line"),
    [
        ("risk.position_limit=abc", '--set risk.position_limit: expected a number > 0, got "abc" (str)'),
        ("strategy.style=maker", '--set strategy.style: expected one of "taker", "maker_taker", got "maker" (str)'),
        ("binance.fees.taker=1", "--set binance.fees.taker: expected a number between -0.01 and 0.01, got 1 (int)"),
        ("risk.positon_limit=1", '--set risk.positon_limit: unknown key (did you mean "position_limit"?); '),
        ("risk.position_limit.x=1", "--set risk.position_limit.x: expected a key inside a table, "
                                    "risk.position_limit is a value"),
        ("risk=1", "--set: expected section.key=value, such as risk.position_limit=0.01, got 'risk=1'"),
    ],
)  # fmt: skip
def test_a_bad_set_names_the_option_the_key_and_what_was_expected(tmp_path, capsys, setting, line) -> None:
    path = write_config_files(tmp_path)
    for command in ("check", "backtest", "dry-run"):
        assert main(["-q", command, "--config", str(path), "--set", setting]) == 2
        out, err = capsys.readouterr()
        assert out == "" and "Traceback" not in err
        assert err.startswith(f"arb {command}: {line}"), err


@pytest.mark.parametrize(
    ("setting", "line"),
    [
        ("foo.bar=1", "--set foo.bar: foo: unknown key; allowed keys in the top level: alerts, "),
        ("strategyy.min_spread_bps=3", '--set strategyy.min_spread_bps: strategyy: unknown key (did you mean '
                                       '"strategy"?); allowed keys in the top level: '),
        ("strategy.foo.bar=1", "--set strategy.foo.bar: strategy.foo: unknown key; allowed keys in [strategy]: "),
        ("binance.foo.bar=1", "--set binance.foo.bar: binance.foo: unknown key; allowed keys in the top level: "
                              "account, "),
        ("bybit.feed.foo.bar=1", "--set bybit.feed.foo.bar: bybit.feed.foo: unknown key; allowed keys in [feed]: "),
        ("leg_faults.foo.bar=1", "--set leg_faults.foo.bar: leg_faults.foo: unknown key; allowed keys in "
                                 "[leg_faults]: "),
        ("symbols.BTCUSDT.foo.bar=1", "--set symbols.BTCUSDT.foo.bar: symbols.BTCUSDT.foo: unknown key; "),
        ("symbols.ETHUSDT.min_spread_bps=3", "--set symbols.ETHUSDT.min_spread_bps: symbols.ETHUSDT: expected a "
                                             "table for one of the symbols traded"),
        ('binance.endpoints.spot.mine.ws=["wss://x.test"]', "--set binance.endpoints.spot.mine.ws: "
                                                             "binance.endpoints.spot.mine.rest: missing required key"),
        ("venues.bybit=nope.toml", f"--set venues.bybit: expected an existing venue file, {Path.cwd() / 'nope.toml'} "
                                   "does not exist"),
    ],
)  # fmt: skip
def test_a_bad_set_that_makes_a_table_names_the_option(tmp_path, capsys, setting, line) -> None:
    # before: `--set foo.bar=1` blamed the file ("arbitrage.toml: foo: unknown key"), as did any refusal of
    # a table the option made on its way, and of a venue file or symbol table it named
    path = write_config_files(tmp_path)
    assert main(["-q", "check", "--config", str(path), "--set", setting]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    assert err.startswith(f"arb check: {line}"), err


@pytest.mark.parametrize(
    ("setting", "line"),
    [
        ("strategy.maker_venues=[bybit]", 'expected a list of venue names, e.g. ["binance"], got "[bybit]" (str); '
         "[bybit] is not a TOML array (a string in one is quoted), so it was read as text: write "
         """--set strategy.maker_venues='["bybit"]'"""),
        ('strategy.maker_venues=["kraken"]', "expected venues of the run ([strategy] venues: binance, bybit), got "
         "kraken"),
        ("strategy.maker_venues=bybit", 'expected a list of venue names, e.g. ["binance"], got "bybit" (str)'),
        ('strategy.venues=["binance"]', 'expected 2 to 8 different venues, e.g. ["binance", "bybit"], got '
         '["binance"]'),
        ("strategy.venues=[]", 'expected at least one venue, e.g. ["binance"], got []'),
        ("strategy.symbols=[BTCUSDT, ETHUSDT]", 'expected a list of strings, got "[BTCUSDT, ETHUSDT]" (str); '
         "[BTCUSDT, ETHUSDT] is not a TOML array (a string in one is quoted), so it was read as text: write "
         """--set strategy.symbols='["BTCUSDT", "ETHUSDT"]'"""),
        ("alerts.email.to=[a@b.test", 'expected a list of strings, got "[a@b.test" (str)'),
        ("rebalance.shares={BTC: 0.5}", 'got "{BTC: 0.5}" (str); {BTC: 0.5} is not a TOML inline table, so it was '
         "read as text"),
    ],
)  # fmt: skip
def test_a_list_on_the_command_line_is_asked_for_as_toml_writes_it(tmp_path, capsys, setting, line) -> None:
    # before: "--set strategy.maker_venues: expected a tuple, got "[bybit]" (str)": no word of what to write,
    # nor that the shell had eaten the quotes of ["bybit"] so that TOML read no array
    path = write_config_files(tmp_path)
    assert main(["-q", "check", "--config", str(path), "--set", setting]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    key = setting.partition("=")[0]
    first = err.splitlines()[0]
    assert first.startswith(f"arb check: --set {key}: ") and first.endswith(line), first
    quoted = """strategy.maker_venues=["bybit"]"""  # what the message says to write
    assert main(["-q", "check", "--config", str(path), "--set", "strategy.style=maker_taker", "--set", quoted]) == 0


def test_every_command_that_reads_the_configuration_takes_set() -> None:
    from arb.cli import _parser

    parser = _parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in _COMMANDS:
        options = sub.choices[name]._option_string_actions  # type: ignore[attr-defined]
        assert ("--set" in options) == ("--config" in options), name


# --- arb check: a gate that refuses every pair the kernel sizes ------------------------------------------


def test_check_refuses_a_position_limit_below_the_order_size(tmp_path, capsys) -> None:
    # before: "ok", exit 0, beside the load's own warning that the gate refuses every pair
    path = write_config_files(tmp_path, arbitrage_overrides={"risk": {"position_limit": 0.0005}})
    assert main(["-q", "check", "--config", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines()[-1] == (
        f"arb check: {path.resolve()}: risk.position_limit: the gate refuses every pair the kernel sizes at full "
        "size: net position if one side of the pair filled alone 0.001 > 0.0005 ([risk] position_limit): pair "
        "refused, for the pair of 0.001 the kernel sizes (strategy.max_order_size 0.001, within the bands and "
        "holdings); expected limits that let it through"
    )
    fixed = ["-q", "check", "--config", str(path), "--set", "strategy.max_order_size=0.0005"]
    assert main(fixed) == 0


# --- answering without loading the trading code ----------------------------------------------------------

_HEAVY = ("numba", "aiohttp", "sqlalchemy", "matplotlib", "ccxt", "hftbacktest", "websockets", "arb.strategy")


_PROBED = [["--help"], *([name, "--help"] for name in _COMMANDS), ["backtest", "--start", "not-a-day"], ["nosuch"],
           ["record", "--duration", "1d"], ["check", "--set", "risk.position_limit=abc"]]  # fmt: skip
"""Command lines that must answer without the trading code: every help, and refusals before any work."""

_PROBE = f"""
import contextlib, io, json, sys
from arb.cli import main
results = []
for argv in json.loads(sys.argv[1]):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as done:  # --help
            code = done.code
    heavy = {{m if m.startswith("arb.") else m.split(".")[0] for m in sys.modules if m.startswith({_HEAVY!r})}}
    results.append([code, sorted(heavy)])
print("loaded:", json.dumps(results))
"""


@pytest.fixture(scope="module")
def loaded_after() -> dict[str, tuple[int, list[str]]]:
    """Per command line of :data:`_PROBED`, run one after another in one fresh process (a process each cost
    about 0.35 s of CPU, 26 times): its exit code and the heavy modules loaded by its end. What a command line
    loads stays loaded, so a heavy module shows from the first command line that loaded it on; the first one
    listing it is the one to fix."""
    done = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(_PROBED)], capture_output=True, text=True,
                          cwd=ROOT)  # fmt: skip
    line = next((line for line in done.stdout.splitlines() if line.startswith("loaded: ")), None)
    assert line is not None, done.stdout + done.stderr
    results = json.loads(line.removeprefix("loaded: "))
    return {" ".join(argv): (code, heavy) for argv, (code, heavy) in zip(_PROBED, results, strict=True)}


@pytest.mark.parametrize("argv", _PROBED, ids=" ".join)
def test_help_and_a_bad_command_line_load_none_of_the_trading_code(
    argv: list[str], loaded_after: dict[str, tuple[int, list[str]]]
) -> None:
    # before: `arb --help` imported numba, aiohttp, SQLAlchemy, ccxt and the journal (0.8 s)
    code, heavy = loaded_after[" ".join(argv)]
    assert code == (0 if "--help" in argv else 2)
    assert heavy == []


def test_check_as_a_process_of_its_own_imports_no_numba_and_no_venue_or_journal_code() -> None:
    # before: 0.5 s and more: Numba imported and the gate's machine code loaded from its cache, to run
    # the gate's rules as plain Python. The console command runs check with nothing compiled.
    done = subprocess.run([sys.executable, "-c", _CONSOLE_PROBE, "-q", "check"], capture_output=True, text=True,
                          cwd=ROOT)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "config/arbitrage.toml: ok" in done.stdout
    heavy = json.loads(done.stdout.splitlines()[-1].removeprefix("loaded: "))
    assert [m for m in heavy if not m.startswith("arb.strategy")] == []  # the rules' modules, as Python


_CONSOLE_PROBE = f"""
import atexit, json, sys
heavy = lambda: sorted({{m if m.startswith("arb.") else m.split(".")[0] for m in sys.modules
                         if m.startswith({_HEAVY!r})}})
atexit.register(lambda: print("loaded:", json.dumps(heavy())))
sys.argv = ["arb", *sys.argv[1:]]
from arb.cli import run
run()
"""


def test_arb_help_says_of_each_command_what_its_own_help_says() -> None:
    # `arb --help` lists the commands without importing their modules: its table must agree with them.
    import importlib

    from arb.cli import _COMMAND_MODULES, _HELP

    assert set(_HELP) == set(_COMMAND_MODULES)
    for name, module in _COMMAND_MODULES.items():
        assert _HELP[name] == importlib.import_module(module).COMMAND.help, name
