"""A user's strategy as a file outside arb, for the tests of ``[strategy] kernel``: :data:`CROSS` (a small
working strategy with parameters and memory) and :func:`write_strategy` (it, or any text, into a folder).

``cross`` opens a pair, at the top of the books, when one venue's best bid clears another's best ask by
``threshold_bps``; its memory counts its calls (``seen``) and keeps the best edge it saw (``best_bps``,
bps). With ``quotes = True`` in its declaration it would be a quoting strategy (``quoting`` below)."""

from __future__ import annotations

__all__ = ["CROSS", "CROSS_QUOTING", "write_strategy"]

import textwrap
from pathlib import Path

CROSS = '''
"""A pair when one venue's best bid clears another's best ask by threshold_bps."""

import msgspec
import numba
import numpy as np

from arb.strategy.seam import Strategy
from arb.strategy.types import BUY, INTENT_OPEN, SELL


class Params(msgspec.Struct, frozen=True):
    threshold_bps: float = 5.0
    size: float = 0.001
    window: int = 10
    enabled: bool = True


MEMORY = np.dtype([("seen", "i8"), ("best_bps", "f8")], align=True)


@numba.njit(cache=True)
def decide(view, rules, params, memory, now_ns, intents):
    p = params[0]
    m = memory[0]
    m["seen"] += 1
    if not p["enabled"]:
        return 0
    best = 0.0
    buy = -1
    sell = -1
    for b in range(view.shape[0]):
        for s in range(view.shape[0]):
            ask = view[b]["ask_px"][0]
            bid = view[s]["bid_px"][0]
            if b == s or ask <= 0.0 or bid <= 0.0:
                continue
            edge = (bid - ask) / ask * 1e4
            if edge > best:
                best = edge
                buy = b
                sell = s
    if best > m["best_bps"]:
        m["best_bps"] = best
    if buy < 0 or best < p["threshold_bps"]:
        return 0
    qty = min(p["size"], view[buy]["ask_qty"][0], view[sell]["bid_qty"][0])
    if qty <= 0.0:
        return 0
    intents[0]["venue"] = buy
    intents[0]["side"] = BUY
    intents[0]["price"] = view[buy]["ask_px"][0]
    intents[0]["qty"] = qty
    intents[0]["kind"] = INTENT_OPEN
    intents[1]["venue"] = sell
    intents[1]["side"] = SELL
    intents[1]["price"] = view[sell]["bid_px"][0]
    intents[1]["qty"] = qty
    intents[1]["kind"] = INTENT_OPEN
    return 2


Cross = Strategy(name="cross", decide=decide, params=Params, memory=MEMORY,
                 summary="a pair when one venue's bid clears another's ask")
'''
"""The strategy's file: ``Cross`` in it."""

CROSS_QUOTING = CROSS.replace('name="cross",', 'name="cross_quoting", quotes=True,').replace("Cross =", "Quoting =")
"""The same, declared as a strategy that quotes (``Quoting``): what the drivers' quote machinery keys off."""


def write_strategy(folder: Path, text: str = CROSS, name: str = "mystrat.py") -> Path:
    """``text`` (dedented) written as ``folder/name``; its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path
