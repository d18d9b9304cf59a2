"""The simulated venues' own trading engine: accounts, orders, trades, balances and positions.

:class:`Ledger` (:mod:`.engine`) matches orders against the book a venue is replaying and books
funding; :mod:`.records` holds what it keeps. Import either from here.
"""

from __future__ import annotations

from arb.sim.ledger.engine import Ledger
from arb.sim.ledger.records import (
    FUNDING_QUANTUM,
    Balance,
    BookLevels,
    ClientIdScope,
    ExecType,
    FundingPayment,
    LedgerAccount,
    LedgerEvent,
    LedgerOrder,
    LedgerTrade,
    Listener,
    OrderStatus,
    OrderType,
    Position,
    RejectReason,
    Side,
    SymbolRules,
    TimeInForce,
    VenueRejectError,
)

__all__ = [
    "FUNDING_QUANTUM",
    "Balance",
    "BookLevels",
    "ClientIdScope",
    "ExecType",
    "FundingPayment",
    "Ledger",
    "LedgerAccount",
    "LedgerEvent",
    "LedgerOrder",
    "LedgerTrade",
    "Listener",
    "OrderStatus",
    "OrderType",
    "Position",
    "RejectReason",
    "Side",
    "SymbolRules",
    "TimeInForce",
    "VenueRejectError",
]
