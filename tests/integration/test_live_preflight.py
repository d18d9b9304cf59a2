"""What ``arb live`` refuses before it trades, on the fake venues: a venue's tick or lot that differs from
the configuration's (the kernel would size on one grid, the venue round to another), and quotes that
would rest where nothing cancels them if arb dies, unless the configuration says so.

Each ``arb`` command runs in a thread of this process (``arb.cli.main``, as a shell runs it) while the
fake venues serve in this event loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from arb.cli import main
from arb.errors import EXIT_NEEDS_OPERATOR
from arb.testing.pair_rig import account, spot_pair, write_pair_config
from tests.support.live_rig import BINANCE_SPOT_RULES, BYBIT_SPOT_RULES, both_keys, standing_recordings


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


MAKER_ON = {
    venue: {"strategy": {"style": "maker_taker", "maker_venues": [venue], "min_spread_bps": 5.0}}
    for venue in ("binance", "bybit")
}
"""The maker-taker style quoting on one venue (each its spot market on the fakes)."""
UNGUARDED = (
    "binance spot quotes if arb dies: left resting until a person cancels them (arb kill) or the next start's "
    "reconciliation does: Binance spot has no dead-man's switch"
)


async def test_arb_live_refuses_to_quote_on_binance_spot_without_the_setting_and_check_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    both_keys(monkeypatch)
    async with spot_pair(*standing_recordings(tmp_path)) as (binance, bybit):
        config = str(write_pair_config(tmp_path, binance, bybit, arbitrage=MAKER_ON["binance"]))
        assert await _arb("check", "--config", config) == 0  # with the keys set it reads the account's fees
        out = capsys.readouterr().out
        asked = len(binance.stats.rest_requests), len(bybit.stats.rest_requests)
        rc = await _arb("live", "--duration", "5s", "--config", config)
        assert (len(binance.stats.rest_requests), len(bybit.stats.rest_requests)) == asked  # refused before connecting
    err = capsys.readouterr().err
    assert f"  {UNGUARDED}\n" in out
    assert "  arb live will refuse to start: Binance spot has no dead-man's switch" in out
    assert rc == EXIT_NEEDS_OPERATOR == 78, err
    (line,) = [text for text in err.splitlines() if text.startswith("arb live:")]
    assert line.startswith("arb live: Binance spot has no dead-man's switch: quotes resting on binance spot would ")
    assert "set [live] quotes_without_dead_man = true in arbitrage.toml" in line


async def test_run_live_itself_refuses_to_quote_on_binance_spot_without_the_setting_before_connecting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The rule is run_live's, not only the command's: a caller of run_live (the fault campaign, a
    # script) is held to it, and nothing reaches either venue.
    from rich.console import Console

    from arb.config import load_config
    from arb.errors import NeedsOperatorError
    from arb.live.trading import run_live

    both_keys(monkeypatch)
    async with spot_pair(*standing_recordings(tmp_path)) as (binance, bybit):
        config = load_config(write_pair_config(tmp_path, binance, bybit, arbitrage=MAKER_ON["binance"]))
        with pytest.raises(NeedsOperatorError, match="set \\[live\\] quotes_without_dead_man = true"):
            await run_live(config, console=Console(file=io.StringIO()), duration_ns=1)
        assert not binance.stats.rest_requests and not bybit.stats.rest_requests
        assert not binance.connections and not bybit.connections


async def test_with_the_setting_arb_live_quotes_on_binance_spot_and_its_start_says_what_a_crash_leaves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    both_keys(monkeypatch)
    async with spot_pair(*standing_recordings(tmp_path)) as (binance, bybit):
        config = str(write_pair_config(tmp_path, binance, bybit, arbitrage=MAKER_ON["binance"],
                                       live={"quotes_without_dead_man": True}))  # fmt: skip
        assert await _arb("check", "--config", config) == 0
        checked = capsys.readouterr().out
        rc = await _arb("live", "--duration", "2s", "--config", config)
    said = capsys.readouterr().err  # arb live's terminal lines go to standard error
    assert f"  {UNGUARDED}\n" in checked and "refuse" not in checked
    assert rc == 0, said
    assert f"\n{UNGUARDED}\n" in said  # the start line, after the switches are armed
    assert said.index("bybit dead-man's switch: armed, 30 s") < said.index(UNGUARDED)


@pytest.mark.parametrize(
    ("window_s", "said"),
    [
        (30, "bybit spot quotes if arb dies: cancelled by the venue within 30 s (disconnect-cancel-all, from when "
             "the private stream drops)"),
        (0, "bybit spot quotes if arb dies: left resting until a person cancels them (arb kill) or the next start's "
            "reconciliation does: [live] dead_man_window_s = 0 arms no dead-man's switch"),
    ],
)  # fmt: skip
async def test_check_says_what_a_crash_leaves_of_bybits_quotes_and_refuses_only_without_a_switch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], window_s: int, said: str
) -> None:
    async with spot_pair(*standing_recordings(tmp_path)) as (binance, bybit):
        config = str(write_pair_config(tmp_path, binance, bybit, arbitrage=MAKER_ON["bybit"],
                                       live={"dead_man_window_s": window_s}))  # fmt: skip
        assert await _arb("check", "--config", config) == 0
    out = capsys.readouterr().out
    assert f"  {said}\n" in out
    assert ("arb live will refuse to start" in out) is (window_s == 0)
    assert "binance spot quotes" not in out  # Binance takes only
