"""OKX's instruments as Tardis.dev's ``okex`` (spot) and ``okex-swap`` (USDT perpetuals) datasets hold them.

Tardis names OKX's instruments by OKX's ids (``BTC-USDT``, ``BTC-USDT-SWAP``: its OKX pages' samples and
its OKX v5 mappers, which copy ``instId``) and writes each ``amount`` as OKX sent ``sz``: base currency on
spot, **contracts** on the swaps. A swap's amount becomes base currency by the contract value, ``ctVal`` x
``ctMult`` of ``GET /api/v5/public/instruments?instType=SWAP``; arb knows it for the swaps in
:data:`CONTRACT_VALUES` and refuses another (no day of history carries its own contract value, and a wrong
one would scale every size of the day).
"""

from __future__ import annotations

__all__ = ["CONTRACT_VALUES", "TARDIS", "OkxTardisNames"]

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from connectors.common.tardis import TardisNames
from connectors.okx.urls import QUOTES, inst_id, symbol_of

CONTRACT_VALUES: Final[Mapping[str, float]] = {"BTC-USDT-SWAP": 0.01, "ETH-USDT-SWAP": 0.1}
"""Base currency per contract of the USDT swaps arb reads from Tardis (``ctVal`` x ``ctMult`` of OKX's
instruments answer: ``BTC-USDT-SWAP`` 0.01 x 1 BTC, ``ETH-USDT-SWAP`` 0.1 x 1 ETH). OKX can change a
contract's value; a day from before such a change needs that day's value here."""


@dataclass(frozen=True, slots=True)
class OkxTardisNames(TardisNames):
    """``BTCUSDT`` is ``BTC-USDT`` in ``okex`` and ``BTC-USDT-SWAP`` in ``okex-swap``, whose amounts are
    contracts of :data:`CONTRACT_VALUES`."""

    venue: str = "okx"

    def symbol(self, symbol: str, market: str) -> str:
        """OKX's instrument id (:func:`~connectors.okx.urls.inst_id`); ``ValueError`` when ``symbol`` ends
        in no quote currency OKX's ids are made with."""
        try:
            return inst_id(symbol, market)
        except ValueError:
            raise ValueError(
                f"a symbol OKX lists as BASE-QUOTE, its quote one of {', '.join(QUOTES)} (e.g. BTCUSDT), "
                f"got {symbol.upper()}"
            ) from None

    def arb_symbol(self, name: str, market: str) -> str:
        """``BTC-USDT`` and ``BTC-USDT-SWAP`` -> ``BTCUSDT``."""
        return symbol_of(name)

    def base_per_amount(self, symbol: str, market: str) -> float:
        """1 on spot; the swap's contract value on linear (``ValueError`` for a swap not in
        :data:`CONTRACT_VALUES`, naming the ones it knows)."""
        name = self.symbol(symbol, market)
        if market == "spot":
            return 1.0
        value = CONTRACT_VALUES.get(name)
        if value is None:
            known = ", ".join(symbol_of(n) for n in CONTRACT_VALUES)
            raise ValueError(
                f"a swap whose contract value arb knows ({known}), got {symbol.upper()} ({name}): Tardis gives "
                "its amounts in contracts"
            )
        return value


TARDIS = OkxTardisNames()
