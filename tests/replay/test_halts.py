"""A halt outlives the process that raised it: the dry run keeps it in the paper account, arb halt shows
and clears it, and a halted account opens no pair until then."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from arb.cli import main
from arb.testing.configs import write_config_files
from tests.scenarios import Book, Change, write_scenario

DAY = dt.date(2024, 5, 6)


def _config(tmp_path: Path) -> Path:
    # Pairs from 2 s on; at 2.5 s Binance's book falls 1 %: the longs bought there lose more than the
    # drawdown limit of 5 USDT, and the widened spread keeps asking for more pairs.
    write_scenario(
        tmp_path / "recordings",
        DAY,
        Book(bids={59990.0: 2.0}, asks={60000.0: 2.0}),
        Book(bids={59995.0: 2.0}, asks={60400.0: 2.0}),
        [
            Change(2000, "bybit", bids={60300.0: 1.0}),
            Change(2500, "binance", bids={59990.0: 0.0, 59390.0: 2.0}, asks={60000.0: 0.0, 59400.0: 2.0}),
        ],
        duration_ms=6000,
        heartbeat_ms=100,
    )
    venue = {"latency": {"order_entry_ms": 1.0, "order_response_ms": 1.0}, "account": {"base": 1.0, "quote": 1e5}}
    return write_config_files(
        tmp_path,
        binance_overrides=venue,
        bybit_overrides=venue,
        arbitrage_overrides={
            "strategy": {"max_order_size": 0.01, "max_position_size": 0.05, "rebalance_threshold": 0.0},
            "risk": {"max_notional_per_venue": 1e9, "position_limit": 1.0, "max_drawdown": 5.0},
            "backtest": {"recordings": "recordings"},
            "live": {"state_dir": "live"},
        },
    )


def _dry_run(config: Path, state: Path, out: Path) -> int:
    return main(["dry-run", "--config", str(config), "--speed", "max", "--state-dir", str(state), "--out", str(out)])


def test_a_halt_is_kept_in_the_paper_account_until_arb_halt_clears_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, state = _config(tmp_path), tmp_path / "paper"
    assert _dry_run(config, state, tmp_path / "r1") == 0
    account = json.loads((state / "account.json").read_text())
    assert account["halt"] == "risk limit [risk] max_drawdown"
    capsys.readouterr()
    fills = account["fills"]

    assert _dry_run(config, state, tmp_path / "r2") == 0  # the same opportunity again: halted, no pair
    again = capsys.readouterr()
    assert "HALTED (risk limit [risk] max_drawdown)" in again.out + again.err
    assert json.loads((state / "account.json").read_text())["fills"] == fills
    summary = json.loads((tmp_path / "r2" / "summary.json").read_text())
    assert summary["meta"]["risk_state"]["refused"]["halt"] >= 1

    assert main(["halt", "--config", str(config), "--state-dir", str(state)]) == 0
    assert "HALTED: risk limit [risk] max_drawdown" in capsys.readouterr().out
    assert main(["halt", "--config", str(config), "--state-dir", str(state), "--clear"]) == 0
    assert "halt cleared (was: risk limit [risk] max_drawdown)" in capsys.readouterr().out
    assert json.loads((state / "account.json").read_text())["halt"] == ""
    assert _dry_run(config, state, tmp_path / "r3") == 0
    assert json.loads((state / "account.json").read_text())["fills"] > fills  # trading again


def test_arb_halt_sets_and_clears_the_live_journals_halt(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path)
    assert main(["halt", "--config", str(config), "--set", "going on holiday"]) == 0
    out = capsys.readouterr().out
    assert "arb live (main): HALTED: going on holiday" in out
    assert main(["halt", "--config", str(config)]) == 0
    assert "arb live (main): HALTED: going on holiday" in capsys.readouterr().out
    assert main(["halt", "--config", str(config), "--clear"]) == 0
    assert "arb live (main): halt cleared (was: going on holiday)" in capsys.readouterr().out
