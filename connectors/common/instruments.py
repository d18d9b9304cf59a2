"""A venue's instrument list from its public REST: which symbols it lists in a market, with their ticks,
lots and minimums, and which asset each is, so two venues' lists can be matched.

A venue that can list its instruments says how in ``connectors/<venue>/instruments.py`` (``INSTRUMENTS``, an
:class:`InstrumentList`): the request of one page of a market (:meth:`InstrumentList.request`) and a pure
parse of the answer's body (:meth:`InstrumentList.parse`); the registry hands it out
(:attr:`connectors.registry.VenueConnector.instruments`) and ``arb scan`` fetches it (:mod:`arb.scan.instruments`)
without naming the venue.

Units. A venue prices some assets by a bundle of them: ``1000PEPEUSDT`` and ``SHIB1000USDT``
are quoted and sized per 1,000 PEPE or SHIB. An :class:`Instrument` names the asset itself (``base``
``PEPE``) and the bundle (``multiplier`` 1000): the venue's price divided by the multiplier is the asset's
price. ``tick`` is in the venue's price (quote currency per bundle); ``lot`` and ``min_qty`` are in bundles
(base currency when the multiplier is 1), whatever unit the venue sizes orders in: a venue that sizes swaps
in contracts has them converted here, and that contract value is ``contract_size`` (the
venue file's ``[instrument] contract_size``). ``min_notional`` is in quote currency (0: the venue states none).
"""

from __future__ import annotations

__all__ = [
    "Instrument",
    "InstrumentList",
    "InstrumentPage",
    "InstrumentRequest",
    "asset_of",
    "instrument_named",
    "instrument_page",
    "positive",
    "venue_number",
]

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, TypeVar, runtime_checkable

_Entry = TypeVar("_Entry")

_PREFIX = re.compile(r"\A(1(?:0{3,})|1M)([A-Z][A-Z0-9]+)\Z")
"""``1000PEPE``, ``10000SATS``, ``1000000MOG``, ``1MBABYDOGE``: a bundle named before the asset."""
_SUFFIX = re.compile(r"\A([A-Z][A-Z0-9]*[A-Z])(1(?:0{3,}))\Z")
"""``SHIB1000``: a bundle named after the asset (some venues' spelling)."""


@dataclass(frozen=True, slots=True)
class Instrument:
    """One instrument a venue lists (see the module docstring for the units)."""

    venue: str
    """The venue's name (its folder under ``connectors/``)."""
    market: str
    """``spot`` or ``linear``."""
    symbol: str
    """arb's symbol of the instrument on this venue, as its feeds and recordings name it (``1000PEPEUSDT``;
    a venue's ``BTC-USDT-SWAP`` is ``BTCUSDT``)."""
    name: str
    """The venue's own name (``BTC-USDT-SWAP``, ``1000PEPEUSDT``)."""
    base: str
    """The asset, without a bundle's count (``PEPE`` for ``1000PEPEUSDT``)."""
    quote: str
    """The quote currency (``USDT``)."""
    multiplier: Decimal
    """Units of ``base`` the venue's price and sizes are of (1000 for ``1000PEPEUSDT``; 1 mostly)."""
    tick: Decimal
    """Price increment, quote currency per ``multiplier`` base."""
    lot: Decimal
    """Quantity increment, in ``multiplier`` base (contracts converted)."""
    min_qty: Decimal
    """Smallest order, in ``multiplier`` base (contracts converted)."""
    min_notional: Decimal
    """Smallest order value, quote currency (0: the venue states none)."""
    trading: bool
    """Whether it trades now (``TRADING``, ``Trading``, ``live``: each venue's word)."""
    status: str = ""
    """The venue's own word for its state (``BREAK``, ``PreLaunch``, ``suspend``...)."""
    contract_size: Decimal = Decimal(1)
    """Units of ``multiplier`` base per unit the venue sizes orders in (a contract's value, e.g.
    ``ctVal x ctMult``; 1 where sizes are base)."""

    @property
    def asset_symbol(self) -> str:
        """The asset's symbol, bundle left out: what two venues' instruments are matched by (with the quote
        and market): ``1000PEPEUSDT`` -> ``PEPEUSDT``."""
        return self.base + self.quote

    def rules(self) -> dict[str, str]:
        """The numbers as decimal strings: ``{"tick": "0.1", "lot": "0.001", "min_qty": "0.001",
        "min_notional": "5", "multiplier": "1", "contract_size": "1"}``."""
        numbers = {"tick": self.tick, "lot": self.lot, "min_qty": self.min_qty, "min_notional": self.min_notional,
                   "multiplier": self.multiplier, "contract_size": self.contract_size}  # fmt: skip
        return {k: format(v.normalize(), "f") for k, v in numbers.items()}


@dataclass(frozen=True, slots=True)
class InstrumentRequest:
    """One request of an instrument list: ``path`` on the venue's REST base (``VenueConfig.data_endpoints.rest``)
    with the query ``params``; a ``GET``, or a ``POST`` of ``body`` as JSON where the venue asks so (an info
    endpoint that takes its question in the body)."""

    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    body: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class InstrumentPage:
    """What one answer held: the instruments it lists (every state, trading or not), the cursor of the next
    page (``""``: the last), and one line per entry left out because its numbers are unusable (a tick of
    ``""``...): such an entry is skipped, not the whole list."""

    instruments: tuple[Instrument, ...]
    cursor: str = ""
    skipped: tuple[str, ...] = ()


@runtime_checkable
class InstrumentList(Protocol):
    """How a venue lists its instruments (see the module docstring)."""

    venue: str
    """The venue's name."""

    def request(self, market: str, cursor: str = "") -> InstrumentRequest:
        """The request of ``market``'s (``spot``/``linear``) list; ``cursor`` a previous page's
        :attr:`InstrumentPage.cursor` (``""``: the first page). ``ValueError`` for another market."""
        ...

    def parse(self, body: bytes, market: str) -> InstrumentPage:
        """The answer's ``body`` to ``market``'s request. Pure. Instruments arb cannot map (dated futures,
        inverse swaps, options) are left out, an entry with unusable numbers is skipped and named
        (:attr:`InstrumentPage.skipped`); ``ValueError`` (naming the venue) for an error answer or a body of
        another shape."""
        ...


def asset_of(name: str) -> tuple[str, Decimal]:
    """``(asset, multiplier)`` of a venue's base-currency name: ``1000PEPE`` -> ``("PEPE", 1000)``,
    ``SHIB1000`` -> ``("SHIB", 1000)``, ``1MBABYDOGE`` -> ``("BABYDOGE", 1000000)``, ``BTC`` -> ``("BTC", 1)``.
    Only a power of ten from 1,000 up counts as a bundle, so ``1INCH`` and ``API3`` stay whole."""
    upper = name.upper()
    found = _PREFIX.match(upper)
    if found is not None:
        count, asset = found.groups()
        return asset, Decimal(1_000_000) if count == "1M" else Decimal(count)
    found = _SUFFIX.match(upper)
    if found is not None:
        asset, count = found.groups()
        return asset, Decimal(count)
    return upper, Decimal(1)


def venue_number(venue: str, name: str, what: str, text: str) -> Decimal:
    """``text`` (a venue's decimal string, field ``what`` of instrument ``name``) as a finite
    :class:`~decimal.Decimal` >= 0; ``""`` is 0. ``ValueError`` naming the venue, the instrument and the field."""
    if text == "":
        return Decimal(0)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{venue} {name}: {what} {text!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise ValueError(f"{venue} {name}: {what} {text!r} is not a number >= 0")
    return value


def positive(venue: str, name: str, what: str, text: str) -> Decimal:
    """:func:`venue_number`, and ``ValueError`` unless it is > 0 (a tick or a lot)."""
    value = venue_number(venue, name, what, text)
    if value <= 0:
        raise ValueError(f"{venue} {name}: {what} {text!r} is not positive")
    return value


def instrument_named(venue: str, market: str, name: str, base: str, quote: str, *, tick: tuple[str, str],
                     lot: tuple[str, str], min_qty: tuple[str, str], min_notional: tuple[str, str], trading: bool,
                     status: str) -> Instrument:  # fmt: skip
    """The instrument a venue names as arb does (``name``, its symbol), of base currency ``base`` as the venue
    names it (``1000PEPE``: :func:`asset_of`), with its numbers as ``(field, text)``, the venue's field and its
    decimal string: ``tick`` and ``lot`` > 0, the minimums >= 0 (``""`` is 0). ``ValueError`` naming the venue,
    the instrument and the field of the first that is not."""
    asset, multiplier = asset_of(base)
    return Instrument(
        venue=venue, market=market, symbol=name, name=name, base=asset, quote=quote.upper(), multiplier=multiplier,
        tick=positive(venue, name, *tick), lot=positive(venue, name, *lot),
        min_qty=venue_number(venue, name, *min_qty), min_notional=venue_number(venue, name, *min_notional),
        trading=trading, status=status,
    )  # fmt: skip


def instrument_page(entries: Iterable[_Entry], instrument: Callable[[_Entry], Instrument],
                    cursor: str = "") -> InstrumentPage:  # fmt: skip
    """The page of ``entries`` (those of an answer a venue lists, in its order) made instruments by the
    venue's ``instrument``; an entry it refuses with ``ValueError`` (unusable numbers) is skipped and named
    (:attr:`InstrumentPage.skipped`), not the whole list. ``cursor``: the next page's."""
    found: list[Instrument] = []
    skipped: list[str] = []
    for entry in entries:
        try:
            found.append(instrument(entry))
        except ValueError as exc:
            skipped.append(str(exc))
    return InstrumentPage(tuple(found), cursor, tuple(skipped))
