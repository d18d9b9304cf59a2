"""OKX's answers to the orders it refuses, in its own codes and words, by market.

OKX answers every order request with HTTP 200 and a ``code`` for the request, and one ``sCode``/``sMsg``
per order inside ``data``: a refusal is read per item, never from the HTTP status. A post-only order
that would take is not refused: it is accepted and then cancelled, ``cancelSource`` ``"31"``.
"""

from __future__ import annotations

__all__ = ["POST_ONLY_CANCEL_SOURCE", "REFUSALS"]

from typing import Final

from connectors.common.orders import RefusalAnswers

POST_ONLY_CANCEL_SOURCE: Final = "31"
"""The ``cancelSource`` of a post-only order OKX cancelled because it would have taken liquidity."""

_POST_ONLY = (POST_ONLY_CANCEL_SOURCE, "The post-only order will take liquidity in taker orders")
_REFUSALS = RefusalAnswers(
    price=(51000, "Parameter px error"),
    lot=(51121, "Order count should be the integer multiples of the lot size"),
    min_qty=(51020, "Order amount should be greater than the min available amount"),
    notional=(51020, "Order amount should be greater than the min available amount"),
    balance=(51008, "Order failed. Insufficient balance."),
    post_only=_POST_ONLY,
    cancel_miss=(51400, "Cancellation failed as the order has been filled, canceled or does not exist."),
)

REFUSALS: Final = {"spot": _REFUSALS, "linear": _REFUSALS}
"""OKX's answers to refused orders and cancels, by market (``sCode``/``sMsg`` of the order's item; SPOT and
SWAP share the trade endpoints and their codes). OKX states no minimum order value, only ``minSz``:
a value below what the venue file's ``min_notional`` asks is answered as a size below the minimum."""
