"""The built-in strategies, written through the seam like any user's: ``taker`` and ``maker_taker``.

``taker`` (:func:`arb.strategy.kernel.decide`) opens a pair of immediate-or-cancel orders across two
venues when the walk of their books clears the configured spread; ``maker_taker``
(:func:`arb.strategy.quotes.decide_maker`) rests a post-only quote on one venue and leaves each of its
fills to arb's lone-leg hedge on another. Both read their settings from ``[strategy]`` (they declare no
parameters of their own: ``rules`` is their ``params``) and keep one counter as their memory.
``[strategy] style`` chooses between them, per symbol where a symbol's table says so.
"""

from __future__ import annotations

__all__ = ["BUILTIN", "MAKER_TAKER", "TAKER", "builtin"]

from arb.strategy.kernel import decide, may_act
from arb.strategy.quotes import decide_maker
from arb.strategy.seam import BUILTIN_MEMORY, Strategy

TAKER = Strategy(
    name="taker",
    decide=decide,
    memory=BUILTIN_MEMORY,
    may_act=may_act,
    summary="both legs take: a pair of immediate-or-cancel orders when the books' spread clears the threshold",
    origin="arb",
)
MAKER_TAKER = Strategy(
    name="maker_taker",
    decide=decide_maker,
    memory=BUILTIN_MEMORY,
    quotes=True,
    summary="a post-only quote rests on one venue; each of its fills is hedged on another at once",
    origin="arb",
)
BUILTIN = {TAKER.name: TAKER, MAKER_TAKER.name: MAKER_TAKER}
"""The built-in strategies by name (``[strategy] style``)."""


def builtin(style: str) -> Strategy:
    """The built-in strategy of ``[strategy] style`` ``style``."""
    return BUILTIN[style]
