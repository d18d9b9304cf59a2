"""The orders a venue refused, counted for the run's report without keeping every one of them.

The paper and the live executors listed every refused order for the summary's count and codes; a run
whose venue refuses order after order (a balance used up, a rule broken again and again) grew that list
for the life of the process. :class:`Rejections` counts every refusal, remembers each distinct code and
holds only the newest ``keep`` orders (to look at in a debugger or a test).
"""

from __future__ import annotations

__all__ = ["KEEP_REJECTED", "Refused", "Rejections"]

from collections import deque
from collections.abc import Iterator
from typing import Any, Final, Generic, Protocol, TypeVar

KEEP_REJECTED: Final = 100
"""Refused orders held, the newest."""


class Refused(Protocol):
    """An order with the venue's refusal (``rejection.code``), or ``None``."""

    @property
    def rejection(self) -> Any: ...


_O = TypeVar("_O", bound=Refused)


class Rejections(Generic[_O]):
    """Every refused order counted (``len``), every code remembered (``codes``), the newest ``keep`` held
    (iterating gives them, oldest first)."""

    def __init__(self, keep: int = KEEP_REJECTED) -> None:
        self._recent: deque[_O] = deque(maxlen=keep)
        self._count = 0
        self.codes: set[int | str] = set()
        """The code of every refusal so far (a venue's number, or arb's word such as ``"local"``)."""

    def append(self, order: _O) -> None:
        self._recent.append(order)
        self._count += 1
        if order.rejection is not None:
            self.codes.add(order.rejection.code)

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[_O]:
        return iter(self._recent)
