"""How a venue's Tardis.dev datasets name its instruments and size their amounts.

Tardis.dev publishes each exchange's data under the exchange's own instrument names, with amounts "as
provided by exchange" (its CSV documentation). For most venues that is arb's symbol and base currency, and
:data:`SAME` says so; a venue that spells its instruments otherwise, or quotes a market in contracts,
provides a :class:`TardisNames` of its own in ``connectors/<venue>/tardis.py`` (``TARDIS``), which the
registry hands out (:attr:`connectors.registry.VenueConnector.tardis`). ``arb fetch`` asks it for the file
names to download, the backtest's loader for the files to look for, and the Tardis reader for the rows to
keep and the factor that turns each ``amount`` into base currency.
"""

from __future__ import annotations

__all__ = ["SAME", "TardisNames"]

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TardisNames:
    """Arb's symbols as a venue's Tardis datasets spell them, and their amounts' unit.

    The default (:data:`SAME`) is the venue's symbol upper-cased and amounts in base currency. A venue
    overrides :meth:`symbol`, :meth:`arb_symbol` and :meth:`base_per_amount`; each raises ``ValueError``
    (saying what it expected) for a symbol it cannot map, which ``arb fetch`` reports against the option or
    key that named the symbol.
    """

    venue: str = ""
    """The venue these names are of (``""``: any venue whose Tardis names are its own)."""

    def symbol(self, symbol: str, market: str) -> str:
        """Tardis's name of arb's ``symbol`` in ``market`` (its file names and its rows' ``symbol``)."""
        return symbol.upper()

    def arb_symbol(self, name: str, market: str) -> str:
        """Arb's symbol of Tardis's instrument ``name`` in ``market`` (the inverse of :meth:`symbol`)."""
        return name.upper()

    def base_per_amount(self, symbol: str, market: str) -> float:
        """Base currency per unit of the datasets' ``amount`` for arb's ``symbol`` in ``market`` (1: amounts
        are base currency; a contract's value where they are contracts)."""
        return 1.0


SAME = TardisNames()
"""The names of a venue without ``tardis.py``: arb's symbols, amounts in base currency."""
