"""equity.png says one thing, read from the figure's own objects (never its pixels): the words of
summary.json (net PnL, trading PnL before fees, fees, holdings revaluation), every fill drawn at the
spread it captured (a burst of fills is laid side by side in time, never moved along the bps axis),
the entry threshold drawn as the dashboard draws its entry line, out-of-sync spans wide enough to
see, and legend counts that count what they name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.colors import to_hex
from matplotlib.dates import date2num

from arb.config import load_config
from arb.reports import charts
from arb.reports.charts import chart_data, equity_figure, fill_spread_bps
from arb.reports.summary import run_summary
from arb.strategy.types import BUY, INTENT_HEDGE, INTENT_OPEN, INTENT_QUOTE, SELL
from tests.support.captures import ROOT
from tests.support.venues import BINANCE, BYBIT
from tests.unit.test_report import INITIAL, driver_equity, make_fills, ns

BINANCE_PX, BYBIT_PX = 60_000.0, 60_164.4  # Bybit 27.4 bps over Binance: one captured spread


def _shipped_config(**overrides: Any) -> Any:
    return load_config(ROOT / "config" / "arbitrage.toml").with_overrides(overrides)


def _burst() -> tuple[np.ndarray, np.ndarray]:
    # Five pairs in 80 ms, every one buying Binance at 60,000 and selling Bybit at 60,164.4: ten fills
    # at one captured spread (27.4 bps), then a pair at -31 bps a minute later; fees 0.1 % a leg.
    rows = []
    for k in range(5):
        t = 10.0 + 0.02 * k
        rows += [(t, BINANCE, BUY, BINANCE_PX, 0.001, BINANCE_PX * 1e-6, k + 1, INTENT_OPEN, 2 * k + 1),
                 (t, BYBIT, SELL, BYBIT_PX, 0.001, BYBIT_PX * 1e-6, k + 1, INTENT_OPEN, 2 * k + 2)]  # fmt: skip
    rows += [(70.0, BINANCE, SELL, 60_100.0, 0.001, 0.0601, 6, INTENT_OPEN, 11),
             (70.0, BYBIT, BUY, 59_913.7, 0.001, 0.0599137, 6, INTENT_OPEN, 12)]  # fmt: skip
    fills = make_fills(*rows)
    times = [float(t) for t in range(0, 121, 2)]
    mids = [(60_000.0, 60_000.0 * (1 + (27.0 if t < 60 else -30.0) * 1e-4)) for t in times]
    return fills, driver_equity(fills, INITIAL, times, mids)


def _figure(fills: np.ndarray, equity: np.ndarray, config: Any = None, **kw: Any) -> tuple[Any, Any, Any]:
    config = config if config is not None else _shipped_config()
    summary = run_summary(config, fills, equity, INITIAL, {"mode": "backtest", "config": config.to_dict()}, **kw)
    return summary, equity_figure(summary, fills, equity), chart_data(summary, fills, equity)


def _axes(fig: Any, ylabel: str) -> Any:
    (ax,) = [ax for ax in fig.axes if ax.get_ylabel() == ylabel]
    return ax


def test_the_chart_uses_summary_jsons_words_and_says_why_the_equity_falls() -> None:
    # Before: the net-of-fees curve was labelled "trading PnL", which summary.json's trading_pnl is
    # before fees, and the equity panel fell with the coins' price with only a legend to say why.
    fills, equity = _burst()
    equity["mid"] *= np.linspace(1.0, 0.996, len(equity))[:, None]  # the coins fall 0.4 %
    for row in equity:  # as a driver books it: the balances after the fills known, at the sample's mids
        for v in (BINANCE, BYBIT):
            held = INITIAL.base[v] + _held(fills, v, row["ts"])
            row["equity_venue"][v] = INITIAL.quote[v] + held * row["mid"][v] + _cash(fills, v, row["ts"])
    equity["equity"] = equity["equity_venue"].sum(axis=1)
    summary, fig, data = _figure(fills, equity)
    total, risk = summary.total, summary.risk
    assert total.trading_pnl == pytest.approx(total.pnl + total.fees)  # spot: no funding
    pnl_ax = _axes(fig, "net PnL (USDT)")
    assert pnl_ax.get_lines()[0].get_label().startswith("net PnL (after fees)")
    assert np.allclose(pnl_ax.get_lines()[0].get_ydata(), data.net_pnl, equal_nan=True)
    assert data.net_pnl[-1] == pytest.approx(total.pnl, abs=1e-9)
    headline = pnl_ax.get_title()
    assert headline.startswith(f"arb backtest: net PnL {total.pnl:,.4f} USDT = trading PnL {total.trading_pnl:,.4f} ")
    assert f"- fees {total.fees:,.4f}; 12 fills, 6 pairs" in headline
    equity_ax = _axes(fig, "equity change (USDT)")
    lines = {line.get_label().split("\n")[0]: line for line in equity_ax.get_lines()}
    assert set(lines) >= {"equity change", "holdings revaluation"}
    change = np.asarray(lines["equity change"].get_ydata(), float)
    revaluation = np.asarray(lines["holdings revaluation"].get_ydata(), float)
    assert change == pytest.approx(data.net_pnl + revaluation, abs=1e-9)  # the gap between them is the net PnL
    assert revaluation[-1] == pytest.approx(risk.holdings_revaluation, abs=1e-9) and revaluation[-1] < -10
    assert f"holdings revaluation {risk.holdings_revaluation:+,.4f}" in equity_ax.get_title()
    assert f"net PnL {total.pnl:+,.4f}" in equity_ax.get_title()
    every_label = [t.get_text() for ax in fig.axes for t in [*ax.texts, ax.title, ax.yaxis.label]]
    every_label += [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    assert not any("trading PnL" in text and "trading PnL " + f"{total.trading_pnl:,.4f}" not in text
                   for text in every_label)  # fmt: skip  # "trading PnL" only ever names the before-fees figure


def _held(fills: np.ndarray, v: int, t: int) -> float:
    own = fills[(fills["venue"] == v) & (fills["local_ts"] <= t)]
    return float((own["side"] * own["qty"]).sum())


def _cash(fills: np.ndarray, v: int, t: int) -> float:
    own = fills[(fills["venue"] == v) & (fills["local_ts"] <= t)]
    return float((-own["side"] * own["price"] * own["qty"] - own["fee"]).sum())


def _markers(fig: Any) -> list[tuple[float, float, float, float]]:
    # every fill marker of the spread panel: (x, y) in data units and the (x, y) it is drawn at, pixels
    ax = _axes(fig, "spread (bps)")
    out = []
    for collection in ax.collections:
        if isinstance(collection, PathCollection):
            offsets = np.asarray(collection.get_offsets(), dtype=float)
            drawn = collection.get_offset_transform().transform(offsets)
            plain = ax.transData.transform(offsets)
            for (_x, y), (dx, dy), (px, py) in zip(offsets, drawn, plain, strict=True):
                out.append((float(y), float(dy), float(py), float(dx - px)))
    return out


def test_every_marker_sits_at_the_spread_its_fill_captured() -> None:
    # Before: ten fills at one captured spread (27.4 bps) were stacked along the bps axis, drawn from
    # 11 to 27 bps; now they lie side by side in time, each at its own value.
    fills, equity = _burst()
    _, fig, data = _figure(fills, equity)
    captured = fill_spread_bps(fills, equity)
    assert captured[:10] == pytest.approx([27.4] * 10, abs=1e-9)
    markers = _markers(fig)
    assert len(markers) == len(fills)  # one marker per fill
    assert sorted(m[0] for m in markers) == pytest.approx(sorted(data.fill_spread_bps.tolist()), abs=1e-9)
    for y, drawn_y, plain_y, shift_x in markers:
        assert drawn_y == pytest.approx(plain_y, abs=1e-6), y  # nothing moves a marker along the bps axis
        assert abs(shift_x) <= 6 * charts._STACK_PT * fig.dpi / 72  # at most a few markers along the time axis
    ax = _axes(fig, "spread (bps)")
    assert [t.get_text() for t in ax.texts] == ["10 fills"]  # the burst says how many it holds


def _entry_lines(fig: Any) -> list[Any]:
    ax = _axes(fig, "spread (bps)")
    return [line for line in ax.get_lines() if to_hex(line.get_color()) == charts.ENTRY_COLOR]


def test_the_entry_threshold_is_drawn_as_the_dashboard_draws_its_entry_line() -> None:
    # The dashboard draws min_spread_bps against the edge net of both taker fees and the slippage
    # tolerance; on the gross spread's axis that line sits at min_spread_bps + fees + tolerance.
    fills, equity = _burst()
    summary, fig, _ = _figure(fills, equity)
    assert dict(summary.meta["entry"]["BTCUSDT"]) == {
        "style": "taker", "min_spread_bps": 5.0, "fees_bps": pytest.approx(20.0), "slippage_bps": 2.0,
        "spread_bps": pytest.approx(27.0),
    }  # fmt: skip
    lines = _entry_lines(fig)
    assert sorted(float(line.get_ydata()[0]) for line in lines) == pytest.approx([-27.0, 27.0])
    for line in lines:
        assert line.get_ydata()[0] == line.get_ydata()[1]  # horizontal
        assert line.get_linestyle() == "--" and line.get_linewidth() == 1.0
    (labelled,) = [line for line in lines if not line.get_label().startswith("_")]
    assert labelled.get_label().startswith("entry threshold ±27 bps")
    legend = [t.get_text() for t in _axes(fig, "spread (bps)").get_legend().get_texts()]
    assert any(text.startswith("entry threshold ±27 bps") for text in legend)
    # every fill of the burst captured more than the threshold: it sits beyond the line
    assert all(m[0] >= 27.0 for m in _markers(fig) if m[0] > 0)


def test_the_maker_taker_threshold_pays_one_maker_and_one_taker_fee() -> None:
    from arb.reports.summary import entry_thresholds

    config = _shipped_config(**{"strategy.style": "maker_taker", "strategy.maker_venues": ["bybit"],
                                "bybit.fees.maker": 0.0002, "binance.fees.taker": 0.00055})  # fmt: skip
    (entry,) = entry_thresholds(config).values()
    assert entry["style"] == "maker_taker"
    assert entry["fees_bps"] == pytest.approx(2.0 + 5.5) and entry["spread_bps"] == pytest.approx(5.0 + 7.5 + 2.0)


def test_a_short_out_of_sync_span_is_drawn_wide_enough_to_see() -> None:
    # Before: a tenth of a second in a two-minute chart was in the legend and under a pixel wide.
    fills, equity = _burst()
    lost = (ns(30.0), ns(30.1))
    _, fig, _ = _figure(fills, equity, out_of_sync=[((lost,), ())])
    canvas_min = charts.MIN_SPAN_PT * fig.dpi / 72
    for ax in fig.axes:
        spans = [p for p in ax.patches if to_hex(p.get_facecolor()[:3]) == to_hex("tab:orange")]
        assert len(spans) == 1, ax.get_ylabel()
        box = spans[0].get_window_extent()
        assert box.width >= 0.99 * canvas_min, (ax.get_ylabel(), box.width)
        middle = date2num(np.datetime64(sum(lost) // 2, "ns"))
        assert (box.x0 + box.x1) / 2 == pytest.approx(ax.transData.transform([(middle, 0.0)])[0][0], abs=0.5)
    legend = [t.get_text() for t in _axes(fig, "spread (bps)").get_legend().get_texts()]
    assert "Binance book out of sync (0.1 s in all)" in legend


def test_the_legend_counts_what_it_names() -> None:
    # Before: "open fills (26)" counted every leg of a pair, half of which closed a position.
    fills, equity = _burst()
    _, fig, _ = _figure(fills, equity)
    legend = [t.get_text() for t in _axes(fig, "spread (bps)").get_legend().get_texts()]
    assert "pair legs (kind open): 12 fills,\nat the spread they captured" in legend
    assert not any(text.startswith("open fills") for text in legend)
    # a maker pair: the quote's fill and its hedge, each kind named for what it is
    maker = make_fills((10.0, BINANCE, SELL, 60_164.4, 0.001, 0.06, 1, INTENT_QUOTE, 1),
                       (10.02, BYBIT, BUY, 60_000.0, 0.001, 0.06, 1, INTENT_HEDGE, 2))  # fmt: skip
    _, fig, _ = _figure(maker, driver_equity(maker, INITIAL, [0.0, 20.0], [(60_000.0, 60_100.0)] * 2))
    legend = [t.get_text() for t in _axes(fig, "spread (bps)").get_legend().get_texts()]
    assert "quote fills (kind quote): 1 fills,\nat the spread they captured" in legend
    assert "hedges (kind hedge): 1 fills,\nat the spread they captured" in legend
    assert _axes(fig, "net PnL (USDT)").get_title().endswith("; 2 fills, 1 pairs")


def test_the_chart_is_written_without_the_configuration_too(tmp_path: Path) -> None:
    # a summary without meta.entry (an arb before it kept one, or summarize() called directly) has no line
    from arb.reports.summary import summarize

    fills, equity = _burst()
    summary = summarize(fills, equity, INITIAL, {})
    fig = equity_figure(summary, fills, equity)
    assert _entry_lines(fig) == []
    fig.savefig(tmp_path / "equity.png")


def test_fills_closer_than_a_marker_on_the_drawn_axis_are_laid_side_by_side() -> None:
    # A pair whose Binance leg filled at two prices: its three fills captured 29.0 to 30.0 bps, a
    # marker or less apart on a panel the entry threshold's lines stretch to +-27 bps and beyond.
    fills = make_fills(
        (10.0, BINANCE, BUY, 60_000.0, 0.001, 0.0, 1, INTENT_OPEN, 1),
        (10.0, BINANCE, BUY, 60_006.0, 0.001, 0.0, 1, INTENT_OPEN, 1),
        (10.0, BYBIT, SELL, 60_177.0, 0.002, 0.0, 1, INTENT_OPEN, 2),
    )
    times = [float(t) for t in range(0, 21)]
    equity = driver_equity(fills, INITIAL, times, [(60_000.0, 60_168.0)] * len(times))
    _, fig, _ = _figure(fills, equity)
    assert len(_entry_lines(fig)) == 2
    ax = _axes(fig, "spread (bps)")
    drawn = []
    for collection in ax.collections:
        if isinstance(collection, PathCollection):
            offsets = np.asarray(collection.get_offsets(), dtype=float)
            drawn += collection.get_offset_transform().transform(offsets).tolist()
    assert len(drawn) == 3
    gaps = [np.hypot(a[0] - b[0], a[1] - b[1]) for i, a in enumerate(drawn) for b in drawn[i + 1 :]]
    assert min(gaps) >= 0.8 * charts._MARKER_PT * fig.dpi / 72, gaps  # none hidden under another
