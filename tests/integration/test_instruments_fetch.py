"""The instrument lists fetched from the three fake venues on 127.0.0.1 (port 0), pointed at by configuration:
the common universe, a venue down named while the others are listed, Bybit's pages walked, and the kept lists
used when the venues cannot be reached."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from arb.config import load_config
from arb.scan.instruments import (
    CACHE_FOLDER,
    ListTarget,
    fetch_instruments,
    list_universe,
    list_universe_async,
    read_cache,
)
from arb.sim.binance.public import FakeBinanceVenue, SymbolSpec
from arb.sim.bybit.public import FakeBybitVenue
from arb.sim.ledger import SymbolRules
from arb.sim.okx.public import FakeOkxVenue
from arb.testing.configs import write_config_files

D = Decimal


@dataclass
class Fakes:
    binance: FakeBinanceVenue
    bybit: FakeBybitVenue
    okx: FakeOkxVenue

    def targets(self) -> list[ListTarget]:
        return [ListTarget(name, "linear", fake.rest_url) for name, fake in self.by_name().items()]

    def by_name(self) -> dict[str, Any]:
        return {"binance": self.binance, "bybit": self.bybit, "okx": self.okx}


@pytest.fixture
async def fakes(tmp_path: Path) -> AsyncIterator[Fakes]:
    # No market data: each fake replays an empty recording and serves its instruments only.
    empty = tmp_path / "no_frames.jsonl"
    empty.write_text("")
    binance = FakeBinanceVenue(empty, market="linear", specs={
        "BTCUSDT": SymbolSpec("0.10", "0.001", "100"),
        "1000PEPEUSDT": SymbolSpec("0.0000001", "1", "5", base_asset="1000PEPE", quote_asset="USDT"),
        "XRPUSDT": SymbolSpec("0.0001", "0.1", "5"),
    })  # fmt: skip
    pepe = SymbolRules.of("1000PEPEUSDT", tick_size="0.0000001", step_size="100", base="1000PEPE", quote="USDT")
    bybit = FakeBybitVenue(
        empty, market="linear", symbols=["BTCUSDT", "1000PEPEUSDT", "SOLUSDT"], instrument_rules=[pepe]
    )
    okx = FakeOkxVenue(empty, market="linear", symbols=["BTC-USDT-SWAP", "PEPE-USDT-SWAP", "SOL-USDT-SWAP"],
                       instruments={"PEPE-USDT-SWAP": {"ctVal": "10000000", "tickSz": "0.0000000001", "lotSz": "0.1",
                                                       "minSz": "0.1"}})  # fmt: skip
    async with AsyncExitStack() as stack:
        for fake in (binance, bybit, okx):
            await stack.enter_async_context(fake)
        yield Fakes(binance, bybit, okx)


def _config(folder: Path, urls: dict[str, str]) -> Any:
    # Venue files whose linear market data (REST) is each fake's.
    overrides = {
        name: {"market": "linear", "data_network": "local",
               "endpoints": {"linear": {"local": {"ws": ["ws://127.0.0.1:9/unused"], "rest": url}}}}
        for name, url in urls.items()
    }  # fmt: skip
    path = write_config_files(folder, binance_overrides=overrides["binance"], bybit_overrides=overrides["bybit"],
                              okx_overrides=overrides["okx"])  # fmt: skip
    return load_config(path, warn=False)


def _closed_port_url() -> str:
    # A port that refuses connections: bound, then closed.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


async def test_the_common_universe_of_three_fakes(fakes: Fakes, tmp_path: Path) -> None:
    config = _config(tmp_path, {n: f.rest_url for n, f in fakes.by_name().items()})
    # as arb scan --instruments calls it: from a command, no event loop running (the fakes' loop is this one)
    rows, problems = await asyncio.to_thread(list_universe, config, ["binance", "bybit", "okx"], ["linear"],
                                             refresh=True)  # fmt: skip
    assert problems == []
    by_symbol = {r["symbol"]: r for r in rows}
    assert sorted(by_symbol) == ["BTCUSDT", "PEPEUSDT", "SOLUSDT"]  # XRPUSDT is Binance's alone
    assert by_symbol["BTCUSDT"]["venues"] == ["binance", "bybit", "okx"]
    assert by_symbol["SOLUSDT"]["venues"] == ["bybit", "okx"]
    pepe = by_symbol["PEPEUSDT"]
    assert pepe["symbols"] == {"binance": "1000PEPEUSDT", "bybit": "1000PEPEUSDT", "okx": "PEPEUSDT"}
    assert pepe["multiplier"] == {"binance": "1000", "bybit": "1000", "okx": "1"}
    assert pepe["contract_size"]["okx"] == "10000000" and pepe["lot"]["okx"] == "1000000"
    assert by_symbol["BTCUSDT"]["min_notional"] == {"binance": "100", "bybit": "5", "okx": "0"}
    assert by_symbol["BTCUSDT"]["tick"] == {"binance": "0.1", "bybit": "0.1", "okx": "0.1"}
    kept = Path(config.backtest.recordings) / CACHE_FOLDER
    assert sorted(p.name for p in kept.iterdir()) == ["binance_linear.json", "bybit_linear.json", "okx_linear.json"]
    stored = json.loads((kept / "okx_linear.json").read_text())
    assert stored["venue"] == "okx" and stored["bodies"][0]["code"] == "0"  # the answer as the venue sent it


async def test_a_venue_down_is_named_with_its_url_and_the_others_are_listed(fakes: Fakes, tmp_path: Path) -> None:
    down = _closed_port_url()
    config = _config(tmp_path, {"binance": fakes.binance.rest_url, "bybit": down, "okx": fakes.okx.rest_url})
    rows, problems = await list_universe_async(config, ["binance", "bybit", "okx"], ["linear"], refresh=True,
                                               timeout_s=5.0)  # fmt: skip
    assert len(problems) == 1 and "\n" not in problems[0]
    assert problems[0].startswith(f"bybit linear: GET {down}/v5/market/instruments-info?category=linear")
    assert "[endpoints.linear.local] rest" in problems[0]
    assert {r["symbol"]: r["venues"] for r in rows} == {"BTCUSDT": ["binance", "okx"], "PEPEUSDT": ["binance", "okx"]}


async def test_bybit_linear_is_walked_page_by_page(fakes: Fakes, monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:  # fmt: skip
    monkeypatch.setattr("connectors.bybit.instruments.PAGE_LIMIT", 1)
    (found,) = await fetch_instruments([ListTarget("bybit", "linear", fakes.bybit.rest_url)], cache_dir=tmp_path)
    assert [i.symbol for i in found.instruments] == ["1000PEPEUSDT", "BTCUSDT", "SOLUSDT"]
    assert found.source == "fetched" and found.problem == ""
    assert len(json.loads((tmp_path / "bybit_linear.json").read_text())["bodies"]) == 3  # every page kept
    async with aiohttp.ClientSession() as http:  # the fake answers a symbol alone, and spot not at all
        url = fakes.bybit.rest_url + "/v5/market/instruments-info"
        async with http.get(url, params={"category": "linear", "symbol": "SOLUSDT"}) as answer:
            one = await answer.json()
        async with http.get(url, params={"category": "spot"}) as answer:
            other = await answer.json()
    assert [e["symbol"] for e in one["result"]["list"]] == ["SOLUSDT"]
    assert one["result"]["list"][0]["fundingInterval"] == 480
    assert other["retCode"] == 0 and other["result"]["list"] == []


async def test_the_kept_lists_stand_in_when_the_venues_cannot_be_reached(fakes: Fakes, tmp_path: Path) -> None:
    cache = tmp_path / "kept"
    fetched = await fetch_instruments(fakes.targets(), cache_dir=cache)
    assert [f.source for f in fetched] == ["fetched"] * 3
    offline = [ListTarget(t.venue, t.market, _closed_port_url()) for t in fakes.targets()]
    without_network = await fetch_instruments(offline, cache_dir=cache, refresh=False)
    assert [(f.source, f.problem) for f in without_network] == [("cache", "")] * 3
    assert [f.instruments for f in without_network] == [f.instruments for f in fetched]
    retried = await fetch_instruments(offline, cache_dir=cache, refresh=True, timeout_s=5.0)
    assert [f.source for f in retried] == ["cache"] * 3
    assert all(f.problem.startswith(f"{f.venue} linear: GET http://127.0.0.1:") and "listed from" in f.problem
               for f in retried)  # fmt: skip
    okx = read_cache(cache, "okx", "linear")
    assert okx is not None and {i.symbol: i.contract_size for i in okx.instruments}["PEPEUSDT"] == D(10_000_000)
    nothing = await fetch_instruments(offline[:1], cache_dir=tmp_path / "empty", timeout_s=5.0)
    assert nothing[0].instruments == () and nothing[0].source == "" and "binance linear" in nothing[0].problem
