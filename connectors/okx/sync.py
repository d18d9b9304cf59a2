"""OKX order-book synchronisation: the state machine, with no I/O and no rows.

The ``books`` channel chains its messages by sequence id (OKX docs v5, "WS / Order book channel",
Sequence ID): each message's ``prevSeqId`` is the ``seqId`` of the one before it, per instrument.

* A WebSocket ``snapshot`` (``prevSeqId`` -1) replaces the book and starts the chain.
* An ``update`` applies when its ``prevSeqId`` equals the last ``seqId``. That one rule covers the
  heartbeat OKX sends after about 60 s without change (``seqId == prevSeqId``, no levels) and the
  restart after maintenance (``seqId`` *lower* than ``prevSeqId``): the chain never has to grow.
* An update already applied (its ``seqId`` is the last one, or lies before it within the chain) is a
  duplicate and is dropped; anything else is a gap: out of sync until the book is rebuilt.
* While out of sync, updates are buffered (bounded), so that a REST snapshot can be bridged the way
  OKX's 2026 changelog prescribes for when the WebSocket sends no snapshot: buffered updates with
  ``seqId <= snapshot.seqId`` are covered, the first one applied must have
  ``prevSeqId <= snapshot.seqId < seqId``, the rest chain as above. A snapshot older than the first
  buffered update is too old; a hole after the bridge is a gap again.
* Messages from before sequence ids existed (2022 history: neither field) cannot be chained; they are
  applied as they come and the normalizer checks each against its checksum.

The checksum itself (a mismatch is a gap too) is checked by the normalizer over the book of wire
strings (:class:`~connectors.okx.checksum.LevelBook`); this machine only sees the ids.
"""

from __future__ import annotations

__all__ = ["OkxBookSync", "SeqIds", "SnapshotOutcome", "UpdateAction"]

from typing import Generic, Protocol, TypeVar

from connectors.common.book_sync import BookAction, BufferedBookSync, SnapshotOutcome
from connectors.common.normalizer import SyncState


class SeqIds(Protocol):
    """The sequence ids of one book update (``None``: the message has none, 2022 history)."""

    @property
    def prev_seq_id(self) -> int | None: ...
    @property
    def seq_id(self) -> int | None: ...


U = TypeVar("U", bound=SeqIds)


UpdateAction = BookAction
"""What to do with one update (``UNSYNCED``: not synced and without sequence ids, nothing can bridge it)."""


class OkxBookSync(BufferedBookSync[U], Generic[U]):
    """Decides, update by update, what may touch one instrument's book (see the module docstring).

    ``max_buffered`` bounds the buffer; when it overflows the oldest updates go (a REST snapshot is then
    checked against what is left, and asked again if it is too old). ``last_update_id`` is the last
    ``seqId`` applied (0 for a book without sequence ids).
    """

    __slots__ = ("sequenced",)

    def __init__(self, max_buffered: int = 10_000) -> None:
        super().__init__(max_buffered)
        self.sequenced = True
        """False while the book follows a stream without sequence ids (checked by checksum alone)."""
        # after a GAP: gap_expected, the prevSeqId continuity required (the last seqId applied), and gap_got,
        # the prevSeqId that came instead

    @property
    def bridging(self) -> bool:
        """True between a REST snapshot and the first update applied after it."""
        return self._bridging

    def resume(self, last_update_id: int) -> None:
        """Start synced at ``seqId`` ``last_update_id`` (the previous file's end); 0: no sequence ids."""
        super().resume(last_update_id)
        self.sequenced = last_update_id != 0

    def on_snapshot(self, seq_id: int | None) -> None:
        """A WebSocket snapshot replaces the book and starts the chain at its ``seqId`` (``None``: a
        message without sequence ids, the chain is the checksum's)."""
        self.state = SyncState.SYNCED
        self.sequenced = seq_id is not None
        self.last_update_id = seq_id if seq_id is not None else 0
        self._bridging = False
        self.buffer.clear()

    def on_update(self, update: U) -> UpdateAction:
        """Classify one live update; BUFFER and GAP keep it in the buffer (it may bridge a snapshot)."""
        if update.seq_id is None or update.prev_seq_id is None:
            if self.state is SyncState.SYNCED and not self.sequenced:
                return UpdateAction.APPLY
            if self.state is SyncState.SYNCED:  # ids vanished mid-stream: nothing chains it
                self._gap(update)
                return UpdateAction.GAP
            return UpdateAction.UNSYNCED
        if self.state is not SyncState.SYNCED:
            self._buffer(update)
            return UpdateAction.BUFFER
        if not self.sequenced:  # ids appear in a stream that had none: the chain starts here
            self.sequenced = True
            self.last_update_id = update.seq_id
            return UpdateAction.APPLY
        action = self._check(update)
        if action is UpdateAction.GAP:
            self._gap(update)
        return action

    def on_rest_snapshot(self, seq_id: int) -> tuple[SnapshotOutcome, list[U], int]:
        """Bridge a REST snapshot of ``seqId`` ``seq_id`` to the buffered updates.

        Returns the outcome, the buffered updates to apply after the snapshot's levels (in order) and
        how many buffered updates the snapshot covered (dropped).
        """
        self.sequenced = True
        return self._bridge(seq_id)

    def _gap(self, update: U) -> None:
        self.state = SyncState.OUT_OF_SYNC
        self._bridging = False
        self.buffer.clear()
        if update.seq_id is not None:
            self._buffer(update)

    def _check(self, update: U) -> UpdateAction:
        # Classify one update with ids against the book's last seqId; advances it on APPLY.
        prev, seq, last = update.prev_seq_id, update.seq_id, self.last_update_id
        assert prev is not None and seq is not None  # the callers route updates without ids elsewhere
        if self._bridging:
            if seq <= last:
                return UpdateAction.COVERED
            if prev > last:
                self.gap_expected, self.gap_got = last, prev
                return UpdateAction.GAP
            self._bridging = False
            self.last_update_id = seq
            return UpdateAction.APPLY
        if prev == last:
            self.last_update_id = seq
            return UpdateAction.APPLY
        if seq == last or prev <= seq < last:
            return UpdateAction.DUPLICATE
        self.gap_expected, self.gap_got = last, prev
        return UpdateAction.GAP
