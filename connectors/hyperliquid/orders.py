"""Hyperliquid's answers to the orders it refuses, in its own words, by market.

Hyperliquid answers an order action with HTTP 200 and one status per order inside it:
``{"status":"ok","response":{"type":"order","data":{"statuses":[{"error":"Order must have minimum value of
$10."}]}}}``. Its statuses carry no code, only the text; its documentation ("Error responses") names each
text by an error type (``Tick``, ``MinTradeNtl``, ``PerpMargin``, ``BadAloPx``, ``MissingOrder``), and that type
is each answer's code here. A post-only (``Alo``) order that would take is refused, not cancelled after.

The documentation's table has no entry for a size off the lot (``szDecimals``): the text here, with the code
``"error"`` (the status's key), is what its API answers are reported to say; not confirmed.
"""

from __future__ import annotations

__all__ = ["MIN_ORDER_VALUE", "REFUSALS"]

from typing import Final

from connectors.common.orders import RefusalAnswers

MIN_ORDER_VALUE: Final = 10.0
"""The smallest order value of a perpetual, USDC ("Order must have minimum value of $10.")."""

_REFUSALS = RefusalAnswers(
    price=("Tick", "Price must be divisible by tick size."),
    lot=("error", "Order has invalid size."),
    notional=("MinTradeNtl", "Order must have minimum value of $10."),
    balance=("PerpMargin", "Insufficient margin to place order."),
    post_only=("BadAloPx", "Post only order would have immediately matched"),
    cancel_miss=("MissingOrder", "Order was never placed, already canceled, or filled."),
)

REFUSALS: Final = {"linear": _REFUSALS}
"""Hyperliquid's answers to refused orders and cancels, by market: ``(error type, text)``. The venue ends its
post-only refusal with the book's best bid and offer (``Post only order would have immediately matched, bbo
was {bbo}.``): an answer table is one text whatever the book, so the paper venue's answer is the venue's
words up to there."""
