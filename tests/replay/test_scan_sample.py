"""The shipped sample's ETHUSDT and SOLUSDT: what ``arb scan`` ranks offline (see recordings/README.md).

The Binance ETHUSDT files are a real capture; every other ETHUSDT and SOLUSDT file is written by
``examples/generate_scan_sample.py``. What a user of the sample relies on: every file converts with arb's own
normalizers (book synced, no gap, no finding), the rebuilt books rank the pairs as the README says, the
README's table states the files' real sizes, and the committed bytes are what the script makes. A full
regeneration takes about 10 s of CPU, more than this file's share of the suite: the tests here regenerate
the Binance SOL half's first 3,000 source lines (the script draws its ids one message at a time, so a prefix
of the input gives a prefix of the file) and all of the Bybit SOL files, the smallest complete generated
pair; ``python -m examples.generate_scan_sample --check`` compares every file.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from arb.events import EVENT_KIND_MASK, LOCAL_EVENT, TRADE_EVENT
from arb.recording.convert import ConversionResult, convert_files
from connectors.common.record_files import LineReader
from examples import generate_bybit_sample as bybit_gen
from examples.generate_bybit_sample import read_binance, write_daily_files
from examples.generate_scan_sample import (
    DAYS,
    MODELS,
    VENUES,
    pair_edges,
    taker_fees,
    venue_tops,
    write_binance_scaled,
)
from tests.support.captures import RECORDINGS

SYMBOLS = ("ETHUSDT", "SOLUSDT")
FILES = {
    (venue, symbol): [RECORDINGS / f"{venue}_spot" / f"{symbol.lower()}_{day}.gz" for day in DAYS]
    for venue in VENUES
    for symbol in SYMBOLS
}


@pytest.fixture(scope="module")
def converted() -> dict[tuple[str, str], ConversionResult]:
    out = {}
    for symbol in SYMBOLS:
        binance = convert_files(FILES["binance", symbol])
        out["binance", symbol] = binance
        for venue in ("bybit", "okx"):  # one recorder clock: the Binance half's local-time correction
            out[venue, symbol] = convert_files(FILES[venue, symbol], local_offset_ns=binance.local_offset_ns)
    return out


@pytest.mark.parametrize(("venue", "symbol"), list(FILES))
def test_every_file_converts_with_its_book_synced_and_nothing_found(
    converted: dict[tuple[str, str], ConversionResult], venue: str, symbol: str
) -> None:
    result = converted[venue, symbol]
    assert (result.venue, result.market, result.symbol) == (venue, "spot", symbol)
    stats = result.stats
    assert (stats.gaps, stats.duplicates, stats.decode_errors, stats.resyncs) == (0, 0, 0, 0)
    assert (stats.unknown_streams, stats.other_symbols, stats.dropped_unsynced) == (0, 0, 0)
    assert stats.snapshots == 1 and result.eod.synced and result.findings.book_synced
    assert not result.truncated and all(r.bad_lines == 0 for r in result.reads)
    assert result.findings.warnings() == []
    kinds = result.rows["ev"] & EVENT_KIND_MASK
    assert int(((kinds == TRADE_EVENT) & ((result.rows["ev"] & LOCAL_EVENT) != 0)).sum()) > 10_000


def test_the_books_rank_the_pairs_as_the_readme_says(converted: dict[tuple[str, str], ConversionResult]) -> None:
    fees = taker_fees()
    edges = {
        (e.symbol, e.buy, e.sell): e
        for symbol in SYMBOLS
        for e in pair_edges(symbol, {v: venue_tops(converted[v, symbol].rows) for v in VENUES}, fees)
    }
    assert all(e.known_s > 600 for e in edges.values())
    # ETHUSDT: nothing clears the fees, on any pair
    assert all(e.above_s == 0 and e.peak_bps < 0 for (s, *_), e in edges.items() if s == "ETHUSDT")
    # SOLUSDT: buy on OKX, sell on Bybit, long and often; Binance to Bybit less; no other pair at all
    first, second = edges["SOLUSDT", "okx", "bybit"], edges["SOLUSDT", "binance", "bybit"]
    assert first.above_s > 150 and first.episodes >= 10 and first.longest_s > 20
    assert 60 < second.above_s < first.above_s
    others = [e for (s, b, sl), e in edges.items() if s == "SOLUSDT" and sl != "bybit"]
    assert all(e.above_s == 0 for e in others) and len(others) == 4


def test_readme_table_states_every_files_size() -> None:
    text = (RECORDINGS / "README.md").read_text()
    rows = dict(re.findall(r"^\| `([a-z_]+/[a-z]+_\d{8}\.gz)` \|.*\| ([\d,]+) \|$", text, re.MULTILINE))
    files = sorted(RECORDINGS.glob("*/*.gz"))
    assert sorted(rows) == sorted(f"{p.parent.name}/{p.name}" for p in files)
    for path in files:
        assert int(rows[f"{path.parent.name}/{path.name}"].replace(",", "")) == path.stat().st_size, path
    total = int(re.search(r"^Total ([\d,]+) bytes", text, re.MULTILINE)[1].replace(",", ""))  # type: ignore[index]
    assert total == sum(p.stat().st_size for p in files)


def test_binance_sol_is_the_scaled_eth_capture_and_a_prefix_regenerates(tmp_path: Path) -> None:
    n = 3000
    session = read_binance(FILES["binance", "ETHUSDT"], max_messages=n)
    [fresh] = write_binance_scaled(FILES["binance", "ETHUSDT"], tmp_path, max_messages=n, session=session)
    lines = list(LineReader(fresh))
    committed = []
    for item in LineReader(FILES["binance", "SOLUSDT"][0]):
        committed.append(item)
        if len(committed) == len(lines):
            break
    assert len(lines) > 500 and lines == committed
    assert fresh.name == "solusdt_20240808.gz"
    snapshot = next(p for _, p in lines if p.startswith(b'{"lastUpdateId"'))
    assert b'"159.99000000"' in snapshot[:200]  # the ETH book's first bid, scaled to 160 USDT and rounded down


def test_bybit_sol_files_equal_a_fresh_regeneration(tmp_path: Path) -> None:
    binance = FILES["binance", "SOLUSDT"]
    [model] = [m for m in MODELS["SOLUSDT"] if m.venue == "bybit"]
    synth = bybit_gen.synthesize(
        binance, model.seed, model.params, symbol="SOLUSDT", tick_size=model.tick, lot_size=model.lot,
        depth=model.depth, session=read_binance(binance),
    )  # fmt: skip
    paths = write_daily_files(synth.lines, tmp_path, "SOLUSDT")
    assert [p.name for p in paths] == [p.name for p in FILES["bybit", "SOLUSDT"]]
    for fresh, committed in zip(paths, FILES["bybit", "SOLUSDT"], strict=True):
        assert fresh.read_bytes() == committed.read_bytes(), committed
