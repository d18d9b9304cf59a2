"""The shipped sample's OKX third: generated from the real Binance half (see recordings/README.md).

The files are made by ``examples/generate_okx_sample.py``. What a user of the three-venue sample relies on:
the files convert with arb's own OKX normalizer, every ``prevSeqId`` chains and every checksum the
generator wrote is the one the book gives (no gap, no rebuild); the book stays on OKX's grid and never
crosses; the minutes are the Binance half's on one recorder clock; and the committed bytes are exactly what
the generator makes from the documented seed.
"""

from __future__ import annotations

import gzip
import itertools
from pathlib import Path

import msgspec
import numpy as np
import pytest

from arb.config import load_venue_config
from arb.events import BUY_EVENT, EVENT_KIND_MASK, LOCAL_EVENT, TRADE_EVENT
from arb.recording.convert import ConversionResult, convert_files
from connectors.common.record_files import LineReader
from examples.generate_okx_sample import DEFAULT_SEED, DEPTH, generate
from tests.support.captures import RECORDINGS, ROOT, SPOT_BTC

OKX = [RECORDINGS / "okx_spot" / "btcusdt_20240808.gz", RECORDINGS / "okx_spot" / "btcusdt_20240809.gz"]
OKX_CFG = load_venue_config(ROOT / "config" / "okx.toml", "okx")


@pytest.fixture(scope="module")
def okx_lines() -> list[tuple[int, bytes]]:
    return [item for path in OKX for item in LineReader(path)]


@pytest.fixture(scope="module")
def binance() -> ConversionResult:
    return convert_files(SPOT_BTC)


@pytest.fixture(scope="module")
def okx(binance: ConversionResult) -> ConversionResult:
    return convert_files(OKX, local_offset_ns=binance.local_offset_ns)


def test_okx_files_convert_with_every_sequence_and_checksum_whole(okx, okx_lines) -> None:
    assert (okx.venue, okx.market, okx.symbol) == ("okx", "spot", "BTCUSDT")
    stats = okx.stats
    # a checksum the book does not reproduce counts as a gap: none here
    assert (stats.gaps, stats.duplicates, stats.decode_errors, stats.resyncs) == (0, 0, 0, 0)
    assert (stats.unknown_streams, stats.dropped_unsynced) == (0, 0)
    assert stats.snapshots == 1 and okx.eod.synced and not okx.truncated

    decoded = [msgspec.json.decode(payload) for _, payload in okx_lines]
    acks = [m for m in decoded if m.get("event") == "subscribe"]
    books = [m for m in decoded if m.get("arg", {}).get("channel") == "books" and "data" in m]
    trades = [m for m in decoded if m.get("arg", {}).get("channel") == "trades" and "data" in m]
    assert {a["arg"]["channel"] for a in acks} == {"books", "trades"}
    assert len(acks) + len(books) + len(trades) == len(decoded) == stats.messages
    assert books[0]["action"] == "snapshot" and books[0]["data"][0]["prevSeqId"] == -1
    chain = [(b["data"][0]["prevSeqId"], b["data"][0]["seqId"]) for b in books]
    assert all(prev == before[1] for before, (prev, _) in itertools.pairwise(chain))
    assert all(b["data"][0]["checksum"] != 0 for b in books)  # 2024's OKX sent one with every message

    kinds = okx.rows["ev"] & EVENT_KIND_MASK
    local = (okx.rows["ev"] & LOCAL_EVENT) != 0
    assert int(((kinds == TRADE_EVENT) & local).sum()) == sum(len(t["data"]) for t in trades)


def test_okx_book_is_on_the_grid_never_crossed_and_as_deep_as_documented(okx, okx_lines) -> None:
    tick, lot = OKX_CFG.instrument.tick_size, OKX_CFG.instrument.lot_size
    snapshot = msgspec.json.decode(okx_lines[next(i for i, (_, p) in enumerate(okx_lines) if b'"snapshot"' in p)][1])
    assert len(snapshot["data"][0]["bids"]) == len(snapshot["data"][0]["asks"]) == DEPTH
    px = okx.rows["px"][(okx.rows["ev"] & EVENT_KIND_MASK) != TRADE_EVENT]
    qty = okx.rows["qty"]
    assert np.allclose(px / tick, np.round(px / tick), atol=1e-6)
    assert np.allclose(qty / lot, np.round(qty / lot), atol=1e-6)
    bids = okx.eod.rows["px"][(okx.eod.rows["ev"] & BUY_EVENT) != 0]
    asks = okx.eod.rows["px"][(okx.eod.rows["ev"] & BUY_EVENT) == 0]
    assert bids.max() < asks.min()


def test_okx_covers_the_binance_minutes_on_one_clock(okx, binance) -> None:
    span = (int(binance.rows["local_ts"].min()), int(binance.rows["local_ts"].max()))
    mine = (int(okx.rows["local_ts"].min()), int(okx.rows["local_ts"].max()))
    assert abs(mine[0] - span[0]) < 5 * 10**9 and abs(mine[1] - span[1]) < 5 * 10**9
    assert (okx.rows["local_ts"] >= okx.rows["exch_ts"]).all()


def test_committed_okx_files_equal_a_fresh_regeneration(tmp_path: Path) -> None:
    # the content, line for line: gzip's level 9 (the committed files') is most of the regeneration's time
    paths = generate(tmp_path, DEFAULT_SEED, compresslevel=1)
    assert [p.name for p in paths] == [p.name for p in OKX]
    for fresh, committed in zip(paths, OKX, strict=True):
        assert gzip.decompress(fresh.read_bytes()) == gzip.decompress(committed.read_bytes()), committed
    other = generate(tmp_path / "other", DEFAULT_SEED + 1, max_binance_messages=2000)
    assert other[0].read_bytes() != OKX[0].read_bytes()
