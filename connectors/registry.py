"""Venue name -> its connector: the public side (normalizer, feed, fast scanner, funding history) and the
private adapter, found by the venue's folder, so no caller writes ``if venue == "binance"``.

A venue is a folder ``connectors/<venue>/`` with the same file set, each module exporting one
well-known name:

=================  =================================================================================
``normalize.py``   ``NORMALIZER``: the pure normalizer class (raw payload + local time -> event rows)
``feed.py``        ``FEED``: the market-data feed class (a :class:`~connectors.common.feed.MarketDataFeed`)
``fastscan.py``    the compiled frame scanners the converters call
``history.py``     ``HISTORY``: the funding-history client class, ``FUNDING_MIN_INTERVAL_NS`` its pacing
``private.py``     ``ADAPTER``: the :class:`~connectors.common.private.PrivateVenue` class, taking the market
``orders.py``      the order messages' structs; ``REFUSALS``: the venue's answers to refused orders, by market
``recordings.py``  ``RECORDINGS``: how its recorded frames are told apart and read back
``wallet.py``      ``WALLET``: its :class:`~connectors.common.wallet.WalletVenue` (withdrawals, deposits, wallets)
=================  =================================================================================

Modules load when asked for (``arb --help`` does not import ccxt or Numba): :func:`venue` only checks
that the folder exists.

    >>> from connectors.registry import private_venue
    >>> private_venue("bybit", "linear")
    BybitPrivate('linear')
"""

from __future__ import annotations

__all__ = ["UnknownVenueError", "VenueConnector", "private_venue", "venue", "venue_names"]

import functools
import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from arb.errors import ArbError
from connectors.common.orders import RefusalAnswers
from connectors.common.private import Market, PrivateVenue
from connectors.common.recordings import RecordingFormat
from connectors.common.wallet import WalletVenue

_ROOT = Path(__file__).parent
_PARTS = ("normalize.py", "feed.py", "private.py")
"""What a folder needs to count as a venue."""


class UnknownVenueError(ArbError, ValueError):
    """No folder under ``connectors/`` carries this venue."""


@functools.cache
def venue_names() -> tuple[str, ...]:
    """Every venue with a connector folder, sorted (``("binance", "bybit")``)."""
    return tuple(
        sorted(
            p.name
            for p in _ROOT.iterdir()
            if p.is_dir() and p.name != "common" and all((p / part).is_file() for part in _PARTS)
        )
    )


@dataclass(frozen=True, slots=True)
class VenueConnector:
    """One venue's connector parts (see the module docstring); each loads on first use."""

    name: str

    def module(self, part: str) -> ModuleType:
        """The venue's module ``part`` (``"normalize"``, ``"feed"``, ``"fastscan"``, ``"history"``,
        ``"private"``, ``"orders"``)."""
        return importlib.import_module(f"connectors.{self.name}.{part}")

    def _class(self, part: str, name: str) -> type[Any]:
        # The class the venue's module ``part`` exports as ``name`` (``NORMALIZER``, ``FEED``, ...).
        cls: type[Any] = getattr(self.module(part), name)
        return cls

    @property
    def normalizer(self) -> type[Any]:
        """The normalizer class (``BinanceNormalizer(symbol, market, ...)``)."""
        return self._class("normalize", "NORMALIZER")

    @property
    def feed(self) -> type[Any]:
        """The market-data feed class (``BinanceFeed``)."""
        return self._class("feed", "FEED")

    @property
    def fastscan(self) -> ModuleType:
        """The compiled frame scanners (``scan_frame``...)."""
        return self.module("fastscan")

    @property
    def history(self) -> type[Any]:
        """The funding-history client class."""
        return self._class("history", "HISTORY")

    @property
    def funding_min_interval_ns(self) -> int:
        """The least time between two funding-history requests the venue's limits allow, ns."""
        return int(self.module("history").FUNDING_MIN_INTERVAL_NS)

    @property
    def recordings(self) -> RecordingFormat:
        """How the venue's recorded frames are read back (``recordings.py``'s ``RECORDINGS``)."""
        found: RecordingFormat = self.module("recordings").RECORDINGS
        return found

    def refusals(self, market: Market) -> RefusalAnswers:
        """What the venue answers to an order or cancel it refuses, in ``market`` (``orders.py``'s
        ``REFUSALS``): what the paper venue answers in its place."""
        answers: RefusalAnswers = self.module("orders").REFUSALS[market]
        return answers

    @property
    def wallet(self) -> WalletVenue:
        """The venue's wallet operations (``wallet.py``'s ``WALLET``)."""
        found: WalletVenue = self.module("wallet").WALLET
        return found

    def private(self, market: Market) -> PrivateVenue:
        """The private adapter of ``market`` (``"spot"`` or ``"linear"``)."""
        adapter: PrivateVenue = self.module("private").ADAPTER(market)
        return adapter


def venue(name: str) -> VenueConnector:
    """The connector of venue ``name``; raises :class:`UnknownVenueError` naming the known ones."""
    if name not in venue_names():
        raise UnknownVenueError(f"no connector for venue {name!r}: expected one of {', '.join(venue_names())}")
    return VenueConnector(name)


def private_venue(name: str, market: Market) -> PrivateVenue:
    """The private adapter of venue ``name``'s ``market``."""
    return venue(name).private(market)
