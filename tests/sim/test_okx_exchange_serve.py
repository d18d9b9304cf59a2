"""``python -m arb.sim.okx.serve``: the fake private OKX in a process of its own (as the benchmarks run a venue),
traded by ccxt's ``okx`` at the URLs it prints, stopped by closing its stdin. The rig is ``test_okx_exchange``'s.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import ccxt.async_support as ccxt

from tests.sim.test_okx_exchange import KEY, PASSPHRASE, SECRET, SWAP, TIMEOUT_S, okx_recording


async def test_the_served_venue_prints_its_urls_trades_and_stops_when_stdin_closes(tmp_path: Path) -> None:
    recording = okx_recording(tmp_path / "swap.gz", SWAP)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "arb.sim.okx.serve", "linear", "--recording", str(recording), "--key", KEY,
        "--secret", SECRET, "--passphrase", PASSPHRASE, "--balance", "USDT=100000", "--no-limits",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdin is not None and process.stdout is not None
    exchange = ccxt.okx({"apiKey": KEY, "secret": SECRET, "password": PASSPHRASE, "enableRateLimit": False,
                         "options": {"fetchMarkets": {"types": ["swap"]}, "defaultType": "swap"}})  # fmt: skip
    try:
        async with asyncio.timeout(TIMEOUT_S):
            urls = json.loads(await process.stdout.readline())
        assert (urls["code"], urls["bid"], urls["ask"]) == (10459, "59990", "60010")
        assert urls["ws_private"].endswith("/ws/v5/private") and urls["ws_base"].endswith("/ws/v5")
        exchange.urls["api"] = {"rest": urls["rest"], "ws": urls["ws_base"]}
        async with asyncio.timeout(TIMEOUT_S):
            await exchange.load_markets()
            placed = await exchange.create_order("BTC/USDT:USDT", "limit", "buy", 10, 60010, {"timeInForce": "IOC"})
            assert (await exchange.fetch_order(placed["id"], "BTC/USDT:USDT"))["filled"] == 10
    finally:
        await exchange.close()
        process.stdin.close()
        try:
            async with asyncio.timeout(TIMEOUT_S):
                code = await process.wait()
        except TimeoutError:  # it would not stop: never leave it behind
            process.kill()
            await process.wait()
            raise
    assert code == 0
