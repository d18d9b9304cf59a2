"""Moving money: each venue's wallets, withdrawal terms, withdrawals, deposits and transfers between its
own wallets, through ccxt, behind one base class (:class:`WalletVenue`; each venue's in
``connectors/<venue>/wallet.py`` as ``WALLET``).

Networks are named by ccxt's codes (``TRC20``, ``ERC20``, ``BEP20``, ``BTC``), wallets by the account names
ccxt's ``transfer`` takes (``spot``, ``linear``, ``funding``, ``unified``). Amounts are :class:`Decimal`.
A refusal is decided on the venue's own code (:meth:`WalletVenue.refusal`), never on ccxt's exception
class: ccxt's Binance picks its ``sapi`` error table by host, so on any other host a wallet code gets a
generic class.
"""

from __future__ import annotations

__all__ = ["BLOCK_SECONDS", "NetworkTerm", "Sought", "WalletRecord", "WalletVenue", "venue_answer"]

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

BLOCK_SECONDS: Final = {"ERC20": 12, "TRC20": 3, "BEP20": 3, "BTC": 600}
"""About how long one block takes on each network, seconds: an arrival estimate from a count of
confirmations where the venue gives none (60 s a block on a network not listed)."""


@dataclass(frozen=True, slots=True)
class NetworkTerm:
    """One venue's terms for ``asset`` on ``network`` (ccxt's code; ``network_id`` the venue's own).

    ``fee``, ``minimum``, ``maximum``: of a withdrawal, in ``asset``. ``arrival_s``: the venue's estimate of
    a transfer's time, seconds (Binance's ``estimatedArrivalTime``), else None; ``confirmations``: blocks a
    deposit waits for."""

    asset: str
    network: str
    network_id: str
    fee: Decimal
    minimum: Decimal
    maximum: Decimal
    withdraw_enabled: bool
    deposit_enabled: bool
    confirmations: int
    arrival_s: int | None


@dataclass(frozen=True, slots=True)
class WalletRecord:
    """A withdrawal or a deposit as the venue's history shows it: ``status`` ccxt's (``pending``, ``ok``,
    ``failed``, ``canceled``); ``amount`` what went on chain (withdrawal) or arrived (deposit)."""

    id: str
    status: str
    amount: Decimal
    txid: str
    address: str
    time_ms: int


@dataclass(frozen=True, slots=True)
class Sought:
    """What :meth:`WalletVenue.find_withdrawal` looks for when the venue's id is unknown: the withdrawal
    ``client_id`` sent, or the one to ``address`` of ``amount`` since ``since_ms`` and not in ``known``."""

    client_id: str
    address: str
    amount: Decimal
    since_ms: int
    known: frozenset[str]


def record_of(row: dict[str, Any]) -> WalletRecord:
    """A ccxt transaction structure as a :class:`WalletRecord`."""
    return WalletRecord(str(row.get("id") or ""), str(row.get("status") or ""), Decimal(str(row.get("amount") or 0)),
                        str(row.get("txid") or ""), str(row.get("address") or row.get("addressTo") or ""),
                        int(row.get("timestamp") or 0))  # fmt: skip


def venue_answer(error: BaseException) -> dict[str, Any] | None:
    """The JSON body a venue answered with, out of a ccxt exception's text (``'<venue> {"code":-4035,...}'``),
    or None when the exception carries none (the request did not get an answer)."""
    text = str(error)
    start = text.find("{")
    if start < 0:
        return None
    try:
        body = json.loads(text[start:])
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


class WalletVenue:
    """One venue's wallet operations on a ccxt client of it (``client``), for account ``market`` (spot,
    linear) of arb's venue file: the venue's class fills in what is its own; ccxt's unified calls serve
    every venue for the rest."""

    name: str
    resend_is_safe: bool
    """Whether the venue refuses a withdrawal whose client id it has run (so sending it again is safe)."""
    fee_inside: bool
    """Whether the fee comes out of the amount sent (Binance) or is paid beside it (Bybit's default)."""

    def trading_wallet(self, market: str) -> str:
        """Where the account trades from."""
        raise NotImplementedError

    def withdraw_wallet(self, market: str) -> str:
        """Where a withdrawal leaves from."""
        raise NotImplementedError

    def deposit_wallet(self, market: str) -> str:
        """Where a deposit is credited."""
        raise NotImplementedError

    async def balances(self, client: Any, market: str, asset: str) -> dict[str, Decimal]:
        """What may leave each wallet of ``asset`` now (free balances), by wallet."""
        raise NotImplementedError

    async def networks(self, client: Any, assets: Sequence[str]) -> dict[str, list[NetworkTerm]]:
        """The networks each of ``assets`` moves on, with the venue's terms (one request)."""
        raise NotImplementedError

    async def deposit_address(self, client: Any, asset: str, network: str) -> str:
        """The account's own deposit address for ``asset`` on ``network``."""
        return str((await client.fetch_deposit_address(asset, {"network": network}))["address"])

    async def withdraw(self, client: Any, asset: str, amount: Decimal, address: str, network: str,
                       client_id: str) -> str:  # fmt: skip
        """Send a withdrawal from :meth:`withdraw_wallet`; returns the venue's id."""
        raise NotImplementedError

    async def find_withdrawal(
        self,
        client: Any,
        asset: str,
        client_id: str,
        *,
        venue_id: str,
        address: str,
        amount: Decimal,
        since_ms: int,
        known: frozenset[str],
    ) -> WalletRecord | None:
        """The withdrawal of ``venue_id``, or when it is unknown the one ``client_id`` (or, where the history
        does not show client ids, the same address and amount since ``since_ms`` and not in ``known``) sent."""
        params = self.withdrawals_query(client_id, venue_id)
        rows = await (client.fetch_withdrawals(asset) if params is None else
                      client.fetch_withdrawals(asset, params=params))  # fmt: skip
        sought = Sought(client_id, address, amount, since_ms, known)
        for row in rows:
            found = record_of(row)
            if (found.id == venue_id) if venue_id else self.sent(row, found, sought):
                return found
        return None

    def withdrawals_query(self, client_id: str, venue_id: str) -> dict[str, Any] | None:
        """The venue's own ``params`` to ccxt's ``fetch_withdrawals`` for :meth:`find_withdrawal`; None: none."""
        return None

    def sent(self, row: dict[str, Any], found: WalletRecord, sought: Sought) -> bool:
        """Whether the withdrawal ``row`` (ccxt's structure; ``found`` its record) is the one ``sought`` sent,
        by the venue's own mark of it: :meth:`find_withdrawal`'s test where no ``venue_id`` is known."""
        raise NotImplementedError

    async def find_deposit(self, client: Any, asset: str, txid: str) -> WalletRecord | None:
        """The deposit of transaction ``txid``, or None while the venue has not seen it."""
        return next((record_of(r) for r in await client.fetch_deposits(asset) if r.get("txid") == txid), None)

    async def transfer(self, client: Any, asset: str, amount: Decimal, from_wallet: str, to_wallet: str,
                       client_id: str) -> str:  # fmt: skip
        """Move ``amount`` between two of the account's wallets now; returns the venue's id."""
        raise NotImplementedError

    def refusal(self, error: BaseException) -> tuple[str, str] | None:
        """(the venue's code, its message) when ``error`` is the venue's refusal; None when the request got
        no answer (its fate is unknown)."""
        raise NotImplementedError

    def already_done(self, code: str) -> bool:
        """Whether a refusal with ``code`` says the client id was used (the request ran before)."""
        raise NotImplementedError
