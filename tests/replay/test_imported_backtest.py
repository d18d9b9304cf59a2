"""A backtest over days nobody recorded here: fetched from a local Tardis and Bybit archive, run end to end.

The sample's two days are served as Tardis's CSV datasets (Binance) and Bybit's archive (Bybit) by the fake
archive (arb/testing/fake_archive.py), fetched with ``arb fetch`` into a fresh recordings folder, and
backtested with ``arb backtest``: the loader finds them per venue and day with no flag. The same days
also run through the live path (``arb parity``: replay of the imported rows), and mixed with arb's own
recordings (a venue's days from different sources, and the two venues from different ones). The sample is
its minutes up to 00:02:30 (``tests/support/sample_slice.py``): both days, and the pairs of each.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from arb.cli import main
from arb.config import load_config
from arb.parity.against_dry_run import run_parity
from arb.recording.loader import find_day_files, load_timeline
from arb.testing.configs import write_config_files
from arb.testing.fake_archive import FakeArchive
from arb.testing.history_files import archive_from, tardis_from
from tests.support.captures import ROOT
from tests.support.sample_slice import shared_recordings_until
from tests.support.shared import made_once

AUG_8, AUG_9 = dt.date(2024, 8, 8), dt.date(2024, 8, 9)
UNTIL = dt.datetime(2024, 8, 9, 0, 2, 30, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample's BTCUSDT recordings up to :data:`UNTIL` (both venues, both days), made once for the run."""
    return shared_recordings_until(tmp_path_factory, UNTIL)


def _days(sample: Path, venue: str) -> list[Path]:
    return [sample / f"{venue}_spot" / f"btcusdt_{day:%Y%m%d}.gz" for day in (AUG_8, AUG_9)]


@pytest.fixture(scope="module")
def fetched(tmp_path_factory: pytest.TempPathFactory, sample: Path) -> Path:
    """A folder with a configuration and a recordings folder filled by ``arb fetch`` from the fake archive,
    made once for the run's workers (the tests' conversions cache their days beside them there)."""

    def fetch(root: Path) -> None:
        served = root / "served"
        written = tardis_from("binance", _days(sample, "binance"), served, market="spot")
        written.update(archive_from("bybit", _days(sample, "bybit"), served, market="spot"))
        config = write_config_files(root)
        with FakeArchive() as server:
            server.add_tree(written, served)
            common = ["--config", str(config), "--start", "2024-08-08", "--end", "2024-08-09"]
            assert main(["-q", "fetch", *common, "--source", "tardis", "--venue", "binance",
                         "--base-url", server.tardis_url]) == 0  # fmt: skip
            assert main(["-q", "fetch", *common, "--source", "bybit-archive", "--base-url", server.base_url]) == 0

    return made_once(tmp_path_factory, "imported-backtest-fetched", fetch)


@pytest.mark.slow
def test_a_backtest_over_fetched_days_runs_end_to_end(fetched: Path, charts: None) -> None:
    config = fetched / "arbitrage.toml"
    out = fetched / "out"
    assert main(["-q", "backtest", "--config", str(config), "--start", "2024-08-08", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "equity.npz",
        "equity.png",
        "inventory.csv",
        "orders.csv",
        "summary.json",
        "trades.csv",
    ]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["meta"]["dates"] == ["2024-08-08", "2024-08-09"]
    assert summary["total"]["fills"] >= 10  # the sample's basis jumps open the spread here too
    rows = (out / "trades.csv").read_text().splitlines()
    assert len(rows) == summary["total"]["fills"] + 1
    loaded = load_config(config)
    days = [find_day_files(loaded.backtest.recordings, v.name, v.market, "BTCUSDT") for v in loaded.venues]
    assert {d.source for d in days[0].values()} == {"tardis"} and {d.source for d in days[1].values()} == {
        "bybit-archive"
    }
    assert all(d.cache.is_file() and d.eod.is_file() for v in days for d in v.values())  # cached beside their files


@pytest.mark.slow
def test_the_live_path_replays_imported_days_as_the_backtest_runs_them(fetched: Path) -> None:
    report = run_parity(load_config(fetched / "arbitrage.toml"))
    assert report.first is None, report.describe()
    assert report.first_fill is None and report.fills_outside_tolerance == 0, report.describe()
    assert report.fills[0] == report.fills[1] >= 2


@pytest.mark.slow
def test_days_mix_sources_per_venue_and_between_venues(fetched: Path, sample: Path, tmp_path: Path) -> None:
    # Binance: the 8th from arb's own recording, the 9th from Tardis; Bybit: both days from arb's recorder
    recordings = tmp_path / "recordings"
    shutil.copytree(fetched / "recordings" / "tardis", recordings / "tardis", ignore=shutil.ignore_patterns("*.npz"))
    (recordings / "binance_spot").mkdir()
    first = _days(sample, "binance")[0]
    shutil.copy(first, recordings / "binance_spot" / first.name)
    (recordings / "bybit_spot").mkdir()
    for path in _days(sample, "bybit"):
        shutil.copy(path, recordings / "bybit_spot" / path.name)
    config = load_config(write_config_files(tmp_path))
    binance = find_day_files(recordings, "binance", "spot", "BTCUSDT")
    assert (binance[AUG_8].source, binance[AUG_9].source) == ("recording", "tardis")  # the recording first
    session = load_timeline(config, [AUG_8, AUG_9])
    assert [d.source for d in session.assets[0].days] == ["recording", "tardis"]
    assert [d.source for d in session.assets[1].days] == ["recording", "recording"]
    # each source's clock has its own shift (both ran ~1.27 s behind: the captures' recorder's clock)
    assert session.source_shifts["recording"] > 1_270_000_000 and session.source_shifts["tardis"] > 1_270_000_000
    # the Tardis day continues the recorded day's book: at its end, the book the recorder path gives
    shipped = load_config(ROOT / "config" / "arbitrage.toml")
    reference = load_timeline(shipped.with_overrides({"backtest.recordings": sample}), [AUG_8, AUG_9])
    mixed_end, ref_end = session.assets[0].days[-1].eod.rows, reference.assets[0].days[-1].eod.rows
    assert np.array_equal(mixed_end["px"], ref_end["px"]) and np.array_equal(mixed_end["qty"], ref_end["qty"])
    out = tmp_path / "out"
    assert main(["-q", "backtest", "--config", str(tmp_path / "arbitrage.toml"), "--out", str(out)]) == 0
    assert json.loads((out / "summary.json").read_text())["total"]["fills"] >= 10


def test_no_day_anywhere_names_the_command_that_fetches_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config_files(tmp_path)
    (tmp_path / "recordings").mkdir()
    assert main(["backtest", "--config", str(config), "--start", "2024-01-01"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("arb backtest: no binance spot recordings of BTCUSDT in ")
    assert err.endswith(f"fetch them: arb fetch --config {config} --start 2024-01-01 (docs/data.md)")
