"""A venue's refusal or absence, met by the real commands (``arb live``, ``arb reconcile``, ``arb order``,
``arb kill`` as processes) against the fake private venues: each ends in one line on stderr naming the
venue, what it answered and what to check, with the documented exit code (3: a person must fix
something; 4: the venue could not be reached or answer), never a traceback."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import signal
from decimal import Decimal
from pathlib import Path

import pytest

from arb.errors import EXIT_VENUE_REFUSED, EXIT_VENUE_UNAVAILABLE
from arb.sim.ledger import OrderType, Side
from tests.support.live_rig import (
    ALL_SPECS,
    BINANCE_SPOT_RULES,
    KEY,
    OKX_SPOT,
    PASSPHRASE,
    SECRET,
    VenueSpec,
    account,
    arb_live,
    both_books_up,
    both_keys,
    fake_venue,
    spot_pair,
    standing_pair,
    standing_recordings,
    until,
    write_live_config,
    write_pair_config,
)
from tests.support.processes import run_arb

DAY = dt.date(2024, 5, 6)


async def _arb(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    """``run_arb``, patient for 180 s without the child working (a live start retries for a while)."""
    return await run_arb(*args, env=env, cwd=cwd, quiet_s=180, forked=True)


def one_line(command: str, stderr: str) -> str:
    """The one line ``arb COMMAND`` ended with on stderr (its last line), with no traceback anywhere."""
    assert "Traceback" not in stderr, stderr[-4000:]
    said = [line for line in stderr.splitlines() if line.startswith(f"arb {command}: ")]
    assert len(said) == 1, stderr[-4000:]
    assert stderr.rstrip().splitlines()[-1] == said[0]
    return said[0]


def _keys(spec: VenueSpec, *, secret: str = SECRET) -> dict[str, str]:
    prefix = spec.venue.upper()
    return {f"{prefix}_API_KEY": KEY, f"{prefix}_API_SECRET": secret}


# -- a wrong API secret ------------------------------------------------------------------------------

WRONG_SECRET = "not" + SECRET


@pytest.mark.parametrize("spec", ALL_SPECS, ids=lambda s: s.id)
async def test_a_wrong_secret_is_one_line_naming_the_venue_its_answer_and_the_variables(
    spec: VenueSpec, tmp_path: Path
) -> None:
    # The markets load without a signature; reconciliation's first signed request (the trade sweep, or
    # a linear venue's order queries) is refused with the venue's own code.
    code = "-1022" if spec.venue == "binance" else "10004"
    async with fake_venue(spec) as venue:
        config = write_live_config(tmp_path, spec, venue)
        rc, _, err = await _arb("reconcile", "--config", str(config), "--venue", spec.venue,
                                env=_keys(spec, secret=WRONG_SECRET), cwd=tmp_path)  # fmt: skip
    line = one_line("reconcile", err)
    assert rc == EXIT_VENUE_REFUSED, err[-3000:]
    assert line.startswith(f"arb reconcile: {spec.venue} {spec.market}: ") and f" {code} " in line
    prefix = spec.venue.upper()
    assert f"check the environment variables {prefix}_API_KEY and {prefix}_API_SECRET" in line
    assert WRONG_SECRET not in err and KEY not in err  # credentials are never printed (Bybit's answer has the key)


async def test_arb_live_with_a_wrong_bybit_secret_stops_at_reconciliation_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with standing_pair(tmp_path, monkeypatch) as (binance, bybit, config, keys):
        keys = keys | {"BYBIT_API_SECRET": WRONG_SECRET}
        rc, _, err = await _arb("live", "--config", str(config), "--duration", "30s", env=keys, cwd=tmp_path)
        assert not account(binance).orders and not account(bybit).orders
    line = one_line("live", err)
    assert rc == EXIT_VENUE_REFUSED
    assert line.startswith("arb live: bybit spot: GET /v5/execution/list was refused: HTTP 200 10004 error sign!")
    assert "BYBIT_API_KEY and BYBIT_API_SECRET" in line


# -- a venue that cannot be reached ------------------------------------------------------------------

_COMMANDS = {
    "live": ("live", "--duration", "30s"),
    "reconcile": ("reconcile", "--venue", "binance"),
    "order": ("order", "--venue", "binance", "--side", "buy", "--qty", "0.001", "--price", "60000"),
    "kill": ("kill",),
}


@pytest.mark.parametrize("command", list(_COMMANDS))
async def test_a_venue_that_refuses_connections_is_one_line_and_exit_4(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with standing_pair(tmp_path, monkeypatch) as (binance, bybit, config, keys):
        await binance.refuse_connections()  # its port is there, nobody listens: ECONNREFUSED
        name, *args = _COMMANDS[command]
        rc, _, err = await _arb(name, "--config", str(config), *args, env=keys, cwd=tmp_path)
        assert not account(bybit).orders
    line = one_line(command, err)
    assert rc == EXIT_VENUE_UNAVAILABLE, err[-3000:]
    assert line.startswith(f"arb {command}: binance spot: GET /api/v3/exchangeInfo could not reach {binance.rest_url}")
    assert "(connection refused); check the network and [endpoints] rest in " in line and "binance.toml" in line


# -- the dead-man's switch refused at start ----------------------------------------------------------

DCP = "/v5/order/disconnected-cancel-all"


async def test_a_dead_mans_switch_that_keeps_failing_stops_the_start_before_anything_is_traded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with standing_pair(tmp_path, monkeypatch) as (binance, bybit, config, keys):
        bybit.faults.rest_error(500, path=DCP, times=10)
        rc, _, err = await _arb("live", "--config", str(config), "--duration", "30s", env=keys, cwd=tmp_path)
        tried = [r for r in bybit.stats.rest_requests if r.path == DCP]
        assert not account(binance).orders and not account(bybit).orders
    line = one_line("live", err)
    assert rc == EXIT_VENUE_UNAVAILABLE
    assert len(tried) == 3  # retried with a backoff, then given up
    assert re.match(
        f"arb live: bybit spot: the dead-man's switch could not be armed, nothing was traded: POST {DCP} answered "
        r"HTTP 500 [^;]* \(3 attempts\); check the venue's status page",
        line,
    ), line
    assert line.endswith("or set [live] dead_man_window_s = 0 to trade without it")


async def test_a_dead_mans_switch_refused_by_the_account_stops_the_start_and_names_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with standing_pair(tmp_path, monkeypatch) as (_, bybit, config, keys):
        bybit.faults.rest_error(200, 10001, "params error: dcp is not enabled", path=DCP, times=10)
        rc, _, err = await _arb("live", "--config", str(config), "--duration", "30s", env=keys, cwd=tmp_path)
        tried = [r for r in bybit.stats.rest_requests if r.path == DCP]
    line = one_line("live", err)
    assert rc == EXIT_VENUE_REFUSED and len(tried) == 1  # a refusal is not tried again
    assert "was refused: HTTP 200 10001 params error: dcp is not enabled" in line
    assert "check that the account has disconnect-cancel-all (DCP) turned on" in line


async def test_a_dead_mans_switch_that_fails_once_is_armed_at_the_next_attempt_and_said_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with standing_pair(tmp_path, monkeypatch) as (_, bybit, config, keys):
        bybit.faults.rest_error(500, path=DCP, times=1)
        out = tmp_path / "run"
        async with arb_live(config, out, keys) as process:
            await until(lambda: "bybit dead-man's switch: armed" in (out / "stdout").read_text()
                        + (out / "stderr").read_text(), process, out, 180)  # fmt: skip
            # and kept armed
            await until(lambda: bybit.subscriber_count(bybit.dcp_topic) >= 1, process, out, 180, bybit)
            process.send_signal(signal.SIGINT)
            async with asyncio.timeout(60):
                rc = await process.wait()
    said = (out / "stdout").read_text() + (out / "stderr").read_text()
    assert rc == 130 and "Traceback" not in said
    assert f"bybit dead-man's switch: armed, 30 s (at attempt 2; the first: POST {DCP} answered HTTP 500" in said


# -- an order book that fails inside arb kill ----------------------------------------------------------


@pytest.mark.parametrize(("failing", "status"), [("binance", 500), ("bybit", 404)])
async def test_arb_kill_with_dust_and_a_failing_order_book_names_it_and_calls_the_dust_flat(
    failing: str, status: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = both_keys(monkeypatch)
    async with spot_pair(*standing_recordings(tmp_path)) as (binance, bybit):
        await both_books_up(binance, bybit, 30)
        config = write_pair_config(tmp_path, binance, bybit)
        rc, out, err = await _arb("kill", "--config", str(config), env=keys, cwd=tmp_path)  # the account's inception
        assert rc == 0, out + err
        # fees paid in the coin left a few steps of BTC on Binance: below any venue's minimum notional
        rules = BINANCE_SPOT_RULES
        top = binance.book("BTCUSDT", 1)
        bid, ask = Decimal(top.bids[0][0]), Decimal(top.asks[0][0])
        qty = (rules.min_notional / bid).quantize(rules.step_size) * 4
        dust = Decimal("0.00004")
        for side, amount, price, cid in ((Side.BUY, qty + dust, ask, "buy-1"), (Side.SELL, qty, bid, "sell-1")):
            binance.ledger.place(account(binance), symbol="BTCUSDT", side=side, type=OrderType.LIMIT, qty=amount,
                                 price=price, client_id=cid)  # fmt: skip
        sent = {v: len(account(v).orders) for v in (binance, bybit)}
        venue = binance if failing == "binance" else bybit
        path = "/api/v3/depth" if failing == "binance" else "/v5/market/orderbook"
        venue.faults.rest_error(status, path=path, times=1)
        rc, out, err = await _arb("kill", "--config", str(config), env=keys, cwd=tmp_path)
        assert sent == {v: len(account(v).orders) for v in (binance, bybit)}  # nothing a venue would refuse
        assert any(r.path == path and r.status == status for r in venue.stats.rest_requests)
    said = out + err
    assert rc == 0, said[-3000:]
    assert "Traceback" not in said
    assert f"{failing} spot: GET {path} " in said and f"HTTP {status}" in said  # named, with what it answered
    assert "is dust" in said and "EXPOSURE LEFT" not in said


async def test_a_wrong_okx_passphrase_is_one_line_naming_the_passphrase_variable(tmp_path: Path) -> None:
    # OKX answers 50105 (Request header "OK-ACCESS-PASSPHRASE" incorrect): the hint names the variable that
    # is wrong beside the key's and the secret's, as the venue file references them
    async with fake_venue(OKX_SPOT) as venue:
        config = write_live_config(tmp_path, OKX_SPOT, venue)
        keys = {"OKX_API_KEY": KEY, "OKX_API_SECRET": SECRET, "OKX_API_PASSPHRASE": "not" + PASSPHRASE}
        rc, _, err = await _arb("reconcile", "--config", str(config), "--venue", "okx", env=keys, cwd=tmp_path)
    line = one_line("reconcile", err)
    assert rc == EXIT_VENUE_REFUSED, err[-3000:]
    assert line.startswith("arb reconcile: okx spot: ") and " 50105 " in line
    assert "check the environment variables OKX_API_KEY, OKX_API_SECRET and OKX_API_PASSPHRASE" in line
    assert PASSPHRASE not in err and SECRET not in err
