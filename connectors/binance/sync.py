"""Binance order-book synchronisation: the state machine, with no I/O and no rows.

It follows "How to manage a local order book correctly" for each market:

spot (``U``/``u``)
    buffer diffs; take a REST snapshot; drop buffered diffs with ``u <= lastUpdateId``; the first
    diff applied must have ``U <= lastUpdateId + 1 <= u``; after it, a diff with ``u <= last`` is a
    duplicate (dropped) and one with ``U > last + 1`` is a gap.
USD-M (``U``/``u``/``pu``)
    drop buffered diffs with ``u < lastUpdateId``; the first applied must have
    ``U <= lastUpdateId <= u``; after it every diff's ``pu`` must equal the previous ``u``.

The bridging diff may arrive before the snapshot (it is then in the buffer) or after it; both paths
go through the same check. A gap moves the book to OUT_OF_SYNC and the diff that revealed it is
kept in the buffer, since it may bridge the next snapshot.
"""

from __future__ import annotations

__all__ = ["BinanceBookSync", "DiffAction", "DiffIds", "SnapshotOutcome"]

from typing import Generic, Protocol, TypeVar

from connectors.common.book_sync import BookAction, BufferedBookSync, SnapshotOutcome
from connectors.common.normalizer import SyncState


class DiffIds(Protocol):
    """The update ids of a depth diff (``BinanceDepthUpdate`` has them)."""

    @property
    def first_update_id(self) -> int: ...
    @property
    def final_update_id(self) -> int: ...
    @property
    def prev_final_update_id(self) -> int: ...


D = TypeVar("D", bound=DiffIds)


DiffAction = BookAction
"""What to do with one diff (never ``UNSYNCED``: every diff carries its ids)."""


class BinanceBookSync(BufferedBookSync[D], Generic[D]):
    """Decides, diff by diff, what may touch the book.

    ``futures`` selects the USD-M rules (``pu`` chaining). ``max_buffered`` bounds the buffer; when it
    overflows the oldest diffs are dropped (the next snapshot will then be checked against what is
    left, and fetched again if it is too old).
    """

    __slots__ = ("futures",)

    def __init__(self, futures: bool, max_buffered: int = 10_000) -> None:
        super().__init__(max_buffered)
        self.futures = futures
        # after a GAP: gap_expected, the id continuity required (spot ``last + 1``; USD-M the ``pu`` wanted),
        # and gap_got, the id that came instead (spot ``U``; USD-M ``pu``)

    def on_diff(self, diff: D) -> DiffAction:
        """Classify a live diff; BUFFER and GAP keep it in the buffer."""
        if self.state is not SyncState.SYNCED:
            self._buffer(diff)
            return DiffAction.BUFFER
        action = self._check(diff)
        if action is DiffAction.GAP:
            self.state = SyncState.OUT_OF_SYNC
            self.buffer.clear()
            self._buffer(diff)
        return action

    def on_snapshot(self, last_update_id: int) -> tuple[SnapshotOutcome, list[D], int]:
        """Apply a REST snapshot's id to the buffered diffs.

        Returns the outcome, the buffered diffs to apply after the snapshot rows (in order), and the
        number of buffered diffs the snapshot covered (dropped).
        """
        return self._bridge(last_update_id)

    def _check(self, diff: D) -> DiffAction:
        # Classify one diff against the book's update id; advances it on APPLY.
        first = diff.first_update_id
        final = diff.final_update_id
        last = self.last_update_id
        if self._bridging:
            if self.futures:
                if final < last:
                    return DiffAction.COVERED
                if first > last:
                    self.gap_expected, self.gap_got = last, first
                    return DiffAction.GAP
            else:
                if final <= last:
                    return DiffAction.COVERED
                if first > last + 1:
                    self.gap_expected, self.gap_got = last + 1, first
                    return DiffAction.GAP
            self._bridging = False
            self.last_update_id = final
            return DiffAction.APPLY
        if final <= last:
            return DiffAction.DUPLICATE
        if self.futures:
            if diff.prev_final_update_id != last:
                self.gap_expected, self.gap_got = last, diff.prev_final_update_id
                return DiffAction.GAP
        elif first > last + 1:
            self.gap_expected, self.gap_got = last + 1, first
            return DiffAction.GAP
        self.last_update_id = final
        return DiffAction.APPLY
