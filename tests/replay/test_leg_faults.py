"""Leg faults in the backtest and the dry run's live path: rejected, partial and late legs become the
kernel's lone-leg case, are hedged or unwound (or, past ``max_hedge_attempts``, halt new pairs), cost
money, and fault the same orders in both drivers so their decisions still agree.

The recordings are constructed so that neither venue's book ever crosses itself: an opportunity is
a whole Bybit book moving 45 bps above or below Binance's for 300 ms.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from arb.backtest.run import run_backtest
from arb.cli import main
from arb.config import AppConfig, LegFaultRates, LegFaultsConfig, load_config
from arb.execution.leg_faults import FAULT_LATE, FAULT_NONE, FAULT_PARTIAL, FAULT_REJECT
from arb.execution.paper_account import read_paper_account
from arb.parity.against_dry_run import run_live_replay, run_parity, zero_latency
from arb.reports.pnl import leg_figures
from arb.strategy.types import BUY, HEDGE_FAILED, INTENT_HEDGE, INTENT_OPEN, INTENT_UNWIND, SELL
from tests.support.scenario_days import EPISODES_ARBITRAGE, Book, Change, order_latency, scenario_config, write_scenario

DAY = dt.date(2024, 3, 1)
MS = 1_000_000
BINANCE, BYBIT = 0, 1

_BYBIT_BIDS = {59995.0: 2.0, 59985.0: 3.0}
_BYBIT_ASKS = {60005.0: 2.0, 60015.0: 3.0}


def _gone(side: dict[float, float]) -> dict[float, float]:
    return dict.fromkeys(side, 0.0)


def _up(t: int) -> list[Change]:
    # Bybit's whole book 45 bps above Binance's ask for 300 ms: buy Binance, sell Bybit.
    up = Change(t, "bybit", bids={**_gone(_BYBIT_BIDS), 60270.0: 0.5}, asks={**_gone(_BYBIT_ASKS), 60280.0: 2.0})
    back = Change(t + 300, "bybit", bids={**_BYBIT_BIDS, 60270.0: 0.0}, asks={**_BYBIT_ASKS, 60280.0: 0.0})
    return [up, back]


def _down(t: int) -> list[Change]:
    # Bybit's whole book 45 bps under Binance's bid for 300 ms: buy Bybit, sell Binance.
    down = Change(t, "bybit", bids={**_gone(_BYBIT_BIDS), 59710.0: 2.0}, asks={**_gone(_BYBIT_ASKS), 59720.0: 0.5})
    back = Change(t + 300, "bybit", bids={**_BYBIT_BIDS, 59710.0: 0.0}, asks={**_BYBIT_ASKS, 59720.0: 0.0})
    return [down, back]


def _config(
    tmp_path: Path, episodes: int, *, latency_ms: float = 4.0, hedge_mode: str = "hedge", attempts: int = 3
) -> AppConfig:
    return load_config(_config_path(tmp_path, episodes, latency_ms=latency_ms, hedge_mode=hedge_mode,
                                    attempts=attempts))  # fmt: skip


def _config_path(
    tmp_path: Path,
    episodes: int,
    *,
    latency_ms: float = 4.0,
    hedge_mode: str = "hedge",
    attempts: int = 3,
    leg_faults: dict[str, Any] | None = None,
    hedge_retry_ms: int = 1000,
) -> Path:
    # Every 700 ms an opportunity, alternating directions; sizes small next to the levels.
    binance = Book(bids={59990.0: 2.0, 59980.0: 3.0}, asks={60000.0: 2.0, 60010.0: 3.0})
    bybit = Book(bids=dict(_BYBIT_BIDS), asks=dict(_BYBIT_ASKS))
    changes: list[Change] = []
    for k in range(episodes):
        changes += (_up if k % 2 == 0 else _down)(500 + 700 * k)
    write_scenario(tmp_path / "recordings", DAY, binance, bybit, changes, duration_ms=700 * episodes + 1_500)
    execution = {"hedge_mode": hedge_mode, "max_hedge_attempts": attempts, "hedge_retry_ms": hedge_retry_ms}
    arbitrage = {**EPISODES_ARBITRAGE, "execution": execution, "leg_faults": leg_faults}  # None: not set
    return scenario_config(tmp_path, arbitrage, latency=order_latency(latency_ms))


def _faults(config: AppConfig, *, seed: int = 1, hedges: bool = False, binance: Any = None, bybit: Any = None,
            **both: Any) -> AppConfig:  # fmt: skip
    rates = LegFaultRates(**both)
    faults = LegFaultsConfig(
        seed=seed,
        hedges=hedges,
        venues={
            "binance": LegFaultRates(**binance) if binance is not None else rates,
            "bybit": LegFaultRates(**bybit) if bybit is not None else rates,
        },
    )
    return config.with_overrides({"leg_faults": faults})


def _of(fills: np.ndarray, **match: int) -> np.ndarray:
    keep = np.ones(len(fills), bool)
    for name, value in match.items():
        keep &= fills[name] == value
    return fills[keep]


def _net(fills: np.ndarray) -> float:
    return float(np.sum(fills["side"] * fills["qty"]))


# --- one opportunity, one faulted leg ----------------------------------------------------------


def test_rejected_leg_is_hedged_on_the_other_venue(tmp_path: Path) -> None:
    # The pair buys Binance and sells Bybit; Bybit rejects every opening leg, so Binance's buy is a
    # lone leg, and the hedge (never faulted here) sells it on Bybit, at the moved book.
    config = _faults(_config(tmp_path, 1), bybit={"reject": 1.0})
    result = run_backtest(config)
    fills = result.fills
    assert result.sent["fault"].tolist() == [FAULT_NONE, FAULT_REJECT, FAULT_NONE]
    opens = _of(fills, kind=INTENT_OPEN)
    assert len(opens) == 1 and opens[0]["venue"] == BINANCE and opens[0]["side"] == BUY
    hedges = _of(fills, kind=INTENT_HEDGE)
    assert len(hedges) == 1 and hedges[0]["venue"] == BYBIT and hedges[0]["side"] == SELL
    assert hedges[0]["qty"] == pytest.approx(opens[0]["qty"]) and hedges[0]["price"] == 60270.0
    assert hedges[0]["pair_id"] == opens[0]["pair_id"]
    # the rejection is answered at the ack time (4 + 3 ms), and the hedge goes out then
    rejected_at = result.sent[0]["ts"] + 7 * MS
    assert result.sent[2]["ts"] == rejected_at and hedges[0]["local_ts"] == rejected_at + 7 * MS
    assert _net(fills) == pytest.approx(0.0, abs=1e-12)
    assert result.kernel_state["flags"] == 0


def test_rejected_leg_is_unwound_where_it_filled(tmp_path: Path) -> None:
    config = _faults(_config(tmp_path, 1, hedge_mode="unwind"), bybit={"reject": 1.0})
    fills = run_backtest(config).fills
    unwinds = _of(fills, kind=INTENT_UNWIND)
    assert len(unwinds) == 1 and unwinds[0]["venue"] == BINANCE and unwinds[0]["side"] == SELL
    assert _net(_of(fills, venue=BINANCE)) == pytest.approx(0.0, abs=1e-12)
    assert len(_of(fills, venue=BYBIT)) == 0


def test_hedges_rejected_past_max_attempts_halt_new_pairs(tmp_path: Path) -> None:
    # Bybit rejects everything, hedges included: the kernel tries its hedge there, widening, raises
    # HEDGE_FAILED past max_hedge_attempts, then (paced by hedge_retry_ms) tries the other venue,
    # which unwinds the leg; no new pair opens however many opportunities follow.
    config = _faults(_config(tmp_path, 4, attempts=2), hedges=True, bybit={"reject": 1.0})
    result = run_backtest(config)
    assert result.kernel_state["flags"] & HEDGE_FAILED
    assert result.kernel_state["pairs"] == 1 and result.kernel_state["hedges"] == 3
    fills = result.fills
    assert [(f["venue"], f["side"], f["kind"]) for f in fills] == [(BINANCE, BUY, INTENT_OPEN),
                                                                  (BINANCE, SELL, INTENT_UNWIND)]  # fmt: skip
    retry = config.execution.hedge_retry_ns
    hedges = result.sent[result.sent["kind"] != INTENT_OPEN]
    assert hedges[-1]["ts"] - hedges[-2]["ts"] >= retry  # the attempt past the limit waited
    legs = leg_figures(result.fills, result.sent, result.equity[-1]["mid"], max_hedge_attempts=2,
                       hedge_failed=True)  # fmt: skip
    assert legs.lone_legs == 1 and legs.given_up == 1 and legs.unwound == 1 and legs.open_at_end == 0
    assert legs.hedge_failed and legs.exposure == (0.0, 0.0)
    # slippage widened on each retry: the hedge limits fall
    hedge_prices = result.sent["price"][result.sent["kind"] == INTENT_HEDGE]
    assert hedge_prices[1] < hedge_prices[0]


def test_partial_leg_is_completed_by_a_hedge(tmp_path: Path) -> None:
    config = _faults(_config(tmp_path, 1), bybit={"partial": 1.0, "partial_min": 0.5, "partial_max": 0.5})
    result = run_backtest(config)
    assert result.sent["fault"][:2].tolist() == [FAULT_NONE, FAULT_PARTIAL]
    opens = _of(result.fills, kind=INTENT_OPEN)
    buy, sell = _of(opens, side=BUY), _of(opens, side=SELL)
    assert sell[0]["qty"] == pytest.approx(buy[0]["qty"] / 2)  # half the quantity, on the lot grid
    hedge = _of(result.fills, kind=INTENT_HEDGE)
    assert len(hedge) == 1 and hedge[0]["qty"] == pytest.approx(buy[0]["qty"] / 2)
    assert _net(result.fills) == pytest.approx(0.0, abs=1e-12)


def test_late_leg_fills_later_against_the_book_it_finds(tmp_path: Path) -> None:
    # 50 ms late: the opportunity is still there, the leg fills 50 ms later than its partner.
    config = _faults(_config(tmp_path, 1), bybit={"late": 1.0, "late_ns": 50 * MS})
    result = run_backtest(config)
    first = _of(result.fills, kind=INTENT_OPEN, pair_id=1)
    sent_at = result.sent[0]["ts"]
    assert len(first) == 2 and result.sent["fault"][:2].tolist() == [FAULT_NONE, FAULT_LATE]
    assert _of(first, venue=BINANCE)[0]["local_ts"] == sent_at + 7 * MS
    assert _of(first, venue=BYBIT)[0]["local_ts"] == sent_at + 57 * MS
    assert _of(first, venue=BYBIT)[0]["price"] == 60270.0
    assert not len(_of(result.fills, kind=INTENT_HEDGE, pair_id=1))


def test_late_leg_missing_the_opportunity_is_hedged_at_a_loss(tmp_path: Path) -> None:
    # 400 ms late: Bybit's book is back where it was, the IOC sell expires, and the Binance buy is
    # hedged at Bybit's ordinary bid: a loss where the clean run made a profit.
    clean = run_backtest(_config(tmp_path, 1))
    late = run_backtest(_faults(_config(tmp_path, 1), bybit={"late": 1.0, "late_ns": 400 * MS}))
    assert len(_of(late.fills, kind=INTENT_OPEN, venue=BYBIT)) == 0
    hedge = _of(late.fills, kind=INTENT_HEDGE)
    assert len(hedge) == 1 and hedge[0]["price"] == 59995.0
    assert _pnl(late) < 0 < _pnl(clean)


def _pnl(result: Any) -> float:
    mid = result.equity[-1]["mid"]
    f = result.fills
    return float(np.sum(f["side"] * f["qty"] * (mid[f["venue"]] - f["price"]) - f["fee"]))


# --- many opportunities: cost and parity -------------------------------------------------------


def test_faults_cost_money_and_the_report_says_how(tmp_path: Path) -> None:
    config = _config(tmp_path, 12)
    clean = run_backtest(config)
    faulty = run_backtest(_faults(config, seed=3, reject=0.25, partial=0.25, late=0.2, late_ns=400 * MS))
    assert _pnl(faulty) < _pnl(clean)
    legs = leg_figures(faulty.fills, faulty.sent, faulty.equity[-1]["mid"], max_hedge_attempts=3)
    faults = np.bincount(faulty.sent["fault"], minlength=4)
    assert (legs.rejected, legs.partial, legs.late) == (faults[1], faults[2], faults[3])
    assert min(faults[1:]) >= 1 and legs.lone_legs >= 3
    assert legs.hedged + legs.unwound + legs.open_at_end == legs.lone_legs
    assert legs.pairs_faulted >= 1 and legs.pairs_clean >= 1
    assert legs.pnl_faulted_mean is not None and legs.pnl_clean_mean is not None
    assert legs.pnl_faulted_mean < legs.pnl_clean_mean and legs.cost is not None and legs.cost > 0
    clean_legs = leg_figures(clean.fills, clean.sent, clean.equity[-1]["mid"], max_hedge_attempts=3)
    assert clean_legs.lone_legs == clean_legs.pairs_faulted == 0 and clean_legs.cost is None


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_zero_latency_parity_with_faults(tmp_path: Path, seed: int) -> None:
    config = _faults(_config(tmp_path, 14), seed=seed, hedges=True, reject=0.2, partial=0.2, late=0.2, late_ns=3 * MS)
    report = run_parity(zero_latency(config), exact=True)
    assert report.agree, report.describe()
    result = run_backtest(zero_latency(config))
    assert min(np.bincount(result.sent["fault"], minlength=4)[1:]) >= 1  # every kind happened
    assert report.intents[0] >= 28


def test_configured_latency_parity_with_faults(tmp_path: Path) -> None:
    config = _faults(_config(tmp_path, 14), seed=5, hedges=True, reject=0.2, partial=0.2, late=0.2, late_ns=30 * MS)
    report = run_parity(config)
    assert report.agree, report.describe()
    live = run_live_replay(config, [DAY])
    assert np.count_nonzero(live.sent.view()["fault"]) >= 5


def test_backtest_and_dry_run_reports_name_the_naked_leg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    faults = {"seed": 4, "hedges": True, "bybit": {"reject": 1.0}}
    # past the attempts the next one would wait a minute: the data ends with the leg still naked
    path = _config_path(tmp_path, 4, attempts=2, leg_faults=faults, hedge_retry_ms=60_000)
    assert main(["-q", "backtest", "--config", str(path), "--out", str(tmp_path / "bt")]) == 0
    printed = capsys.readouterr().out
    assert "lone legs" in printed and "NAKED LEG at the end: binance +0.01" in printed
    backtest = json.loads((tmp_path / "bt" / "summary.json").read_text())["legs"]
    assert backtest["rejected"] >= 3 and backtest["lone_legs"] == backtest["given_up"] == backtest["open_at_end"] == 1
    assert backtest["hedge_failed"] and backtest["exposure"] == [pytest.approx(0.01), 0.0]
    dry = ["dry-run", "--config", str(path), "--speed", "max", "--state-dir", str(tmp_path / "paper"),
           "--out", str(tmp_path / "dry")]  # fmt: skip
    assert main(dry) == 0
    # the paper account keeps the halt: the next dry run opens no pair until arb halt --clear
    kept = read_paper_account(tmp_path / "paper")
    assert kept is not None and kept.halt == "hedge failed after 2 attempts"
    # the dry run's account line (stderr) is followed by the alert arb live prints
    assert "NAKED LEG after 2 hedge attempts: binance long 0.01" in capsys.readouterr().err
    summary = json.loads((tmp_path / "dry" / "summary.json").read_text())
    legs = summary["legs"]
    # the same faults, the same lone leg, the same exposure; the dry run's last hedge may come after
    # the backtest's data ended (it answers every order still out when the replay ends)
    for key in ("rejected", "hedge_orders"):
        assert 0 <= legs.pop(key) - backtest.pop(key) <= 1
    assert legs == backtest
    assert summary["meta"]["paper"]["leg_faults"]["reject"] >= 3


def test_without_faults_the_report_has_no_leg_section(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _config_path(tmp_path, 2)
    assert main(["-q", "backtest", "--config", str(path), "--out", str(tmp_path / "bt")]) == 0
    assert "lone legs" not in capsys.readouterr().out
    legs = json.loads((tmp_path / "bt" / "summary.json").read_text())["legs"]
    assert legs["rejected"] == legs["lone_legs"] == legs["pairs_faulted"] == 0 and legs["pairs_clean"] >= 2
