"""A fake venue's wall clock a test moves: real time plus an offset (ccxt still signs with the real one)."""

from __future__ import annotations

import time


class OffsetClock:
    """Real time plus ``offset`` seconds, which the test sets or moves (a fake venue's ``VenueOptions(clock=)``)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds
