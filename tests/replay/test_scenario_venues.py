"""Constructed scenarios of any of arb's venues (arb.testing.scenarios.write_venues): each venue's file is in
its own wire format and converts with arb's own normalizer, its book ends where the scenario left it, and
the faults a scenario writes (a gap, a resubscription's snapshot) are seen as such.

OKX is the venue these tests hold closest: its ``books`` chain by ``prevSeqId``/``seqId`` and every message
carries the checksum of the book it leaves, which the normalizer verifies; its swap's sizes are contracts.
"""

from __future__ import annotations

import datetime as dt
import gzip
import itertools
from pathlib import Path

import msgspec
import numpy as np
import pytest

from arb.events import BUY_EVENT, EVENT_KIND_MASK, FUNDING_RATE_EVENT, LOCAL_EVENT, MARK_PRICE_EVENT, NS_PER_MS
from arb.recording.convert import convert_files
from arb.sim.okx.scenario import CONTRACT_VALUE
from arb.testing.scenarios import Book, Change, Perp, write_venues
from connectors.okx.normalize import OkxNormalizer

DAY = dt.date(2024, 5, 6)
START_MS = int(dt.datetime.combine(DAY, dt.time(0, 0, 1), tzinfo=dt.UTC).timestamp() * 1000)


def _books() -> list[tuple[str, str, Book]]:
    return [
        ("binance", "spot", Book(bids={59990.0: 2.0}, asks={60000.0: 2.0})),
        ("bybit", "spot", Book(bids={59995.0: 2.0}, asks={60005.0: 2.0})),
        ("okx", "spot", Book(bids={59992.0: 1.5, 59991.5: 0.25}, asks={60003.0: 1.0, 60004.0: 3.0})),
    ]


def _changes() -> list[Change]:
    return [
        Change(1000, "okx", bids={60310.0: 0.5}),
        Change(1000, "bybit", asks={59998.0: 0.4}),
        Change(1500, "okx", bids={60310.0: 0.0}, asks={60003.0: 0.75}),
        Change(2000, "binance", bids={59995.0: 1.0}),
    ]


def _eod_top(result) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    rows = result.eod.rows
    bids = rows["px"][(rows["ev"] & BUY_EVENT) != 0]
    asks = rows["px"][(rows["ev"] & BUY_EVENT) == 0]
    return float(bids.max()), float(asks.min())


def _okx_offline(path: Path, market: str) -> OkxNormalizer:
    normalizer = OkxNormalizer("BTCUSDT", market)
    with gzip.open(path) as lines:
        normalizer.on_lines(lines.read().splitlines(), lambda line: pytest.fail(f"bad line {line[:200]!r}"))
    return normalizer


def test_three_venues_each_in_its_format_convert_and_end_where_the_scenario_left_them(tmp_path: Path) -> None:
    venues = _books()
    paths = write_venues(tmp_path / "recordings", DAY, venues, _changes(), duration_ms=3000, heartbeat_ms=250)
    assert list(paths) == ["binance", "bybit", "okx"]
    assert [p.relative_to(tmp_path / "recordings").as_posix() for p in paths.values()] == [
        "binance_spot/btcusdt_20240506.gz",
        "bybit_spot/btcusdt_20240506.gz",
        "okx_spot/btcusdt_20240506.gz",
    ]
    for (venue, market, book), path in zip(venues, paths.values(), strict=True):
        result = convert_files([path])
        assert (result.venue, result.market, result.symbol) == (venue, market, "BTCUSDT")
        assert (result.stats.gaps, result.stats.decode_errors, result.stats.snapshots) == (0, 0, 1), venue
        assert _eod_top(result) == (max(book.bids), min(book.asks)), venue  # books end as the scenario leaves them
    assert venues[2][2].bids == {59992.0: 1.5, 59991.5: 0.25}  # the level taken away is gone from the book

    okx = _okx_offline(paths["okx"], "spot")
    messages = [msgspec.json.decode(line.split(b" ", 1)[1]) for line in gzip.decompress(paths["okx"].read_bytes())
                .splitlines()]  # fmt: skip
    chain = [(m["data"][0]["prevSeqId"], m["data"][0]["seqId"]) for m in messages]
    assert chain[0][0] == -1 and all(prev == before[1] for before, (prev, _) in itertools.pairwise(chain))
    assert okx.checksums.verified == len(messages) and okx.checksums.mismatches == 0
    assert all(m["data"][0]["checksum"] != 0 for m in messages)


def test_an_okx_gap_breaks_the_seq_id_chain_and_a_snapshot_resyncs(tmp_path: Path) -> None:
    changes = [
        Change(500, "okx", bids={59993.0: 0.5}),
        Change(1000, "okx", asks={60003.0: 0.0}, kind="gap"),
        Change(1500, "okx", bids={59994.0: 0.1}),
        Change(2000, "okx", bids={59993.0: 0.0}, kind="snapshot"),
    ]
    paths = write_venues(tmp_path, DAY, {v: b for v, _, b in _books()}, changes, duration_ms=2500, heartbeat_ms=250)
    result = convert_files([paths["okx"]])
    assert (result.stats.gaps, result.stats.resyncs, result.stats.snapshots) == (1, 1, 2)
    assert result.eod.synced and _eod_top(result) == (59994.0, 60004.0)
    okx = _okx_offline(paths["okx"], "spot")
    assert okx.checksums.mismatches == 0 and okx.stats.gaps == 1


def test_the_okx_swap_sizes_contracts_and_streams_its_mark_and_funding(tmp_path: Path) -> None:
    # converted without being told the symbol or the market: the instruments answer recorded first says
    perp = Perp(mark=60001.5, rate=0.0001, funding_ms=1500, next_rate=-0.0002, interval_ms=4 * 3_600_000)
    venues = [("binance", "linear", Book(bids={59990.0: 2.0}, asks={60000.0: 2.0})),
              ("okx", "linear", Book(bids={59992.0: 1.5}, asks={60003.0: 0.25}))]  # fmt: skip
    paths = write_venues(tmp_path, DAY, venues, [Change(700, "okx", bids={59995.0: 0.37})], duration_ms=3000,
                         perps={"okx": perp})  # fmt: skip
    lines = gzip.decompress(paths["okx"].read_bytes()).splitlines()
    snapshot = msgspec.json.decode(lines[1].split(b" ", 1)[1])
    assert snapshot["arg"] == {"channel": "books", "instId": "BTC-USDT-SWAP"}
    assert snapshot["data"][0]["bids"] == [["59992.0", f"{1.5 / CONTRACT_VALUE:.2f}", "0", "1"]]  # contracts
    result = convert_files([paths["okx"]])
    assert (result.venue, result.market, result.symbol) == ("okx", "linear", "BTCUSDT")
    rows = result.rows[(result.rows["ev"] & LOCAL_EVENT) != 0]
    kinds = rows["ev"] & EVENT_KIND_MASK
    book = result.eod.rows  # the end-of-day book, in base units
    assert sorted(np.round(book["qty"], 8).tolist()) == [0.25, 0.37, 1.5]
    marks = rows[kinds == MARK_PRICE_EVENT]
    assert len(marks) == 3 and np.all(marks["px"] == 60001.5) and np.all(np.isnan(marks["qty"]))  # no index
    funding = rows[kinds == FUNDING_RATE_EVENT]  # pushed with every mark price, as OKX pushes it now and then
    assert funding["px"].tolist() == [0.0001, 0.0001, -0.0002]  # announced, then the next after the funding time
    assert funding["order_id"].tolist() == [4 * 3_600_000 * NS_PER_MS] * 3  # nextFundingTime - fundingTime
    first, following = (START_MS + 1500) * NS_PER_MS, (START_MS + 1500 + 4 * 3_600_000) * NS_PER_MS
    assert funding["ival"].tolist() == [first, first, following]


def test_a_scenario_refuses_a_change_on_a_venue_it_does_not_hold_and_a_venue_without_a_writer(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'okx', which is not one of the scenario's venues"):
        write_venues(tmp_path, DAY, {"binance": _books()[0][2], "bybit": _books()[1][2]}, [Change(5, "okx")])
    with pytest.raises(ValueError, match="no scenario writer for venue 'kraken'"):
        write_venues(tmp_path, DAY, {"binance": _books()[0][2], "kraken": _books()[1][2]}, [])
