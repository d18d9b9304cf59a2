"""``arb live`` as a real process on Hyperliquid's perpetual beside Binance spot, black box: the fake Binance and
the fake Hyperliquid exchange (every action's EIP-712 signature checked) on 127.0.0.1, ccxt unpatched, the real
feeds, the keys in the environment only (the account's address and an API wallet's key the account approved).

The market (:func:`_recordings`): Binance around 60,000; from 2 s on Hyperliquid's bid stands 50 bps above
Binance's ask: arb buys Binance's spot and sells Hyperliquid's perpetual (an ``Ioc``), 0.01 BTC a pair, up to its
band (0.03). One run covers the life of a session: pairs traded, a SIGKILL in the middle of one, a restart that
reconciles and trades on to the band, then ``arb kill``, which cancels what rests and stops it; the journal then
holds each fill of both venues' ledgers once, and no order went out twice. Another run starts on a key the
account never approved: Hyperliquid refuses its first signed action, and ``arb live`` says so and exits 3.

Nothing sleeps: every wait is for a condition, bounded by the processes' progress (``until``).
"""

from __future__ import annotations

import contextlib
import re
import signal
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from arb.config import load_config
from arb.errors import EXIT_VENUE_REFUSED
from arb.sim.hyperliquid.exchange import FakeHyperliquidExchange
from arb.sim.options import VenueOptions
from arb.testing.pair_rig import (
    LINEAR_RULES,
    SPOT_RULES,
    account,
    book_stream,
    key_environment,
    open_account,
    open_fake,
    without_pings,
    write_pair_config,
)
from arb.testing.scenarios import Book, Change, Perp, write_venues
from connectors.hyperliquid.private import cloid_of
from tests.sim.test_hyperliquid_exchange import ACCOUNT, AGENT, AGENT_KEY, STRANGER, STRANGER_KEY
from tests.support.live_rig import (
    MarketHold,
    arb_live,
    ended,
    exited,
    journal_of,
    live_resumed,
    live_up,
    net_base,
    until,
)
from tests.support.processes import has_exited, run_arb
from tests.support.scenario_days import STANDING_DAY

HL_KEYS = {"HYPERLIQUID_API_ACCOUNT_ADDRESS": ACCOUNT, "HYPERLIQUID_API_PRIVATE_KEY": AGENT_KEY}
"""The account's address (every query names it) and the API wallet's key that signs (approved by the account)."""
PERSONS = "~"
"""How the fake Hyperliquid's ledger names an order sent without a cloid (a person's)."""
BAND = Decimal("0.0299")
"""Three pairs of 0.01, net of Binance's fee taken in BTC."""


def _recordings(root: Path) -> tuple[Path, Path]:
    # Binance spot and Hyperliquid's BTC perpetual, 30 s, a heartbeat every 100 ms; Hyperliquid's context
    # (mark, oracle, the hour's funding) every second
    files = write_venues(
        root / "recordings", STANDING_DAY,
        [("binance", "spot", Book(bids={59990.0: 2.0}, asks={60000.0: 2.0})),
         ("hyperliquid", "linear", Book(bids={59995.0: 2.0}, asks={60400.0: 2.0}))],
        [Change(2000, "hyperliquid", bids={60300.0: 1.0})], duration_ms=30_000, heartbeat_ms=100,
        perps={"hyperliquid": Perp(mark=60_000.0, rate=0.0000125, funding_ms=3_600_000, next_rate=0.0000125)},
    )  # fmt: skip
    return files["binance"], files["hyperliquid"]


@contextlib.asynccontextmanager
async def _venues(root: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Any, Any, Path, dict[str, str]]]:
    """Both fakes replaying :func:`_recordings` (Binance: 100,000 USDT and 1 BTC; Hyperliquid: 100,000 USDC at
    ``ACCOUNT``, the agent approved), the pair's configuration for them, and the keys (in this environment too)."""
    keys = {**key_environment(), **HL_KEYS}
    for name, value in keys.items():
        monkeypatch.setenv(name, value)
    binance_file, hyperliquid_file = _recordings(root)
    async with (
        open_fake("binance", binance_file, market="spot", rules=[SPOT_RULES["binance"]]) as binance,
        FakeHyperliquidExchange(hyperliquid_file, options=without_pings(VenueOptions())) as hyperliquid,
    ):
        open_account(binance, {"USDT": "100000", "BTC": "1"})
        hyperliquid.add_account("arb", address=ACCOUNT, balances={"USDC": "100000"})
        hyperliquid.approve_agent("arb", AGENT)
        yield binance, hyperliquid, _config(root, binance, hyperliquid), keys


def _config(root: Path, binance: Any, hyperliquid: Any) -> Path:
    """The pair's configuration (``write_pair_config``), Hyperliquid's tick as the venue states it at this price
    (1: five significant figures; the fake's ledger may keep the coin's finest grid, 0.1)."""
    path = write_pair_config(root, binance, hyperliquid)
    venue_file = path.parent / "hyperliquid.toml"
    head, section, rest = venue_file.read_text().partition("\n[instrument]\n")
    assert section
    tick = f"tick_size = {LINEAR_RULES['hyperliquid'].tick_size}"
    venue_file.write_text(head + section + re.sub(r"^tick_size = .*$", tick, rest, count=1, flags=re.MULTILINE))
    return path


async def _up(binance: Any, hyperliquid: Any, process: Any, out: Path) -> None:
    # both books and both venues' user streams subscribed (Hyperliquid's by the account's address)
    await live_up(binance, hyperliquid, process, out, streams=[book_stream(binance)], topics=[book_stream(hyperliquid)])


def _resting_order_of_a_person(hyperliquid: Any) -> Any:
    """An order the account's owner placed by hand, resting below the book (no cloid): not arb's, and ``arb
    kill`` cancels it all the same (every open order of the account in the traded coin)."""
    before = set(map(id, account(hyperliquid).orders))
    order = {"a": hyperliquid.asset("BTC"), "b": True, "p": "50000", "s": "0.001", "r": False,
             "t": {"limit": {"tif": "Gtc"}}}  # fmt: skip
    hyperliquid.orders.run(account(hyperliquid), {"type": "order", "orders": [order], "grouping": "na"})
    (placed,) = [o for o in account(hyperliquid).orders if id(o) not in before]
    return placed


def _assert_journal_is_the_ledgers(root: Path, binance: Any, hyperliquid: Any) -> None:
    """Each fill of both ledgers is in the journal once, at its price, quantity and fee, booked to the intent whose
    client id the venue was sent (Hyperliquid: as its cloid), none invented; every order of arb's on the ledgers is
    an intent and none went out twice; no intent's fate is unknown."""
    with journal_of(root) as journal:
        assert not journal.intents(in_flight=True)
        for name, fake in (("binance", binance), ("hyperliquid", hyperliquid)):
            ids = [i["client_id"] for i in journal.intents(venue=name)]
            sent_as = {(cloid_of(c) if name == "hyperliquid" else c): c for c in ids}
            rows = journal.fills(venue=name)
            booked = {r["trade_id"]: r for r in rows}
            trades = {str(fake.exec_id(t)): t for t in account(fake).trades}
            assert len(booked) == len(rows) and set(booked) == set(trades), name
            for trade_id, trade in trades.items():
                row, price_qty_fee = booked[trade_id], (trade.price, trade.qty, trade.fee)
                assert (Decimal(row["price"]), Decimal(row["qty"]), Decimal(row["fee"])) == price_qty_fee, name
                assert row["client_id"] == sent_as[trade.client_id], (name, trade_id)
            arbs = [o.client_id for o in account(fake).orders if not o.client_id.startswith(PERSONS)]
            assert len(arbs) == len(set(arbs)) and set(arbs) <= set(sent_as), name  # none sent twice


async def test_arb_live_trades_hyperliquid_against_binance_is_killed_restarts_and_arb_kill_stops_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with _venues(tmp_path, monkeypatch) as (binance, hyperliquid, config, keys):
        first = tmp_path / "first"
        async with arb_live(config, first, keys) as process:
            await _up(binance, hyperliquid, process, first)
            binance.play(1.0)
            hyperliquid.play(1.0)

            def second_pair_begun() -> bool:  # a pair done, and the first fill of the next: its other leg on its way
                return len(account(binance).trades) + len(account(hyperliquid).trades) >= 3

            await until(second_pair_begun, process, first, 60, binance, hyperliquid)
            hold = MarketHold(binance, hyperliquid)  # until the restart is up: it meets the market it left
            process.kill()
            assert await process.wait() == -signal.SIGKILL
        sent = len(account(hyperliquid).orders)
        assert sent >= 1 and all(o.client_id.startswith("0x") for o in account(hyperliquid).orders)  # cloids
        second = tmp_path / "second"
        async with live_resumed(config, second, keys, hold, symbols=["BTCUSDT"]) as process:

            def at_the_band() -> bool:
                return net_base(binance) >= BAND and -net_base(hyperliquid) >= BAND

            await until(at_the_band, process, second, 60, binance, hyperliquid)
            resting = _resting_order_of_a_person(hyperliquid)
            rc, said, _ = await run_arb("kill", "--config", str(config), env=keys, cwd=tmp_path, merged=True,
                                        forked=True)  # fmt: skip
            assert has_exited(process.pid), said  # arb kill returned once arb live had ended
            assert rc == 0 and "kill switch sent to arb live" in said, said
            stderr = ended(second, await exited(process), 0)
    assert "hyperliquid linear: reconciled" in stderr and "MISMATCH" not in stderr
    assert "fill hyperliquid sell" in stderr + (second / "stdout").read_text()
    # the stop arb kill caused cancelled what rested (every open order of the account: a person's too, by its oid,
    # before the kill switch's own pass, which then found none; its report counts both) and left nothing open;
    # the pairs are hedged
    assert resting.status.value == "canceled" and not hyperliquid.ledger.open_orders(account(hyperliquid))
    assert "hyperliquid: 1 open order(s) cancelled" in said + stderr, said + stderr
    assert not binance.ledger.open_orders(account(binance))
    assert abs(net_base(binance) + net_base(hyperliquid)) <= Decimal("0.0001")
    assert len(account(hyperliquid).orders) >= sent
    _assert_journal_is_the_ledgers(tmp_path, binance, hyperliquid)
    with journal_of(tmp_path) as journal:
        assert journal.get_state(f"{load_config(config).live.account}/halt") == "kill switch"
    assert AGENT_KEY.removeprefix("0x") not in stderr + said


async def test_arb_live_on_a_key_the_account_never_approved_names_the_refusal_and_exits_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with _venues(tmp_path, monkeypatch) as (_, hyperliquid, config, keys):
        wrong = {**keys, "HYPERLIQUID_API_PRIVATE_KEY": STRANGER_KEY}
        rc, said, _ = await run_arb("live", "--config", str(config), "--out", str(tmp_path / "report"), env=wrong,
                                    cwd=tmp_path, merged=True, forked=True)  # fmt: skip
    assert rc == EXIT_VENUE_REFUSED, said  # exit 3: a person must fix the keys
    assert f"User or API Wallet {STRANGER} does not exist." in said and "UnknownSigner" in said
    assert "HYPERLIQUID_API_ACCOUNT_ADDRESS" in said and "HYPERLIQUID_API_PRIVATE_KEY" in said
    assert STRANGER_KEY.removeprefix("0x") not in said and "Traceback" not in said
    assert not account(hyperliquid).orders and "arb" not in hyperliquid.orders.schedules  # nothing signed was taken
