"""``arb parity --zero-latency`` on the shipped sample's four venues: Binance, Bybit and OKX spot and Hyperliquid's
BTC perpetual (``recordings/hyperliquid_linear``, read by its own normalizer with ``config/hyperliquid.toml``).

The whole sample takes about 17 CPU seconds through both drivers; its first minutes (up to 23:57:30 UTC,
``tests/support/sample_slice.py``) hold the first burst of the four-venue run: two pairs that sell OKX and buy
Hyperliquid, then one each against OKX from Bybit and from Binance. The command runs as a shell runs it
(``arb.cli.main``); the dry run's engine it replays is kept (a spy on the parity module's ``replay_engine``) to
name the venues of each pair it filled.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from arb.cli import main
from arb.config import AppConfig
from arb.live.engine import Engine
from arb.parity import against_dry_run
from tests.support.captures import ROOT
from tests.support.sample_slice import recordings_until

FOUR = ("binance", "bybit", "okx", "hyperliquid")
FOLDERS = ("binance_spot", "bybit_spot", "okx_spot", "hyperliquid_linear")
UNTIL = dt.datetime(2024, 8, 8, 23, 57, 30, tzinfo=dt.UTC)


def test_four_venues_with_hyperliquid_agree_exactly_at_zero_latency(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    recordings = recordings_until(tmp_path / "recordings", UNTIL, venues=FOLDERS)
    engines: list[Engine] = []
    replay_engine = against_dry_run.replay_engine

    def kept(config: AppConfig, days: list[dt.date]) -> Engine:
        engines.append(replay_engine(config, days))
        return engines[-1]

    monkeypatch.setattr(against_dry_run, "replay_engine", kept)
    argv = ["parity", "--zero-latency", "--config", str(ROOT / "config" / "arbitrage.toml"),
            "--set", f"strategy.venues={json.dumps(FOUR)}",
            "--set", f'backtest.recordings="{recordings}"']  # fmt: skip
    assert main(argv) == 0
    said = capsys.readouterr().out
    assert "they agree throughout; fill prices within 0.000 bps" in said, said
    counts = re.search(r"(\d+)/(\d+) kernel calls, (\d+)/(\d+) intents, (\d+)/(\d+) fills", said)
    assert counts is not None, said
    calls, intents, fills = (counts[i] for i in (1, 3, 5))
    assert counts.groups() == (calls, calls, intents, intents, fills, fills), said
    assert intents == fills == "8", said  # four pairs, each leg filled

    (engine,) = engines
    legs: dict[int, dict[int, str]] = {}
    for fill in engine.log.fills.view():
        legs.setdefault(int(fill["pair_id"]), {})[int(fill["side"])] = FOUR[int(fill["venue"])]
    directions = [(pair[1], pair[-1]) for _, pair in sorted(legs.items())]  # (bought on, sold on)
    assert directions == [("hyperliquid", "okx"), ("hyperliquid", "okx"), ("bybit", "okx"), ("binance", "okx")]
