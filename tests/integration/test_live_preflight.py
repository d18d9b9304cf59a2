"""What ``arb live`` refuses before it trades, on the fake venues: a venue's tick or lot that differs from
the configuration's (the kernel would size on one grid, the venue round to another), and quotes that
would rest where nothing cancels them if arb dies, unless the configuration says so.

Each ``arb`` command runs in a thread of this process (``arb.cli.main``, as a shell runs it) while the
fake venues serve in this event loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from arb.cli import main
from arb.errors import EXIT_NEEDS_OPERATOR
from arb.testing.pair_rig import BINANCE_SPOT_RULES, BYBIT_SPOT_RULES, account, spot_pair, write_pair_config
from tests.integration.live_rig import both_keys, standing_recordings


async def _arb(*args: str) -> int:
    # The command in a thread: the fake venues keep serving in this loop meanwhile.
    return await asyncio.get_running_loop().run_in_executor(None, main, list(args))


def _nothing_sent(*venues: Any) -> None:
    for venue in venues:
        assert not account(venue).orders and not account(venue).trades


async def test_arb_live_refuses_a_venue_lot_that_differs_from_the_configured_one_naming_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The venue's exchange info says 0.0001 where the configuration says 0.00001: the kernel would size
    # 0.00123, the executor send 0.0012, and the other leg would be 0.00003 longer.
    both_keys(monkeypatch)
    coarser = dataclasses.replace(BINANCE_SPOT_RULES, step_size=Decimal("0.0001"), min_qty=Decimal("0.0001"))
    async with spot_pair(*standing_recordings(tmp_path), rules=((coarser,), (BYBIT_SPOT_RULES,))) as (binance, bybit):
        config = str(write_pair_config(tmp_path, binance, bybit))
        rc = await _arb("live", "--duration", "5s", "--config", config)
        _nothing_sent(binance, bybit)
    err = capsys.readouterr().err
    assert rc == EXIT_NEEDS_OPERATOR == 78, err
    (line,) = [text for text in err.splitlines() if text.startswith("arb live:")]
    assert "binance spot BTCUSDT: [instrument] lot_size is 1e-05 in binance.toml, the venue says 0.0001" in line
    assert "nothing was traded" in line


async def test_arb_live_refuses_a_venue_tick_that_differs_from_a_symbols_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    both_keys(monkeypatch)
    async with spot_pair(*standing_recordings(tmp_path)) as (binance, bybit):
        table = {"symbols": {"BTCUSDT": {"bybit": {"tick_size": 0.01}}}}  # Bybit says 0.1
        config = str(write_pair_config(tmp_path, binance, bybit, arbitrage=table))
        rc = await _arb("live", "--duration", "5s", "--config", config)
        _nothing_sent(binance, bybit)
    err = capsys.readouterr().err
    assert rc == EXIT_NEEDS_OPERATOR, err
    assert "bybit spot BTCUSDT: [symbols.BTCUSDT.bybit] tick_size is 0.01 in arbitrage.toml, the venue says 0.1" in err
