"""What the venues whose books start from a REST snapshot share in their synchronisation (no I/O, no rows):
live messages buffered while the book is not synced (the oldest dropped past ``max_buffered``, counted), and
a REST snapshot bridged to them: the buffered messages it covers dropped, the rest applied in order until
one breaks the chain. Each venue's state machine (``connectors/<venue>/sync.py``) says how one message
chains (its ``_check``: a :class:`BookAction`, APPLY, DUPLICATE, COVERED or GAP, advancing ``last_update_id``
on APPLY)."""

from __future__ import annotations

__all__ = ["APPLY", "COVERED", "DUPLICATE", "BookAction", "BufferedBookSync", "SnapshotOutcome"]

from collections import deque
from enum import IntEnum
from typing import Generic, TypeVar

from connectors.common.normalizer import BookSync, SyncState

M = TypeVar("M")


class BookAction(IntEnum):
    """What to do with one live message of the book (each venue's state machine answers with one; the venue
    calls them after its own messages, e.g. ``DiffAction``)."""

    APPLY = 0
    BUFFER = 1
    """Not synced: held until a REST snapshot arrives to bridge it."""
    DUPLICATE = 2
    """Its changes are already in the book: drop it."""
    COVERED = 3
    """The REST snapshot already contains it: drop it."""
    GAP = 4
    """Continuity broke: the book is out of sync from here."""
    UNSYNCED = 5
    """Not synced, and nothing could bridge it (it carries no update ids): drop it."""


APPLY, DUPLICATE, COVERED = BookAction.APPLY, BookAction.DUPLICATE, BookAction.COVERED
"""The actions :meth:`BufferedBookSync._bridge` tells apart."""


class SnapshotOutcome(IntEnum):
    """What a REST snapshot did."""

    SYNCED = 0
    """Applied; the returned messages (if any) bridge it and follow it."""
    TOO_OLD = 1
    """It ends before the buffered stream begins: a newer snapshot is needed."""
    GAP_IN_BUFFER = 2
    """It bridged, but the buffered messages after it have a hole: out of sync again."""


class BufferedBookSync(BookSync, Generic[M]):
    """A book synchronised from a REST snapshot and the live messages buffered around it.

    ``max_buffered`` bounds the buffer; when it overflows the oldest messages are dropped (counted in
    ``overflowed``; the next snapshot is then checked against what is left, and fetched again if it is
    too old). ``gap_expected`` and ``gap_got``: after a GAP, the continuity required and what came instead.
    """

    __slots__ = ("_bridging", "buffer", "gap_expected", "gap_got", "overflowed")

    def __init__(self, max_buffered: int = 10_000) -> None:
        super().__init__()
        self.buffer: deque[M] = deque(maxlen=max_buffered)
        self.overflowed = 0
        self._bridging = False
        self.gap_expected = 0
        self.gap_got = 0

    def resume(self, last_update_id: int) -> None:
        """Start synced at ``last_update_id`` (from an end-of-day snapshot of the previous file)."""
        super().resume(last_update_id)
        self._bridging = False
        self.buffer.clear()

    def lose_sync(self) -> None:
        """Mark the book out of sync from outside (disconnect, stale feed); buffer from scratch."""
        super().lose_sync()
        self.buffer.clear()
        self._bridging = False

    def _bridge(self, last_update_id: int) -> tuple[SnapshotOutcome, list[M], int]:
        """Apply a REST snapshot's id to the buffered messages: the outcome, the buffered messages to apply
        after the snapshot's levels (in order), and how many buffered messages the snapshot covered
        (dropped)."""
        self.state = SyncState.SYNCED
        self.last_update_id = last_update_id
        self._bridging = True
        pending = list(self.buffer)
        self.buffer.clear()
        apply: list[M] = []
        covered = 0
        for i, message in enumerate(pending):
            action = self._check(message)
            if action == APPLY:
                apply.append(message)
            elif action == COVERED or action == DUPLICATE:
                covered += 1
            else:
                # A hole: before the first applied message it means the snapshot is too old.
                self.buffer.extend(pending[i:])
                if not apply:
                    self.state = SyncState.WAITING_SNAPSHOT
                    self._bridging = False
                    return SnapshotOutcome.TOO_OLD, [], covered
                self.state = SyncState.OUT_OF_SYNC
                return SnapshotOutcome.GAP_IN_BUFFER, apply, covered
        return SnapshotOutcome.SYNCED, apply, covered

    def _buffer(self, message: M) -> None:
        if len(self.buffer) == self.buffer.maxlen:
            self.overflowed += 1
        self.buffer.append(message)

    def _check(self, message: M) -> BookAction:
        """Classify one message against the book's last id; advances it on APPLY."""
        raise NotImplementedError
