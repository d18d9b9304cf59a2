"""Reports after every kind of run: ``arb report`` right after ``arb dry-run`` reads the account the dry
run kept, and for both styles (taker, maker-taker) on the shipped sample every report of a backtest and
of a replayed dry run (the terminal line, the page, the daily reports) says what the run's own
summary.json says: its pairs, fills and PnL terms. (The live journal's: tests/integration/test_live_e2e.py
and test_live_maker_e2e.py.) The runs replay the sample up to 00:02:40 (``tests/support/sample_slice.py``):
across midnight, with pairs of both styles on both days."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from arb.cli import main
from arb.config import load_config
from tests.support.captures import ROOT
from tests.support.report_checks import check_daily_reports, check_reports, report_data, run_days
from tests.support.sample_slice import shared_recordings_until
from tests.support.shared import made_once

STYLES = ("taker", "maker_taker")
UNTIL = dt.datetime(2024, 8, 9, 0, 2, 40, tzinfo=dt.UTC)
"""The end of the sample's minutes the runs replay: after the second day's first pairs (00:02:18 taken,
00:02:27 quoted)."""


@pytest.fixture(scope="module")
def minutes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample's recordings up to :data:`UNTIL`, made once for the run's workers."""
    return shared_recordings_until(tmp_path_factory, UNTIL)


def _shipped_config(folder: Path, style: str, recordings: Path) -> Path:
    """The shipped configuration in ``folder``, reading ``recordings``, its results, paper account and
    journal in ``folder``, trading in ``style``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("arbitrage.toml", "binance.toml", "bybit.toml"):
        shutil.copy(ROOT / "config" / name, folder / name)
    path = folder / "arbitrage.toml"
    text = path.read_text(encoding="utf-8")
    for old, new in (
        ('recordings = "../recordings"', f'recordings = "{recordings}"'),
        ('out = "../results"', f'out = "{folder / "results"}"'),
        ('state_dir = "../paper"', f'state_dir = "{folder / "paper"}"'),
        ('state_dir = "../live"', f'state_dir = "{folder / "live"}"'),
    ):
        assert old in text, old
        text = text.replace(old, new)
    assert '\nstyle = "taker"' in text  # the shipped style, set in the file
    text = text.replace('\nstyle = "taker"', f'\nstyle = "{style}"', 1)
    path.write_text(text, encoding="utf-8")
    assert load_config(path).strategy.style == style
    return path


@pytest.fixture(scope="module", params=STYLES)
def dry_run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, minutes: Path
) -> tuple[Path, dict[str, Any]]:
    """``arb dry-run`` of the shipped sample (replayed as fast as it goes) in a style, with nothing but
    the configuration: (the configuration, the run's summary.json). Run once for the run's workers (the
    style's two tests may land on two of them)."""

    def run(folder: Path) -> None:
        config = _shipped_config(folder, request.param, minutes)
        assert main(["-q", "dry-run", "--config", str(config), "--speed", "max"]) == 0

    folder = made_once(tmp_path_factory, f"report-styles-dry-run-{request.param}", run)
    (summary,) = (folder / "results").glob("*/summary.json")
    return folder / "arbitrage.toml", json.loads(summary.read_text())


@pytest.fixture(scope="module", params=STYLES)
def backtest(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, minutes: Path
) -> tuple[Path, Path]:
    """``arb backtest`` of the shipped sample in a style: (the configuration, the report folder)."""
    config = _shipped_config(tmp_path_factory.mktemp(f"backtest-{request.param}"), request.param, minutes)
    out = config.parent / "results" / "backtest-sample"
    assert main(["-q", "backtest", "--config", str(config), "--out", str(out)]) == 0
    return config, out


def test_arb_report_right_after_arb_dry_run_reads_the_account_it_kept(
    dry_run: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: exit 2, "no paper account: .../account.json does not exist ... run arb dry-run to start
    # one": the dry run keeps its account in paper.sqlite. And the maker-taker run's report said
    # "4 fills, 0 pairs": only a pair's "open" fills opened it, never a quote's.
    config, summary = dry_run
    assert (config.parent / "paper" / "paper.sqlite").is_file()
    capsys.readouterr()
    assert main(["report", "--config", str(config)]) == 0  # as typed: no other flag
    out, err = capsys.readouterr()
    assert "no paper account" not in err and f"{run_days(summary)[-1]}: net PnL " in out + err
    check_reports(summary, "paper", ["--config", str(config)], tmp_path, capsys)


def test_the_daily_reports_of_a_dry_run_add_up_to_its_summary(
    dry_run: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    config, summary = dry_run
    loaded = load_config(config)
    days = check_daily_reports(summary, loaded, "dry-run", tmp_path)
    assert len(days) == 2  # the sample crosses midnight
    # the report the session itself wrote of its first day, at its first snapshot past midnight
    written = report_data(config.parent / "paper" / "reports" / f"dry-run-day-{run_days(summary)[0]}.html")
    for key in ("fills", "pairs", "pairs_won"):
        assert written[key] == days[0][key], key
    for key in ("pnl", "trading_pnl", "fees"):
        assert written[key] == pytest.approx(days[0][key], abs=0.01), key


def test_every_report_of_a_backtest_equals_its_summary(
    backtest: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: the maker-taker backtest's summary.json had 5 pairs, its report 0.
    config, out = backtest
    summary = json.loads((out / "summary.json").read_text())
    check_reports(summary, "backtest", ["--config", str(config), "--results", str(out)], tmp_path, capsys)
