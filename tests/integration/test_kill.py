"""The kill switch against the fake venues: halt, cancel everything, flatten, report."""

from __future__ import annotations

import asyncio
import re
import shlex
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from arb.cli import main
from arb.errors import EXIT_VENUE_UNAVAILABLE
from arb.live.kill import HALT_KEY, kill, record_halt
from arb.live.process import KILL_REPORT_FILE, PID_FILE
from arb.live.trading_session import trading_session, venue_account
from arb.sim.ledger import OrderStatus, OrderType, Side, VenueRejectError
from arb.sim.options import VenueOptions
from arb.strategy.types import BUY
from tests.support.clocks import OffsetClock
from tests.support.live_rig import (
    BINANCE_LINEAR,
    BINANCE_SPOT,
    BYBIT_LINEAR,
    BYBIT_SPOT,
    EVERY_SPEC,
    OKX_LINEAR,
    OKX_SPOT,
    WAIT_S,
    VenueSpec,
    account,
    answered_order,
    arb_live,
    best,
    both_books_up,
    both_keys,
    ended,
    exited,
    journal_of,
    ledger_symbol,
    live_up,
    load,
    spot_pair,
    standing_pair,
    standing_recordings,
    venue_and_config,
    venue_and_session,
    write_pair_config,
)
from tests.support.processes import has_exited, run_arb
from tests.support.stand_in import BEHAVIOURS, stand_in


@pytest.mark.parametrize("spec", EVERY_SPEC, ids=lambda s: s.id)
async def test_kill_cancels_open_orders_and_flattens_a_lone_leg(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with venue_and_config(spec, tmp_path, monkeypatch) as (venue, config):
        async with trading_session(config, [spec.index]) as session:
            await venue_account(session, spec.index)  # the account's starting point
            bid, _, ask, ask_qty = best(venue, spec)
            qty = min(
                # three minimums: OKX has no minimum value, and a spot buy's fee in the coin leaves a minimum short
                ask_qty,
                max(spec.rules.min_qty * 3, (spec.rules.min_notional / ask).quantize(spec.rules.step_size) * 3),
            )
            await answered_order(session.executors[spec.index], BUY, ask, qty)  # a leg fills alone
            resting = venue.ledger.place(account(venue), symbol=ledger_symbol(venue, spec), side=Side.BUY,
                                         type=OrderType.LIMIT, qty=qty,
                                         price=(bid * Decimal("0.5")).quantize(spec.rules.tick_size),
                                         client_id="resting1")  # fmt: skip
            report = await kill(session, slippage_bps=50.0)
        assert report.flat, report.describe()
        assert resting.status is OrderStatus.CANCELED and report.cancelled == {spec.venue: 1}
        assert abs(report.net_before) > 0 and abs(report.net_after) < float(spec.rules.step_size)
        (flatten,) = report.orders
        assert flatten.side == -1 and flatten.reduce_only is (spec.market == "linear")
        assert not venue.ledger.open_orders(account(venue))
        if spec.market == "linear":
            assert account(venue).position(ledger_symbol(venue, spec)).qty == 0
        async with trading_session(config, [spec.index]) as session:
            assert session.journal.get_state(HALT_KEY) == "kill switch"  # held until a person clears it
            again = await kill(session, slippage_bps=50.0)  # a second kill finds nothing to do
        assert again.flat and again.orders == [] and again.cancelled == {spec.venue: 0}


async def _silent_past_the_window(
    spec: VenueSpec,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    lots: int,
    client_id: str,
    armed: Callable[[Any], bool],
    gone: Callable[[Any], bool] | None = None,
    window_s: int = 5,
) -> tuple[Any, Any]:
    """A buy of ``lots`` minimum quantities resting at 80 % of the bid on ``spec``'s fake venue (whose
    clock the test moves), arb's dead man's switch armed for ``window_s`` (the venue saw it when
    ``armed(venue)``) and arb stopped (the venue saw it go when ``gone(venue)``, where given): within the
    window the order rests, past it the venue cancels it. Returns the venue and the resting order."""
    clock = OffsetClock()
    async with venue_and_config(spec, tmp_path, monkeypatch, options=VenueOptions(clock=clock)) as (venue, config):
        bid, _, _, _ = best(venue, spec)
        price = (bid * Decimal("0.8")).quantize(spec.rules.tick_size)
        resting = venue.ledger.place(account(venue), symbol=ledger_symbol(venue, spec), side=Side.BUY,
                                     type=OrderType.LIMIT, qty=spec.rules.min_qty * lots, price=price,
                                     client_id=client_id)  # fmt: skip
        async with trading_session(config, [spec.index]) as session:
            executor = session.executors[spec.index]
            async with asyncio.TaskGroup() as group:
                executor.run_background(group)
                assert executor.dead_man.run(group, window_s) == f"armed, {window_s} s"
                async with asyncio.timeout(WAIT_S):
                    await venue.wait_until(lambda: armed(venue))
                executor.stop()
        if gone is not None:
            async with asyncio.timeout(WAIT_S):
                await venue.wait_until(lambda: gone(venue))
        clock.offset += window_s * 0.6
        await venue.tick()
        assert resting.status is OrderStatus.NEW
        clock.offset += window_s * 0.6
        await venue.tick()
        assert resting.status is OrderStatus.CANCELED
        return venue, resting


# Each venue's own dead-man's switch: Bybit's disconnection protection, Binance USD-M's countdown, none on
# Binance spot, OKX's cancel-all-after.
@pytest.mark.parametrize("spec", [BYBIT_SPOT, BYBIT_LINEAR], ids=lambda s: s.id)
async def test_bybit_cancels_arbs_orders_when_arb_goes_silent_past_the_dead_man_window(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # arb is gone (its private stream closed): within the window nothing happens, past it the venue
    # cancels the product's orders
    venue, _ = await _silent_past_the_window(
        spec, tmp_path, monkeypatch, lots=200, client_id="resting-dcp",
        armed=lambda v: v.subscriber_count(v.dcp_topic) >= 1, gone=lambda v: v.subscriber_count(v.dcp_topic) == 0,
    )  # fmt: skip
    (trigger,) = venue.dcp_triggers
    assert trigger.account == "arb"


@pytest.mark.parametrize("spec", [OKX_SPOT, OKX_LINEAR], ids=lambda s: s.id)
async def test_okx_cancels_arbs_orders_when_cancel_all_after_is_not_renewed(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # OKX's own switch: cancel-all-after, one REST countdown of 10 to 120 s for every order-book instrument
    # of the account (no per-symbol countdown as on Binance USD-M, no connection-bound window as on Bybit),
    # renewed by arb while it runs: past the last renewal's window OKX cancels every open order
    venue, resting = await _silent_past_the_window(
        spec, tmp_path, monkeypatch, lots=10, client_id="restingcaa", window_s=10,
        armed=lambda v: any(r.path == "/api/v5/trade/cancel-all-after" for r in v.stats.rest_requests),
    )  # fmt: skip
    (trigger,) = venue.caa_triggers
    assert (trigger.account, trigger.scope, trigger.cancelled) == ("arb", "", (resting.order_id,))


async def test_binance_usdm_cancels_arbs_orders_when_the_countdown_is_not_renewed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # arb stopped renewing: within the countdown nothing happens, past it the venue cancels the symbol's orders
    spec = BINANCE_LINEAR
    venue, resting = await _silent_past_the_window(
        spec, tmp_path, monkeypatch, lots=10, client_id="resting-cd",
        armed=lambda v: any(r.path.endswith("/countdownCancelAll") for r in v.stats.rest_requests),
    )  # fmt: skip
    (trigger,) = venue.countdown_triggers
    assert (trigger.account, trigger.symbol, trigger.cancelled) == ("arb", spec.symbol, (resting.order_id,))


async def test_binance_spot_has_no_dead_mans_switch_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = BINANCE_SPOT
    async with venue_and_session(spec, tmp_path, monkeypatch) as (_, session), asyncio.TaskGroup() as group:
        armed = session.executors[spec.index].dead_man.run(group, 5)
        assert armed.startswith("none")


@pytest.mark.parametrize("spec", [BINANCE_SPOT, BYBIT_SPOT, OKX_SPOT], ids=lambda s: s.id)
async def test_kill_leaves_dust_no_venue_would_trade_and_calls_it_flat(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Found by the fault campaign: fees paid in the coin leave a net position of a few steps, below
    # every venue's minimum notional; the kill switch sent orders the venue had to refuse, five
    # times, then reported that dust as exposure left (arb kill exit 1) although nothing could close it.
    # Spot only: a linear position is whole lots of the venue's minimum, no coin fee leaves less. OKX spot
    # has no minimum value but a minimum size (minSz 0.00001 BTC on a lot of 1e-8): its dust is below that.
    async with venue_and_session(spec, tmp_path, monkeypatch) as (venue, session):
        await venue_account(session, spec.index)  # the account's starting point
        bid, _, ask, _ = best(venue, spec)
        rules = spec.rules
        least = max(rules.min_notional / bid, rules.min_qty)  # the least order the venue takes, in base units
        qty = least.quantize(rules.step_size) * 4
        dust = (least / 2).quantize(rules.step_size, rounding="ROUND_DOWN")
        assert dust >= rules.step_size * 4  # a few steps, half the least order
        for side, amount, price, cid in ((Side.BUY, qty + dust, ask, "buy1"), (Side.SELL, qty, bid, "sell1")):
            venue.ledger.place(account(venue), symbol=ledger_symbol(venue, spec), side=side, type=OrderType.LIMIT,
                               qty=amount, price=price, client_id=cid)  # fmt: skip
        sent = len(account(venue).orders)
        report = await kill(session, slippage_bps=50.0)
    assert 0 < report.net_before < float(least)
    assert report.flat, report.describe()
    assert report.orders == [] and len(account(venue).orders) == sent  # nothing sent that must be refused
    assert any("dust" in line for line in report.describe())


# Binance USD-M's rule alone (-4164): OKX's swap has no minimum value and a position there is whole lots of
# its minimum size, so no position is below what an order may close.
async def test_kill_closes_a_usdm_position_below_the_minimum_notional_reduce_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Binance USD-M refuses an order below MIN_NOTIONAL "unless you choose reduce only" (-4164): a perpetual
    # position that small is exposure a reduce-only order closes, not dust to leave and call flat
    spec = BINANCE_LINEAR
    async with venue_and_session(spec, tmp_path, monkeypatch) as (venue, session):
        await venue_account(session, spec.index)  # the account's starting point
        bid, _, ask, _ = best(venue, spec)
        rules = spec.rules
        qty = (rules.min_notional / bid).quantize(rules.step_size) * 4
        small = rules.step_size
        assert small * bid < rules.min_notional  # below the notional any order but a reduce-only one needs
        for side, amount, price, cid in ((Side.BUY, qty + small, ask, "buy-1"), (Side.SELL, qty, bid, "sell-1")):
            venue.ledger.place(account(venue), symbol=spec.symbol, side=side, type=OrderType.LIMIT,
                               qty=amount, price=price, client_id=cid)  # fmt: skip
        assert account(venue).position(spec.symbol).qty == small
        with pytest.raises(VenueRejectError):  # an order that is not reduce-only is refused, as Binance does
            venue.ledger.place(account(venue), symbol=spec.symbol, side=Side.SELL, type=OrderType.LIMIT,
                               qty=small, price=bid, client_id="plain")  # fmt: skip
        report = await kill(session, slippage_bps=50.0)
    (flatten,) = report.orders
    assert flatten.reduce_only and flatten.filled == small
    assert account(venue).position(spec.symbol).qty == 0 and report.flat, report.describe()
    assert not any("dust" in line for line in report.describe())


# Binance's throttle (-1008) on the Binance-Bybit pair. OKX's own limit is 50011 (a 429, or a 200 "Rate limit
# reached"); its version of this test (the flatten on the other venue) is not written yet.
async def test_kill_flattens_on_the_other_venue_when_one_answers_a_rate_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Binance answers the first flattening order 503 -1008 (a throttle: not placed, and arb holds orders
    # back from Binance for a while); the kill switch closes the lone leg on Bybit instead of spending
    # its attempts on a venue that refuses them unsent, and says why Binance was not used again.
    both_keys(monkeypatch)
    async with spot_pair(*standing_recordings(tmp_path, heartbeat_ms=500)) as (binance, bybit):
        await both_books_up(binance, bybit, WAIT_S)
        config = load(write_pair_config(tmp_path, binance, bybit))
        async with trading_session(config, (0, 1)) as session:
            for v in (0, 1):
                await venue_account(session, v)  # the account's starting point
            lone = Decimal("0.01")

            def lone_leg(cid: str) -> None:  # a pair's Bybit buy filled alone
                ask = Decimal(bybit.book("BTCUSDT", 1).asks[0][0])
                bybit.ledger.place(account(bybit), symbol="BTCUSDT", side=Side.BUY, type=OrderType.LIMIT, qty=lone,
                                   price=ask, client_id=cid)  # fmt: skip

            lone_leg("lone-1")
            binance.faults.order_error(503, -1008)
            report = await kill(session, slippage_bps=50.0)
            assert report.flat, report.describe()
            refused, flattened = report.orders
            assert refused.venue == 0 and refused.rejection is not None and refused.rejection.code == -1008
            assert flattened.venue == 1 and flattened.side == -1
            assert float(flattened.filled) == pytest.approx(report.net_before)  # the lone leg less its fee in BTC
            # still held back from Binance: the next kill does not even try it
            lone_leg("lone-2")
            again = await kill(session, slippage_bps=50.0)
        assert again.flat, again.describe()
        assert [o.venue for o in again.orders] == [1]
        assert any(line.startswith("binance spot: arb sends it no order for now") for line in again.problems)
        assert not account(binance).trades  # nothing ever traded there
        bought = sum(t.qty - t.fee for t in account(bybit).trades if t.side is Side.BUY)  # fees in the coin
        sold = sum(t.qty for t in account(bybit).trades if t.side is Side.SELL)
        assert sold > lone and abs(bought - sold) < BYBIT_SPOT.rules.min_qty  # flat on Bybit, to the dust


# Binance USD-M's rule alone: its -1008 exempts reduce-only orders; OKX's 50011 exempts none.
async def test_kill_flattens_usdm_through_its_throttle_reduce_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # USD-M's -1008 throttle exempts "Reduce-only/close-position orders": after one, arb holds its other
    # creates for a minute, but the kill switch's reduce-only flatten goes to the venue that holds the position
    spec = BINANCE_LINEAR
    async with venue_and_session(spec, tmp_path, monkeypatch) as (venue, session):
        await venue_account(session, spec.index)  # the account's starting point
        _, _, ask, _ = best(venue, spec)
        qty = (spec.rules.min_notional / ask).quantize(spec.rules.step_size) * 3
        venue.ledger.place(account(venue), symbol=spec.symbol, side=Side.BUY, type=OrderType.LIMIT, qty=qty,
                           price=ask, client_id="lone-1")  # fmt: skip
        venue.faults.order_error(503, -1008)
        report = await kill(session, slippage_bps=50.0)
        assert session.executors[spec.index].guard.blocked(create=True) is not None  # other creates still wait
    refused, flattened = report.orders
    assert refused.rejection is not None and refused.rejection.code == -1008
    assert flattened.reduce_only and flattened.filled == qty
    assert account(venue).position(spec.symbol).qty == 0 and report.flat, report.describe()


ACCOUNT_PATHS = {BINANCE_SPOT.id: ("/api/v3/account", "-1001"), OKX_SPOT.id: ("/api/v5/account/balance", "50026"),
                 OKX_LINEAR.id: ("/api/v5/account/balance", "50026")}  # fmt: skip
"""Where each venue-market's account is read, and the code its HTTP 500 carries (OKX: system error)."""


@pytest.mark.parametrize("spec", [BINANCE_SPOT, OKX_SPOT, OKX_LINEAR], ids=lambda s: s.id)
async def test_kill_names_a_venue_whose_account_cannot_be_read_and_calls_the_net_unknown(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without one venue's holdings the net position is unknown: nothing is sent, and that is not flat.
    path, code = ACCOUNT_PATHS[spec.id]
    name = f"{spec.venue} {spec.market}"
    async with venue_and_session(spec, tmp_path, monkeypatch) as (venue, session):
        venue.faults.rest_error(500, path=path, times=10)
        report = await kill(session, slippage_bps=50.0)
        assert session.journal.get_state(HALT_KEY) == "kill switch"  # halted all the same
    assert not report.flat and report.orders == []
    assert report.exposure == [f"{name}: its account could not be read; the net position is unknown"]
    (problem,) = report.problems
    assert problem.startswith(f"{name}: GET {path} answered HTTP 500 {code}"), problem
    assert any(line.startswith(f"  EXPOSURE LEFT: {name}: its account") for line in report.describe())


def _lone_leg_qty(venue: Any, spec: VenueSpec) -> tuple[Decimal, Decimal]:
    """The ask and a quantity of a few minimum orders there (within its size): a lone leg to flatten (three
    minimum sizes where there is no minimum value, OKX's: what a fee in the coin leaves is still above one)."""
    _, _, ask, ask_qty = best(venue, spec)
    rules = spec.rules
    return ask, min(ask_qty, max(rules.min_qty * 3, (rules.min_notional / ask).quantize(rules.step_size) * 3))


@pytest.mark.parametrize("spec", [BINANCE_SPOT, OKX_SPOT, OKX_LINEAR], ids=lambda s: s.id)
async def test_a_flatten_answered_after_the_done_timeout_is_found_out_and_never_sent_twice(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The account holds coins of its own (50 BTC at its inception), so a second sell of the whole net
    # position would go through and leave it short. The flatten fills at once but its answer is held
    # and the user stream is silent: past the kill switch's done timeout its fate is unknown. It is
    # found out (queried) before anything else is sent for the symbol: one flatten, the account flat.
    # On OKX the flatten's clOrdId is free again once it filled (unique among open orders only): sent
    # again it would be a second order. On a perpetual a second sell would open a short.
    async with venue_and_session(spec, tmp_path, monkeypatch) as (venue, session):
        await venue_account(session, spec.index)  # the account's starting point
        ask, qty = _lone_leg_qty(venue, spec)
        await answered_order(session.executors[spec.index], BUY, ask, qty)  # a leg fills alone
        venue.faults.silence_user_stream()
        venue.faults.order_timeout(processed=True)  # the venue fills the flatten; its answer comes late
        report = await kill(session, slippage_bps=50.0, done_timeout_s=0.2)  # resolved within [live]'s bound
        venue.faults.release_orders()
    sells = [t for t in account(venue).trades if t.side is Side.SELL]
    if spec.market == "spot":
        held = account(venue).balance("BTC")
        assert abs(held.free + held.locked - Decimal(spec.balances["BTC"])) < spec.rules.step_size, sells  # not short
    else:
        assert account(venue).position(ledger_symbol(venue, spec)).qty == 0, sells  # not short
    assert len([o for o in account(venue).orders if o.side is Side.SELL]) == 1  # one order, one client id
    (flatten,) = report.orders
    assert flatten.done and flatten.side == -1
    assert 0 <= report.net_before - float(flatten.filled) < float(spec.rules.step_size)  # all of it, to the lot
    assert sum(t.qty for t in sells) == flatten.filled  # one flatten reached the venue's book
    assert abs(report.net_after) < float(spec.rules.step_size)
    assert report.flat and report.unknown == [], report.describe()


@pytest.mark.parametrize("spec", [BINANCE_SPOT, OKX_SPOT, OKX_LINEAR], ids=lambda s: s.id)
async def test_a_flatten_whose_fate_stays_unknown_stops_the_symbol_until_the_next_kill_finds_it_out(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The flatten's answer is held longer than the bound the kill switch gives it (its request's timeout
    # is 30 s, the bound 0.5 s): its fate cannot be known in time. Nothing more is sent for the symbol
    # (it may have filled: it did), and the report is not flat (arb kill exits 1) and names the order.
    # The next kill (a person runs it again) asks about that flatten before anything else: it filled,
    # so nothing is sent and the journal holds nothing in flight.
    async with venue_and_config(spec, tmp_path, monkeypatch, live={"request_timeout_ms": 30_000}) as (venue, config):
        async with trading_session(config, [spec.index]) as session:
            await venue_account(session, spec.index)
            ask, qty = _lone_leg_qty(venue, spec)
            await answered_order(session.executors[spec.index], BUY, ask, qty)
            venue.faults.silence_user_stream()
            venue.faults.order_timeout(processed=True)
            report = await kill(session, slippage_bps=50.0, done_timeout_s=0.2, resolve_timeout_s=0.5)
            (flatten,) = report.orders
            assert not flatten.done and not report.flat
        (unknown,) = report.unknown
        name = f"{spec.venue} {spec.market} BTCUSDT sell"
        assert unknown.startswith(f"{name} {flatten.qty_text} ({flatten.client_id}) is still")
        assert any(line.startswith(f"  ORDER UNKNOWN: {name}") for line in report.describe())
        async with trading_session(config, [spec.index]) as session:
            again = await kill(session, slippage_bps=50.0)
            assert session.journal.in_flight_orders(spec.venue, spec.market) == []
        venue.faults.release_orders()
    assert again.orders == [] and again.flat, again.describe()
    assert len([t for t in account(venue).trades if t.side is Side.SELL]) == 1  # it filled, once
    assert len([o for o in account(venue).orders if o.side is Side.SELL]) == 1  # its client id sent once


# The tests from here on are about the arb kill process (its halt, its pid file, the arb live it stops), on the
# Binance-Bybit pair: the venues' rules play no part in them (test_live_okx_e2e runs arb kill on OKX).
async def test_arb_kill_with_the_venues_unreachable_still_halts_and_the_next_arb_live_opens_no_pair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The network to both venues is down: arb kill cannot cancel or flatten (exit 4), but the halt is in
    # the journal before any venue was asked, so the next arb live (the venue back, the standing
    # spread still there) trades nothing until a person clears it.
    async with standing_pair(tmp_path, monkeypatch) as (binance, bybit, config, keys):
        await both_books_up(binance, bybit, WAIT_S)
        for fake in (binance, bybit):
            await fake.refuse_connections()  # their ports are there, nobody listens: ECONNREFUSED
        rc, said, _ = await run_arb(
            "kill", "--config", str(config), env=keys, cwd=tmp_path, merged=True, quiet_s=180, forked=True
        )
        assert rc == EXIT_VENUE_UNAVAILABLE, said
        (lifts,) = re.findall(r"kill switch: halt recorded in the journal \((arb halt .*) lifts it\)", said)
        assert lifts == f"arb halt --live --clear --config {shlex.quote(str(config))}"  # arb live's halt alone
        with journal_of(tmp_path) as journal:
            assert journal.get_state(f"{load(config).live.account}/{HALT_KEY}") == "kill switch"
        for fake in (binance, bybit):
            await fake.accept_connections()
        out = tmp_path / "again"
        async with arb_live(config, out, keys, "--duration", "3s") as process:
            await live_up(
                binance, bybit, process, out, streams=["btcusdt@depth@100ms"], topics=["orderbook.50.BTCUSDT"]
            )
            binance.play(1.0)
            bybit.play(1.0)
            said = ended(out, await exited(process), 0) + (out / "stdout").read_text()
        assert "HALTED (kill switch)" in said and f"no new pair until a person clears it ({lifts})" in said
        assert not account(binance).orders and not account(bybit).orders
    assert main(shlex.split(lifts)[1:]) == 0  # as printed
    with journal_of(tmp_path) as journal:
        assert journal.get_state(f"{load(config).live.account}/{HALT_KEY}") == ""


async def test_arb_kill_flattens_a_position_made_by_arb_order_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # arb order is the first to trade on this journal (no arb live, no kill before it): the position it
    # made is the journal's, so the kill switch closes it.
    async with standing_pair(tmp_path, monkeypatch) as (binance, bybit, config, keys):
        await both_books_up(binance, bybit, WAIT_S)
        ask = Decimal(binance.book("BTCUSDT", 1).asks[0][0])
        order = ("order", "--venue", "binance", "--side", "buy", "--qty", "0.01", "--price", str(ask))
        rc, said, _ = await run_arb(*order, "--config", str(config), env=keys, cwd=tmp_path, merged=True, forked=True)
        assert rc == 0, said
        bought = sum(t.qty - t.fee for t in account(binance).trades)  # the fee is paid in the coin
        assert bought > 0
        rc, said, _ = await run_arb("kill", "--config", str(config), env=keys, cwd=tmp_path, merged=True, forked=True)
        assert rc == 0, said
        said_after = re.findall(re.escape(f"net position {float(bought):+.8g} -> ") + r"(\S+)", said)
        assert said_after and all(abs(float(a)) < BINANCE_SPOT.rules.step_size for a in said_after), said
        net = sum(
            (t.qty if t.side is Side.BUY else -t.qty) - (t.fee if t.fee_asset == "BTC" else 0)
            for fake in (binance, bybit)
            for t in account(fake).trades
        )
        assert abs(net) < BINANCE_SPOT.rules.step_size


async def test_arb_kill_returns_once_the_arb_live_it_stopped_has_exited_and_exits_as_its_report_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # arb live removes its pid file before it has closed its journal and written its reports: arb kill
    # waits for the process itself, then says what its kill switch reported, then acts on the account
    async with standing_pair(tmp_path, monkeypatch) as (binance, bybit, config, keys):
        await both_books_up(binance, bybit, WAIT_S)
        record_halt(load(config))  # it opens no pair: what its kill switch finds is the account's alone
        out = tmp_path / "live"
        async with arb_live(config, out, keys) as process:
            await live_up(binance, bybit, process, out, streams=["btcusdt@depth@100ms"],
                          topics=["orderbook.50.BTCUSDT"])  # fmt: skip
            pid = process.pid
            kill_cmd = ("kill", "--config", str(config), "--timeout", "10m")  # a bound on a hang: a busy machine
            rc, said, _ = await run_arb(*kill_cmd, env=keys, cwd=tmp_path, merged=True, forked=True)
            assert has_exited(pid), said  # at the moment arb kill returned: gone, or a zombie not collected yet
            stderr = ended(out, await exited(process), 0)  # its kill switch left the account flat
        assert rc == 0, said  # and so arb kill's own pass found it
        its_report = ("kill switch: new pairs halted\n  binance: 0 open order(s) cancelled\n"
                      "  bybit: 0 open order(s) cancelled\n  net position +0 -> +0\n")  # fmt: skip
        assert its_report in stderr
        stopped = f"arb live (pid {pid}) exited; its kill switch reported:\n{its_report}"  # read, then said
        assert stopped in said and said.index(f"kill switch sent to arb live (pid {pid})") < said.index(stopped)
        assert said.index(stopped) < said.index("kill switch: halt recorded in the journal")  # acts after the exit
        assert load(config).live.state_dir.joinpath(KILL_REPORT_FILE).exists()
        assert not account(binance).orders and not account(bybit).orders


@pytest.mark.parametrize("behaviour", BEHAVIOURS)
async def test_arb_kill_leaves_the_account_alone_and_exits_1_while_the_arb_live_it_signalled_still_runs(
    behaviour: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a process holding arb live's pid file that does not end at the kill switch: one that ignores it
    # (hung), and one that removes its pid file and runs on (the pid file says nothing of the process)
    async with standing_pair(tmp_path, monkeypatch) as (binance, bybit, config, keys):
        state_dir = load(config).live.state_dir
        async with stand_in(behaviour, state_dir / PID_FILE) as pid:
            kill_cmd = ("kill", "--config", str(config), "--timeout", "1s")
            rc, said, _ = await run_arb(*kill_cmd, env=keys, cwd=tmp_path, merged=True, forked=True)
            assert not has_exited(pid)
            assert (state_dir / PID_FILE).exists() is (behaviour == "ignores")
        assert rc == 1, said
        assert f"arb live (pid {pid}) has not exited after 1 s: nothing was done to the account here" in said
        assert f"kill -TERM {pid}" in said and "run arb kill again" in said
        assert "halt recorded" not in said and not list(state_dir.glob("*.sqlite"))  # no journal, so no halt
        assert not binance.stats.rest_requests and not bybit.stats.rest_requests  # no venue was asked anything
