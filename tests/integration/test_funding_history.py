"""``arb funding-history`` against a fake REST venue on 127.0.0.1 speaking each venue's formats.

The fake (``arb.testing.fake_funding_history.FakeFundingHistoryVenue``) serves a funding schedule as
Binance's ``/fapi/v1/fundingRate`` (ascending pages) or Bybit's ``/v5/market/funding/history``
(newest first), with a small page size so a week takes several pages, and injects the venue's
rate-limit answer and a request that never gets an answer. Waits go through an injected sleep that
returns at once and records what it was asked (pacing, rate limit, backoff), and the clock is the
test's, so nothing here waits for real time except the client's 0.3 s request timeout.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from pathlib import Path
from typing import Any, Literal

import pytest

from arb.cli import main
from arb.config import AppConfig, load_config
from arb.errors import FeedError, RecordingError, UsageError
from arb.events import NS_PER_MS, NS_PER_S
from arb.recording.funding import funding_path, funding_rates, load_funding_file
from arb.recording.funding_history import day_start_ns, fetch_funding_history
from arb.sim.funding import FundingSchedule
from arb.testing.configs import local_endpoints, write_config_files
from arb.testing.fake_funding_history import FakeFundingHistoryVenue
from connectors.binance.history import classify as binance_classify
from connectors.bybit.history import classify as bybit_classify
from connectors.common.history import Answer
from tests.support.captures import FIXTURES
from tests.support.feed_rig import Waits
from tests.support.processes import run_arb

DAY_NS = 86_400 * NS_PER_S
AUG_1 = dt.date(2024, 8, 1)
FIRST_MS = day_start_ns(AUG_1) // NS_PER_MS  # a funding time: 2024-08-01 00:00 UTC
RATES = tuple(f"{0.0001 + k * 0.00001:.8f}" for k in range(40))
SCHEDULE = FundingSchedule(FIRST_MS, RATES)
NOW_NS = day_start_ns(dt.date(2024, 9, 1))
TIMEOUT_S = 20.0


def _config(
    tmp_path: Path, venue: FakeFundingHistoryVenue | None, other: FakeFundingHistoryVenue | None = None
) -> AppConfig:
    overrides: dict[str, Any] = {}
    for fake in (venue, other):
        if fake is not None:
            key = f"{fake.venue}_overrides"
            overrides[key] = local_endpoints([f"ws://127.0.0.1:1/{fake.venue}"], fake.rest_url, market="linear")
    for name in ("binance", "bybit"):  # a venue without a fake is linear too, pointed nowhere
        overrides.setdefault(
            f"{name}_overrides", local_endpoints(["ws://127.0.0.1:1/x"], "http://127.0.0.1:1", market="linear")
        )
    return load_config(write_config_files(tmp_path / "config", **overrides))


async def _fetch(
    tmp_path: Path, fake: FakeFundingHistoryVenue, start: dt.date, end: dt.date, waits: Waits | None = None, **kw: Any
) -> Any:
    return await fetch_funding_history(
        _config(tmp_path, fake),
        venues=[fake.venue],
        symbols=kw.pop("symbols", ["BTCUSDT"]),
        start_ns=day_start_ns(start),
        end_ns=day_start_ns(end) + DAY_NS,
        out_dir=tmp_path / "recordings",
        clock=lambda: NOW_NS,
        sleep=waits or Waits(),
        timeout_s=0.3,
        page_size=5,
        **kw,
    )


def _venue(name: Literal["binance", "bybit"], **kw: Any) -> FakeFundingHistoryVenue:
    # The venue's page is 5 entries, and the client asks for 5 (_fetch): a week takes 5 pages.
    options: dict[str, Any] = {"clock": lambda: NOW_NS / NS_PER_S, "page_limit": 5, **kw}
    return FakeFundingHistoryVenue(name, {"BTCUSDT": SCHEDULE}, **options)


def _history_requests(fake: FakeFundingHistoryVenue) -> list[Any]:
    return [r for r in fake.requests if "funding" in r.path.lower()]


@pytest.mark.parametrize("venue", ["binance", "bybit"])
async def test_a_week_in_pages_through_a_rate_limit_and_a_timeout(
    venue: Literal["binance", "bybit"], tmp_path: Path
) -> None:
    waits = Waits()
    async with asyncio.timeout(TIMEOUT_S), _venue(venue) as fake:
        fake.rate_limit(times=1, wait_s=7.0)  # the first history request
        fake.hang(times=1)  # the second: no answer, the 0.3 s timeout fires and it is asked again
        [report] = await _fetch(tmp_path, fake, AUG_1, dt.date(2024, 8, 7), waits)
    path = funding_path(tmp_path / "recordings", venue, "BTCUSDT")
    assert report.path == path and report.fundings == 21 and report.new == 21 and report.changed == 0
    stored = load_funding_file(path)
    want = SCHEDULE.fundings(FIRST_MS, FIRST_MS + 7 * 86_400_000 - 1)
    assert [(r.time_ns // NS_PER_MS, r.rate) for r in stored.funding] == want
    assert stored.covered == ((day_start_ns(AUG_1), day_start_ns(dt.date(2024, 8, 8))),)
    assert stored.source == fake.rest_url + (
        "/fapi/v1/fundingRate" if venue == "binance" else "/v5/market/funding/history"
    )
    answers = [r.answer for r in _history_requests(fake)]
    assert answers[:2] == ["rate_limited", "hung"] and answers.count("data") == 5  # 21 in pages of 5
    assert 7.0 in waits.seconds  # waited as long as the venue asked
    assert 0.5 in waits.seconds  # the first backoff delay after the timeout
    starts = [r.params.get("startTime") for r in _history_requests(fake) if r.answer == "data"]
    ends = [int(r.params["endTime"]) for r in _history_requests(fake) if r.answer == "data"]
    if venue == "binance":  # ascending: each page starts after the last one's newest entry
        assert [int(s) for s in starts] == sorted({int(s) for s in starts}) and len(set(ends)) == 1
    else:  # newest first: each page ends before the last one's oldest entry
        assert ends == sorted(set(ends), reverse=True) and len(set(starts)) == 1
    if venue == "binance":
        assert stored.funding[0].mark_price == SCHEDULE.mark_price
        pace = [s for s in waits.seconds if s == pytest.approx(0.6)]
        assert len(pace) >= 5  # 500 requests per 5 minutes, spaced evenly


async def test_a_refetch_merges_deduplicates_and_the_loader_reads_a_span(tmp_path: Path) -> None:
    async with asyncio.timeout(TIMEOUT_S), _venue("bybit") as fake:
        await _fetch(tmp_path, fake, AUG_1, dt.date(2024, 8, 3))
        [again] = await _fetch(tmp_path, fake, dt.date(2024, 8, 2), dt.date(2024, 8, 5))
    assert again.fundings == 12 and again.new == 6 and again.changed == 0
    stored = load_funding_file(funding_path(tmp_path / "recordings", "bybit", "BTCUSDT"))
    times = [r.time_ns for r in stored.funding]
    assert len(times) == 15 == len(set(times)) and times == sorted(times)
    assert stored.covered == ((day_start_ns(AUG_1), day_start_ns(dt.date(2024, 8, 6))),)
    rates = funding_rates(tmp_path / "recordings", "bybit", "btcusdt", day_start_ns(dt.date(2024, 8, 2)),
                          day_start_ns(dt.date(2024, 8, 3)))  # fmt: skip
    assert rates.times_ns.tolist() == [day_start_ns(dt.date(2024, 8, 2)) + h * 3600 * NS_PER_S for h in (0, 8, 16)]
    assert rates.rates.tolist() == [float(r) for r in RATES[3:6]]
    with pytest.raises(RecordingError, match=r"no funding history for 2024-08-06 00:00:00 UTC .*arb funding-history"):
        funding_rates(
            tmp_path / "recordings", "bybit", "BTCUSDT", day_start_ns(AUG_1), day_start_ns(dt.date(2024, 8, 7))
        )
    with pytest.raises(RecordingError, match="fetch it with arb funding-history --venue binance"):
        funding_rates(
            tmp_path / "recordings", "binance", "BTCUSDT", day_start_ns(AUG_1), day_start_ns(dt.date(2024, 8, 2))
        )


async def test_a_ban_stops_the_fetch_and_keeps_the_file_as_it_was(tmp_path: Path) -> None:
    async with asyncio.timeout(TIMEOUT_S), _venue("binance") as fake:
        await _fetch(tmp_path, fake, AUG_1, AUG_1)
        path = funding_path(tmp_path / "recordings", "binance", "BTCUSDT")
        before = path.read_bytes()
        fake.ban()
        with pytest.raises(FeedError, match="IP banned by Binance \\(HTTP 418") as raised:
            await _fetch(tmp_path, fake, AUG_1, dt.date(2024, 8, 9))
    assert not raised.value.retryable
    assert path.read_bytes() == before
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temporary file left


async def test_timeouts_that_do_not_end_fail_naming_the_request(tmp_path: Path) -> None:
    waits = Waits()
    async with asyncio.timeout(TIMEOUT_S), _venue("bybit") as fake:
        fake.hang(times=3)
        with pytest.raises(
            FeedError, match=r"GET http://127.0.0.1:\d+/v5/market/funding/history\?.*no answer after 3 tries"
        ):
            await _fetch(tmp_path, fake, AUG_1, AUG_1, waits, retries=2)
    assert [s for s in waits.seconds if s >= 0.5] == [0.5, 1.0]  # the backoff between the tries


@pytest.mark.parametrize("venue", ["binance", "bybit"])
async def test_a_symbol_the_venue_does_not_list_is_refused_before_anything_is_fetched(
    venue: Literal["binance", "bybit"], tmp_path: Path
) -> None:
    async with asyncio.timeout(TIMEOUT_S), _venue(venue, dated=("BTCUSDT_240927",)) as fake:
        with pytest.raises(UsageError, match=f"--symbols: .*{venue} .*does not list XYZUSDT") as raised:
            await _fetch(tmp_path, fake, AUG_1, AUG_1, symbols=["BTCUSDT", "XYZUSDT"])
        with pytest.raises(UsageError, match=r"BTCUSDT_240927 is a .* contract, not a perpetual"):
            await _fetch(tmp_path, fake, AUG_1, AUG_1, symbols=["BTCUSDT_240927"])
    assert raised.value.exit_code == 2
    assert not _history_requests(fake) and not (tmp_path / "recordings").exists()


def test_a_spot_venue_is_exit_2_naming_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config_files(
        tmp_path / "config",
        bybit_overrides=local_endpoints(["ws://127.0.0.1:1/x"], "http://127.0.0.1:1", market="linear"),
    )
    assert main(["funding-history", "--config", str(config), "--start", "2024-08-01"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("arb funding-history: ") and 'binance.toml: market: expected "linear", got "spot"' in err
    assert "(or --venue bybit for bybit alone)" in err and "Traceback" not in err and "\n" not in err


async def test_the_command_fetches_both_venues_into_the_recordings(tmp_path: Path) -> None:
    # The installed command, as a user runs it: both venues, their configured endpoints, real time.
    real_time: dict[str, Any] = {"clock": time.time, "page_limit": None}
    async with _venue("binance", **real_time) as binance, _venue("bybit", **real_time) as bybit:
        config = _config(tmp_path, binance, bybit)
        # bounded by time without the child working (importing ccxt takes a while on a busy machine)
        dates = ("--start", "2024-08-01", "--end", "2024-08-02")
        code, stdout, stderr = await run_arb("funding-history", "--config", str(config.path), *dates,
                                             "--out", str(tmp_path / "rec"), cwd=tmp_path, forked=True)  # fmt: skip
    assert code == 0, stderr
    lines = stdout.splitlines()
    assert any(line.startswith("binance linear on local: ") for line in lines)
    assert any(
        "bybit BTCUSDT: 6 funding times (2024-08-01 00:00 UTC .. 2024-08-02 16:00 UTC), 6 new" in x for x in lines
    )
    for venue in ("binance", "bybit"):
        stored = load_funding_file(funding_path(tmp_path / "rec", venue, "BTCUSDT"))
        assert len(stored.funding) == 6


# -- the answers, one by one --------------------------------------------------------------------------


def _answer(status: int, body: object, headers: dict[str, str] | None = None, local_ms: int = 1_000) -> Answer:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Answer(status, headers or {}, raw, local_ms * NS_PER_MS)


def test_binance_answers() -> None:
    ok = binance_classify(_answer(200, (FIXTURES / "binance_usdm_funding_rate.json").read_bytes()))
    assert ok.kind == "ok"
    wait = binance_classify(_answer(429, {"code": -1003, "msg": "Too many requests"}, {"Retry-After": "12"}))
    assert (wait.kind, wait.wait_s) == ("wait", 12.0)
    assert binance_classify(_answer(418, {"code": -1003, "msg": "banned"})).kind == "fatal"
    assert binance_classify(_answer(503, b"<html>")).kind == "retry"
    unknown = binance_classify(_answer(400, {"code": -1121, "msg": "Invalid symbol."}))
    assert unknown.kind == "fatal" and "does not know the symbol" in unknown.why


def test_bybit_answers() -> None:
    assert bybit_classify(_answer(200, (FIXTURES / "bybit_funding_history.json").read_bytes())).kind == "ok"
    busy = {"retCode": 10006, "retMsg": "Too many visits!", "result": {}}
    wait = bybit_classify(_answer(200, busy, {"X-Bapi-Limit-Reset-Timestamp": "3500"}, local_ms=1_000))
    assert (wait.kind, wait.wait_s) == ("wait", 2.5)
    assert bybit_classify(_answer(200, busy)).wait_s == 1.0  # no reset time: a second
    assert bybit_classify(_answer(403, b"access too frequent")).kind == "fatal"
    assert bybit_classify(_answer(200, {"retCode": 10016, "retMsg": "Internal system error."})).kind == "retry"
    assert bybit_classify(_answer(200, {"retCode": 10001, "retMsg": "params error"})).kind == "fatal"
    assert bybit_classify(_answer(200, b'{"retCode":0,"result":{"list":[')).kind == "retry"  # truncated


def test_the_documented_bodies_decode_to_records() -> None:
    import msgspec

    from connectors.binance.messages import BinanceFundingRate
    from connectors.bybit.messages import BybitFundingHistory

    binance = msgspec.json.decode(
        (FIXTURES / "binance_usdm_funding_rate.json").read_bytes(), type=list[BinanceFundingRate]
    )
    assert [(e.funding_time_ms, e.funding_rate, e.mark_price) for e in binance] == [
        (1570608000000, "-0.03750000", "34287.54619963"), (1570636800000, "0.00010000", "34287.54619963"),
    ]  # fmt: skip
    bybit = msgspec.json.decode(
        (FIXTURES / "bybit_funding_history.json").read_bytes(), type=BybitFundingHistory, strict=False
    )
    assert bybit.result is not None
    assert [(e.symbol, e.funding_time_ms, e.funding_rate) for e in bybit.result.entries] == [
        ("ETHPERP", 1672041600000, "0.0001"),
    ]
