"""``[strategy] kernel`` and ``[strategy.params]``: a strategy of the user's loaded, checked and bound, and
each mistake one answer (exit 2 naming the strategy, no traceback) in every command before anything runs.

The strategies are small files written into ``tmp_path`` (``tests/support/user_strategy.py``)."""

from __future__ import annotations

import asyncio
import math
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from arb.catalog import known_venues
from arb.cli import main
from arb.config import load_config
from arb.strategies.maker_taker import MAKER_TAKER
from arb.strategies.taker import TAKER
from arb.strategy.loading import StrategyLoadError, load_strategy, strategy_of
from arb.strategy.rules import rules_of
from arb.strategy.selection import bind_config, strategies_for
from arb.strategy.types import STYLE_MAKER_TAKER, STYLE_TAKER
from arb.testing.configs import write_config_files
from tests.support.processes import run_arb
from tests.support.user_strategy import CROSS, CROSS_QUOTING, write_strategy


def _config(folder: Path, kernel: str | None = None, params: dict[str, Any] | None = None, **strategy: Any) -> Path:
    table: dict[str, Any] = dict(strategy)
    if kernel is not None:
        table["kernel"] = kernel
    if params is not None:
        table["params"] = params
    return write_config_files(folder, arbitrage_overrides={"strategy": table})


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    # What a command refused with a mistake prints: exit 2, nothing on stdout, no traceback, a few lines.
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    text = err.strip()
    assert text.startswith(f"arb {argv[0]}: ") and len(text.splitlines()) <= 4, text
    return text


def test_a_file_relative_to_the_configuration_loads_and_its_parameters_reach_the_drivers(tmp_path) -> None:
    file = write_strategy(tmp_path / "cfg" / "strategies")
    path = _config(tmp_path / "cfg", "strategies/mystrat.py:Cross", {"window": 20, "threshold_bps": 3})
    config = load_config(path)
    assert config.strategy.kernel == f"{file.resolve()}:Cross"  # made absolute against the file's folder
    bound = bind_config(config, rules_of(config))  # what both drivers call
    (strategy,) = bound.strategies
    assert (strategy.name, strategy.origin) == ("cross", f"{file.resolve()}:Cross")
    record = bound.params[0]
    assert (int(record["window"]), float(record["threshold_bps"]), float(record["size"]), bool(record["enabled"])) == (
        20, 3.0, 0.001, True,
    )  # fmt: skip
    assert bound.memory.dtype.names == ("seen", "best_bps") and int(bound.memory[0]["seen"]) == 0
    assert int(rules_of(config)[0]["style"]) == STYLE_TAKER  # it does not quote
    assert strategy_of(load_config(path)) is strategy  # loaded once per (kernel, folder)


def test_a_module_is_imported_from_the_current_folder_first(tmp_path, monkeypatch) -> None:
    package = "userpkg_" + re.sub(r"\W", "_", tmp_path.name)
    write_strategy(tmp_path / "work" / package, "", "__init__.py")
    write_strategy(tmp_path / "work" / package, CROSS, "strat.py")
    monkeypatch.chdir(tmp_path / "work")
    path = _config(tmp_path / "cfg", f"{package}.strat:Cross")
    before = list(sys.path)
    strategy = strategy_of(load_config(path))
    assert strategy.name == "cross" and strategy.origin == f"{package}.strat:Cross"
    assert sys.path == before  # the current folder was first while it imported, and only then


def test_set_names_the_strategy_and_its_parameters_a_file_relative_to_here(tmp_path, monkeypatch) -> None:
    file = write_strategy(tmp_path / "here")
    path = _config(tmp_path / "cfg")
    monkeypatch.chdir(tmp_path / "here")
    config = load_config(path, settings=[("strategy.kernel", "mystrat.py:Cross"), ("strategy.params.window", 600)])
    assert config.strategy.kernel == f"{file.resolve()}:Cross"
    assert int(bind_config(config, rules_of(config)).params[0]["window"]) == 600


def test_a_built_in_by_name_and_the_style_when_left_out(tmp_path) -> None:
    assert strategies_for(load_config(_config(tmp_path / "a"))) == [TAKER]  # as before: the sample's own
    config = load_config(_config(tmp_path / "b", "maker_taker"))
    assert strategies_for(config) == [MAKER_TAKER]
    assert int(rules_of(config)[0]["style"]) == STYLE_MAKER_TAKER  # the drivers quote for it


def test_a_strategy_that_quotes_gets_the_quote_machinery(tmp_path) -> None:
    write_strategy(tmp_path / "cfg", CROSS_QUOTING)
    config = load_config(_config(tmp_path / "cfg", "mystrat.py:Quoting"))
    assert strategy_of(config).quotes
    assert rules_of(config)["style"].tolist() == [STYLE_MAKER_TAKER]


def test_load_strategy_from_python_names_the_spec(tmp_path) -> None:
    write_strategy(tmp_path)
    assert load_strategy("mystrat.py:Cross", tmp_path).name == "cross"
    with pytest.raises(StrategyLoadError, match=r"^nothere\.py:Cross: strategy 'nothere\.py:Cross': no such file"):
        load_strategy("nothere.py:Cross", tmp_path)


@pytest.mark.parametrize(
    ("params", "key", "expected"),
    [
        ({"windw": 5}, "windw", 'unknown key (did you mean "window"?); strategy \'cross\' takes: threshold_bps, size, '
         "window, enabled"),
        ({"window": 1.5}, "window", "expected an integer (parameter window of strategy 'cross', default 10), got 1.5 "
         "(float)"),
        ({"threshold_bps": True}, "threshold_bps", "expected a number (parameter threshold_bps of strategy 'cross', "
         "default 5.0), got true (bool)"),
        ({"threshold_bps": "3"}, "threshold_bps", 'expected a number (parameter threshold_bps of strategy \'cross\', '
         'default 5.0), got "3" (str)'),
        ({"threshold_bps": math.inf}, "threshold_bps", "expected a number (parameter threshold_bps of strategy "
         "'cross', default 5.0), got inf (float)"),
        ({"enabled": 1}, "enabled", "expected true or false (parameter enabled of strategy 'cross', default true), "
         "got 1 (int)"),
    ],
)  # fmt: skip
def test_a_parameter_it_does_not_take_names_the_file_and_the_key(tmp_path, capsys, params, key, expected) -> None:
    write_strategy(tmp_path / "cfg")
    path = _config(tmp_path / "cfg", "mystrat.py:Cross", params)
    assert _refused(["check", "--config", str(path)], capsys) == f"arb check: {path}: strategy.params.{key}: {expected}"


def test_a_parameters_constraint_is_checked(tmp_path, capsys) -> None:
    constrained = CROSS.replace("import msgspec\n", "from typing import Annotated\n\nimport msgspec\n").replace(
        "threshold_bps: float = 5.0", "threshold_bps: Annotated[float, msgspec.Meta(gt=0)] = 5.0"
    )
    write_strategy(tmp_path / "cfg", constrained)
    path = _config(tmp_path / "cfg", "mystrat.py:Cross", {"threshold_bps": 0})
    assert _refused(["check", "--config", str(path)], capsys) == (
        f"arb check: {path}: strategy.params.threshold_bps: expected a number > 0 (parameter threshold_bps of "
        "strategy 'cross', default 5.0), got 0 (int)"
    )


def test_an_integer_is_a_number_and_set_is_named_when_it_is_wrong(tmp_path, capsys) -> None:
    write_strategy(tmp_path / "cfg")
    path = _config(tmp_path / "cfg", "mystrat.py:Cross", {"threshold_bps": 3})
    assert main(["check", "--config", str(path), "--set", "strategy.params.size=0.002"]) == 0
    out = capsys.readouterr().out
    assert "    parameters: threshold_bps = 3.0, size = 0.002, window = 10, enabled = true" in out.splitlines()
    line = _refused(["check", "--config", str(path), "--set", "strategy.params.window=2.5"], capsys)
    assert line == (
        "arb check: --set strategy.params.window: expected an integer (parameter window of strategy 'cross', "
        "default 10), got 2.5 (float)"
    )
    # the file says window = 10 too: --set window=10.0 changed its type, not its value, and is still named
    path = _config(tmp_path / "cfg", "mystrat.py:Cross", {"window": 10})
    line = _refused(["check", "--config", str(path), "--set", "strategy.params.window=10.0"], capsys)
    assert line.startswith("arb check: --set strategy.params.window: expected an integer"), line


def test_a_built_in_reads_its_parameters_from_the_strategy_section(tmp_path, capsys) -> None:
    path = _config(tmp_path / "cfg", params={"window": 5})
    line = _refused(["check", "--config", str(path)], capsys)
    assert line == (
        f"arb check: {path}: strategy.params.window: the built-in strategy 'taker' reads its parameters from "
        "[strategy] (min_spread_bps, max_order_size, max_position_size, rebalance_threshold, funding_horizon_h, "
        "close_before_funding_s, inventory_skew_bps): expected no [strategy.params]"
    )


def test_check_prints_the_strategy_and_its_parameters(tmp_path, capsys) -> None:
    file = write_strategy(tmp_path / "cfg")
    path = _config(tmp_path / "cfg", "mystrat.py:Cross", {"window": 20})
    assert main(["check", "--config", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    at = lines.index(f"  runs strategy 'cross' (from {file.resolve()}:Cross): a pair when one venue's bid clears "
                     "another's ask")  # fmt: skip
    assert lines[at + 1] == "    parameters: threshold_bps = 5.0, size = 0.001, window = 20, enabled = true"
    assert main(["check", "--config", str(_config(tmp_path / "b"))]) == 0
    out = capsys.readouterr().out.splitlines()
    at = out.index("  runs strategy 'taker' (built in, [strategy] style): both legs take: a pair of "
                   "immediate-or-cancel orders when the books' spread clears the threshold")  # fmt: skip
    assert out[at + 1].startswith("    parameters: min_spread_bps = "), out[at + 1]  # its own, by their names


_NOT_IMPORTING = """\
import numba
from arb.strategy.seam import Strategy

X = undefined_name + 1
"""
_SYNTAX = """\
import numba

def f(:
    pass
"""
_NOT_A_STRATEGY = "Cross = 3\n"
_PLAIN = """\
from arb.strategy.seam import Strategy

def decide(view, rules, params, memory, now_ns, intents):
    return 0

Cross = Strategy(name="plain", decide=decide)
"""
_NOT_COMPILING = """\
import numba
from arb.strategy.seam import Strategy

@numba.njit(cache=True)
def decide(view, rules, params, memory, now_ns, intents):
    edge = view[0]["no_such_field"]
    return 0

Cross = Strategy(name="broken", decide=decide)
"""
_RETURNS_A_FLOAT = _NOT_COMPILING.replace('edge = view[0]["no_such_field"]', "pass").replace("return 0", "return 0.5")
_MISTAKES = {
    "no such file": ("nothere.py:Cross", None, ["no such file {folder}/nothere.py"]),
    "no such module": ("nosuchpkg_for_arb.mod:Cross", None, ["no module named nosuchpkg_for_arb (looked in the"]),
    "does not import": (None, _NOT_IMPORTING, [
        "does not import:\n  {file}, line 4: NameError: name 'undefined_name' is not defined\n"
        "      X = undefined_name + 1",
    ]),
    "syntax error": (None, _SYNTAX, ["does not import:\n  {file}, line 3: SyntaxError: invalid syntax"]),
    "misnamed object": ("mystrat.py:Crss", CROSS, ['{file} has no Crss (did you mean "Cross"?); its strategies: ']),
    "not a Strategy": (None, _NOT_A_STRATEGY, ["Cross is an int, not a Strategy: declare Cross = Strategy("]),
    "decide not compiled": (None, _PLAIN, ["decide is a plain Python function: expected it compiled by Numba"]),
    "decide does not compile": (None, _NOT_COMPILING, [
        "strategy 'broken' ({file}:Cross) does not compile for arb's records:\n  {file}, line 6: Field "
        "'no_such_field' was not found in record",
        '\n      edge = view[0]["no_such_field"]',
    ]),
    "decide returns a float": (None, _RETURNS_A_FLOAT, [
        "strategy 'broken' ({file}:Cross): decide returns float64: expected the number of intents it wrote",
    ]),
}  # fmt: skip


def _mistake(folder: Path, name: str) -> tuple[Path, list[str]]:
    # The configuration of one mistake and what its answer must say.
    kernel, text, said = _MISTAKES[name]
    file = (folder / "mystrat.py").resolve()
    if text is not None:
        write_strategy(folder, text)
    path = _config(folder, kernel or "mystrat.py:Cross")
    return path, [s.format(file=file, folder=folder.resolve()) for s in said]


@pytest.mark.parametrize("name", list(_MISTAKES))
def test_each_mistake_is_one_answer_naming_the_strategy(tmp_path, capsys, name) -> None:
    path, said = _mistake(tmp_path / "cfg", name)
    text = _refused(["check", "--config", str(path)], capsys)
    assert text.startswith(f"arb check: {path}: strategy.kernel: strategy '")
    for part in said:
        assert part in text
    assert "During:" not in text and "Failed in nopython" not in text  # the compiler's reason, not its report


@pytest.mark.parametrize("command", ["backtest", "dry-run", "live", "parity"])
def test_every_command_answers_before_anything_runs(tmp_path, capsys, command) -> None:
    path, said = _mistake(tmp_path / "cfg", "decide does not compile")
    text = _refused([command, "--config", str(path)], capsys)
    assert text.startswith(f"arb {command}: {path}: strategy.kernel: strategy 'broken'") and said[0] in text
    # nothing was written (no report, no paper account, no live state) and nothing asked for keys or venues
    written = {p.name for p in (tmp_path / "cfg").iterdir()} - {"__pycache__"}  # Python's own bytecode
    assert written == {"arbitrage.toml", "mystrat.py", *(f"{venue}.toml" for venue in known_venues())}  # as made


def test_check_as_a_process_compiles_a_strategy_of_the_users(tmp_path) -> None:
    # arb check alone compiles nothing (NUMBA_DISABLE_JIT, for its speed): a strategy of the user's is
    # checked by the same command in a process that compiles it
    path, said = _mistake(tmp_path / "cfg", "decide does not compile")
    code, out, err = asyncio.run(run_arb("check", "--config", str(path), env={"NUMBA_DISABLE_JIT": None}))
    assert code == 2 and out == "" and "Traceback" not in err
    assert err.startswith(f"arb check: {path}: strategy.kernel: strategy 'broken'") and said[0] in err


def test_a_first_backtest_says_a_strategy_does_not_import_once(tmp_path) -> None:
    # The first run after an install (Numba's cache empty) starts its warm-up processes before it compiles the
    # strategy: one that does not import is the command's one answer, no traceback from either process
    path, said = _mistake(tmp_path / "cfg", "does not import")
    code, out, err = asyncio.run(run_arb("backtest", "--config", str(path), env={"NUMBA_CACHE_DIR": str(tmp_path)}))
    assert code == 2 and out == "" and "Traceback" not in err and "Process " not in err
    assert err.startswith(f"arb backtest: {path}: strategy.kernel: strategy '") and said[0] in err


# -- one file, two module names: Numba's cache beside it ---------------------------------------------

_GLOBAL_TABLE = CROSS.replace("MEMORY = np.dtype(", "SCALE = np.array([1.0])\n\n\nMEMORY = np.dtype(").replace(
    'm["best_bps"] = best\n', 'm["best_bps"] = best * SCALE[0]\n'
)  # a global array: its cached machine code rebuilds its globals from the module, by the module's name
_BIND = "from arb.strategy.seam import bind; from arb.strategy.testkit import rules_for; "


def _python(code: str, cwd: Path) -> str:
    # ``code`` in a fresh interpreter in ``cwd`` (sys.modules and Numba's loaded code are per process)
    import subprocess

    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stderr


def test_a_file_imported_as_a_package_module_and_by_its_path_shares_numbas_cache(tmp_path: Path) -> None:
    # The test kit imports pkg.mystrat (the cache is written under that name); arb loads the same file by its
    # path from another folder, where "pkg" does not import: the stale entries are compiled again, no
    # traceback; then the kit's import again finds entries written under the other name, and the same.
    folder = tmp_path / "work"
    (folder / "pkg").mkdir(parents=True)
    (folder / "pkg" / "__init__.py").write_text("")
    file = write_strategy(folder / "pkg", _GLOBAL_TABLE)
    kit = _BIND + "import pkg.mystrat as m; bind([m.Cross], rules_for())"
    assert "compiled again" not in _python(kit, folder)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    load = f"from arb.strategy.loading import load_strategy; s = load_strategy({str(file)!r} + ':Cross'); "
    said = _python(_BIND + load + "bind([s], rules_for())", elsewhere)
    assert f"decide: Numba's cache of {file} was written when its file was imported as another module" in said
    assert "compiled again" in _python(kit, folder)  # and the other way


def test_a_file_is_imported_under_its_own_name_unless_that_names_another_module(tmp_path: Path) -> None:
    from arb.strategy import loading

    mine = write_strategy(tmp_path / "a", name="stratfile_3f2a.py")
    assert loading._module_name(mine.resolve()) == "stratfile_3f2a"  # what `import stratfile_3f2a` beside it names
    shadow = write_strategy(tmp_path / "b", name="json.py")
    assert loading._module_name(shadow.resolve()).startswith("_arb_strategy_json_")  # the standard library's json
    dashed = write_strategy(tmp_path / "c", name="my-strat.py")
    assert loading._module_name(dashed.resolve()).startswith("_arb_strategy_my_strat_")
