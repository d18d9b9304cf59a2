"""``[rebalance] auto``: ``arb live``'s own moves (:mod:`arb.live.auto_rebalance`) against the fake Binance spot
and Bybit spot joined on one chain (the rig of ``test_rebalance``): a look lands the withdrawal the plan marks
worth making, journaled as ``--execute`` journals it; a withdrawal over what the daily limit leaves is not sent,
counted from the journal across a restart; a refusal turns the automatic path off with one line; a halt sends
nothing and leaves a move being followed in flight, and the next run carries it on. Then ``arb live`` itself:
with ``auto`` it withdraws by itself, and trades on past a refusal; without it, it never looks at the wallets.

The automatic task runs on its own here, its pauses counted and its halt the test's: the chain's terms make a
transfer arrive at once, so no clock moves and nothing sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import io
import logging
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal as D  # noqa: N817 - short for the literals below
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from arb.config import load_config
from arb.journal.transfers import IN_FLIGHT, TransferJournal, TransferRow, TransferState
from arb.live.auto_rebalance import DAY_NS, auto_rebalance, within_limits
from arb.sim.transfers import Chain, NetworkTerms
from arb.testing.pair_rig import account, spot_pair, write_pair_config
from arb.testing.scenarios import Change
from arb.testing.waiting import wait_for
from tests.integration.test_rebalance import TIMEOUT_S, Rig, rig, usdt
from tests.support.live_rig import both_keys
from tests.support.scenario_days import STANDING_START_NS, write_standing_spread

INTERVAL_S = 60
LIMITS = {"USDT": 1500, "BTC": 0.5}
AUTO = {"auto": True, "daily_limit": LIMITS, "auto_interval_s": INTERVAL_S}
LOGGER = "arb.live.auto_rebalance"
ACCOUNT = "main"


def at_once(*venues: Any, confirm_s: float = 0.0) -> None:
    """USDT on BEP20 on chain as soon as it is sent and credited ``confirm_s`` later, on each of ``venues``."""
    for venue in venues:
        venue.transfers.wallets.set_terms(NetworkTerms("USDT", "BSC", D("0.29"), D(10), delay_s=0.0,
                                                       confirm_s=confirm_s, confirmations=15))  # fmt: skip


def journal(r: Rig, clock: Callable[[], int] = time.time_ns) -> TransferJournal:
    """The journal's ``transfers`` the rig's ``arb live`` writes (account :data:`ACCOUNT`)."""
    live = load_config(r.config).live
    assert live.account == ACCOUNT
    return TransferJournal.open(live.state_dir / f"{ACCOUNT}.sqlite", clock=clock)


async def run(r: Rig, looks: int = 1, halt: Callable[[], str] = lambda: "") -> list[float]:
    """``arb live``'s automatic task on the rig until it has made ``looks`` looks (then the test halts it), or
    ``halt()`` says the session halted, or it stops by itself; returns its pauses."""
    pauses: list[float] = []

    async def pause(seconds: float) -> None:
        pauses.append(seconds)
        await asyncio.sleep(0)

    def halted() -> str:
        return halt() or ("the test is over" if pauses.count(INTERVAL_S) >= looks else "")

    async with asyncio.timeout(TIMEOUT_S):
        await auto_rebalance(load_config(r.config), halted, pause=pause)
    return pauses


def said(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    """The automatic task's lines at ``level``, but the one that says it stopped for a halt."""
    return [r.getMessage() for r in caplog.records
            if r.name == LOGGER and r.levelno == level and "session is halted" not in r.getMessage()]  # fmt: skip


def test_within_limits_keeps_the_moves_the_limit_leaves_room_for_and_drops_a_withdrawals_wallet_move() -> None:
    from arb.execution.rebalance import Move

    sweep = Move("transfer", "USDT", 1, 1, "funding", "unified", D(5))
    into = Move("transfer", "USDT", 0, 0, "linear", "spot", D(600))
    usdt_out = Move("withdraw", "USDT", 0, 1, "spot", "unified", D(1000), "BEP20", D("0.29"))
    btc_out = Move("withdraw", "BTC", 1, 0, "unified", "spot", D("0.1"), "BTC", D("0.0002"))
    dear = Move("withdraw", "ETH", 0, 1, "spot", "unified", D(1), "ERC20", D(1), worth=False)
    names = ("binance", "bybit")
    chosen, lines = within_limits([sweep, into, usdt_out, btc_out, dear], LIMITS, {"USDT": D(600)}, names)
    assert chosen == [sweep, btc_out]  # 600 + 1000 > 1500: the withdrawal and the move into its wallet stay
    [line] = lines
    assert "1000 USDT binance -> bybit" in line and "daily_limit USDT = 1500" in line and "600 withdrawn" in line
    assert within_limits([usdt_out], LIMITS, {}, names)[0] == [usdt_out]
    assert within_limits([btc_out], {"USDT": 1500, "BTC": 0}, {}, names)[0] == []  # 0: never by itself


async def test_a_look_lands_the_withdrawal_worth_making_journaled_as_execute_journals_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    async with rig(tmp_path, monkeypatch, **AUTO) as r:
        at_once(r.binance, r.bybit)
        pauses = await run(r)
        with journal(r) as rows:
            [row] = rows.rows(ACCOUNT)
        assert (row.state, row.kind, row.network, row.amount, row.credited) == (
            TransferState.DONE, "withdraw", "BEP20", "1000", "999.71")  # fmt: skip
        assert r.binance.transfers.wallets.withdraw_requests == [("arb", row.client_id)]
        [deposit] = r.bybit.transfers.wallets.deposits
        assert deposit.state.name == "CREDITED" and deposit.amount == D("999.71")
        assert usdt(r.binance, "MAIN") == D(2000) and usdt(r.bybit, "UNIFIED") == D("1999.71")
        assert pauses[-1] == INTERVAL_S and not said(caplog, logging.WARNING) + said(caplog, logging.ERROR)
        assert any(row.client_id in line for line in said(caplog, logging.INFO))


async def test_a_withdrawal_over_what_the_daily_limit_leaves_is_not_sent_and_a_restart_counts_the_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async with rig(tmp_path, monkeypatch, **AUTO) as r:
        at_once(r.binance, r.bybit)
        old = TransferRow("old", ACCOUNT, "withdraw", "USDT", "binance", "bybit", "spot", "unified", "BEP20", "0x0",
                          "5000", "0.29", TransferState.DONE)  # fmt: skip
        with journal(r, clock=lambda: time.time_ns() - DAY_NS - 10**9) as rows:  # 24 h and a second ago
            rows.add(old)
        with journal(r) as rows:  # refused: nothing left the venue
            rows.add(dataclasses.replace(old, client_id="refused", state=TransferState.REFUSED))
        await run(r)  # neither counts: 1000 of 1500 is sent
        assert len(r.binance.transfers.wallets.withdraw_requests) == 1 and usdt(r.bybit, "UNIFIED") == D("1999.71")
        r.binance.transfers.wallets.fund("arb", "MAIN", "USDT", "2000")  # 4000 | 1999.71: 1000.145 to move
        caplog.clear()
        await run(r, looks=2)  # a restart: clients and journal opened again
        assert len(r.binance.transfers.wallets.withdraw_requests) == 1 and usdt(r.binance, "MAIN") == D(4000)
        over = said(caplog, logging.WARNING)
        assert len(over) == 2  # once a look
        assert "1000.145 USDT binance -> bybit not sent" in over[0] and "daily_limit USDT = 1500" in over[0]
        assert "1000 withdrawn in the last 24 h" in over[0]


async def test_a_refusal_turns_the_automatic_path_off_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async with rig(tmp_path, monkeypatch, **AUTO) as r:
        r.binance.transfers.wallets.allow_list("arb", on=True)  # the receiver's address is not on it
        pauses = await run(r, looks=3)  # it stops by itself, before a second look
        [line] = said(caplog, logging.ERROR)
        assert "binance withdraw USDT on BEP20: refused -4035" in line and "off for the rest of this run" in line
        assert "\n" not in line and pauses == []
        assert len(r.binance.transfers.wallets.withdraw_requests) == 1
        with journal(r) as rows:
            [row] = rows.rows(ACCOUNT)
        assert (row.state, row.code) == (TransferState.REFUSED, "-4035")


async def test_a_halted_session_sends_nothing_and_a_halt_while_following_leaves_the_move_for_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async with rig(tmp_path, monkeypatch, **AUTO) as r:
        at_once(r.binance, r.bybit, confirm_s=3600.0)  # on chain at once, credited in an hour
        assert await run(r, halt=lambda: "kill switch") == []
        assert not r.binance.stats.rest_requests and not r.bybit.stats.rest_requests  # not even a look
        assert "session is halted (kill switch)" in caplog.records[-1].getMessage()
        with journal(r) as rows:  # the session halts while the move is followed: it stays in flight
            await run(r, halt=lambda: "max_drawdown" if rows.rows(ACCOUNT, in_flight=True) else "")
            [row] = rows.rows(ACCOUNT)
        assert row.state is TransferState.ON_CHAIN and "halted (max_drawdown)" in caplog.records[-1].getMessage()
        [deposit] = r.bybit.transfers.wallets.deposits
        deposit.confirm_s = 0.0  # confirmed now: the next run resumes the move instead of planning again
        await run(r)
        with journal(r) as rows:
            [done] = rows.rows(ACCOUNT)
        assert done.client_id == row.client_id and done.state is TransferState.DONE
        assert len(r.binance.transfers.wallets.withdraw_requests) == 1 and usdt(r.bybit, "UNIFIED") == D("1999.71")


# -- arb live itself ----------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rebalance: dict[str, Any],
               allow_list: bool = False, results: list[Any] | None = None) -> AsyncIterator[Any]:  # fmt: skip
    """``arb live`` in this process (:func:`~arb.live.trading.run_live`, ``rebalance`` its ``[rebalance]``) on
    both fake spot venues joined on one chain, Binance holding 20,000 USDT more than Bybit (``allow_list``: its
    withdrawal allow-list on), the standing spread playing once both books and user streams are subscribed.
    Yields the venues, the journal's ``transfers`` and the session's task; stops the session on the way out,
    which must end cleanly (its result appended to ``results``)."""
    both_keys(monkeypatch)
    spread_at_once = [Change(200, "bybit", bids={60300.0: 1.0})]  # the standing spread from 0.2 s on, not 2 s
    recordings = write_standing_spread(tmp_path, changes=spread_at_once, duration_ms=30_000)
    async with spot_pair(*recordings) as (binance, bybit):
        Chain().join(binance.transfers.wallets, bybit.transfers.wallets)
        binance.transfers.wallets.fund("arb", "MAIN", "USDT", "20000")
        binance.transfers.wallets.allow_list("arb", on=allow_list)
        at_once(binance, bybit)
        config = load_config(write_pair_config(tmp_path, binance, bybit, arbitrage={"rebalance": rebalance}))
        async with asyncio.timeout(TIMEOUT_S), session_on(config, binance, bybit, results) as session:
            binance.play(1.0)
            bybit.play(1.0)
            with TransferJournal.open(config.live.state_dir / f"{ACCOUNT}.sqlite") as rows:
                yield binance, bybit, rows, session


@contextlib.asynccontextmanager
async def session_on(config: Any, binance: Any, bybit: Any, results: list[Any] | None = None) -> AsyncIterator[Any]:
    """``arb live`` with ``config`` on the fake venues, once both books and user streams are subscribed;
    stopped on the way out, which must end cleanly (its result appended to ``results``)."""
    from arb.live.trading import run_live

    stop = asyncio.Event()
    session = asyncio.create_task(run_live(config, console=Console(file=io.StringIO()), stop_event=stop))

    def up() -> bool:
        return session.done() or (binance.user_streams_up() and bybit.user_streams_up()
                                  and binance.subscriber_count("btcusdt@depth@100ms") >= 1
                                  and bybit.subscriber_count("orderbook.50.BTCUSDT") >= 1)  # fmt: skip

    try:
        await wait_for(up, binance, bybit)
        yield session
    except BaseException:  # a failing test: the session never outlives it (the loop's close would inherit it)
        session.cancel()
        await asyncio.wait([session])
        raise
    assert not session.done()
    stop.set()
    result = await session  # no exception
    if results is not None:
        results.append(result)


AUTO_LIVE = {"auto": True, "daily_limit": {"USDT": 20_000, "BTC": 1}, "tolerance": 0.01, "poll_interval_ms": 10}


async def test_arb_live_with_auto_withdraws_by_itself_and_trades_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with live(tmp_path, monkeypatch, AUTO_LIVE) as (binance, bybit, rows, session):

        def landed_and_traded() -> bool:  # the deposit moved into Bybit's trading wallet, a pair traded
            done = [r for r in rows.rows(ACCOUNT) if r.state is TransferState.DONE]  # arb's row, not only the venue's
            landed = bool(done) and bool(bybit.transfers.wallets.transfers)
            return session.done() or (landed and bool(account(binance).trades))

        await wait_for(landed_and_traded, binance, bybit)
        [row] = rows.rows(ACCOUNT)  # 120,000 | 100,000: Binance sends 10,000
        assert (row.state, row.kind, row.amount, row.from_venue, row.to_venue) == (
            TransferState.DONE, "withdraw", "10000", "binance", "bybit")  # fmt: skip
        [withdrawal] = binance.transfers.wallets.withdrawals
        assert (withdrawal.client_id, withdrawal.amount + withdrawal.fee) == (row.client_id, D(10000))  # fee inside
        [deposit] = bybit.transfers.wallets.deposits
        assert deposit.state.name == "CREDITED" and deposit.amount == D("9999.71")
        [sweep] = bybit.transfers.wallets.transfers  # from Bybit's funding wallet, where deposits land
        assert (sweep.source, sweep.target, sweep.amount) == ("FUND", "UNIFIED", D("9999.71"))


async def test_arb_live_follows_its_own_withdrawal_and_a_restart_reconciles_and_trades(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    both_keys(monkeypatch)
    # the standing spread from 0.2 s on; at 10 s it turns the other way (Bybit's ask under Binance's bid),
    # which only the restart sees: the first session may have filled its position limit on the first way
    # (its length is the machine's), and the restart then still has a trade to make
    flip = Change(10_000, "bybit", bids={60300.0: 0.0, 59995.0: 0.0, 59600.0: 2.0}, asks={60400.0: 0.0, 59700.0: 1.0})
    recordings = write_standing_spread(tmp_path, changes=[Change(200, "bybit", bids={60300.0: 1.0}), flip],
                                       duration_ms=30_000)  # fmt: skip
    held_back = STANDING_START_NS + 9_500 * 1_000_000  # the first session's market ends before the turn
    # no wall-clock bound here: two arb live sessions on a loaded machine may take minutes; each wait is
    # bounded by its progress (wait_for), a hang by pytest's timeout
    async with spot_pair(*recordings) as (binance, bybit):
        Chain().join(binance.transfers.wallets, bybit.transfers.wallets)
        binance.transfers.wallets.fund("arb", "MAIN", "USDT", "20000")
        at_once(binance, bybit)
        config = load_config(write_pair_config(tmp_path, binance, bybit, arbitrage={"rebalance": AUTO_LIVE}))
        results: list[Any] = []
        with TransferJournal.open(config.live.state_dir / f"{ACCOUNT}.sqlite") as rows:
            async with session_on(config, binance, bybit, results) as session:
                binance.play(1.0, gate_ns=held_back)
                bybit.play(1.0, gate_ns=held_back)

                def landed() -> bool:
                    return session.done() or [r.state for r in rows.rows(ACCOUNT)] == [TransferState.DONE]

                await wait_for(landed, binance, bybit)
            [row] = rows.rows(ACCOUNT)
        # the session's engine ended on what the venues hold: the withdrawal moved its balances, the fee too
        held = [usdt(binance, "MAIN"), usdt(bybit, "UNIFIED")]
        assert [round(q, 6) for q in results[0].quote] == [round(float(h), 6) for h in held]
        assert row.amount == "10000" and held[0] < D(120_000) - D(9_000)
        trades = len(account(binance).trades)
        async with session_on(config, binance, bybit, results) as again:  # reconciled: no exit 78, it trades
            binance.gate(None)
            bybit.gate(None)
            await wait_for(lambda: again.done() or len(account(binance).trades) > trades, binance, bybit)
        # the restart's inception is where the first run's engine had moved it: the move is neither cash nor a position
        first, restart = results[0].engine, results[1].engine
        assert restart.init_quote.tolist() == first.init_quote.tolist() and (restart.init_base == first.init_base).all()
        with TransferJournal.open(config.live.state_dir / f"{ACCOUNT}.sqlite") as rows:
            assert [r.client_id for r in rows.rows(ACCOUNT)] == [row.client_id]  # nothing more to move


async def test_arb_live_trades_on_past_a_refusal_of_its_automatic_withdrawal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with live(tmp_path, monkeypatch, AUTO_LIVE, allow_list=True) as (binance, bybit, rows, session):

        def refused_and_traded() -> bool:
            # the row is written (sending) before the request leaves: wait for the venue's answer on it
            settled = [r for r in rows.rows(ACCOUNT) if r.state not in IN_FLIGHT]
            return session.done() or (bool(settled) and bool(account(binance).trades))

        await wait_for(refused_and_traded, binance, bybit)
        assert [(r.state, r.code) for r in rows.rows(ACCOUNT)] == [(TransferState.REFUSED, "-4035")]
        assert len(binance.transfers.wallets.withdraw_requests) == 1


async def test_arb_live_without_auto_never_looks_at_the_wallets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with live(tmp_path, monkeypatch, {"tolerance": 0.01}) as (binance, bybit, rows, session):
        await wait_for(lambda: session.done() or bool(account(binance).trades), binance, bybit)
        assert rows.rows(ACCOUNT) == [] and binance.transfers.wallets.withdraw_requests == []
        assert not [q for q in binance.stats.rest_requests if q.path.startswith("/sapi/v1/capital")]


async def test_arb_live_follows_a_withdrawal_arb_rebalance_makes_while_it_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arb.execution.rebalance import open_rebalancer
    from arb.live import trading

    engines: list[Any] = []
    built = trading.live_engine

    async def keep(*args: Any, **kwargs: Any) -> Any:  # the running session's engine, for the test to read
        engines.append(await built(*args, **kwargs))
        return engines[-1]

    async def no_wait(seconds: float) -> None:  # the chain's terms make the move land at once
        await asyncio.sleep(0)

    monkeypatch.setattr(trading, "live_engine", keep)
    follow = {"tolerance": 0.01, "poll_interval_ms": 10}  # no [rebalance] auto: arb live moves nothing itself
    async with live(tmp_path, monkeypatch, follow) as (binance, bybit, rows, session):
        [engine] = engines
        before = engine.init_quote.tolist()
        config = load_config(tmp_path / "arbitrage.toml")
        async with open_rebalancer(config, no_wait) as rb:  # arb rebalance --execute, beside arb live
            [row] = await rb.execute((await rb.plan(["USDT"]))[0], [].append)
        # half the 20,000 USDT apart, moved by half of what arb live spent on either venue if it traded already
        amount = D(row.amount)
        assert row.state is TransferState.DONE and abs(amount - 10_000) < 1_000
        assert D(row.credited) == amount - D("0.29")  # Binance's fee inside the amount
        want = [before[0] - float(amount), before[1] + float(row.credited)]

        def followed() -> bool:
            return session.done() or engine.init_quote.tolist() == pytest.approx(want, abs=1e-6)

        await wait_for(followed, binance, bybit)
        assert not session.done() and [row.client_id] == [r.client_id for r in rows.rows(ACCOUNT)]
        # the move is no gain or loss but its fee, the sender's: the net PnL takes it as the reports do
        assert row.fee == "0.29" and engine.transfer_fees == [{"USDT": pytest.approx(0.29)}, {}]
