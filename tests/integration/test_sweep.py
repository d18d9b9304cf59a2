"""``arb sweep``: a 2x2 grid over the standing-spread scenario gives the same figures, bit for bit, on the
local process pool (2 workers), on a local Ray cluster (2 actors) and in single ``run_backtest`` calls;
a bad grid is exit 2 naming the file and the key, before anything runs.

Ray starts (several seconds) when a test first needs it and stays up for the module's later tests; the
test of its shutdown comes last, so that one cluster serves them all (a test needing Ray after it would
start another). Without Ray installed the Ray tests are
skipped, unless ``ARB_REQUIRE_RAY=1`` (CI) makes that a failure.
"""

from __future__ import annotations

import csv
import os
import shlex
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from arb.backtest.run import run_backtest
from arb.cli import main
from arb.config import AppConfig, load_config
from arb.sweep import FIGURES, load_grid
from arb.sweep.command import ray_address
from arb.sweep.ray_runner import shutdown_ray
from arb.sweep.runner import figures_of
from tests.support.scenario_days import standing_spread_config

GRID = """\
# two sizes x two Binance taker fees: every figure moves with one axis or the other
[grid]
"strategy.max_order_size" = [0.01, 0.02]
"binance.fees.taker" = [0.0005, 0.001]

[sweep]
objective = "pnl"
heatmap = ["strategy.max_order_size", "binance.fees.taker"]
"""

_RUN_COLUMNS = ("wall_s", "worker", "_out")  # how long and where: the only columns allowed to differ


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(arbitrage.toml of the standing-spread scenario, the grid file)."""
    root = tmp_path_factory.mktemp("sweep")
    config = standing_spread_config(root)
    grid = root / "grid.toml"
    grid.write_text(GRID)
    return config, grid


@pytest.fixture(scope="module")
def _ray() -> Iterator[Any]:
    """The ``ray`` module; whatever local cluster the module's tests left running is shut down at its end."""
    try:
        import ray
    except ImportError as exc:
        why = f"Ray is not installed (pip install 'arb[ray]'): {exc}"
        if os.environ.get("ARB_REQUIRE_RAY") == "1":
            pytest.fail(why)
        pytest.skip(why)
    try:
        yield ray
    finally:
        if ray.is_initialized():
            shutdown_ray(ray)


@pytest.fixture
def ray_cluster(_ray: Any) -> Any:
    """A local Ray cluster of 2 CPUs (``arb sweep --ray auto`` then uses this connection), started unless
    one is running."""
    if not _ray.is_initialized():
        _ray.init(num_cpus=2, include_dashboard=False)
    return _ray


def _sweep(scenario: tuple[Path, Path], out: Path, *extra: str) -> list[dict[str, str]]:
    config, grid = scenario
    code = main(
        ["-q", "sweep", "--grid", str(grid), "--config", str(config), "--workers", "2", "--out", str(out), *extra]
    )
    assert code == 0
    for name in ("results.csv", "best.toml", "heatmap.png"):
        assert (out / name).stat().st_size > 0, name
    with (out / "results.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        row["_out"] = str(out)  # where the files are (not a column)
    return rows


def _cell(value: Any) -> str:
    # how results.csv writes a figure: floats exactly (repr), None empty
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


@pytest.fixture(scope="module")
def pool_rows(scenario: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, str]]:
    """results.csv of the grid on the local pool with 2 workers."""
    return _sweep(scenario, tmp_path_factory.mktemp("pool"))


def test_the_pool_gives_what_single_backtests_give(
    scenario: tuple[Path, Path], pool_rows: list[dict[str, str]]
) -> None:
    config_path, grid_path = scenario
    config = load_config(config_path)
    grid = load_grid(grid_path, config)
    points = grid.points()
    assert [int(r["index"]) for r in pool_rows] == list(range(4))
    # The points ran in the pool's processes, never in this one; which of its two took which point is the
    # pool's choice (a free worker takes the next: one ready first may take all four)
    workers = {r["worker"] for r in pool_rows}
    assert 1 <= len(workers) <= 2 and f"{socket.gethostname()}:{os.getpid()}" not in workers, workers
    for row, point in zip(pool_rows, points, strict=True):
        assert {k: row[k] for k in point} == {k: repr(v) for k, v in point.items()}
        own: AppConfig = grid.config_at(config, point)
        figures, digest = figures_of(own, run_backtest(own))
        assert {name: row[name] for name in FIGURES} == {name: _cell(figures[name]) for name in FIGURES}, point
        assert row["digest"] == digest
    # the axes matter: four different runs, and the best one is the cheaper fee
    assert len({r["digest"] for r in pool_rows}) == 4
    assert {r["pairs"] for r in pool_rows} == {"3", "2"}
    best = min(pool_rows, key=lambda r: int(r["rank"]))
    assert best["binance.fees.taker"] == "0.0005"


def test_best_toml_is_a_grid_of_the_best_point(
    scenario: tuple[Path, Path], pool_rows: list[dict[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    config = load_config(scenario[0])
    pool_out = Path(pool_rows[0]["_out"])
    grid = load_grid(pool_out / "best.toml", config)  # what `arb sweep --grid best.toml` reads
    best = min(pool_rows, key=lambda r: int(r["rank"]))
    assert grid.points() == [{k: float(best[k]) for k in ("strategy.max_order_size", "binance.fees.taker")}]


def test_best_toml_says_the_command_that_runs_its_point_as_printed(
    scenario: tuple[Path, Path],
    pool_rows: list[dict[str, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # before: "arb sweep --grid best.toml", which fails from the folder the sweep ran in ("no such grid
    # file": best.toml is in --out) and, from --out, does not find the sweep's --config
    pool_out = Path(pool_rows[0]["_out"])
    (hint,) = [line for line in (pool_out / "best.toml").read_text().splitlines() if "arb sweep" in line]
    command = hint.partition(" with: ")[2]
    words = shlex.split(command)
    assert words == ["arb", "sweep", "--grid", str(pool_out / "best.toml"), "--config", str(scenario[0])]
    monkeypatch.chdir(tmp_path)
    assert main([*words[1:], "--out", "again"]) == 0  # as printed (the report where this test keeps it)
    with (tmp_path / "again" / "results.csv").open(newline="") as f:
        (row,) = list(csv.DictReader(f))
    best = min(pool_rows, key=lambda r: int(r["rank"]))
    assert row["digest"] == best["digest"]  # the very run of the best point


def test_ray_gives_the_same_results_as_the_pool(
    scenario: tuple[Path, Path], pool_rows: list[dict[str, str]], ray_cluster: Any, tmp_path: Path
) -> None:
    ray_rows = _sweep(scenario, tmp_path / "ray", "--ray", "auto")
    assert ray_cluster.is_initialized()  # the sweep used the test's cluster and left it running
    strip = [{k: v for k, v in r.items() if k not in _RUN_COLUMNS} for r in pool_rows]
    assert [{k: v for k, v in r.items() if k not in _RUN_COLUMNS} for r in ray_rows] == strip
    assert all(r["worker"] not in {p["worker"] for p in pool_rows} for r in ray_rows)


@pytest.mark.parametrize(
    ("grid", "key", "expected"),
    [
        ("[grid]\nstrategy.min_sprad_bps = 1\n", "grid.strategy.min_sprad_bps", 'mean "grid.strategy.min_spread_bps"'),
        ('[grid]\n"strategy.min_spread_bps" = [1, -2]\n', "grid.strategy.min_spread_bps", "expected a number >= 0"),
        ('[grid]\n"strategy.cooldown_ns" = [0, 5]\n', "grid.strategy.cooldown_ns", 'mean "grid.strategy.cooldown_ms"'),
        ('[grid]\n"strategy.cooldown_ms" = [0, 1.5]\n', "grid.strategy.cooldown_ms", "integer number of milliseconds"),
        ('[grid]\n"execution.hedge_mode" = ["hedge", "flee"]\n', "grid.execution.hedge_mode", '"hedge", "unwind"'),
        ('[grid]\n"strategy.symbol" = ["ETHUSDT"]\n', "grid.strategy.symbol", "cannot be swept"),
        ('[grid]\n"strategy.min_spread_bps" = []\n', "grid.strategy.min_spread_bps", "non-empty list"),
        ('[grid]\n"leg_faults.reject" = [0.6]\n"leg_faults.late" = [0.3, 0.6]\n"leg_faults.late_ms" = 5\n',
         "grid.leg_faults.late", "reject + partial + late <= 1"),
        ('[grid]\n"strategy.min_spread_bps" = [1, 2]\n[sweep]\nobjective = "fun"\n', "sweep.objective", "'pnl'"),
        ('[grid]\n"strategy.min_spread_bps" = [1, 2]\n[sweep]\nheatmap = ["strategy.min_spread_bps", "x"]\n',
         "sweep.heatmap", "expected keys of [grid]"),
        ("[grid\n", None, "expected TOML"),
    ],
)  # fmt: skip
def test_a_bad_grid_is_exit_2_naming_the_file_and_the_key(
    scenario: tuple[Path, Path], grid: str, key: str | None, expected: str, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    config, _ = scenario
    path = tmp_path / "bad.toml"
    path.write_text(grid)
    out = tmp_path / "out"
    assert main(["sweep", "--grid", str(path), "--config", str(config), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"arb sweep: {path}: {key + ': ' if key else ''}"), err
    assert expected in err, err
    assert "\n" not in err and not out.exists()


def test_grid_keys_are_the_toml_spelling_in_its_units(scenario: tuple[Path, Path], tmp_path: Path) -> None:
    config = load_config(scenario[0])
    path = tmp_path / "grid.toml"
    path.write_text(
        "[grid]\n"
        'strategy.cooldown_ms = [0, 250]\n'  # a TOML table: the same key
        '"bybit.latency.order_entry_ms" = 2.5\n'  # one value
        '"leg_faults.reject" = [0.0, 0.1]\n'  # [leg_faults] rates apply to both venues
        '"execution.hedge_mode" = ["hedge", "unwind"]\n'
    )  # fmt: skip
    grid = load_grid(path, config)
    points = grid.points()
    assert len(points) == 8 and grid.heatmap_axes() == ("strategy.cooldown_ms", "leg_faults.reject")
    overrides = grid.overrides(points[-1])
    assert overrides == {
        "strategy.cooldown_ns": 250_000_000,
        "bybit.latency.order_entry_ns": 2_500_000,
        "leg_faults.binance.reject": 0.1,
        "leg_faults.bybit.reject": 0.1,
        "execution.hedge_mode": "unwind",
    }
    changed = grid.config_at(config, points[-1])
    assert (
        changed.leg_faults.rates("bybit").reject == 0.1 and changed.venue("bybit").latency.order_entry_ns == 2_500_000
    )
    # settings of one section change together: late needs late_ms > 0, whatever the order of the keys
    path.write_text('[grid]\n"leg_faults.late" = [0.1, 0.2]\n"leg_faults.late_ms" = [5, 10]\n')
    late = load_grid(path, config)
    assert late.config_at(config, late.points()[0]).leg_faults.rates("binance").late_ns == 5_000_000


def test_ray_without_ray_installed_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(Exception, match=r"pip install 'arb\[ray\]'"):
        ray_address("local")


def test_one_symbols_own_setting_is_swept_as_its_table_spells_it(tmp_path: Path, two_symbols: Path) -> None:
    from arb.config import load_config
    from arb.errors import ConfigError
    from arb.sweep.grid import load_grid
    from tests.support.two_symbols import two_symbol_config

    config = load_config(two_symbol_config(tmp_path, two_symbols))
    path = tmp_path / "grid.toml"
    path.write_text('[grid]\n"symbols.ETHUSDT.min_spread_bps" = [3, 8]\n"symbols.ETHUSDT.cooldown_ms" = [0, 250]\n'
                    '"strategy.min_spread_bps" = [4]\n')  # fmt: skip
    grid = load_grid(path, config)
    points = grid.points()
    assert len(points) == 4
    at = grid.config_at(config, points[-1])  # the last key varies fastest: ETH 8 bps, 250 ms
    btc, eth = at.symbols
    assert (eth.strategy.min_spread_bps, eth.strategy.cooldown_ns) == (8.0, 250_000_000)
    assert btc.strategy.min_spread_bps == 4.0 and eth.strategy.max_order_size == 0.02  # the rest untouched
    for text, key in (
        ('[grid]\n"symbols.XRPUSDT.min_spread_bps" = [3]\n', "grid.symbols.XRPUSDT.min_spread_bps"),
        ('[grid]\n"symbols.ETHUSDT.max_drawdown" = [3]\n', "grid.symbols.ETHUSDT.max_drawdown"),
        ('[grid]\n"symbols.ETHUSDT.max_order_size" = [-1]\n', "grid.symbols.ETHUSDT.max_order_size"),
        ('[grid]\n"strategy.symbols" = [["BTCUSDT"]]\n', "grid.strategy.symbols"),
    ):
        path.write_text(text)
        with pytest.raises(ConfigError) as info:
            load_grid(path, config)
        assert info.value.key == key, str(info.value)


def _scan_rows(out: Path) -> list[dict[str, Any]]:
    # arb scan's rows in one order, NaN as None (NaN equals nothing, itself included)
    from arb.scan.store import read_table

    rows = [{k: None if v != v else v for k, v in r.items()} for r in read_table(out / "scan.parquet")]
    return sorted(rows, key=lambda r: [str(r[k]) for k in ("day", "symbol", "market", "buy_venue", "sell_venue")])


def test_arb_scan_on_ray_gives_the_local_figures_and_a_second_scan_redoes_no_shard(
    ray_cluster: Any, tmp_path: Path
) -> None:
    # arb scan --ray: its shards as Ray tasks on this module's cluster (--ray auto: the connection the test holds)
    from tests.support import planted_books

    recordings = tmp_path / "recordings"
    planted_books.write_books(recordings)
    scan = [
        "-q",
        "scan",
        "--venues",
        "binance,bybit,okx",
        "--recordings",
        str(recordings),
        "--min-edge-bps",
        "5",
        "--symbols",
        "BTCUSDT",
    ]  # one shard: Ray's own workers start, import and load what it runs once
    assert main([*scan, "--out", str(tmp_path / "local"), "--workers", "1"]) == 0
    assert main([*scan, "--out", str(tmp_path / "ray"), "--ray", "auto", "--workers", "2"]) == 0
    assert ray_cluster.is_initialized()  # the scan used the test's cluster and left it running
    assert _scan_rows(tmp_path / "ray") == _scan_rows(tmp_path / "local")
    done = sorted((tmp_path / "ray" / "shards").rglob("*.done.json"))
    assert len(done) == 1
    stamps = [p.stat().st_mtime_ns for p in done]
    assert main([*scan, "--out", str(tmp_path / "ray"), "--ray", "auto", "--workers", "2"]) == 0
    assert [p.stat().st_mtime_ns for p in done] == stamps  # every shard read from what the first scan kept


def test_ray_leaves_pythons_print_in_builtins(ray_cluster: Any) -> None:
    # Ray's shutdown leaves its safe_print in builtins, and Numba cannot compile a function that
    # prints while it is there: every later conversion (hftbacktest's correct_local_timestamp) failed.
    import builtins

    shutdown_ray(ray_cluster)  # last in the module: the tests above share one cluster (the fixture)
    assert type(builtins.print) is type(len)  # Python's own, not a Python-level replacement
