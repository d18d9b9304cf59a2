"""Each venue's Tardis names (connectors/<venue>/tardis.py, or arb's own) and the reader's use of them: rows
kept by the venue's instrument name, swap contracts turned into base currency exactly as the venue's own
normalizer turns them (``float(size) x contract value``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from arb.events import DEPTH_SNAPSHOT_EVENT, EVENT_KIND_MASK, TRADE_EVENT
from arb.recording.convert import convert_files
from arb.recording.tardis import BOOK, HEADERS, TRADES, names
from arb.testing.history_files import write_gzip
from connectors.common.tardis import SAME


def test_binance_and_bybit_are_named_as_arb_names_them_in_base_currency() -> None:
    for venue in ("binance", "bybit"):
        assert names(venue) is SAME
        assert names(venue).symbol("btcusdt", "linear") == "BTCUSDT" == names(venue).arb_symbol("BTCUSDT", "linear")
        assert names(venue).base_per_amount("BTCUSDT", "linear") == 1.0


def test_okx_is_named_by_its_instrument_ids_and_its_swaps_sized_by_contract_value() -> None:
    okx = names("okx")
    assert okx.symbol("BTCUSDT", "spot") == "BTC-USDT" and okx.symbol("ETHUSDT", "linear") == "ETH-USDT-SWAP"
    assert okx.arb_symbol("BTC-USDT-SWAP", "linear") == "BTCUSDT" == okx.arb_symbol("BTC-USDT", "spot")
    assert okx.base_per_amount("BTCUSDT", "spot") == 1.0 and okx.base_per_amount("SOLUSDT", "spot") == 1.0
    assert okx.base_per_amount("BTCUSDT", "linear") == 0.01 and okx.base_per_amount("ETHUSDT", "linear") == 0.1
    with pytest.raises(ValueError, match=r"^a swap whose contract value arb knows \(BTCUSDT, ETHUSDT\), got SOLUSDT"):
        okx.base_per_amount("SOLUSDT", "linear")
    with pytest.raises(ValueError, match=r"^a symbol OKX lists as BASE-QUOTE, .* got BTCXYZ$"):
        okx.symbol("BTCXYZ", "spot")


def test_swap_amounts_become_base_currency_and_other_instruments_rows_are_left_out(tmp_path: Path) -> None:
    t, local = 1723161600000000, 1723161600000500
    book = [
        f"okex-swap,BTC-USDT-SWAP,{t},{local},true,bid,61000.1,3",
        f"okex-swap,BTC-USDT-SWAP,{t},{local},true,ask,61000.2,1.7",
        f"okex-swap,ETH-USDT-SWAP,{t},{local},true,bid,2600.1,40",  # another instrument of the same exchange
        f"okex-swap,BTC-USDT-SWAP,{t + 100_000},{local + 100_000},false,bid,61000.1,0.33",
    ]
    trades = [f"okex-swap,BTC-USDT-SWAP,{t + 150_000},{local + 150_000},987654,sell,61000.1,2.5"]
    paths = [
        write_gzip(tmp_path / f"okex-swap_{kind}_2024-08-09_BTC-USDT-SWAP.csv.gz",
                   HEADERS[kind] + b"\n" + "\n".join(lines).encode() + b"\n")
        for kind, lines in ((BOOK, book), (TRADES, trades))
    ]  # fmt: skip
    result = convert_files(paths)
    assert (result.venue, result.market, result.symbol) == ("okx", "linear", "BTCUSDT")
    rows = result.rows
    kind = rows["ev"] & EVENT_KIND_MASK
    snapshot = rows[kind == DEPTH_SNAPSHOT_EVENT]
    assert sorted(snapshot["qty"].tolist()) == sorted([float("3") * 0.01, float("1.7") * 0.01])
    assert rows[kind == TRADE_EVENT]["qty"].tolist() == [float("2.5") * 0.01]
    assert float("0.33") * 0.01 in rows["qty"].tolist()
    assert result.reads[0].other_symbols == 1
