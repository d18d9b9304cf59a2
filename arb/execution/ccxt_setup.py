"""ccxt clients for one venue-market, pointed at the URLs arb's venue files name.

The set-up is the venue adapter's (:meth:`connectors.common.ccxt_venue.CcxtVenue.make_client`, found
through :mod:`connectors.registry`): every REST family of ccxt on the configured base, the private
stream on the configured URL, no retry and no throttle of ccxt's own, no surprise calls at market
load, and the API key and secret given here (read from the environment by the caller), nowhere else.
"""

from __future__ import annotations

__all__ = ["Market", "make_exchange"]

from typing import Any, Unpack

from connectors.common.private import ClientOptions, Market
from connectors.registry import private_venue


def make_exchange(venue: str, market: Market, *, rest: str, **options: Unpack[ClientOptions]) -> Any:
    """A ccxt async client (``pro=True``: with user streams) for ``venue``/``market`` on the REST base
    ``rest`` (the other options: :class:`~connectors.common.private.ClientOptions`).

    ``session``: an ``aiohttp.ClientSession`` to send through (arb passes one with trace hooks that
    time each request); ccxt makes its own otherwise. The caller closes the client. An unknown venue
    raises :class:`connectors.registry.UnknownVenueError`.
    """
    return private_venue(venue, market).make_client(rest=rest, **options)
