"""A real ``arb live`` (its own process, against fake Binance and Bybit on 127.0.0.1) run as a supervisor
runs it: SIGTERM in the middle of trading ends it cleanly within the systemd unit's stop timeout, with
nothing in flight and nothing open, ready on ``/readyz`` while it traded; with JSON logs, every line
on stderr is one JSON object, the events carry their ids, and no configured secret appears anywhere,
not even one the process was made to log.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import re
import signal
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from arb.cli import main
from arb.errors import EXIT_NEEDS_OPERATOR, EXIT_NOT_RUNNING
from arb.sim.ledger import OrderType, Side, TimeInForce
from arb.testing.fake_alerts import FakeSmtp, FakeTelegram, FakeWebhook
from arb.waiting import Conditions, cancel_and_wait
from tests.support.captures import ROOT
from tests.support.live_rig import (
    BYBIT_SPOT,
    KEY,
    SECRET,
    account,
    arb_process,
    assert_journal_matches_ledgers,
    best,
    both_keys,
    journal_of,
    live_up,
    spot_pair,
    standing_recordings,
    until,
    write_pair_config,
)
from tests.support.processes import run_arb

DAY = dt.date(2024, 5, 6)
UNIT = ROOT / "deploy" / "systemd" / "arb-live.service"


def _unit_stop_timeout_s() -> float:
    match = re.search(r"^TimeoutStopSec=(\d+)s?$", UNIT.read_text(), re.MULTILINE)
    assert match is not None
    return float(match.group(1))


def _ready(url: str) -> bool:
    return _ok(url + "/readyz")


def _alive(url: str) -> bool:
    """The trading loop has published a snapshot (``/healthz`` answers 200 once it has)."""
    return _ok(url + "/healthz")


def _ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class _Published:
    """What a running arb's ops server says its loop published: each line of its dashboard's event stream
    (a snapshot, an event, the history it starts with) is a change (:meth:`wait_until`)."""

    def __init__(self) -> None:
        self.lines = 0
        self._changes = Conditions()

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        await self._changes.wait_until(predicate)

    async def read(self, url: str) -> None:
        async with aiohttp.ClientSession() as session, session.get(url + "/events") as response:
            async for _ in response.content:
                self.lines += 1
                self._changes.notify()


@contextlib.asynccontextmanager
async def _published(url: str) -> AsyncIterator[_Published]:
    """The ops server at ``url`` read for its news (:class:`_Published`) while the block lasts."""
    published = _Published()
    reader = asyncio.create_task(published.read(url), name="ops news")
    try:
        yield published
    finally:
        await cancel_and_wait(reader)


def _health_url(stderr: str) -> str:
    match = re.search(r"health: (http://127\.0\.0\.1:\d+)/healthz", stderr)
    assert match is not None, stderr[-3000:]
    return match.group(1)


async def test_sigterm_stops_a_trading_arb_live_within_the_units_stop_timeout_with_nothing_in_flight(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stop_timeout_s = _unit_stop_timeout_s()
    binance_file, bybit_file = standing_recordings(tmp_path)
    keys = both_keys(monkeypatch)
    async with spot_pair(binance_file, bybit_file) as (binance, bybit):
        # a pair every 3 s: the SIGTERM lands in the middle of the first
        arbitrage = {"ops": {"enabled": True, "port": 0}, "strategy": {"cooldown_ms": 3000}}
        config = write_pair_config(tmp_path, binance, bybit, arbitrage=arbitrage)
        out = tmp_path / "run"
        # -v: the terminal's text with every library's debug lines (ccxt's show each request's headers)
        async with arb_process(out, keys, "-v", "live", "--config", str(config), "--out", str(out / "report")) as (
            process
        ):
            await live_up(binance, bybit, process, out, streams=["btcusdt@depth@100ms"],
                          topics=["orderbook.50.BTCUSDT"])  # fmt: skip
            url = _health_url((out / "stderr").read_text())
            async with _published(url) as published:
                # the loop's first snapshot (STARTING before)
                await until(lambda: _alive(url), process, out, 30, published)
                rc, said, _ = await run_arb(
                    "status", "--url", url, env=keys, merged=True
                )  # no market data yet: books being built
                assert rc == 1 and said.startswith(f"arb live BTCUSDT at {url}: NOT READY"), said
                binance.play(1.0)
                bybit.play(1.0)
                # books synced, the journal open, no halt
                await until(lambda: _ready(url), process, out, 30, published)
            rc, said, _ = await run_arb("status", "--url", url, env=keys, merged=True)
            assert rc == 0 and said.startswith(f"arb live BTCUSDT at {url}: READY"), said
            assert "journal ok" in said
            # the first fill of the first pair: its other leg is on its way, answered or not yet sent
            await until(lambda: len(account(binance).trades) + len(account(bybit).trades) >= 1, process, out, 60,
                        binance, bybit)  # fmt: skip
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(stop_timeout_s):
                    rc = await process.wait()
            except TimeoutError:
                pytest.fail(f"arb live did not stop within the unit's TimeoutStopSec ({stop_timeout_s:g} s)")
            took = time.monotonic() - started
        stderr = (out / "stderr").read_text()
        assert rc == 0, stderr[-3000:]  # SIGTERM: the supervisor's clean stop, not a failure
        assert "Traceback" not in stderr and "still" not in stderr  # no order left in flight
        assert "X-BAPI-API-KEY': '***'" in stderr  # the request headers ccxt logs at -v, the key replaced
        assert KEY not in stderr and SECRET not in stderr
        venues = {"binance": binance, "bybit": bybit}
        for fake in venues.values():
            assert not fake.ledger.open_orders(account(fake))
        with journal_of(tmp_path) as journal:
            assert not journal.intents(in_flight=True)
            assert_journal_matches_ledgers(journal, venues)
        assert (out / "report" / "summary.json").exists()
        assert not (tmp_path / "live" / "live.pid").exists()
    rc, said, _ = await run_arb("status", "--url", url, "--timeout", "2s", env=keys, merged=True)
    assert rc == EXIT_NOT_RUNNING and "NOT RUNNING" in said, said
    print(f"arb live stopped {took:.1f} s after SIGTERM (the unit allows {stop_timeout_s:g} s)")


def _lines(text: str) -> list[dict[str, Any]]:
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        data = json.loads(line)  # every line, or the test fails naming it
        assert isinstance(data, dict), (n, line)
        assert {"time", "ts_ns", "level", "logger", "message"} <= data.keys(), (n, line)
        out.append(data)
    return out


async def test_json_logs_of_a_real_arb_live_parse_carry_ids_and_never_a_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    binance_file, bybit_file = standing_recordings(tmp_path)
    keys = both_keys(monkeypatch)
    smtp_password = "smtp-Password-0123456789"
    secret_file = tmp_path / "bybit-secret"  # a key from a file, as a container's /run/secrets/ holds it
    secret_file.write_text(keys.pop("BYBIT_API_SECRET") + "\n")
    monkeypatch.delenv("BYBIT_API_SECRET")
    with FakeTelegram() as telegram, FakeWebhook() as webhook, FakeSmtp() as smtp:
        keys |= {"ARB_TELEGRAM_TOKEN": telegram.token, "ARB_WEBHOOK_URL": webhook.url,
                 "ARB_SMTP_PASSWORD": smtp_password, "BYBIT_API_SECRET_FILE": str(secret_file)}  # fmt: skip
        secrets = {KEY, SECRET, telegram.token, webhook.url, webhook.secret, smtp_password}
        alerts = {
            "daily_summary": False,
            "telegram": {"token": "${ARB_TELEGRAM_TOKEN}", "chat_id": "4242", "base_url": telegram.base_url,
                         "commands": True, "min_interval_ms": 0},
            "webhook": {"url": "${ARB_WEBHOOK_URL}", "min_interval_ms": 0},
            "email": {"to": ["desk@example.com"], "host": "127.0.0.1", "port": smtp.port, "security": "none",
                      "username": "arb", "password": "${ARB_SMTP_PASSWORD}", "min_interval_ms": 0},
        }  # fmt: skip
        async with spot_pair(binance_file, bybit_file) as (binance, bybit):
            config = write_pair_config(tmp_path, binance, bybit,
                                       arbitrage={"ops": {"enabled": True, "port": 0}, "alerts": alerts})  # fmt: skip
            out = tmp_path / "run"
            # -v: the libraries' debug lines too; the global options ahead of the command
            async with arb_process(out, keys, "-v", "--log-format", "json", "live", "--config", str(config),
                                    "--out", str(out / "report")) as process:  # fmt: skip
                await live_up(binance, bybit, process, out, streams=["btcusdt@depth@100ms"],
                              topics=["orderbook.50.BTCUSDT"])  # fmt: skip
                binance.play(1.0)
                bybit.play(1.0)
                await until(lambda: len(account(binance).trades) >= 3 and len(account(bybit).trades) >= 3,
                            process, out, 60, binance, bybit)  # fmt: skip
                # a message from a chat that is not arb's: the process logs its chat id, here one that holds
                # a secret (a pasted key): the line must come out without it
                telegram.say_raw({"date": int(time.time()), "chat": {"id": f"chat-{SECRET}", "type": "private"},
                                  "text": "/status"})  # fmt: skip
                await until(lambda: "only chat 4242 is obeyed" in (out / "stderr").read_text(), process, out, 30)
                process.send_signal(signal.SIGTERM)
                async with asyncio.timeout(_unit_stop_timeout_s()):
                    rc = await process.wait()
    stderr, stdout = (out / "stderr").read_text(), (out / "stdout").read_text()
    assert rc == 0, stderr[-3000:]
    for secret in secrets:
        assert secret not in stderr and secret not in stdout, f"a secret in the output: {secret[:4]}..."
    lines = _lines(stderr)
    assert len(lines) > 50
    ignored = [d for d in lines if "only chat 4242 is obeyed" in d["message"]]
    assert ignored and ignored[0]["message"].startswith("alerts: a telegram command from chat chat-*** ignored")
    assert ignored[0]["level"] == "WARNING" and ignored[0]["logger"] == "arb.ops.alerts"
    orders = [d for d in lines if d["logger"] == "arb.event" and d.get("event") == "order"]
    assert orders and all(d["client_id"].startswith("arb-") and d["symbol"] == "BTCUSDT" for d in orders)
    assert {d["venue"] for d in orders} == {"binance", "bybit"}
    fills = [d for d in lines if d["logger"] == "arb.event" and d.get("event") == "fill"]
    assert len(fills) >= 6 and all(d["pair_id"] >= 1 and d["data"]["qty"] > 0 for d in fills)
    console = [d["message"] for d in lines if d["logger"] == "arb.console"]
    assert any(m.startswith("fill binance buy") for m in console)  # what a person reads, as records
    assert any(d["level"] == "DEBUG" for d in lines)  # -v: the libraries' debug lines went through it too


async def test_a_start_that_reconciliation_refuses_exits_78_which_the_unit_does_not_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    binance_file, bybit_file = standing_recordings(tmp_path)
    both_keys(monkeypatch)
    async with spot_pair(binance_file, bybit_file) as (binance, bybit):
        config = str(write_pair_config(tmp_path, binance, bybit))
        loop = asyncio.get_running_loop()

        async def run(*args: str) -> int:  # the command in a thread: the venues keep serving in this loop
            return await loop.run_in_executor(None, main, [*args, "--config", config])

        assert await run("reconcile") == 0  # the journal's baseline
        await bybit.advance(3)  # the book is up
        _, _, ask, _ = best(bybit, BYBIT_SPOT)
        bybit.ledger.place(account(bybit), symbol="BTCUSDT", side=Side.BUY, type=OrderType.LIMIT, qty=Decimal("0.001"),
                           price=ask, time_in_force=TimeInForce.IOC, client_id="by-hand")  # fmt: skip
        capsys.readouterr()
        rc = await run("live", "--duration", "5s")
    err = capsys.readouterr().err
    assert rc == EXIT_NEEDS_OPERATOR == 78, err
    assert "arb live: reconciliation found differences: nothing is traded until they are explained" in err
    restart_prevented = re.search(r"^RestartPreventExitStatus=(.*)$", UNIT.read_text(), re.MULTILINE)
    assert restart_prevented is not None and "78" in restart_prevented.group(1).split()
    assert not account(binance).orders and [o.client_id for o in account(bybit).orders] == ["by-hand"]
