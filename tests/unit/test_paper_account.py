"""The paper account's journal: what a reopened account holds, migration of an earlier arb's files, the
readable exports, the writer lock, and a journal that cannot be trusted (real SQLite, real files)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from arb.cli import main
from arb.config import AppConfig, load_config
from arb.execution.paper_account import PaperAccount, read_paper_account
from arb.journal import JournalError
from arb.strategy.types import BUY, FILL_DTYPE, FUNDING_DTYPE, INTENT_OPEN, SELL
from arb.testing.configs import write_config_files
from tests.support.captures import ROOT

TS = 1_723_161_483_281_417_992
OLD_HEADER = "local_ts,venue,side,price,qty,fee,pair_id,kind,order_id\n"  # before arb traded several symbols
FILLS = [  # (venue, side, price, qty, fee, pair id, order id): two pairs, as the shipped sample's first
    (1, BUY, 61478.8, 0.001, 0.06147880000000001, 1, 1),
    (0, SELL, 61661.38, 0.001, 0.06166138, 1, 2),
    (1, BUY, 61478.8, 0.001, 0.06147880000000001, 2, 3),
    (0, SELL, 61661.38, 0.001, 0.06166138, 2, 4),
]


def _config(tmp_path: Path) -> AppConfig:
    return load_config(write_config_files(tmp_path / "config"))


def _fill(venue: int, side: int, price: float, qty: float, fee: float, pair_id: int, order_id: int) -> Any:
    row = np.zeros(1, FILL_DTYPE)[0]
    row["local_ts"], row["exch_ts"], row["venue"], row["side"] = TS + order_id, TS + order_id - 1, venue, side
    row["price"], row["qty"], row["fee"] = price, qty, fee
    row["pair_id"], row["kind"], row["order_id"] = pair_id, INTENT_OPEN, order_id
    return row


def _funding(venue: int, payment: float) -> Any:
    row = np.zeros(1, FUNDING_DTYPE)[0]
    row["ts"], row["funding_ts"], row["venue"], row["rate"] = TS + 100, TS + 99, venue, 1e-4
    row["mark"], row["position"], row["payment"] = 61500.0, 0.002, payment
    return row


def _take(account: PaperAccount, fills: list[tuple[Any, ...]]) -> None:
    # as the dry run does: the counters first (they cover every order sent), then the fill
    for fill in fills:
        account.next_order_id = max(account.next_order_id, fill[6] + 1)
        account.next_pair_id = max(account.next_pair_id, fill[5] + 1)
        account.record(_fill(*fill))


def test_a_reopened_account_is_the_one_its_rows_make_bit_for_bit(tmp_path: Path) -> None:
    config, state = _config(tmp_path), tmp_path / "paper"
    with PaperAccount.open(state, config) as account:
        account.sessions += 1
        _take(account, FILLS[:3])
        account.record_funding(_funding(1, -0.0123))
        _take(account, FILLS[3:])
        account.halt = "by hand"
        account.risk = {"day": 19943, "symbols": {}}
        account.save()
        held = (account.position, account.cash, account.fees, account.funding, account.fills)
    with PaperAccount.open(state, config) as again:
        assert again.resumed and (again.position, again.cash, again.fees, again.funding, again.fills) == held
        assert (again.next_order_id, again.next_pair_id, again.sessions) == (5, 3, 1)
        assert again.halt == "by hand" and again.risk == {"day": 19943, "symbols": {}}
    lines = (state / "fills.csv").read_text().splitlines()
    assert lines[0] == "local_ts,venue,side,price,qty,fee,pair_id,kind,order_id,symbol" and len(lines) == 5
    assert lines[1] == f"{TS + 1},bybit,buy,61478.8,0.001,0.06147880000000001,1,open,1,BTCUSDT"
    assert len((state / "funding.csv").read_text().splitlines()) == 2


def test_an_export_a_crash_left_short_is_rewritten_from_the_journal(tmp_path: Path) -> None:
    # a kill after the commit and before the export's line: the journal holds the fill, fills.csv not yet
    config, state = _config(tmp_path), tmp_path / "paper"
    with PaperAccount.open(state, config) as account:
        _take(account, FILLS)
    full = (state / "fills.csv").read_text()
    (state / "fills.csv").write_text(full[: full.rstrip("\n").rfind("\n") + 1])
    with PaperAccount.open(state, config) as again:
        assert again.fills == 4
    assert (state / "fills.csv").read_text() == full


def test_an_export_without_its_journal_is_kept_not_overwritten(tmp_path: Path) -> None:
    # an earlier arb killed between its two writes at the first fill leaves fills.csv and no account.json
    config, state = _config(tmp_path), tmp_path / "paper"
    _legacy(state, FILLS[:1], 1)
    (state / "account.json").unlink()
    orphan = (state / "fills.csv").read_text()
    with PaperAccount.open(state, config) as account:
        assert not account.resumed and account.fills == 0
        [kept] = state.glob("replaced-*")
        assert (kept / "fills.csv").read_text() == orphan
        assert any(f"kept in {kept}" in note for note in account.notes)
    assert (state / "fills.csv").read_text() == "local_ts,venue,side,price,qty,fee,pair_id,kind,order_id,symbol\n"


def test_a_fill_the_journal_cannot_take_is_not_counted(tmp_path: Path) -> None:
    config, state = _config(tmp_path), tmp_path / "paper"
    with PaperAccount.open(state, config) as account:
        _take(account, FILLS[:1])
        before = (account.position, account.cash, account.fills)
        with sqlite3.connect(state / "paper.sqlite") as db:  # the disk refuses the next write
            db.execute("CREATE TRIGGER full BEFORE INSERT ON paper_fills BEGIN SELECT RAISE(ABORT, 'disk full'); END")
        with pytest.raises(JournalError, match="cannot write: IntegrityError: disk full"):
            _take(account, FILLS[1:2])
        assert (account.position, account.cash, account.fills) == before
    with PaperAccount.open(state, config) as again:  # what was committed before it is all there
        assert (again.position, again.cash, again.fills) == before


def test_counters_behind_the_fills_are_a_damaged_journal(tmp_path: Path) -> None:
    config, state = _config(tmp_path), tmp_path / "paper"
    with PaperAccount.open(state, config) as account:
        _take(account, FILLS)
    with sqlite3.connect(state / "paper.sqlite") as db:  # edited by hand: the next order id goes back
        counters = json.loads(db.execute("SELECT value FROM state WHERE key = 'counters'").fetchone()[0])
        counters["next_order_id"] = 3
        db.execute("UPDATE state SET value = ? WHERE key = 'counters'", (json.dumps(counters),))
    with pytest.raises(JournalError, match=r"next order id 3.*behind its own fills \(order id 4"):
        PaperAccount.open(state, config)


# -- an account written by an earlier arb --------------------------------------------------------------


def _legacy(state: Path, fills: list[tuple[Any, ...]], counted: int, *, symbols: bool = True) -> None:
    # account.json, fills.csv and funding.csv as an earlier arb wrote them; account.json took the first
    # ``counted`` fills (a crash between its two writes leaves it behind fills.csv)
    state.mkdir(parents=True, exist_ok=True)
    position, cash, fees = [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]
    lines = []
    for venue, side, price, qty, fee, pair_id, order_id in fills:
        name = ("binance", "bybit")[venue]
        lines.append(f"{TS + order_id},{name},{'buy' if side == BUY else 'sell'},{price!r},{qty!r},{fee!r},"
                     f"{pair_id},open,{order_id}" + (",BTCUSDT\n" if symbols else "\n"))  # fmt: skip
        if len(lines) <= counted:
            position[venue] += side * qty
            cash[venue] -= side * qty * price + fee
            fees[venue] += fee
    header = OLD_HEADER.replace("\n", ",symbol\n") if symbols else OLD_HEADER
    (state / "fills.csv").write_text(header + "".join(lines))
    account = {"inception_base": [0.05, 0.05], "inception_quote": [5000.0, 5000.0], "position": position,
               "cash": cash, "fees": fees, "fills": counted, "next_order_id": counted + 1,
               "next_pair_id": (counted + 1) // 2 + 1, "last_buy_venue": 1, "last_sell_venue": 0,
               "last_pair_id": (counted + 1) // 2, "sessions": 2, "replayed_days": ["2024-08-08"],
               "halt": "", "risk_memory": {"day": 19943}}  # fmt: skip
    if symbols:
        account["symbols"] = ["BTCUSDT"]
    (state / "account.json").write_text(json.dumps(account, indent=2))


def test_an_earlier_arbs_account_is_migrated_once_and_its_files_kept(tmp_path: Path) -> None:
    config, state = _config(tmp_path), tmp_path / "paper"
    _legacy(state, FILLS, 4, symbols=False)  # one unnamed symbol: written before arb traded several
    originals = {name: (state / name).read_text() for name in ("account.json", "fills.csv")}
    with PaperAccount.open(state, config) as account:
        assert account.resumed and account.fills == 4 and account.sessions == 2
        assert account.position == [pytest.approx([-0.002, 0.002], abs=1e-15)]
        assert (account.next_order_id, account.next_pair_id, account.last_pair_id) == (5, 3, [2])
        assert account.replayed_days == ["2024-08-08"] and account.risk == {"day": 19943}
        [note] = account.notes
        assert "paper account migrated into" in note and "4 fills" in note
    [kept] = state.glob("migrated-*")
    assert {name: (kept / name).read_text() for name in originals} == originals  # byte for byte
    assert not (state / "account.json").exists()
    assert (state / "fills.csv").read_text().splitlines()[1].endswith(",1,open,1,BTCUSDT")  # the export
    with PaperAccount.open(state, config) as again:  # once: the journal is the account now
        assert again.notes == [] and again.fills == 4 and again.position == account.position


def test_an_account_json_a_crash_left_a_fill_behind_is_rebuilt_from_fills_csv(tmp_path: Path) -> None:
    # the account: fills.csv with a pair's two legs, account.json with one ("+0 | +0.001")
    config, state = _config(tmp_path), tmp_path / "paper"
    _legacy(state, FILLS[:2], 1)
    with PaperAccount.open(state, config) as account:
        assert account.fills == 2
        assert account.position == [pytest.approx([-0.001, 0.001], abs=1e-15)]  # the pair, not a lone leg
        assert account.next_order_id == 3  # past every order fills.csv holds
        assert any("had missed the last 1 fill(s) of fills.csv" in note for note in account.notes)


def test_files_that_disagree_otherwise_are_refused_and_left_as_they_are(tmp_path: Path) -> None:
    config, state = _config(tmp_path), tmp_path / "paper"
    _legacy(state, FILLS[:2], 2)
    data = json.loads((state / "account.json").read_text())
    data["position"] = [-0.001, 0.002]
    (state / "account.json").write_text(json.dumps(data))
    before = sorted(p.name for p in state.iterdir())
    with pytest.raises(JournalError, match=r"position of BTCUSDT on bybit is 0\.002 in account\.json"):
        PaperAccount.open(state, _config(tmp_path))
    assert sorted(p.name for p in state.iterdir() if p.name != "paper.lock") == before  # no journal, nothing moved
    data["fills"] = 3
    (state / "account.json").write_text(json.dumps(data))
    with pytest.raises(JournalError, match=r"account\.json counts 3 fills, fills\.csv holds 2"):
        PaperAccount.open(state, config)


def test_fresh_sets_an_earlier_arbs_account_aside_unmigrated(tmp_path: Path) -> None:
    config, state = _config(tmp_path), tmp_path / "paper"
    _legacy(state, FILLS, 4)
    with PaperAccount.open(state, config, fresh=True) as account:
        assert not account.resumed and account.fills == 0 and account.set_aside is not None
        assert (account.set_aside / "account.json").is_file() and (account.set_aside / "fills.csv").is_file()


# -- one writer ------------------------------------------------------------------------------------------


def test_a_second_process_cannot_write_a_running_account_but_can_read_its_halt(tmp_path: Path) -> None:
    config_path = write_config_files(tmp_path / "config")
    state = tmp_path / "paper"
    with PaperAccount.open(state, load_config(config_path)) as account:
        account.halt = "by hand"
        account.save()
        command = [sys.executable, "-m", "arb.cli", "halt", "--config", str(config_path), "--state-dir", str(state)]
        env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
        shown = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120, check=False)
        assert shown.returncode == 0, shown.stderr
        assert f"paper account ({state / 'paper.sqlite'}): HALTED: by hand" in shown.stdout
        cleared = subprocess.run([*command, "--clear"], capture_output=True, text=True, env=env, timeout=120,
                                 check=False)  # fmt: skip
        assert cleared.returncode == 2
        assert "is being written by another process" in cleared.stderr and "Traceback" not in cleared.stderr
    assert main(["halt", "--config", str(config_path), "--state-dir", str(state), "--clear"]) == 0  # it stopped
    kept = read_paper_account(state)
    assert kept is not None and kept.halt == ""
