"""arb scan --ray local: the shards run as Ray tasks on a local cluster give the figures the local run gives, and a
scan started again on Ray redoes no finished shard.

Ray is the ``ray`` extra: without it the test is skipped, unless ``ARB_REQUIRE_RAY=1`` (CI) makes that a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from arb.cli import main
from arb.scan.store import read_table
from tests.support import planted_books as planted

_RUN = ("day", "symbol", "market", "buy_venue", "sell_venue")


def _scan(recordings: Path, out: Path, *extra: str) -> int:
    return main(["-q", "scan", "--venues", "binance,bybit,okx", "--recordings", str(recordings), "--out", str(out),
                 "--min-edge-bps", "5", *extra])  # fmt: skip


def _rows(out: Path) -> list[dict[str, object]]:
    # the scan's rows in one order, NaN as None (NaN equals nothing, itself included)
    rows = [{k: None if v != v else v for k, v in r.items()} for r in read_table(out / "scan.parquet")]
    return sorted(rows, key=lambda r: [str(r[k]) for k in _RUN])


def test_ray_tasks_give_the_local_figures_and_a_second_scan_redoes_nothing(tmp_path: Path) -> None:
    try:
        import ray
    except ImportError as exc:
        if os.environ.get("ARB_REQUIRE_RAY") == "1":
            pytest.fail(f"Ray is not installed (pip install 'arb[ray]'): {exc}")
        pytest.skip(f"Ray is not installed (pip install 'arb[ray]'): {exc}")
    from arb.sweep.ray_runner import shutdown_ray

    recordings = tmp_path / "recordings"
    planted.write_books(recordings)
    assert _scan(recordings, tmp_path / "local", "--workers", "1") == 0
    import ray

    try:
        assert _scan(recordings, tmp_path / "ray", "--ray", "local", "--workers", "2") == 0
        assert not ray.is_initialized()  # the cluster the scan started is stopped with it
    finally:
        if ray.is_initialized():
            shutdown_ray(ray)
    assert _rows(tmp_path / "ray") == _rows(tmp_path / "local")
    done = sorted((tmp_path / "ray" / "shards").rglob("*.done.json"))
    assert len(done) == 2  # two symbols, one day
    stamps = [p.stat().st_mtime_ns for p in done]
    # again on Ray: every shard is read from what the first scan kept (no cluster is even started for none)
    assert _scan(recordings, tmp_path / "ray", "--ray", "local", "--workers", "2") == 0
    assert [p.stat().st_mtime_ns for p in done] == stamps
    assert not ray.is_initialized()
