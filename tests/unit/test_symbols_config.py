"""Several symbols in one configuration: [strategy] symbols, [symbols.<SYMBOL>] overrides, the resolved
SymbolConfig of each, and every mistake named by file and key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest

from arb.config import AppConfig, SymbolOverrides, load_config
from arb.errors import ConfigError
from arb.events import NS_PER_MS
from arb.testing.configs import write_config_files
from tests.support.venues import BINANCE, BYBIT

ETH: dict[str, Any] = {
    "max_order_size": 0.02,
    "max_position_size": 0.2,
    "rebalance_threshold": 0.1,
    "position_limit": 0.1,
    "binance": {"tick_size": 0.01, "lot_size": 0.0001, "base": 1.0},
    "bybit": {"tick_size": 0.01, "lot_size": 0.00001, "base": 0.5},
}


def _load(tmp_path: Path, symbols: dict[str, Any], names: list[str] | None = None, **more: Any) -> AppConfig:
    strategy = {"symbol": None, "symbols": names or ["BTCUSDT", "ETHUSDT"]}
    overrides = {"strategy": strategy, "symbols": symbols, **more}
    return load_config(write_config_files(tmp_path, arbitrage_overrides=overrides))


def _error(tmp_path: Path, symbols: dict[str, Any], **more: Any) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, symbols, **more)
    return info.value


def test_one_symbol_is_the_configuration_as_before(tmp_path: Path) -> None:
    config = load_config(write_config_files(tmp_path))
    (only,) = config.symbols

    assert config.strategy.symbols == ("BTCUSDT",)
    assert only.name == "BTCUSDT" and only.index == 0
    assert only.strategy == config.strategy
    assert only.risk == config.risk
    assert only.instruments == (config.venue("binance").instrument, config.venue("bybit").instrument)
    assert only.base == (config.venue("binance").account.base, config.venue("bybit").account.base)
    assert config.for_symbol(0) == config


def test_each_symbol_resolves_its_defaults_and_overrides(tmp_path: Path) -> None:
    config = _load(tmp_path, {"ETHUSDT": {**ETH, "min_spread_bps": 3.0, "cooldown_ms": 250},
                              "BTCUSDT": {"max_pair_loss": 2.0, "bybit": {"base": 0.01}}})  # fmt: skip
    btc, eth = config.symbols

    assert config.symbol_names == ("BTCUSDT", "ETHUSDT")
    assert btc.strategy.max_order_size == config.strategy.max_order_size
    assert btc.risk.max_pair_loss == 2.0 and config.risk.max_pair_loss == 0.0
    assert btc.base == (config.venue("binance").account.base, 0.01)
    assert btc.instruments[BINANCE] == config.venue("binance").instrument
    assert eth.strategy.symbol == "ETHUSDT" and eth.strategy.symbols == ("ETHUSDT",)
    assert (eth.strategy.min_spread_bps, eth.strategy.cooldown_ns) == (3.0, 250 * NS_PER_MS)
    assert eth.strategy.max_order_size == 0.02 and eth.risk.position_limit == 0.1
    assert eth.risk.max_drawdown == config.risk.max_drawdown  # account-wide: the same for every symbol
    assert eth.instruments[BINANCE].tick_size == 0.01 and eth.instruments[BINANCE].lot_size == 0.0001
    assert eth.instruments[BINANCE].min_qty == 0.0001  # its own lot, not BTC's
    assert eth.instruments[BYBIT].min_notional == config.venue("bybit").instrument.min_notional
    assert eth.base == (1.0, 0.5)


def test_for_symbol_is_a_single_symbol_configuration(tmp_path: Path) -> None:
    config = _load(tmp_path, {"ETHUSDT": ETH})
    eth = config.for_symbol(1)

    assert eth.strategy.symbols == ("ETHUSDT",) and len(eth.symbols) == 1
    assert eth.venue("binance").instrument.lot_size == 0.0001
    assert eth.venue("bybit").account.base == 0.5
    assert eth.venue("bybit").account.quote == config.venue("bybit").account.quote  # the account's quote, shared
    assert eth.risk.position_limit == 0.1


def test_overrides_in_code_are_checked_like_the_file(tmp_path: Path) -> None:
    config = load_config(write_config_files(tmp_path))
    strategy = config.strategy

    with pytest.raises(ConfigError, match=r"symbols\.ETHUSDT\.max_order_size: missing required key"):
        msgspec.structs.replace(config, strategy=msgspec.structs.replace(strategy, symbols=("BTCUSDT", "ETHUSDT")))
    eth = SymbolOverrides(
        strategy={"max_order_size": 0.02, "max_position_size": 0.2, "rebalance_threshold": 0.1},
        risk={"position_limit": 0.1},
        venues={"binance": {"tick_size": 0.01, "lot_size": 0.0001}, "bybit": {"tick_size": 0.01, "lot_size": -1.0}},
    )
    with pytest.raises(ConfigError, match=r"symbols\.ETHUSDT\.bybit\.lot_size: expected a number > 0"):
        msgspec.structs.replace(
            config, strategy=msgspec.structs.replace(strategy, symbols=("BTCUSDT", "ETHUSDT")),
            symbol_overrides={"ETHUSDT": eth},
        )  # fmt: skip


@pytest.mark.parametrize(
    ("symbols", "names", "key", "expected"),
    [
        ({"ETHUSDT": {k: v for k, v in ETH.items() if k != "position_limit"}}, None, "symbols.ETHUSDT.position_limit",
         "missing required key: a quantity in ETHUSDT's base units"),
        ({"ETHUSDT": {**ETH, "binance": {"tick_size": 0.01}}}, None, "symbols.ETHUSDT.binance.lot_size",
         "the venue file's [instrument] describes BTCUSDT"),
        ({"ETHUSD": ETH}, None, "symbols.ETHUSD", 'did you mean "ETHUSDT"?'),
        ({"ETHUSDT": {**ETH, "max_drawdown": 5.0}}, None, "symbols.ETHUSDT.max_drawdown", "unknown key"),
        ({"ETHUSDT": {**ETH, "book_levels": 3}}, None, "symbols.ETHUSDT.book_levels", "unknown key"),
        ({"ETHUSDT": {**ETH, "binance": {**ETH["binance"], "tick": 1}}}, None, "symbols.ETHUSDT.binance.tick",
         'did you mean "tick_size"?'),
        ({"ETHUSDT": {**ETH, "cooldown_ms": -1}}, None, "symbols.ETHUSDT.cooldown_ms",
         "expected an integer number of milliseconds >= 0, got -1"),
        ({"ETHUSDT": {**ETH, "binance": {**ETH["binance"], "base": -1}}}, None, "symbols.ETHUSDT.binance.base",
         "expected a number >= 0, got -1"),
        ({"ETHUSDT": {**ETH, "bybit": 3}}, None, "symbols.ETHUSDT.bybit", "expected a table"),
        ({}, ["BTCUSDT", "ETHUSDC"], "strategy.symbols", "quoted in one currency"),
        ({}, ["BTCUSDT", "BTCUSDT"], "strategy.symbols", "each symbol once"),
        ({}, ["BTCUSDT", "eth-usdt"], "strategy.symbols", "upper-case letters and digits"),
    ],
    ids=["size missing", "rule missing", "unknown symbol", "account-wide key", "book levels", "venue key typo",
         "bad value", "bad base", "not a table", "two quotes", "twice", "spelling"],
)  # fmt: skip
def test_mistakes_name_the_file_and_the_key(
    tmp_path: Path, symbols: dict[str, Any], names: list[str] | None, key: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, symbols, names)
    error = info.value

    assert Path(error.file).name == "arbitrage.toml"
    assert error.key == key
    assert expected in str(error)


def test_a_linear_venue_holds_no_base_for_any_symbol(tmp_path: Path) -> None:
    linear = {"market": "linear", "account": {"base": 0.0}, "feed": {"depth_stream": "depth@0ms"}}
    two = {"strategy": {"symbol": None, "symbols": ["BTCUSDT", "ETHUSDT"]}, "symbols": {"ETHUSDT": ETH}}
    path = write_config_files(tmp_path, arbitrage_overrides=two, binance_overrides=linear)
    with pytest.raises(ConfigError) as info:
        load_config(path)

    assert info.value.key == "symbols.ETHUSDT.binance.base"
    assert "expected 0 for a linear market" in str(info.value)


def test_each_symbol_gets_its_own_unreachable_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _load(tmp_path, {"ETHUSDT": {**ETH, "max_order_size": 0.5}})

    warned = [r.getMessage() for r in caplog.records if "position_limit" in r.getMessage()]
    assert len(warned) == 1 and "(ETHUSDT)" in warned[0]
