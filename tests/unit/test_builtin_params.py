"""The built-in strategies' own parameters: ``TakerParams`` and ``MakerTakerParams``, filled from the
``[strategy]`` keys users have always written (``arb/strategy/builtin.py``), per symbol; the rules record's
copies of them; the reports' entry threshold read from a strategy's own ``min_spread_bps`` only."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import msgspec
import numba
import numpy as np
import pytest

from arb.config import load_config
from arb.reports.summary import entry_thresholds
from arb.strategies.maker_taker import MAKER_TAKER, MakerTakerParams
from arb.strategies.taker import TAKER, TakerParams
from arb.strategy import Bench, Strategy, rules_for, view
from arb.strategy.builtin import builtin_keys, builtin_params, is_builtin
from arb.strategy.rules import rules_of
from arb.strategy.seam import bind, params_dtype
from arb.strategy.selection import bind_config
from arb.strategy.types import RULES_DTYPE
from arb.testing.configs import write_config_files
from tests.support.user_strategy import write_strategy

HOUR_NS = 3_600_000_000_000


def _config(folder: Path, strategy: dict[str, Any], **tables: Any) -> Any:
    return load_config(write_config_files(folder, arbitrage_overrides={"strategy": strategy, **tables}))


def test_the_taker_reads_its_parameters_from_the_strategy_keys_of_the_same_names(tmp_path) -> None:
    config = _config(tmp_path, {"min_spread_bps": 7.5, "max_order_size": 0.002, "max_position_size": 0.02,
                                "rebalance_threshold": 0.004, "funding_horizon_h": 2.5, "close_before_funding_s": 90,
                                "inventory_skew_bps": 1.5})  # fmt: skip
    assert builtin_params(config, TAKER) == TakerParams(
        min_spread_bps=7.5, max_order_size=0.002, max_position_size=0.02, rebalance_threshold=0.004,
        funding_horizon_ns=int(2.5 * HOUR_NS), close_before_funding_ns=90_000_000_000, inventory_skew_bps=1.5,
    )  # fmt: skip
    assert builtin_keys(TAKER) == ["min_spread_bps", "max_order_size", "max_position_size", "rebalance_threshold",
                                   "funding_horizon_h", "close_before_funding_s", "inventory_skew_bps"]  # fmt: skip
    assert is_builtin(TAKER) and is_builtin(MAKER_TAKER)


def test_the_maker_taker_adds_the_quotes_settings_and_names_its_venues_as_bits(tmp_path) -> None:
    venues = ["binance", "bybit", "okx"]
    config = _config(tmp_path, {"style": "maker_taker", "venues": venues, "maker_venues": ["bybit", "okx"],
                                "quote_tolerance_bps": 2.0, "min_quote_life_ms": 250})  # fmt: skip
    own = builtin_params(config, MAKER_TAKER)
    assert isinstance(own, MakerTakerParams)
    assert own.maker_venues == 0b110  # bybit is venue 1, okx venue 2
    assert own.quote_size == config.strategy.max_order_size  # 0: max_order_size
    assert (own.quote_tolerance_bps, own.min_quote_life_ns) == (2.0, 250_000_000)
    row = rules_of(config)[0]  # the rules record's copies, for strategies written before: the same values
    assert {f: row[f].item() for f in own.__struct_fields__} == msgspec.structs.asdict(own)


def test_each_symbol_gets_its_own_parameters_and_the_drivers_records_hold_them(tmp_path) -> None:
    eth = {
        "min_spread_bps": 9.0,
        "max_order_size": 0.05,
        "max_position_size": 0.5,
        "rebalance_threshold": 0.1,
        "position_limit": 0.5,
    }
    config = _config(tmp_path, {"symbols": ["BTCUSDT", "ETHUSDT"]}, symbols={"ETHUSDT": {**eth, "binance": {
        "tick_size": 0.01, "lot_size": 0.0001}, "bybit": {"tick_size": 0.01, "lot_size": 0.0001}}},
        risk={"position_limit": 0.5})  # fmt: skip
    bound = bind_config(config, rules_of(config))
    assert bound.params.dtype == params_dtype(TakerParams)
    assert [float(r["min_spread_bps"]) for r in bound.params] == [config.strategy.min_spread_bps, 9.0]
    assert float(bound.params[1]["max_order_size"]) == 0.05
    assert bound.param(1, "min_spread_bps") == 9.0


class Other(msgspec.Struct, frozen=True):
    window: int = 10


@numba.njit(cache=True)
def _nothing(view: Any, rules: Any, params: Any, memory: Any, now_ns: int, intents: Any) -> int:
    return 0


def test_strategies_whose_parameters_differ_cannot_share_a_run() -> None:
    other = Strategy(name="other", decide=_nothing, params=Other)
    rules = np.zeros(2, RULES_DTYPE)
    for pair in ([TAKER, MAKER_TAKER], [TAKER, other], [Strategy(name="bare", decide=_nothing), other]):
        with pytest.raises(ValueError, match="cannot share a run: their records differ"):
            bind(pair, rules, compiled=False)
    assert bind([TAKER, TAKER], rules, compiled=False).params.dtype == params_dtype(TakerParams)


def test_the_entry_line_is_a_strategys_own_min_spread_and_none_for_a_strategy_without_one(tmp_path) -> None:
    config = _config(tmp_path / "taker", {"min_spread_bps": 6.0})
    entry = entry_thresholds(config)["BTCUSDT"]
    assert entry["style"] == "taker" and entry["min_spread_bps"] == 6.0
    assert entry["spread_bps"] == pytest.approx(6.0 + entry["fees_bps"] + entry["slippage_bps"])
    write_strategy(tmp_path / "user")  # parameters threshold_bps, size, window, enabled: no min_spread_bps
    config = _config(tmp_path / "user", {"kernel": "mystrat.py:Cross", "min_spread_bps": 6.0})
    assert entry_thresholds(config) == {}  # [strategy] min_spread_bps is not this strategy's threshold
    bound = bind_config(config, rules_of(config))
    assert math.isnan(bound.param(0, "min_spread_bps")) and bound.param(0, "window") == 10.0


def test_a_bench_of_a_built_in_reads_the_settings_rules_for_was_given() -> None:
    # a 30 bps spread: 9 bps net of two 10 bps taker fees and 1 bps of slippage tolerance
    at = view(bid=[[(99.9, 1.0)], [(100.3, 1.0)]], ask=[[(100.0, 1.0)], [(100.4, 1.0)]])
    opens = Bench(TAKER, rules=rules_for(2, min_spread_bps=8.0, max_order_size=0.5))
    assert float(opens.params["min_spread_bps"]) == 8.0 and float(opens.params["max_order_size"]) == 0.5
    assert [float(i["qty"]) for i in opens.decide(at, 1)] == [0.5, 0.5]
    assert len(Bench(TAKER, rules=rules_for(2, min_spread_bps=10.0)).decide(at, 1)) == 0
    told = Bench(TAKER, rules=rules_for(2, min_spread_bps=10.0), params=TakerParams(min_spread_bps=8.0))
    assert len(told.decide(at, 1)) == 2  # params given: they win
