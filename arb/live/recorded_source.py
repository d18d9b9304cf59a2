"""Replay recordings through the live path: each line goes through the venue's normalizer exactly as
a WebSocket frame would, and comes out as a batch for the engine.

Times follow the backtest so the two can be compared: every local time is shifted by the session's
common offset (the venues share the recorder's clock) plus the venue's extra ``latency.feed``; with
``[backtest] feed_latency = "constant"`` every row is instead delivered at its exchange time plus the
venue's ``latency.feed`` (as the backtest re-times it), so a row's batch is chosen by that time.

Every symbol's venues' batches are merged in local-time order (on a tie, in asset order: the first
symbol's first venue first) and grouped: the engine applies every batch of one local time before it
decides.

A recording the session's conversion found damaged (and kept, ``--allow-damaged``) is read the same
way here: the lost spans are skipped and the book is marked out of sync where they begin. What the
conversion found was said then; the normalizers here are quiet.

A day fetched from Tardis.dev or Bybit's archive has no frames to replay: its converted rows (the local
side, which is what the normalizers would have written) are delivered instead, one batch per local time,
with its source's clock shift.
"""

from __future__ import annotations

__all__ = ["ReplayBatch", "replay"]

import heapq
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from arb.config import AppConfig, VenueConfig
from arb.events import (
    EVENT_KIND_MASK,
    EXCH_EVENT,
    FUNDING_RATE_EVENT,
    FUNDING_SETTLED_EVENT,
    LOCAL_EVENT,
    SYNC_LOST_EVENT,
    SYNC_RESTORED_EVENT,
    EventArray,
    SyncReason,
    event_dtype,
)
from arb.recording.loader import DayData, Timeline
from arb.recording.npz import EodSnapshot
from arb.recording.replayed_funding import Funding
from arb.recording.venues import make_normalizer
from connectors.common.normalizer import SyncState, VenueNormalizer
from connectors.common.record_files import Cut, LineReader, Mark


@dataclass(frozen=True, slots=True)
class ReplayBatch:
    """One frame's rows for one venue (the fields of ``FeedBatch`` the engine reads)."""

    venue: int
    rows: EventArray
    local_ts: int
    state: SyncState
    stale: bool = False
    update_id: int = 0
    symbol: str = ""


def _settlement_rows(funding: Funding | None, feed_ns: int) -> list[EventArray]:
    # One FUNDING_SETTLED row per settlement of the session's schedule (what the backtest books) and
    # one FUNDING_RATE row per estimate of the coming funding (what the backtest's kernel reads), in
    # local time order.
    if funding is None:
        return []
    n_settle, n_est = len(funding), len(funding.est_ts)
    rows = np.zeros(n_settle + n_est, event_dtype)
    rows["ev"][:n_settle] = FUNDING_SETTLED_EVENT | EXCH_EVENT | LOCAL_EVENT
    rows["local_ts"][:n_settle] = funding.local_ts
    rows["px"][:n_settle] = funding.rate
    rows["qty"][:n_settle] = funding.mark
    rows["ival"][:n_settle] = funding.funding_ts
    rows["ev"][n_settle:] = FUNDING_RATE_EVENT | EXCH_EVENT | LOCAL_EVENT
    rows["local_ts"][n_settle:] = funding.est_ts
    rows["px"][n_settle:] = funding.est_rate
    rows["ival"][n_settle:] = funding.est_next
    rows["order_id"][n_settle:] = funding.est_interval
    rows["exch_ts"] = rows["local_ts"] - max(feed_ns, 1)
    order = np.argsort(rows["local_ts"], kind="stable")
    return [rows[k : k + 1] for k in order.tolist()]


def _venue_batches(
    symbol: str,
    v: int,
    venue: VenueConfig,
    days: list[DayData],
    initial: EodSnapshot | None,
    shift_of: Callable[[DayData], int],
    settlements: list[EventArray],
) -> Iterator[ReplayBatch]:
    # ``settlements``: the session's funding settlements and estimates (one row each, in time order),
    # delivered at their times in place of the stream's own, so the replay books and sees what the
    # backtest books and sees. ``shift_of(day)``: what to add to the day's local times.
    replay = _VenueReplay(symbol, v, venue, initial, settlements)
    previous: DayData | None = None
    for day in days:
        replay.shift = shift_of(day)
        if day.source == "recording" and previous is not None and previous.source != "recording":
            # after a day of another source the normalizer goes on from that day's end, as the conversion did
            replay.normalizer = _normalizer_after(venue, symbol, previous.eod)
        previous = day
        if day.source != "recording":
            yield from replay.converted_day(day)
        else:
            yield from replay.recorded_day(day)
    yield from replay.settle(np.iinfo(np.int64).max)


def _normalizer_after(venue: VenueConfig, symbol: str, eod: EodSnapshot | None) -> VenueNormalizer[Any]:
    # A fresh normalizer of the venue's stream, going on from a day's end state (None: from nothing)
    normalizer = make_normalizer(venue.name, venue.market, symbol, echo=False)
    if eod is not None:
        if eod.synced:
            normalizer.resume(eod.update_id, eod.market, eod.symbol)
        normalizer.perp.restore(eod.perp)  # as the conversion does: the funding at 00:00 is seen
        normalizer.restore_state(eod.venue_state)
    return normalizer


class _VenueReplay:
    # One venue's replay of one symbol, day after day (_venue_batches): its normalizer, the sync state
    # last delivered, the settlements still due and the lines lost since the last batch.

    def __init__(
        self, symbol: str, v: int, venue: VenueConfig, initial: EodSnapshot | None, settlements: list[EventArray]
    ) -> None:
        self.symbol = symbol
        self.v = v
        self.settlements = settlements
        self.due = [(int(row["local_ts"][0]), row) for row in reversed(settlements)]  # (time, row), earliest last
        self.normalizer = _normalizer_after(venue, symbol, initial)
        self.lost_at: list[int] = []
        self.shift = 0  # what to add to the current day's local times
        self.last_state = self.normalizer.status.state

    def lost(self, mark: Mark) -> None:
        # As the converter does: nothing is known of the book where lines were lost. Called between
        # lines; the rows go out as a batch of their own before the next line.
        normalizer = self.normalizer
        reason = SyncReason.DISCONNECT if isinstance(mark, Cut) else SyncReason.DAMAGED
        ts = mark.last_ts if isinstance(mark, Cut) else mark.last_good_ts
        ts = ts + self.shift if ts else normalizer.status.last_depth_local_ts
        normalizer.lose_sync(reason, ts)
        self.lost_at.append(ts)

    def batch(self, ts: int) -> Iterator[ReplayBatch]:
        # What the normalizer wrote since the last batch (its own funding rows dropped when the
        # session's are delivered), or its sync state if that changed
        self.lost_at.clear()
        normalizer = self.normalizer
        rows = normalizer.sink.take()
        if len(rows) and self.settlements:
            kinds = rows["ev"] & EVENT_KIND_MASK
            rows = rows[(kinds != FUNDING_SETTLED_EVENT) & (kinds != FUNDING_RATE_EVENT)]
        state = normalizer.status.state
        if len(rows) or state != self.last_state:
            yield ReplayBatch(self.v, rows, ts, state, False, normalizer.status.update_id, self.symbol)
        self.last_state = state

    def settle(self, until: int) -> Iterator[ReplayBatch]:
        # The settlements and estimates due by ``until``, a batch each
        due = self.due
        while due and due[-1][0] <= until:
            ts, row = due.pop()
            yield ReplayBatch(self.v, row, ts, self.last_state, False, self.normalizer.status.update_id, self.symbol)

    def converted_day(self, day: DayData) -> Iterator[ReplayBatch]:
        # A day without frames: the converted rows, as the normalizer would write them
        for ts, rows in _day_row_groups(day, self.shift):
            yield from self.settle(ts - 1)
            kinds = rows["ev"] & EVENT_KIND_MASK
            if self.settlements:
                rows = rows[(kinds != FUNDING_SETTLED_EVENT) & (kinds != FUNDING_RATE_EVENT)]
            for kind in kinds[(kinds == SYNC_LOST_EVENT) | (kinds == SYNC_RESTORED_EVENT)]:
                self.last_state = SyncState.SYNCED if kind == SYNC_RESTORED_EVENT else SyncState.OUT_OF_SYNC
            if len(rows):
                yield ReplayBatch(self.v, rows, ts, self.last_state, False, int(rows["ival"][-1]), self.symbol)

    def recorded_day(self, day: DayData) -> Iterator[ReplayBatch]:
        # A recorded day: its frames through the normalizer, a batch after each that wrote rows or moved
        # the sync state (most of a day's frames write neither: no batch is made for them)
        plan = day.findings.plan(str(day.recording))
        normalizer, lost_at, shift, due = self.normalizer, self.lost_at, self.shift, self.due
        sink, status = normalizer.sink, normalizer.status
        for local_ts, payload in LineReader(day.recording, skip=plan, keep_going=True, on_lost=self.lost):
            if lost_at:
                yield from self.batch(lost_at[-1])
            ts = local_ts + shift
            if due and due[-1][0] < ts:
                yield from self.settle(ts - 1)
            normalizer.decode(payload, ts)
            if sink.rows or status.state != self.last_state:
                yield from self.batch(ts)
        if lost_at:
            yield from self.batch(lost_at[-1])


def _day_row_groups(day: DayData, shift: int) -> Iterator[tuple[int, EventArray]]:
    # The local side of a converted day, processor flags cleared, local times shifted, grouped by local time.
    carry: EventArray | None = None
    for part in day.iter_parts():
        rows = part[(part["ev"] & LOCAL_EVENT) != 0].copy()
        rows["ev"] &= ~np.uint64(EXCH_EVENT | LOCAL_EVENT)
        rows["local_ts"] += shift
        if carry is not None:
            rows = np.concatenate([carry, rows])
        if not len(rows):
            continue
        last = rows["local_ts"][-1]
        keep = int(np.searchsorted(rows["local_ts"], last, side="left"))  # the last time may go on in the next part
        starts = np.flatnonzero(np.diff(rows["local_ts"][:keep])) + 1
        for group in np.split(rows[:keep], starts) if keep else []:
            yield int(group["local_ts"][0]), np.ascontiguousarray(group)
        carry = rows[keep:]
    if carry is not None and len(carry):
        yield int(carry["local_ts"][0]), np.ascontiguousarray(carry)


def _retimed(v: int, symbol: str, batches: Iterator[ReplayBatch], feed_ns: int, synced: bool) -> Iterator[ReplayBatch]:
    # Constant feed latency: every row arrives at exch_ts + feed_ns; regroup rows by that time.
    chunks = [b.rows for b in batches if len(b.rows)]
    if not chunks:
        return
    rows = np.concatenate(chunks)
    rows["local_ts"] = rows["exch_ts"] + max(feed_ns, 1)
    rows = rows[np.argsort(rows["local_ts"], kind="stable")]
    state = SyncState.SYNCED if synced else SyncState.WAITING_SNAPSHOT
    starts = np.flatnonzero(np.diff(rows["local_ts"])) + 1
    for group in np.split(rows, starts):
        kinds = group["ev"] & EVENT_KIND_MASK
        for kind in kinds[(kinds == SYNC_LOST_EVENT) | (kinds == SYNC_RESTORED_EVENT)]:
            state = SyncState.SYNCED if kind == SYNC_RESTORED_EVENT else SyncState.OUT_OF_SYNC
        yield ReplayBatch(v, np.ascontiguousarray(group), int(group["local_ts"][0]), state, symbol=symbol)


def _keyed(a: int, batches: Iterator[ReplayBatch]) -> Iterator[tuple[int, int, int, ReplayBatch]]:
    # (local time, asset, sequence, batch): unique sort keys for the merge (batches never compare).
    for i, batch in enumerate(batches):
        yield batch.local_ts, a, i, batch


def replay(
    config: AppConfig, session: Timeline, funding: list[Funding] | None = None
) -> Iterator[tuple[int, list[ReplayBatch]]]:
    """Every symbol's venues' batches for ``session``'s days, grouped by local time, in time order (asset
    ``a`` is venue ``a % n`` of symbol ``a // n``, ``n`` the run's venues).

    ``funding``: each asset's settlements (:func:`arb.recording.replayed_funding.funding_of`, what the backtest
    books), delivered in place of the stream's own settlement rows; None: the stream's as they come."""
    streams = []
    n = len(config.venues)
    for a, data in enumerate(session.assets):
        v = a % n
        venue = data.venue

        def shift_of(day: DayData, feed_ns: int = venue.latency.feed_ns) -> int:
            return session.shift_of(day) + feed_ns

        settlements = _settlement_rows(funding[a] if funding is not None else None, venue.latency.feed_ns)
        batches = _venue_batches(data.symbol, v, venue, data.days, data.initial, shift_of, settlements)
        if config.backtest.feed_latency == "constant":
            synced = data.initial is not None and data.initial.synced
            batches = _retimed(v, data.symbol, batches, venue.latency.feed_ns, synced)
        streams.append(_keyed(a, batches))
    merged = heapq.merge(*streams)
    for ts, group in itertools.groupby(merged, key=lambda item: item[0]):
        yield ts, [item[3] for item in group]
