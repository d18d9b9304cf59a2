"""arb.report with two symbols in one account: each symbol's figures from its own fills valued at its
own mids, the account's from the equity rows of a time summed, worked by hand.

BTCUSDT is test_report's scenario (four pairs, net PnL 0.321402 at a final mid of 60,000 on both
venues, starting balances 0.05 BTC and 10,000 USDT a venue). ETHUSDT starts with 1 ETH a venue and
trades two pairs, final mids 3,000 (Binance) and 3,002 (Bybit):

1. at 2 s, buy 0.5 @ 3,000 on Binance (fee 1.5) and sell 0.5 @ 3,009 on Bybit (fee 1.5045);
2. at 5 s, buy 0.2 @ 3,010 on Bybit and sell 0.2 @ 3,020 on Binance (no fee).

Cash 1.4955 + 2.0 = 3.4955; left +0.3 ETH on Binance and -0.3 on Bybit, worth 0.3 x (3,000 - 3,002)
= -0.6: ETHUSDT nets 2.8955 (pairs: 0.4955 and 2.4). Valued at BTC's mids instead, the same fills
would say 3.4955: the test of "each fill at its own symbol's mid".
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from arb.reports.charts import chart_data, fill_spread_bps, mid_spread_bps
from arb.reports.console import print_summary
from arb.reports.files import EQUITY_PNG, SUMMARY_JSON, TRADES_CSV, pnl_from_trades_csv, write_report
from arb.reports.pnl import LegFigures, combined_leg_figures, pnl_from_fills
from arb.reports.summary import Summary, summarize
from arb.reports.valuation import InitialBalances, account_equity
from arb.strategy.types import BUY, INTENT_OPEN, SELL, equity_dtype
from tests.support.venues import BINANCE, BYBIT
from tests.unit.test_report import FINAL_MID, INITIAL, PNG_MAGIC, driver_equity, make_fills, scenario

NAMES = ("BTCUSDT", "ETHUSDT")
ETH_FINAL = (3_000.0, 3_002.0)
ETH_START = InitialBalances(base=(1.0, 1.0), quote=(0.0, 0.0))  # ETHUSDT's part: its coins, no quote
BOTH = InitialBalances.of_symbols([INITIAL.base, ETH_START.base], INITIAL.quote)
BTC_PNL = 0.321402
ETH_PNL = 2.8955


def eth_fills() -> np.ndarray:
    fills = make_fills(
        (2.0, BINANCE, BUY, 3_000.0, 0.5, 1.5, 101, INTENT_OPEN, 201),
        (2.0, BYBIT, SELL, 3_009.0, 0.5, 1.5045, 101, INTENT_OPEN, 202),
        (5.0, BYBIT, BUY, 3_010.0, 0.2, 0.0, 102, INTENT_OPEN, 203),
        (5.0, BINANCE, SELL, 3_020.0, 0.2, 0.0, 102, INTENT_OPEN, 204),
    )
    fills["symbol"] = 1
    return fills


def two_symbols() -> tuple[np.ndarray, np.ndarray]:
    """Both symbols' fills (in time order) and the equity rows a driver records: at each sample time
    BTCUSDT's row (its part plus the venues' starting quote), then ETHUSDT's (its part)."""
    btc_fills, btc = scenario()
    eth = eth_fills()
    times = [float(t) for t in range(11)]
    mids = [(3_000.0 + 3 * math.sin(t), 3_001.0 + 2 * math.cos(t)) for t in times[:-1]] + [ETH_FINAL]
    eth_rows = driver_equity(eth, ETH_START, times, mids)
    equity = np.zeros(2 * len(times), equity_dtype(2))
    equity[0::2], equity[1::2] = btc, eth_rows
    equity["symbol"][1::2] = 1
    fills = np.concatenate([btc_fills, eth])
    return fills[np.argsort(fills["local_ts"], kind="stable")], equity


def summary_of(**meta: object) -> Summary:
    fills, equity = two_symbols()
    return summarize(fills, equity, BOTH, {"mode": "backtest", **meta}, symbols=NAMES)


def test_each_symbol_values_its_fills_at_its_own_mids_and_the_account_adds_them_up() -> None:
    s = summary_of()
    btc, eth = s.symbols
    assert (btc.name, eth.name) == NAMES
    assert btc.total.pnl == pytest.approx(BTC_PNL, abs=1e-9) and btc.total.pnl_from_fills == pytest.approx(BTC_PNL)
    assert eth.total.pnl == pytest.approx(ETH_PNL, abs=1e-9) and eth.total.pnl_from_fills == pytest.approx(ETH_PNL)
    assert s.total.pnl == pytest.approx(BTC_PNL + ETH_PNL, abs=1e-9)
    assert s.total.pnl_from_fills == pytest.approx(BTC_PNL + ETH_PNL, abs=1e-9)
    assert s.pnl_consistent and btc.pnl_consistent and eth.pnl_consistent
    fills, _ = two_symbols()
    assert pnl_from_fills(fills, [FINAL_MID, ETH_FINAL]) == pytest.approx(BTC_PNL + ETH_PNL, abs=1e-9)
    assert pnl_from_fills(fills, FINAL_MID) == pytest.approx(BTC_PNL + 3.4955, abs=1e-9)  # the old mistake
    # ETH per venue: Binance cash -1,500 - 1.5 + 604 = -897.5, +0.3 ETH at 3,000; Bybit 1,504.5 - 1.5045
    # - 602 = 900.9955, -0.3 ETH at 3,002
    assert eth.venues[BINANCE].pnl == pytest.approx(-897.5 + 900.0)
    assert eth.venues[BYBIT].pnl == pytest.approx(900.9955 - 900.6)
    for v in (BINANCE, BYBIT):
        assert s.venues[v].pnl == pytest.approx(btc.venues[v].pnl + eth.venues[v].pnl, abs=1e-9)
        assert s.venues[v].fees == pytest.approx(btc.venues[v].fees + eth.venues[v].fees)
        assert s.venues[v].fills == btc.venues[v].fills + eth.venues[v].fills
        assert s.venues[v].quote_balance == pytest.approx(INITIAL.quote[v] + btc.venues[v].quote_balance
                                                          - INITIAL.quote[v] + eth.venues[v].quote_balance)  # fmt: skip
    assert s.total.fees == pytest.approx(btc.total.fees + 3.0045)
    assert s.total.notional == pytest.approx(btc.total.notional + 1_500 + 1_504.5 + 602 + 604)
    assert s.total.fills == 13 and eth.total.fills == 4


def test_quantities_are_per_symbol_in_its_own_base_never_summed() -> None:
    s = summary_of()
    _, eth = s.symbols
    for figures in (s.total, *s.venues):
        assert figures.volume is None and figures.position is None and figures.base_balance is None
        assert figures.open_qty is None and figures.closed_qty is None and figures.final_mid is None
    assert eth.total.volume == pytest.approx(1.4)
    assert eth.venues[BINANCE].position == pytest.approx(0.3) and eth.venues[BYBIT].position == pytest.approx(-0.3)
    assert eth.venues[BINANCE].base_balance == pytest.approx(1.3)
    assert eth.venues[BINANCE].final_mid == ETH_FINAL[0] and eth.venues[BYBIT].final_mid == ETH_FINAL[1]
    assert eth.total.position == pytest.approx(0.0)  # its net exposure across venues


def test_holding_time_per_symbol_and_pooled_at_the_final_mids_for_the_account() -> None:
    s = summary_of()
    btc, eth = s.symbols
    assert eth.total.holding_time_s == pytest.approx(3.0) and eth.total.closed_qty == pytest.approx(0.4)
    assert btc.total.holding_time_s == pytest.approx(0.14 / 0.05)  # test_report's figure, unchanged
    # 0.05 BTC closed (0.14 BTC x s) weighed at 60,000; 0.4 ETH closed for 3 s at 3,001 (the mean final mid)
    expected = (0.14 * 60_000 + 1.2 * 3_001) / (0.05 * 60_000 + 0.4 * 3_001)
    assert s.total.holding_time_s == pytest.approx(expected)


def test_pairs_of_both_symbols_each_valued_at_its_own_mid() -> None:
    s = summary_of()
    btc, eth = s.symbols
    assert (btc.pairs.pairs, eth.pairs.pairs, s.pairs.pairs) == (4, 2, 6)
    assert (eth.pairs.pairs_won, s.pairs.pairs_won) == (2, 4)  # BTC wins 2 of its 4
    assert eth.pairs.pair_pnl_mean == pytest.approx((0.4955 + 2.4) / 2)
    assert s.pairs.pair_pnl_mean == pytest.approx((BTC_PNL + ETH_PNL) / 6)
    assert s.pairs.legs_filled == btc.pairs.legs_filled + 4
    # ETH spreads: (3,009 - 3,000) / 3,000 = 30 bps and (3,020 - 3,010) / 3,010
    assert eth.pairs.spread_bps == pytest.approx((30.0 + 10 / 3_010 * 1e4) / 2)


def test_the_account_series_sums_the_rows_of_a_time() -> None:
    _, equity = two_symbols()
    series = account_equity(equity)
    assert len(series.ts) == 11 and np.array_equal(series.ts, equity["ts"][0::2])
    assert np.allclose(series.equity, equity["equity"][0::2] + equity["equity"][1::2])
    assert np.allclose(series.equity_venue, equity["equity_venue"][0::2] + equity["equity_venue"][1::2])
    assert np.array_equal(series.mid[:, 1], equity["mid"][1::2])
    # a time without ETHUSDT's row counts its latest one
    gap = np.delete(equity, 7)  # ETH's row of the fourth sample
    held = account_equity(gap, 2)
    assert held.equity[3] == pytest.approx(equity["equity"][6] + equity["equity"][5])
    # one symbol: every row is a sample, as before
    single = equity[0::2]
    assert np.array_equal(account_equity(single).equity, single["equity"])


def test_the_risk_figures_are_the_account_curve() -> None:
    fills, equity = two_symbols()
    s = summary_of()
    btc, eth = equity[0::2], equity[1::2]
    held = np.array([INITIAL.equity(b) + ETH_START.equity(e) for b, e in zip(btc["mid"], eth["mid"], strict=True)])
    curve = btc["equity"] + eth["equity"] - held
    assert s.risk.samples == 11
    assert s.risk.initial_equity == pytest.approx(INITIAL.equity(btc["mid"][0]) + ETH_START.equity(eth["mid"][0]))
    assert s.risk.final_equity == pytest.approx(btc["equity"][-1] + eth["equity"][-1])
    assert s.risk.max_drawdown == pytest.approx(float(np.max(np.maximum.accumulate(curve) - curve)))
    data = chart_data(s, fills, equity)
    assert np.allclose(data.net_pnl, curve)
    assert np.allclose(data.symbols[0].net_pnl + data.symbols[1].net_pnl, curve)
    assert data.symbols[1].net_pnl[-1] == pytest.approx(ETH_PNL)
    assert np.isnan(data.spread_bps).all()  # the account has no one spread: each symbol's is its own
    assert np.array_equal(data.symbols[1].spread_bps, mid_spread_bps(eth["mid"]), equal_nan=True)


def test_a_fill_marker_sits_on_its_own_symbols_spread() -> None:
    fills, equity = two_symbols()
    spreads = fill_spread_bps(fills, equity)
    eth = fills["symbol"] == 1
    assert spreads[eth][:2] == pytest.approx([30.0, 30.0])  # against the other leg's price: 3,009 over 3,000
    # an ETH fill alone in its pair sits at ETH's sample spread, not BTC's
    lone = eth_fills()[:1]
    lone["local_ts"] += 1  # between two samples: the next sample's spread
    at = int(np.searchsorted(equity["ts"][1::2], lone["local_ts"][0]))
    assert fill_spread_bps(lone, equity)[0] == pytest.approx(mid_spread_bps(equity["mid"][1::2])[at])


def test_summary_json_has_a_symbols_section_and_the_single_symbol_file_is_unchanged(
    tmp_path: Path, charts: None
) -> None:
    fills, equity = two_symbols()
    s = summary_of()
    paths = write_report(tmp_path, s, fills, equity, symbols=NAMES)
    assert [p.name for p in paths] == [TRADES_CSV, "equity.npz", EQUITY_PNG, "inventory.csv", SUMMARY_JSON]
    assert (tmp_path / EQUITY_PNG).read_bytes().startswith(PNG_MAGIC)
    data = json.loads((tmp_path / SUMMARY_JSON).read_text())
    assert data["schema"] == 2 and list(data["symbols"]) == list(NAMES)
    eth = data["symbols"]["ETHUSDT"]
    assert eth["total"]["pnl"] == pytest.approx(ETH_PNL) and eth["total"]["volume"] == pytest.approx(1.4)
    assert eth["venues"]["bybit"]["final_mid"] == ETH_FINAL[1] and eth["initial_base"] == [1.0, 1.0]
    assert eth["pnl_consistent"] is True and eth["pairs"]["pairs"] == 2
    assert data["total"]["volume"] is None and data["initial"]["bases"] == [[0.05, 0.05], [1.0, 1.0]]
    total = sum(data["symbols"][n]["total"]["pnl"] for n in NAMES)
    assert data["total"]["pnl"] == pytest.approx(total, abs=1e-9)
    # from trades.csv and the per-symbol final mids alone, to the cent
    mids = [[data["symbols"][n]["venues"][v]["final_mid"] for v in ("binance", "bybit")] for n in NAMES]
    assert pnl_from_trades_csv(tmp_path / TRADES_CSV, mids, NAMES) == pytest.approx(data["total"]["pnl"], abs=0.01)
    # one symbol: the keys a single-symbol summary.json always had, and no more
    btc_fills, btc_equity = scenario()
    single = summarize(btc_fills, btc_equity, INITIAL, {}).to_dict()
    assert list(single) == ["schema", "pnl_consistent", "total", "venues", "out_of_sync", "pairs", "risk", "initial",
                            "meta"]  # fmt: skip
    assert single["initial"] == {"base": [0.05, 0.05], "quote": [10_000.0, 10_000.0]}


def test_a_symbol_whose_rows_disagree_with_its_fills_makes_the_run_inconsistent() -> None:
    fills, equity = two_symbols()
    equity["equity_venue"][-1, 0] += 1.0  # ETHUSDT's last row books a unit of quote no fill made
    equity["equity"][-1] += 1.0
    s = summarize(fills, equity, BOTH, {}, symbols=NAMES)
    assert s.symbols[0].pnl_consistent and not s.symbols[1].pnl_consistent and not s.pnl_consistent
    out = io.StringIO()
    print_summary(s, Console(file=out, width=200))
    assert "ETHUSDT: net PnL from its equity rows and from its fills disagree" in out.getvalue()


def test_the_table_has_a_column_per_symbol_and_no_summed_quantities() -> None:
    out = io.StringIO()
    print_summary(summary_of(duration_s=60.0), Console(file=out, width=200))
    text = out.getvalue()
    assert "2 symbols: the account" in text
    header = next(line for line in text.splitlines() if "BTCUSDT" in line and "ETHUSDT" in line)
    assert header.index("BTCUSDT") < header.index("ETHUSDT")
    account = text[: text.index("per symbol")]
    assert "volume (base)" not in account and "position (base)" not in account and "net PnL, equity" in account
    eth_volume = next(line for line in text.splitlines() if line.startswith("│ volume (base)"))
    assert "1.40000000" in eth_volume and "0.14000000" in eth_volume  # ETH 1.4, BTC 0.14


def test_the_symbols_come_from_the_configuration_in_meta_and_bad_rows_are_refused() -> None:
    fills, equity = two_symbols()
    meta = {"config": {"strategy": {"symbols": list(NAMES)}}}
    assert [p.name for p in summarize(fills, equity, BOTH, meta).symbols] == list(NAMES)
    assert [p.name for p in summarize(fills, equity, BOTH, {}).symbols] == ["0", "1"]
    stray = fills.copy()
    stray["symbol"][0] = 2
    with pytest.raises(ValueError, match="fills: symbol must be one of \\(0, 1\\)"):
        summarize(stray, equity, BOTH, {})
    with pytest.raises(ValueError, match="equity holds no sample of ETHUSDT"):
        summarize(fills, equity[0::2], BOTH, {}, symbols=NAMES)
    with pytest.raises(ValueError, match="bases\\[0\\]"):
        InitialBalances(base=(1.0, 1.0), quote=(0.0, 0.0), bases=((2.0, 2.0),))


def _legs(pairs_faulted: int, pnl_faulted: float, pairs_clean: int, pnl_clean: float, open_at_end: int) -> LegFigures:
    return LegFigures(
        rejected=1, partial=0, late=2, lone_legs=open_at_end + 1, hedged=1, unwound=0, open_at_end=open_at_end,
        given_up=0, hedge_orders=3, hedge_failed=bool(open_at_end), exposure=(0.1, 0.0), pairs_faulted=pairs_faulted,
        pairs_clean=pairs_clean, pnl_faulted=pnl_faulted, pnl_clean=pnl_clean,
        pnl_faulted_mean=pnl_faulted / pairs_faulted if pairs_faulted else None,
        pnl_clean_mean=pnl_clean / pairs_clean if pairs_clean else None, pnl_lone_legs=pnl_faulted, cost=None,
    )  # fmt: skip


def test_the_accounts_leg_figures_add_up_the_symbols() -> None:
    both = combined_leg_figures([_legs(1, -2.0, 3, 3.0, 1), _legs(0, 0.0, 5, 10.0, 0)])
    assert (both.rejected, both.late, both.lone_legs, both.open_at_end, both.hedge_orders) == (2, 4, 3, 1, 6)
    assert both.hedge_failed and math.isnan(both.exposure[0])  # base units of two coins: per symbol only
    assert both.pnl_faulted_mean == pytest.approx(-2.0) and both.pnl_clean_mean == pytest.approx(13.0 / 8)
    assert both.cost == pytest.approx((13.0 / 8 + 2.0) * 1)
