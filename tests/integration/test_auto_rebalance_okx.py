"""``[rebalance] auto`` with OKX as one of the pair: ``arb live``'s own moves (:mod:`arb.live.auto_rebalance`)
between the fake OKX spot and the fake Binance or Bybit spot, joined on one chain.

OKX keeps two wallets (``test_rebalance_okx``): deposits land in the funding account (``6``) and withdrawals
leave from it, orders trade from the trading account (``18``). So a move to OKX is a withdrawal to its deposit
address, then a transfer funding -> trading once credited; a move from OKX a transfer trading -> funding, then
the withdrawal, to an address on OKX's allow-list. The engine must follow what reaches OKX's trading account,
not its funding account: the move counts for OKX once it is in the trading account.

The automatic task runs on its own here, its pauses counted and its halt the test's, as in
``test_auto_rebalance``; the chain's terms make a transfer arrive at once, so no clock moves and nothing sleeps.
Then ``arb live`` itself, in this process, with OKX receiving.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal as D  # noqa: N817 - short for the literals below
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from arb.config import load_config
from arb.journal.transfers import TransferJournal, TransferRow, TransferState
from arb.live.auto_rebalance import auto_rebalance
from arb.sim.okx.calls import FUNDING, TRADING
from arb.sim.options import VenueOptions
from arb.sim.transfers import Chain, NetworkTerms
from arb.testing.configs import local_endpoints, write_config_files
from arb.testing.pair_rig import (
    SPOT_RULES,
    account,
    book_stream,
    instrument_of,
    key_environment,
    open_account,
    open_fake,
    order_socket_url,
    spot_pair,
    write_pair_config,
)
from arb.testing.scenarios import Change
from arb.testing.waiting import wait_for
from tests.integration.test_rebalance_okx import RECORDINGS, usdt, wallets
from tests.support.live_rig import both_keys
from tests.support.scenario_days import write_standing_spread

TIMEOUT_S = 180.0  # a bound on a hung run, far above its time on a loaded machine (it compiles arb live)
"""A bound on a test that hangs, not on its speed."""
INTERVAL_S = 60
ACCOUNT = "main"
NETWORKS = ("ETH", "TRX", "BSC")
FEE = D(1)
TRADING_NAME = "trading"
"""arb's name of OKX's trading account in the journal (``18`` on the wire)."""


def at_once(fake: Any, confirm_s: float = 0.0) -> None:
    """USDT on every network on chain as soon as it is sent and credited ``confirm_s`` later, fee 1 USDT."""
    for network in NETWORKS:
        wallets(fake).set_terms(NetworkTerms("USDT", network, FEE, D(10), delay_s=0.0, confirm_s=confirm_s,
                                             confirmations=15))  # fmt: skip


def allow_on_okx(okx: Any, receiver: Any) -> None:
    """The receiver's USDT deposit addresses on OKX's withdrawal allow-list (done on OKX's site)."""
    for network in NETWORKS:
        wallets(okx).allow("arb", network, wallets(receiver).address("arb", "USDT", network))


@dataclass
class Rig:
    fakes: dict[str, Any]
    config: Path

    def journal(self) -> TransferJournal:
        return TransferJournal.open(load_config(self.config).live.state_dir / f"{ACCOUNT}.sqlite")

    def rows(self) -> list[TransferRow]:
        with self.journal() as journal:
            return journal.rows(ACCOUNT)


@contextlib.asynccontextmanager
async def rig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, usdt: dict[str, str]) -> AsyncIterator[Rig]:
    """The spot fakes named by ``usdt`` (in the run's order) holding that much USDT in their trading wallets and
    1 BTC, on one chain whose transfers arrive at once, and a configuration with ``[rebalance] auto``."""
    for name, value in key_environment().items():
        monkeypatch.setenv(name, value)
    options = VenueOptions(ping_interval=None, max_frames=10)
    async with contextlib.AsyncExitStack() as stack:
        fakes = {}
        for name, amount in usdt.items():
            fake = await stack.enter_async_context(
                open_fake(name, RECORDINGS[name], market="spot", rules=[SPOT_RULES[name]], options=options)
            )
            open_account(fake, {"USDT": amount, "BTC": "1"})
            at_once(fake)
            fakes[name] = fake
        Chain().join(*(wallets(fake) for fake in fakes.values()))
        overrides = {}
        for name, fake in fakes.items():
            venue = local_endpoints(fake.ws_urls, fake.rest_url, ws_private=fake.private_ws_url,
                                    ws_orders=order_socket_url(fake))  # fmt: skip
            overrides[f"{name}_overrides"] = {**venue, "instrument": instrument_of(SPOT_RULES[name])}
        rebalance = {"auto": True, "daily_limit": {"USDT": 5000, "BTC": 1}, "auto_interval_s": INTERVAL_S}
        arbitrage = {"strategy": {"venues": list(usdt)}, "live": {"state_dir": str(tmp_path / "live")},
                     "rebalance": rebalance}  # fmt: skip
        yield Rig(fakes, write_config_files(tmp_path, arbitrage_overrides=arbitrage, **overrides))


async def run(r: Rig, halt: Callable[[], str] = lambda: "") -> list[tuple[int, str, D]]:
    """``arb live``'s automatic task on the rig for one look (or until ``halt()`` says the session halted);
    returns what it told the engine moved, in order: (venue, asset, amount)."""
    pauses: list[float] = []
    moved: list[tuple[int, str, D]] = []

    async def pause(seconds: float) -> None:
        pauses.append(seconds)
        await asyncio.sleep(0)

    def halted() -> str:
        return halt() or ("the test is over" if INTERVAL_S in pauses else "")

    async with asyncio.timeout(TIMEOUT_S):
        await auto_rebalance(load_config(r.config), halted, pause=pause,
                             moved=lambda v, asset, amount: moved.append((v, asset, amount)))  # fmt: skip
    return moved


async def test_a_look_sends_okx_its_share_and_moves_it_from_its_funding_account_into_trading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with rig(tmp_path, monkeypatch, {"binance": "3000", "okx": "0"}) as r:
        binance, okx = r.fakes["binance"], r.fakes["okx"]
        moved = await run(r)
        [row] = r.rows()
        assert (row.state, row.kind, row.from_venue, row.to_venue, row.to_wallet, row.amount) == (
            TransferState.DONE, "withdraw", "binance", "okx", "trading", "1500")  # fmt: skip
        credited = D(row.credited)
        assert credited == D(1500) - FEE  # Binance's fee inside the amount
        # credited into OKX's funding account, then moved into its trading account: nothing left behind
        assert usdt(okx, FUNDING) == 0 and usdt(okx, TRADING) == credited and usdt(binance, "MAIN") == D(1500)
        [sweep] = wallets(okx).transfers
        assert (sweep.source, sweep.target, sweep.amount) == (FUNDING, TRADING, credited)
        # the engine is told Binance's side when it is sent, OKX's once it is in the trading account
        assert moved == [(0, "USDT", D(-1500)), (1, "USDT", credited)]


async def test_okx_sends_from_its_funding_account_after_moving_the_amount_and_fee_out_of_trading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with rig(tmp_path, monkeypatch, {"okx": "3000", "bybit": "0"}) as r:
        okx, bybit = r.fakes["okx"], r.fakes["bybit"]
        allow_on_okx(okx, bybit)
        moved = await run(r)
        into, sent = r.rows()
        assert (into.kind, into.from_wallet, into.to_wallet, D(into.amount)) == ("transfer", TRADING_NAME, "funding",
                                                                                D(1500) + FEE)  # fmt: skip
        assert (sent.state, sent.kind, sent.from_venue, sent.from_wallet, sent.amount) == (
            TransferState.DONE, "withdraw", "okx", "funding", "1500")  # fmt: skip
        assert usdt(okx, FUNDING) == 0 and usdt(okx, TRADING) == D(1500) - FEE  # the fee beside the amount
        assert usdt(bybit, "UNIFIED") == D(sent.credited) == D(1500)
        # OKX's trading account gave the amount and the fee when they moved to funding; Bybit's once credited
        assert moved == [(0, "USDT", -(D(1500) + FEE)), (1, "USDT", D(1500))]


async def test_a_halt_while_okx_credits_leaves_the_move_in_flight_and_the_next_run_moves_it_into_trading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with rig(tmp_path, monkeypatch, {"binance": "3000", "okx": "0"}) as r:
        okx = r.fakes["okx"]
        at_once(okx, confirm_s=3600.0)  # on chain at once, credited on OKX in an hour
        with r.journal() as journal:  # the session halts while the move is followed: it stays in flight
            moved = await run(r, halt=lambda: "max_drawdown" if journal.rows(ACCOUNT, in_flight=True) else "")
        [row] = r.rows()
        assert row.state is TransferState.ON_CHAIN and moved == [(0, "USDT", D(-1500))]
        assert usdt(okx, FUNDING) == usdt(okx, TRADING) == 0
        [deposit] = wallets(okx).deposits
        deposit.confirm_s = 0.0  # credited now: the next run resumes the move, into the trading account
        moved = await run(r)
        [done] = r.rows()
        assert done.client_id == row.client_id and done.state is TransferState.DONE
        assert usdt(okx, FUNDING) == 0 and usdt(okx, TRADING) == D(done.credited) == D(1500) - FEE
        assert len(r.fakes["binance"].transfers.wallets.withdraw_requests) == 1  # nothing sent twice
        assert moved == [(1, "USDT", D(1500) - FEE)]  # the next run's engine: OKX's side, once in trading


# -- arb live itself ----------------------------------------------------------------------------------

AUTO_LIVE = {"auto": True, "daily_limit": {"USDT": 20_000, "BTC": 1}, "tolerance": 0.01, "poll_interval_ms": 10}


async def test_arb_live_with_auto_sends_okx_its_share_and_ends_on_the_venues_balances(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arb.live.trading import run_live

    both_keys(monkeypatch)
    venues = ("binance", "okx")
    spread_at_once = [Change(200, "okx", bids={60300.0: 1.0})]  # the standing spread from 0.2 s on
    recordings = write_standing_spread(tmp_path, changes=spread_at_once, duration_ms=30_000, venues=venues)
    async with spot_pair(*recordings, venues=venues) as (binance, okx), asyncio.timeout(TIMEOUT_S):
        Chain().join(wallets(binance), wallets(okx))
        wallets(binance).fund("arb", "MAIN", "USDT", "20000")  # 120,000 | 100,000: Binance sends 10,000
        at_once(binance)
        at_once(okx)
        config = load_config(write_pair_config(tmp_path, binance, okx, arbitrage={"rebalance": AUTO_LIVE}))
        stop = asyncio.Event()
        session = asyncio.create_task(run_live(config, console=Console(file=io.StringIO()), stop_event=stop))
        try:
            await wait_for(lambda: session.done() or (binance.user_streams_up() and okx.user_streams_up()
                                                      and binance.subscriber_count(book_stream(binance)) >= 1
                                                      and okx.subscriber_count(book_stream(okx)) >= 1),
                           binance, okx)  # fmt: skip
            binance.play(1.0)
            okx.play(1.0)
            with TransferJournal.open(config.live.state_dir / f"{ACCOUNT}.sqlite") as journal:

                def landed_and_traded() -> bool:
                    states = [row.state for row in journal.rows(ACCOUNT)]
                    return session.done() or (states == [TransferState.DONE] and bool(account(okx).trades))

                await wait_for(landed_and_traded, binance, okx)
                [row] = journal.rows(ACCOUNT)
            assert not session.done()
            stop.set()
            result = await session
        finally:
            session.cancel()
            await asyncio.wait([session])
        assert (row.from_venue, row.to_venue, row.amount, row.to_wallet) == ("binance", "okx", "10000", "trading")
        assert usdt(okx, FUNDING) == 0 and wallets(okx).transfers[0].target == TRADING
        # the session's engine ended on what the venues' trading wallets hold: the move and the trades in it
        held = [usdt(binance, "MAIN"), usdt(okx, TRADING)]
        assert [round(q, 6) for q in result.quote] == [round(float(h), 6) for h in held]
        assert held[1] > D(100_000) + D(9_000)
