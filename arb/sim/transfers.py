"""Withdrawals, deposits and internal transfers between the fake venues: one shared :class:`Chain`.

Each trading venue has a :class:`VenueWallets`: its accounts' wallets (the one its ledger trades from and
the others a real account has beside it: Binance's ``MAIN``, ``UMFUTURE``, ``FUNDING``, Bybit's ``UNIFIED``
and ``FUND``), the deposit address it gives an account per coin and network, each account's withdrawal
allow-list, and its terms per coin and network (:class:`NetworkTerms`: fee, minimum, maximum, timing,
suspensions). The venues' endpoint modules (:mod:`arb.sim.binance.transfers`, :mod:`arb.sim.bybit.transfers`)
render it in each venue's wire format; this module knows no wire format.

A withdrawal the venue accepts is debited at once (amount and fee) and is ``PROCESSING``. ``delay_s`` of
the sender's terms later (on the venues' clock) it is on chain: ``COMPLETED`` with a txid, and, when the
address is one that a venue joined to the same :class:`Chain` gave out for that network, a ``PENDING``
deposit appears on that venue. ``confirm_s`` of the receiver's terms after that, the deposit is
``CREDITED`` to the receiver's deposit wallet (while the receiver's deposits on that network are suspended
it waits). A withdrawal to an address no joined venue gave out leaves the fakes: completed, credited
nowhere. :meth:`VenueWallets.fail_next` makes the next accepted withdrawals fail on chain instead:
``FAILED`` and refunded. Nothing moves by itself: :meth:`Chain.settle` (every transfer request and every
venue ``tick()`` call it) applies what the clock has reached.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_NETWORKS",
    "Chain",
    "ChainDeposit",
    "ChainWithdrawal",
    "DepositState",
    "InternalTransfer",
    "NetworkTerms",
    "Refusal",
    "TransferRefusedError",
    "VenueWallets",
    "WithdrawalState",
    "sequence_ids",
]

import hashlib
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum

from arb.sim.ledger import ZERO, Ledger


@dataclass(frozen=True, slots=True)
class NetworkTerms:
    """One venue's terms for ``coin`` on ``network`` (the venues' network id: ``ETH``, ``TRX``, ``BSC``...).

    ``fee`` and ``minimum``/``maximum`` are per withdrawal, in the coin. ``delay_s`` is how long a
    withdrawal from this venue takes to be on chain; ``confirm_s`` how long a deposit to this venue takes
    from then to be credited, over ``confirmations`` blocks. ``withdraw_enabled``/``deposit_enabled``
    false: suspended. ``busy`` and ``arrival_min`` are what Binance reports as ``busy`` and
    ``estimatedArrivalTime`` (minutes; by default ``delay_s + confirm_s`` rounded up).
    """

    coin: str
    network: str
    fee: Decimal = Decimal("1")
    minimum: Decimal = Decimal("10")
    maximum: Decimal = Decimal("9999999")
    delay_s: float = 60.0
    confirm_s: float = 120.0
    confirmations: int = 12
    withdraw_enabled: bool = True
    deposit_enabled: bool = True
    busy: bool = False
    is_default: bool = False
    arrival_min: int | None = None

    @property
    def arrival(self) -> int:
        """Binance's ``estimatedArrivalTime`` in minutes."""
        return self.arrival_min if self.arrival_min is not None else -int(-(self.delay_s + self.confirm_s) // 60)


def _usdt(network: str, fee: str, minimum: str, delay_s: float, confirm_s: float, blocks: int) -> NetworkTerms:
    return NetworkTerms("USDT", network, Decimal(fee), Decimal(minimum), delay_s=delay_s, confirm_s=confirm_s,
                        confirmations=blocks, is_default=network == "ETH")  # fmt: skip


DEFAULT_NETWORKS = (
    _usdt("ETH", "3", "10", 60.0, 180.0, 6),
    _usdt("TRX", "1", "10", 30.0, 60.0, 20),
    _usdt("BSC", "0.29", "10", 30.0, 45.0, 15),
    NetworkTerms("BTC", "BTC", Decimal("0.0002"), Decimal("0.001"), delay_s=60.0, confirm_s=1200.0,
                 confirmations=2, is_default=True),
)  # fmt: skip
"""The terms a venue offers unless given others: USDT on Ethereum, Tron and BNB Smart Chain, and BTC."""


class Refusal(Enum):
    """Why a venue refused a withdrawal or a transfer; each venue answers with its own code."""

    UNKNOWN_COIN = "unknown_coin"
    UNKNOWN_NETWORK = "unknown_network"
    SUSPENDED = "suspended"
    NOT_ALLOWED = "not_allowed"
    """The address is not on the account's allow-list (and the list is on)."""
    BELOW_MINIMUM = "below_minimum"
    ABOVE_MAXIMUM = "above_maximum"
    NOT_ABOVE_FEE = "not_above_fee"
    INSUFFICIENT = "insufficient"
    DUPLICATE = "duplicate"
    """A client id the venue keeps unique was used before."""
    BAD_WALLET = "bad_wallet"


class TransferRefusedError(Exception):
    """The venue refused the request before acting on it (nothing changed)."""

    def __init__(self, reason: Refusal, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail


Paid = tuple[str, Decimal]
"""What one wallet paid towards a withdrawal: ``(wallet, amount)``."""


class WithdrawalState(Enum):
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


class DepositState(Enum):
    PENDING = "pending"
    CREDITED = "credited"


@dataclass(slots=True)
class ChainWithdrawal:
    """One withdrawal: ``amount`` goes on chain, ``fee`` stays with the venue; ``taken`` is what each wallet
    paid (refunded there if it fails)."""

    withdrawal_id: str
    account: str
    coin: str
    network: str
    address: str
    amount: Decimal
    fee: Decimal
    client_id: str
    taken: tuple[Paid, ...]
    created_ms: int
    updated_ms: int
    doomed: bool = False
    state: WithdrawalState = WithdrawalState.PROCESSING
    txid: str = ""
    on_chain_ms: int = 0


@dataclass(slots=True)
class ChainDeposit:
    """One deposit to an address this venue gave out, from ``withdrawal`` (on another joined venue)."""

    deposit_id: str
    account: str
    coin: str
    network: str
    address: str
    amount: Decimal
    txid: str
    wallet: str
    created_ms: int
    confirmations: int
    confirm_s: float
    state: DepositState = DepositState.PENDING
    credited_ms: int = 0

    def confirmed(self, now_ms: int) -> int:
        """Blocks confirmed by ``now_ms`` (all of them once credited)."""
        if self.state is DepositState.CREDITED or self.confirm_s <= 0:
            return self.confirmations
        share = (now_ms - self.created_ms) / (self.confirm_s * 1000)
        return max(0, min(self.confirmations - 1, int(share * self.confirmations)))


@dataclass(frozen=True, slots=True)
class InternalTransfer:
    """A move between two wallets of one account (Binance's universal transfer, Bybit's inter-transfer)."""

    transfer_id: str
    account: str
    coin: str
    amount: Decimal
    source: str
    target: str
    time_ms: int


@dataclass(slots=True)
class AllowList:
    on: bool
    addresses: set[tuple[str, str]] = field(default_factory=set)
    """``(network, address)`` pairs allowed."""


def _digest(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def _address(venue: str, account: str, network: str) -> str:
    # a deposit address in the network's style: Tron's base58 'T...', Bitcoin's bech32 'bc1...', else EVM '0x...'
    digest = _digest(venue, account, network)
    if network == "TRX":
        alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
        return "T" + "".join(alphabet[int((digest * 2)[k : k + 2], 16) % 58] for k in range(0, 66, 2))
    if network == "BTC":
        return "bc1q" + digest[:38]
    return "0x" + digest[:40]


class VenueWallets:
    """One venue's wallets, addresses, allow-lists and transfers, for ``ledger``'s accounts.

    ``name`` tells the venue's addresses apart from another's. ``trading`` is the wallet the ledger holds
    (its balances are the ledger account's, its free amount what may leave it: on a linear ledger the wallet
    less the positions' initial margin); the other ``wallets`` are kept here. A deposit is credited to
    ``deposit_wallet``. ``allow_list_on``: whether a new account's withdrawal allow-list is on (Bybit: always,
    its address book; Binance: when the account turned its whitelist on). ``networks``: the terms per coin
    and network (:data:`DEFAULT_NETWORKS` by default). ``ids(kind)`` makes the next id of a withdrawal,
    deposit or transfer, as the venue spells it. ``clock`` is the venue's time in seconds.
    """

    def __init__(
        self,
        name: str,
        ledger: Ledger,
        *,
        trading: str,
        wallets: Sequence[str],
        deposit_wallet: str,
        allow_list_on: bool,
        clock: Callable[[], float],
        ids: Callable[[str], str],
        networks: Iterable[NetworkTerms] = DEFAULT_NETWORKS,
    ) -> None:
        self.name = name
        self.ledger = ledger
        self.trading = trading
        self.wallets = tuple(wallets)
        self.deposit_wallet = deposit_wallet
        self.allow_list_on = allow_list_on
        self.networks = {(t.coin, t.network): t for t in networks}
        self.chain = Chain()
        self.chain.join(self)
        self.withdrawals: list[ChainWithdrawal] = []
        """Every withdrawal accepted, oldest first."""
        self.deposits: list[ChainDeposit] = []
        """Every deposit seen on chain, oldest first."""
        self.transfers: list[InternalTransfer] = []
        """Every internal transfer, oldest first."""
        self.withdraw_requests: list[tuple[str, str]] = []
        """``(account, client id)`` of every withdrawal request that reached the venue, refused ones included."""
        self._clock = clock
        self._ids = ids
        self._held: dict[tuple[str, str, str], Decimal] = {}
        self._allow: dict[str, AllowList] = {}
        self._doom = 0

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    # -- what tests set --------------------------------------------------------------------------------

    def set_terms(self, terms: NetworkTerms) -> None:
        """Offer (or replace) the terms of ``terms.coin`` on ``terms.network``."""
        self.networks[(terms.coin, terms.network)] = terms

    def allow(self, account: str, network: str, address: str) -> None:
        """Put ``address`` on ``network`` on ``account``'s withdrawal allow-list."""
        self._allow_list(account).addresses.add((network, address))

    def allow_list(self, account: str, *, on: bool) -> None:
        """Turn ``account``'s allow-list on (only listed addresses may be withdrawn to) or off."""
        self._allow_list(account).on = on

    def fail_next(self, count: int = 1) -> None:
        """The next ``count`` withdrawals accepted fail on chain: ``FAILED`` and refunded once due."""
        self._doom += count

    def fund(self, account: str, wallet: str, coin: str, amount: Decimal | str) -> None:
        """Add ``amount`` of ``coin`` to ``account``'s ``wallet`` (a deposit from nowhere, for set-ups)."""
        self._move(account, wallet, coin, Decimal(amount))

    # -- what the venue's endpoints ask ------------------------------------------------------------------

    def address(self, account: str, coin: str, network: str) -> str:
        """The deposit address ``account`` is given for ``coin`` on ``network`` (the same every time)."""
        self._terms(coin, network)
        address = _address(self.name, account, network)
        self.chain.addresses[(network, address)] = (self, account)
        return address

    def coins(self) -> list[str]:
        """The coins with at least one network, sorted."""
        return sorted({coin for coin, _ in self.networks})

    def networks_of(self, coin: str) -> list[NetworkTerms]:
        """``coin``'s networks, the default first."""
        found = [t for (c, _), t in self.networks.items() if c == coin]
        return sorted(found, key=lambda t: (not t.is_default, t.network))

    def default_network(self, coin: str) -> str:
        found = self.networks_of(coin)
        if not found:
            raise TransferRefusedError(Refusal.UNKNOWN_COIN, coin)
        return found[0].network

    def balance(self, account: str, wallet: str, coin: str) -> Decimal:
        """What ``account`` may move out of ``wallet`` in ``coin`` now."""
        if wallet != self.trading:
            return self._held.get((account, wallet, coin), ZERO)
        held = self.ledger.accounts.get(account)
        if held is None:
            return ZERO
        free = held.balance(coin).free
        if self.ledger.market == "linear" and coin == self.ledger.settle_asset:
            free -= sum((p.initial_margin for p in held.positions.values()), ZERO)
        return free

    def withdraw(
        self, account: str, coin: str, network: str, address: str, amount: Decimal, *, client_id: str = "",
        sources: Sequence[str], fee_on_top: bool, unique_client_id: bool = False,
    ) -> ChainWithdrawal:  # fmt: skip
        """Accept a withdrawal of ``amount`` (``fee_on_top``: the address receives ``amount`` and the fee is
        debited beside it, Bybit's ``feeType`` 0; else the fee comes out of it, Binance's way), paid from
        ``sources`` in turn; raises :class:`TransferRefusedError` (nothing changes) when the venue refuses it.

        Checked in this order: the coin and network, the network's withdrawals, the allow-list, the minimum
        and maximum (and, with the fee inside, that the amount exceeds it), the client id
        (``unique_client_id``), the balance.
        """
        self.settle()
        self.withdraw_requests.append((account, client_id))
        terms = self._terms(coin, network)
        if not terms.withdraw_enabled:
            raise TransferRefusedError(Refusal.SUSPENDED, f"{coin} on {network}")
        allowed = self._allow_list(account)
        if allowed.on and (network, address) not in allowed.addresses:
            raise TransferRefusedError(Refusal.NOT_ALLOWED, address)
        if amount < terms.minimum:
            raise TransferRefusedError(Refusal.BELOW_MINIMUM, str(terms.minimum))
        if amount > terms.maximum:
            raise TransferRefusedError(Refusal.ABOVE_MAXIMUM, str(terms.maximum))
        if not fee_on_top and amount <= terms.fee:
            raise TransferRefusedError(Refusal.NOT_ABOVE_FEE, str(terms.fee))
        if unique_client_id and client_id and any(w.client_id == client_id for w in self.withdrawals):
            raise TransferRefusedError(Refusal.DUPLICATE, client_id)
        debit = amount + terms.fee if fee_on_top else amount
        taken = self._take(account, coin, debit, sources)
        now = self.now_ms()
        withdrawal = ChainWithdrawal(
            self._ids("withdrawal"), account, coin, network, address, debit - terms.fee, terms.fee, client_id,
            taken, now, now, doomed=self._doom > 0,
        )  # fmt: skip
        self._doom = max(0, self._doom - 1)
        self.withdrawals.append(withdrawal)
        return withdrawal

    def transfer(self, account: str, coin: str, amount: Decimal, source: str, target: str,
                 transfer_id: str | None = None) -> InternalTransfer:  # fmt: skip
        """Move ``amount`` of ``coin`` from ``account``'s wallet ``source`` to ``target`` at once; raises
        :class:`TransferRefusedError` for an unknown or identical wallet, a used ``transfer_id``, or the balance."""
        self.settle()
        if source not in self.wallets or target not in self.wallets or source == target:
            raise TransferRefusedError(Refusal.BAD_WALLET, f"{source} -> {target}")
        if transfer_id is not None and any(t.transfer_id == transfer_id for t in self.transfers):
            raise TransferRefusedError(Refusal.DUPLICATE, transfer_id)
        if amount <= 0:
            raise TransferRefusedError(Refusal.BELOW_MINIMUM, str(amount))
        self._take(account, coin, amount, (source,))
        self._move(account, target, coin, amount)
        record = InternalTransfer(transfer_id or self._ids("transfer"), account, coin, amount, source, target,
                                  self.now_ms())  # fmt: skip
        self.transfers.append(record)
        return record

    def settle(self) -> None:
        """Apply what the chain's clock has reached, on every joined venue."""
        self.chain.settle()

    # -- the chain's side ----------------------------------------------------------------------------------

    def _advance(self) -> None:
        # this venue's withdrawals that are due go on chain (or fail); its deposits that are due are credited
        now = self.now_ms()
        for w in self.withdrawals:
            due = w.created_ms + int(self._terms(w.coin, w.network).delay_s * 1000)
            if w.state is not WithdrawalState.PROCESSING or now < due:
                continue
            w.on_chain_ms = w.updated_ms = due
            if w.doomed:
                w.state = WithdrawalState.FAILED
                for wallet, paid in w.taken:
                    self._move(w.account, wallet, w.coin, paid)
                continue
            w.state, w.txid = WithdrawalState.COMPLETED, "0x" + _digest("tx", self.name, w.withdrawal_id)
            if (owner := self.chain.addresses.get((w.network, w.address))) is not None:
                owner[0]._receive(owner[1], w)
        for d in self.deposits:
            terms = self.networks.get((d.coin, d.network))
            due = d.created_ms + int(d.confirm_s * 1000)
            if d.state is DepositState.PENDING and now >= due and terms is not None and terms.deposit_enabled:
                d.state, d.credited_ms = DepositState.CREDITED, due
                self._move(d.account, d.wallet, d.coin, d.amount)

    def _receive(self, account: str, w: ChainWithdrawal) -> None:
        terms = self.networks.get((w.coin, w.network))
        confirmations, confirm_s = (terms.confirmations, terms.confirm_s) if terms else (1, 0.0)
        deposit = ChainDeposit(self._ids("deposit"), account, w.coin, w.network, w.address, w.amount, w.txid,
                               self.deposit_wallet, w.on_chain_ms, confirmations, confirm_s)  # fmt: skip
        self.deposits.append(deposit)

    # -- wallets ---------------------------------------------------------------------------------------------

    def _terms(self, coin: str, network: str) -> NetworkTerms:
        terms = self.networks.get((coin, network))
        if terms is None:
            known = any(c == coin for c, _ in self.networks)
            raise TransferRefusedError(Refusal.UNKNOWN_NETWORK if known else Refusal.UNKNOWN_COIN, f"{coin} {network}")
        return terms

    def _allow_list(self, account: str) -> AllowList:
        return self._allow.setdefault(account, AllowList(self.allow_list_on))

    def _take(self, account: str, coin: str, amount: Decimal, sources: Sequence[str]) -> tuple[Paid, ...]:
        if any(s not in self.wallets for s in sources):
            raise TransferRefusedError(Refusal.BAD_WALLET, ",".join(sources))
        if sum((self.balance(account, s, coin) for s in sources), ZERO) < amount:
            raise TransferRefusedError(Refusal.INSUFFICIENT, f"{coin} {amount}")
        taken, left = [], amount
        for source in sources:
            part = min(left, self.balance(account, source, coin))
            if part > 0:
                self._move(account, source, coin, -part)
                taken.append((source, part))
                left -= part
        return tuple(taken)

    def _move(self, account: str, wallet: str, coin: str, amount: Decimal) -> None:
        if wallet == self.trading:
            held = self.ledger.accounts[account]
            held.balance(coin).free += amount
        else:
            key = (account, wallet, coin)
            self._held[key] = self._held.get(key, ZERO) + amount


class Chain:
    """The networks between the venues joined to it: who gave out which address, and the clock that moves
    transfers on (each venue's own; tests give the venues one clock)."""

    def __init__(self) -> None:
        self.venues: list[VenueWallets] = []
        self.addresses: dict[tuple[str, str], tuple[VenueWallets, str]] = {}
        """``(network, address)`` -> the venue and account it belongs to."""

    def join(self, *venues: VenueWallets) -> Chain:
        """Put ``venues`` on this chain (each leaves the one it was on, with the addresses it gave out)."""
        for venue in venues:
            old = venue.chain
            if old is not self and venue in old.venues:
                old.venues.remove(venue)
                moved = {k: v for k, v in old.addresses.items() if v[0] is venue}
                for key in moved:
                    del old.addresses[key]
                self.addresses.update(moved)
            venue.chain = self
            if venue not in self.venues:
                self.venues.append(venue)
        return self

    def settle(self) -> None:
        """Every joined venue applies what its clock has reached: due withdrawals go on chain (their
        deposits appear on the receiving venue), then due deposits are credited."""
        for venue in self.venues:
            venue._advance()
        for venue in self.venues:
            venue._advance()


def sequence_ids(formats: dict[str, Callable[[int], str]], first: int = 1) -> Callable[[str], str]:
    """An ``ids(kind)`` for :class:`VenueWallets`: each kind numbered from ``first``, spelled by its format."""
    counters = {kind: itertools.count(first) for kind in formats}
    return lambda kind: formats[kind](next(counters[kind]))
