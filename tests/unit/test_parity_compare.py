"""The parity report names the first disagreement, of each kind, and tolerates what it should."""

from __future__ import annotations

import numpy as np

from arb.parity.against_dry_run import _calls_equal, _compare_fills, _first_difference, _sent_equal
from arb.strategy.types import BUY, FILL_DTYPE, SELL, SENT_DTYPE, decision_dtype


def calls(n: int) -> np.ndarray:
    c = np.zeros(n, decision_dtype(2))
    c["ts"] = np.arange(n) * 1000
    c["bid"] = 60000.0
    c["ask"] = 60000.01
    return c


def test_identical_logs_agree_and_float_noise_is_not_a_difference() -> None:
    a, b = calls(5), calls(5)
    b["bid"][:, 0] = 60000.000000000004  # tick x integer vs parsed decimal
    assert _first_difference("view", a, b, _calls_equal, str, "no call") is None


def test_first_view_difference_is_reported_with_both_sides() -> None:
    a, b = calls(5), calls(5)
    b["position"][2, 1] = 0.001
    b["status"][4, 0] = 1
    d = _first_difference("view", a, b, _calls_equal, lambda c: f"pos {c['position'][1]}", "no call")
    assert d is not None and (d.kind, d.index, d.ts) == ("view", 2, 2000)
    assert d.backtest.endswith("pos 0.0") and d.live.endswith("pos 0.001")


def test_a_missing_entry_is_a_difference() -> None:
    a = np.zeros(3, SENT_DTYPE)
    a["ts"] = [10, 20, 30]
    d = _first_difference("intent", a, a[:2], _sent_equal, str, "nothing sent")
    assert d is not None and d.index == 2 and d.live == "nothing sent"


def test_fill_prices_within_the_tolerance_agree_and_beyond_do_not() -> None:
    a = np.zeros(2, FILL_DTYPE)
    a["venue"] = [0, 1]
    a["side"] = [BUY, SELL]
    a["qty"] = 0.001
    a["price"] = [60000.0, 60100.0]
    b = a.copy()
    b["price"][0] = 60000.0 + 60000.0 * 2e-4 + 0.01  # 2 bps plus one tick: still within
    first, worst, outside = _compare_fills(a, b, 2.0, (0.01, 0.1), exact=False)
    assert first is None and outside == 0 and worst > 2.0
    b["price"][0] += 0.01
    first, _, outside = _compare_fills(a, b, 2.0, (0.01, 0.1), exact=False)
    assert first is not None and first.kind == "fill" and outside == 1
    first, _, _ = _compare_fills(a, a.copy(), 2.0, (0.01, 0.1), exact=True)
    assert first is None
