"""Venue name -> its connector: the public side (normalizer, feed, fast scanner, funding history) and the
private adapter, found by the venue's folder, so no caller tests a venue's name.

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
``archive.py``     ``ARCHIVE``: its own history archive, a :class:`~connectors.common.archive.VenueArchive`
                   (optional: a venue without one has no such file)
``tardis.py``      ``TARDIS``: how its Tardis.dev datasets name and size its instruments, a
                   :class:`~connectors.common.tardis.TardisNames` (optional: without it, arb's symbols
                   and base currency)
=================  =================================================================================

and, optional too, ``instruments.py``: ``INSTRUMENTS``, the venue's instrument lists from its public REST, a
:class:`~connectors.common.instruments.InstrumentList` (without it, ``arb scan`` cannot list the venue's
symbols).

``private.py`` and ``wallet.py`` come together: a venue without them (yet) is read, recorded, backtested
and paper-traded, and :meth:`VenueConnector.private` and :attr:`VenueConnector.wallet` say it cannot be
traded live.

Beside them, ``venue.toml`` holds what the configuration knows of the venue without its code
(:mod:`arb.catalog`): the registry and the catalog list the same venues. Modules load when asked for
(``arb --help`` does not import ccxt or Numba): :func:`venue` only checks that the folder holds the
parts every venue has; :meth:`VenueConnector.conform` loads each part and checks it against its protocol
(the conformance test runs it for every venue found).

``private_venue(name, market)`` is the venue ``name``'s private adapter for ``market`` (``"spot"`` or
``"linear"``).
"""

from __future__ import annotations

__all__ = ["UnknownVenueError", "VenueConnector", "private_venue", "venue", "venue_archives", "venue_names"]

import functools
import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from arb.catalog import known_venues, venue_facts
from arb.errors import ArbError
from connectors.common.archive import VenueArchive
from connectors.common.recordings import RecordingFormat
from connectors.common.tardis import SAME, TardisNames

if TYPE_CHECKING:  # the private side (websockets, ccxt's types, asyncio) only where it is used: not in a backtest
    from connectors.common.instruments import InstrumentList
    from connectors.common.orders import RefusalAnswers
    from connectors.common.private import Market, PrivateVenue
    from connectors.common.wallet import WalletVenue

_ROOT = Path(__file__).parent
_PARTS = ("venue.toml", "normalize.py", "feed.py", "recordings.py", "history.py", "orders.py")
"""What a folder needs to count as a venue (``archive.py`` and ``fastscan.py`` are the venue's choice)."""
_TRADING = ("private.py", "wallet.py")
"""What a venue ``arb live`` trades has besides: a venue without them is read, recorded, backtested and
paper-traded, not traded live."""


class UnknownVenueError(ArbError, ValueError):
    """No folder under ``connectors/`` carries this venue."""


@functools.cache
def venue_names() -> tuple[str, ...]:
    """Every venue with a connector folder, sorted by name; raises
    :class:`UnknownVenueError` when a folder with a facts file lacks a part, or the catalog and the folders
    disagree."""
    found = tuple(sorted(p.name for p in _ROOT.iterdir() if p.is_dir() and (p / "venue.toml").is_file()))
    for name in found:
        missing = [part for part in _PARTS if not (_ROOT / name / part).is_file()]
        if missing:
            raise UnknownVenueError(f"connectors/{name}/ is not a whole venue: it lacks {', '.join(missing)}")
    if found != known_venues():
        raise UnknownVenueError(f"the venue folders ({', '.join(found)}) and the catalog ({', '.join(known_venues())}) "
                                "disagree")  # fmt: skip
    return found


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
        """The venue's wallet operations (``wallet.py``'s ``WALLET``); raises :class:`UnknownVenueError` when
        the venue has no private side."""
        self._trading("its wallets")
        found: WalletVenue = self.module("wallet").WALLET
        return found

    @property
    def archive(self) -> VenueArchive | None:
        """The venue's own history archive (``archive.py``'s ``ARCHIVE``), or None when it has none."""
        if not (_ROOT / self.name / "archive.py").is_file():
            return None
        found: VenueArchive = self.module("archive").ARCHIVE
        return found

    @property
    def tardis(self) -> TardisNames:
        """How the venue's Tardis.dev datasets name and size its instruments (``tardis.py``'s ``TARDIS``), or
        :data:`~connectors.common.tardis.SAME` when it has no such file."""
        if not (_ROOT / self.name / "tardis.py").is_file():
            return SAME
        found: TardisNames = self.module("tardis").TARDIS
        return found

    @property
    def instruments(self) -> InstrumentList | None:
        """The venue's instrument lists from its public REST (``instruments.py``'s ``INSTRUMENTS``), or None
        when it has no such file."""
        if not (_ROOT / self.name / "instruments.py").is_file():
            return None
        found: InstrumentList = self.module("instruments").INSTRUMENTS
        return found

    @property
    def trades_live(self) -> bool:
        """Whether the venue has a private side (orders, fills, wallets): ``arb live`` can trade it."""
        return all((_ROOT / self.name / part).is_file() for part in _TRADING)

    def private(self, market: Market) -> PrivateVenue:
        """The private adapter of ``market`` (``"spot"`` or ``"linear"``); raises :class:`UnknownVenueError`
        when the venue has no private side."""
        self._trading("its orders")
        adapter: PrivateVenue = self.module("private").ADAPTER(market)
        return adapter

    def _trading(self, what: str) -> None:
        if not self.trades_live:
            raise UnknownVenueError(
                f"{self.name} has no private side yet ({what}): it can be recorded, backtested and paper-traded "
                "(arb dry-run), not traded with arb live"
            )

    def conform(self) -> list[str]:
        """Load every part of the venue and check it against its protocol; what does not conform, one line
        each (empty: the venue is whole). The parts load their modules (ccxt, Numba): a test runs this,
        not a command's start."""
        from connectors.common.feed import MarketDataFeed
        from connectors.common.history import VenueFundingHistory
        from connectors.common.instruments import InstrumentList
        from connectors.common.normalizer import VenueNormalizer
        from connectors.common.orders import RefusalAnswers
        from connectors.common.private import PrivateVenue
        from connectors.common.wallet import WalletVenue

        facts = venue_facts(self.name)
        problems: list[str] = []

        def check(what: str, ok: bool, expected: str) -> None:
            if not ok:
                problems.append(f"{self.name}: {what}: expected {expected}")

        check("normalize.NORMALIZER", _subclass(self.normalizer, VenueNormalizer), "a VenueNormalizer class")
        check("normalize.NORMALIZER.venue", getattr(self.normalizer, "venue", None) == self.name, "the venue's name")
        check("feed.FEED", _subclass(self.feed, MarketDataFeed), "a MarketDataFeed class")
        check("recordings.RECORDINGS", isinstance(self.recordings, RecordingFormat), "a RecordingFormat")
        check("recordings.RECORDINGS.name", self.recordings.name == self.name, "the venue's name")
        check("history.HISTORY", _subclass(self.history, VenueFundingHistory), "a VenueFundingHistory class")
        check("history.FUNDING_MIN_INTERVAL_NS", self.funding_min_interval_ns > 0, "a time > 0, ns")
        for market in facts.markets:
            check(f"orders.REFUSALS[{market!r}]", isinstance(self.refusals(market), RefusalAnswers), "RefusalAnswers")  # type: ignore[arg-type]
        if any((_ROOT / self.name / part).is_file() for part in _TRADING):  # a private side: the whole of it
            check("private.py, wallet.py", self.trades_live, "both, for a venue arb live trades")
        if self.trades_live:
            check("wallet.WALLET", isinstance(self.wallet, WalletVenue) and self.wallet.name == self.name,
                  "the venue's WalletVenue")  # fmt: skip
            for market in facts.markets:
                adapter = self.private(market)  # type: ignore[arg-type]
                check(f"private.ADAPTER({market!r})", isinstance(adapter, PrivateVenue) and adapter.venue == self.name,
                      "the venue's PrivateVenue")  # fmt: skip
        archive = self.archive
        if archive is not None:
            check("archive.ARCHIVE", isinstance(archive, VenueArchive) and archive.venue == self.name,
                  "the venue's VenueArchive")  # fmt: skip
            check("archive.ARCHIVE.source", archive.source == f"{self.name}-archive", f'"{self.name}-archive"')
            check("venue.toml [archives]", bool(facts.archives), "the archive's servers")
        if (_ROOT / self.name / "tardis.py").is_file():
            check("tardis.TARDIS", isinstance(self.tardis, TardisNames) and self.tardis.venue == self.name,
                  "the venue's TardisNames")  # fmt: skip
            check("venue.toml [tardis]", bool(facts.tardis), "Tardis's exchange id of each market it reads")
        if (_ROOT / self.name / "instruments.py").is_file():
            listed = getattr(self.module("instruments"), "INSTRUMENTS", None)
            check("instruments.INSTRUMENTS", isinstance(listed, InstrumentList) and listed.venue == self.name,
                  "the venue's InstrumentList")  # fmt: skip
            if isinstance(listed, InstrumentList):
                for market in facts.markets:
                    try:
                        listed.request(market)
                    except ValueError as exc:
                        problems.append(f"{self.name}: instruments.INSTRUMENTS.request({market!r}): {exc}")
        return problems


def venue(name: str) -> VenueConnector:
    """The connector of venue ``name``; raises :class:`UnknownVenueError` naming the known ones."""
    if name not in venue_names():
        raise UnknownVenueError(f"no connector for venue {name!r}: expected one of {', '.join(venue_names())}")
    return VenueConnector(name)


def _subclass(found: Any, base: type[Any]) -> bool:
    return isinstance(found, type) and issubclass(found, base)


def venue_archives() -> tuple[VenueArchive, ...]:
    """Every venue's own history archive, in venue name order."""
    found = (venue(name).archive for name in venue_names())
    return tuple(archive for archive in found if archive is not None)


def private_venue(name: str, market: Market) -> PrivateVenue:
    """The private adapter of venue ``name``'s ``market``."""
    return venue(name).private(market)
