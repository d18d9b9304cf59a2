"""Build the kernel's parameter record from the configuration."""

from __future__ import annotations

from typing import Any

import numpy as np

from arb.config import AppConfig
from arb.strategy.types import MARKET_LINEAR, MARKET_SPOT, PARAMS_DTYPE

__all__ = ["make_params", "params_of"]


def make_params(config: AppConfig) -> np.ndarray[Any, np.dtype[Any]]:
    """One ``PARAMS_DTYPE`` record from ``config`` (venue arrays in asset order)."""
    s = config.strategy
    r = config.risk
    e = config.execution
    params = np.zeros(1, PARAMS_DTYPE)
    p = params[0]
    p["min_spread_bps"] = s.min_spread_bps
    p["slippage_bps"] = e.slippage_tolerance_bps
    p["max_order_size"] = s.max_order_size
    p["max_position_size"] = s.max_position_size
    p["position_limit"] = r.position_limit
    p["rebalance_threshold"] = s.rebalance_threshold
    p["book_levels"] = s.book_levels
    p["cooldown_ns"] = s.cooldown_ns
    p["hedge_unwind"] = 1 if e.hedge_mode == "unwind" else 0
    p["max_hedge_attempts"] = e.max_hedge_attempts
    p["hedge_retry_ns"] = e.hedge_retry_ns
    p["stop_loss_bps"] = r.stop_loss_bps
    p["funding_horizon_ns"] = s.funding_horizon_ns
    p["close_before_funding_ns"] = s.close_before_funding_ns
    for v, venue in enumerate(config.venues):
        p["taker_fee"][v] = venue.fees.taker
        p["tick_size"][v] = venue.instrument.tick_size
        p["lot_size"][v] = venue.instrument.lot_size
        p["min_qty"][v] = venue.instrument.min_qty
        p["min_notional"][v] = venue.instrument.min_notional
        p["market"][v] = MARKET_SPOT if venue.market == "spot" else MARKET_LINEAR
        p["funding_interval_ns"][v] = venue.perpetual.funding_interval_ns
    return params


def params_of(config: AppConfig) -> np.ndarray[Any, np.dtype[Any]]:
    """One ``PARAMS_DTYPE`` record per symbol (``params[s:s + 1]`` is what symbol ``s``'s kernel reads).

    The array's dtype is ``PARAMS_DTYPE`` itself, not an equal copy: compiled code looks its type up by
    the dtype, and an equal but distinct dtype costs a full comparison of every field at each call."""
    rows = [make_params(config.for_symbol(s)) for s in range(len(config.symbols))]
    params: np.ndarray[Any, np.dtype[Any]] = np.concatenate(rows).view(PARAMS_DTYPE)
    return params
