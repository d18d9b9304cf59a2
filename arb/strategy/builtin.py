"""The built-in strategies by name (``[strategy] style``), found as a user's strategy is: by where they live.

``taker`` (:data:`arb.strategies.taker.TAKER`) opens a pair of immediate-or-cancel orders across two venues
when the walk of their books clears the configured spread; ``maker_taker``
(:data:`arb.strategies.maker_taker.MAKER_TAKER`) rests a post-only quote on one venue and leaves each of its
fills to arb's lone-leg hedge on another. They live in :mod:`arb.strategies` beside the funding carry, written
through the seam (:mod:`arb.strategy.seam`) like any user's, and this module names them only by module and
attribute (as ``[strategy] kernel = "pkg.module:Name"`` names a user's), so the seam below them imports none
of them. Both read their settings from ``[strategy]`` (they declare no parameters of their own: ``rules`` is
their ``params``) and keep one counter as their memory. ``[strategy] style`` chooses between them, per symbol
where a symbol's table says so.
"""

from __future__ import annotations

__all__ = ["BUILTIN", "builtin"]

import importlib
from typing import Final

from arb.strategy.seam import Strategy

BUILTIN: Final = {
    "taker": ("arb.strategies.taker", "TAKER"),
    "maker_taker": ("arb.strategies.maker_taker", "MAKER_TAKER"),
}
"""The built-in strategies' names (``[strategy] style``), each with its module and the attribute that holds it."""


def builtin(style: str) -> Strategy:
    """The built-in strategy named ``style`` (a key of :data:`BUILTIN`), its module imported on first use."""
    module, name = BUILTIN[style]
    strategy: Strategy = getattr(importlib.import_module(module), name)
    return strategy
