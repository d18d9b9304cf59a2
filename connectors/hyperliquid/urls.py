"""Hyperliquid's public endpoints, subscription types and coin names (hosts come from the venue file).

Hyperliquid names a perpetual by its coin (``BTC``, ``ETH``, ``kPEPE``): the contract is quoted and margined
in USDC, but its oracle price is a weighted median of USDT spot prices on the large venues, and no USDC/USDT
conversion enters it, so the ``BTC`` perpetual's price is a USDT price. arb names it ``BTCUSDT``, as the USDT
perpetuals of the other venues, and compares the two directly (docs/hyperliquid.md, "Symbols and the quote").
:func:`coin_of` and :func:`symbol_of` map one name to the other; coins are case-sensitive on the wire (an
unknown one, ``kpepe`` say, closes the socket), so every name the feed sends comes from :func:`coin_of`.
"""

from __future__ import annotations

__all__ = [
    "CHANNELS",
    "INFO_PATH",
    "KILO_COINS",
    "QUOTES",
    "WS_PATH",
    "coin_of",
    "subscription",
    "symbol_of",
]

from typing import Final

WS_PATH: Final = "/ws"
"""The WebSocket below the network's host (``wss://api.hyperliquid.xyz/ws``)."""
INFO_PATH: Final = "/info"
"""``POST`` the info endpoint, a JSON body ``{"type": ...}``: ``meta``, ``metaAndAssetCtxs``, ``l2Book``,
``fundingHistory`` (weights: 2 for ``l2Book``, 20 for the others, of 1200 per minute and IP)."""

CHANNELS: Final = ("l2Book", "trades", "activeAssetCtx")
"""What the feed subscribes for each coin, in this order: the book (up to 20 levels a side, each message the
whole book), the trades, and the perpetual's context (mark, oracle price, funding)."""

QUOTES: Final = ("USDT", "USDC")
"""What an arb symbol may end in: both name the coin's USDC-collateral perpetual (whose price is a USDT price)."""

KILO_COINS: Final = frozenset({"kPEPE", "kSHIB", "kBONK", "kFLOKI", "kLUNC", "kDOGS", "kNEIRO"})
"""Coins priced and sized per 1,000 tokens, spelled with a lower-case ``k`` on the wire (``KPEPEUSDT`` is
``kPEPE``)."""
_KILO_BY_UPPER: Final = {coin.upper(): coin for coin in KILO_COINS}


def coin_of(symbol: str) -> str:
    """Hyperliquid's coin of arb's ``symbol``: ``BTCUSDT`` (or ``BTCUSDC``) -> ``BTC``, ``KPEPEUSDT`` ->
    ``kPEPE``. ``ValueError`` when the symbol ends in neither quote or names no coin."""
    name = symbol.upper()
    quote = next((q for q in QUOTES if name.endswith(q) and len(name) > len(q)), None)
    if quote is None:
        quotes = " or ".join(QUOTES)
        raise ValueError(f"hyperliquid: expected a symbol ending in {quotes} (e.g. BTCUSDT), got {symbol!r}")
    base = name[: -len(quote)]
    return _KILO_BY_UPPER.get(base, base)


def symbol_of(coin: str) -> str:
    """arb's symbol of Hyperliquid's ``coin``: ``BTC`` -> ``BTCUSDT``, ``kPEPE`` -> ``KPEPEUSDT``."""
    return coin.upper() + "USDT"


def subscription(kind: str, coin: str) -> dict[str, object]:
    """The subscribe message of one stream, e.g. ``{"method":"subscribe","subscription":{"type":"l2Book",
    "coin":"BTC"}}``."""
    return {"method": "subscribe", "subscription": {"type": kind, "coin": coin}}
