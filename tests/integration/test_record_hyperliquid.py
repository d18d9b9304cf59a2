"""``arb record`` of Hyperliquid through the fake venue, then ``arb convert --venue hyperliquid``: the recording is
in the collector format, each frame as it came (the info endpoint's book too), and converts with arb's own
normalizer into the book the venue ended with, through a dropped connection. A run needs two venues, so
Bybit's spot sample plays beside it.
"""

from __future__ import annotations

import asyncio
import gzip
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from arb.cli import main
from arb.config import load_config
from arb.live.record import RecordReport
from arb.sim.bybit.public import FakeBybitVenue
from arb.sim.hyperliquid.public import FakeHyperliquidVenue
from arb.sim.options import VenueOptions
from arb.testing.configs import local_endpoints, write_config_files
from connectors.common.normalizer import SyncState
from tests.integration.test_feeds_bybit import SPOT_SAMPLE
from tests.integration.test_feeds_hyperliquid import hyperliquid_recording
from tests.integration.test_record_okx import FeedsWatcher, assert_the_venues_book
from tests.support.feed_rig import TIMEOUT_S

STREAM = "l2Book:BTC"


async def _record(tmp_path: Path, drop_at: int | None) -> tuple[RecordReport, Any, int]:
    source = hyperliquid_recording(tmp_path / "hyperliquid.gz")
    async with (
        asyncio.timeout(TIMEOUT_S),
        FakeBybitVenue(SPOT_SAMPLE, market="spot", options=VenueOptions(max_frames=40)) as bybit,
        FakeHyperliquidVenue(source) as hyperliquid,
    ):
        feed = {"ping_interval_ms": 600_000, "stale_after_ms": 600_000, "reconnect_after_stale_ms": 1_200_000}
        config = load_config(write_config_files(
            tmp_path / "config",
            bybit_overrides=local_endpoints(bybit.ws_urls, bybit.rest_url),
            hyperliquid_overrides={**local_endpoints(hyperliquid.ws_urls, hyperliquid.rest_url, market="linear"),
                                   "feed": feed},
            arbitrage_overrides={"strategy": {"venues": ["bybit", "hyperliquid"]}},
        ))  # fmt: skip
        if drop_at is not None:
            hyperliquid.faults.close(STREAM, at=drop_at, abrupt=True)
        watcher = FeedsWatcher()
        stop = asyncio.Event()
        task = watcher.record(config, tmp_path / "out", stop)
        try:
            feed_ = await watcher.began(task, "hyperliquid")
            normalizer = feed_.normalizers["BTCUSDT"]
            await hyperliquid.wait_for_subscription(STREAM)

            def at_the_venues() -> bool:
                synced = normalizer.status.state is SyncState.SYNCED
                return synced and normalizer.status.update_id == hyperliquid.book("BTC").update_id

            if drop_at is not None:
                await hyperliquid.advance_until(lambda f: f.stream == STREAM and f.stream_index == drop_at)
                await hyperliquid.wait_for_connections(2)
                await hyperliquid.wait_for_subscription(STREAM)
                await feed_.wait_until(at_the_venues)
            await hyperliquid.drain()
            await feed_.wait_until(at_the_venues)
            final = hyperliquid.book("BTC")
            connects = feed_.stats.connects
        finally:
            stop.set()
        report = await task
    return report, final, connects


@pytest.mark.parametrize("drop_at", [None, 12], ids=["clean", "dropped connection"])
async def test_hyperliquid_recorded_converts_to_the_venues_book(tmp_path: Path, drop_at: int | None) -> None:
    report, final, connects = await _record(tmp_path, drop_at)
    assert connects == (1 if drop_at is None else 2)
    files = [p for p in report.files if p.parent.name == "hyperliquid_linear"]
    assert len(files) == 1 and files[0].name.startswith("btc")
    with gzip.open(files[0]) as lines:
        first = lines.readline()
    assert first[19:20] == b" " and first[:19].isdigit()  # <19-digit receive ns> <payload>
    out = tmp_path / "btc.npz"
    assert main(["convert", "--venue", "hyperliquid", "-o", str(out), "-q", *map(str, files)]) == 0
    with np.load(out.with_name("btc_eod.npz")) as eod:
        rows = eod["rows"] if "rows" in eod else eod[eod.files[0]]
    assert_the_venues_book(rows, final)
