"""Hyperliquid's instruments and names: the tick from five significant figures and ``szDecimals``, the rules read
from a documented ``meta``/``metaAndAssetCtxs`` body, arb's symbols as coins (Tardis's too), and what the paper
venue answers in Hyperliquid's place."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from arb.config import load_config
from arb.testing.configs import write_config_files
from connectors.hyperliquid.instruments import INSTRUMENTS, listed_coins, tick_at
from connectors.hyperliquid.urls import coin_of, symbol_of
from connectors.registry import venue

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hyperliquid"
INFO = json.loads((FIXTURES / "info_samples.json").read_text())


@pytest.mark.parametrize(
    ("price", "sz_decimals", "tick"),
    [
        ("97012", 5, "1"),  # five figures: no decimal left
        ("123456", 5, "1"),  # more than five figures: an integer price is always allowed
        ("9701.2", 5, "0.1"),  # five figures, and 6 - 5 = 1 decimal allowed
        ("3401.2", 4, "0.1"),
        ("6.1234", 2, "0.0001"),  # five figures, 6 - 2 = 4 decimals
        ("0.012346", 0, "0.000001"),  # five figures would be 7 decimals: 6 - 0 caps it
        ("0.5", 1, "0.00001"),
    ],
)
def test_the_tick_is_five_significant_figures_capped_by_sz_decimals(price: str, sz_decimals: int, tick: str) -> None:
    assert tick_at(Decimal(price), sz_decimals) == Decimal(tick)


def test_the_perpetuals_are_read_from_meta_and_their_contexts() -> None:
    page = INSTRUMENTS.parse(json.dumps(INFO["metaAndAssetCtxs"]).encode(), "linear")
    found = {i.name: i for i in page.instruments}
    assert list(found) == ["BTC", "ETH", "ATOM", "MATIC", "kPEPE"] and page.skipped == ()
    btc = found["BTC"]
    assert (btc.symbol, btc.base, btc.quote, btc.market) == ("BTCUSDT", "BTC", "USDT", "linear")
    assert btc.rules() == {"tick": "1", "lot": "0.00001", "min_qty": "0.00001", "min_notional": "10",
                           "multiplier": "1", "contract_size": "1"}  # fmt: skip
    assert found["ETH"].tick == Decimal("0.1") and found["ETH"].lot == Decimal("0.0001")
    pepe = found["kPEPE"]  # priced and sized per 1,000 PEPE
    assert (pepe.symbol, pepe.base, pepe.multiplier, pepe.tick, pepe.lot) == (
        "KPEPEUSDT", "PEPE", Decimal(1000), Decimal("0.000001"), Decimal(1),
    )  # fmt: skip
    assert not found["MATIC"].trading and found["ATOM"].trading
    assert INSTRUMENTS.request("linear").body == {"type": "metaAndAssetCtxs"}
    with pytest.raises(ValueError, match="linear"):
        INSTRUMENTS.request("spot")
    with pytest.raises(ValueError, match="not its answer"):
        INSTRUMENTS.parse(b'{"universe":[]}', "linear")


def test_meta_lists_the_coins_that_trade() -> None:
    coins = listed_coins(json.dumps(INFO["meta"]).encode())
    assert sorted(coins) == ["ATOM", "BTC", "ETH", "kPEPE"] and coins["BTC"].sz_decimals == 5


def test_arb_symbols_are_coins_on_the_wire_and_in_tardis() -> None:
    assert [coin_of(s) for s in ("BTCUSDT", "btcusdc", "KPEPEUSDT", "ETHUSDT")] == ["BTC", "BTC", "kPEPE", "ETH"]
    assert [symbol_of(c) for c in ("BTC", "kPEPE")] == ["BTCUSDT", "KPEPEUSDT"]
    with pytest.raises(ValueError, match="ending in USDT or USDC"):
        coin_of("BTCEUR")
    tardis = venue("hyperliquid").tardis
    assert (tardis.symbol("BTCUSDT", "linear"), tardis.arb_symbol("BTC", "linear")) == ("BTC", "BTCUSDT")
    assert tardis.base_per_amount("BTCUSDT", "linear") == 1.0


def test_the_paper_venue_refuses_in_hyperliquids_words() -> None:
    from arb.execution.paper import _refusals

    table, post_only, cancel_miss = _refusals("hyperliquid", "linear")
    notional = table["notional"]
    assert (notional.code, notional.message) == ("MinTradeNtl", "Order must have minimum value of $10.")
    assert post_only.code == "BadAloPx"
    assert post_only.message.startswith("Post only order would have immediately matched")
    assert cancel_miss.message == "Order was never placed, already canceled, or filled."
    assert table["price"].message == "Price must be divisible by tick size."


def test_the_shipped_venue_file_loads_beside_the_others(tmp_path: Path) -> None:
    run = {"strategy": {"venues": ["binance", "bybit", "okx", "hyperliquid"]}}
    config = load_config(write_config_files(tmp_path, arbitrage_overrides=run)).venue("hyperliquid")
    assert (config.market, config.network, config.data_network) == ("linear", "testnet", "mainnet")
    assert config.data_endpoints.ws == ("wss://api.hyperliquid.xyz/ws",)
    assert config.endpoints.rest == "https://api.hyperliquid-testnet.xyz"
    assert (config.fees.maker, config.fees.taker) == (0.00015, 0.00045)
    rules = config.instrument
    assert (rules.tick_size, rules.lot_size, rules.min_notional) == (1.0, 1e-5, 10.0)
    assert config.perpetual.funding_interval_ns == 3600 * 10**9 and config.feed.depth_stream == "l2Book"
    assert venue("hyperliquid").trades_live  # its private side through ccxt (issue 79, item 3)
    names = [secret.env_name if secret is not None else None for secret in (config.api_key, config.api_secret)]
    assert names == ["HYPERLIQUID_API_ACCOUNT_ADDRESS", "HYPERLIQUID_API_PRIVATE_KEY"]  # the address, the signing key
