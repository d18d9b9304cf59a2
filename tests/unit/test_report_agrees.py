"""The report agrees with itself and with the data: one definition of a win for the account line and
the table, ratios only where the span means something, percentages that do not round a loss to 0,
out-of-sync time per venue, and a chart whose markers and shading sit where the data says."""

from __future__ import annotations

import io
import math
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from rich.console import Console

from arb.execution.paper_account import PaperAccount
from arb.formats import pct
from arb.ops.terminal import PaperLines as _Reporter
from arb.reports import charts
from arb.reports.charts import chart_data, fill_spread_bps
from arb.reports.console import print_summary
from arb.reports.files import write_report
from arb.reports.pnl import pnl_from_fills
from arb.reports.ratios import MIN_RATIO_SPAN_S
from arb.reports.summary import summarize
from arb.reports.valuation import InitialBalances
from arb.results.marks import out_of_sync_spans
from arb.results.pairs import pair_pnl, pairs_won
from arb.strategy.types import BUY, FILL_DTYPE, INTENT_OPEN, INTENT_UNWIND, RULES_DTYPE, SELL, new_state, new_views
from tests.support.venues import BINANCE, BYBIT
from tests.unit.test_report import FLAT, INITIAL, curve, driver_equity, make_fills, ns

# --- one definition of a win ----------------------------------------------------------------------

# One pair that captured 30 bps (buy Binance @ 60,000, sell Bybit @ 60,180; cash +1.8 - 0.12 fees)
# and ended with Bybit's mid 50 bps over Binance's: the short it left on Bybit lost more than the
# spread it captured. Its PnL at the final mids is -0.06 + (-0.01 x (60,300 - 60,180) - 0.06) = -1.32.
CAPTURED_THEN_LOST = make_fills(
    (1.0, BINANCE, BUY, 60_000.0, 0.01, 0.06, 1, INTENT_OPEN, 1),
    (1.0, BYBIT, SELL, 60_180.0, 0.01, 0.06, 1, INTENT_OPEN, 2),
)
END_MID = (60_000.0, 60_300.0)


def test_pair_pnl_is_the_leftover_base_at_each_venues_mid_and_adds_up_to_the_net_pnl() -> None:
    ids, pnl = pair_pnl(CAPTURED_THEN_LOST, END_MID)
    assert ids.tolist() == [1] and pnl == pytest.approx([-1.32], abs=1e-9)
    assert pnl.sum() == pytest.approx(pnl_from_fills(CAPTURED_THEN_LOST, END_MID), abs=1e-9)
    assert pairs_won(CAPTURED_THEN_LOST, END_MID) == (1, 0)
    assert pairs_won(CAPTURED_THEN_LOST, (60_000.0, 60_000.0)) == (1, 1)  # the basis closed: a win


def _engine(position: np.ndarray, mid: tuple[float, float], fills: np.ndarray) -> SimpleNamespace:
    # the fields the account line reads: 0.05 BTC and 5,000 USDT per venue to start, pairs of 0.001 BTC
    params = np.zeros(1, RULES_DTYPE)
    params["max_order_size"], params["max_position_size"] = 0.001, 0.01
    views = new_views(1)
    views["ask_px"][0, :, 0] = mid
    return SimpleNamespace(
        position=position,
        last_mid=np.array([mid]),
        log=SimpleNamespace(fills=SimpleNamespace(view=lambda: fills)),
        both_synced=lambda: True,
        kernel_state=new_state(),  # no hedge given up: no naked-leg line
        symbols=("BTCUSDT",),
        n_symbols=1,
        config=SimpleNamespace(symbols=[None], venue_names=("binance", "bybit")),
        views=views,
        rules=params,
        init_base=np.array([[0.05, 0.05]]),
        init_quote=np.array([5_000.0, 5_000.0]),
        cash=-position * np.array(mid),
        executor=SimpleNamespace(in_flight=[]),
    )


def _account_line(fills: np.ndarray, mid: tuple[float, float], tmp_path: Path) -> str:
    out = io.StringIO()
    account = PaperAccount(tmp_path / "account.json", [[0.05, 0.05]], (5_000.0, 5_000.0), ["BTCUSDT"])
    reporter = _Reporter(Console(file=out, width=400), 60 * 10**9, account)
    engine = _engine(np.zeros((1, 2)), mid, fills)
    reporter.maybe(engine, ns(5), force=True)  # type: ignore[arg-type]  # the fields the line reads
    return out.getvalue()


def _table(fills: np.ndarray, mid: tuple[float, float]) -> str:
    equity = driver_equity(fills, INITIAL, [0.0, 5.0], [mid, mid])
    out = io.StringIO()
    print_summary(summarize(fills, equity, INITIAL, {"mode": "dry-run"}), Console(file=out, width=160))
    return out.getvalue()


def test_the_account_line_and_the_table_count_the_same_winners(tmp_path: Path) -> None:
    # before: the line counted a flat pair with positive cash as a winner ("winners 1 losers 0")
    # while the table, valuing its leftover base, said "win rate 0.00%"
    line = _account_line(CAPTURED_THEN_LOST, END_MID, tmp_path)
    table = _table(CAPTURED_THEN_LOST, END_MID)
    assert "pairs 1 won 0 (0.00%)" in line and "winners" not in line
    assert re.search(r"pairs won \(PnL > 0\)\s*│\s*0\s", table)
    assert re.search(r"win rate\s*│\s*0\.00%", table)
    flat = (60_000.0, 60_000.0)
    assert "pairs 1 won 1 (100.00%)" in _account_line(CAPTURED_THEN_LOST, flat, tmp_path)
    assert re.search(r"win rate\s*│\s*100\.00%", _table(CAPTURED_THEN_LOST, flat))


def test_the_account_line_shows_each_venues_base_holdings(tmp_path: Path) -> None:
    # before: cash and positions only; the coins each venue holds (what the next sell there can use) were
    # nowhere on the screen. 0.05 BTC on each venue to start, then bought 0.01 on Binance, sold on Bybit.
    out = io.StringIO()
    account = PaperAccount(tmp_path / "account.json", [[0.05, 0.05]], (5_000.0, 5_000.0), ["BTCUSDT"])
    account.position[0] = [0.01, -0.01]
    reporter = _Reporter(Console(file=out, width=400), 60 * 10**9, account)
    engine = _engine(np.array([[0.01, -0.01]]), END_MID, CAPTURED_THEN_LOST)
    reporter.maybe(engine, ns(5), force=True)  # type: ignore[arg-type]  # the fields the line reads
    assert "holdings 0.06 | 0.04 BTC  positions +0.01 | -0.01" in out.getvalue()
    # and each direction's pairs left at 0.001 BTC a pair: buying Binance again meets its 0.01 band at
    # once (long 0.01 there); buying Bybit has 20 pairs of band on both venues before Binance's 0.06 BTC
    # (60 pairs) or Bybit's 5,603 USDT (92) run out
    assert "left buy binance 0 (binance position) | buy bybit 20  this run: " in out.getvalue()


def test_the_account_line_names_the_scope_of_each_figure(tmp_path: Path) -> None:
    # before, on a resumed account: "fills 46  pairs 10 won 10 (100.00%)", the account's fills (26 of an
    # earlier session and this run's 20) beside this run's pairs only, in one unnamed list
    out = io.StringIO()
    account = PaperAccount(tmp_path / "account.json", [[0.05, 0.05]], (5_000.0, 5_000.0), ["BTCUSDT"])
    account.fills = 26 + 2  # an earlier session's 26 fills, then this run's 2
    account.position[0] = [-0.0025, 0.0025]  # what the earlier session left, which this run's pair did not move
    reporter = _Reporter(Console(file=out, width=400), 60 * 10**9, account)
    engine = _engine(np.array([[-0.0025, 0.0025]]), (60_000.0, 60_000.0), CAPTURED_THEN_LOST)
    reporter.maybe(engine, ns(5), force=True)  # type: ignore[arg-type]  # the fields the line reads
    now, run = out.getvalue().rstrip().split("  this run: ")
    assert now.startswith("[00:00:05 UTC] account: cash ") and "this run" not in now
    assert "positions -0.0025 | +0.0025  equity 16,000.00  fills 28  left " in now
    assert run == "fills 2  pairs 1 won 1 (100.00%)"  # this run's, as its summary table counts them


def test_a_dry_runs_table_names_the_scope_of_its_positions_and_balances() -> None:
    # before: "position (base) 0 | 0" and "open at end (base) 0" (this run's fills, which closed what they
    # opened) under the account line's "positions -0.0025 | +0.0025", with nothing saying which is which
    equity = driver_equity(CAPTURED_THEN_LOST, INITIAL, [0.0, 5.0], [END_MID, END_MID])
    meta = {"mode": "dry-run", "account_position": {"BTCUSDT": [-0.0025, 0.0025]}}
    out = io.StringIO()
    print_summary(summarize(CAPTURED_THEN_LOST, equity, INITIAL, meta), Console(file=out, width=200))
    table = out.getvalue()
    assert "this run's figures, the rows marked 'account' the paper account's" in table
    assert re.search(r"open at end, this run \(base\)\s*│\s*0\.02000000\s*│\s*0\.01000000\s*│\s*0\.01000000", table)
    assert re.search(r"position, this run \(base\)\s*│\s*0\.00000000\s*│\s*0\.01000000\s*│\s*-0\.01000000", table)
    assert re.search(r"position, account \(base\)\s*│\s*0\.00000000\s*│\s*-0\.00250000\s*│\s*0\.00250000", table)
    assert "base balance, account (base)" in table and "quote balance, account (quote)" in table
    # a backtest's positions are its run's and its account's at once: the rows keep their names
    backtest = io.StringIO()
    print_summary(summarize(CAPTURED_THEN_LOST, equity, INITIAL, {"mode": "backtest"}), Console(file=backtest))
    assert "position (base)" in backtest.getvalue() and "account" not in backtest.getvalue()


def test_the_account_line_gives_no_equity_before_every_book_has_a_price(tmp_path: Path) -> None:
    # before: "equity 10,000.00", the 0.05 BTC held on each venue valued at 0 before any price came
    line = _account_line(make_fills(), (math.nan, math.nan), tmp_path)
    assert "holdings 0.05 | 0.05 BTC  positions +0 | +0  equity ?  fills 0" in line
    assert "equity ?" in _account_line(make_fills(), (60_000.0, math.nan), tmp_path)  # one venue's is not enough
    assert "equity 16,000.00" in _account_line(make_fills(), (60_000.0, 60_000.0), tmp_path)


def test_an_unfinished_pair_counts_in_the_line_as_in_the_table(tmp_path: Path) -> None:
    # a lone leg (the other never filled) is a pair in the table; the line used to skip it
    fills = make_fills((1.0, BINANCE, BUY, 60_000.0, 0.01, 0.06, 7, INTENT_OPEN, 1))
    assert "pairs 1 won 1 (100.00%)" in _account_line(fills, (60_010.0, 60_010.0), tmp_path)


# --- ratios only where the span means something ---------------------------------------------------


def _pnl_curve(seconds: int, step_s: float) -> np.ndarray:
    """A trading-PnL curve that mostly rises, one sample per ``step_s`` over ``seconds``."""
    rng = np.random.default_rng(3)
    values = 1000.0 + np.cumsum(rng.normal(0.002, 0.01, int(seconds / step_s) + 1))
    return curve(values.tolist(), step=step_s)


def test_annualised_ratios_on_eleven_minutes_are_shown_as_not_meaningful_with_why() -> None:
    # before: "Sharpe (annualised) 162.247" on the 11-minute sample
    s = summarize(np.zeros(0, FILL_DTYPE), _pnl_curve(11 * 60, 1.0), FLAT, {"mode": "backtest"})
    r = s.risk
    assert r.sharpe_defined and r.sortino_defined and not r.ratios_meaningful
    assert r.sharpe is None and r.sortino is None
    assert r.sharpe_stderr == pytest.approx(math.sqrt(365 * 86_400 / 660), rel=0.05)  # 1 / sqrt(span in years)
    assert r.ratios_note == (
        f"not meaningful on 11.0 min of samples: annualised ratios need 30.0 days "
        f"(their standard error here is about ±{r.sharpe_stderr:,.0f})"
    )
    out = io.StringIO()
    print_summary(s, Console(file=out, width=160))
    text = out.getvalue()
    assert re.search(r"Sharpe \(annualised\)\s*│\s*not meaningful", text)
    assert re.search(r"Sortino \(annualised\)\s*│\s*not meaningful", text)
    assert "ratios: not meaningful on 11.0 min" in text


def test_the_ratios_are_shown_from_thirty_days_on() -> None:
    assert MIN_RATIO_SPAN_S == 30 * 86_400
    short = summarize(np.zeros(0, FILL_DTYPE), _pnl_curve(MIN_RATIO_SPAN_S - 3600, 3600.0), FLAT, {}).risk
    long = summarize(np.zeros(0, FILL_DTYPE), _pnl_curve(MIN_RATIO_SPAN_S, 3600.0), FLAT, {}).risk
    assert not short.ratios_meaningful and short.sharpe is None
    assert long.ratios_meaningful and long.sharpe is not None and long.sortino is not None
    assert long.ratios_note == ""


# --- percentages that do not round a loss away ----------------------------------------------------


def test_a_small_drawdown_is_not_printed_as_zero_percent() -> None:
    # before: "max drawdown (quote) 0.6025" above "max drawdown (of peak) 0.00%"
    big = InitialBalances(base=(0.0, 0.0), quote=(8_092.0, 8_092.0))  # 16,184 of capital, as on the sample
    equity = curve([16_184.0, 16_184.6, 16_184.0, 16_184.8], step=1.0)
    s = summarize(np.zeros(0, FILL_DTYPE), equity, big, {})
    assert s.risk.max_drawdown == pytest.approx(0.6) and s.risk.max_drawdown_frac == pytest.approx(0.6 / 16_184.6)
    out = io.StringIO()
    print_summary(s, Console(file=out, width=160))
    text = out.getvalue()
    assert re.search(r"max drawdown \(of peak\)\s*│\s*0\.0037%", text), text
    assert re.search(r"max drawdown \(quote\)\s*│\s*0\.6000", text)


@pytest.mark.parametrize(
    ("fraction", "shown"),
    [(0.0, "0.00%"), (3.7e-5, "0.0037%"), (-2e-6, "-0.0002%"), (0.5, "50.00%"), (1 / 3, "33.33%"), (1.0, "100.00%")],
)
def test_percentages_keep_two_significant_digits_where_two_decimals_show_zero(fraction: float, shown: str) -> None:
    assert pct(fraction) == shown


# --- time out of sync, per venue ------------------------------------------------------------------

BEFORE_ALL = -(2**63)


def test_out_of_sync_spans_from_sync_changes() -> None:
    start, end = ns(0), ns(100)
    # not synced until 0.5 s (the first snapshot), lost at 20 s, back at 23 s, lost at 90 s for good
    changes = [BEFORE_ALL, ns(0.5), ns(20), ns(23), ns(90)]
    assert out_of_sync_spans(changes, [0, 1, 0, 1, 0], start, end) == (
        (ns(0), ns(0.5)),
        (ns(20), ns(23)),
        (ns(90), ns(100)),
    )
    assert out_of_sync_spans([BEFORE_ALL], [1], start, end) == ()  # seeded synced, never lost
    assert out_of_sync_spans([], [], start, end) == ((start, end),)  # never synced
    assert out_of_sync_spans([ns(-5), ns(200)], [1, 0], start, end) == ()  # changes outside the run


def test_the_table_shows_time_out_of_sync_per_venue_and_either_in_total() -> None:
    fills, equity = make_fills(), driver_equity(make_fills(), INITIAL, [0.0, 100.0], [(60_000.0, 60_000.0)] * 2)
    spans = (((ns(0), ns(0.125)),), ((ns(0), ns(0.0625)), (ns(20), ns(23))))
    s = summarize(fills, equity, INITIAL, {"mode": "backtest"}, out_of_sync=spans)
    binance, bybit = s.venues
    assert (binance.out_of_sync_s, binance.out_of_sync_spans) == (0.125, 1)
    assert (bybit.out_of_sync_s, bybit.out_of_sync_spans) == (3.0625, 2)
    assert (s.total.out_of_sync_s, s.total.out_of_sync_spans) == (3.125, 2)  # the union: 0-0.125 and 20-23
    assert s.to_dict()["out_of_sync"] == {"binance": [[ns(0), ns(0.125)]], "bybit": [list(x) for x in spans[1]]}
    out = io.StringIO()
    print_summary(s, Console(file=out, width=160))
    text = out.getvalue()
    assert re.search(r"time out of sync \(s\)\s*│\s*3\.125\s*│\s*0\.125\s*│\s*3\.062\s*│", text)
    assert re.search(r"out-of-sync spans\s*│\s*2\s*│\s*1\s*│\s*2\s*│", text)


def test_a_run_without_sync_spans_says_zero() -> None:
    fills, equity = make_fills(), driver_equity(make_fills(), INITIAL, [0.0, 1.0], [(60_000.0, 60_000.0)] * 2)
    out = io.StringIO()
    print_summary(summarize(fills, equity, INITIAL, {}), Console(file=out, width=160))
    assert re.search(r"time out of sync \(s\)\s*│\s*0\.000\s*│\s*0\.000\s*│\s*0\.000\s*│", out.getvalue())


# --- equity.png: markers at the captured spread, PnL on its own axis, no spread while out of sync ---


def _jump_run() -> tuple[np.ndarray, np.ndarray]:
    """The spread sits at -0.1 bps, jumps to -29.6 bps at 10.3 s (between the samples at 10 and 11 s),
    and a pair trades the jump at 10.4 s: buy Bybit @ 59,822.4, sell Binance @ 60,000 (-29.6 bps)."""
    fills = make_fills(
        (10.4, BYBIT, BUY, 59_822.4, 0.001, 0.0, 5, INTENT_OPEN, 1),
        (10.4, BINANCE, SELL, 60_000.0, 0.001, 0.0, 5, INTENT_OPEN, 2),
    )
    times = [float(t) for t in range(21)]
    mids = [(60_000.0, 59_999.4) if t <= 10 else (60_000.0, 59_822.4) for t in times]
    return fills, driver_equity(fills, INITIAL, times, mids)


def test_fill_markers_sit_at_the_spread_the_pair_captured_not_at_the_sample_before() -> None:
    fills, equity = _jump_run()
    data = chart_data(summarize(fills, equity, INITIAL, {}), fills, equity)
    # before: interpolated between the samples at 10 s (-0.1) and 11 s (-29.6): -11.9 bps
    assert data.fill_spread_bps == pytest.approx([-29.6, -29.6], abs=1e-9)
    assert data.fill_ts.tolist() == [ns(10.4)] * 2 and data.fill_kind.tolist() == [INTENT_OPEN] * 2


def test_a_fill_with_no_other_leg_sits_at_the_first_sample_at_or_after_it() -> None:
    _, equity = _jump_run()
    lone = make_fills(
        (10.4, BYBIT, BUY, 59_822.4, 0.001, 0.0, 9, INTENT_OPEN, 1),  # the other leg never filled
        (12.0, BYBIT, SELL, 59_820.0, 0.001, 0.0, 9, INTENT_UNWIND, 2),
    )
    assert fill_spread_bps(lone, equity) == pytest.approx([-29.6, -29.6], abs=1e-9)  # samples at 11 and 12 s
    # where a book was not synced, no spread is known and the marker is not drawn
    got = fill_spread_bps(lone, equity, ((), ((ns(10.5), ns(11.5)),)))
    assert np.isnan(got[0]) and got[1] == pytest.approx(-29.6)


def test_partial_fills_each_sit_at_their_own_price_against_the_other_legs_vwap() -> None:
    fills = make_fills(
        (1.0, BINANCE, BUY, 60_000.0, 0.001, 0.0, 1, INTENT_OPEN, 1),
        (1.0, BINANCE, BUY, 60_006.0, 0.001, 0.0, 1, INTENT_OPEN, 1),
        (1.0, BYBIT, SELL, 60_180.0, 0.0015, 0.0, 1, INTENT_OPEN, 2),
        (1.0, BYBIT, SELL, 60_174.0, 0.0005, 0.0, 1, INTENT_OPEN, 2),
    )
    equity = driver_equity(fills, INITIAL, [0.0, 2.0], [(60_000.0, 60_000.0)] * 2)
    bybit_vwap = (60_180.0 * 0.0015 + 60_174.0 * 0.0005) / 0.002
    want = [
        (bybit_vwap - 60_000.0) / 60_000.0 * 1e4,
        (bybit_vwap - 60_006.0) / 60_006.0 * 1e4,
        (60_180.0 - 60_003.0) / 60_003.0 * 1e4,  # against Binance's VWAP
        (60_174.0 - 60_003.0) / 60_003.0 * 1e4,
    ]
    assert fill_spread_bps(fills, equity) == pytest.approx(want, abs=1e-9)


def _drawn_axes(tmp_path: Path, summary: Any, fills: np.ndarray, equity: np.ndarray) -> list[Any]:
    """Every axes of every figure ``write_report`` saves into ``tmp_path`` for this run."""
    from matplotlib.figure import Figure

    axes: list[Any] = []
    real_savefig = Figure.savefig

    def keep_axes(self: Figure, *args: Any, **kwargs: Any) -> None:
        axes.extend(self.axes)
        real_savefig(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Figure, "savefig", keep_axes)
        write_report(tmp_path, summary, fills, equity, draw=True)
    return axes


def test_the_net_pnl_has_its_own_axis_scaled_to_it(tmp_path: Path) -> None:
    # before: a net PnL of 0..0.5 quote shared an axis with an equity change down to -30 quote

    holding = InitialBalances(base=(0.1, 0.0), quote=(10_000.0, 10_000.0))
    equity = curve([0.0] * 21, step=1.0)
    equity["mid"][:, BINANCE] = np.linspace(60_000.0, 59_700.0, 21)  # the 0.1 base held loses 30 quote
    trading = np.linspace(0.0, 0.5, 21)
    equity["equity"] = 20_000.0 + 0.1 * equity["mid"][:, BINANCE] + trading
    fills = np.zeros(0, FILL_DTYPE)
    s = summarize(fills, equity, holding, {})
    data = chart_data(s, fills, equity)
    assert data.net_pnl == pytest.approx(trading, abs=1e-9)
    assert data.equity_change == pytest.approx(trading - np.linspace(0.0, 30.0, 21), abs=1e-9)
    assert data.holdings_revaluation == pytest.approx(-np.linspace(0.0, 30.0, 21), abs=1e-9)
    axes = _drawn_axes(tmp_path, s, fills, equity)
    (pnl_ax,) = [ax for ax in axes if ax.get_ylabel() == "net PnL (quote)"]
    assert pnl_ax.get_lines()[0].get_label() == "net PnL (after fees),\nboth venues"
    low, high = pnl_ax.get_ylim()
    assert high - low < 1.0  # scaled to 0..0.5, not to the -30 of the equity change


def test_no_spread_is_drawn_where_a_book_was_out_of_sync_and_the_span_is_shaded() -> None:
    fills, equity = _jump_run()
    lost = (ns(4.5), ns(7.5))
    s = summarize(fills, equity, INITIAL, {}, out_of_sync=((), (lost,)))
    data = chart_data(s, fills, equity)
    inside = (data.ts >= lost[0]) & (data.ts < lost[1])
    assert data.ts[inside].tolist() == [ns(5), ns(6), ns(7)]
    assert np.isnan(data.spread_bps[inside]).all() and np.isfinite(data.spread_bps[~inside]).all()
    assert data.out_of_sync == ((), (lost,))


def _spread_markers(tmp_path: Path, fills: np.ndarray, equity: np.ndarray) -> tuple[list[tuple[float, float]], Any]:
    # every fill marker drawn on equity.png's spread panel, in display coordinates, and that panel
    from matplotlib.collections import PathCollection

    axes = _drawn_axes(tmp_path, summarize(fills, equity, INITIAL, {}), fills, equity)
    (spread_ax,) = [ax for ax in axes if ax.get_ylabel() == "spread (bps)"]
    points: list[tuple[float, float]] = []
    for collection in spread_ax.collections:
        if isinstance(collection, PathCollection):
            offsets = collection.get_offsets()
            shown = collection.get_offset_transform().transform(np.asarray(offsets, dtype=float))
            points += [(round(float(x), 1), round(float(y), 1)) for x, y in shown]
    return points, spread_ax


def test_every_fill_has_a_marker_of_its_own(tmp_path: Path) -> None:
    # Before: 26 fills of the sample drawn as a few dots; the two legs of a pair, and pairs opened in
    # one burst, sit at the same time and the same captured spread and covered one another.
    rows = []
    for k in range(5):  # five pairs in 80 ms: buy Bybit, sell Binance
        t = 10.4 + 0.02 * k
        rows += [(t, BYBIT, BUY, 59_822.4, 0.001, 0.0, k + 1, INTENT_OPEN, 2 * k + 1),
                 (t, BINANCE, SELL, 60_000.0, 0.001, 0.0, k + 1, INTENT_OPEN, 2 * k + 2)]  # fmt: skip
    rows += [(15.0, BINANCE, BUY, 60_000.0, 0.001, 0.0, 9, INTENT_OPEN, 20)]  # a lone leg elsewhere
    fills = make_fills(*rows)
    times = [float(t) for t in range(21)]
    equity = driver_equity(fills, INITIAL, times, [(60_000.0, 59_822.4)] * len(times))
    points, spread_ax = _spread_markers(tmp_path, fills, equity)
    assert len(points) == len(fills) == 11  # one marker per fill
    # none hidden under another: any two are most of a marker (6 points, 9 pixels at 110 dpi) apart
    gaps = [math.dist(a, b) for i, a in enumerate(points) for b in points[i + 1 :]]
    assert min(gaps) >= 0.8 * charts._MARKER_PT * 110 / 72, min(gaps)
    legend = [text.get_text() for text in spread_ax.get_legend().get_texts()]
    assert "pair legs (kind open): 11 fills,\nat the spread they captured" in legend
    assert {"buy", "sell", "filled: Binance"} <= set(legend)
    notes = [text.get_text() for text in spread_ax.texts]
    assert notes == ["10 fills"]  # the stack says how many it holds
