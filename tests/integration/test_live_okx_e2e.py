"""``arb live`` end to end on OKX spot: a real ``arb`` process trades Binance spot against OKX spot (fake
private venues, ccxt unpatched, real feeds: OKX's ``books`` chained by ``seqId``), ``[strategy] venues =
["binance", "okx"]``, and the journal, the report and both ledgers agree to the cent, as on Binance and
Bybit (``test_live_e2e.py``). Each test turns on what OKX does that the other venues do not:

- a refusal is a per-order ``sCode`` inside an HTTP 200 (``51008``: the lone leg the kill switch closes);
- a ``clOrdId`` is unique among *open* orders only: OKX takes one again once its order has closed, so an
  order whose answer was lost before a SIGKILL, sent again by the restart, would be a second order (the
  restart must find it by query, never send it);
- the private WebSocket's ``order`` names the instrument by its integer ``instIdCode`` (``instId`` is
  refused there: 50014), with the REST lane unused.

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
from tests.integration.test_ws_order_entry import socket_answers
from tests.support.live_rig import (
    MarketHold,
    account,
    arb_id,
    assert_journal_matches_ledgers,
    assert_journal_settled,
    create_requests,
    ended,
    exited,
    interrupted,
    journal_of,
    live_resumed,
    live_trading,
    standing_pair,
    until,
)
from tests.support.processes import has_exited, run_arb

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


def _net(venue: Any) -> Decimal:
    """Base arb's account gained on ``venue`` by trading: buys less sells less fees paid in base."""
    trades = account(venue).trades
    moved = sum((t.qty * t.side.sign for t in trades), Decimal(0))
    return moved - sum((t.fee for t in trades if t.fee_asset == "BTC"), Decimal(0))


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
    assert abs(_net(binance) + _net(okx)) <= Decimal("0.0000101")  # flat but for one pair's fee
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
        with journal_of(tmp_path) as journal:  # written before it was sent, its fate unknown
            (unknown,) = journal.intents(venue="okx")
        process.kill()
        await process.wait()
        assert process.returncode == -signal.SIGKILL
        okx.faults.release_orders()  # to a connection that is gone
        okx.faults.resume_user_stream()
        second = tmp_path / "second"
        async with live_resumed(config, second, keys, hold, symbols=["BTCUSDT"]) as process:

            def band_full() -> bool:
                return _net(binance) >= Decimal("0.0299") and -_net(okx) >= Decimal("0.0299")

            await until(band_full, process, second, 60, binance, okx)
            stderr = await interrupted(process, second)
    assert "okx spot: reconciled" in stderr and "MISMATCH" not in stderr
    venues = {"binance": binance, "okx": okx}
    assert_journal_settled(tmp_path, venues)  # every fill once; no clOrdId reached OKX twice
    with journal_of(tmp_path) as journal:
        found = journal.intent(unknown["client_id"])
        assert found is not None and Decimal(found["executed_qty"]) == Decimal("0.01")
    sent = [o for o in account(okx).orders if arb_id(okx, o.client_id) == unknown["client_id"]]
    assert len(sent) == 1 and sent[0].executed_qty == Decimal("0.01")  # found by query, not sent again
    assert abs(_net(binance) + _net(okx)) <= Decimal("0.0001")


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
        assert _net(binance) > 0 and not account(okx).trades and not account(okx).orders
        rc, said, _ = await run_arb("kill", "--config", str(config), env=keys, cwd=tmp_path, merged=True)
        assert has_exited(process.pid), said
        assert rc == 0, said
        stderr = ended(out, await exited(process), 0)
    assert "NAKED LEG after 3 hedge attempts: binance long 0.00999" in stderr
    assert "binance: sell 0.00999" in stderr and "IOC: filled 0.00999" in stderr  # the kill flattened it
    assert not binance.ledger.open_orders(account(binance)) and abs(_net(binance)) < BINANCE_LOT
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
