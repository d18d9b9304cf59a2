"""``arb fetch --book snapshot25`` against a local Tardis datasets API (arb/testing/fake_archive.py).

The fake serves a real capture written as Tardis's ``book_snapshot_25`` and ``trades`` (arb/testing/
history_files.py) at Tardis's URL paths, and cuts the snapshot file's connection, answers 429 for the
trades and has no file of the next day. What must show: the same resumable, checked download as the full
book's, the right files land byte for byte, and the day they make is found and read.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from arb.cli import main
from arb.events import EventArray
from arb.recording.read_rows import read_rows
from arb.recording.sources import find_day_files
from arb.testing.configs import write_config_files
from arb.testing.fake_archive import FakeArchive
from arb.testing.history_files import tardis_snapshots_from
from tests.support.captures import SPOT_BTC_HEAD

AUG_8 = dt.date(2024, 8, 8)
SNAPSHOT_8 = "/v1/binance/book_snapshot_25/2024/08/08/BTCUSDT.csv.gz"
TRADES_8 = "/v1/binance/trades/2024/08/08/BTCUSDT.csv.gz"
KEY = "tk-5d2e8a0c4f"


def test_a_day_of_book_snapshots_is_fetched_resumed_and_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    written = tardis_snapshots_from(
        "binance", [SPOT_BTC_HEAD], tmp_path / "made", market="spot", data_types=("trades",)
    )
    out = tmp_path / "recordings"
    cfg = write_config_files(tmp_path / "config")
    monkeypatch.setenv("TARDIS_API_KEY", KEY)
    with FakeArchive(key=KEY) as server:
        urls = server.add_tree(list(written.values()), tmp_path / "made")
        assert sorted(urls) == [SNAPSHOT_8, TRADES_8]
        server.fault("drop", SNAPSHOT_8, at=10_000)  # the connection goes 10 kB into the file
        server.fault("status", TRADES_8, status=429, headers={"Retry-After": "0"})
        days = ["--start", "2024-08-08", "--end", "2024-08-09"]
        code = main(["fetch", "--config", str(cfg), "--venue", "binance", "--book", "snapshot25", *days,
                     "--base-url", server.tardis_url, "--out", str(out)])  # fmt: skip
        seen = server.requests.items()
    captured = capsys.readouterr()
    assert code == 1  # the 9th is not there
    assert captured.err.strip().splitlines() == [
        f"arb fetch: tardis has no binance {kind} BTCUSDT 2024-08-09: 404 Not Found at {server.tardis_url}/binance/"
        f"{kind}/2024/08/09/BTCUSDT.csv.gz (Tardis publishes a day around 06:00 UTC the next day; before a symbol "
        "was listed there is none)"
        for kind in ("book_snapshot_25", "trades")
    ]
    assert "fetched binance book_snapshot_25 BTCUSDT 2024-08-08: " in captured.out
    landed = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert landed == ["tardis/binance_book_snapshot_25_2024-08-08_BTCUSDT.csv.gz",
                      "tardis/binance_trades_2024-08-08_BTCUSDT.csv.gz"]  # fmt: skip
    for (kind, _), made in written.items():
        assert (out / "tardis" / made.name).read_bytes() == made.read_bytes(), kind
    assert [s.range for s in seen if s.path == SNAPSHOT_8] == ["", "bytes=10000-"]  # the .part was resumed
    assert [s.path for s in seen].count(TRADES_8) == 2  # the 429, then the file
    assert all(s.bearer for s in seen)

    day = find_day_files(out, "binance", "spot", "BTCUSDT")[AUG_8]
    assert day.source == "tardis" and [p.name for p in day.inputs] == [p.name for p in written.values()]
    chunks: list[EventArray] = []
    findings = read_rows(day.inputs, lambda: lambda rows: chunks.append(rows.copy()), venue="binance", market="spot",
                         symbol="BTCUSDT")  # fmt: skip
    assert findings.book_synced and findings.warnings() == []
    assert len(np.concatenate(chunks)) > 1000


def test_the_book_option_is_for_tardis_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = write_config_files(tmp_path / "config")
    args = ["fetch", "--config", str(cfg), "--start", "2024-08-08", "--source", "bybit-archive", "--book", "snapshot25"]
    assert main(args) == 2
    assert capsys.readouterr().err.strip() == (
        "arb fetch: --book: expected --source tardis, got --source bybit-archive (its archive has one book)"
    )
