"""A halt outlives the process that raised it: the dry run keeps it in the paper account, arb halt shows
and clears it, and a halted account opens no pair until then."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from arb.cli import main
from arb.execution.paper_account import PaperAccountRecords, read_paper_account
from tests.support.scenario_days import Change, standing_spread_config


def _config(tmp_path: Path, risk: dict[str, float] | None = None) -> Path:
    # Pairs from 2 s on; at 2.5 s Binance's book falls 1 %: the longs bought there lose more than the
    # drawdown limit of 5 USDT, and the widened spread keeps asking for more pairs.
    fall = Change(2500, "binance", bids={59990.0: 0.0, 59390.0: 2.0}, asks={60000.0: 0.0, 59400.0: 2.0})
    return standing_spread_config(
        tmp_path,
        changes=[Change(2000, "bybit", bids={60300.0: 1.0}), fall],
        arbitrage_overrides={
            "strategy": {"max_position_size": 0.05},
            "risk": {"max_drawdown": 5.0, **(risk or {})},
            "live": {"state_dir": "live"},
        },
    )


def _account(state: Path) -> PaperAccountRecords:
    account = read_paper_account(state)
    assert account is not None
    return account


def _dry_run(config: Path, state: Path, out: Path) -> int:
    return main(["dry-run", "--config", str(config), "--speed", "max", "--state-dir", str(state), "--out", str(out)])


def test_a_halt_is_kept_in_the_paper_account_until_arb_halt_clears_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, state = _config(tmp_path), tmp_path / "paper"
    assert _dry_run(config, state, tmp_path / "r1") == 0
    account = _account(state)
    assert account.halt == "risk limit [risk] max_drawdown"
    capsys.readouterr()
    fills = len(account.fills)

    assert _dry_run(config, state, tmp_path / "r2") == 0  # the same opportunity again: halted, no pair
    again = capsys.readouterr()
    assert "HALTED (risk limit [risk] max_drawdown)" in again.out + again.err
    assert len(_account(state).fills) == fills
    summary = json.loads((tmp_path / "r2" / "summary.json").read_text())
    assert summary["meta"]["risk_state"]["refused"]["halt"] >= 1

    assert main(["halt", "--config", str(config), "--state-dir", str(state)]) == 0
    assert "HALTED: risk limit [risk] max_drawdown" in capsys.readouterr().out
    assert main(["halt", "--config", str(config), "--state-dir", str(state), "--clear"]) == 0
    assert "halt cleared (was: risk limit [risk] max_drawdown)" in capsys.readouterr().out
    assert _account(state).halt == ""
    assert _dry_run(config, state, tmp_path / "r3") == 0
    assert len(_account(state).fills) > fills  # trading again


def test_arb_halt_sets_and_clears_the_live_journals_halt(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path)
    assert main(["halt", "--config", str(config), "--reason", "going on holiday"]) == 0
    out = capsys.readouterr().out
    assert "arb live (main): HALTED: going on holiday" in out
    assert main(["halt", "--config", str(config)]) == 0
    assert "arb live (main): HALTED: going on holiday" in capsys.readouterr().out
    assert main(["halt", "--config", str(config), "--clear"]) == 0
    assert "arb live (main): halt cleared (was: going on holiday)" in capsys.readouterr().out


def test_the_daily_loss_pause_outlives_a_restart_on_the_same_risk_day_until_arb_halt_clears_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, state = _config(tmp_path, {"max_drawdown": 1e6, "max_daily_loss": 5.0}), tmp_path / "paper"
    assert _dry_run(config, state, tmp_path / "r1") == 0
    account = _account(state)
    assert account.halt == ""  # a pause, not a halt
    assert account.risk["day_halted"] != 0
    fills = len(account.fills)
    capsys.readouterr()

    assert _dry_run(config, state, tmp_path / "r2") == 0  # a restart the same risk day: still paused
    again = capsys.readouterr()
    assert (
        "PAUSED (daily loss limit ([risk] max_daily_loss) reached: no new pair until 00:00 UTC" in again.out + again.err
    )
    assert len(_account(state).fills) == fills
    summary = json.loads((tmp_path / "r2" / "summary.json").read_text())
    assert summary["meta"]["risk_state"]["refused"]["max_daily_loss"] >= 1

    assert main(["halt", "--config", str(config), "--state-dir", str(state), "--clear"]) == 0
    assert "day_halted" not in _account(state).risk
    assert _dry_run(config, state, tmp_path / "r3") == 0
    assert len(_account(state).fills) > fills  # trading again


def test_live_keeps_the_gates_memory_in_the_journal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from rich.console import Console

    from arb.config import load_config
    from arb.execution.journaling import open_execution_journal
    from arb.execution.risk import B_DAILY_LOSS
    from arb.live.engine import Engine
    from arb.live.guards import RiskMemory

    path = _config(tmp_path, {"max_daily_loss": 5.0})
    config = load_config(path)
    now = 1_715_000_000 * 10**9
    journal = open_execution_journal(config.live)
    try:
        first = Engine(config)
        memory = RiskMemory(journal)
        memory.restore(first, Console(), now)
        st = first.rstate[0]
        st["day"] = now // (86_400 * 10**9)
        st["day_halted"] = B_DAILY_LOSS
        first.srisk[0]["pair_count"] = 1
        first.srisk[0]["pair_times"][0] = now - 10**9
        memory.save()
        printed = Console(record=True)
        second = Engine(config)  # a restart
        RiskMemory(journal).restore(second, printed, now + 10**9)
        assert "PAUSED (daily loss limit ([risk] max_daily_loss) reached" in printed.export_text()
        again, pairs = second.rstate[0], second.srisk[0]
        assert (
            again["day_halted"] == B_DAILY_LOSS and pairs["pair_count"] == 1 and pairs["pair_times"][0] == now - 10**9
        )
        next_day = Console(record=True)
        RiskMemory(journal).restore(Engine(config), next_day, now + 86_400 * 10**9)
        assert "PAUSED" not in next_day.export_text()  # that day is over
    finally:
        journal.close()
    assert main(["halt", "--config", str(path), "--clear"]) == 0
    journal = open_execution_journal(config.live)
    try:
        assert "day_halted" not in json.loads(journal.get_state("risk_memory") or "{}")
    finally:
        journal.close()
