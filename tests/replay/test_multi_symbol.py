"""Two symbols in one process: BTCUSDT and ETHUSDT on both venues, one account and one risk gate.

The recordings are real Binance spot captures of the same minutes with Bybit sides generated the way
the sample's is (``tests/support/two_symbols.py``); ETHUSDT's Bybit basis jumps at other times than BTCUSDT's, so
both symbols find pairs.

What must hold: a backtest and a replayed dry run over both symbols trade both; each symbol trades as
it trades alone while no account-wide limit binds (one hftbacktest with four assets gives every asset
what one with two gives it); the backtest and the dry run agree symbol by symbol (parity), also while
per-symbol and account-wide limits refuse pairs; each refusal is counted for its symbol and named.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from arb.backtest.run import BacktestResult, run_backtest
from arb.config import AppConfig, load_config
from arb.execution.risk import symbol_risk_figures
from arb.parity.against_dry_run import compare, replay_engine, run_live_replay, run_parity, zero_latency
from tests.support.two_symbols import two_symbol_config

DAY = dt.date(2024, 8, 8)


def _config(tmp_path: Path, recordings: Path, **arbitrage: Any) -> AppConfig:
    return load_config(two_symbol_config(tmp_path, recordings, arbitrage))


def _trades(fills: np.ndarray, shift_ns: int) -> list[tuple[Any, ...]]:
    # What a symbol traded, as comparable across runs: time on the recorder's clock, venue, side,
    # price, quantity, kind (pair and order ids are numbered across symbols, so they differ).
    return [(int(f["local_ts"]) - shift_ns, int(f["venue"]), int(f["side"]), float(f["price"]), float(f["qty"]),
             int(f["kind"])) for f in np.sort(fills, order=["local_ts", "venue", "side"])]  # fmt: skip


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory, two_symbols: Path) -> tuple[AppConfig, BacktestResult]:
    config = _config(tmp_path_factory.mktemp("both"), two_symbols)
    return config, run_backtest(config, DAY, DAY)


def test_a_backtest_trades_both_symbols_each_as_it_trades_alone(
    both: tuple[AppConfig, BacktestResult], tmp_path: Path
) -> None:
    config, result = both
    assert result.symbols == ("BTCUSDT", "ETHUSDT")
    fills = result.fills
    counts = [int(np.count_nonzero(fills["symbol"] == s)) for s in (0, 1)]
    assert counts[0] >= 6 and counts[1] >= 6, counts  # both symbols traded
    assert len(np.unique(fills["pair_id"])) == len(np.unique(fills[["symbol", "pair_id"]]))  # one id, one symbol
    for s in (0, 1):
        alone = run_backtest(config.for_symbol(s), DAY, DAY)
        assert alone.symbols == (config.symbol_names[s],)
        mine = fills[fills["symbol"] == s]
        assert _trades(mine, result.local_shift_ns) == _trades(alone.fills, alone.local_shift_ns)
        assert result.kernel_states[s]["pairs"] == alone.kernel_state["pairs"]
    assert result.counters["kernel_calls"] == int(np.sum(result.calls["symbol"] >= 0))
    assert set(np.unique(result.calls["symbol"]).tolist()) == {0, 1}


def test_the_equity_rows_of_a_sample_add_up_to_the_account(both: tuple[AppConfig, BacktestResult]) -> None:
    config, result = both
    equity = result.equity
    assert len(equity) % 2 == 0 and np.array_equal(equity["symbol"], np.tile([0, 1], len(equity) // 2))
    assert np.array_equal(equity["ts"][0::2], equity["ts"][1::2])
    last = equity[-2:]
    quote = np.array([v.account.quote for v in config.venues])
    fills = result.fills
    cash = np.zeros(2)
    for v in (0, 1):
        own = fills[fills["venue"] == v]
        cash[v] = -np.sum(own["side"] * own["price"] * own["qty"]) - np.sum(own["fee"])
    held = sum((np.array(sym.base) + last[s]["position"]) * last[s]["mid"] for s, sym in enumerate(config.symbols))
    assert last["equity_venue"].sum(axis=0) == pytest.approx(quote + cash + held, rel=1e-12)


def test_parity_holds_for_each_symbol(both: tuple[AppConfig, BacktestResult]) -> None:
    config, result = both
    exact = run_parity(zero_latency(config), DAY, DAY, exact=True)
    assert exact.agree, exact.describe()
    assert [name for name, _ in exact.symbols] == ["BTCUSDT", "ETHUSDT"]
    for name, own in exact.symbols:
        assert own.fills[0] == own.fills[1] >= 6, (name, own.describe())
        assert own.max_price_diff_bps == 0.0
    configured = compare(config, result, run_live_replay(config, result.days), exact=False)  # run_parity(config)
    assert configured.first is None and configured.fills_outside_tolerance == 0, configured.describe()
    assert all(own.fills[0] == own.fills[1] >= 6 for _, own in configured.symbols), configured.describe()
    assert "ETHUSDT:" in configured.describe() and "BTCUSDT:" in configured.describe()


def _refused(symbol_risk: dict[str, Any]) -> dict[str, int]:
    return {key: n for key, n in symbol_risk["refused"].items() if n}


def test_a_per_symbol_limit_stops_that_symbol_only_in_the_backtest_and_the_dry_run(
    two_symbols: Path, tmp_path: Path, both: tuple[AppConfig, BacktestResult]
) -> None:
    # ETH's net position may not reach one leg of its pairs: each is refused whole; BTC is untouched.
    config = _config(tmp_path, two_symbols, symbols={"ETHUSDT": {"position_limit": 0.015}})
    assert config.symbols[1].risk.position_limit == 0.015 and config.symbols[0].risk.position_limit == 0.005
    result = run_backtest(config, DAY, DAY)
    assert not np.any(result.fills["symbol"] == 1)
    assert _refused(result.symbol_risk[1]).keys() == {"position_limit"} and not _refused(result.symbol_risk[0])
    _, free = both
    assert _trades(result.fills, 0) == _trades(free.fills[free.fills["symbol"] == 0], 0)
    assert {event.symbol for event in result.risk_events} == {1}
    exact = zero_latency(config)
    backtest = run_backtest(exact, DAY, DAY)
    engine = replay_engine(exact, backtest.days)
    report = compare(exact, backtest, engine.log, exact=True)  # run_parity, its two runs kept for below
    assert report.agree, report.describe()
    for s in (0, 1):  # the dry run refused what the backtest refused, symbol by symbol
        assert _refused(symbol_risk_figures(engine.symbol_state[s])) == _refused(backtest.symbol_risk[s])


@pytest.mark.parametrize(
    ("limits", "key"),
    [({"max_total_notional": 150.0}, "max_total_notional"), ({"max_symbol_share": 0.012}, "max_symbol_share")],
    ids=["total notional", "symbol share"],
)
def test_account_wide_limits_refuse_the_same_pairs_in_the_backtest_and_the_dry_run(
    two_symbols: Path, tmp_path: Path, both: tuple[AppConfig, BacktestResult], limits: dict[str, float], key: str
) -> None:
    config = zero_latency(_config(tmp_path, two_symbols, risk=limits))
    result = run_backtest(config, DAY, DAY)
    engine = replay_engine(config, result.days)
    report = compare(config, result, engine.log, exact=True)  # run_parity, its two runs kept for below
    assert report.agree, report.describe()
    _, free = both
    assert 0 < len(result.fills) < len(free.fills)  # some pairs went out, some were refused
    refused = [_refused(result.symbol_risk[s]).get(key, 0) for s in (0, 1)]
    assert sum(refused) > 0 and result.risk_state["refused"][key] == sum(refused)
    for s in (0, 1):
        assert _refused(symbol_risk_figures(engine.symbol_state[s])) == _refused(result.symbol_risk[s])


def test_the_paper_account_keeps_each_symbol_and_refuses_to_drop_one(two_symbols: Path, tmp_path: Path) -> None:
    import asyncio

    from rich.console import Console

    from arb.errors import ArbError
    from arb.execution.paper_account import PaperAccount
    from arb.live.dry_run import dry_run_replay
    from arb.strategy.types import FILL_DTYPE

    config = _config(tmp_path, two_symbols)
    state = tmp_path / "paper"
    account = PaperAccount.open(state, config)
    result = asyncio.run(dry_run_replay(config, account=account, console=Console(quiet=True), speed=None, days=[DAY]))
    fills = result.engine.log.fills.view()
    assert {int(s) for s in fills["symbol"]} == {0, 1}
    again = PaperAccount.open(state, config)
    assert again.symbols == ["BTCUSDT", "ETHUSDT"] and again.fills == len(fills)
    for s in (0, 1):
        own = fills[fills["symbol"] == s]
        for v in (0, 1):
            mine = own[own["venue"] == v]
            assert again.position[s][v] == pytest.approx(float(np.sum(mine["side"] * mine["qty"])), abs=1e-12)
    base, quote = again.balances()
    assert base[1] == pytest.approx([1.0 + again.position[1][0], 1.0 + again.position[1][1]])
    assert quote == pytest.approx([again.inception_quote[v] + again.cash[0][v] + again.cash[1][v] for v in (0, 1)])
    rows = (state / "fills.csv").read_text().splitlines()
    assert rows[0].endswith(",symbol") and {row.rsplit(",", 1)[1] for row in rows[1:]} == {"BTCUSDT", "ETHUSDT"}
    btc_only = config.for_symbol(0)
    with pytest.raises(ArbError, match="holds ETHUSDT, which \\[strategy\\] symbols \\(BTCUSDT\\) does not trade"):
        PaperAccount.open(state, btc_only)
    with PaperAccount.open(tmp_path / "single", btc_only) as single:  # an account that traded BTCUSDT alone ...
        single.next_order_id, single.next_pair_id = 3, 2
        for venue, side in ((0, 1), (1, -1)):
            fill = np.zeros(1, FILL_DTYPE)[0]
            fill["venue"], fill["side"], fill["qty"] = venue, side, 0.002
            fill["price"], fill["order_id"], fill["pair_id"] = 60_000.0, venue + 1, 1
            single.record(fill)
    with PaperAccount.open(tmp_path / "single", config) as grown:  # ... trades ETHUSDT too: it starts flat there
        assert grown.symbols == ["BTCUSDT", "ETHUSDT"] and grown.position == [[0.002, -0.002], [0.0, 0.0]]
        assert grown.inception_base[1] == [1.0, 1.0]
    account.close()
    again.close()
