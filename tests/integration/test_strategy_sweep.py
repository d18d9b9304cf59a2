"""``arb sweep`` over a strategy's own parameters (``"strategy.params.<name>"``): each point runs the
strategy with its value, best.toml is a grid of it, and a key or value the strategy does not take is exit 2
naming the grid file and the key, before anything runs."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from arb.cli import main
from arb.config import load_config
from arb.sweep import load_grid
from tests.support.scenario_days import standing_spread_config
from tests.support.user_strategy import write_strategy


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The standing-spread day, traded by ``cross`` (a file outside the configuration's folder)."""
    root = tmp_path_factory.mktemp("strategy-sweep")
    file = write_strategy(root / "mine")
    return standing_spread_config(root / "day", arbitrage_overrides={"strategy": {"kernel": f"{file}:Cross"}})


def test_each_point_runs_the_strategy_with_its_value(scenario: Path, tmp_path: Path) -> None:
    grid = tmp_path / "grid.toml"
    grid.write_text("[grid.strategy.params]\nsize = [0.001, 0.002]\n")  # a TOML table: "strategy.params.size"
    out = tmp_path / "out"
    argv = ["-q", "sweep", "--grid", str(grid), "--config", str(scenario), "--workers", "1", "--out", str(out)]
    assert main(argv) == 0
    with (out / "results.csv").open(newline="") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: float(r["strategy.params.size"]))
    assert [r["strategy.params.size"] for r in rows] == ["0.001", "0.002"]
    assert all(int(r["pairs"]) > 0 for r in rows)
    assert float(rows[1]["volume"]) > float(rows[0]["volume"])  # the parameter reached the strategy
    best = load_grid(out / "best.toml", load_config(scenario))  # a grid of the best point, as the strategy takes it
    assert [p.key for p in best.parameters] == ["strategy.params.size"]


@pytest.mark.parametrize(
    ("grid", "expected"),
    [
        ('"strategy.params.sise" = [0.001]', 'grid.strategy.params.sise: unknown key (did you mean "size"?); '
         "strategy 'cross' takes: threshold_bps, size, window, enabled"),
        ('"strategy.params.window" = [10, 1.5]', "grid.strategy.params.window: expected an integer (parameter "
         "window of strategy 'cross', default 10), got 1.5 (float) in [10, 1.5]"),
        ('"strategy.params.enabled" = [true, true]', "grid.strategy.params.enabled: expected distinct values"),
    ],
)  # fmt: skip
def test_a_parameter_the_strategy_does_not_take_is_exit_2(
    scenario: Path, grid: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(f"[grid]\n{grid}\n")
    out = tmp_path / "out"
    assert main(["sweep", "--grid", str(path), "--config", str(scenario), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"arb sweep: {path}: {expected}"), err
    assert "\n" not in err and not out.exists()
