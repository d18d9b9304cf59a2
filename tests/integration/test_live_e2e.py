"""``arb live`` end to end: a real ``arb`` process trades against fake Binance and Bybit (public and
private, ccxt unpatched, real feeds), and the journal, the report and the venues' own ledgers agree to
the cent. Then SIGKILL in the middle of trading and a restart: reconciled, nothing lost, no order sent
twice."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import datetime as dt
import json
import signal
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from arb.config import load_config
from arb.testing.fake_alerts import FakeTelegram
from tests.support.live_rig import (
    MarketHold,
    account,
    assert_journal_matches_ledgers,
    assert_journal_settled,
    ended,
    exited,
    interrupted,
    journal_of,
    live_trading,
    net_base,
    resumed_to_the_band,
    standing_pair,
    until,
)
from tests.support.processes import has_exited, run_arb
from tests.support.report_checks import check_live_reports

DAY = dt.date(2024, 5, 6)
START_NS = int(dt.datetime.combine(DAY, dt.time(0, 0, 1), tzinfo=dt.UTC).timestamp() * 1e9)
CENT = Decimal("0.01")
BINANCE_LOT = Decimal("0.00001")
HEDGE_RETRY_A_MINUTE = {"execution": {"hedge_retry_ms": 60_000}}  # past the hedge attempts: a minute's wait


def _trading(config: Path, out: Path, keys: dict[str, str], binance: Any, bybit: Any) -> Any:
    """``arb live`` on BTCUSDT, subscribed, then both recordings played in real time."""
    return live_trading(config, out, keys, binance, bybit, symbols=["BTCUSDT"])


class _Live(NamedTuple):
    """``arb live`` on ``standing_pair``: the venues, the configuration, the keys, the process and its folder."""

    binance: Any
    bybit: Any
    config: Path
    keys: dict[str, str]
    process: Any
    out: Path


@contextlib.asynccontextmanager
async def _live(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    folder: str,
    condition: Callable[[_Live], bool],
    *,
    arbitrage: dict[str, Any] | None = None,
    faults: Callable[[Any, Any], object] | None = None,
) -> AsyncIterator[_Live]:
    """``arb live`` (``_trading``) on ``standing_pair`` (``arbitrage`` merged into its settings), writing
    to ``tmp_path``/``folder``, once ``condition`` holds (``until``, 60 s); ``faults(binance, bybit)``
    scripts the venues' faults before it starts."""
    async with standing_pair(tmp_path, monkeypatch, arbitrage) as (binance, bybit, config, keys):
        out = tmp_path / folder
        if faults is not None:
            faults(binance, bybit)
        async with _trading(config, out, keys, binance, bybit) as process:
            live = _Live(binance, bybit, config, keys, process, out)
            await until(lambda: condition(live), process, out, 60, binance, bybit)
            yield live


def _halted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> contextlib.AbstractAsyncContextManager[_Live]:
    """``_live`` once arb has halted new pairs on a lone Binance leg (``_lone_binance_leg``), each hedge
    past the attempts a minute away: the exposure is the kill switch's to close."""
    return _live(
        tmp_path, monkeypatch, "live", lambda live: "HALTED" in (live.out / "stderr").read_text(),
        arbitrage=HEDGE_RETRY_A_MINUTE, faults=lambda _, bybit: _lone_binance_leg(bybit),
    )  # fmt: skip


def _flat(binance: Any, bybit: Any) -> None:
    """No order of arb's open on either venue, and the net position flat to less than a Binance lot."""
    for fake in (binance, bybit):
        assert not fake.ledger.open_orders(account(fake))
    assert abs(net_base(binance) + net_base(bybit)) < BINANCE_LOT


def _lone_binance_leg(bybit: Any) -> None:
    """Bybit refuses the pair's sell and the three hedges for lack of balance: the Binance leg is alone."""
    bybit.faults.order_error(200, 170131, "Insufficient balance.", times=4)


def _trades(venues: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each venue's trades for arb's account, by the trade id the venue sends."""
    return {name: {venue.exec_id(t): t for t in account(venue).trades} for name, venue in venues.items()}


def _assert_report_matches_ledgers(report: Path, venues: dict[str, Any]) -> None:
    with (report / "trades.csv").open() as f:
        rows = list(csv.DictReader(f))
    for venue, trades in _trades(venues).items():
        mine = [r for r in rows if r["venue"] == venue]
        sign = {"buy": 1, "sell": -1}
        base = sum(Decimal(r["qty"]) * sign[r["side"]] for r in mine)
        quote = sum(Decimal(r["qty"]) * Decimal(r["price"]) * -sign[r["side"]] for r in mine)
        fees = sum(Decimal(r["fee"]) for r in mine)
        ledger_base = sum(t.qty * (1 if t.side.value == "buy" else -1) for t in trades.values())
        ledger_quote = sum(t.qty * t.price * (-1 if t.side.value == "buy" else 1) for t in trades.values())
        ledger_fees = sum(t.fee * (t.price if t.fee_asset == "BTC" else 1) for t in trades.values())
        assert abs(base - ledger_base) < Decimal("1e-9"), venue
        assert abs(quote - ledger_quote) < CENT / 2, venue
        assert abs(fees - ledger_fees) < CENT / 2, venue


async def test_arb_live_trades_pairs_and_journal_report_and_venues_agree_to_the_cent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def three_each(live: _Live) -> bool:
        return len(account(live.binance).trades) >= 3 and len(account(live.bybit).trades) >= 3

    async with _live(tmp_path, monkeypatch, "run", three_each) as (binance, bybit, config, _, process, out):
        stderr = await interrupted(process, out)
        stdout = (out / "stdout").read_text()
        venues = {"binance": binance, "bybit": bybit}
        # three pairs: a buy on Binance and a sell on Bybit of 0.01 each, nothing left open
        for venue, side in ((binance, "buy"), (bybit, "sell")):
            trades = account(venue).trades
            assert {t.side.value for t in trades} == {side}
            assert sum(t.qty for t in trades) == Decimal("0.03")
            assert not venue.ledger.open_orders(account(venue))
        assert_journal_settled(tmp_path, venues)
        report = out / "report"
        _assert_report_matches_ledgers(report, venues)
        summary = json.loads((report / "summary.json").read_text())
        assert summary["pairs"]["pairs"] == 3 and summary["meta"]["mode"] == "live"
        assert summary["meta"]["order_latency_us"]["binance"] and summary["meta"]["order_latency_us"]["bybit"]
        assert "fill binance buy" in stdout + stderr and "fill bybit   sell" in stdout + stderr
        # the venues' balances moved by exactly what the journal booked
        for venue, quote_moved in ((binance, -1), (bybit, 1)):
            usdt = account(venue).balance("USDT")
            spent = sum(t.qty * t.price for t in account(venue).trades)
            fees = sum(t.fee for t in account(venue).trades if t.fee_asset == "USDT")
            assert usdt.free + usdt.locked == Decimal("100000") + quote_moved * spent - fees
        # every report of the journal says the session's figures
        check_live_reports(config, out, tmp_path / "reports", capsys)


async def test_sigkill_in_the_middle_of_trading_then_a_restart_loses_nothing_and_sends_nothing_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def first_fill(live: _Live) -> bool:  # of the first pair: its other leg is on its way, answered or not yet sent
        return len(account(live.binance).trades) + len(account(live.bybit).trades) >= 1

    async with _live(tmp_path, monkeypatch, "first", first_fill) as (binance, bybit, config, keys, process, _):
        hold = MarketHold(binance, bybit)  # until the restart is up: a busy machine's restart meets the market
        process.kill()
        await process.wait()
        assert process.returncode == -signal.SIGKILL
        before = {name: len(account(fake).orders) for name, fake in (("binance", binance), ("bybit", bybit))}
        second = tmp_path / "second"
        # the restart reconciles what the dead process left (fills made while it was down, intents whose
        # fate it never learned), then trades on to the band
        stderr = await resumed_to_the_band(config, second, keys, hold, Decimal("0.0299"))
        assert "reconciled" in stderr and "MISMATCH" not in stderr
        venues = {"binance": binance, "bybit": bybit}
        assert all(len(account(fake).orders) >= before[name] for name, fake in venues.items())
        assert_journal_settled(tmp_path, venues)
        # the net position is flat: whatever the kill left naked was hedged after the restart
        assert abs(net_base(binance) + net_base(bybit)) <= Decimal("0.0001")
        for fake in venues.values():
            assert not fake.ledger.open_orders(account(fake))


async def test_arb_kill_reaches_a_running_arb_live_with_a_naked_leg_and_leaves_both_venues_flat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with _halted(tmp_path, monkeypatch) as (binance, bybit, config, keys, process, out):
        assert net_base(binance) > 0 and net_base(bybit) == 0
        rc, said, _ = await run_arb("kill", "--config", str(config), env=keys, cwd=tmp_path, merged=True, forked=True)
        assert has_exited(process.pid), said  # arb kill returned once arb live had ended, not before
        assert rc == 0, said
        assert "kill switch sent to arb live" in said
        stderr = ended(out, await exited(process), 0)
        assert f"arb live (pid {process.pid}) exited; its kill switch reported:" in said
        assert said.count("IOC: filled 0.00999") == 1  # its flatten, said by arb kill; nothing left for its own
        assert "NAKED LEG after 3 hedge attempts: binance long 0.00999" in stderr
        assert "binance: sell 0.00999" in stderr and "IOC: filled 0.00999" in stderr  # the kill flattened it
        assert "fill bybit" not in stderr and stderr.count("fill binance buy") == 1  # no new pair after
        venues = {"binance": binance, "bybit": bybit}
        _flat(binance, bybit)  # flattened on Binance, which held the coins
        with journal_of(tmp_path) as journal:
            name = load_config(config).live.account
            assert journal.get_state(f"{name}/halt") == "kill switch"  # until a person clears it
            assert_journal_matches_ledgers(journal, venues)
        # without arb live: a second kill finds nothing to cancel or flatten, and says so
        trades = {name: len(account(fake).trades) for name, fake in venues.items()}
        rc, said, _ = await run_arb("kill", "--config", str(config), env=keys, cwd=tmp_path, merged=True, forked=True)
        assert rc == 0, said
        assert trades == {name: len(account(fake).trades) for name, fake in venues.items()}
        # a restart is still halted (the opportunity is still there): it trades nothing until cleared
        again = ("--duration", "2s", "--out", str(tmp_path / "again"))
        rc, said, _ = await run_arb(
            "live", "--config", str(config), *again, env=keys, cwd=tmp_path, merged=True, forked=True
        )
        assert rc == 0, said
        assert "HALTED (kill switch)" in said
        assert trades == {name: len(account(fake).trades) for name, fake in venues.items()}


async def test_a_telegram_kill_confirm_reaches_a_running_arb_live_with_a_naked_leg_and_flattens_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same lone leg as above, pulled from a phone: [alerts.telegram] commands on, the bot a local fake.
    with FakeTelegram() as telegram:
        bot = {"token": "${ARB_TELEGRAM_TOKEN}", "chat_id": "4242", "base_url": telegram.base_url, "commands": True,
               "min_interval_ms": 0}  # fmt: skip
        arbitrage = {**HEDGE_RETRY_A_MINUTE, "alerts": {"daily_summary": False, "telegram": bot}}
        async with standing_pair(tmp_path, monkeypatch, arbitrage) as (binance, bybit, config, keys):
            keys["ARB_TELEGRAM_TOKEN"] = telegram.token
            out = tmp_path / "live"
            _lone_binance_leg(bybit)

            def said(what: str) -> bool:
                return any(what in m["text"] for m in telegram.messages.items())

            async with _trading(config, out, keys, binance, bybit) as process:
                await until(lambda: said("[CRITICAL] naked leg"), process, out, 60, telegram.messages)
                assert net_base(binance) > 0 and net_base(bybit) == 0
                telegram.say("/kill")
                await until(lambda: said("reply /kill confirm within 60 s"), process, out, 30, telegram.messages)
                assert process.returncode is None  # asked, not pulled
                telegram.say("/kill confirm")
                live_rc = await exited(process)
        stderr = ended(out, live_rc, 0)
        assert "the kill switch was pulled from telegram (chat 4242)" in stderr
        assert "binance: sell 0.00999" in stderr and "IOC: filled 0.00999" in stderr  # the kill flattened it
        assert said("[INFO] kill switch\npulled: arb live halts new pairs")
        assert telegram.token not in stderr + (out / "stdout").read_text()
    _flat(binance, bybit)
    with journal_of(tmp_path) as journal:
        assert journal.get_state(f"{load_config(config).live.account}/halt") == "kill switch"


async def test_a_rate_limit_on_one_venue_during_a_lone_leg_is_closed_on_the_other_without_a_halt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Binance answers the pair's buy 503 -1008 (throttled: not placed, and arb holds orders back from
    # Binance for a while): the Bybit sell fills alone. The kernel must not spend its hedge attempts on
    # Binance, which arb itself refuses unsent: it buys the leg back on Bybit, and nothing halts.
    def unwound(live: _Live) -> bool:  # the leg, then its unwind
        return len(account(live.bybit).trades) >= 2

    def throttled(binance: Any, _: Any) -> None:  # the pair's buy: 503 -1008
        binance.faults.order_error(503, -1008)

    async with _live(tmp_path, monkeypatch, "live", unwound, faults=throttled) as (binance, bybit, _, _, process, out):
        stderr = await interrupted(process, out)
        assert "HALTED" not in stderr and "NAKED LEG" not in stderr
        sell, buy = account(bybit).trades[:2]
        assert (sell.side.value, buy.side.value) == ("sell", "buy") and sell.qty == buy.qty
        assert abs(net_base(bybit)) < Decimal("0.000048")  # flat on Bybit but for the buy's fee in BTC: dust
        assert not account(binance).orders  # the throttled buy was never placed, and nothing else went there
        with journal_of(tmp_path) as journal:
            (refused,) = journal.intents(venue="binance")  # no hedge was refused locally on Binance either
            assert refused["reject_code"] == "-1008"
            assert_journal_matches_ledgers(journal, {"binance": binance, "bybit": bybit})


@pytest.mark.wall_clock  # the ban lasts its Retry-After on the wall clock
async def test_a_binance_ban_is_told_on_telegram_at_once_with_its_end_and_again_when_it_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Binance answers the pair's buy 418 with Retry-After 3 s: arb holds every request to Binance for 3 s.
    # A person is told at once, critically, once, which venue and until when; then that it is over.
    ban_s = 3
    with FakeTelegram() as telegram:
        bot = {"token": "${ARB_TELEGRAM_TOKEN}", "chat_id": "4242", "base_url": telegram.base_url, "min_interval_ms": 0}
        arbitrage = {"alerts": {"daily_summary": False, "telegram": bot}}
        async with standing_pair(tmp_path, monkeypatch, arbitrage) as (binance, bybit, config, keys):
            keys["ARB_TELEGRAM_TOKEN"] = telegram.token
            out = tmp_path / "live"
            binance.faults.order_error(418, retry_after=ban_s)  # the pair's buy: -1003 in Binance's words

            def said(what: str) -> bool:
                return any(what in m["text"] for m in telegram.messages.items())

            started = time.time()
            async with _trading(config, out, keys, binance, bybit) as process:
                await until(lambda: said("BANNED until"), process, out, 60, telegram.messages)
                seen = time.time()
                await until(lambda: said("[RESOLVED] binance ban over"), process, out, 60, telegram.messages)
                await interrupted(process, out)
        texts = [m["text"] for m in telegram.messages.items()]
    bans = [t for t in texts if "binance BANNED" in t or "binance ban over" in t]
    assert [t.split("\n")[0].split(" until ")[0] for t in bans] == [
        "[CRITICAL] binance BANNED", "[RESOLVED] binance ban over"]  # fmt: skip
    title, text = bans[0].split("\n")[:2]
    ends = dt.datetime.strptime(title.split(" until ")[1], "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=dt.UTC).timestamp()
    assert int(started) + ban_s <= ends <= seen + ban_s  # the ban's end as the venue's Retry-After set it
    assert text.startswith("binance spot: BANNED (-1003 Way too many requests; IP banned until ")  # Binance's words
    assert "Nothing at all goes to binance until" in text


async def test_arb_live_exits_1_when_its_kill_switch_leaves_exposure_and_so_does_arb_kill(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with _halted(tmp_path, monkeypatch) as (binance, bybit, config, keys, process, out):
        # from now on both venues refuse every order: nothing can close the leg
        binance.faults.order_error(400, -2010, "Account has insufficient balance for requested action.", times=50)
        bybit.faults.order_error(200, 170131, "Insufficient balance.", times=50)
        rc, said, _ = await run_arb("kill", "--config", str(config), env=keys, cwd=tmp_path, merged=True, forked=True)
        assert has_exited(process.pid), said  # arb kill returned once arb live had ended, not before
        async with asyncio.timeout(60):
            live_rc = await process.wait()
        stderr = ended(out, live_rc, 1)  # arb live's own kill left exposure: not a success
        assert "Traceback" not in said
        assert "EXPOSURE LEFT: binance spot long 0.00999" in stderr
        assert rc == 1 and "EXPOSURE LEFT: binance spot long 0.00999" in said  # and arb kill's after it
        stopped, own = said.split("kill switch: halt recorded in the journal")  # arb live's report, then its own
        assert f"arb live (pid {process.pid}) exited; its kill switch reported:" in stopped
        assert "EXPOSURE LEFT: binance spot long 0.00999" in stopped and "EXPOSURE LEFT: binance spot long" in own
        assert net_base(binance) > 0 and net_base(bybit) == 0
        assert journal_intent_venues(tmp_path) == {"binance", "bybit"}  # the kills tried both venues, in turn


def journal_intent_venues(config_dir: Path) -> set[str]:
    """The venues the flattening orders (kind 8) of the journal went to."""
    with journal_of(config_dir) as journal:
        return {i["venue"] for i in journal.intents() if int(i["kind"]) == 8}
