"""Who may act on the fake Hyperliquid: the accounts (by address), the API wallets (agents) each approved, every
signer's nonces, and each account's address budget. Pure state, no I/O: :class:`Signers` takes an ``/exchange``
body and answers the account it acts for, or the venue's request-level refusal.

* User-signed actions (``approveAgent``, ``approveBuilderFee``, transfers: their own EIP-712 domain, marked by
  ``signatureChainId``) are not served: refused with a *chosen* text; an agent is approved by the test.
* The signer is recovered from the signature (:mod:`.signing`); it must be an account or an agent an account
  approved (:meth:`Signers.approve_agent`), else ``User or API Wallet 0x... does not exist.``
* ``expiresAfter`` (ms) in the past: refused (text *chosen*: ``Action expired ...``).
* Nonces, per signer (Hyperliquid's documentation, "Nonces and API wallets"): the 100 highest are kept; a new
  one must not be among them, must exceed the smallest once 100 are kept, and must lie within (now - 2 days,
  now + 1 day). Refused as ``Invalid nonce: duplicate nonce <n>`` (as seen on the venue) or with a *chosen* text.
* The address budget ("Rate limits and user limits"): 10,000 requests plus one per USDC the account traded;
  an order or cancel batch of n counts n, anything else one; cancels may go on to ``min(cap + 100000, 2 cap)``.
  Past it: ``Too many cumulative requests sent (<used> > <cap>) for cumulative volume traded $<v>.``
"""

from __future__ import annotations

__all__ = ["INFO_WEIGHTS", "KEPT_NONCES", "AddressBudget", "IpWeight", "Refused", "Signers"]

import bisect
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from arb.sim.hyperliquid import wire
from arb.sim.hyperliquid.signing import SignatureError, action_hash, recover_signer

KEPT_NONCES = 100
_DAY_MS = 86_400_000
INFO_WEIGHTS = {"l2Book": 2, "allMids": 2, "clearinghouseState": 2, "orderStatus": 2, "spotClearinghouseState": 2,
                "exchangeStatus": 2}  # fmt: skip
"""The ``/info`` types of weight 2; every other weighs 20 (Hyperliquid's "Rate limits and user limits"; the extra
weight of long fill and funding histories is not counted)."""


class IpWeight:
    """The REST weight of one IP in a rolling minute of ``clock`` (seconds): ``limit`` (Hyperliquid's 1200);
    ``/exchange`` weighs ``1 + floor(batch / 40)``, ``/info`` :data:`INFO_WEIGHTS` or 20."""

    def __init__(self, clock: Callable[[], float], limit: int = 1200) -> None:
        self.limit = limit
        self._clock = clock
        self._hits: deque[tuple[float, int]] = deque()
        self.refused = 0
        """Requests refused for weight."""

    def used(self) -> int:
        """The weight used in the minute up to now."""
        now = self._clock()
        while self._hits and self._hits[0][0] <= now - 60.0:
            self._hits.popleft()
        return sum(w for _, w in self._hits)

    def take(self, weight: int) -> bool:
        """Count ``weight``; False (nothing counted) when it would pass the limit."""
        if self.used() + weight > self.limit:
            self.refused += 1
            return False
        self._hits.append((self._clock(), weight))
        return True


class Refused(Exception):  # noqa: N818 - the venue's refusal, not an error of the fake
    """A request the venue refuses as a whole: :attr:`answer` is its body (HTTP 200)."""

    def __init__(self, answer: dict[str, Any]) -> None:
        super().__init__(str(answer.get("response")))
        self.answer = answer


@dataclass(slots=True)
class AddressBudget:
    """One account's address-based request count and its initial allowance."""

    initial: int
    used: int = 0

    def cap(self, volume: Decimal) -> int:
        """The requests allowed after ``volume`` USDC traded."""
        return self.initial + int(volume)


@dataclass(slots=True)
class _Nonces:
    kept: list[int] = field(default_factory=list)
    """The highest nonces used, ascending, at most :data:`KEPT_NONCES`."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who an accepted request acts for: the account's ledger name and address, and the address that signed."""

    account: str
    address: str
    signer: str


class Signers:
    """The accounts, agents, nonces and budgets of one fake Hyperliquid (``mainnet``: the ``source`` signed)."""

    def __init__(self, clock_ms: Callable[[], int], *, mainnet: bool = True, address_budget: int = 10_000) -> None:
        self._clock_ms = clock_ms
        self.mainnet = mainnet
        self._address_budget = address_budget
        self.accounts: dict[str, str] = {}
        """Ledger account name by its address (lower case)."""
        self.agents: dict[str, str] = {}
        """The approving account's address by agent address (lower case)."""
        self.budgets: dict[str, AddressBudget] = {}
        """Each account's address budget, by address."""
        self._nonces: dict[str, _Nonces] = {}
        self.refusals: list[tuple[str, str]] = []
        """``(signer or "", text)`` of every request refused here, in order."""

    def add_account(self, address: str, name: str) -> None:
        """Know ``address`` as account ``name``."""
        address = address.lower()
        if address in self.accounts or address in self.agents:
            raise ValueError(f"address {address} is known already")
        self.accounts[address] = name
        self.budgets[address] = AddressBudget(self._address_budget)

    def approve_agent(self, account_address: str, agent_address: str) -> None:
        """Let ``agent_address`` sign for the account at ``account_address`` (its ``approveAgent``)."""
        account, agent = account_address.lower(), agent_address.lower()
        if account not in self.accounts:
            raise KeyError(f"no account at {account}")
        if agent in self.accounts:
            raise ValueError(f"{agent} is an account, not an API wallet")
        self.agents[agent] = account

    def address_of(self, name: str) -> str:
        """The address of ledger account ``name``."""
        return next(a for a, n in self.accounts.items() if n == name)

    def authenticate(self, body: Mapping[str, Any]) -> Actor:
        """The account an ``/exchange`` body acts for; :class:`Refused` with the venue's answer otherwise.
        Takes the nonce when it accepts."""
        action, nonce, signature = body.get("action"), body.get("nonce"), body.get("signature")
        vault, expires = body.get("vaultAddress"), body.get("expiresAfter")
        if not isinstance(action, dict) or not isinstance(nonce, int) or not isinstance(signature, dict):
            raise self._refuse("", "Failed to deserialize the JSON body into the target type")  # chosen
        if "signatureChainId" in action:  # a user-signed action (approveAgent, approveBuilderFee, transfers)
            raise self._refuse("", f"The fake venue serves no user-signed action: {action.get('type')}")  # chosen
        try:
            connection_id = action_hash(action, nonce, vault if isinstance(vault, str) else None,
                                        expires if isinstance(expires, int) else None)  # fmt: skip
            signer = recover_signer(connection_id, signature, mainnet=self.mainnet)
        except (SignatureError, ValueError, OverflowError) as error:
            raise self._refuse("", f"Invalid signature: {error}") from None  # chosen
        address = signer if signer in self.accounts else self.agents.get(signer)
        if address is None:
            self.refusals.append((signer, "unknown signer"))
            raise Refused(wire.unknown_signer(signer))
        if isinstance(vault, str):
            raise self._refuse(signer, f"Vault not registered: {vault.lower()}")  # chosen: the fake has no vaults
        now = self._clock_ms()
        if isinstance(expires, int) and expires < now:
            raise self._refuse(signer, f"Action expired at {expires}, now {now}")  # chosen
        self._take_nonce(signer, nonce, now)
        return Actor(self.accounts[address], address, signer)

    def charge(self, address: str, count: int, volume: Decimal, *, cancel: bool) -> None:
        """Count ``count`` requests on ``address``'s budget (``volume``: USDC it traded); :class:`Refused` past it."""
        budget = self.budgets[address]
        cap = budget.cap(volume)
        limit = min(cap + 100_000, 2 * cap) if cancel else cap
        if budget.used + count > limit:
            self.refusals.append((address, "address budget"))
            raise Refused(wire.rate_limited(budget.used + count, cap, volume))
        budget.used += count

    def _take_nonce(self, signer: str, nonce: int, now: int) -> None:
        book = self._nonces.setdefault(signer, _Nonces())
        kept = book.kept
        index = bisect.bisect_left(kept, nonce)
        if index < len(kept) and kept[index] == nonce:
            raise self._refuse(signer, f"Invalid nonce: duplicate nonce {nonce}")
        if len(kept) >= KEPT_NONCES and nonce < kept[0]:
            raise self._refuse(signer, f"Invalid nonce: nonce {nonce} is below the smallest kept, {kept[0]}")
        if not now - 2 * _DAY_MS < nonce < now + _DAY_MS:
            raise self._refuse(signer, f"Invalid nonce: nonce {nonce} is too far from the time {now}")
        kept.insert(index, nonce)
        if len(kept) > KEPT_NONCES:
            del kept[0]

    def _refuse(self, signer: str, text: str) -> Refused:
        self.refusals.append((signer, text))
        return Refused(wire.err(text))
