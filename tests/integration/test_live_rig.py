"""The end-to-end tests' rig itself (``tests/support/live_rig.py``): a wait on a real ``arb live`` process
fails, naming where the market is, once the process has nothing left to do, although it keeps printing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.live_rig import both_keys, live_trading, spot_pair, until, write_pair_config
from tests.support.scenario_days import write_standing_spread


async def test_until_fails_when_the_market_ran_out_though_arb_live_keeps_printing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A lost race: the recording (3 s) ends before what the test awaits (here, nothing ever holds). arb
    # live goes on, printing (its feeds stale, reconnecting every 10 s): the wait ends after its 20 s
    # without progress (arb idling, not after pytest's timeout) and says both markets had played out.
    keys = both_keys(monkeypatch)
    async with spot_pair(*write_standing_spread(tmp_path, duration_ms=3000)) as (binance, bybit):
        config = write_pair_config(tmp_path, binance, bybit)
        out = tmp_path / "run"
        async with live_trading(config, out, keys, binance, bybit, symbols=["BTCUSDT"]) as process:
            await binance.wait_played()
            await bybit.wait_played()
            printed = process.size
            with pytest.raises(pytest.fail.Exception) as failed:
                await until(lambda: False, process, out, 20, binance, bybit)
            message = str(failed.value)
            assert message.startswith("no progress for 20 s waiting for the condition"), message[:300]
            assert "binance's market played out, bybit's market played out" in message
            assert process.returncode is None and process.size > printed  # it ran and printed all along
