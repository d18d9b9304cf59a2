"""``[ops] daily_reports_kept``: the daily reports folder of a session that runs for months keeps the newest
reports only (``arb.reports.periodic.prune_daily_reports``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from arb.config import load_config
from arb.reports.periodic import prune_daily_reports
from arb.testing.configs import write_config_files


def test_only_the_newest_daily_reports_of_the_mode_are_kept(tmp_path: Path) -> None:
    days = [dt.date(2026, 12, 30) + dt.timedelta(days=k) for k in range(10)]  # across a new year
    for day in days:
        (tmp_path / f"dry-run-day-{day:%Y-%m-%d}.html").write_text("<html></html>")
    others = [tmp_path / "live-day-2026-01-01.html", tmp_path / "dry-run-week-2026-W01.html", tmp_path / "notes.txt"]
    for path in others:
        path.write_text("kept")
    gone = prune_daily_reports(tmp_path, "dry-run", 3)
    assert [p.name for p in gone] == [f"dry-run-day-{d:%Y-%m-%d}.html" for d in days[:7]]
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([f"dry-run-day-{d:%Y-%m-%d}.html" for d in days[7:]] + [p.name for p in others])
    assert prune_daily_reports(tmp_path, "dry-run", 0) == [] and prune_daily_reports(tmp_path, "dry-run", 3) == []


def test_the_setting_is_read_and_keeps_every_report_by_default(tmp_path: Path) -> None:
    assert load_config(write_config_files(tmp_path / "a")).ops.daily_reports_kept == 0
    config = load_config(write_config_files(tmp_path / "b", arbitrage_overrides={"ops": {"daily_reports_kept": 30}}))
    assert config.ops.daily_reports_kept == 30
