"""``arb record`` beside ``arb dry-run --live-data`` on one machine, from one configuration (one
``[ops] port``), as real processes against the fake venues: the first serves on the configured port,
the second finds it taken, says so in one line at start and serves on a free port; each writes where
it serves into its own folder, and ``arb status`` answers about each, never one for the other.

The configuration keeps the shipped networks (orders on testnet, market data from mainnet) with the
mainnet tables pointed at the fakes and the testnet ones at a closed local port: both processes read
the data network's endpoints."""

from __future__ import annotations

import datetime as dt
import json
import signal
import socket
from pathlib import Path
from typing import Any

from arb.ops.address import read_address
from arb.sim.binance.public import FakeBinanceVenue
from arb.sim.bybit.public import FakeBybitVenue
from arb.testing.configs import write_config_files
from tests.support.live_rig import arb_process, exited, until
from tests.support.processes import run_arb
from tests.support.scenario_days import Book, write_scenario

DAY = dt.date(2024, 5, 6)
CLOSED = "127.0.0.1:9"  # the testnet tables: never dialled (a connection there would be refused)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tables(fake: Any, path: str) -> dict[str, Any]:
    testnet = {"ws": [f"ws://{CLOSED}{path}"], "rest": f"http://{CLOSED}"}
    return {"endpoints": {"spot": {"mainnet": {"ws": fake.ws_urls, "rest": fake.rest_url}, "testnet": testnet}}}


async def _status(config: Path, *more: str) -> tuple[int, str]:
    rc, out, _ = await run_arb("status", "--config", str(config), "--liveness", "--timeout", "10s", *more, merged=True)
    return rc, out


async def test_a_recorder_and_a_dry_run_on_one_port_each_serve_and_arb_status_finds_each(tmp_path: Path) -> None:
    book = Book(bids={59990.0: 2.0}, asks={60000.0: 2.0})
    binance_file, bybit_file = write_scenario(tmp_path / "market", DAY, book, book, [], duration_ms=2000)
    port = _free_port()
    async with (
        FakeBinanceVenue(binance_file, market="spot", tick_size="0.01", lot_size="0.00001") as binance,
        FakeBybitVenue(bybit_file, market="spot") as bybit,
    ):
        config = write_config_files(
            tmp_path / "config",
            binance_overrides=_tables(binance, "/stream"),
            bybit_overrides=_tables(bybit, "/v5/public/spot"),
            arbitrage_overrides={"ops": {"enabled": True, "port": port}, "alerts": {"enabled": False}},
        )
        recordings, paper = tmp_path / "config" / "recordings", tmp_path / "config" / "paper"
        rec_out, dry_out = tmp_path / "record", tmp_path / "dry-run"
        async with arb_process(rec_out, {}, "record", "--config", str(config), "--status-every", "1h") as recorder:
            await until(lambda: read_address(recordings) is not None, recorder, rec_out, 60)
            async with arb_process(dry_out, {}, "dry-run", "--live-data", "--config", str(config)) as dry_run:
                await until(lambda: read_address(paper) is not None, dry_run, dry_out, 120)
                await binance.wait_for_subscription("btcusdt@depth@100ms", count=2)  # both read mainnet's
                await bybit.wait_for_subscription("orderbook.50.BTCUSDT", count=2)
                first, second = read_address(recordings), read_address(paper)
                assert first is not None and second is not None
                # the recorder serves where the configuration says; the dry run said at start it could not
                assert (first.url, first.pid, first.mode) == (f"http://127.0.0.1:{port}", recorder.pid, "record")
                assert (second.pid, second.mode) == (dry_run.pid, "dry-run") and second.url != first.url
                said = (dry_out / "stderr").read_text() + (dry_out / "stdout").read_text()
                taken = [line for line in said.splitlines() if "is taken" in line]
                assert taken == [
                    f"[ops] port {port} on 127.0.0.1 is taken by another process (arb status --url "
                    f"http://127.0.0.1:{port} says which): this arb dry-run serves on {second.url}/ instead; "
                    "arb status finds it"
                ]
                assert f"health: {second.url}/healthz" in said
                assert "is taken" not in (rec_out / "stderr").read_text() + (rec_out / "stdout").read_text()

                # arb status, each process from its own folder: the answer is that process's
                for folder, address in ((recordings, first), (paper, second)):
                    rc, out = await _status(config, "--state-dir", str(folder), "--json")
                    body = json.loads(out)
                    assert rc in (0, 1), out  # alive, or starting: answering either way
                    assert (body["pid"], body["run_id"]) == (address.pid, address.run_id)
                # and from the configuration alone, both, each at its own address
                rc, out = await _status(config)
                assert rc in (0, 1), out
                heads = [line for line in out.splitlines() if line.startswith("arb ")]
                assert len(heads) == 2, out  # the dry run's folder is asked before the recorder's
                assert f" at {second.url}: " in heads[0] and f" at {first.url}: " in heads[1], out

                dry_run.send_signal(signal.SIGINT)
                await exited(dry_run)
            assert read_address(paper) is None  # a clean stop takes its address away
            recorder.send_signal(signal.SIGINT)
            await exited(recorder)  # (exit 1: the fakes played no market, which the recorder says)
        assert read_address(recordings) is None
        rc, out = await _status(config)
        assert rc == 69 and out.startswith("arb: NOT RUNNING (no arb record, dry-run or live of ")
