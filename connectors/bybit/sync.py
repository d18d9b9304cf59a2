"""Bybit v5 order-book synchronisation: the state machine, with no I/O and no rows.

Bybit pushes a ``snapshot`` on subscription (and whenever it chooses to resend one): it replaces
the book. Each ``delta`` carries ``u``, which must be the previous ``u`` + 1 on the same topic. A
delta with an older ``u`` is a duplicate and is dropped; a delta that skips ids is a gap: the book is
out of sync until the next snapshot, which the feed obtains by resubscribing. Deltas that arrive
while out of sync are dropped (a snapshot replaces everything, so there is nothing to buffer).
"""

from __future__ import annotations

__all__ = ["BybitBookSync", "DeltaAction"]

from enum import IntEnum

from connectors.common.normalizer import BookSync, SyncState


class DeltaAction(IntEnum):
    """What to do with one delta."""

    APPLY = 0
    DUPLICATE = 1
    GAP = 2
    UNSYNCED = 3
    """No snapshot since start-up or the last gap: drop it."""


class BybitBookSync(BookSync):
    """Tracks ``u`` for one order-book topic."""

    __slots__ = ()

    def on_snapshot(self, update_id: int) -> None:
        """A snapshot resets the book and the sequence."""
        self.state = SyncState.SYNCED
        self.last_update_id = update_id

    def on_delta(self, update_id: int) -> DeltaAction:
        """Classify a delta; a GAP moves the book out of sync."""
        if self.state is not SyncState.SYNCED:
            return DeltaAction.UNSYNCED
        last = self.last_update_id
        if update_id == last + 1:
            self.last_update_id = update_id
            return DeltaAction.APPLY
        if update_id <= last:
            return DeltaAction.DUPLICATE
        self.state = SyncState.OUT_OF_SYNC
        return DeltaAction.GAP
