"""Withdrawals, deposits and internal transfers between the fake Binance USD-M and the fake Bybit linear,
end to end: ccxt 4.5, unpatched, built by ``arb.execution.ccxt_setup.make_exchange`` (every REST family,
``sapi`` included, on the fake's URL), on 127.0.0.1, over the venues' one chain (:mod:`arb.sim.transfers`).

Time is the venues' clock (real time plus an offset a test moves: ccxt signs with the real clock); a
transfer moves on when a request reaches a venue after the clock passed its time. No test sleeps.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal as D  # noqa: N817 - short for the literals below
from typing import Any

import ccxt.async_support as ccxt
import pytest

from arb.execution.ccxt_setup import make_exchange
from arb.sim.binance.calls import Call as BinanceCall
from arb.sim.binance.exchange import FakeBinanceExchange
from arb.sim.binance.transfers import BinanceTransfers
from arb.sim.bybit.calls import Call as BybitCall
from arb.sim.bybit.calls import Reply as BybitReply
from arb.sim.bybit.exchange import FakeBybitExchange
from arb.sim.bybit.transfers import BybitTransfers
from arb.sim.ledger import Ledger
from arb.sim.options import VenueOptions
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
from arb.testing.pair_rig import symbol_rules
from tests.support.captures import BYBIT_OB500, FIXTURES
from tests.support.clocks import OffsetClock

BINANCE_LINEAR_BTC_RULES = symbol_rules("binance", "linear")
BYBIT_LINEAR_XRP_RULES = symbol_rules("bybit", "linear", "XRPUSDT")

KEY, SECRET = "fakeKey0123", "fakeSecret0123456789"
TIMEOUT_S = 60.0
"""A bound on a test that hangs, not on its speed."""
USDT_TRX = NetworkTerms("USDT", "TRX", D("1"), D("10"), delay_s=30, confirm_s=60, confirmations=20)


@dataclass
class Pair:
    binance: FakeBinanceExchange
    bybit: FakeBybitExchange
    bn: Any
    """ccxt's binanceusdm on the fake Binance."""
    bb: Any
    """ccxt's bybit (linear) on the fake Bybit."""
    clock: OffsetClock


@asynccontextmanager
async def pair() -> AsyncIterator[Pair]:
    """Binance USD-M (alice: 1000 USDT in UMFUTURE, 500 in MAIN) and Bybit linear (alice: 1000 USDT in
    UNIFIED, 200 in FUND), joined on one chain, each with a ccxt client that has loaded its markets."""
    clock = OffsetClock()
    options = VenueOptions(clock=clock, ping_interval=None, max_frames=10)
    async with (
        FakeBinanceExchange(FIXTURES / "binance_usdm_btcusdt_20240808.gz", market="linear",
                            rules=[BINANCE_LINEAR_BTC_RULES], options=options) as binance,
        FakeBybitExchange(BYBIT_OB500, market="linear", rules=[BYBIT_LINEAR_XRP_RULES], options=options) as bybit,
    ):  # fmt: skip
        for venue in (binance, bybit):
            venue.add_account("alice", api_key=KEY, api_secret=SECRET, balances={"USDT": "1000"})
        Chain().join(binance.transfers.wallets, bybit.transfers.wallets)
        binance.transfers.wallets.fund("alice", "MAIN", "USDT", "500")
        bybit.transfers.wallets.fund("alice", "FUND", "USDT", "200")
        bn = make_exchange("binance", "linear", rest=binance.rest_url, api_key=KEY, api_secret=SECRET)
        bb = make_exchange("bybit", "linear", rest=bybit.rest_url, api_key=KEY, api_secret=SECRET)
        try:
            async with asyncio.timeout(TIMEOUT_S):
                await asyncio.gather(bn.load_markets(), bb.load_markets())
            yield Pair(binance, bybit, bn, bb, clock)
        finally:
            await asyncio.gather(bn.close(), bb.close())


def advance(p: Pair, seconds: float) -> None:
    """Move the venues' clock on, and the clients' idea of the venues' time with it (as ccxt's
    ``load_time_difference`` would after a sync)."""
    p.clock.advance(seconds)
    for client in (p.bn, p.bb):
        client.options["timeDifference"] = -int(p.clock.offset * 1000)


def balance(venue: FakeBinanceExchange | FakeBybitExchange, wallet: str) -> D:
    return venue.transfers.wallets.balance("alice", wallet, "USDT")


async def test_fees_and_networks_are_read_through_fetch_deposit_withdraw_fees_on_both_venues() -> None:
    async with pair() as p, asyncio.timeout(TIMEOUT_S):
        p.binance.transfers.wallets.set_terms(NetworkTerms("USDT", "TRX", D("1.5"), D("20"), withdraw_enabled=False))
        bn_fees, bb_fees = await asyncio.gather(p.bn.fetch_deposit_withdraw_fees(), p.bb.fetch_deposit_withdraw_fees())
        bn_usdt, bb_usdt = bn_fees["USDT"], bb_fees["USDT"]
        assert bn_usdt["networks"]["TRC20"]["withdraw"]["fee"] == 1.5
        assert bn_usdt["networks"]["ERC20"]["withdraw"]["fee"] == 3.0  # ETH is USDT's default network
        assert bn_usdt["withdraw"]["fee"] == 3.0
        assert bb_usdt["networks"]["TRC20"]["withdraw"]["fee"] == 1.0
        assert set(bb_usdt["networks"]) == {"ERC20", "TRC20", "BEP20"}
        trx = next(n for n in bn_usdt["info"]["networkList"] if n["network"] == "TRX")
        assert (trx["withdrawEnable"], trx["withdrawMin"], trx["minConfirm"], trx["estimatedArrivalTime"]) == (
            False, "20", 12, 3)  # fmt: skip
        assert trx["busy"] is False and bn_usdt["info"]["free"] == "500"
        chain = next(c for c in bb_usdt["info"]["chains"] if c["chain"] == "TRX")
        assert (chain["withdrawMin"], chain["confirmation"], chain["chainWithdraw"]) == ("10", "20", "1")
        assert {row["coin"] for row in bb_fees.values() for row in [row["info"]]} >= {"USDT", "XRP", "BTC"}


async def test_a_withdrawal_from_binance_lands_on_bybit_after_the_delay_and_comes_back() -> None:
    async with pair() as p, asyncio.timeout(TIMEOUT_S):
        # Binance: the futures wallet to the spot wallet, the one withdrawals leave from
        moved = await p.bn.transfer("USDT", 300, "linear", "spot")
        assert moved["id"] and (balance(p.binance, "UMFUTURE"), balance(p.binance, "MAIN")) == (D(700), D(800))
        to_bybit = await p.bb.fetch_deposit_address("USDT", {"network": "TRC20"})
        assert to_bybit["address"].startswith("T") and to_bybit["network"] == "TRC20"
        assert to_bybit == await p.bb.fetch_deposit_address("USDT", {"network": "TRC20"})  # the same every time
        sent = await p.bn.withdraw("USDT", 101, to_bybit["address"], {"network": "TRC20", "withdrawOrderId": "rb1"})
        assert balance(p.binance, "MAIN") == D(699)  # debited at once; the fee (1) comes out of the 101
        [pending] = await p.bn.fetch_withdrawals("USDT")
        assert (pending["id"], pending["status"], pending["amount"], pending["fee"]["cost"]) == (
            sent["id"], "pending", 100.0, 1.0)  # fmt: skip
        assert pending["info"]["withdrawOrderId"] == "rb1" and not pending["txid"]
        assert await p.bb.fetch_deposits("USDT") == []

        advance(p, 31)  # on chain (Binance's delay, 30 s): completed, the deposit seen and confirming
        [done] = await p.bn.fetch_withdrawals("USDT")
        assert done["status"] == "ok" and done["txid"]
        [arriving] = await p.bb.fetch_deposits("USDT")
        assert (arriving["status"], arriving["amount"], arriving["txid"]) == ("pending", 100.0, done["txid"])
        assert balance(p.bybit, "FUND") == D(200)

        advance(p, 60)  # Bybit's confirmations (60 s): credited to the funding wallet
        [credited] = await p.bb.fetch_deposits("USDT")
        assert credited["status"] == "ok" and credited["info"]["confirmations"] == "20"
        assert balance(p.bybit, "FUND") == D(300)
        await p.bb.transfer("USDT", 300, "funding", "unified")
        assert (balance(p.bybit, "FUND"), balance(p.bybit, "UNIFIED")) == (D(0), D(1300))
        wallet = await p.bb.fetch_balance()
        assert wallet["USDT"]["total"] == 1300.0

        # and back: Bybit pays the fee beside the amount (feeType 0), from the unified wallet (ccxt: UTA)
        to_binance = await p.bn.fetch_deposit_address("USDT", {"network": "BEP20"})
        p.bybit.transfers.wallets.allow("alice", "BSC", to_binance["address"])
        back = await p.bb.withdraw("USDT", 50, to_binance["address"], {"network": "BEP20"})
        assert balance(p.bybit, "UNIFIED") == D("1249.71")
        advance(p, 30 + 45)
        [bn_deposit] = await p.bn.fetch_deposits("USDT")
        [bb_withdrawal] = await p.bb.fetch_withdrawals("USDT")
        assert (bb_withdrawal["id"], bb_withdrawal["status"], bb_withdrawal["amount"]) == (back["id"], "ok", 50.0)
        assert (bn_deposit["status"], bn_deposit["amount"], bn_deposit["network"]) == ("ok", 50.0, "BEP20")
        assert bn_deposit["info"]["confirmTimes"] == "15/15"
        assert balance(p.binance, "MAIN") == D(749)


# ccxt's binance picks its per-market error table by host (``https://api.binance.com/`` for ``sapi``), so on
# 127.0.0.1 a wallet code gets the common table's class: -4035 ExchangeError (PermissionDenied on Binance's
# host), -4019 OperationRejected (BadRequest there), -4026 BadRequest (InsufficientFunds there). The code is
# what to decide on; these are the classes a client sees here.
@pytest.mark.parametrize(
    ("venue", "case", "code", "error"),
    [
        ("binance", "not_allowed", -4035, ccxt.ExchangeError),
        ("binance", "suspended", -4019, ccxt.OperationRejected),
        ("binance", "below_minimum", -4022, ccxt.BadRequest),
        ("binance", "insufficient", -4026, ccxt.BadRequest),
        ("binance", "above_maximum", -4023, ccxt.BadRequest),
        ("bybit", "not_allowed", 131093, ccxt.ExchangeError),
        ("bybit", "suspended", 131097, ccxt.ExchangeError),
        ("bybit", "below_minimum", 131096, ccxt.BadRequest),
        ("bybit", "insufficient", 131001, ccxt.InsufficientFunds),
        ("bybit", "above_maximum", 131096, ccxt.BadRequest),
    ],
)
async def test_each_refusal_comes_back_as_the_venue_code_and_ccxt_class(
    venue: str, case: str, code: int, error: type[Exception]
) -> None:
    async with pair() as p, asyncio.timeout(TIMEOUT_S):
        sender, client = (p.binance, p.bn) if venue == "binance" else (p.bybit, p.bb)
        receiver = p.bb if venue == "binance" else p.bn
        address = (await receiver.fetch_deposit_address("USDT", {"network": "TRC20"}))["address"]
        wallets = sender.transfers.wallets
        if case != "not_allowed":
            wallets.allow("alice", "TRX", address)
        if venue == "binance" and case == "not_allowed":
            wallets.allow_list("alice", on=True)
        if case in ("suspended", "above_maximum"):  # a network's withdrawals off, or a limit of 50 a withdrawal
            wallets.set_terms(NetworkTerms("USDT", "TRX", withdraw_enabled=case != "suspended", maximum=D(50)))
        amount = {"below_minimum": 9, "insufficient": 5000, "above_maximum": 60}.get(case, 20)
        before = (balance(sender, "MAIN" if venue == "binance" else "UNIFIED"), balance(sender, "FUND"))
        with pytest.raises(error) as raised:
            await client.withdraw("USDT", amount, address, {"network": "TRC20"})
        assert str(code) in str(raised.value)
        assert not wallets.withdrawals
        assert (balance(sender, "MAIN" if venue == "binance" else "UNIFIED"), balance(sender, "FUND")) == before


async def test_a_withdrawal_that_fails_after_acceptance_is_refunded() -> None:
    async with pair() as p, asyncio.timeout(TIMEOUT_S):
        address = (await p.bn.fetch_deposit_address("USDT", {"network": "TRC20"}))["address"]
        p.bybit.transfers.wallets.allow("alice", "TRX", address)
        p.bybit.transfers.wallets.fail_next()
        sent = await p.bb.withdraw("USDT", 100, address, {"network": "TRC20", "accountType": "FUND"})
        assert balance(p.bybit, "FUND") == D(99)
        advance(p, 31)
        [failed] = await p.bb.fetch_withdrawals("USDT")
        assert (failed["id"], failed["status"], failed["txid"]) == (sent["id"], "failed", None)  # "" on the wire
        assert balance(p.bybit, "FUND") == D(200)
        advance(p, 600)
        assert await p.bn.fetch_deposits("USDT") == [] and balance(p.binance, "MAIN") == D(500)


async def test_an_unanswered_withdrawal_is_found_by_its_client_id_and_a_retry_is_not_run_twice() -> None:
    async with pair() as p, asyncio.timeout(TIMEOUT_S):
        to_binance = (await p.bn.fetch_deposit_address("USDT", {"network": "TRC20"}))["address"]
        to_bybit = (await p.bb.fetch_deposit_address("USDT", {"network": "TRC20"}))["address"]
        p.bybit.transfers.wallets.allow("alice", "TRX", to_binance)
        # Bybit: the request is carried out, the connection dropped before the answer
        p.bybit.faults.order_drop(processed=True)
        with pytest.raises(ccxt.NetworkError):
            await p.bb.withdraw("USDT", 20, to_binance, {"network": "TRC20", "requestId": "rb1"})
        with pytest.raises(ccxt.BadRequest, match="10014"):  # requestId is Bybit's idempotency key
            await p.bb.withdraw("USDT", 20, to_binance, {"network": "TRC20", "requestId": "rb1"})
        [only] = await p.bb.fetch_withdrawals("USDT")
        assert only["amount"] == 20.0 and len(p.bybit.transfers.wallets.withdrawals) == 1
        assert balance(p.bybit, "UNIFIED") == D(979)
        # Binance: withdrawOrderId finds it; sent again, Binance would take it again (no documented guard)
        p.binance.faults.order_drop(processed=True)
        with pytest.raises(ccxt.NetworkError):
            await p.bn.withdraw("USDT", 20, to_bybit, {"network": "TRC20", "withdrawOrderId": "rb2"})
        [found] = await p.bn.fetch_withdrawals("USDT", params={"withdrawOrderId": "rb2"})
        assert found["amount"] == 19.0 and found["info"]["withdrawOrderId"] == "rb2"
        await p.bn.withdraw("USDT", 20, to_bybit, {"network": "TRC20", "withdrawOrderId": "rb2"})
        assert len(await p.bn.fetch_withdrawals("USDT", params={"withdrawOrderId": "rb2"})) == 2


async def test_an_internal_transfer_is_refused_with_the_venue_code() -> None:
    async with pair() as p, asyncio.timeout(TIMEOUT_S):
        with pytest.raises(ccxt.ExchangeError, match="-5013"):  # InsufficientFunds on Binance's own host
            await p.bn.transfer("USDT", 5000, "spot", "linear")
        with pytest.raises(ccxt.InsufficientFunds, match="131212"):
            await p.bb.transfer("USDT", 5000, "funding", "unified")
        await p.bb.transfer("USDT", 10, "funding", "unified", {"transferId": "t-1"})
        with pytest.raises(ccxt.BadRequest, match="131214"):
            await p.bb.transfer("USDT", 10, "funding", "unified", {"transferId": "t-1"})
        assert (balance(p.bybit, "FUND"), balance(p.binance, "MAIN")) == (D(190), D(500))


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


def spot_ledger(clock: OffsetClock) -> Ledger:
    ledger = Ledger(market="spot", rules=[], book=lambda s: ((), ()), book_version=lambda: 0,
                    clock_ms=lambda: int(clock() * 1000))  # fmt: skip
    ledger.add_account("a", api_key="ka", api_secret="s", balances={"USDT": "100"})
    return ledger


def test_the_endpoint_parts_alone_answer_in_each_venues_shapes() -> None:
    clock = OffsetClock()
    binance_ledger, bybit_ledger = spot_ledger(clock), spot_ledger(clock)
    venue_rows = BybitReply(result={"rows": [{"name": "XRP", "coin": "XRP", "chains": []}]})
    binance = BinanceTransfers(binance_ledger, market="spot", clock=clock, networks=[USDT_TRX])
    bybit = BybitTransfers(bybit_ledger, clock=clock, uid=lambda name: 1001, coin_info=lambda call: venue_rows,
                           networks=[USDT_TRX])  # fmt: skip
    Chain().join(binance.wallets, bybit.wallets)
    on_binance = {path: e.handler for (_, path), e in binance.endpoints().items()}
    on_bybit = {path: e.handler for path, e in bybit.endpoints().items()}
    now = int(clock() * 1000)

    def bn(path: str, **params: str) -> Any:
        return on_binance[path](BinanceCall(params, binance_ledger.accounts["a"], now)).body

    def bb(path: str, **params: str) -> Any:
        reply = on_bybit[path](BybitCall(params, bybit_ledger.accounts["a"], now))
        return reply.ret_code, reply.result

    rows = bb("/v5/asset/coin/query-info")[1]["rows"]
    assert [r["coin"] for r in rows] == ["USDT", "XRP"] and rows[0]["chains"][0]["chain"] == "TRX"
    address = bb("/v5/asset/deposit/query-address", coin="USDT")[1]["chains"][0]["addressDeposit"]
    assert bn("/sapi/v1/capital/withdraw/apply", coin="USDT", address=address, amount="5") == {
        "code": -4022, "msg": "Not less than the minimum pick-up quantity 10."}  # fmt: skip
    sent = bn("/sapi/v1/capital/withdraw/apply", coin="USDT", address=address, amount="50", withdrawOrderId="w1")
    [row] = bn("/sapi/v1/capital/withdraw/history", withdrawOrderId="w1")
    assert (row["id"], row["amount"], row["transactionFee"], row["status"], row["network"]) == (
        sent["id"], "49", "1", 4, "TRX")  # fmt: skip
    clock.advance(30)
    now = int(clock() * 1000)
    [deposit] = bb("/v5/asset/deposit/query-record")[1]["rows"]
    assert (deposit["amount"], deposit["status"], deposit["confirmations"]) == ("49", 1, "0")
    assert bn("/sapi/v1/asset/transfer", type="MAIN_UMFUTURE", asset="USDT", amount="60") == {
        "code": -5013, "msg": "Asset transfer failed: insufficient balance"}  # fmt: skip
    clock.advance(60)
    now = int(clock() * 1000)
    assert bb("/v5/asset/transfer/query-account-coins-balance", accountType="FUND", coin="USDT")[1]["balance"][0][
        "walletBalance"] == "49"  # fmt: skip
