"""The paper account of a run of three venues (made-up names: only the names matter to the account): its
journal names each venue, so a reopened account, one resumed by a run of the venues in another order, of
one more venue, or of one fewer, is what its rows make; an account written before accounts named their
venues reads as the venues arb then traded."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from arb.config import AppConfig, load_config
from arb.errors import ArbError
from arb.execution.paper_account import PaperAccount, holdings_text, positions_text, read_paper_account
from arb.execution.paper_files import legacy_venues
from arb.strategy.types import BUY, FILL_DTYPE, FUNDING_DTYPE, INTENT_OPEN, SELL
from arb.testing.configs import write_config_files

TS = 1_723_161_483_281_417_992


@dataclass(frozen=True)
class _Account:
    quote: float


@dataclass(frozen=True)
class _Venue:
    name: str
    account: _Account


@dataclass(frozen=True)
class _Symbol:
    name: str
    base: tuple[float, ...]


@dataclass(frozen=True)
class _Strategy:
    symbol: str


@dataclass(frozen=True)
class _Run:
    # What PaperAccount.open reads of a configuration, for venues arb does not know (only names matter).
    venues: tuple[_Venue, ...]
    symbols: tuple[_Symbol, ...]

    @property
    def venue_names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.venues)

    @property
    def symbol_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.symbols)

    @property
    def strategy(self) -> _Strategy:
        return _Strategy(self.symbols[0].name)


QUOTES = {"alpha": 1000.0, "beta": 2000.0, "gamma": 3000.0, "delta": 4000.0}
BASES = {"alpha": 0.1, "beta": 0.2, "gamma": 0.3, "delta": 0.4}


def _run(*venues: str) -> Any:
    return _Run(
        tuple(_Venue(name, _Account(QUOTES[name])) for name in venues),
        (_Symbol("BTCUSDT", tuple(BASES[name] for name in venues)),),
    )


def _fill(venue: int, side: int, price: float, qty: float, order_id: int) -> Any:
    row = np.zeros(1, FILL_DTYPE)[0]
    row["local_ts"], row["exch_ts"], row["venue"], row["side"] = TS + order_id, TS + order_id - 1, venue, side
    row["price"], row["qty"], row["fee"] = price, qty, qty * price * 1e-4
    row["pair_id"], row["kind"], row["order_id"] = (order_id + 1) // 2, INTENT_OPEN, order_id
    return row


def _funding(venue: int, payment: float) -> Any:
    row = np.zeros(1, FUNDING_DTYPE)[0]
    row["ts"], row["funding_ts"], row["venue"], row["rate"] = TS + 100, TS + 99, venue, 1e-4
    row["mark"], row["position"], row["payment"] = 61500.0, 0.002, payment
    return row


def _three_venue_account(state: Path) -> None:
    # alpha buys from gamma, then beta buys from gamma; gamma is paid funding; gamma sold last
    with PaperAccount.open(state, _run("alpha", "beta", "gamma")) as account:
        for order_id, (venue, side, price) in enumerate(
            [(0, BUY, 60_000.0), (2, SELL, 60_100.0), (1, BUY, 60_010.0), (2, SELL, 60_090.0)], start=1
        ):
            account.next_order_id, account.next_pair_id = order_id + 1, (order_id + 1) // 2 + 1
            account.last_buy_venue, account.last_sell_venue = [1 if order_id > 2 else 0], [2]
            account.record(_fill(venue, side, price, 0.001, order_id))
        account.record_funding(_funding(2, 0.25))


def test_three_venues_reopen_as_their_rows_make_them(tmp_path: Path) -> None:
    state = tmp_path / "paper"
    _three_venue_account(state)
    with PaperAccount.open(state, _run("alpha", "beta", "gamma")) as again:
        assert again.resumed and again.venues == ("alpha", "beta", "gamma") and again.fills == 4
        assert again.position == [[0.001, 0.001, -0.002]]
        assert again.funding == [[0.0, 0.0, 0.25]]
        assert again.inception_quote == (1000.0, 2000.0, 3000.0)
        base, quote = again.balances()
        assert base == [pytest.approx([0.101, 0.201, 0.298])]
        assert quote[2] == pytest.approx(3000.0 + 60.1 + 60.09 - (60.1 + 60.09) * 1e-4 + 0.25)
        assert (again.last_buy_venue, again.last_sell_venue) == ([1], [2])
    fills = (state / "fills.csv").read_text().splitlines()
    assert [line.split(",")[1] for line in fills[1:]] == ["alpha", "gamma", "beta", "gamma"]
    kept = read_paper_account(state)
    assert kept is not None and kept.venues == ("alpha", "beta", "gamma")
    assert kept.inception_base == [[0.1, 0.2, 0.3]] and kept.inception_quote == (1000.0, 2000.0, 3000.0)


def test_the_journal_keys_inception_balances_by_venue_name(tmp_path: Path) -> None:
    state = tmp_path / "paper"
    _three_venue_account(state)
    with sqlite3.connect(state / "paper.sqlite") as db:
        [(text,)] = db.execute("SELECT value FROM state WHERE key = 'account'").fetchall()
    saved = json.loads(text)
    assert saved["venues"] == ["alpha", "beta", "gamma"]
    assert saved["inception_quote"] == {"alpha": 1000.0, "beta": 2000.0, "gamma": 3000.0}
    assert saved["inception_base"] == {"BTCUSDT": {"alpha": 0.1, "beta": 0.2, "gamma": 0.3}}


def test_a_run_of_the_venues_in_another_order_lays_the_account_out_in_its_own(tmp_path: Path) -> None:
    state = tmp_path / "paper"
    _three_venue_account(state)
    with PaperAccount.open(state, _run("gamma", "alpha", "beta")) as again:
        assert again.venues == ("gamma", "alpha", "beta")
        assert again.position == [[-0.002, 0.001, 0.001]] and again.funding == [[0.25, 0.0, 0.0]]
        assert again.inception_quote == (3000.0, 1000.0, 2000.0) and again.inception_base == [[0.3, 0.1, 0.2]]
        assert (again.last_buy_venue, again.last_sell_venue) == ([2], [0])  # beta and gamma, renumbered
        again.next_order_id, again.next_pair_id = 6, 4
        again.record(_fill(0, BUY, 60_000.0, 0.002, 5))  # gamma, the run's venue 0
    with PaperAccount.open(state, _run("alpha", "beta", "gamma")) as back:
        assert back.position == [[0.001, 0.001, 0.0]]
    assert (state / "fills.csv").read_text().splitlines()[-1].split(",")[1] == "gamma"


def test_a_venue_added_to_the_run_starts_as_configured(tmp_path: Path) -> None:
    state = tmp_path / "paper"
    _three_venue_account(state)
    with PaperAccount.open(state, _run("alpha", "beta", "gamma", "delta")) as grown:
        assert grown.venues == ("alpha", "beta", "gamma", "delta")
        assert grown.position == [[0.001, 0.001, -0.002, 0.0]]
        assert grown.inception_quote == (1000.0, 2000.0, 3000.0, 4000.0)
        assert grown.inception_base == [[0.1, 0.2, 0.3, 0.4]]
        assert positions_text(grown.symbols, grown.position) == "+0.001 | +0.001 | -0.002 | +0"
        assert holdings_text(grown.symbols, grown.balances()[0]) == "0.101 | 0.201 | 0.298 | 0.4 BTC"


def test_a_venue_the_account_holds_and_the_run_does_not_trade_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "paper"
    _three_venue_account(state)
    with pytest.raises(ArbError, match=r"holds gamma, which \[strategy\] venues \(alpha, beta\) does not trade"):
        PaperAccount.open(state, _run("alpha", "beta"))
    with PaperAccount.open(state, _run("alpha", "beta", "gamma")) as same:  # nothing was changed
        assert same.fills == 4


def _config(tmp_path: Path) -> AppConfig:
    return load_config(write_config_files(tmp_path / "config"))


def test_an_account_journaled_before_accounts_named_their_venues_reads_as_the_venues_then_traded(
    tmp_path: Path,
) -> None:
    config, state = _config(tmp_path), tmp_path / "paper"
    first, second = config.venue_names
    assert legacy_venues() == (first, second)
    with PaperAccount.open(state, config) as account:
        account.record(_fill(1, BUY, 60_000.0, 0.001, 1))
        account.next_order_id, account.next_pair_id = 2, 2
        account.save()
    old = {"symbols": ["BTCUSDT"], "inception_base": {"BTCUSDT": [0.05, 0.07]}, "inception_quote": [5000.0, 6000.0]}
    with sqlite3.connect(state / "paper.sqlite") as db:
        db.execute("UPDATE state SET value = ? WHERE key = 'account'", (json.dumps(old),))
    kept = read_paper_account(state)
    assert kept is not None and kept.venues == (first, second) and kept.inception_quote == (5000.0, 6000.0)
    with PaperAccount.open(state, config) as again:
        assert again.inception_base == [[0.05, 0.07]] and again.position == [[0.0, 0.001]]
        again.save()  # written again, by name
    with sqlite3.connect(state / "paper.sqlite") as db:
        [(text,)] = db.execute("SELECT value FROM state WHERE key = 'account'").fetchall()
    assert json.loads(text)["inception_quote"] == {first: 5000.0, second: 6000.0}


def test_an_account_made_in_memory_without_names_has_the_venues_of_an_earlier_arb() -> None:
    account = PaperAccount(Path("unused"), [[0.05, 0.05]], (5_000.0, 5_000.0), ["BTCUSDT"])
    assert account.venues == legacy_venues() and account.position == [[0.0, 0.0]]
    with pytest.raises(ValueError, match="inception balances"):
        PaperAccount(Path("unused"), [[0.05, 0.05]], (1.0, 2.0, 3.0), ["BTCUSDT"], ("a", "b", "c"))
