"""OKX's book checksum and the prevSeqId/seqId machine: OKX's documented vectors and sequences."""

from __future__ import annotations

from dataclasses import dataclass

from connectors.common.normalizer import SyncState
from connectors.okx.checksum import LevelBook, checksum, checksum_text
from connectors.okx.sync import OkxBookSync, SnapshotOutcome, UpdateAction


@dataclass(frozen=True)
class Ids:
    prev_seq_id: int | None
    seq_id: int | None


# -- checksum ---------------------------------------------------------------------------------------


def test_the_documented_vector_is_the_signed_crc32_of_the_interleaved_levels() -> None:
    # OKX docs v5, Checksum, case 1: "3366.1:7:3366.8:9:3366:6:3368:8"
    bids, asks = [("3366.1", "7"), ("3366", "6")], [("3366.8", "9"), ("3368", "8")]
    assert checksum_text(bids, asks) == b"3366.1:7:3366.8:9:3366:6:3368:8"
    assert checksum(bids, asks) == -1881014294


def test_a_side_shorter_than_the_other_skips_its_missing_levels() -> None:
    # OKX docs v5, Checksum, case 2: "3366.1:7:3366.8:9:3368:8:3372:8"
    bids, asks = [("3366.1", "7")], [("3366.8", "9"), ("3368", "8"), ("3372", "8")]
    assert checksum_text(bids, asks) == b"3366.1:7:3366.8:9:3368:8:3372:8"
    assert checksum(bids, asks) == 831078360  # zlib.crc32 of that text, under 2**31: the same signed


def test_the_checksum_covers_25_levels_a_side_and_the_strings_as_sent() -> None:
    book = LevelBook()
    book.reset([[f"{100 - i}", "1", "0", "1"] for i in range(30)], [[f"{200 + i}", "2", "0", "1"] for i in range(30)])
    top = [(f"{100 - i}", "1") for i in range(25)], [(f"{200 + i}", "2") for i in range(25)]
    assert book.checksum() == checksum(*top)
    respelled = LevelBook()
    respelled.reset([["100.0", "1", "0", "1"]], [])
    plain = LevelBook()
    plain.reset([["100", "1", "0", "1"]], [])
    assert respelled.checksum() != plain.checksum()


def test_the_level_book_sorts_each_side_and_deletes_on_zero() -> None:
    book = LevelBook()
    book.reset([["10", "1", "0", "1"], ["12", "1", "0", "1"]], [["13", "1", "0", "1"]])
    book.apply([["11", "5", "0", "2"], ["12", "0", "0", "0"]], [["12.5", "3", "0", "1"]])
    assert book.bids(5) == [("11", "5"), ("10", "1")] and book.asks(5) == [("12.5", "3"), ("13", "1")]
    book.clear()
    assert not book.known and book.depth == (0, 0)


# -- the sequence -----------------------------------------------------------------------------------


def synced(seq: int = 10) -> OkxBookSync[Ids]:
    sync: OkxBookSync[Ids] = OkxBookSync()
    sync.on_snapshot(seq)
    return sync


def test_the_documented_sequence_applies_heartbeat_and_reset_lower() -> None:
    # OKX docs v5, Sequence ID example: snapshot 10; 10->15; no update 15->15; reset 15->3; 3->5.
    sync = synced(10)
    actions = [sync.on_update(Ids(p, s)) for p, s in [(10, 15), (15, 15), (15, 3), (3, 5)]]
    assert actions == [UpdateAction.APPLY] * 4 and sync.last_update_id == 5 and sync.synced


def test_a_missing_message_is_a_gap_and_the_book_buffers_for_a_rest_bridge() -> None:
    sync = synced(10)
    assert sync.on_update(Ids(10, 15)) is UpdateAction.APPLY
    assert sync.on_update(Ids(20, 25)) is UpdateAction.GAP
    assert (sync.state, sync.gap_expected, sync.gap_got) == (SyncState.OUT_OF_SYNC, 15, 20)
    assert sync.on_update(Ids(25, 30)) is UpdateAction.BUFFER and len(sync.buffer) == 2


def test_messages_already_applied_are_duplicates() -> None:
    sync = synced(10)
    sync.on_update(Ids(10, 15))
    sync.on_update(Ids(15, 20))
    assert sync.on_update(Ids(15, 20)) is UpdateAction.DUPLICATE  # the last one again
    assert sync.on_update(Ids(10, 15)) is UpdateAction.DUPLICATE  # an older one
    assert sync.on_update(Ids(20, 20)) is UpdateAction.APPLY and sync.synced  # a heartbeat


def test_a_rest_snapshot_bridges_the_first_update_with_prev_at_or_below_its_seq() -> None:
    sync: OkxBookSync[Ids] = OkxBookSync()
    for ids in [Ids(100, 104), Ids(104, 108), Ids(108, 112), Ids(112, 115)]:
        assert sync.on_update(ids) is UpdateAction.BUFFER
    outcome, apply, covered = sync.on_rest_snapshot(110)  # 104 and 108 are in it; 108 <= 110 < 112
    assert outcome is SnapshotOutcome.SYNCED and covered == 2
    assert [u.seq_id for u in apply] == [112, 115] and sync.last_update_id == 115
    assert sync.on_update(Ids(115, 120)) is UpdateAction.APPLY


def test_a_rest_snapshot_older_than_the_buffer_is_too_old() -> None:
    sync: OkxBookSync[Ids] = OkxBookSync()
    sync.on_update(Ids(100, 104))
    outcome, apply, _ = sync.on_rest_snapshot(90)
    assert outcome is SnapshotOutcome.TOO_OLD and apply == [] and sync.state is SyncState.WAITING_SNAPSHOT
    assert len(sync.buffer) == 1
    outcome, apply, _ = sync.on_rest_snapshot(102)
    assert outcome is SnapshotOutcome.SYNCED and [u.seq_id for u in apply] == [104]


def test_a_hole_after_the_bridge_is_a_gap_in_the_buffer() -> None:
    sync: OkxBookSync[Ids] = OkxBookSync()
    for ids in [Ids(100, 104), Ids(104, 108), Ids(110, 112)]:
        sync.on_update(ids)
    outcome, apply, _ = sync.on_rest_snapshot(102)
    assert outcome is SnapshotOutcome.GAP_IN_BUFFER and [u.seq_id for u in apply] == [104, 108]
    assert sync.state is SyncState.OUT_OF_SYNC and [u.seq_id for u in sync.buffer] == [112]


def test_with_an_empty_buffer_the_next_live_update_bridges_the_rest_snapshot() -> None:
    sync: OkxBookSync[Ids] = OkxBookSync()
    sync.on_rest_snapshot(50)
    assert sync.on_update(Ids(40, 48)) is UpdateAction.COVERED
    assert sync.on_update(Ids(48, 55)) is UpdateAction.APPLY and not sync.bridging


def test_history_without_sequence_ids_is_applied_and_left_to_the_checksum() -> None:
    sync: OkxBookSync[Ids] = OkxBookSync()
    assert sync.on_update(Ids(None, None)) is UpdateAction.UNSYNCED  # nothing can bridge it
    sync.on_snapshot(None)
    assert not sync.sequenced and sync.on_update(Ids(None, None)) is UpdateAction.APPLY
    sequenced = synced(10)
    assert sequenced.on_update(Ids(None, None)) is UpdateAction.GAP  # the ids vanished mid-stream
