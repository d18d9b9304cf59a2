"""``arb live`` on perpetuals end to end: a real ``arb`` process trades Binance USD-M against Bybit linear,
then against OKX's swap (``BTC-USDT-SWAP``, in contracts of 0.01 BTC) (fake private venues, ccxt
unpatched, real feeds) and holds the imbalance its pairs leave across a funding time. The funding each
venue's ledger books, the journal's funding table, the report and the engine's cash must agree; then a
SIGKILL after the funding time and a restart: reconciled, nothing booked twice, nothing sent twice.

The recording is made for the present and played on the venues' clock (the wall clock), so the fills
the venues make and the funding time their mark-price streams announce are on one clock, as on a real
venue: from ``OPEN_MS`` the other venue's bid stands 50 bps over Binance's ask, so the kernel buys
Binance and sells there, 0.01 BTC a pair, until its band (0.03) is full; at ``FUNDING_MS`` both venues
settle, Binance at 0.01 % on a mark of 60,000 and the other at 0.03 % on 60,300. By hand: the long 0.03
on Binance pays 0.03 x 60,000 x 0.0001 = 0.18 USDT, the short 0.03 on the other earns
0.03 x 60,300 x 0.0003 = 0.5427.

OKX pushes ``funding-rate`` only every 30 to 90 s: its venue here sends none before the funding time (its
state moves on all the same), as for an ``arb live`` started within one push of a funding time. The run
learns the funding time and its rate from ``GET /api/v5/public/funding-rate`` at connect, and books the
settlement when the first push after it announces the next one.

The market is on the wall clock, so each run waits for it: the two tests' runs (one ended by Ctrl-C, one
killed) are played side by side, each on its own pair of venues with its own ``arb live``, so the module
waits for the funding time once per other venue (``first_runs``, Bybit's runs then OKX's).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
import re
import signal
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from arb.sim.faults import FaultKind
from arb.testing.scenarios import Book, Change, Perp, write_venues
from tests.support.live_rig import (
    account,
    arb_live,
    assert_journal_matches_ledgers,
    both_keys,
    exited,
    journal_of,
    linear_pair,
    live_up,
    until,
    warm_up_linear,
    write_pair_config,
)

pytestmark = [
    pytest.mark.asyncio(loop_scope="module"),  # the tests share the module-scoped first runs
    pytest.mark.wall_clock,  # the venues' clock is the wall clock: the funding time is waited for
]

OPEN_MS = 30_000
"""When the spread opens, after the recording's start: ``arb live`` must be up by then (it takes about 2 s
with Numba's cache warm, which ``warm_up_linear`` sees to, and over 20 s on a machine whose cores are busy
with other work, which the recording's wall clock does not wait for: the recording is on the venues'
clock, which is the wall clock, as a real venue's is)."""
FUNDING_MS = 45_000
"""The funding time, after the recording's start: the band (three pairs) fills before it, however slowly
a busy machine trades."""
TAIL_MS = 60_000
"""The recording goes on this long after the funding time (a restart on a busy machine sees the market)."""
OTHERS = ("bybit", "okx")
"""The venue Binance USD-M trades against: Bybit linear, then OKX's swap."""
BINANCE_PERP = Perp(mark=60_000.0, rate=0.0001, funding_ms=FUNDING_MS, next_rate=0.0002, every_ms=500)
OTHER_PERP = Perp(mark=60_300.0, rate=0.0003, funding_ms=FUNDING_MS, next_rate=-0.0001, every_ms=500)
BINANCE_PAYS, OTHER_EARNS = Decimal("-0.18"), Decimal("0.5427")
"""Each venue's payment by hand: -position x mark x rate (Binance long 0.03, the other short 0.03)."""
WALLET = Decimal(100_000)
STREAMS = {
    "binance": ["btcusdt@depth@0ms", "btcusdt@markPrice@1s"],
    "bybit": ["orderbook.50.BTCUSDT", "tickers.BTCUSDT"],
    "okx": ["books:BTC-USDT-SWAP", "mark-price:BTC-USDT-SWAP", "funding-rate:BTC-USDT-SWAP"],
}
"""What arb live subscribes on each venue's swap: its book, and its mark price and funding."""
OKX_FUNDING = STREAMS["okx"][2]


def _by_venue(other: str, binance: Any, theirs: Any) -> dict[str, Any]:
    return {"binance": binance, other: theirs}


def _scenario(root: Path, other: str) -> tuple[Path, Path, int]:
    """Both linear recordings, starting a second from now; returns them and the start (ms)."""
    start_ms = (time.time_ns() // 1_000_000 // 1000 + 1) * 1000
    day = dt.datetime.fromtimestamp(start_ms / 1000, dt.UTC).date()
    files = write_venues(
        root / "recordings", day,
        [("binance", "linear", Book(bids={59990.0: 2.0}, asks={60000.0: 2.0})),
         (other, "linear", Book(bids={59995.0: 2.0}, asks={60400.0: 2.0}))],
        [Change(OPEN_MS, other, bids={60300.0: 1.0})], duration_ms=FUNDING_MS + TAIL_MS, heartbeat_ms=100,
        perps=_by_venue(other, BINANCE_PERP, OTHER_PERP), start_ms=start_ms,
    )  # fmt: skip
    return files["binance"], files[other], start_ms


async def _started(binance: Any, theirs: Any, process: Any, out: Path) -> None:
    # books, mark-price (and funding) streams and user streams subscribed (a cold Numba cache was warmed above)
    await live_up(binance, theirs, process, out, streams=STREAMS["binance"], topics=STREAMS[theirs.venue_name],
                  timeout=60)  # fmt: skip


@asynccontextmanager
async def _perp_rig(root: Path, other: str) -> AsyncIterator[tuple[Any, Any, Path, int]]:
    """Both linear fakes playing the scenario on their clock, and the configuration for them."""
    binance_file, other_file, start_ms = _scenario(root, other)
    async with linear_pair(binance_file, other_file, quote=str(WALLET), venues=("binance", other)) as (binance, theirs):
        if other == "okx":  # no funding-rate push before the funding time: arb live learns it by REST at connect
            for at in range(FUNDING_MS // OTHER_PERP.every_ms):
                theirs.faults.drop(OKX_FUNDING, at=at)
        binance.play(aligned=True)
        theirs.play(aligned=True)
        yield binance, theirs, write_pair_config(root / "config", binance, theirs), start_ms


async def _through_funding(
    binance: Any, theirs: Any, process: Any, out: Path, start_ms: int, done: Callable[[Path], bool]
) -> None:
    """``arb live`` up before the spread opens, then awaited past the funding time until ``done(out)``."""
    await _started(binance, theirs, process, out)
    _in_time(start_ms)
    await until(lambda: done(out), process, out, FUNDING_MS / 1000 + 20)


@dataclass
class _Run:
    """One ``arb live`` (output in ``out``) on its own ``_perp_rig`` in ``root``, with both venues' keys."""

    root: Path
    out: Path
    other: str
    """The venue Binance trades against."""
    venues: dict[str, Any]
    config: Path
    keys: dict[str, str]
    funding_ms: int
    process: Any
    past_funding: asyncio.Task[None]
    """Done once the run is past the funding time and its condition holds (``_through_funding``)."""


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=OTHERS)
async def first_runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[dict[str, _Run]]:
    """The tests' first runs against the other venue (the fixture's parameter), started together so that
    the market's wall clock is waited for once: by name, ``"interrupted"`` (awaited until both payments
    are printed) and ``"killed"`` (until an account line is printed after both). Each test ends its own
    run; what is left running is killed at the end."""
    other: str = request.param
    runs: dict[str, _Run] = {}
    warm_up_linear(tmp_path_factory.mktemp("warm"), venues=("binance", other))
    with pytest.MonkeyPatch.context() as monkeypatch:
        keys = both_keys(monkeypatch)
        async with AsyncExitStack() as stack:
            for name, done in (("interrupted", _funding_booked), ("killed", _cash_after_funding)):
                root = tmp_path_factory.mktemp(f"{other}-{name}")
                binance, theirs, config, start_ms = await stack.enter_async_context(_perp_rig(root, other))
                out = root / "first"
                process = await stack.enter_async_context(arb_live(config, out, keys))
                past = asyncio.create_task(
                    _through_funding(binance, theirs, process, out, start_ms, functools.partial(done, other=other))
                )
                stack.push_async_callback(_cancelled, past)
                venues = _by_venue(other, binance, theirs)
                runs[name] = _Run(root, out, other, venues, config, keys, start_ms + FUNDING_MS, process, past)
            yield runs


async def _cancelled(task: asyncio.Task[None]) -> None:
    # a run whose test did not await it (deselected, or failed first): stopped before its venues close
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def _in_time(start_ms: int) -> None:
    late = time.time() * 1000 - (start_ms + OPEN_MS - 1000)
    if late > 0:
        pytest.fail(f"arb live came up {late:.0f} ms too late for the scenario (a very slow machine?)")


def _said(out: Path) -> str:
    """Everything the process printed (the console writes to stderr)."""
    return (out / "stdout").read_text() + (out / "stderr").read_text()


def _funding_booked(out: Path, other: str) -> bool:
    text = _said(out)
    return "funding binance" in text and f"funding {other}" in text


def _cash_after_funding(out: Path, other: str) -> bool:
    text = _said(out)
    if not _funding_booked(out, other):
        return False
    last = max(text.rfind("funding binance"), text.rfind(f"funding {other}"))
    return "] cash " in text[last:]


def _perps(run: _Run) -> dict[str, tuple[Perp, Decimal, Decimal]]:
    """Each venue's perpetual, position held across the funding time and payment, by hand."""
    return {"binance": (BINANCE_PERP, Decimal("0.03"), BINANCE_PAYS), run.other: (OTHER_PERP, Decimal("-0.03"),
            OTHER_EARNS)}  # fmt: skip


def _funding_booked_once(run: _Run) -> None:
    venues, funding_ms = run.venues, run.funding_ms
    # each venue's ledger booked exactly the payment by hand, on the position held at the funding time
    for name, fake in venues.items():
        perp, position, paid = _perps(run)[name]
        (payment,) = account(fake).fundings
        assert (payment.funding_ms, payment.position, payment.payment) == (funding_ms, position, paid)
        assert (payment.rate, payment.mark_price) == (Decimal(f"{perp.rate:.8f}"), Decimal(f"{perp.mark:.2f}"))
    # and the journal: exactly one row per venue, the venue's own payment, at the venue's funding time
    with journal_of(run.root / "config") as journal:
        rows = journal.funding_payments()
        assert sorted(r["venue"] for r in rows) == sorted(venues)
        for row in rows:
            (booked,) = account(venues[row["venue"]]).fundings
            assert (row["market"], row["symbol"], row["funding_ts_ns"]) == ("linear", "BTCUSDT", funding_ms * 10**6)
            assert float(row["payment"]) == pytest.approx(float(booked.payment), abs=1e-12)
            assert float(row["position"]) == pytest.approx(float(booked.position), abs=1e-12)
            assert (float(row["rate"]), float(row["mark"])) == (float(booked.rate), float(booked.mark_price))
        assert_journal_matches_ledgers(journal, venues)
        assert not journal.intents(in_flight=True)


def _wallet(fake: Any) -> Decimal:
    usdt = account(fake).balance("USDT")
    return Decimal(usdt.free + usdt.locked)


def _quote_for_the_engine(fake: Any) -> Decimal:
    """The venue's wallet as arb's engine counts quote: a linear wallet moves by realised PnL, fees and
    funding only, while the engine pays for a position as spot pays for coins and values it at the price,
    so its quote is the wallet less the open position's cost at the venue's average entry price."""
    position = account(fake).position(_ledger_symbol(fake))
    return _wallet(fake) - position.qty * position.entry_price


def _ledger_symbol(fake: Any) -> str:
    """BTCUSDT's perpetual as the venue's ledger names it (OKX's ``BTC-USDT-SWAP``)."""
    return "BTC-USDT-SWAP" if fake.venue_name == "okx" else "BTCUSDT"


def _last_cash_line(out: Path) -> tuple[Decimal, Decimal]:
    # the engine's quote per venue, as the last account line printed it ("cash 99,996.31 | 100,030.99")
    found = re.findall(r"cash ([\d,.-]+) \| ([\d,.-]+)", _said(out))
    assert found, "no account line"
    binance, theirs = found[-1]
    return Decimal(binance.replace(",", "")), Decimal(theirs.replace(",", ""))


async def test_arb_live_on_perpetuals_books_each_venues_funding_once_as_the_venue_did(
    first_runs: dict[str, _Run],
) -> None:
    run = first_runs["interrupted"]
    await run.past_funding
    run.process.send_signal(signal.SIGINT)
    rc = await exited(run.process)
    venues, out = run.venues, run.out
    said = _said(out)
    assert rc == 130, said[-3000:]
    assert "Traceback" not in said
    # three pairs before the funding time, then nothing: the imbalance was held across it
    for name, fake in venues.items():
        trades = account(fake).trades
        assert sum(t.qty * t.side.sign for t in trades) == _perps(run)[name][1]
        assert all(t.time_ms < run.funding_ms for t in trades)
        assert not fake.ledger.open_orders(account(fake))
    _funding_booked_once(run)
    if run.other == "okx":  # no push before the funding time reached arb live: REST at connect told it
        okx = venues["okx"]
        assert "/api/v5/public/funding-rate" in {r.path for r in okx.stats.rest_requests}
        assert okx.faults.count(FaultKind.DROP) >= FUNDING_MS // OTHER_PERP.every_ms - OPEN_MS // OTHER_PERP.every_ms
    assert (
        said.count("funding binance BTCUSDT -0.18 ") == 1
        and said.count(f"funding {run.other:<7} BTCUSDT +0.5427 ") == 1
    )
    # the venues said so on their own channels: Binance's user stream, Bybit's executions (OKX tells a
    # settlement in its bills and balances only: nothing on the orders channel arb reads)
    assert any('"m":"FUNDING_FEE"' in m.text for m in venues["binance"].user_stream_log if m.sent)
    if run.other == "bybit":
        assert any('"execType":"Funding"' in m.text for m in venues["bybit"].user_stream_log if m.sent)
    # the report: funding per venue, PnL consistent, each venue's quote the venue's wallet
    report = out / "report"
    summary = json.loads((report / "summary.json").read_text())
    assert summary["pnl_consistent"] is True
    for name, fake in venues.items():
        figures = summary["venues"][name]
        assert figures["funding"] == pytest.approx(float(_perps(run)[name][2]), abs=1e-9)
        assert figures["quote_balance"] == pytest.approx(float(_quote_for_the_engine(fake)), abs=1e-6)
    assert summary["total"]["funding"] == pytest.approx(float(BINANCE_PAYS + OTHER_EARNS), abs=1e-9)
    lines = (report / "funding.csv").read_text().splitlines()
    assert len(lines) == 3 and {line.split(",")[3] for line in lines[1:]} == set(venues)
    # the engine's cash: its last account line is each venue's quote, funding included
    cash = _last_cash_line(out)
    for v, fake in enumerate(venues.values()):
        assert abs(cash[v] - _quote_for_the_engine(fake)) <= Decimal("0.005")


async def test_sigkill_after_the_funding_time_then_a_restart_books_nothing_twice_and_sends_nothing_twice(
    first_runs: dict[str, _Run],
) -> None:
    run = first_runs["killed"]
    # killed once an account line printed after both payments (the cash the restart must continue)
    await run.past_funding
    run.process.kill()
    await run.process.wait()
    assert run.process.returncode == -signal.SIGKILL
    _funding_booked_once(run)
    venues = run.venues
    orders = {name: len(account(fake).orders) for name, fake in venues.items()}
    wallets = {name: _wallet(fake) for name, fake in venues.items()}
    second = run.root / "second"
    async with arb_live(run.config, second, run.keys) as process:
        await _started(venues["binance"], venues[run.other], process, second)
        # reconciled, then trading on the same standing spread at a full band: a while of books and
        # marks (a second of account lines) without an order
        await until(lambda: _said(second).count("] cash ") >= 2, process, second, 30)
        process.send_signal(signal.SIGINT)
        rc = await exited(process)
    said = _said(second)
    assert rc == 130, said[-3000:]
    assert "Traceback" not in said
    assert "binance linear: reconciled" in said and f"{run.other} linear: reconciled" in said
    assert "MISMATCH" not in said
    assert "funding binance" not in said and f"funding {run.other}" not in said  # nothing settled again
    assert {name: len(account(fake).orders) for name, fake in venues.items()} == orders  # nothing sent
    assert {name: _wallet(fake) for name, fake in venues.items()} == wallets
    _funding_booked_once(run)  # the venues booked it once, and so did the journal
    # the restarted engine's quote per venue is the venue's, the funding in it, as the first run left it
    cash = _last_cash_line(second)
    for v, fake in enumerate(venues.values()):
        assert abs(cash[v] - _quote_for_the_engine(fake)) <= Decimal("0.005")
    assert _last_cash_line(second) == _last_cash_line(run.out)
