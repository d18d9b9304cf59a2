"""The real OKX feed against the fake OKX on 127.0.0.1, replaying a recording built from OKX's documented
order-book example.

No OKX capture ships with arb yet, so the recording is derived at test time (:func:`okx_recording`): the
docs' ``books`` snapshot, then updates that move it at random (seeded), chained by ``prevSeqId``/``seqId``
with the checksum of the book they leave, plus trades and, on linear, ``mark-price`` and ``funding-rate``.
As for Binance and Bybit, every batch the feed publishes is checked: while ``SYNCED`` the book equals, at
each ``seqId``, the book the same normalizer makes of the recording offline; otherwise it is empty.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from arb.errors import FeedError
from arb.events import (
    FUNDING_RATE_EVENT,
    LOCAL_EVENT,
    MARK_PRICE_EVENT,
    NS_PER_MS,
    SYNC_LOST_EVENT,
    TRADE_EVENT,
    EventArray,
    SyncReason,
)
from arb.sim.okx.public import FakeOkxVenue
from arb.sim.okx.wire import checksum
from arb.sim.options import VenueOptions
from connectors.common.feed_parts import FeedBatch
from connectors.common.normalizer import SyncState
from connectors.okx.feed import OkxFeed
from connectors.okx.normalize import OkxNormalizer
from tests.support.captures import of_kind
from tests.support.feed_rig import (
    LiveBook,
    ManualClock,
    Rig,
    drain,
    feed_rig,
    reference_books,
    running,
)

SPOT, SWAP = "BTC-USDT", "BTC-USDT-SWAP"
START_MS = 1_723_161_250_000
# The docs' example ("WS / Order book channel", Push Data Example: Full Snapshot), as [px, sz, "0", orders].
DOC_ASKS = [["8476.98", "415", "0", "13"], ["8477", "7", "0", "2"], ["8477.34", "85", "0", "1"],
            ["8477.56", "1", "0", "1"], ["8505.84", "8", "0", "1"], ["8506.37", "85", "0", "1"],
            ["8506.49", "2", "0", "1"], ["8506.96", "100", "0", "2"]]  # fmt: skip
DOC_BIDS = [["8476.97", "256", "0", "12"], ["8475.55", "101", "0", "1"], ["8475.54", "100", "0", "1"],
            ["8475.3", "1", "0", "1"], ["8447.32", "6", "0", "1"], ["8447.02", "246", "0", "1"],
            ["8446.83", "24", "0", "1"], ["8446", "95", "0", "3"]]  # fmt: skip
UPDATES = 50


def _price(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def okx_recording(
    path: Path, *, inst: str = SWAP, bad_checksum_at: int | None = None, reset_at: int | None = None,
    heartbeat_at: int | None = None, real_checksums: bool = True,
) -> Path:  # fmt: skip
    """A collector-format recording (``<ns> <json>`` lines, gzip) of ``inst``: the docs' snapshot, then
    :data:`UPDATES` seeded updates (update ``heartbeat_at`` empty with ``seqId == prevSeqId``, update
    ``reset_at`` restarting ``seqId`` lower, update ``bad_checksum_at`` with a checksum off by one), a trade
    every third update and on a swap ``mark-price`` every fifth and ``funding-rate`` at the start and
    after the funding time passed."""
    rng = random.Random(7)
    bids = {lv[0]: (lv[1], lv[3]) for lv in DOC_BIDS}
    asks = {lv[0]: (lv[1], lv[3]) for lv in DOC_ASKS}

    def sides() -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
        b = sorted(((p, s, n) for p, (s, n) in bids.items()), key=lambda lv: -float(lv[0]))
        a = sorted(((p, s, n) for p, (s, n) in asks.items()), key=lambda lv: float(lv[0]))
        return b, a

    def book(action: str, b: list[list[str]], a: list[list[str]], ts: int, prev: int, seq: int, check: int) -> Any:
        data = {"asks": a, "bids": b, "ts": str(ts), "checksum": check, "prevSeqId": prev, "seqId": seq}
        return {"arg": {"channel": "books", "instId": inst}, "action": action, "data": [data]}

    lines: list[tuple[int, Any]] = []
    ts, seq = START_MS, 123456
    first = checksum(*sides()) if real_checksums else 0
    lines.append((ts, book("snapshot", DOC_BIDS, DOC_ASKS, ts, -1, seq, first)))
    if inst.endswith("-SWAP"):
        lines.append((ts + 1, _funding(inst, ts + 1, START_MS + 2_000)))
    for k in range(UPDATES):
        ts += 100
        changed: dict[str, list[list[str]]] = {"b": [], "a": []}
        if k != heartbeat_at:
            for _ in range(rng.randint(1, 3)):
                _move(rng, bids, asks, changed)
        new_seq = seq if k == heartbeat_at else (17 if k == reset_at else seq + rng.randint(1, 4))
        check = checksum(*sides()) if real_checksums else 0
        check += 1 if k == bad_checksum_at else 0
        lines.append((ts, book("update", changed["b"], changed["a"], ts, seq, new_seq, check)))
        seq = new_seq
        if k % 3 == 0:
            best = sides()[1][0][0]
            trade = {"instId": inst, "tradeId": str(900 + k), "px": best, "sz": "2", "side": "buy" if k % 2 else "sell",
                     "ts": str(ts), "count": "1"}  # fmt: skip
            lines.append((ts + 1, {"arg": {"channel": "trades", "instId": inst}, "data": [trade]}))
        if inst.endswith("-SWAP") and k % 5 == 0:
            mark = {"instType": "SWAP", "instId": inst, "markPx": sides()[0][0][0], "ts": str(ts + 2)}
            lines.append((ts + 2, {"arg": {"channel": "mark-price", "instId": inst}, "data": [mark]}))
        if inst.endswith("-SWAP") and k == 30:
            lines.append((ts + 3, _funding(inst, ts + 3, START_MS + 2_000 + 4 * 3_600_000)))
    with gzip.open(path, "wb") as out:
        for ms, message in lines:
            out.write(
                f"{ms * NS_PER_MS + 3 * NS_PER_MS} ".encode() + json.dumps(message, separators=(",", ":")).encode()
            )
            out.write(b"\n")
    return path


def _funding(inst: str, ts: int, funding_ms: int) -> dict[str, Any]:
    entry = {"instId": inst, "instType": "SWAP", "fundingRate": "0.0001", "fundingTime": str(funding_ms),
             "nextFundingTime": str(funding_ms + 4 * 3_600_000), "nextFundingRate": "", "method": "current_period",
             "ts": str(ts)}  # fmt: skip
    return {"arg": {"channel": "funding-rate", "instId": inst}, "data": [entry]}


def _move(rng: random.Random, bids: dict[str, tuple[str, str]], asks: dict[str, tuple[str, str]],
          changed: dict[str, list[list[str]]]) -> None:  # fmt: skip
    # One level change: a new size, a level gone, or a level added inside the spread's neighbourhood.
    side, levels = ("b", bids) if rng.random() < 0.5 else ("a", asks)
    roll = rng.random()
    if roll < 0.5 and levels:
        price = rng.choice(sorted(levels))
        size = str(rng.randint(1, 500))
        levels[price] = (size, str(rng.randint(1, 9)))
        changed[side].append([price, size, "0", levels[price][1]])
    elif roll < 0.75 and len(levels) > 3:
        price = rng.choice(sorted(levels))
        del levels[price]
        changed[side].append([price, "0", "0", "0"])
    else:
        best_bid, best_ask = max(float(p) for p in bids), min(float(p) for p in asks)
        price = _price(best_bid - rng.randint(1, 40) * 0.01 if side == "b" else best_ask + rng.randint(1, 40) * 0.01)
        size = str(rng.randint(1, 500))
        levels[price] = (size, "1")
        changed[side].append([price, size, "0", "1"])


def offline_rows(path: Path, market: str, contract_value: float | None = 0.01) -> EventArray:
    """The rows the normalizer makes of the recording line by line (local side flagged, as converted rows)."""
    normalizer = OkxNormalizer("BTCUSDT", market, contract_value=contract_value if market == "linear" else None)
    with gzip.open(path) as lines:
        normalizer.on_lines(lines.read().splitlines(), lambda line: None)
    rows = normalizer.sink.take().copy()
    rows["ev"] |= LOCAL_EVENT
    return rows


@asynccontextmanager
async def okx_rig(
    tmp_path: Path, recording: Path, *, market: str = "linear", venue: dict[str, Any] | None = None,
    feed_config: dict[str, Any] | None = None, start: bool = True, symbols: tuple[str, ...] = ("BTCUSDT",),
    **feed_kwargs: Any,
) -> AsyncIterator[Rig]:  # fmt: skip
    """The fake OKX replaying ``recording`` and the real feed on ``symbols`` pointed at it (running unless
    ``start`` is false), through ``tests.support.feed_rig.feed_rig`` as the other venues."""
    async with feed_rig(
        tmp_path, FakeOkxVenue, OkxFeed, recording, market=market, symbols=symbols, venue_kwargs=venue,
        feed_config=feed_config, start=start, **feed_kwargs,
    ) as rig:  # fmt: skip
        yield rig


def book_stream(market: str) -> str:
    return f"books:{SWAP if market == 'linear' else SPOT}"


async def synced_at_venue(rig: Rig) -> None:
    """Wait until the book is synced at the venue's own latest ``seqId``."""
    await rig.feed.wait_until(
        lambda: rig.synced and rig.normalizer.status.update_id == rig.venue.book("BTCUSDT").update_id
    )


async def start_synced(rig: Rig, market: str = "linear", frames: int = 1) -> None:
    await rig.venue.wait_for_subscription(book_stream(market))
    await rig.venue.advance(frames)
    await rig.feed.wait_until(lambda: rig.synced)


async def release_all(rig: Rig) -> None:
    await rig.venue.drain()
    await synced_at_venue(rig)


def lost_reasons(batches: list[FeedBatch]) -> list[int]:
    return [int(b.rows["ival"][0]) for b in batches if len(b.rows) and b.rows["ev"][0] == SYNC_LOST_EVENT]


def subscribes(rig: Rig, stream: str) -> int:
    return sum(1 for e in rig.venue.stats.subscriptions if e.op == "subscribe" and e.ok and stream in e.streams)


# -- the book equals the recording's -----------------------------------------------------------------


async def test_swap_book_equals_the_offline_rows_at_every_seq_id_in_base_currency(tmp_path: Path) -> None:
    path = okx_recording(tmp_path / "swap.gz", heartbeat_at=10, reset_at=20)
    rows = offline_rows(path, "linear")
    reference = reference_books(rows)
    async with okx_rig(tmp_path, path, venue={"checksums": "real"}) as rig:
        await start_synced(rig)
        await release_all(rig)
        live = LiveBook(reference)
        batches = drain(rig.queue)
        live.apply(batches)
        normalizer = rig.normalizer
        assert normalizer.contract_value == 0.01  # from the instruments answer, before subscribing
        assert rig.venue.stats.rest_requests[0].path == "/api/v5/public/instruments"
        assert normalizer.stats.gaps == 0 and normalizer.checksums.mismatches == 0
        assert normalizer.checksums.verified >= UPDATES
    assert len(live.checked) >= UPDATES - 2  # the heartbeat repeats its seqId
    all_rows = live.all_rows
    assert np.allclose(of_kind(all_rows, TRADE_EVENT)["qty"], 0.02)  # 2 contracts of 0.01 BTC
    assert len(all_rows[all_rows["ev"] == MARK_PRICE_EVENT]) == UPDATES // 5
    funding = all_rows[all_rows["ev"] == FUNDING_RATE_EVENT]
    # nextFundingTime - fundingTime: of the REST answer at connect, then of the two pushes
    assert funding["order_id"].tolist() == [4 * 3_600_000 * NS_PER_MS] * 3


async def test_spot_trades_and_book_without_checksums(tmp_path: Path) -> None:
    path = okx_recording(tmp_path / "spot.gz", inst=SPOT, real_checksums=False)
    rows = offline_rows(path, "spot")
    async with okx_rig(tmp_path, path, market="spot") as rig:
        await start_synced(rig, "spot")
        await release_all(rig)
        live = LiveBook(reference_books(rows))
        live.apply(drain(rig.queue))
        assert rig.normalizer.checksums.absent >= UPDATES and rig.venue.stats.rest_requests == []
    assert len(live.checked) == UPDATES + 1
    trades = of_kind(live.all_rows, TRADE_EVENT)
    assert trades["qty"].tolist() == [2.0] * len(trades) and len(trades) == len(of_kind(rows, TRADE_EVENT))


# -- faults -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "gaps", "duplicates", "decode_errors"),
    [("drop", 1, 0, 0), ("duplicate", 0, 1, 0), ("swap", 1, 0, 0), ("malformed", 1, 0, 1)],
)
async def test_stream_faults_resubscribe_for_a_fresh_snapshot_on_the_same_connection(
    tmp_path: Path, fault: str, gaps: int, duplicates: int, decode_errors: int
) -> None:
    path = okx_recording(tmp_path / "swap.gz")
    reference = reference_books(offline_rows(path, "linear"))
    stream = book_stream("linear")
    async with okx_rig(tmp_path, path) as rig:
        getattr(rig.venue.faults, fault)(stream, at=20)
        await start_synced(rig)
        await rig.venue.advance_until(lambda f: f.stream == stream and f.stream_index == 25)
        await synced_at_venue(rig)
        await release_all(rig)
        live = LiveBook(reference)
        batches = drain(rig.queue)
        live.apply(batches)
        stats = rig.normalizer.stats
        assert (stats.gaps, stats.duplicates, stats.decode_errors) == (gaps, duplicates, decode_errors)
        assert rig.feed.stats.resubscribes == gaps and stats.resyncs == gaps and rig.feed.stats.connects == 1
        assert subscribes(rig, stream) == 1 + gaps and lost_reasons(batches) == [SyncReason.GAP] * gaps
    assert len(live.checked) >= UPDATES - 6


async def test_a_checksum_mismatch_loses_the_book_and_resubscribes(tmp_path: Path) -> None:
    path = okx_recording(tmp_path / "swap.gz", bad_checksum_at=15)
    async with okx_rig(tmp_path, path) as rig:
        await start_synced(rig)
        await release_all(rig)
        batches = drain(rig.queue)
        assert rig.normalizer.checksums.mismatches == 1 and rig.feed.stats.resubscribes == 1
        assert lost_reasons(batches) == [SyncReason.CHECKSUM] and rig.normalizer.stats.resyncs == 1


async def test_without_websocket_snapshots_the_book_is_rebuilt_by_rest(tmp_path: Path) -> None:
    path = okx_recording(tmp_path / "swap.gz")
    reference = reference_books(offline_rows(path, "linear"))
    stream = book_stream("linear")
    async with okx_rig(tmp_path, path, venue={"ws_snapshots": False}) as rig:
        rig.venue.faults.drop(stream, at=30)
        await rig.venue.wait_for_subscription(stream)
        await rig.venue.advance_until(lambda f: f.stream == stream and f.stream_index == 8)
        await synced_at_venue(rig)
        await release_all(rig)
        live = LiveBook(reference)
        batches = drain(rig.queue)
        live.apply(batches)
        normalizer = rig.normalizer
        assert normalizer.ws_snapshots == 0 and normalizer.rest_snapshots == 2  # start, then the gap
        assert rig.feed.stats.resubscribes == 0 and normalizer.stats.gaps == 1
        books = [r for r in rig.venue.stats.rest_requests if r.path == "/api/v5/market/books"]
        assert len(books) == 2 and books[0].params == {"instId": SWAP, "sz": "400", "source": "0"}
        last = rig.venue.book("BTCUSDT").update_id
    # the REST books cover whatever was released while they were on their way: fewer ids, the last one
    assert len(live.checked) >= 15 and live.checked[-1] == last


async def test_a_failed_rest_book_is_asked_again_after_the_backoff(tmp_path: Path) -> None:
    stream = book_stream("linear")
    async with okx_rig(tmp_path, okx_recording(tmp_path / "swap.gz"), venue={"ws_snapshots": False}) as rig:
        rig.venue.faults.rest_error(503, path="/api/v5/market/books")
        await rig.venue.wait_for_subscription(stream)
        await rig.venue.advance_until(lambda f: f.stream == stream and f.stream_index == 4)
        await synced_at_venue(rig)
        assert rig.feed.stats.snapshot_requests == 2 and rig.feed.stats.snapshot_failures == 1
        assert len(rig.sleeps.delays) == 1 and rig.normalizer.rest_snapshots == 1


async def test_a_closed_socket_reconnects_and_the_new_subscription_resyncs(tmp_path: Path) -> None:
    path = okx_recording(tmp_path / "swap.gz")
    stream = book_stream("linear")
    async with okx_rig(tmp_path, path) as rig:
        rig.venue.faults.close(stream, at=15, abrupt=True)
        await start_synced(rig)
        await rig.venue.advance_until(lambda f: f.stream == stream and f.stream_index == 15)
        await rig.venue.wait_for_connections(2)
        await rig.venue.wait_for_subscription(stream)
        await rig.feed.wait_until(lambda: rig.synced)
        await release_all(rig)
        assert rig.feed.stats.connects == 2 and rig.feed.stats.resubscribes == 0
        assert rig.normalizer.transitions[1].reason is SyncReason.DISCONNECT
        assert lost_reasons(drain(rig.queue)) == [SyncReason.DISCONNECT]


async def test_a_stalled_feed_is_stale_then_reconnected(tmp_path: Path) -> None:
    clock = ManualClock()
    feed_config = {"stale_after_ms": 1000, "reconnect_after_stale_ms": 3000}
    async with okx_rig(tmp_path, okx_recording(tmp_path / "swap.gz"), feed_config=feed_config, clock=clock) as rig:
        await rig.stale_after_running(start_synced, 10, clock, 1000)
        stale = drain(rig.queue)[-1]
        assert stale.stale and stale.state is SyncState.SYNCED and len(stale.rows) == 0
        await rig.renewed(clock, 2000 * NS_PER_MS, book_stream("linear"))
        await rig.venue.advance(5)
        await synced_at_venue(rig)
        assert not rig.feed.is_stale("BTCUSDT")
        assert lost_reasons(drain(rig.queue)) == [SyncReason.STALE]


async def test_okx_text_pings_are_sent_and_answered(tmp_path: Path) -> None:
    async with okx_rig(tmp_path, okx_recording(tmp_path / "swap.gz"), feed_config={"ping_interval_ms": 10}) as rig:
        await rig.venue.wait_for_subscription(book_stream("linear"))
        acks = len(rig.feed.subscriptions)
        await rig.feed.wait_until(lambda: rig.normalizer.stats.control_messages >= acks + 3)  # acks + 3 pongs
        assert rig.venue.stats.control_messages >= 4 and rig.venue.stats.ignored_messages == 0


async def test_a_rejected_subscription_is_fatal(tmp_path: Path) -> None:
    path = okx_recording(tmp_path / "spot.gz", inst=SPOT)
    async with okx_rig(tmp_path, path, market="spot", symbols=("BTCUSDT", "NOPEUSDT"), start=False) as rig:
        with pytest.raises(FeedError, match="60018") as raised:
            await rig.feed.run()
        assert not raised.value.retryable and rig.feed.stats.connects == 1


async def test_a_swap_the_venue_does_not_list_is_fatal_before_subscribing(tmp_path: Path) -> None:
    async with okx_rig(tmp_path, okx_recording(tmp_path / "swap.gz"), symbols=("NOPEUSDT",), start=False) as rig:
        with pytest.raises(FeedError, match="no contract value") as raised:
            await rig.feed.run()
        assert not raised.value.retryable and rig.venue.stats.subscriptions == []


async def test_a_refused_endpoint_fails_over(tmp_path: Path) -> None:
    path = okx_recording(tmp_path / "spot.gz", inst=SPOT)
    options = {"options": VenueOptions(endpoints=3)}
    async with okx_rig(
        tmp_path, path, market="spot", venue=options, feed_config={"failover_after": 1}, start=False
    ) as rig:
        rig.venue.faults.refuse(0, mode="drop")
        rig.venue.faults.refuse(1)
        async with running(rig.feed):
            await start_synced(rig, "spot")
            assert [c.endpoint for c in rig.venue.all_connections] == [2]
            assert rig.feed.stats.failovers == 2 and rig.feed.endpoint == 2
