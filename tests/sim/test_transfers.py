"""The chain between the fake venues (:mod:`arb.sim.transfers`), alone: a withdrawal on one venue's wallets
becomes a deposit on another's, moved by the clock. No test sleeps.
"""

from __future__ import annotations

import time
from decimal import Decimal as D  # noqa: N817 - short for the literals below

import pytest

from arb.sim.ledger import Ledger
from arb.sim.transfers import (
    Chain,
    DepositState,
    NetworkTerms,
    Refusal,
    TransferRefusedError,
    VenueWallets,
    WithdrawalState,
    sequence_ids,
)

USDT_TRX = NetworkTerms("USDT", "TRX", D("1"), D("10"), delay_s=30, confirm_s=60, confirmations=20)


class OffsetClock:
    """Real time plus an offset a test moves: both venues' clock."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


# -- the chain model alone -----------------------------------------------------------------------------


def wallets_of(name: str, ledger: Ledger, clock: OffsetClock) -> VenueWallets:
    ids = sequence_ids({"withdrawal": str, "deposit": str, "transfer": str})
    return VenueWallets(name, ledger, trading="T", wallets=("T", "F"), deposit_wallet="F", allow_list_on=False,
                        clock=clock, ids=ids, networks=[USDT_TRX])  # fmt: skip


def test_the_chain_alone_holds_a_deposit_while_the_receiver_suspends_the_network() -> None:
    clock = OffsetClock()
    ledger = Ledger(market="spot", rules=[], book=lambda s: ((), ()), book_version=lambda: 0, clock_ms=lambda: 0)
    ledger.add_account("a", api_key="ka", api_secret="s", balances={"USDT": "100"})
    sender, receiver = wallets_of("x", ledger, clock), wallets_of("y", ledger, clock)
    Chain().join(sender, receiver)
    address = receiver.address("a", "USDT", "TRX")
    receiver.set_terms(NetworkTerms("USDT", "TRX", deposit_enabled=False, confirm_s=60, confirmations=20))
    with pytest.raises(TransferRefusedError) as refused:
        sender.withdraw("a", "USDT", "BSC", address, D(20), sources=("T",), fee_on_top=True)
    assert refused.value.reason is Refusal.UNKNOWN_NETWORK
    sent = sender.withdraw("a", "USDT", "TRX", address, D(20), sources=("T", "F"), fee_on_top=True)
    assert sent.taken == (("T", D(21)),) and ledger.accounts["a"].balance("USDT").free == D(79)
    clock.advance(30 + 600)
    sender.settle()
    [deposit] = receiver.deposits
    assert sent.state is WithdrawalState.COMPLETED and deposit.state is DepositState.PENDING
    assert deposit.confirmed(sent.on_chain_ms + 30_000) == 10
    receiver.set_terms(USDT_TRX)
    receiver.settle()
    assert receiver.deposits[0].state is DepositState.CREDITED and receiver.balance("a", "F", "USDT") == D(20)
