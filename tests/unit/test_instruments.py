"""The venues' instrument lists: each parser on a real answer (tests/fixtures/README.md says whose), the bundles
(``1000PEPEUSDT``, ``SHIB1000USDT``) and contract values (an OKX swap's ``ctVal``) set aside when two venues'
lists are matched, and the rows ``arb scan --instruments`` shows."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from arb.scan.instruments import VenueList, common_symbols, live_symbols, universe_rows
from connectors.common.instruments import Instrument, InstrumentList, asset_of
from connectors.registry import venue

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
D = Decimal


def _fixture(name: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return found


def _parse(venue_name: str, market: str, body: dict[str, Any] | bytes) -> tuple[Instrument, ...]:
    lister = venue(venue_name).instruments
    assert lister is not None
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return lister.parse(raw, market).instruments


def _by_symbol(found: tuple[Instrument, ...]) -> dict[str, Instrument]:
    return {i.symbol: i for i in found}


def test_every_venue_lists_its_instruments_through_the_registry() -> None:
    for name in ("binance", "bybit", "okx"):
        lister = venue(name).instruments
        assert isinstance(lister, InstrumentList) and lister.venue == name
    binance, bybit, okx = (venue(n).instruments for n in ("binance", "bybit", "okx"))
    assert binance is not None and bybit is not None and okx is not None
    assert binance.request("spot").path == "/api/v3/exchangeInfo"
    assert binance.request("linear").path == "/fapi/v1/exchangeInfo"
    assert bybit.request("spot").params == {"category": "spot"}  # spot is not paged
    assert bybit.request("linear", "abc").params == {"category": "linear", "limit": "1000", "cursor": "abc"}
    assert okx.request("linear").params == {"instType": "SWAP"} and okx.request("spot").params == {"instType": "SPOT"}
    with pytest.raises(ValueError, match="market"):
        okx.request("inverse")


@pytest.mark.parametrize(
    ("name", "asset", "multiplier"),
    [("1000PEPE", "PEPE", 1000), ("SHIB1000", "SHIB", 1000), ("1MBABYDOGE", "BABYDOGE", 1_000_000),
     ("10000SATS", "SATS", 10_000), ("1000000MOG", "MOG", 1_000_000), ("1INCH", "1INCH", 1), ("API3", "API3", 1),
     ("C98", "C98", 1), ("btc", "BTC", 1)],
)  # fmt: skip
def test_a_bundle_is_a_power_of_ten_from_1000_before_or_after_the_asset(name: str, asset: str, multiplier: int) -> None:
    assert asset_of(name) == (asset, D(multiplier))


def test_binance_spot_reads_the_filters_including_the_old_min_notional() -> None:
    found = _by_symbol(_parse("binance", "spot", _fixture("binance_spot_exchange_info.json")))
    assert sorted(found) == ["BTCUSDT", "ETHUSDT"]
    btc = found["BTCUSDT"]
    assert (btc.base, btc.quote, btc.multiplier, btc.tick, btc.lot, btc.min_qty, btc.min_notional) == (
        "BTC", "USDT", 1, D("0.01"), D("0.00001"), D("0.00001"), D(10))  # fmt: skip
    assert btc.trading and btc.market == "spot" and found["ETHUSDT"].lot == D("0.0001")


def test_binance_usdm_keeps_the_perpetuals_and_reads_min_notional_notional() -> None:
    found = _by_symbol(_parse("binance", "linear", _fixture("binance_usdm_exchange_info.json")))
    assert sorted(found) == ["BTCUSDT", "ETHUSDT"]  # BTCUSDT_220325, a quarterly contract, is left out
    assert (found["BTCUSDT"].tick, found["BTCUSDT"].lot, found["BTCUSDT"].min_notional) == (D("0.1"), D("0.001"), 10)


def test_bybit_linear_reads_lot_size_filter_and_the_page_cursor() -> None:
    lister = venue("bybit").instruments
    assert lister is not None
    page = lister.parse((FIXTURES / "bybit_instruments_linear.json").read_bytes(), "linear")
    assert page.cursor == ""  # "nextPageCursor": null on the last page
    btc = _by_symbol(page.instruments)["BTCUSDT"]
    assert (btc.tick, btc.lot, btc.min_qty, btc.min_notional, btc.trading) == (
        D("0.5"),
        D("0.001"),
        D("0.001"),
        5,
        True,
    )
    prelaunch = lister.parse((FIXTURES / "bybit_instruments_prelaunch.json").read_bytes(), "linear")
    assert prelaunch.cursor == "first%3DBIOUSDT%26last%3DBIOUSDT"
    (bio,) = prelaunch.instruments
    assert not bio.trading and bio.status == "PreLaunch" and bio.lot == 1


def test_bybit_spot_reads_base_precision_and_min_order_amt() -> None:
    (btc,) = _parse("bybit", "spot", _fixture("bybit_instruments_spot.json"))
    assert (btc.symbol, btc.tick, btc.lot, btc.min_qty, btc.min_notional) == (
        "BTCUSDT", D("0.1"), D("0.000001"), D("0.000011"), D(5))  # fmt: skip


def test_okx_swap_sizes_are_contracts_of_ct_val_and_spot_ids_lose_their_dash() -> None:
    found = _by_symbol(_parse("okx", "linear", (FIXTURES / "okx_instruments_swap.json").read_bytes()))
    assert sorted(found) == ["BTCUSDT", "ETHUSDT"]  # BTC-USD-SWAP is inverse
    btc = found["BTCUSDT"]
    assert (btc.name, btc.base, btc.quote, btc.multiplier, btc.contract_size) == ("BTC-USDT-SWAP", "BTC", "USDT", 1,
                                                                                  D("0.01"))  # fmt: skip
    assert (btc.tick, btc.lot, btc.min_qty, btc.min_notional) == (D("0.1"), D("0.0001"), D("0.0001"), 0)
    (spot,) = _parse("okx", "spot", _fixture("okx_rest_samples.json")["instruments_spot"])
    assert (spot.symbol, spot.name, spot.lot, spot.min_qty) == ("BTCUSDT", "BTC-USDT", D("0.00000001"), D("0.00001"))


def test_an_error_answer_names_the_venue() -> None:
    with pytest.raises(ValueError, match=r"binance spot exchangeInfo: code -1121: Invalid symbol"):
        _parse("binance", "spot", {"code": -1121, "msg": "Invalid symbol."})
    with pytest.raises(ValueError, match=r"bybit linear instruments-info: retCode 10001"):
        _parse("bybit", "linear", {"retCode": 10001, "retMsg": "Illegal category", "result": {}})
    with pytest.raises(ValueError, match=r"okx spot instruments: code 51001"):
        _parse("okx", "spot", {"code": "51001", "msg": "Instrument ID doesn't exist.", "data": []})
    with pytest.raises(ValueError, match="not its answer"):
        _parse("bybit", "spot", b"<html>gateway</html>")


def test_an_entry_with_unusable_numbers_is_skipped_and_named_not_the_list() -> None:
    body = _fixture("bybit_instruments_linear.json")
    body["result"]["list"][1]["priceFilter"]["tickSize"] = ""
    lister = venue("bybit").instruments
    assert lister is not None
    page = lister.parse(json.dumps(body).encode(), "linear")
    assert [i.symbol for i in page.instruments] == ["BTCUSDT"]
    assert page.skipped == ("bybit ETHUSDT: tickSize '' is not positive",)


# -- matching -----------------------------------------------------------------------------------------------
# The bundles below are the real BTCUSDT entries of the fixtures with the symbol, base and numbers changed in the
# test (derived, not captured): Binance USD-M and Bybit spell 1,000 PEPE 1000PEPEUSDT, Bybit 1,000 SHIB
# SHIB1000USDT; OKX keeps PEPE-USDT-SWAP and states the contract's size in ctVal.


def _binance_linear() -> dict[str, Any]:
    body = _fixture("binance_usdm_exchange_info.json")
    pepe = copy.deepcopy(body["symbols"][0])
    pepe.update(symbol="1000PEPEUSDT", pair="1000PEPEUSDT", baseAsset="1000PEPE")
    pepe["filters"][0]["tickSize"] = "0.0000001"
    pepe["filters"][1].update(stepSize="1", minQty="1")
    body["symbols"].append(pepe)
    return body


def _bybit_linear() -> dict[str, Any]:
    body = _fixture("bybit_instruments_linear.json")
    entries = body["result"]["list"]
    for symbol, base in (("1000PEPEUSDT", "1000PEPE"), ("SHIB1000USDT", "SHIB1000")):
        entry = copy.deepcopy(entries[0])
        entry.update(symbol=symbol, baseCoin=base)
        entry["priceFilter"]["tickSize"] = "0.0000001"
        entry["lotSizeFilter"].update(qtyStep="100", minOrderQty="100")
        entries.append(entry)
    entries[1]["status"] = "Closed"  # ETHUSDT, no longer trading
    return body


def _okx_swaps() -> dict[str, Any]:
    body = _fixture("okx_instruments_swap.json")
    pepe = copy.deepcopy(body["data"][2])
    assert pepe["instId"] == "BTC-USDT-SWAP"
    pepe.update(instId="PEPE-USDT-SWAP", instFamily="PEPE-USDT", uly="PEPE-USDT", ctValCcy="PEPE", ctVal="10000000",
                tickSz="0.0000000001", lotSz="0.1", minSz="0.1")  # fmt: skip
    body["data"].append(pepe)
    return body


def _linear_lists() -> list[VenueList]:
    return [
        VenueList("binance", "linear", _parse("binance", "linear", _binance_linear()), "fetched"),
        VenueList("bybit", "linear", _parse("bybit", "linear", _bybit_linear()), "fetched"),
        VenueList("okx", "linear", _parse("okx", "linear", _okx_swaps()), "fetched"),
    ]


def test_a_1000x_bundle_and_an_okx_contract_are_the_same_asset_with_their_multipliers() -> None:
    common = common_symbols(_linear_lists())
    assert sorted(common) == [("BTCUSDT", "linear"), ("ETHUSDT", "linear"), ("PEPEUSDT", "linear")]
    pepe = {i.venue: i for i in common["PEPEUSDT", "linear"]}
    assert [i.venue for i in common["PEPEUSDT", "linear"]] == ["binance", "bybit", "okx"]
    assert {v: (i.symbol, i.multiplier, i.contract_size) for v, i in pepe.items()} == {
        "binance": ("1000PEPEUSDT", 1000, 1), "bybit": ("1000PEPEUSDT", 1000, 1),
        "okx": ("PEPEUSDT", 1, D(10_000_000))}  # fmt: skip
    assert pepe["okx"].lot == D(1_000_000) and pepe["okx"].name == "PEPE-USDT-SWAP"  # 0.1 contract of 10M PEPE
    # SHIB1000USDT is Bybit's alone; Bybit's ETHUSDT is closed, so ETHUSDT is Binance's and OKX's
    assert [i.venue for i in common["ETHUSDT", "linear"]] == ["binance", "okx"]
    assert ("SHIBUSDT", "linear") in common_symbols(_linear_lists(), min_venues=1)


def test_markets_and_quotes_are_never_matched_across() -> None:
    spot = VenueList("bybit", "spot", _parse("bybit", "spot", _fixture("bybit_instruments_spot.json")))
    usdc = Instrument("okx", "linear", "BTCUSDC", "BTC-USDC-SWAP", "BTC", "USDC", D(1), D("0.1"), D("0.0001"),
                      D("0.0001"), D(0), True)  # fmt: skip
    common = common_symbols([spot, [usdc], *_linear_lists()])
    assert ("BTCUSDT", "spot") not in common and ("BTCUSDC", "linear") not in common
    assert [i.venue for i in common["BTCUSDT", "linear"]] == ["binance", "bybit", "okx"]


def test_a_venue_listing_an_asset_twice_counts_once_by_its_smallest_bundle() -> None:
    binance = _binance_linear()
    plain = copy.deepcopy(binance["symbols"][-1])
    plain.update(symbol="PEPEUSDT", baseAsset="PEPE")
    binance["symbols"].append(plain)
    lists = [VenueList("binance", "linear", _parse("binance", "linear", binance)), *_linear_lists()[1:]]
    pepe = common_symbols(lists)["PEPEUSDT", "linear"]
    assert [(i.venue, i.symbol) for i in pepe] == [("binance", "PEPEUSDT"), ("bybit", "1000PEPEUSDT"),
                                                  ("okx", "PEPEUSDT")]  # fmt: skip


def test_the_rows_give_each_venue_its_rules_as_decimal_strings() -> None:
    rows = universe_rows(common_symbols(_linear_lists()))
    assert [(r["symbol"], r["market"]) for r in rows] == [("BTCUSDT", "linear"), ("ETHUSDT", "linear"),
                                                         ("PEPEUSDT", "linear")]  # fmt: skip
    pepe = rows[2]
    assert pepe["venues"] == ["binance", "bybit", "okx"]
    assert pepe["names"] == {"binance": "1000PEPEUSDT", "bybit": "1000PEPEUSDT", "okx": "PEPE-USDT-SWAP"}
    assert pepe["multiplier"] == {"binance": "1000", "bybit": "1000", "okx": "1"}
    assert pepe["contract_size"]["okx"] == "10000000" and pepe["tick"]["okx"] == "0.0000000001"
    assert pepe["lot"] == {"binance": "1", "bybit": "100", "okx": "1000000"}
    assert rows[0]["min_notional"] == {"binance": "10", "bybit": "5", "okx": "0"}
    assert json.loads(json.dumps(rows)) == rows  # plain data


def test_a_live_scan_takes_the_symbols_every_venue_names_as_arb_does_and_names_the_bundles() -> None:
    rows = universe_rows(common_symbols(_linear_lists()))
    symbols, other = live_symbols(rows)
    # PEPE is 1000PEPEUSDT on Binance and Bybit: their feeds price a bundle of 1000, OKX's one PEPE
    assert symbols == ["BTCUSDT", "ETHUSDT"]
    assert other == ["PEPEUSDT"]
    assert live_symbols([]) == ([], [])
