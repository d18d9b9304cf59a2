"""``arb rebalance`` against the fake Binance spot and Bybit spot joined on one chain
(:mod:`arb.sim.transfers`): the plan from both venues' balances and terms, ``--execute`` landing a
withdrawal (journal, both ledgers, the deposit credited and moved into Bybit's trading wallet), each
refusal on one line with nothing sent twice, a lost answer found by its client id, a restart resuming.

The venues' clock is real time plus an offset the rebalancer's ``pause`` moves (and the ccxt clients'
``timeDifference`` with it, as after a time sync): no test sleeps. One test runs ``arb rebalance`` as a
child process.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal as D  # noqa: N817 - short for the literals below
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich.console import Console

from arb.cli.rebalance import run_rebalance
from arb.config import load_config
from arb.errors import EXIT_VENUE_REFUSED, VenueError
from arb.execution.rebalance import Rebalancer, TransferRefusedError, open_rebalancer
from arb.journal import Journal
from arb.journal.transfers import TransferState
from arb.sim.binance.exchange import FakeBinanceExchange
from arb.sim.bybit.exchange import FakeBybitExchange
from arb.sim.options import VenueOptions
from arb.sim.transfers import Chain, NetworkTerms
from arb.testing.pair_rig import KEY, SECRET, key_environment, symbol_rules, write_pair_config
from tests.support.captures import ROOT, SPOT_BTC_HEAD, USDM_BTC
from tests.support.clocks import OffsetClock

BINANCE_LINEAR_BTC_RULES = symbol_rules("binance", "linear")
BINANCE_SPOT_RULES = symbol_rules("binance", "spot")
BYBIT_SPOT_RULES = symbol_rules("bybit", "spot")

TIMEOUT_S = 60.0
"""A bound on a test that hangs, not on its speed."""
BYBIT_SPOT_BTC = ROOT / "recordings" / "bybit_spot" / "btcusdt_20240808.gz"


@dataclass
class Rig:
    binance: FakeBinanceExchange
    bybit: FakeBybitExchange
    config: Path
    clock: OffsetClock
    pauses: list[float]


@contextlib.asynccontextmanager
async def rig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, binance_usdt: str = "3000",
              bybit_usdt: str = "1000", usdm: bool = False, **rebalance: Any) -> AsyncIterator[Rig]:  # fmt: skip
    """Binance spot (``binance_usdt`` USDT, 1 BTC) and Bybit spot (``bybit_usdt`` USDT, 1 BTC), account
    "arb", joined on one chain and one moving clock, and the configuration pointing at them (``rebalance``:
    more of its ``[rebalance]``). ``usdm``: Binance USD-M instead (its USDT in the futures wallet, no BTC)."""
    for name, value in key_environment().items():
        monkeypatch.setenv(name, value)
    clock = OffsetClock()
    options = VenueOptions(clock=clock, ping_interval=None, max_frames=10)
    binance_file, market, rules = (
        (USDM_BTC, "linear", [BINANCE_LINEAR_BTC_RULES]) if usdm else (SPOT_BTC_HEAD, "spot", [BINANCE_SPOT_RULES])
    )
    async with (
        FakeBinanceExchange(binance_file, market=market, rules=rules, options=options) as binance,
        FakeBybitExchange(BYBIT_SPOT_BTC, market="spot", rules=[BYBIT_SPOT_RULES], options=options) as bybit,
    ):  # fmt: skip
        binance.add_account("arb", api_key=KEY, api_secret=SECRET, balances={"USDT": binance_usdt, "BTC": "1"})
        bybit.add_account("arb", api_key=KEY, api_secret=SECRET, balances={"USDT": bybit_usdt, "BTC": "1"})
        Chain().join(binance.transfers.wallets, bybit.transfers.wallets)
        config = write_pair_config(
            tmp_path, binance, bybit, arbitrage={"rebalance": {"poll_interval_ms": 10_000, **rebalance}}
        )
        yield Rig(binance, bybit, config, clock, [])


@contextlib.asynccontextmanager
async def rebalancer(r: Rig) -> AsyncIterator[Rebalancer]:
    """The rebalancer on the rig, whose pauses move the venues' clock (and its clients' idea of it)."""
    holder: list[Rebalancer] = []

    async def pause(seconds: float) -> None:
        r.pauses.append(seconds)
        r.clock.offset += seconds
        for client in holder[0].clients:
            client.options["timeDifference"] = -int(r.clock.offset * 1000)

    async with open_rebalancer(load_config(r.config), pause) as made:
        holder.append(made)
        for client in made.clients:  # the clients follow a clock moved before they were made
            client.options["timeDifference"] = -int(r.clock.offset * 1000)
        yield made


def console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=200, color_system=None), out


def usdt(venue: Any, wallet: str) -> D:
    return D(venue.transfers.wallets.balance("arb", wallet, "USDT"))


async def test_the_plan_moves_the_excess_on_the_cheapest_network_both_venues_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with rig(tmp_path, monkeypatch) as r, rebalancer(r) as rb, asyncio.timeout(TIMEOUT_S):
        r.bybit.transfers.wallets.fund("arb", "FUND", "BTC", "0.01")  # sits in Bybit's funding wallet
        moves, holdings = await rb.plan(["USDT", "BTC"])
        assert holdings["USDT"] == {0: {"spot": D(3000)}, 1: {"unified": D(1000), "funding": D(0)}}
        [withdraw, sweep] = moves
        assert (sweep.kind, sweep.asset, sweep.from_wallet, sweep.to_wallet, sweep.amount) == (
            "transfer", "BTC", "funding", "unified", D("0.01"))  # fmt: skip
        # 4000 in all, 2000 each: Binance sends 1000; BEP20 (fee 0.29) beats TRC20 (1) and ERC20 (3)
        assert (withdraw.kind, withdraw.sender, withdraw.receiver, withdraw.network) == ("withdraw", 0, 1, "BEP20")
        assert (withdraw.amount, withdraw.fee, withdraw.to_wallet) == (D(1000), D("0.29"), "unified")
        assert withdraw.arrival_s == 120 and withdraw.worth  # Binance's estimatedArrivalTime, 2 minutes
        # BEP20's deposits suspended on Bybit: TRC20 is the cheapest open on both sides
        r.bybit.transfers.wallets.set_terms(NetworkTerms("USDT", "BSC", deposit_enabled=False))
        [withdraw, _] = (await rb.plan(["USDT", "BTC"]))[0]
        assert (withdraw.network, withdraw.fee) == ("TRC20", D(1))
        text, out = console()
        assert await run_rebalance(rb, text, execute=False, yes=False) == 0
        shown = out.getvalue()
        assert "TRC20" in shown and "2 move(s) worth making; nothing sent" in shown
        assert r.binance.transfers.wallets.withdraw_requests == [] and r.bybit.transfers.wallets.transfers == []


async def test_execute_lands_the_withdrawal_credits_it_and_moves_it_to_the_trading_wallet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with rig(tmp_path, monkeypatch) as r, rebalancer(r) as rb, asyncio.timeout(TIMEOUT_S):
        with Journal.open(rb.journal.engine.url.database or "") as journal:  # what arb live last saw
            journal.add_snapshot(rb.account, "binance", "spot", {"USDT": "2990"}, 1)
        text, out = console()
        assert await run_rebalance(rb, text, execute=True, yes=True) == 0
        assert "spot 3000 (journal 2990)" in out.getvalue()
        [row] = rb.journal.rows(rb.account)
        assert (row.state, row.kind, row.network, row.amount, row.credited) == (
            TransferState.DONE, "withdraw", "BEP20", "1000", "999.71")  # fmt: skip
        assert row.venue_id and row.txid and row.address.startswith("0x")
        assert r.binance.transfers.wallets.withdraw_requests == [("arb", row.client_id)]
        [deposit] = r.bybit.transfers.wallets.deposits
        assert deposit.state.name == "CREDITED" and deposit.amount == D("999.71")
        assert usdt(r.binance, "MAIN") == D(2000) and usdt(r.bybit, "FUND") == D(0)
        assert usdt(r.bybit, "UNIFIED") == D("1999.71")
        assert sum(r.pauses) >= 75 and "1 of 1 move(s) done" in out.getvalue()  # on chain at 30 s, credited at 75


async def test_a_usdm_sender_moves_its_futures_wallet_to_spot_before_it_withdraws(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with rig(tmp_path, monkeypatch, usdm=True) as r, rebalancer(r) as rb, asyncio.timeout(TIMEOUT_S):
        moves, holdings = await rb.plan(["USDT"])
        assert holdings["USDT"][0] == {"spot": D(0), "linear": D(3000)}
        assert [(m.kind, m.from_wallet, m.to_wallet, m.amount) for m in moves] == [
            ("transfer", "linear", "spot", D(1000)), ("withdraw", "spot", "unified", D(1000))]  # fmt: skip
        rows = await rb.execute(moves, lambda line: None)
        assert [row.state for row in rows] == [TransferState.DONE, TransferState.DONE]
        assert (usdt(r.binance, "UMFUTURE"), usdt(r.binance, "MAIN")) == (D(2000), D(0))
        assert usdt(r.bybit, "UNIFIED") == D("1999.71")


@pytest.mark.parametrize(
    ("case", "code"),
    [("not_allowed", "-4035"), ("suspended", "-4019"), ("insufficient", "-4026"), ("bybit_not_allowed", "131093")],
)
async def test_each_refusal_stops_with_one_line_and_nothing_sent_twice(
    case: str, code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    usdt_on = {"bybit_not_allowed": ("1000", "3000")}.get(case, ("3000", "1000"))
    async with rig(tmp_path, monkeypatch, binance_usdt=usdt_on[0], bybit_usdt=usdt_on[1]) as r, \
            rebalancer(r) as rb, asyncio.timeout(TIMEOUT_S):  # fmt: skip
        sender = r.bybit if case.startswith("bybit") else r.binance
        if case == "not_allowed":
            r.binance.transfers.wallets.allow_list("arb", on=True)
        moves, _ = await rb.plan(["USDT"])
        if case == "suspended":  # suspended after the plan was read
            r.binance.transfers.wallets.set_terms(NetworkTerms("USDT", "BSC", withdraw_enabled=False))
        if case == "insufficient":  # spent meanwhile
            r.binance.ledger.accounts["arb"].balance("USDT").free = D(5)
        with pytest.raises(TransferRefusedError) as refused:
            await rb.execute(moves, lambda line: None)
        line = str(refused.value)
        assert "\n" not in line and refused.value.code == code and refused.value.exit_code == EXIT_VENUE_REFUSED
        assert line.startswith(f"{'bybit' if sender is r.bybit else 'binance'} withdraw USDT on BEP20: refused {code}")
        [row] = rb.journal.rows(rb.account)
        assert (row.state, row.code) == (TransferState.REFUSED, code)
        assert len(sender.transfers.wallets.withdraw_requests) == 1 and not sender.transfers.wallets.withdrawals
        # run again: the refused row is not in flight, the same refusal comes back from one new request
        with pytest.raises(TransferRefusedError):
            await rb.execute(moves, lambda line: None)
        assert len(sender.transfers.wallets.withdraw_requests) == 2 and rb.in_flight() == []


@pytest.mark.parametrize("venue", ["binance", "bybit"])
async def test_a_lost_answer_is_found_by_client_id_without_a_resend(
    venue: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    usdt_on = ("3000", "1000") if venue == "binance" else ("1000", "3000")
    async with rig(tmp_path, monkeypatch, binance_usdt=usdt_on[0], bybit_usdt=usdt_on[1]) as r, \
            rebalancer(r) as rb, asyncio.timeout(TIMEOUT_S):  # fmt: skip
        sender = r.binance if venue == "binance" else r.bybit
        if venue == "bybit":
            address = await rb.wallets[0].deposit_address(rb.clients[0], "USDT", "BEP20")
            r.bybit.transfers.wallets.allow("arb", "BSC", address)
        sender.faults.order_drop(processed=True)  # carried out, the answer lost
        moves, _ = await rb.plan(["USDT"])
        lines: list[str] = []
        [row] = await rb.execute(moves, lines.append)
        assert row.state is TransferState.DONE and len(sender.transfers.wallets.withdrawals) == 1
        # Binance: found by withdrawOrderId before anything was sent again; Bybit: found by address and amount
        assert len(sender.transfers.wallets.withdraw_requests) == 1
        assert sender.transfers.wallets.withdrawals[0].withdrawal_id == row.venue_id


async def test_a_lost_binance_withdrawal_its_history_does_not_show_stays_unknown_and_is_never_resent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Binance runs a second request with the same withdrawOrderId as a second withdrawal: one its history does
    # not show (the request never ran, or the history lags) is unknown, not something to send again
    async with rig(tmp_path, monkeypatch, binance_usdt="3000", bybit_usdt="1000") as r, \
            rebalancer(r) as rb, asyncio.timeout(TIMEOUT_S):  # fmt: skip
        r.binance.faults.order_drop(processed=False)  # the answer lost, and the venue never ran it
        moves, _ = await rb.plan(["USDT"])
        with pytest.raises(VenueError, match="never sent again"):
            await rb.execute(moves, [].append)
        [row] = rb.journal.rows(rb.account)
        assert row.state is TransferState.SENDING  # its fate unknown: the next run looks for it again
        # the one request was dropped unprocessed: a resend would be the first the venue runs
        assert r.binance.transfers.wallets.withdraw_requests == [] and r.binance.transfers.wallets.withdrawals == []
        with pytest.raises(VenueError, match="never sent again"):
            await rb.resume([].append)
        assert r.binance.transfers.wallets.withdraw_requests == [] and r.binance.transfers.wallets.withdrawals == []


async def test_a_restart_resumes_the_transfer_in_flight_instead_of_planning_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with rig(tmp_path, monkeypatch, arrival_timeout_s=1) as r, asyncio.timeout(TIMEOUT_S):
        async with rebalancer(r) as rb:  # the first run gives up following after one look: left in flight
            text, out = console()
            assert await run_rebalance(rb, text, execute=True, yes=True) == 0
            [row] = rb.in_flight()
            assert row.state is TransferState.SENT and "left in flight" in out.getvalue()
        r.clock.offset += 80  # on chain and credited meanwhile
        async with rebalancer(r) as rb:
            text, out = console()
            assert await run_rebalance(rb, text, execute=True, yes=True) == 0
            assert "resuming them instead of planning again" in out.getvalue() and "the plan" not in out.getvalue()
            [done] = rb.journal.rows(rb.account)
            assert done.state is TransferState.DONE and done.client_id == row.client_id
        assert len(r.binance.transfers.wallets.withdraw_requests) == 1
        assert usdt(r.bybit, "UNIFIED") == D("1999.71")


async def test_arb_rebalance_prints_the_plan_and_a_refusal_as_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with rig(tmp_path, monkeypatch) as r, asyncio.timeout(TIMEOUT_S):
        r.binance.transfers.wallets.allow_list("arb", on=True)
        env = {**key_environment(), "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "COLUMNS": "200"}

        def arb(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "arb.cli", "rebalance", "--config", str(r.config), *args],
                                  capture_output=True, text=True, env=env, timeout=TIMEOUT_S, check=False)  # fmt: skip

        plan = await asyncio.to_thread(arb)
        assert plan.returncode == 0, plan.stderr
        assert "BEP20" in plan.stdout and "nothing sent" in plan.stdout
        refused = await asyncio.to_thread(arb, "--execute", "--yes")
        assert refused.returncode == EXIT_VENUE_REFUSED
        [last] = refused.stderr.strip().splitlines()[-1:]
        assert "binance withdraw USDT on BEP20: refused -4035" in last
        assert len(r.binance.transfers.wallets.withdraw_requests) == 1
        assert KEY not in plan.stdout + refused.stdout + refused.stderr and SECRET not in refused.stderr
        assert isinstance(refused.stderr, str) and VenueError


async def reconcile(r: Rig, *, accept: bool = False) -> list[Any]:
    """``arb reconcile`` (both venues, what it reads and writes) on the rig; the reports."""
    from arb.live.trading_session import trading_session

    async with trading_session(load_config(r.config), order_entry=False) as session:
        return await session.reconcile(accept_venue_state=accept)


async def _at_once(seconds: float) -> None:  # the venues' clock stays: the chain's terms time the move
    await asyncio.sleep(0)


def usdt_on_bsc(r: Rig, *, credited_after_s: float = 3600.0) -> None:
    """Both venues' USDT on BSC: on chain when sent, credited ``credited_after_s`` later (0.29 fee, 10 minimum)."""
    for venue in (r.binance, r.bybit):
        venue.transfers.wallets.set_terms(NetworkTerms("USDT", "BSC", D("0.29"), D(10), delay_s=0.0,
                                                       confirm_s=credited_after_s, confirmations=15))  # fmt: skip


async def test_reconciliation_counts_a_withdrawal_from_when_it_is_sent_in_transit_until_it_lands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with rig(tmp_path, monkeypatch, arrival_timeout_s=1) as r, asyncio.timeout(TIMEOUT_S):
        usdt_on_bsc(r)  # credited in an hour
        assert all(report.ok for report in await reconcile(r))  # the baseline: 3000 | 1000
        async with open_rebalancer(load_config(r.config), _at_once) as rb:
            [row] = await rb.execute((await rb.plan(["USDT", "BTC"]))[0], [].append)
        assert row.state is TransferState.ON_CHAIN and usdt(r.binance, "MAIN") == D(2000)
        in_flight = await reconcile(r)  # Binance is 1000 short, Bybit has nothing more yet: both explained
        assert [report.ok for report in in_flight] == [True, True], [report.describe() for report in in_flight]
        moving = f"in transit: 1000 USDT binance -> bybit ({row.client_id}, on_chain)"
        assert all(f"  {moving}" in report.describe() for report in in_flight)
        [deposit] = r.bybit.transfers.wallets.deposits
        deposit.confirm_s = 0.0  # credited now; the next --execute moves it into Bybit's trading wallet
        async with open_rebalancer(load_config(r.config), _at_once) as rb:
            [done] = await rb.resume([].append)
        assert done.state is TransferState.DONE and usdt(r.bybit, "UNIFIED") == D("1999.71")
        landed = await reconcile(r)
        assert all(report.ok and not report.in_transit for report in landed), [x.describe() for x in landed]
        # a baseline accepted before arb counted the moves (nothing kept beside it) holds every move made until then
        assert all(report.ok for report in await reconcile(r, accept=True))
        with Journal.open(rb.journal.engine.url.database or "") as journal:
            for name in ("binance", "bybit"):
                journal.set_state(f"{rb.account}/baseline-transfers/{name}/spot", "")
        assert all(report.ok for report in await reconcile(r))
        # refused: nothing moved, nothing to explain
        r.binance.transfers.wallets.fund("arb", "MAIN", "USDT", "2000")  # a deposit from outside, accepted
        assert all(report.ok for report in await reconcile(r, accept=True))
        r.binance.transfers.wallets.allow_list("arb", on=True)
        async with open_rebalancer(load_config(r.config), _at_once) as rb:
            with pytest.raises(TransferRefusedError):
                await rb.execute((await rb.plan(["USDT"]))[0], [].append)
        assert [x.state for x in rb.journal.rows(rb.account)][-1] is TransferState.REFUSED
        assert all(report.ok and not report.in_transit for report in await reconcile(r))


async def test_a_bybit_withdrawal_leaves_with_its_fee_beside_it_and_lands_on_binance_reconciled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with rig(tmp_path, monkeypatch, binance_usdt="1000", bybit_usdt="3000") as r, asyncio.timeout(TIMEOUT_S):
        usdt_on_bsc(r, credited_after_s=0.0)  # on chain and credited as soon as sent
        assert all(report.ok for report in await reconcile(r))
        async with open_rebalancer(load_config(r.config), _at_once) as rb:
            address = await rb.wallets[0].deposit_address(rb.clients[0], "USDT", "BEP20")
            r.bybit.transfers.wallets.allow("arb", "BSC", address)  # Bybit withdraws to its address book only
            [row] = await rb.execute((await rb.plan(["USDT"]))[0], [].append)
        assert (row.state, row.from_venue, row.amount, D(row.credited)) == (TransferState.DONE, "bybit", "1000", 1000)
        assert usdt(r.bybit, "UNIFIED") == D("1999.71") and usdt(r.binance, "MAIN") == D(2000)  # the fee beside it
        reports = await reconcile(r)
        assert all(report.ok and not report.in_transit for report in reports), [x.describe() for x in reports]


def live_report(r: Rig) -> tuple[Any, Any]:
    """``arb report --source live`` on the rig's journal, valued at 60,000 per BTC on both venues now: each
    venue's balances (``summarize`` on the source, as its page) and the whole record's report."""
    from arb.reports.figures import compute_period, equity_at, period_of, utc_day
    from arb.reports.sources import load_live
    from arb.reports.summary import summarize

    source = load_live(load_config(r.config), marks=[(time.time_ns(), (60_000.0, 60_000.0))])
    end = np.array([source.last_ns + 1], np.int64)
    balances = summarize(source.fills, equity_at(source, end), source.initial, {}, transfers=source.transfers)
    return balances, compute_period(source, period_of("day", utc_day(source.last_ns)))


async def test_the_live_report_counts_a_withdrawal_as_the_venues_do_its_fee_the_only_loss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with rig(tmp_path, monkeypatch, arrival_timeout_s=1) as r, asyncio.timeout(TIMEOUT_S):
        usdt_on_bsc(r)  # credited in an hour
        assert all(report.ok for report in await reconcile(r))  # the baseline: 3000 | 1000 USDT, 1 | 1 BTC
        balances, _ = live_report(r)
        assert [v.quote_balance for v in balances.venues] == [3000.0, 1000.0]
        async with open_rebalancer(load_config(r.config), _at_once) as rb:
            [row] = await rb.execute((await rb.plan(["USDT", "BTC"]))[0], [].append)
        assert row.state is TransferState.ON_CHAIN
        balances, report = live_report(r)  # sent, not yet credited: Binance 1000 short, Bybit not yet richer
        assert [v.quote_balance for v in balances.venues] == pytest.approx([2000.0, 1000.0], abs=1e-9)
        assert [v.base_balance for v in balances.venues] == [1.0, 1.0]
        assert report.pnl == pytest.approx(-0.29, abs=1e-9)  # the fee; the amount is Bybit's from when sent
        assert [v.pnl for v in report.venues] == pytest.approx([-0.29, 0.0, -0.29], abs=1e-9)
        [deposit] = r.bybit.transfers.wallets.deposits
        deposit.confirm_s = 0.0  # credited now; the next --execute moves it into Bybit's trading wallet
        async with open_rebalancer(load_config(r.config), _at_once) as rb:
            [done] = await rb.resume([].append)
        assert done.state is TransferState.DONE
        balances, report = live_report(r)  # as the venues hold it
        assert [v.quote_balance for v in balances.venues] == pytest.approx(
            [float(usdt(r.binance, "MAIN")), float(usdt(r.bybit, "UNIFIED"))], abs=1e-9)  # fmt: skip
        assert [v.quote_balance for v in balances.venues] == pytest.approx([2000.0, 1999.71], abs=1e-9)
        assert report.pnl == pytest.approx(-0.29, abs=1e-9)
        assert [v.pnl for v in report.venues] == pytest.approx([-0.29, 0.0, -0.29], abs=1e-9)
        # accepted again: the baseline holds the move (kept beside it); the report still counts its fee
        assert all(report.ok for report in await reconcile(r, accept=True))
        balances, report = live_report(r)
        assert [v.quote_balance for v in balances.venues] == pytest.approx([2000.0, 1999.71], abs=1e-9)
        assert report.pnl == pytest.approx(-0.29, abs=1e-9)
