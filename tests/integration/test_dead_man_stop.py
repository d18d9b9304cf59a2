"""A clean stop leaves no dead-man's switch armed; a crash leaves it armed (what it is for).

Each venue's own switch against its fake, whose clock the test moves (no 30 s windows waited out):
Binance USD-M's ``countdownCancelAll`` stopped with ``countdownTime`` 0, OKX's ``cancel-all-after`` with
``timeOut`` 0 (it covers every order of the account), Bybit's disconnect-cancel-all, which no request turns
off, left with no connection subscribed to its ``dcp`` topic. After the clean stop an order another program
places on the account survives past the window; without it (arb gone silent, as after SIGKILL) the venue
cancels it, as ``test_kill.py`` shows for each venue.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from arb.live.kill import kill
from arb.live.switches import Switches, disarm_every_switch
from arb.live.trading_session import trading_session
from arb.sim.ledger import OrderStatus, OrderType, Side
from arb.sim.options import VenueOptions
from tests.support.clocks import OffsetClock
from tests.support.live_rig import (
    BINANCE_LINEAR,
    BYBIT_LINEAR,
    BYBIT_SPOT,
    OKX_LINEAR,
    OKX_SPOT,
    WAIT_S,
    VenueSpec,
    account,
    arb_live,
    best,
    book_stream,
    both_books_up,
    both_keys,
    ended,
    exited,
    ledger_symbol,
    live_up,
    spot_pair,
    standing_recordings,
    until,
    venue_and_config,
    write_pair_config,
)

WINDOW_S = 10  # OKX's least


def _requested(path: str) -> Callable[[Any], bool]:
    return lambda v: any(r.path.endswith(path) for r in v.stats.rest_requests)


def _dcp_subscribed(venue: Any) -> bool:
    return bool(venue.subscriber_count(venue.dcp_topic) >= 1)


_ARMED: dict[str, Callable[[Any], bool]] = {
    "binance": _requested("/countdownCancelAll"),
    "okx": _requested("/api/v5/trade/cancel-all-after"),
    "bybit": _dcp_subscribed,
}
"""When the venue has seen arb's switch armed (and, for Bybit, kept: the ``dcp`` topic subscribed)."""


def _switch_off(venue: Any, spec: VenueSpec) -> bool:
    # The fake's own state: no countdown, no timer, no connection subscribed to the dcp topic
    if spec.venue == "okx":
        return not venue.queries.timers("arb")
    if spec.venue == "bybit":
        return not _dcp_subscribed(venue)
    return not venue.accounts.countdowns("arb")


def _place(venue: Any, spec: VenueSpec, client_id: str) -> Any:
    # Another program's order on the account: a buy of ten minimums resting at 80 % of the bid
    bid, _, _, _ = best(venue, spec)
    return venue.ledger.place(account(venue), symbol=ledger_symbol(venue, spec), side=Side.BUY, type=OrderType.LIMIT,
                              qty=spec.rules.min_qty * 10, price=(bid * Decimal("0.8")).quantize(spec.rules.tick_size),
                              client_id=client_id)  # fmt: skip


async def _past_the_window(venue: Any, clock: OffsetClock) -> None:
    # The venue's clock moved past twice the window, what is due applied
    clock.advance(WINDOW_S * 2.5)
    await venue.tick()


def _triggers(venue: Any, spec: VenueSpec) -> list[Any]:
    # Every time the venue's switch fired
    return list(getattr(venue, {"okx": "caa_triggers", "bybit": "dcp_triggers"}.get(spec.venue, "countdown_triggers")))


@pytest.mark.parametrize("spec", [BINANCE_LINEAR, BYBIT_SPOT, BYBIT_LINEAR, OKX_SPOT, OKX_LINEAR], ids=lambda s: s.id)
async def test_a_clean_stop_disarms_the_switch_and_an_order_placed_right_after_survives_the_window(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = OffsetClock()
    console = Console(record=True, width=400)
    live = {"dead_man_window_s": WINDOW_S}
    async with venue_and_config(spec, tmp_path, monkeypatch, live=live, options=VenueOptions(clock=clock)) as (
        venue,
        config,
    ):
        async with trading_session(config, [spec.index]) as session, Switches(session, console) as switches:
            executor = session.executors[spec.index]
            await switches.arm()
            async with asyncio.TaskGroup() as group:
                executor.run_background(group)
                executor.dead_man.run(group, WINDOW_S, armed=True)
                async with asyncio.timeout(WAIT_S):
                    await venue.wait_until(lambda: _ARMED[spec.venue](venue))
                executor.stop()
            assert not _switch_off(venue, spec)
            (line,) = await switches.disarm()
        assert line == f"{spec.venue} dead-man's switch: disarmed"
        assert console.export_text().splitlines()[-1] == line
        async with asyncio.timeout(WAIT_S):  # arb's connections closed: the venue saw them go
            await venue.wait_until(lambda: _switch_off(venue, spec))
        resting = _place(venue, spec, "afterarb1")
        await _past_the_window(venue, clock)
        assert resting.status is OrderStatus.NEW and not _triggers(venue, spec)


# -- arb live itself: SIGTERM disarms, SIGKILL leaves the switch to fire ------------------------------

_PROCESS_WINDOW_S = 10


@contextlib.asynccontextmanager
async def _arb_live_up(
    folder: Path, monkeypatch: pytest.MonkeyPatch, other: str
) -> AsyncIterator[tuple[Any, Any, OffsetClock]]:
    """A real ``arb live`` on Binance spot and ``other``'s spot (fakes on a clock the test moves, written in
    ``folder``), once subscribed and its switch armed on ``other``: yields ``other``'s fake, the process and
    the fakes' clock."""
    clock, venues = OffsetClock(), ("binance", other)
    keys = both_keys(monkeypatch)
    first_file, second_file = standing_recordings(folder, venues=venues)
    async with spot_pair(first_file, second_file, venues=venues, options=VenueOptions(clock=clock)) as (first, second):
        await both_books_up(first, second, WAIT_S)  # a book to place the test's order on
        config = write_pair_config(folder, first, second, live={"dead_man_window_s": _PROCESS_WINDOW_S})
        out = folder / "run"
        async with arb_live(config, out, keys) as process:
            await live_up(first, second, process, out, streams=[book_stream(first, "BTCUSDT")],
                          topics=[book_stream(second, "BTCUSDT")])  # fmt: skip
            await until(lambda: _ARMED[other](second), process, out, 60, second)
            yield second, process, clock


def _fake_spec(other: str) -> VenueSpec:
    return OKX_SPOT if other == "okx" else BYBIT_SPOT


async def _gone(venue: Any, other: str) -> None:
    # The venue saw arb's connections go (Bybit's DCP counts from there)
    if other == "bybit":
        async with asyncio.timeout(WAIT_S):
            await venue.wait_until(lambda: not _dcp_subscribed(venue))


@pytest.mark.parametrize("other", ["bybit", "okx"])
async def test_arb_live_stopped_by_sigterm_disarms_and_an_order_placed_after_survives(
    other: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with _arb_live_up(tmp_path, monkeypatch, other) as (venue, process, clock):
        process.send_signal(signal.SIGTERM)
        stderr = ended(tmp_path / "run", await exited(process), 0)
        await _gone(venue, other)
        assert f"\n{other} dead-man's switch: disarmed\n" in stderr
        assert "binance dead-man's switch: none (Binance spot has no dead-man's switch)" in stderr
        assert _switch_off(venue, _fake_spec(other))
        # a switch that fired before the disarm (a machine so busy arb renewed late) had nothing to cancel; what
        # counts is that none fires after it
        fired = len(_triggers(venue, _fake_spec(other)))
        resting = _place(venue, _fake_spec(other), "afterarb2")
        clock.advance(_PROCESS_WINDOW_S * 2.5)
        await venue.tick()
        assert resting.status is OrderStatus.NEW and len(_triggers(venue, _fake_spec(other))) == fired


@pytest.mark.parametrize("other", ["bybit", "okx"])
async def test_arb_live_killed_by_sigkill_leaves_the_switch_armed_and_the_venue_cancels_past_the_window(
    other: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with _arb_live_up(tmp_path, monkeypatch, other) as (venue, process, clock):
        process.kill()
        assert await exited(process) == -signal.SIGKILL
        await _gone(venue, other)
        assert not _switch_off(venue, _fake_spec(other)) or other == "bybit"  # Bybit's counts from the drop
        resting = _place(venue, _fake_spec(other), "afterarb3")
        clock.advance(_PROCESS_WINDOW_S * 2.5)
        await venue.tick()
        assert resting.status is OrderStatus.CANCELED
        (trigger,) = _triggers(venue, _fake_spec(other))
        assert trigger.account == "arb" and resting.order_id in trigger.cancelled


# -- a failed start, and arb kill with no arb live running ----------------------------------------


async def test_a_start_that_fails_after_arming_disarms_what_it_armed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, clock, console = OKX_SPOT, OffsetClock(), Console(record=True, width=400)
    live = {"dead_man_window_s": WINDOW_S}
    async with venue_and_config(spec, tmp_path, monkeypatch, live=live, options=VenueOptions(clock=clock)) as (
        venue,
        config,
    ):
        async with trading_session(config, [spec.index]) as session:
            with pytest.raises(RuntimeError, match="after the switch"):
                async with Switches(session, console) as switches:
                    await switches.arm()
                    assert venue.queries.timers("arb")
                    raise RuntimeError("the start failed after the switch was armed")
        assert console.export_text().splitlines()[-1] == "okx dead-man's switch: disarmed"
        assert _switch_off(venue, spec)


@pytest.mark.parametrize("spec", [BINANCE_LINEAR, OKX_SPOT], ids=lambda s: s.id)
async def test_arb_kill_with_no_arb_live_running_disarms_a_switch_a_crash_left(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A crashed arb live's switch still counts on the venue: arb kill takes the account back, so an order
    # the person places afterwards is not cancelled by it
    clock = OffsetClock()
    live = {"dead_man_window_s": WINDOW_S}
    async with venue_and_config(spec, tmp_path, monkeypatch, live=live, options=VenueOptions(clock=clock)) as (
        venue,
        config,
    ):
        async with trading_session(config, [spec.index]) as session:
            await session.executors[spec.index].dead_man.arm(WINDOW_S)  # then gone, as after SIGKILL
        assert not _switch_off(venue, spec)
        console = Console(record=True, width=400)
        async with trading_session(config, [spec.index]) as session:  # what arb kill does with none running
            report = await kill(session, slippage_bps=50.0)
            lines = await disarm_every_switch(session, console)
        assert report.flat and lines == [f"{spec.venue} dead-man's switch: disarmed"]
        assert _switch_off(venue, spec)
        resting = _place(venue, spec, "afterkill1")
        await _past_the_window(venue, clock)
        assert resting.status is OrderStatus.NEW and not _triggers(venue, spec)
