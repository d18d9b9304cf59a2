"""``arb rebalance`` among three venues, OKX's wallets exercised: fake Binance spot, Bybit spot and OKX spot
joined on one chain (:mod:`arb.sim.transfers`), ``[strategy] venues = ["binance", "bybit", "okx"]``.

OKX keeps two wallets: the trading account (``18``), where orders trade, and the funding account (``6``),
where deposits land and from which withdrawals leave, to whitelisted addresses only (``58207`` otherwise),
the fee debited beside the amount. So a move to OKX is a withdrawal to its deposit address, then a
transfer funding -> trading once credited; a move from OKX a transfer trading -> funding, then the
withdrawal. The venues' clock is real time plus an offset the rebalancer's ``pause`` moves: no test sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal as D  # noqa: N817 - short for the literals below
from pathlib import Path
from typing import Any

import pytest

from arb.config import load_config
from arb.execution.rebalance import Rebalancer, TransferRefusedError, open_rebalancer
from arb.journal.transfers import TransferState
from arb.sim.okx.calls import FUNDING, TRADING
from arb.sim.options import VenueOptions
from arb.sim.transfers import Chain
from arb.testing.configs import local_endpoints, write_config_files
from arb.testing.pair_rig import SPOT_RULES, instrument_of, key_environment, open_account, open_fake, order_socket_url
from tests.support.captures import ROOT, SPOT_BTC_HEAD
from tests.support.clocks import OffsetClock

TIMEOUT_S = 60.0
"""A bound on a test that hangs, not on its speed."""
RECORDINGS = {
    "binance": SPOT_BTC_HEAD,
    "bybit": ROOT / "recordings" / "bybit_spot" / "btcusdt_20240808.gz",
    "okx": ROOT / "recordings" / "okx_spot" / "btcusdt_20240808.gz",
}
VENUES = ("binance", "bybit", "okx")


@dataclass
class Rig:
    fakes: dict[str, Any]
    config: Path
    clock: OffsetClock


def wallets(fake: Any) -> Any:
    """The fake venue's wallets on the chain (OKX's funding account is its assets part)."""
    return fake.assets.wallets if fake.venue_name == "okx" else fake.transfers.wallets


@contextlib.asynccontextmanager
async def rig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, usdt: dict[str, str]) -> AsyncIterator[Rig]:
    """The three spot fakes holding ``usdt`` (each venue's trading wallet) and 1 BTC, on one chain and one
    moving clock, and a configuration trading all three pointing at them."""
    for name, value in key_environment().items():
        monkeypatch.setenv(name, value)
    clock = OffsetClock()
    options = VenueOptions(clock=clock, ping_interval=None, max_frames=10)
    async with contextlib.AsyncExitStack() as stack:
        fakes = {}
        for name in VENUES:
            fake = await stack.enter_async_context(
                open_fake(name, RECORDINGS[name], market="spot", rules=[SPOT_RULES[name]], options=options)
            )
            open_account(fake, {"USDT": usdt[name], "BTC": "1"})
            fakes[name] = fake
        Chain().join(*(wallets(fake) for fake in fakes.values()))
        overrides = {}
        for name, fake in fakes.items():
            venue = local_endpoints(fake.ws_urls, fake.rest_url, ws_private=fake.private_ws_url,
                                    ws_orders=order_socket_url(fake))  # fmt: skip
            overrides[f"{name}_overrides"] = {**venue, "instrument": instrument_of(SPOT_RULES[name])}
        arbitrage = {"strategy": {"venues": list(VENUES)}, "live": {"state_dir": str(tmp_path / "live")},
                     "rebalance": {"poll_interval_ms": 10_000}}  # fmt: skip
        yield Rig(fakes, write_config_files(tmp_path, arbitrage_overrides=arbitrage, **overrides), clock)


@contextlib.asynccontextmanager
async def rebalancer(r: Rig) -> AsyncIterator[Rebalancer]:
    """The rebalancer on the rig, whose pauses move the venues' clock (and its clients' idea of it)."""
    holder: list[Rebalancer] = []

    async def pause(seconds: float) -> None:
        r.clock.offset += seconds
        for client in holder[0].clients:
            client.options["timeDifference"] = -int(r.clock.offset * 1000)

    async with open_rebalancer(load_config(r.config), pause) as made:
        holder.append(made)
        yield made


def usdt(fake: Any, wallet: str) -> D:
    return D(wallets(fake).balance("arb", wallet, "USDT"))


async def test_three_venues_okx_receives_into_its_funding_account_and_trades_from_its_trading_account(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with rig(tmp_path, monkeypatch, {"binance": "3000", "bybit": "1500", "okx": "0"}) as r, \
            rebalancer(r) as rb, asyncio.timeout(TIMEOUT_S):  # fmt: skip
        okx = r.fakes["okx"]
        moves, holdings = await rb.plan(["USDT"])
        assert holdings["USDT"][2] == {"trading": D(0), "funding": D(0)}  # OKX's two wallets, by name
        [withdraw] = [m for m in moves if m.kind == "withdraw"]
        # 4500 in all, 1500 each: Binance sends OKX its 1500, to OKX's deposit address (its funding account),
        # bound for its trading account
        assert (withdraw.sender, withdraw.receiver, withdraw.amount, withdraw.to_wallet) == (0, 2, D(1500), "trading")
        rows = await rb.execute(moves, [].append)
        assert [row.state for row in rows] == [TransferState.DONE] * len(rows)
        credited = D(rows[0].credited)
        assert usdt(okx, FUNDING) == 0 and usdt(okx, TRADING) == credited > D(1490)  # moved into trading
        assert [(t.source, t.target) for t in okx.assets.wallets.transfers] == [(FUNDING, TRADING)]
        assert usdt(r.fakes["binance"], "MAIN") == D(1500)


async def test_okx_sends_from_its_funding_account_to_whitelisted_addresses_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with rig(tmp_path, monkeypatch, {"binance": "1000", "bybit": "2000", "okx": "3000"}) as r, \
            rebalancer(r) as rb, asyncio.timeout(TIMEOUT_S):  # fmt: skip
        okx, binance = r.fakes["okx"], r.fakes["binance"]
        moves, _ = await rb.plan(["USDT"])
        # the trading account's 1000 goes to the funding account first, then on chain from there
        assert [(m.kind, m.from_wallet, m.to_wallet) for m in moves][:2] == [
            ("transfer", "trading", "funding"), ("withdraw", "funding", "spot")]  # fmt: skip
        with pytest.raises(TransferRefusedError) as refused:  # the receiver's address is not on OKX's list
            await rb.execute(moves, [].append)
        line = str(refused.value)
        assert "\n" not in line and refused.value.code == "58207" and line.startswith("okx withdraw USDT on ")
        assert len(okx.assets.wallets.withdraw_requests) == 1 and not okx.assets.wallets.withdrawals
        network = moves[1].network
        address = await rb.wallets[0].deposit_address(rb.clients[0], "USDT", network)
        okx.assets.wallets.allow("arb", _model_network(network), address)  # whitelisted on OKX's site
        again, _ = await rb.plan(["USDT"])
        rows = await rb.execute(again, [].append)
        assert rows[-1].state is TransferState.DONE and rows[-1].from_venue == "okx"
        [sent] = okx.assets.wallets.withdrawals
        assert sent.amount == D(1000) and sent.fee > 0  # the fee beside the amount: 1000 arrives
        assert usdt(binance, "MAIN") == D(2000) and usdt(okx, TRADING) + usdt(okx, FUNDING) == D(2000) - sent.fee
        assert len(okx.assets.wallets.withdraw_requests) == 2  # the refused one, then the one that went


def _model_network(okx_network: str) -> str:
    # the shared chain model's id of an OKX network name (TRC20 -> TRX)
    from arb.sim.okx.assets import CHAIN_NAMES

    return next((model for model, name in CHAIN_NAMES.items() if name == okx_network), okx_network)


async def test_okx_over_its_third_sends_to_both_others_each_withdrawal_with_its_own_fee(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 6000 in all, 2000 each: OKX sends 1500 to Binance and 1500 to Bybit (each gap over the tolerance, 10 %
    # of the total), each after a move of the amount and its fee into its funding account; both addresses on
    # its list
    async with rig(tmp_path, monkeypatch, {"binance": "500", "bybit": "500", "okx": "5000"}) as r, \
            rebalancer(r) as rb, asyncio.timeout(TIMEOUT_S):  # fmt: skip
        okx = r.fakes["okx"]
        moves, _ = await rb.plan(["USDT"])
        sends = [m for m in moves if m.kind == "withdraw"]
        assert sorted((m.receiver, m.amount) for m in sends) == [(0, D(1500)), (1, D(1500))]
        for m in sends:
            address = await rb.wallets[m.receiver].deposit_address(rb.clients[m.receiver], "USDT", m.network)
            okx.assets.wallets.allow("arb", _model_network(m.network), address)
        rows = await rb.execute(moves, [].append)
        assert [row.state for row in rows] == [TransferState.DONE] * len(rows) and len(rows) == 4
        assert len(okx.assets.wallets.withdraw_requests) == 2 and usdt(okx, FUNDING) == 0
        assert usdt(okx, TRADING) == D(5000) - 2 * (D(1500) + sends[0].fee)
