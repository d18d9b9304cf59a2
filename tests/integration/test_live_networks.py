"""``arb live`` reads the market data of the network its orders go to, never ``data_network`` (the dry
run's and the recorder's): a real ``arb live`` whose venue files send orders to the fake venues
(``network = "local"``) and name mainnet as the data network, mainnet's tables pointed at two decoy
fake venues, subscribes to the books of the venues its orders go to, never dials a decoy, and says so
in its first lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from arb.sim.binance.public import FakeBinanceVenue
from arb.sim.bybit.public import FakeBybitVenue
from tests.support.live_rig import arb_live, interrupted, standing_pair, standing_recordings, until


async def test_arb_live_prices_on_its_orders_network_whatever_data_network_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoy_files = standing_recordings(tmp_path / "decoys")
    async with (
        standing_pair(tmp_path, monkeypatch, None) as (binance, bybit, config, keys),
        FakeBinanceVenue(decoy_files[0], market="spot") as decoy_binance,
        FakeBybitVenue(decoy_files[1], market="spot") as decoy_bybit,
    ):
        for name, decoy in (("binance", decoy_binance), ("bybit", decoy_bybit)):
            file = config.parent / f"{name}.toml"
            text = file.read_text().replace('data_network = "local"', 'data_network = "mainnet"')
            mainnet = "\n[endpoints.spot.mainnet]\n"
            head, rest = text.split(mainnet, 1)
            table_end = rest.index("\n[")
            ws = ", ".join(f'"{url}"' for url in decoy.ws_urls)
            file.write_text(f'{head}{mainnet}ws = [{ws}]\nrest = "{decoy.rest_url}"\n{rest[table_end:]}')
        out = tmp_path / "live"
        async with arb_live(config, out, keys) as process:

            def subscribed_somewhere() -> bool:
                theirs = binance.subscriber_count("btcusdt@depth@100ms") and bybit.subscriber_count(
                    "orderbook.50.BTCUSDT"
                )
                decoys = decoy_binance.stats.connections_accepted + decoy_bybit.stats.connections_accepted
                return bool(theirs or decoys)

            watched = (binance, bybit, decoy_binance, decoy_bybit)
            await until(subscribed_somewhere, process, out, 60, *watched)
            assert decoy_binance.stats.connections_accepted == decoy_bybit.stats.connections_accepted == 0
            assert decoy_binance.stats.rest_requests == []
            stderr = await interrupted(process, out)
    said = stderr + (out / "stdout").read_text()
    for fake, name in ((binance, "binance"), (bybit, "bybit")):
        line = next(line for line in said.splitlines() if line.startswith(f"{name} spot: orders to local ("))
        assert line.endswith(f"; market data from local ({fake.ws_urls[0]}, REST {fake.rest_url})")
