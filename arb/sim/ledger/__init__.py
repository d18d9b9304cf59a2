"""The simulated venues' own trading engine: accounts, orders, trades, balances and positions.

:class:`Ledger` (:mod:`.engine`) matches orders against the book a venue is replaying and books
funding; :mod:`.records` holds what it keeps. Import either from here.
"""

from __future__ import annotations

__all__ = ["Ledger"]

from arb.sim.ledger import records
from arb.sim.ledger.records import *  # noqa: F403  # the records' names, as records.__all__ lists them
from arb.sim.ledger.venue_ledger import Ledger

__all__ += records.__all__
