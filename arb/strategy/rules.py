"""arb's rules records (``RULES_DTYPE``, every strategy's ``rules``) from the configuration: what arb knows of
the venues and the settings it applies to every strategy (:data:`arb.strategy.types.RULES_DTYPE`). A strategy's
own parameters are not (:mod:`arb.strategy.loading`, :mod:`arb.strategy.builtin`); the built-ins' settings are
copied in too, for strategies written before the built-ins had their own."""

from __future__ import annotations

__all__ = ["common_lot", "copy_settings", "make_params", "make_rules", "params_of", "rules_of"]

import math
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import msgspec
import numpy as np

from arb.config import AppConfig
from arb.strategy.builtin import builtin, builtin_params
from arb.strategy.loading import strategy_of
from arb.strategy.types import MARKET_LINEAR, MARKET_SPOT, RULES_DTYPE, STYLE_MAKER_TAKER, STYLE_TAKER


def copy_settings(row: Any, section: Any, names: Iterable[str]) -> None:
    """Set each field ``name`` of the record ``row`` to the setting of the same name in ``section`` (a
    configuration section such as ``config.strategy``, or a parameters struct)."""
    for name in names:
        row[name] = getattr(section, name)


def common_lot(*lots: float) -> float:
    """The least common multiple of the venues' lots (``0.001`` and ``0.0015``: ``0.003``), the grid of a
    quantity that every one of them takes as it is.

    Worked exactly on the lots as written (each float's shortest decimal form, ``0.0015`` not
    ``0.00149999...``): each becomes a whole number of the finest decimal place among them, the integers'
    least common multiple is taken, and the result is scaled back. The coarser lot alone (``max``) is a
    multiple of the finer one only when the lots divide each other (``0.00001`` and ``0.000001``, as
    Binance's and Bybit's BTCUSDT spot lots do: there both answers are the same)."""
    decimals = [Decimal(repr(float(lot))) for lot in lots]
    if not decimals or any(not d.is_finite() or d <= 0 for d in decimals):
        raise ValueError(f"expected positive lots, got {', '.join(map(repr, lots))}")
    exponent = min(int(d.as_tuple().exponent) for d in decimals)
    whole = [int(d.scaleb(-exponent)) for d in decimals]
    return float(Decimal(math.lcm(*whole)).scaleb(exponent))


def make_rules(config: AppConfig) -> np.ndarray[Any, np.dtype[Any]]:
    """One ``RULES_DTYPE`` record from ``config`` (venue arrays in asset order). ``quotes`` says whether the
    symbol's strategy quotes (its ``quotes``), which every driver keys its quote machinery off; the built-ins'
    settings are copied as their parameters hold them (:func:`arb.strategy.builtin.builtin_params`). Raises
    :class:`arb.strategy.loading.StrategyLoadError` when ``[strategy] kernel`` does not load."""
    s = config.strategy
    r = config.risk
    e = config.execution
    out = np.zeros(1, RULES_DTYPE)
    row = out[0]
    copy_settings(row, s, ("book_levels", "cooldown_ns", "quote_hold_ns"))
    copy_settings(row, e, ("max_hedge_attempts", "hedge_retry_ns"))
    copy_settings(row, r, ("position_limit", "stop_loss_bps"))
    row["slippage_bps"] = e.slippage_tolerance_bps
    row["hedge_unwind"] = 1 if e.hedge_mode == "unwind" else 0
    row["quotes"] = 1 if strategy_of(config).quotes else 0  # the drivers' quote machinery
    row["style"] = STYLE_MAKER_TAKER if row["quotes"] else STYLE_TAKER  # its earlier name
    # the built-ins' settings, kept for strategies written before the built-ins had parameters of their own:
    # the maker-taker's parameters are all of them (the taker's and the quotes')
    settings = builtin_params(config, builtin("maker_taker"))
    copy_settings(row, settings, (f.name for f in msgspec.structs.fields(settings)))
    for v, venue in enumerate(config.venues):
        row["taker_fee"][v] = venue.fees.taker
        row["maker_fee"][v] = venue.fees.maker
        row["tick_size"][v] = venue.instrument.tick_size
        row["lot_size"][v] = venue.instrument.lot_size
        row["min_qty"][v] = venue.instrument.min_qty
        row["min_notional"][v] = venue.instrument.min_notional
        row["market"][v] = MARKET_SPOT if venue.market == "spot" else MARKET_LINEAR
        row["funding_interval_ns"][v] = venue.perpetual.funding_interval_ns
    row["pair_lot"] = common_lot(*(venue.instrument.lot_size for venue in config.venues))
    return out


def rules_of(config: AppConfig) -> np.ndarray[Any, np.dtype[Any]]:
    """One ``RULES_DTYPE`` record per symbol (``rules[s:s + 1]`` is what symbol ``s``'s strategy reads).

    The array's dtype is ``RULES_DTYPE`` itself, not an equal copy: compiled code looks its type up by
    the dtype, and an equal but distinct dtype costs a full comparison of every field at each call."""
    rows = [make_rules(config.for_symbol(s)) for s in range(len(config.symbols))]
    rules: np.ndarray[Any, np.dtype[Any]] = np.concatenate(rows).view(RULES_DTYPE)
    return rules


make_params = make_rules
""":func:`make_rules` under its earlier name."""
params_of = rules_of
""":func:`rules_of` under its earlier name."""
