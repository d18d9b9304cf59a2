"""Adding a listener to one of the engine's callbacks (``on_fill``, ``on_order``, ``on_risk_event``,
``on_halt``) without taking the place of the one set before."""

from __future__ import annotations

__all__ = ["chained"]

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def chained(before: Callable[[T], Any] | None, then: Callable[[T], Any]) -> Callable[[T], None]:
    """A callback that calls ``before`` (when there is one) and then ``then``, with the same argument."""

    def both(value: T) -> None:
        if before is not None:
            before(value)
        then(value)

    return both
