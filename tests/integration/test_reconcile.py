"""Reconciliation at start against the fake venues: what it books, what it refuses, what a person accepts.

Every test runs on OKX spot and OKX linear too: nothing here turns on one venue's rule (where the venues
differ, as in what a trade row names, the assertion says which)."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from arb.cli import main as cli
from arb.config import AppConfig
from arb.live.trading_session import KIND_MANUAL
from arb.sim.ledger import OrderType, Side, TimeInForce
from arb.strategy.types import BUY
from tests.support.live_rig import (
    BYBIT_SPOT,
    EVERY_SPEC,
    OKX_LINEAR,
    OKX_SPOT,
    VenueSpec,
    account,
    answered_order,
    best,
    eventually,
    ledger_symbol,
    reconciled,
    reconciled_session,
    venue_and_config,
)


def _manual_trade(venue: object, spec: VenueSpec, client_id: str) -> str:
    """Someone trades on the account by hand, behind arb's back; returns the venue's id of that order."""
    _, _, ask, _ = best(venue, spec)
    qty = max(spec.rules.min_qty, (spec.rules.min_notional / ask).quantize(spec.rules.step_size) * 2)
    order = venue.ledger.place(account(venue), symbol=ledger_symbol(venue, spec), side=Side.BUY, type=OrderType.LIMIT,  # type: ignore[attr-defined]
                       qty=qty, price=ask, time_in_force=TimeInForce.IOC, client_id=client_id)  # fmt: skip
    return str(venue.order_id(order))  # type: ignore[attr-defined]


@pytest.mark.parametrize("spec", EVERY_SPEC, ids=lambda s: s.id)
async def test_first_meeting_sets_the_baseline_and_a_clean_account_reconciles(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with venue_and_config(spec, tmp_path, monkeypatch) as (venue, config):
        async with reconciled_session(config, spec) as (session, first):
            assert first.ok and first.baseline == "set"
            _, _, ask, ask_qty = best(venue, spec)
            qty = max(spec.rules.min_qty, (spec.rules.min_notional / ask).quantize(spec.rules.step_size) * 3)
            await answered_order(session.executors[spec.index], BUY, ask, min(qty, ask_qty))
        again = await reconciled(config, spec)
        assert again.ok and again.baseline == "kept" and again.fills_booked == 0


@pytest.mark.parametrize("spec", EVERY_SPEC, ids=lambda s: s.id)
async def test_a_trade_arb_did_not_make_stops_the_start_until_a_person_accepts(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with venue_and_config(spec, tmp_path, monkeypatch) as (venue, config):
        first = await reconciled(config, spec)
        assert first.ok
        by_hand = _manual_trade(venue, spec, "byhand1")  # OKX's clOrdId: letters and digits
        report = await reconciled(config, spec)
        assert not report.ok
        # Binance's trade history carries no client id, only the order's: the venue's order id names it (the
        # others' name a client id that is not arb's)
        assert report.orphan_fills and all(f.venue_order_id == by_hand for f in report.orphan_fills)
        lines = "\n".join(report.describe())
        assert "MISMATCH" in lines and "not in the journal" in lines
        restart = await reconciled(config, spec)  # a restart does not forget it
        assert not restart.ok and restart.earlier_mismatch and not restart.orphan_fills
        accepted = await reconciled(config, spec, accept_venue_state=True)
        assert accepted.ok and accepted.baseline == "accepted"
        after = await reconciled(config, spec)
        assert after.ok  # the fill is journaled (as not arb's) and the baseline moved


async def _arb_reconcile(config: AppConfig, *extra: str) -> int:
    """``arb reconcile --venue <the last venue: Bybit or OKX>`` with ``config`` (and ``extra`` options), run in a
    thread so that the fake venue keeps serving in this loop; its exit code."""
    args = ["reconcile", "--config", str(config.path), "--venue", config.venues[-1].name, *extra]
    return await asyncio.get_running_loop().run_in_executor(None, cli, args)


@pytest.mark.parametrize("spec", [BYBIT_SPOT, OKX_SPOT, OKX_LINEAR], ids=lambda s: s.id)
async def test_arb_reconcile_exits_1_on_a_mismatch_and_0_once_accepted(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with venue_and_config(spec, tmp_path, monkeypatch) as (venue, config):
        assert await _arb_reconcile(config) == 0
        _manual_trade(venue, spec, "byhand2")
        assert await _arb_reconcile(config) == 1
        out = capsys.readouterr().out
        assert "MISMATCH" in out and "not in the journal" in out
        assert await _arb_reconcile(config) == 1  # still, until a person decides
        assert await _arb_reconcile(config, "--accept-venue-state") == 0
        assert await _arb_reconcile(config, "--json") == 0
        assert '"ok": true' in capsys.readouterr().out


@pytest.mark.parametrize("spec", [BYBIT_SPOT, OKX_SPOT, OKX_LINEAR], ids=lambda s: s.id)
async def test_arb_reconcile_reports_order_latency_from_the_journal(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with venue_and_config(spec, tmp_path, monkeypatch) as (venue, config):
        async with reconciled_session(config, spec) as (session, _):
            executor = session.executors[spec.index]
            _, _, ask, _ = best(venue, spec)
            qty = max(spec.rules.min_qty, (spec.rules.min_notional / ask).quantize(spec.rules.step_size) * 2)
            async with asyncio.TaskGroup() as group:
                executor.run_background(group)
                orders = [
                    executor.submit(BUY, float(ask), float(qty), KIND_MANUAL, k, executor.clock()) for k in range(3)
                ]
                await eventually(lambda: all(o.answered for o in orders), executor)
                executor.stop()
        assert await _arb_reconcile(config) == 0
        (line,) = [x for x in capsys.readouterr().out.splitlines() if "order latency" in x]
        assert line.startswith(f"{spec.venue} order latency from the intent (3 orders): written p50")
        assert "ack p50" in line and "first fill p50" in line


@pytest.mark.parametrize("spec", [BYBIT_SPOT, OKX_SPOT, OKX_LINEAR], ids=lambda s: s.id)
async def test_an_open_order_arb_does_not_know_is_reported(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with venue_and_config(spec, tmp_path, monkeypatch) as (venue, config):
        bid, _, _, _ = best(venue, spec)
        venue.ledger.place(account(venue), symbol=ledger_symbol(venue, spec), side=Side.BUY, type=OrderType.LIMIT,
                           qty=Decimal("0.001"), price=bid * Decimal("0.5"), client_id="restingbyhand")  # fmt: skip
        report = await reconciled(config, spec)
        assert not report.ok and [o.client_id for o in report.foreign_open_orders] == ["restingbyhand"]
