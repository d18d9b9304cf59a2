"""A linear venue is made one-way with the configured leverage and margin mode before arb trades on it,
through the fake venues' real endpoints (ccxt unpatched); what cannot be set stops the start, named."""

from __future__ import annotations

from pathlib import Path

import pytest

from arb.config import PerpetualConfig
from arb.execution.perpetual import apply_perpetual_settings
from connectors.common.private import PerpetualSettingsError
from tests.support.live_rig import (
    BINANCE_LINEAR,
    BINANCE_SPOT,
    BYBIT_LINEAR,
    account,
    venue_and_executor,
    venue_and_session,
)


async def test_binance_usdm_is_switched_to_one_way_with_the_margin_type_and_leverage_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = BINANCE_LINEAR
    async with venue_and_executor(spec, tmp_path, monkeypatch) as (venue, executor):
        await executor.exchange.fapiPrivatePostPositionSideDual({"dualSidePosition": "true"})  # hedge mode
        assert venue.position_mode("arb") == "hedge"
        (line,) = await apply_perpetual_settings(executor, PerpetualConfig(5, "isolated"), "binance.toml")
        assert venue.position_mode("arb") == "one-way" and venue.margin_type("arb", spec.symbol) == "isolated"
        assert account(venue).position(spec.symbol).leverage == 5
        assert "one-way, isolated margin, leverage 5x" in line and "switched to one-way" in line
        rows = await executor.exchange.fapiPrivateV2GetPositionRisk({"symbol": spec.symbol})
        assert (rows[0]["marginType"], rows[0]["leverage"]) == ("isolated", "5")
        (again,) = await apply_perpetual_settings(executor, PerpetualConfig(5, "isolated"), "binance.toml")
        assert "switched" not in again and "margin type set" not in again  # already so


async def test_binance_usdm_in_hedge_mode_with_a_position_open_stops_the_start_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = BINANCE_LINEAR
    async with venue_and_executor(spec, tmp_path, monkeypatch) as (venue, executor):
        await executor.exchange.fapiPrivatePostPositionSideDual({"dualSidePosition": "true"})
        account(venue).position(spec.symbol).qty = 1  # a position the account holds
        with pytest.raises(PerpetualSettingsError, match=r"hedge position mode.*one-way.*-4068"):
            await apply_perpetual_settings(executor, PerpetualConfig(), "binance.toml")
        assert venue.position_mode("arb") == "hedge"


async def test_bybit_linear_is_made_one_way_with_the_leverage_and_refuses_an_account_wide_margin_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = BYBIT_LINEAR
    async with venue_and_executor(spec, tmp_path, monkeypatch) as (venue, executor):
        await executor.exchange.privatePostV5PositionSwitchMode(
            {"category": "linear", "symbol": spec.symbol, "mode": 3}
        )
        (line,) = await apply_perpetual_settings(executor, PerpetualConfig(3, "cross"), "bybit.toml")
        assert venue.position_mode(spec.symbol) == "one-way"
        assert account(venue).position(spec.symbol).leverage == 3 and "leverage 3x" in line
        (again,) = await apply_perpetual_settings(executor, PerpetualConfig(3, "cross"), "bybit.toml")
        assert "already so" in again
        with pytest.raises(PerpetualSettingsError, match=r'REGULAR_MARGIN.*bybit.toml.*margin_mode = "isolated"'):
            await apply_perpetual_settings(executor, PerpetualConfig(3, "isolated"), "bybit.toml")


async def test_a_spot_venue_has_nothing_to_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = BINANCE_SPOT
    async with venue_and_session(spec, tmp_path, monkeypatch) as (venue, session):
        assert await apply_perpetual_settings(session.executors[spec.index], PerpetualConfig(5), "x") == []
        assert not any("leverage" in r.path or "marginType" in r.path for r in venue.stats.rest_requests)
