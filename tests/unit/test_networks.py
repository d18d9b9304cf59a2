"""Two networks per venue: the market data a dry run and a recording read (``data_network``, the real
market by default) and the orders ``arb live`` sends (``network``, testnet by default), with ``arb live``
reading the market data of the network its orders go to. Resolved here from the shipped files, without
a network, as the commands resolve them; ``arb check`` prints both."""

from __future__ import annotations

from pathlib import Path

import pytest

from arb.cli import main
from arb.config import load_config
from arb.errors import ConfigError
from arb.testing.configs import write_config_files
from tests.support.captures import ROOT

SHIPPED = ROOT / "config" / "arbitrage.toml"

# The shipped files' URLs, written out: what each command must reach on the shipped configuration.
MAINNET_DATA = {
    "binance": (
        ("wss://stream.binance.com:9443/stream", "wss://stream.binance.com:443/stream",
         "wss://data-stream.binance.vision/stream"),
        "https://api.binance.com",
    ),
    "bybit": (("wss://stream.bybit.com/v5/public/spot",), "https://api.bybit.com"),
}  # fmt: skip
TESTNET = {  # ws, rest, ws_private
    "binance": (
        ("wss://stream.testnet.binance.vision/stream",),
        "https://testnet.binance.vision",
        "wss://ws-api.testnet.binance.vision/ws-api/v3",
    ),
    "bybit": (
        ("wss://stream-testnet.bybit.com/v5/public/spot",),
        "https://api-testnet.bybit.com",
        "wss://stream-testnet.bybit.com/v5/private",
    ),
}


def test_the_shipped_dry_run_and_recording_read_mainnet_and_live_trades_and_reads_testnet() -> None:
    config = load_config(SHIPPED)
    # arb dry-run --live-data and arb record: the feeds read each venue's data endpoints
    for venue in config.venues:
        ws, rest = MAINNET_DATA[venue.name]
        assert (venue.data_network, venue.data_endpoints.ws, venue.data_endpoints.rest) == ("mainnet", ws, rest)
        assert venue.describe_endpoints() == (
            f"{venue.name} spot: market data from mainnet ({ws[0]}"
            + (f" (failover: {', '.join(ws[1:])})" if len(ws) > 1 else "")
            + f", REST {rest}); no orders"
        )
    # arb live: orders and the market data it prices them on, both of the testnet
    live = config.as_traded()
    for venue in live.venues:
        ws, rest, private = TESTNET[venue.name]
        assert (venue.network, venue.endpoints.rest, venue.endpoints.ws_private) == ("testnet", rest, private)
        assert (venue.data_network, venue.data_endpoints.ws, venue.data_endpoints.rest) == ("testnet", ws, rest)
        assert venue.describe_endpoints(private=True) == (
            f"{venue.name} spot: orders to testnet (REST {rest}, orders and fills {private}); "
            f"market data from testnet ({ws[0]}, REST {rest})"
        )
        # the banner of real orders names the orders' network's market data, whichever copy it is asked of
        assert config.venues[venue.name == "bybit"].describe_endpoints(private=True) == venue.describe_endpoints(
            private=True
        )


def test_arb_check_names_both_networks_of_each_venue(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--config", str(SHIPPED)]) == 0
    out = capsys.readouterr().out.splitlines()
    for name in ("binance", "bybit"):
        data_ws = MAINNET_DATA[name][0][0]
        ws, rest, _ = TESTNET[name]
        at = next(i for i, line in enumerate(out) if line.startswith(f"  {name}: spot, "))
        assert out[at + 1] == (
            f"    dry-run --live-data, record: market data from mainnet ({data_ws}); set data_network to change it"
        )
        assert out[at + 2] == (
            f"    live: orders to testnet ({rest}), market data from testnet ({ws[0]}); set network to change both"
        )


def test_live_reads_the_market_data_of_its_orders_network_whatever_data_network_says(tmp_path: Path) -> None:
    config = load_config(write_config_files(tmp_path, binance_overrides={"network": "demo", "data_network": "testnet"}))
    assert config.venue("binance").data_endpoints.ws == TESTNET["binance"][0]  # the dry run: as written
    traded = config.as_traded().venue("binance")
    assert traded.data_network == traded.network == "demo"
    assert traded.data_endpoints == traded.endpoints and traded.endpoints.rest == "https://demo-api.binance.com"
    assert config.as_traded().as_traded() == config.as_traded()


def test_a_venue_file_without_data_network_loads_with_a_stated_meaning(tmp_path: Path) -> None:
    # written before the key existed: mainnet's data where the file says where mainnet is ...
    config = load_config(write_config_files(tmp_path / "a", binance_overrides={"data_network": None}))
    assert (config.venue("binance").network, config.venue("binance").data_network) == ("testnet", "mainnet")
    assert config.venue("binance").data_endpoints.ws == MAINNET_DATA["binance"][0]
    # ... and its own network's in a file with no mainnet table (one written for a fake venue, say)
    path = write_config_files(tmp_path / "b", binance_overrides={"data_network": None})
    file = tmp_path / "b" / "binance.toml"
    text = file.read_text()
    own = '\n[endpoints.spot.local]\nws = ["ws://127.0.0.1:9/stream"]\nrest = "http://127.0.0.1:9"\n'
    text = text[: text.index("\n[endpoints.")] + own + text[text.index("\n[fees]") :]
    file.write_text(text.replace('network = "testnet"', 'network = "local"'))
    venue = load_config(path).venue("binance")
    assert (venue.network, venue.data_network, venue.data_endpoints.ws) == (
        "local",
        "local",
        ("ws://127.0.0.1:9/stream",),
    )


def test_a_data_network_without_its_table_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(write_config_files(tmp_path, bybit_overrides={"data_network": "paper"}))
    text = str(raised.value)
    assert "bybit.toml" in text and "data_network" in text and '"mainnet", "testnet", "demo"' in text
