"""A strategy in a file outside the repository runs in every tool, with no file inside ``arb/`` edited:
the shipped example (``examples/strategies/zscore.py``) copied to a temporary folder and named by
``[strategy] kernel = "<tmp>/zscore.py:ZScore"`` runs in ``arb backtest`` (the sample), ``arb parity``
(the sample, identical at zero latency), ``arb dry-run`` against the fake venues and ``arb live`` against
the fake venues; and ``arb live`` restarted resumes the strategy's memory from its journal. The sample is
its first minutes, to 23:57:30 (``tests/support/sample_slice.py``): the strategy goes in and out three
times there, in each direction.

The market of the dry run and of ``arb live`` is the standing spread: Bybit's bid rises at 2 s and stays,
so the basis jumps once; with a short warm-up and half-life the strategy goes in at the jump and out
some seconds later, as its mean catches up."""

from __future__ import annotations

import ast
import datetime as dt
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from arb.cli import main
from arb.config import load_config
from arb.execution.risk import HALT_REASONS
from arb.sim.binance.public import FakeBinanceVenue
from arb.sim.bybit.public import FakeBybitVenue
from tests.support.captures import ROOT
from tests.support.live_rig import (
    account,
    arb_live,
    arb_process,
    both_keys,
    interrupted,
    journal_of,
    live_up,
    paper_pair_config,
    spot_pair,
    until,
    write_pair_config,
)
from tests.support.sample_slice import shared_recordings_until
from tests.support.scenario_days import STANDING_START_NS, write_standing_spread
from tests.support.shared import made_once

EXAMPLE = ROOT / "examples" / "strategies" / "zscore.py"
SAMPLE = ROOT / "config" / "arbitrage.toml"
UNTIL = dt.datetime(2024, 8, 8, 23, 57, 30, tzinfo=dt.UTC)
"""The end of the sample's minutes the backtest and the parity run: after the strategy's third way out."""
QUICK = {"warmup": 5, "half_life_s": 2.0}
"""In a few samples after the start, out a few seconds after the jump (the sample keeps the defaults)."""
JUMP_NS = STANDING_START_NS + 2_000_000_000  # when the standing spread's basis jumps (its recordings' receive time)


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example, copied into a folder outside the repository: ``<tmp>/zscore.py``; one folder for the run's
    workers, so that what one of them compiled of it, the others load from Numba's cache."""
    folder = made_once(tmp_path_factory, "user-strategy-outside", lambda mine: shutil.copy(EXAMPLE, mine / "zscore.py"))
    assert not folder.resolve().is_relative_to(ROOT.resolve())
    return (folder / "zscore.py").resolve()


@pytest.fixture(scope="module")
def minutes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample's recordings up to :data:`UNTIL`, made once for the run's workers."""
    return shared_recordings_until(tmp_path_factory, UNTIL)


@pytest.fixture(autouse=True)
def nothing_in_arb_edited() -> Iterator[None]:
    """No file inside ``arb/`` is written by running the strategy (Python's and Numba's caches aside)."""

    def files() -> dict[Path, tuple[int, int]]:
        found = (p for p in (ROOT / "arb").rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        return {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in found}

    before = files()
    yield
    assert files() == before


def _kernel(file: Path) -> str:
    return f'strategy.kernel="{file}:ZScore"'


def _said_strategy(summary: dict[str, Any], file: Path, params: dict[str, Any]) -> None:
    # summary.json names the strategy, where it came from, and its parameters (the defaults filled in)
    ran = summary["meta"]["strategy"]
    assert (ran["name"], ran["origin"], ran["quotes"]) == ("zscore", f"{file}:ZScore", False)
    defaults = {"half_life_s": 20.0, "warmup": 300, "entry_z": 2.5, "exit_z": 0.5, "size": 0.001}
    assert ran["params"] == {**defaults, **params}


def test_backtest_of_the_sample(
    outside: Path, minutes: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    argv = [
        "backtest",
        "--config",
        str(ROOT / "config" / "arbitrage.toml"),
        "--set",
        _kernel(outside),
        "--recordings",
        str(minutes),
        "--out",
        str(out),
    ]
    assert main(["-q", *argv]) == 0
    assert f"strategy 'zscore' (from {outside}:ZScore): half_life_s = 20.0" in capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    _said_strategy(summary, outside, {})
    kept = summary["meta"]["kernel_state"]  # the memory's whole-number fields: what it did
    assert kept["entries"] >= 1 and kept["exits"] == kept["entries"]
    assert summary["pairs"]["pairs"] == kept["entries"] + kept["exits"]


def test_parity_of_the_sample_is_identical_at_zero_latency(
    outside: Path, minutes: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["parity", "--zero-latency", "--config", str(SAMPLE), "--set", _kernel(outside),
            "--set", f'backtest.recordings="{minutes}"']  # fmt: skip
    assert main(argv) == 0
    said = capsys.readouterr().out
    assert "they agree throughout" in said
    intents = re.search(r"(\d+)/(\d+) intents, (\d+)/(\d+) fills", said)
    assert intents is not None and int(intents[1]) == int(intents[2]) >= 2 and intents[3] == intents[1]


def _fills(out: Path) -> int:
    # the fills a dry run or arb live printed so far ("fill binance buy 0.001 @ ...")
    text = (out / "stdout").read_text() + (out / "stderr").read_text()
    return len(re.findall(r"^fill (binance|bybit) ", text, re.MULTILINE))


async def test_dry_run_against_the_fake_venues(outside: Path, tmp_path: Path) -> None:
    binance_file, bybit_file = write_standing_spread(tmp_path, duration_ms=60_000)
    async with (
        FakeBinanceVenue(binance_file, market="spot", tick_size="0.01", lot_size="0.00001") as binance,
        FakeBybitVenue(bybit_file, market="spot") as bybit,
    ):
        arbitrage = {"strategy": {"kernel": f"{outside}:ZScore", "params": QUICK}, "risk": {"stale_after_ms": 60_000}}
        config = paper_pair_config(tmp_path, binance, bybit, arbitrage)
        out = tmp_path / "run"
        args = ["dry-run", "--live-data", "--config", str(config.path), "--state-dir", str(tmp_path / "paper"),
                "--out", str(out / "report")]  # fmt: skip
        async with arb_process(out, {}, *args) as process:

            def subscribed() -> bool:
                return (
                    binance.subscriber_count("btcusdt@depth@100ms") >= 1
                    and bybit.subscriber_count("orderbook.50.BTCUSDT") >= 1
                )

            await until(subscribed, process, out, 60, binance, bybit)
            binance.play(1.0)
            bybit.play(1.0)
            await until(lambda: _fills(out) >= 4, process, out, 60, binance, bybit)  # in at the jump, then out
            await interrupted(process, out)
    summary = json.loads((out / "report" / "summary.json").read_text())
    _said_strategy(summary, outside, QUICK)
    assert summary["meta"]["mode"] == "dry-run" and summary["pairs"]["pairs"] == 2
    kept = summary["meta"]["kernel_state"]
    assert (kept["entries"], kept["exits"]) == (1, 1)


def _memory(config: Path) -> dict[str, Any]:
    # The strategy's memory the live journal keeps, BTCUSDT's record as a dict of its fields
    account_name = load_config(config).live.account
    journal = journal_of(config.parent)
    try:
        raw = journal.get_state(f"{account_name}/strategy-memory")
    finally:
        journal.close()
    assert raw is not None
    kept = json.loads(raw)
    dtype = np.dtype(ast.literal_eval(kept["dtype"]))
    record = np.frombuffer(bytes.fromhex(kept["symbols"]["BTCUSDT"]), dtype)[0]
    return {"strategy": kept["strategy"], **{name: record[name].item() for name in dtype.names or ()}}


async def test_live_against_the_fake_venues_and_a_restart_resumes_its_memory(
    outside: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = both_keys(monkeypatch)
    async with spot_pair(*write_standing_spread(tmp_path, duration_ms=120_000)) as (binance, bybit):
        arbitrage = {"strategy": {"kernel": f"{outside}:ZScore", "params": QUICK}}
        config = write_pair_config(tmp_path, binance, bybit, arbitrage=arbitrage)
        venues = (binance, bybit)
        streams, topics = ["btcusdt@depth@100ms"], ["orderbook.50.BTCUSDT"]

        # First session: the market up to a second after the jump: in, and no further
        first = tmp_path / "first"
        async with arb_live(config, first, keys) as process:
            await live_up(binance, bybit, process, first, streams=streams, topics=topics)
            for fake in venues:
                fake.play(1.0, gate_ns=JUMP_NS + 1_000_000_000)
            await until(lambda: all(len(account(f).trades) >= 1 for f in venues), process, first, 60, *venues)
            await interrupted(process, first)
        held = _memory(config)
        assert (held["strategy"], held["entries"], held["exits"]) == ("zscore", 1, 0) and held["samples"] > 5

        # Second session: the rest of the market; out once the mean has caught up
        second = tmp_path / "second"
        async with arb_live(config, second, keys) as process:
            await live_up(binance, bybit, process, second, streams=streams, topics=topics)
            for fake in venues:
                fake.gate(None)
            await until(lambda: all(len(account(f).trades) >= 2 for f in venues), process, second, 60, *venues)
            stderr = await interrupted(process, second)
        said = stderr + (second / "stdout").read_text()
        assert "strategy 'zscore': its memory resumed from the journal (BTCUSDT)" in said
        kept = _memory(config)
        # resumed: the entry the first session made is still counted (a memory started at zero would say 0)
        assert (kept["entries"], kept["exits"]) == (1, 1) and kept["samples"] > held["samples"]
        assert kept["mean"] != held["mean"]
        summary = json.loads((second / "report" / "summary.json").read_text())
        _said_strategy(summary, outside, QUICK)
        # the report shows the memory's counters as the backtest's and the dry run's do
        figures = summary["meta"]["kernel_state"]
        assert (figures["entries"], figures["exits"], figures["samples"]) == (1, 1, kept["samples"])
        assert summary["meta"]["risk_state"]["halt_reason"] == HALT_REASONS[0]  # the gate's figures beside them
