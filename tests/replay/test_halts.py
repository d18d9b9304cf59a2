"""A halt outlives the process that raised it: the dry run keeps it in the paper account, arb halt shows
and clears it, and a halted account opens no pair until then. A hint to lift a halt runs as printed and
lifts that account's alone: a paper account's never lifts arb live's kill switch; showing creates nothing."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from arb.cli import main
from arb.config import load_config
from arb.execution.halt_hints import clear_halt_command
from arb.execution.paper_account import PaperAccountRecords, read_paper_account
from arb.journal import Journal
from arb.live.kill import HALT_KEY, record_halt
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
    assert main(["halt", "--config", str(config), "--live", "--clear"]) == 0
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
        st = first.risk_state[0]
        st["day"] = now // (86_400 * 10**9)
        st["day_halted"] = B_DAILY_LOSS
        first.symbol_state[0]["pair_count"] = 1
        first.symbol_state[0]["pair_times"][0] = now - 10**9
        memory.save()
        printed = Console(record=True)
        second = Engine(config)  # a restart
        RiskMemory(journal).restore(second, printed, now + 10**9)
        assert "PAUSED (daily loss limit ([risk] max_daily_loss) reached" in printed.export_text()
        again, pairs = second.risk_state[0], second.symbol_state[0]
        assert (
            again["day_halted"] == B_DAILY_LOSS and pairs["pair_count"] == 1 and pairs["pair_times"][0] == now - 10**9
        )
        next_day = Console(record=True)
        RiskMemory(journal).restore(Engine(config), next_day, now + 86_400 * 10**9)
        assert "PAUSED" not in next_day.export_text()  # that day is over
    finally:
        journal.close()
    assert main(["halt", "--config", str(path), "--live", "--clear"]) == 0
    journal = open_execution_journal(config.live)
    try:
        assert "day_halted" not in json.loads(journal.get_state("risk_memory") or "{}")
    finally:
        journal.close()


def test_every_commit_of_a_fill_carries_the_gates_memory_as_it_stood(tmp_path: Path) -> None:
    # A decision counts a pair in the gate; the pair's fill reaches the journal by the flush of the task that
    # took it from the venue, never by the engine's booking: that commit carries the memory, nothing commits
    # it on its own, and a memory that did not change is not written again.
    import dataclasses
    from decimal import Decimal

    from rich.console import Console

    from arb.execution.journaling import open_execution_journal
    from arb.live.engine import Engine
    from arb.live.guards import RiskMemory
    from connectors.common.orders import VenueFill

    config = load_config(_config(tmp_path))
    now = 1_715_000_000 * 10**9
    journal = open_execution_journal(config.live)
    path = config.live.state_dir / f"{config.live.account}.sqlite"

    def kept() -> dict[str, object]:  # as a restart reads it: a second connection, committed only
        with Journal.open(path) as other:
            raw = other.get_state(f"{config.live.account}/risk_memory")
        return json.loads(raw) if raw else {}

    try:
        engine = Engine(config)
        deferred: list[str] = []
        defer = journal.defer_state

        def counted(key: str, value: str) -> None:
            deferred.append(key)
            defer(key, value)

        journal.defer_state = counted  # type: ignore[method-assign]  # what the memory queues, counted
        memory = RiskMemory(journal)
        memory.restore(engine, Console(), now)
        pairs = engine.symbol_state[0]
        pairs["pair_count"], pairs["pair_times"][0], pairs["last_pair_id"] = 1, now, 7  # the decision
        memory.queue()  # the booking's listener: queued, not committed
        assert kept() == {}
        fill = VenueFill("t1", "arb-1", "v1", 1, Decimal("60000"), Decimal("0.01"), Decimal("0"), "USDT", now // 10**6)
        journal.record_fill(None, fill, venue="binance", market="spot", source="stream", local_ts_ns=now)
        journal.flush()  # the user stream's task, after the message
        symbol = kept()["symbols"][config.symbol_names[0]]  # type: ignore[index]
        assert symbol["pair_count"] == 1 and symbol["pair_times"] == [now] and symbol["last_pair_id"] == 7
        with Journal.open(path) as other:
            assert len(other.fills()) == 1  # in the same commit
        queued = list(deferred)
        memory.queue()
        journal.flush()  # nothing changed: nothing queued again
        assert deferred == queued == ["risk_memory"]
        pairs["pair_count"], pairs["pair_times"][1] = 2, now + 10**9  # the next pair, then a fill queued
        fill = dataclasses.replace(fill, trade_id="t2")
        journal.record_fill(None, fill, venue="binance", market="spot", source="stream", local_ts_ns=now)
        assert journal.journal.fills()  # a read commits what is queued: the memory with it
        assert kept()["symbols"][config.symbol_names[0]]["pair_count"] == 2  # type: ignore[index]
    finally:
        journal.close()


def _live_halt(config: Path, account: str = "main") -> str | None:
    # the halt arb live's journal keeps for ``account`` (read, not taken)
    with Journal.open(load_config(config).live.state_dir / f"{account}.sqlite") as journal:
        return journal.get_state(f"{account}/{HALT_KEY}")


def test_the_dry_runs_hint_lifts_its_paper_account_alone_never_arb_lives_kill_switch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the issue: arb kill (its halt recorded first, keys or not), a dry run halted by its drawdown, and
    # the dry run's hint pasted as printed lifted the kill switch too
    config, state = _config(tmp_path), tmp_path / "paper"
    monkeypatch.chdir(tmp_path)  # where a user runs arb: no config/arbitrage.toml of arb's own here
    record_halt(load_config(config))
    assert _dry_run(config, state, tmp_path / "r1") == 0
    capsys.readouterr()
    assert _dry_run(config, state, tmp_path / "r2") == 0
    printed = capsys.readouterr()
    (hint,) = re.findall(r"this paper account opens no new pair until (arb halt .*)$", printed.out + printed.err, re.M)
    assert main(shlex.split(hint)[1:]) == 0
    out = capsys.readouterr().out
    assert out == f"paper account ({state / 'paper.sqlite'}): halt cleared (was: risk limit [risk] max_drawdown)\n"
    assert _account(state).halt == ""
    assert _live_halt(config) == "kill switch"  # untouched

    # the hint as earlier arbs printed it, typed from memory: --state-dir names the paper account alone
    assert main(["halt", "--config", str(config), "--paper", "--reason", "by hand", "--state-dir", str(state)]) == 0
    assert main(["halt", "--config", str(config), "--clear", "--state-dir", str(state)]) == 0
    assert "arb live" not in capsys.readouterr().out
    assert _account(state).halt == "" and _live_halt(config) == "kill switch"

    assert main(["halt", "--config", str(config), "--clear"]) == 2  # which account: refused, nothing lifted
    assert "--clear: expected the accounts it lifts" in capsys.readouterr().err
    assert _live_halt(config) == "kill switch"
    assert main(["halt", "--config", str(config)]) == 0  # the halt shown names the command lifting it alone
    shown = capsys.readouterr().out
    assert f"arb live (main): HALTED: kill switch ({clear_halt_command(load_config(config))} lifts it)" in shown
    assert main(["halt", "--config", str(config), "--live", "--clear"]) == 0
    assert capsys.readouterr().out == "arb live (main): halt cleared (was: kill switch)\n"
    assert _live_halt(config) == ""


def test_arb_lives_hint_names_the_account_it_was_given_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    main_account, other = load_config(config), load_config(config, settings=[("live.account", "other")])
    record_halt(main_account)
    record_halt(other)
    hint = clear_halt_command(other)
    assert hint == f"arb halt --live --clear --config {config.resolve()} --set live.account=other"
    assert main(shlex.split(hint)[1:]) == 0
    assert capsys.readouterr().out == "arb live (other): halt cleared (was: kill switch)\n"
    assert _live_halt(config, "other") == "" and _live_halt(config) == "kill switch"


def test_showing_the_halts_creates_nothing_and_says_there_is_no_account(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    loaded = load_config(config)
    journal, paper = loaded.live.state_dir / "main.sqlite", loaded.dry_run.state_dir
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert main(["halt", "--config", str(config)]) == 0
    assert capsys.readouterr().out == (
        f"arb live (main): no live journal ({journal} does not exist): not halted\n"
        f"paper account ({paper}): no paper account there (no paper.sqlite): not halted\n"
    )
    assert main(["halt", "--config", str(config), "--live", "--paper", "--clear"]) == 0
    out = capsys.readouterr().out
    assert "no live journal" in out and "no paper account there (no paper.sqlite): nothing to clear" in out
    assert main(["halt", "--config", str(config), "--paper", "--reason", "by hand"]) == 0
    assert "no paper account there (no paper.sqlite): nothing to halt" in capsys.readouterr().out
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before  # not a file more
    assert main(["report", "--config", str(config), "--source", "live"]) == 2  # still no live journal
    assert "no live journal" in capsys.readouterr().err
