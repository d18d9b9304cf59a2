"""``arb live`` end to end on OKX spot: a real ``arb`` process trades Binance spot against OKX spot (fake
private venues, ccxt unpatched, real feeds: OKX's ``books`` chained by ``seqId``), ``[strategy] venues =
["binance", "okx"]``, and the journal, the report and both ledgers agree to the cent, as on Binance and
Bybit (``test_live_e2e.py``). Each test turns on what OKX does that the other venues do not:

- a refusal is a per-order ``sCode`` inside an HTTP 200 (``51008``: the lone leg the kill switch closes);
- a ``clOrdId`` is unique among *open* orders only: OKX takes one again once its order has closed, so an
  order whose answer was lost before a SIGKILL, sent again by the restart, would be a second order (the
  restart must find it by query, never send it);
- the private WebSocket's ``order`` names the instrument by its integer ``instIdCode`` (``instId`` is
  refused there: 50014), with the REST lane unused;
- a post-only order that would take is accepted, then cancelled (``cancelSource`` 31), not refused: the
  ``maker_taker`` style quoting on OKX meets it, and still fills as a maker and hedges on Binance.

The market (``write_standing_spread``): Binance around 60,000; from 2 s on, OKX's bid stands 50 bps above
Binance's ask: arb buys Binance and sells OKX, 0.01 BTC a pair, up to its band (0.03)."""

from __future__ import annotations

import csv
import json
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from arb.config import load_config
from arb.journal.intent_log import IntentLog
from arb.sim.faults import FaultKind
from arb.sim.ledger import Side
from arb.testing.scenarios import FEED_LATENCY_NS, Book, Change, write_venues
from tests.integration.test_ws_order_entry import socket_answers
from tests.support.live_rig import (
    MarketHold,
    account,
    arb_id,
    arb_live,
    assert_journal_matches_ledgers,
    assert_journal_settled,
    book_stream,
    both_keys,
    create_requests,
    ended,
    exited,
    interrupted,
    journal_of,
    live_trading,
    live_up,
    net_base,
    resumed_to_the_band,
    spot_pair,
    standing_pair,
    until,
    write_pair_config,
)
from tests.support.processes import has_exited, run_arb
from tests.support.report_checks import check_live_reports
from tests.support.scenario_days import STANDING_DAY, STANDING_START_NS

OKX = ("binance", "okx")
CENT = Decimal("0.01")
BINANCE_LOT = Decimal("0.00001")


class _Live(NamedTuple):
    binance: Any
    okx: Any
    config: Path
    keys: dict[str, str]
    process: Any
    out: Path


@asynccontextmanager
async def _live(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    condition: Callable[[_Live], bool],
    *,
    folder: str = "run",
    arbitrage: dict[str, Any] | None = None,
    faults: Callable[[Any], object] | None = None,
    order_entry: str = "rest",
) -> AsyncIterator[_Live]:
    """``arb live`` on Binance and OKX's standing spread (``arbitrage`` merged into its settings,
    ``order_entry`` both venue files'), writing to ``tmp_path``/``folder``, once ``condition`` holds;
    ``faults(okx)`` scripts OKX's faults before it starts."""
    async with standing_pair(tmp_path, monkeypatch, arbitrage, order_entry=order_entry, venues=OKX) as pair:
        binance, okx, config, keys = pair
        if faults is not None:
            faults(okx)
        out = tmp_path / folder
        async with live_trading(config, out, keys, binance, okx, symbols=["BTCUSDT"]) as process:
            live = _Live(binance, okx, config, keys, process, out)
            await until(lambda: condition(live), process, out, 60, binance, okx)
            yield live


def _okx_intents(config_dir: Path) -> list[dict[str, Any]]:
    """OKX's intents where a killed ``arb live`` left them: the journal, or the intent log alone when it
    was killed before the journal's next flush (the restart replays the log)."""
    with journal_of(config_dir) as journal:
        journaled = journal.intents(venue="okx")
    (path,) = (config_dir / "live").glob("*.intents")
    logged = [r for r in IntentLog(path).records() if r["venue"] == "okx"]
    return journaled or logged


def _assert_report_matches_ledgers(report: Path, venues: dict[str, Any]) -> None:
    with (report / "trades.csv").open() as f:
        rows = list(csv.DictReader(f))
    sign = {"buy": 1, "sell": -1}
    for name, venue in venues.items():
        trades = account(venue).trades
        mine = [r for r in rows if r["venue"] == name]
        base = sum(Decimal(r["qty"]) * sign[r["side"]] for r in mine)
        quote = sum(-Decimal(r["qty"]) * Decimal(r["price"]) * sign[r["side"]] for r in mine)
        fees = sum(Decimal(r["fee"]) for r in mine)
        assert abs(base - sum(t.qty * t.side.sign for t in trades)) < Decimal("1e-9"), name
        assert abs(quote - sum(-t.qty * t.price * t.side.sign for t in trades)) < CENT / 2, name
        assert abs(fees - sum(t.fee * (t.price if t.fee_asset == "BTC" else 1) for t in trades)) < CENT / 2, name


async def test_arb_live_trades_binance_against_okx_and_journal_report_and_venues_agree_to_the_cent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def three_each(live: _Live) -> bool:
        sells = [t for t in account(live.okx).trades if t.side.value == "sell"]
        return len(account(live.binance).trades) >= 3 and len(sells) >= 3

    async with _live(tmp_path, monkeypatch, three_each) as (binance, okx, _, _, process, out):
        stderr = await interrupted(process, out)
    venues = {"binance": binance, "okx": okx}
    # three pairs: a buy of 0.01 on Binance (its fee taken in BTC) and a sell of 0.01 on OKX; what a
    # Binance fee leaves short OKX trades (no minimum value there, a minimum of 0.00001): bought back
    buys, sells = ([t for t in account(okx).trades if t.side.value == side] for side in ("buy", "sell"))
    assert [t.qty for t in account(binance).trades] == [Decimal("0.01")] * 3
    assert [t.qty for t in sells] == [Decimal("0.01")] * 3 and len(buys) <= 3
    assert all(Decimal("0.00001") <= t.qty <= Decimal("0.0000101") for t in buys)
    assert abs(net_base(binance) + net_base(okx)) <= Decimal("0.0000101")  # flat but for one pair's fee
    for venue in venues.values():
        assert not venue.ledger.open_orders(account(venue))
    # OKX's orders went to POST /api/v5/trade/order, each clOrdId arb's own in OKX's letters and digits
    creates = create_requests(okx)
    assert creates and all(r.path == "/api/v5/trade/order" for r in creates)
    assert all(o.client_id.isalnum() and len(o.client_id) <= 32 for o in account(okx).orders)
    assert_journal_settled(tmp_path, venues)
    report = tmp_path / "run" / "report"
    _assert_report_matches_ledgers(report, venues)
    summary = json.loads((report / "summary.json").read_text())
    assert summary["pairs"]["pairs"] == 3 and summary["meta"]["mode"] == "live"
    assert summary["pairs"]["pairs_hedged"] == len(buys)
    assert summary["meta"]["order_latency_us"]["okx"]
    assert "fill okx" in stderr + (tmp_path / "run" / "stdout").read_text()
    # OKX's USDT moved by exactly what was traded: the sells' proceeds less the buys' cost and the fees in USDT
    usdt = account(okx).balance("USDT")
    proceeds = sum(-t.side.sign * t.qty * t.price for t in account(okx).trades)
    fees = sum(t.fee for t in account(okx).trades if t.fee_asset == "USDT")
    assert usdt.free + usdt.locked == Decimal("100000") + proceeds - fees


async def test_an_okx_order_answered_after_a_sigkill_is_found_by_query_and_its_client_id_never_sent_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first pair's OKX sell fills, its answer is held and the private stream is silent: arb cannot
    # know it filled, and is killed so. OKX would take the same clOrdId again (its order is closed): the
    # restart must find the order by its clOrdId, book its fill, and trade on to the band with new ids.
    def silent_sell(okx: Any) -> None:
        okx.faults.order_timeout(processed=True)
        okx.faults.silence_user_stream()

    def sold(live: _Live) -> bool:
        return len(account(live.okx).trades) >= 1

    async with _live(tmp_path, monkeypatch, sold, folder="first", faults=silent_sell) as live:
        binance, okx, config, keys, process, _ = live
        hold = MarketHold(binance, okx)  # until the restart is up
        process.kill()
        await process.wait()
        assert process.returncode == -signal.SIGKILL
        (unknown,) = _okx_intents(tmp_path)  # written before it was sent, its fate unknown
        okx.faults.release_orders()  # to a connection that is gone
        okx.faults.resume_user_stream()
        second = tmp_path / "second"
        stderr = await resumed_to_the_band(config, second, keys, hold, Decimal("0.0299"))
    assert "okx spot: reconciled" in stderr and "MISMATCH" not in stderr
    venues = {"binance": binance, "okx": okx}
    assert_journal_settled(tmp_path, venues)  # every fill once; no clOrdId reached OKX twice
    with journal_of(tmp_path) as journal:
        found = journal.intent(unknown["client_id"])
        assert found is not None and Decimal(found["executed_qty"]) == Decimal("0.01")
    sent = [o for o in account(okx).orders if arb_id(okx, o.client_id) == unknown["client_id"]]
    assert len(sent) == 1 and sent[0].executed_qty == Decimal("0.01")  # found by query, not sent again
    assert abs(net_base(binance) + net_base(okx)) <= Decimal("0.0001")


async def test_an_okx_refusal_inside_a_200_leaves_a_lone_leg_that_arb_kill_flattens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # OKX answers the pair's sell and the three hedges HTTP 200 with code 1 and each item's sCode 51008
    # (insufficient balance): refusals, read per item, never "placed". The Binance leg is alone; arb halts
    # and arb kill flattens it on Binance.
    def refuses(okx: Any) -> None:
        okx.faults.order_error(200, 51008, times=4)

    def halted(live: _Live) -> bool:
        return "HALTED" in (live.out / "stderr").read_text()

    retry = {"execution": {"hedge_retry_ms": 60_000}}  # past the hedge attempts: a minute's wait
    async with _live(tmp_path, monkeypatch, halted, arbitrage=retry, faults=refuses) as live:
        binance, okx, config, keys, process, out = live
        assert net_base(binance) > 0 and not account(okx).trades and not account(okx).orders
        rc, said, _ = await run_arb("kill", "--config", str(config), env=keys, cwd=tmp_path, merged=True, forked=True)
        assert has_exited(process.pid), said
        assert rc == 0, said
        stderr = ended(out, await exited(process), 0)
    assert "NAKED LEG after 3 hedge attempts: binance long 0.00999" in stderr
    assert "binance: sell 0.00999" in stderr and "IOC: filled 0.00999" in stderr  # the kill flattened it
    assert not binance.ledger.open_orders(account(binance)) and abs(net_base(binance)) < BINANCE_LOT
    with journal_of(tmp_path) as journal:
        refused = journal.intents(venue="okx")
        assert len(refused) == 4 and {i["reject_code"] for i in refused} == {"51008"}
        assert journal.get_state(f"{load_config(config).live.account}/halt") == "kill switch"
        assert_journal_matches_ledgers(journal, {"binance": binance, "okx": okx})


async def test_arb_live_sends_okx_orders_over_its_private_websocket_naming_the_instrument_by_inst_id_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # both venue files say order_entry = "websocket": every OKX create is the private WebSocket's "order",
    # its instrument named by instIdCode (the fake refuses instId there, 50014, as OKX does since 2026)
    def two_each(live: _Live) -> bool:
        return len(account(live.binance).trades) >= 2 and len(account(live.okx).trades) >= 2

    async with _live(tmp_path, monkeypatch, two_each, order_entry="websocket") as live:
        binance, okx, _, _, process, out = live
        stderr = await interrupted(process, out)
    assert "okx spot: orders go over the WebSocket ws://127.0.0.1:" in stderr
    assert create_requests(okx) == [] and create_requests(binance) == []
    answers = [a for a in okx.op_log if a.op == "order"]
    assert len(answers) == len(account(okx).orders) > 0 and {a.s_codes for a in answers} == {("0",)}
    assert len(socket_answers(binance)) == len(account(binance).orders)
    assert_journal_settled(tmp_path, {"binance": binance, "okx": okx})


MAKER = {
    "strategy": {"style": "maker_taker", "maker_venues": ["okx"], "min_spread_bps": 5.0, "max_order_size": 0.01,
                 "max_position_size": 0.05},
    "execution": {"slippage_tolerance_bps": 2.0},
    "risk": {"stale_after_ms": 600_000},  # a book the held market leaves still is not stale
}  # fmt: skip
"""Quotes on OKX priced from Binance's book: 5 bps, OKX's maker fee (8), Binance's taker fee (10) and 2 of
slippage: a buy quote at Binance's bid / 1.0025 (60100 -> 59950.1); a taker pair would need 27 bps."""
QUIET_FEEDS = {"stale_after_ms": 600_000, "reconnect_after_stale_ms": 1_200_000, "read_timeout_ms": 600_000}
"""The market is held while the test waits for arb (a minute or more on a busy machine): no feed may go stale
or be renewed meanwhile (a renewed Binance book waits for a diff the held market does not send)."""
MOVE_MS, CROSS_MS = 2_000, 2_050


def _maker_market(root: Path) -> dict[str, Path]:
    # Binance (the hedge venue) 59995 / 60400, then 60100 / 60110 at 2 s: arb re-prices its buy quote on OKX
    # up to 59950.1. OKX (the maker venue) 59990 / 60000; at 2.05 s its ask is 59945 (under the new quote:
    # 25.9 bps under Binance's bid, no taker pair), back at 3 s; at 5 s its ask falls to 59930 (through any
    # buy quote), back at 6 s.
    def okx(at: int, bid: float, ask: float, old: tuple[float, float]) -> Change:
        return Change(at, "okx", bids={old[0]: 0.0, bid: 1.0}, asks={old[1]: 0.0, ask: 1.0})

    changes = [
        Change(MOVE_MS, "binance", bids={59995.0: 0.0, 60100.0: 2.0}, asks={60400.0: 0.0, 60110.0: 2.0}),
        okx(CROSS_MS, 59935.0, 59945.0, (59990.0, 60000.0)),
        okx(3_000, 59990.0, 60000.0, (59935.0, 59945.0)),
        okx(5_000, 59920.0, 59930.0, (59990.0, 60000.0)),
        okx(6_000, 59990.0, 60000.0, (59920.0, 59930.0)),
    ]
    venues = [("binance", "spot", Book(bids={59995.0: 2.0}, asks={60400.0: 2.0})),
              ("okx", "spot", Book(bids={59990.0: 2.0}, asks={60000.0: 2.0}))]  # fmt: skip
    return write_venues(root / "recordings", STANDING_DAY, venues, changes, duration_ms=30_000, heartbeat_ms=100)


def _received_ns(t_ms: int) -> int:
    """The receive time of the scenario's frames at market time ``t_ms``."""
    return STANDING_START_NS + t_ms * 1_000_000 + FEED_LATENCY_NS


async def test_arb_live_quotes_on_okx_a_crossing_quote_is_accepted_then_cancelled_and_a_maker_fill_is_hedged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The market is held before Binance moves until both quotes rest on OKX, then before OKX's ask drops
    # until both re-priced quotes' creates are on their way (OKX takes them one frame late): the buy
    # quote meets the ask that moved under it. OKX accepts it and cancels it (31); arb journals the quote
    # expired with OKX's source, sends no quote on that book again, and later rests one that fills as a
    # maker when OKX's ask falls through it, hedged once on Binance at its bid.
    keys = both_keys(monkeypatch)
    files = _maker_market(tmp_path)
    async with spot_pair(files["binance"], files["okx"], venues=OKX) as (binance, okx):
        config = write_pair_config(tmp_path, binance, okx, arbitrage=MAKER, feed=QUIET_FEEDS)
        out = tmp_path / "run"
        async with arb_live(config, out, keys) as process:
            await live_up(binance, okx, process, out, streams=[book_stream(binance)], topics=[book_stream(okx)])
            binance.play(1.0)
            okx.play(1.0)
            MarketHold(binance, okx, at_ns=_received_ns(MOVE_MS) - 1)

            def quoted() -> bool:
                return {o.side for o in okx.ledger.open_orders(account(okx))} == {Side.BUY, Side.SELL}

            await until(quoted, process, out, 60, okx)
            okx.faults.order_hold(1, operation="create", times=2)  # each re-priced quote one frame late
            before_cross = MarketHold(binance, okx, at_ns=_received_ns(CROSS_MS) - 1)  # Binance moves
            await until(lambda: okx.faults.count(FaultKind.ORDER_HOLD) >= 2, process, out, 60, okx)
            await before_cross.resume()
            await until(lambda: len(account(binance).trades) >= 1, process, out, 60, binance, okx)
            stderr = await interrupted(process, out)
    venues = {"binance": binance, "okx": okx}
    (refusal,) = okx.ledger.post_only_refusals  # the buy quote: accepted, then cancelled
    assert (refusal.side, refusal.price, refusal.refused) == (Side.BUY, Decimal("59950.1"), False)
    cancelled = [o for o in account(okx).orders if o.client_id == refusal.client_id]
    assert len(cancelled) == 1 and cancelled[0].executed_qty == 0
    makers = [t for t in account(okx).trades if t.is_maker]
    assert makers and sum(t.qty for t in makers) == Decimal("0.01") and {t.side for t in makers} == {Side.BUY}
    (hedge,) = account(binance).trades  # hedged once, on Binance at its bid, what the fill left (fee in BTC)
    kept = sum(t.qty - (t.fee if t.fee_asset == "BTC" else 0) for t in makers)
    assert (hedge.side, hedge.price) == (Side.SELL, Decimal("60100")) and kept - hedge.qty < Decimal("0.00001")
    for venue in venues.values():  # the stop cancelled every quote
        assert not venue.ledger.open_orders(account(venue))
    assert all(o.time_in_force.value == "post_only" for o in account(okx).orders)
    assert_journal_settled(tmp_path, venues)
    with journal_of(tmp_path) as journal:
        row = journal.intent(arb_id(okx, refusal.client_id))
        assert row is not None and (row["state"], row["reject_code"]) == ("expired", "31")
        quotes = [i for i in journal.intents() if i["time_in_force"] == "postonly"]
        later = [i for i in quotes if i["side"] == row["side"] and int(i["intent_ns"]) > int(row["intent_ns"])]
    assert len(quotes) == len(account(okx).orders) and {i["venue"] for i in quotes} == {"okx"}
    assert later  # quoted again, once the book had changed
    summary = json.loads((out / "report" / "summary.json").read_text())
    counters = summary["meta"]["executor"]["venues"]["okx-spot"]
    assert counters["post_only_rejects"] == 1 and counters["quote_fills"] == len(makers), stderr[-3000:]
    assert summary["pairs"]["pairs"] == 1
    check_live_reports(config, out, tmp_path / "reports", capsys)
