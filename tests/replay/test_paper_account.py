"""The paper account is never lost silently: ``--fresh`` moves the old one aside (and says where), and
resuming a replay says that it trades the same recorded data again on top of the carried positions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from arb.cli import main
from arb.execution.paper_account import read_paper_account
from tests.support.scenario_days import standing_spread_config


def _config(tmp_path: Path) -> Path:
    return standing_spread_config(tmp_path)


def _dry_run(config: Path, state: Path, out: Path, *extra: str) -> int:
    return main(["dry-run", "--config", str(config), "--speed", "max", "--state-dir", str(state), "--out", str(out),
                 *extra])  # fmt: skip


def test_resuming_a_replay_says_it_trades_the_same_data_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, state = _config(tmp_path), tmp_path / "paper"
    assert _dry_run(config, state, tmp_path / "r1") == 0
    first = capsys.readouterr().err
    assert "resuming" not in first  # a new account: nothing to say
    account = read_paper_account(state)
    assert account is not None and len(account.fills) > 0 and account.replayed_days == ["2024-05-06"]

    assert _dry_run(config, state, tmp_path / "r2") == 0
    out, err = capsys.readouterr()
    assert f"resuming paper account {state / 'paper.sqlite'}: {len(account.fills)} fills" in err
    assert "it has traded 2024-05-06 already: this replay trades the same data again, on top of the carried" in err
    _each_figure_keeps_its_scope(out, err, state, tmp_path / "r2")


def _each_figure_keeps_its_scope(out: str, err: str, state: Path, report: Path) -> None:
    # A resumed run's screen: the account line's "account:" figures are the account's over both sessions,
    # its "this run:" ones this session's, as the summary table and summary.json below it count them.
    # Before: "fills 46  pairs 10 won 10", the account's fills beside this run's pairs, and the table's
    # "position (base)" this run's while the account line's "positions" were the account's.
    summary = json.loads((report / "summary.json").read_text())
    account = read_paper_account(state)
    assert account is not None and account.sessions == 2
    line = [text for text in err.splitlines() if " UTC] account: " in text][-1]
    now, run = line.split("  this run: ")
    assert f"  fills {len(account.fills)}  " in now and len(account.fills) > summary["total"]["fills"]
    pairs, won = summary["pairs"]["pairs"], summary["pairs"]["pairs_won"]
    assert run.startswith(f"fills {summary['total']['fills']}  pairs {pairs} won {won} (")
    held = summary["meta"]["account_position"]["BTCUSDT"]
    shown = re.search(r"positions (\S+) \| (\S+)  equity ", now)
    assert shown is not None and [float(x) for x in shown.groups()] == pytest.approx(held, abs=1e-12)
    table = " ".join(out.split())
    assert "this run's figures, the rows marked 'account' the paper account's" in table
    assert re.search(rf"position, account \(base\) │ \S+ │ {held[0]:.8f} │ {held[1]:.8f} │", table)
    this_run = summary["venues"]["binance"]["position"], summary["venues"]["bybit"]["position"]
    assert re.search(rf"position, this run \(base\) │ \S+ │ {this_run[0]:.8f} │ {this_run[1]:.8f} │", table)


def test_fresh_keeps_the_old_account_and_names_where(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config, state = _config(tmp_path), tmp_path / "paper"
    assert _dry_run(config, state, tmp_path / "r1") == 0
    old_account = read_paper_account(state)
    old_fills = (state / "fills.csv").read_text()
    capsys.readouterr()

    assert _dry_run(config, state, tmp_path / "r2", "--fresh") == 0
    err = capsys.readouterr().err
    [kept] = list(state.glob("previous-*"))
    assert f"the previous one is kept in {kept}" in err and "resuming" not in err
    kept_account = read_paper_account(kept)
    assert old_account is not None and kept_account is not None
    assert kept_account.fills == old_account.fills and kept_account.sessions == old_account.sessions == 1
    assert (kept / "fills.csv").read_text() == old_fills
    new = read_paper_account(state)
    assert new is not None and new.sessions == 1  # the new account's first

    assert _dry_run(config, state, tmp_path / "r3", "--fresh") == 0  # a second --fresh keeps both
    assert len(list(state.glob("previous-*"))) == 2
