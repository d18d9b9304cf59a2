"""OKX's REST answers: instrument rules in arb's units, and the funding-rate history client against a
server on 127.0.0.1 (port 0)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from arb.errors import FeedError
from arb.events import NS_PER_MS
from connectors.common.history import Answer, HistoryGetter
from connectors.okx.history import OkxFundingHistoryClient, classify
from connectors.okx.instruments import parse_rules, rules_table
from connectors.okx.urls import inst_id, symbol_of

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REST = json.loads((FIXTURES / "okx_rest_samples.json").read_text())
HOUR_MS = 3_600_000


def test_symbols_map_to_instrument_ids_and_back() -> None:
    assert inst_id("BTCUSDT", "spot") == "BTC-USDT" and inst_id("btcusdt", "linear") == "BTC-USDT-SWAP"
    assert inst_id("ETHUSDC", "spot") == "ETH-USDC" and symbol_of("ETH-USDT-SWAP") == "ETHUSDT"
    with pytest.raises(ValueError, match="quote currency"):
        inst_id("BTCXYZ", "spot")


def test_swap_lot_and_minimum_become_base_currency_by_the_contract_value() -> None:
    rules = parse_rules((FIXTURES / "okx_instruments_swap.json").read_bytes())
    assert sorted(rules) == ["BTCUSDT", "ETHUSDT"]  # the inverse BTC-USD-SWAP is no arb symbol
    btc = rules["BTCUSDT"]
    assert (btc.contract_size, btc.lot_size, btc.min_qty, btc.tick_size) == (
        Decimal("0.01"), Decimal("0.0001"), Decimal("0.0001"), Decimal("0.1"))  # fmt: skip
    assert rules["ETHUSDT"].min_qty == Decimal("0.001") and btc.live and btc.market == "linear"


def test_spot_rules_are_the_venue_rules_the_executors_compare() -> None:
    table = rules_table(json.dumps(REST["instruments_spot"]).encode(), ["BTCUSDT", "SOLUSDT"])
    assert table == {"BTCUSDT": {"tick_size": ("0.1", "price"), "lot_size": ("0.00000001", "base"),
                                 "min_qty": ("0.00001", "base"), "min_notional": ("0", "quote")}}  # fmt: skip
    with pytest.raises(ValueError, match="51001"):
        parse_rules(b'{"code":"51001","msg":"Instrument ID doesn\'t exist.","data":[]}')


def answer(status: int, body: Any, headers: dict[str, str] | None = None) -> Answer:
    text = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Answer(status, headers or {}, text, 0)


def test_classify_waits_on_rate_limits_retries_busy_answers_and_stops_on_the_rest() -> None:
    assert classify(answer(200, REST["funding_history"])).kind == "ok"
    assert classify(answer(429, {"code": "50011", "msg": "Too Many Requests"}, {"Retry-After": "2"})).wait_s == 2.0
    assert classify(answer(200, {"code": "50011", "msg": "Rate limit reached", "data": []})).kind == "wait"
    assert classify(answer(503, b"<html>busy</html>")).kind == "retry"
    assert classify(answer(200, {"code": "50026", "msg": "System error", "data": []})).kind == "retry"
    assert classify(answer(200, b'{"code":"0","da')).kind == "retry"
    assert classify(answer(400, {"code": "51001", "msg": "Instrument ID doesn't exist.", "data": []})).kind == "fatal"
    assert classify(answer(404, {"code": 404, "msg": "Not Found"})).kind == "fatal"


@asynccontextmanager
async def history_server(entries: list[tuple[int, str]], listed: bool = True) -> AsyncIterator[tuple[str, list[Any]]]:
    """OKX's funding history of BTC-USDT-SWAP on 127.0.0.1: ``entries`` (time ms, realized rate), served
    newest first 100 a page before ``after``; the requests' queries are logged."""
    seen: list[Any] = []

    async def history(request: web.Request) -> web.Response:
        seen.append(dict(request.query))
        after = int(request.query.get("after", "9" * 15))
        page = sorted((e for e in entries if e[0] < after), reverse=True)[: int(request.query.get("limit", "100"))]
        data = [{"instType": "SWAP", "instId": "BTC-USDT-SWAP", "fundingRate": "0.0009", "realizedRate": r,
                 "fundingTime": str(t), "method": "current_period"} for t, r in page]  # fmt: skip
        return web.json_response({"code": "0", "msg": "", "data": data})

    async def instruments(request: web.Request) -> web.Response:
        if not listed:
            return web.json_response({"code": "51001", "msg": "Instrument ID doesn't exist.", "data": []}, status=400)
        return web.Response(body=(FIXTURES / "okx_instruments_swap.json").read_bytes(), content_type="application/json")

    app = web.Application()
    app.router.add_get("/api/v5/public/funding-rate-history", history)
    app.router.add_get("/api/v5/public/instruments", instruments)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


async def waits(seconds: float) -> None:
    return None


async def test_history_pages_backwards_and_records_the_realized_rate() -> None:
    first = 1_700_000_000_000
    entries = [(first + k * 8 * HOUR_MS, f"0.000{k % 10}") for k in range(250)]
    async with history_server(entries) as (url, seen), aiohttp.ClientSession() as http:
        getter = HistoryGetter("okx", http, clock=lambda: 0, sleep=waits)
        client = OkxFundingHistoryClient(url, getter)
        assert await client.unlisted("BTCUSDT") is None
        records = await client.fetch(
            "BTCUSDT", (first + 8 * HOUR_MS) * NS_PER_MS, (first + 240 * 8 * HOUR_MS) * NS_PER_MS
        )
    assert [r.time_ns // NS_PER_MS for r in records] == [t for t, _ in entries[1:240]]
    assert records[0].rate == "0.0001" and records[-1].rate == "0.0009"
    times = [first + k * 8 * HOUR_MS for k in (240, 140, 40)]  # after: the end, then each page's oldest
    assert [q["after"] for q in seen] == [str(t) for t in times]


async def test_a_swap_okx_does_not_list_is_named() -> None:
    async with history_server([], listed=False) as (url, _), aiohttp.ClientSession() as http:
        client = OkxFundingHistoryClient(url, HistoryGetter("okx", http, clock=lambda: 0, sleep=waits))
        assert "does not list BTC-USDT-SWAP" in (await client.unlisted("BTCUSDT") or "")


async def test_a_refused_history_request_is_fatal() -> None:
    async with history_server([]) as (url, _), aiohttp.ClientSession() as http:
        client = OkxFundingHistoryClient(url + "/nowhere", HistoryGetter("okx", http, clock=lambda: 0, sleep=waits))
        with pytest.raises(FeedError) as raised:
            await client.fetch("BTCUSDT", 0, HOUR_MS * NS_PER_MS)
        assert not raised.value.retryable
