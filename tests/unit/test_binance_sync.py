"""The Binance book-sync state machine on constructed update ids (rules from Binance's docs)."""

from __future__ import annotations

from dataclasses import dataclass

from connectors.binance.sync import BinanceBookSync, DiffAction, SnapshotOutcome
from connectors.common.normalizer import SyncState


@dataclass(frozen=True)
class Diff:
    first_update_id: int
    final_update_id: int
    prev_final_update_id: int = -1


def spot(U: int, u: int) -> Diff:
    return Diff(U, u)


def fut(U: int, u: int, pu: int) -> Diff:
    return Diff(U, u, pu)


def test_spot_buffers_until_snapshot_and_applies_the_bridging_diff_from_the_buffer() -> None:
    sync: BinanceBookSync[Diff] = BinanceBookSync(futures=False)
    assert sync.on_diff(spot(90, 100)) is DiffAction.BUFFER
    assert sync.on_diff(spot(101, 110)) is DiffAction.BUFFER  # bridges a snapshot at 105
    assert sync.on_diff(spot(111, 120)) is DiffAction.BUFFER
    outcome, apply, covered = sync.on_snapshot(105)
    assert outcome is SnapshotOutcome.SYNCED
    assert [d.first_update_id for d in apply] == [101, 111]
    assert covered == 1
    assert sync.state is SyncState.SYNCED and sync.last_update_id == 120
    assert sync.on_diff(spot(121, 125)) is DiffAction.APPLY


def test_spot_bridging_diff_after_snapshot() -> None:
    sync: BinanceBookSync[Diff] = BinanceBookSync(futures=False)
    sync.on_diff(spot(90, 100))
    outcome, apply, covered = sync.on_snapshot(104)
    assert (outcome, apply, covered) == (SnapshotOutcome.SYNCED, [], 1)
    assert sync.on_diff(spot(95, 104)) is DiffAction.COVERED
    assert sync.on_diff(spot(101, 110)) is DiffAction.APPLY
    assert sync.last_update_id == 110


def test_spot_snapshot_equal_to_last_buffered_u_needs_next_diff_to_start_at_u_plus_1() -> None:
    # The spot ETHUSDT capture has exactly this: lastUpdateId == the last buffered u.
    sync: BinanceBookSync[Diff] = BinanceBookSync(futures=False)
    sync.on_diff(spot(90, 100))
    sync.on_diff(spot(101, 110))
    outcome, apply, covered = sync.on_snapshot(110)
    assert (outcome, apply, covered) == (SnapshotOutcome.SYNCED, [], 2)
    assert sync.on_diff(spot(111, 115)) is DiffAction.APPLY


def test_spot_snapshot_older_than_buffer_is_too_old_and_keeps_the_buffer() -> None:
    sync: BinanceBookSync[Diff] = BinanceBookSync(futures=False)
    sync.on_diff(spot(200, 210))
    outcome, apply, _ = sync.on_snapshot(150)
    assert outcome is SnapshotOutcome.TOO_OLD and apply == []
    assert sync.state is SyncState.WAITING_SNAPSHOT
    assert len(sync.buffer) == 1
    outcome, apply, _ = sync.on_snapshot(205)
    assert outcome is SnapshotOutcome.SYNCED and [d.final_update_id for d in apply] == [210]


def test_spot_gap_duplicate_and_reorder_are_never_applied() -> None:
    sync: BinanceBookSync[Diff] = BinanceBookSync(futures=False)
    sync.on_snapshot(100)
    assert sync.on_diff(spot(101, 105)) is DiffAction.APPLY
    assert sync.on_diff(spot(101, 105)) is DiffAction.DUPLICATE  # duplicate
    # reordering: 111-115 arrives before 106-110
    assert sync.on_diff(spot(111, 115)) is DiffAction.GAP
    assert (sync.gap_expected, sync.gap_got) == (106, 111)
    assert sync.state is SyncState.OUT_OF_SYNC
    assert sync.on_diff(spot(106, 110)) is DiffAction.BUFFER  # the late one is held, not applied
    assert sync.last_update_id == 105


def test_spot_gap_inside_the_buffer_after_the_bridge() -> None:
    sync: BinanceBookSync[Diff] = BinanceBookSync(futures=False)
    sync.on_diff(spot(101, 110))
    sync.on_diff(spot(120, 130))  # 111..119 missing
    outcome, apply, _ = sync.on_snapshot(105)
    assert outcome is SnapshotOutcome.GAP_IN_BUFFER
    assert [d.final_update_id for d in apply] == [110]
    assert sync.state is SyncState.OUT_OF_SYNC
    assert [d.first_update_id for d in sync.buffer] == [120]


def test_futures_rules_use_pu_and_the_inclusive_bridge() -> None:
    sync: BinanceBookSync[Diff] = BinanceBookSync(futures=True)
    sync.on_diff(fut(90, 99, 80))
    sync.on_diff(fut(100, 110, 99))  # U <= 105 <= u: the bridge
    sync.on_diff(fut(111, 120, 110))
    outcome, apply, covered = sync.on_snapshot(105)
    assert outcome is SnapshotOutcome.SYNCED and covered == 1
    assert [d.final_update_id for d in apply] == [110, 120]
    assert sync.on_diff(fut(125, 130, 120)) is DiffAction.APPLY  # ids may jump; pu chains
    assert sync.on_diff(fut(131, 140, 129)) is DiffAction.GAP
    assert (sync.gap_expected, sync.gap_got) == (130, 129)


def test_futures_diff_ending_exactly_at_snapshot_bridges() -> None:
    sync: BinanceBookSync[Diff] = BinanceBookSync(futures=True)
    sync.on_diff(fut(100, 105, 99))
    outcome, apply, covered = sync.on_snapshot(105)
    assert outcome is SnapshotOutcome.SYNCED and covered == 0 and len(apply) == 1


def test_resume_continues_from_a_saved_update_id() -> None:
    sync: BinanceBookSync[Diff] = BinanceBookSync(futures=False)
    sync.resume(500)
    assert sync.on_diff(spot(501, 510)) is DiffAction.APPLY
    sync2: BinanceBookSync[Diff] = BinanceBookSync(futures=False)
    sync2.resume(500)
    assert sync2.on_diff(spot(505, 510)) is DiffAction.GAP


def test_buffer_is_bounded() -> None:
    sync: BinanceBookSync[Diff] = BinanceBookSync(futures=False, max_buffered=3)
    for i in range(5):
        sync.on_diff(spot(10 * i + 1, 10 * i + 10))
    assert len(sync.buffer) == 3 and sync.overflowed == 2
    outcome, _, _ = sync.on_snapshot(5)  # the diffs that bridged it were dropped
    assert outcome is SnapshotOutcome.TOO_OLD
