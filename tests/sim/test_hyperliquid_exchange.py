"""The fake Hyperliquid's private side over HTTP: signed actions (the SDK's vector, a wrong key, an API wallet),
nonces, each answer of an order, the book walked and crossed, cancels, the dead-man's switch on a driven clock,
the address budget and the hourly funding.

The book is built here (:func:`hyperliquid_recording`), so each expected fill is computed from its levels, never
from the ledger's arithmetic. Actions are signed with eth-account in the test (:func:`signed`). The venue's clock
is real time plus an offset the test moves (``OffsetClock``); nothing sleeps. The other
``test_hyperliquid_exchange_*`` modules use the rig defined here.
"""

from __future__ import annotations

import asyncio
import gzip
import itertools
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal as D  # noqa: N817 - short for the many literals below
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from arb.sim import fake_exchange
from arb.sim.hyperliquid.exchange import FakeHyperliquidExchange
from arb.sim.hyperliquid.signing import action_hash, recover_signer, sign_l1_action
from arb.sim.options import VenueOptions
from arb.sim.testkit import venue_testkit
from tests.support.clocks import OffsetClock

START_MS = 1_723_161_250_000
TIMEOUT_S = 60.0
"""A bound on a step that hangs, not on its speed."""
ACCOUNT_KEY, AGENT_KEY, STRANGER_KEY = "0x" + "11" * 32, "0x" + "22" * 32, "0x" + "33" * 32
ACCOUNT, AGENT, STRANGER = (
    "0x19e7e376e7c213b7e7e7e46cc70a5dd086daff2a",
    "0x1563915e194d8cfba1943570603f7606a3115508",
    "0x5cbdd86a2fa8dc4bddd8a8f69dba48572eec07fb",
)
"""The keys' addresses, written out: eth-account, which derives them (checked in
``test_each_key_is_the_address_written_beside_it``), takes seconds to import, and every worker collects this module."""
Levels = Sequence[tuple[str, str]]
BIDS: Levels = [("60000", "0.5"), ("59990", "1")]
ASKS: Levels = [("60010", "0.2"), ("60020", "0.3"), ("60030", "1")]
CROSSED_ASKS: Levels = [("59990", "0.3"), ("60010", "0.2")]
"""The second book: its best ask at 59990 crosses a buy resting at 59995 or above."""
CLOID = "0x" + "ab" * 16


def hyperliquid_recording(path: Path, books: Sequence[tuple[Levels, Levels]] = ((BIDS, ASKS), (BIDS, CROSSED_ASKS)),
                          *, ctx_every: int = 0) -> Path:  # fmt: skip
    """A collector-format recording of the ``BTC`` perpetual: one ``l2Book`` a book of ``books``, 1 s apart (and an
    ``activeAssetCtx`` after every ``ctx_every``-th, oracle 60005, rate 0.0000125)."""
    lines = []
    for k, (bids, asks) in enumerate(books):
        t = START_MS + 1000 * k
        levels = [[{"px": p, "sz": q, "n": 1} for p, q in side] for side in (bids, asks)]
        lines.append((t, {"channel": "l2Book", "data": {"coin": "BTC", "time": t, "levels": levels}}))
        if ctx_every and k % ctx_every == 0:
            ctx = {"funding": "0.0000125", "openInterest": "10.0", "oraclePx": "60005.0", "markPx": "60005.0",
                   "premium": "0.0"}  # fmt: skip
            lines.append((t + 1, {"channel": "activeAssetCtx", "data": {"coin": "BTC", "ctx": ctx}}))
    with gzip.open(path, "wb") as out:
        for ms, message in lines:
            out.write(f"{ms * 1_000_000} {json.dumps(message, separators=(',', ':'))}\n".encode())
    return path


@asynccontextmanager
async def venue_for(tmp_path: Path, *, clock: OffsetClock | None = None, books: int = 1, ctx_every: int = 0,
                    **kwargs: Any) -> AsyncIterator[FakeHyperliquidExchange]:  # fmt: skip
    """A started fake Hyperliquid trading BTC (asset 0) with account "alice" (100,000 USDC at :data:`ACCOUNT`),
    its first ``books`` books released."""
    recording = hyperliquid_recording(tmp_path / "btc.gz", ctx_every=ctx_every)
    options = VenueOptions(clock=clock or OffsetClock())
    async with asyncio.timeout(TIMEOUT_S), FakeHyperliquidExchange(recording, options=options, **kwargs) as venue:
        venue.add_account("alice", address=ACCOUNT, balances={"USDC": "100000"})
        await venue.advance(books)
        yield venue


class Client:
    """Signs actions with a key and posts them to a fake's ``/exchange`` and ``/info``."""

    def __init__(self, venue: FakeHyperliquidExchange, session: aiohttp.ClientSession, key: str = ACCOUNT_KEY):
        self.venue = venue
        self.session = session
        self.key = key
        self._counter = itertools.count()

    def nonce(self) -> int:
        """The venue's time in ms plus a counter: unique and in its window."""
        return int(self.venue.options.clock() * 1000) + next(self._counter)

    def signed(self, action: dict[str, Any], nonce: int | None = None, **extra: Any) -> dict[str, Any]:
        nonce = self.nonce() if nonce is None else nonce
        signature = sign_l1_action(self.key, action, nonce, expires_after=extra.get("expiresAfter"))
        return {"action": action, "nonce": nonce, "signature": signature, **extra}

    async def post(self, body: dict[str, Any]) -> Any:
        async with self.session.post(self.venue.exchange_url, json=body) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def act(self, action: dict[str, Any], **extra: Any) -> Any:
        return await self.post(self.signed(action, **extra))

    async def info(self, body: dict[str, Any]) -> Any:
        async with self.session.post(f"{self.venue.rest_url}/info", json=body) as response:
            assert response.status == 200, await response.text()
            return await response.json()


def order(px: str, sz: str, *, buy: bool = True, tif: str = "Gtc", cloid: str | None = None,
          reduce_only: bool = False) -> dict[str, Any]:  # fmt: skip
    """An ``order`` action of one BTC (asset 0) limit order, in the key order the SDK signs."""
    wire: dict[str, Any] = {"a": 0, "b": buy, "p": px, "s": sz, "r": reduce_only, "t": {"limit": {"tif": tif}}}
    if cloid is not None:
        wire["c"] = cloid
    return {"type": "order", "orders": [wire], "grouping": "na"}


def statuses(answer: Any) -> list[Any]:
    assert answer["status"] == "ok", answer
    return list(answer["response"]["data"]["statuses"])


@asynccontextmanager
async def client_for(venue: FakeHyperliquidExchange, key: str = ACCOUNT_KEY) -> AsyncIterator[Client]:
    async with aiohttp.ClientSession() as session:
        yield Client(venue, session, key)


def test_the_sdk_vector_is_reproduced_and_its_signer_recovered() -> None:
    from eth_account import Account

    key = "0x0123456789" + "0123456789" * 5 + "0123"
    action = order("100", "100")
    action["orders"][0]["a"] = 1
    signature = sign_l1_action(key, action, 0)
    assert signature["r"] == "0xd65369825a9df5d80099e513cce430311d7d26ddf477f5b3a33d2806b100d78e"
    assert signature["s"] == "0x2b54116ff64054968aa237c20ca9ff68000f977c93289157748a3162b6ea940e"
    assert signature["v"] == 28
    testnet = sign_l1_action(key, action, 0, mainnet=False)
    assert testnet["r"] == "0x82b2ba28e76b3d761093aaded1b1cdad4960b3af30212b343fb2e6cdfa4e3d54"
    assert recover_signer(action_hash(action, 0), signature) == Account.from_key(key).address.lower()
    assert recover_signer(action_hash(action, 0), signature, mainnet=False) != Account.from_key(key).address.lower()


def test_the_exchange_is_found_by_the_venues_name() -> None:
    assert fake_exchange("hyperliquid") is FakeHyperliquidExchange


async def test_a_wrong_key_is_refused_naming_the_address_it_signed_as(tmp_path: Path) -> None:
    async with venue_for(tmp_path) as venue, client_for(venue, STRANGER_KEY) as stranger:
        answer = await stranger.act(order("59000", "0.001"))
        assert answer == {"status": "err", "response": f"User or API Wallet {STRANGER} does not exist."}
        assert venue.ledger.order_requests == []


async def test_an_api_wallet_signs_for_the_account_once_approved(tmp_path: Path) -> None:
    async with venue_for(tmp_path) as venue, client_for(venue, AGENT_KEY) as agent:
        refused = await agent.act(order("59000", "0.001"))
        assert refused["response"] == f"User or API Wallet {AGENT} does not exist."
        venue.approve_agent("alice", AGENT)
        [resting] = statuses(await agent.act(order("59000", "0.001", cloid=CLOID)))
        oid = resting["resting"]["oid"]
        assert resting == {"resting": {"oid": oid, "cloid": CLOID}}
        assert [o.order_id for o in venue.ledger.accounts["alice"].orders] == [oid]
        assert await agent.info({"type": "openOrders", "user": AGENT}) == []  # the agent's address holds nothing
        [entry] = await agent.info({"type": "openOrders", "user": ACCOUNT})
        assert entry == {"coin": "BTC", "side": "B", "limitPx": "59000.0", "sz": "0.001", "oid": oid,
                         "timestamp": entry["timestamp"], "origSz": "0.001", "cloid": CLOID}  # fmt: skip


async def test_a_nonce_is_taken_once_and_kept_among_the_100_highest(tmp_path: Path) -> None:
    async with venue_for(tmp_path) as venue, client_for(venue) as alice:
        nonce = alice.nonce()
        assert await alice.act({"type": "noop"}, nonce=nonce) == {"status": "ok", "response": {"type": "default"}}
        again = await alice.act({"type": "noop"}, nonce=nonce)
        assert again == {"status": "err", "response": f"Invalid nonce: duplicate nonce {nonce}"}
        for _ in range(100):
            assert (await alice.act({"type": "noop"}))["status"] == "ok"
        assert (await alice.act({"type": "noop"}, nonce=nonce - 1))["response"].startswith("Invalid nonce: nonce")
        far = alice.nonce() + 2 * 86_400_000
        assert "too far" in (await alice.act({"type": "noop"}, nonce=far))["response"]
        expired = await alice.act({"type": "noop"}, expiresAfter=alice.nonce() - 1000)
        assert expired["status"] == "err" and expired["response"].startswith("Action expired")
        assert await alice.act({"type": "noop"}, expiresAfter=alice.nonce() + 60_000) == {
            "status": "ok", "response": {"type": "default"}}  # fmt: skip


async def test_each_order_answer_as_the_venue_gives_it(tmp_path: Path) -> None:
    async with venue_for(tmp_path) as venue, client_for(venue) as alice:
        [resting] = statuses(await alice.act(order("59950", "0.001")))
        assert list(resting) == ["resting"] and "cloid" not in resting["resting"]
        [filled] = statuses(await alice.act(order("60010", "0.1", tif="Ioc", cloid=CLOID)))
        assert filled == {"filled": {"totalSz": "0.1", "avgPx": "60010.0", "oid": filled["filled"]["oid"],
                                     "cloid": CLOID}}  # fmt: skip
        expected = {
            ("59000", "0.001", "Ioc"): "Order could not immediately match against any resting orders. asset=0",
            ("60010", "0.001", "Alo"): "Post only order would have immediately matched, bbo was 60000@60010. asset=0",
            ("59000", "0.0001", "Gtc"): "Order must have minimum value of $10. asset=0",
            ("59000.5", "0.001", "Gtc"): "Price must be divisible by tick size. asset=0",
            ("59000", "0.000001", "Gtc"): "Order has invalid size. asset=0",
            ("59000", "100", "Gtc"): "Insufficient margin to place order. asset=0",
        }
        for (px, sz, tif), text in expected.items():
            assert statuses(await alice.act(order(px, sz, tif=tif))) == [{"error": text}], (px, sz, tif)
        assert statuses(await alice.act(order("60010", "0.1", cloid=CLOID)))[0]["error"].endswith("asset=0")


async def test_a_taker_order_walks_the_book_level_by_level(tmp_path: Path) -> None:
    async with venue_for(tmp_path) as venue, client_for(venue) as alice:
        [filled] = statuses(await alice.act(order("60020", "0.4")))
        assert filled["filled"]["totalSz"] == "0.4"
        assert D(filled["filled"]["avgPx"]) == (D("60010") * D("0.2") + D("60020") * D("0.2")) / D("0.4")
        fills = await alice.info({"type": "userFills", "user": ACCOUNT})
        assert [(f["px"], f["sz"], f["startPosition"], f["dir"], f["crossed"]) for f in fills] == [
            ("60020.0", "0.2", "0.2", "Open Long", True), ("60010.0", "0.2", "0.0", "Open Long", True)]  # fmt: skip
        assert [D(f["fee"]) for f in fills] == [
            D("60020") * D("0.2") * D("0.00045"),
            D("60010") * D("0.2") * D("0.00045"),
        ]
        assert {f["feeToken"] for f in fills} == {"USDC"} and len({f["tid"] for f in fills}) == 2
        state = await alice.info({"type": "clearinghouseState", "user": ACCOUNT})
        [position] = state["assetPositions"]
        assert (position["position"]["szi"], D(position["position"]["entryPx"])) == ("0.4", D("60015"))
        limits = await alice.info({"type": "userRateLimit", "user": ACCOUNT})
        assert limits["nRequestsUsed"] == 1 and limits["nRequestsCap"] == 10_000 + int(D("60010") * D("0.2") * 2 + 2)


async def test_a_resting_order_fills_as_a_maker_when_the_book_crosses_it(tmp_path: Path) -> None:
    async with venue_for(tmp_path) as venue, client_for(venue) as alice:
        [resting] = statuses(await alice.act(order("59995", "0.1", cloid=CLOID)))
        status = await alice.info({"type": "orderStatus", "user": ACCOUNT, "oid": CLOID})
        assert (status["status"], status["order"]["status"], status["order"]["order"]["oid"]) == (
            "order", "open", resting["resting"]["oid"])  # fmt: skip
        await venue.advance(1)  # the book whose best ask, 59990, crosses it
        status = await alice.info({"type": "orderStatus", "user": ACCOUNT, "oid": resting["resting"]["oid"]})
        assert status["order"]["status"] == "filled" and status["order"]["order"]["cloid"] == CLOID
        [fill] = await alice.info({"type": "userFills", "user": ACCOUNT})
        assert (fill["px"], fill["sz"], fill["crossed"], D(fill["fee"])) == (
            "59995.0", "0.1", False, D("59995") * D("0.1") * D("0.00015"))  # fmt: skip
        assert await alice.info({"type": "orderStatus", "user": ACCOUNT, "oid": 1}) == {"status": "unknownOid"}


async def test_cancel_by_oid_and_by_cloid(tmp_path: Path) -> None:
    async with venue_for(tmp_path) as venue, client_for(venue) as alice:
        [first] = statuses(await alice.act(order("59000", "0.001")))
        [second] = statuses(await alice.act(order("59001", "0.001", cloid="0x" + CLOID[2:].upper())))
        assert second["resting"]["cloid"] == CLOID  # a cloid is kept in lower case
        oid = first["resting"]["oid"]
        cancel = {"type": "cancel", "cancels": [{"a": 0, "o": oid}]}
        assert statuses(await alice.act(cancel)) == ["success"]
        missing = {"error": "Order was never placed, already canceled, or filled."}
        assert statuses(await alice.act(cancel)) == [missing]
        by_cloid = {"type": "cancelByCloid", "cancels": [{"asset": 0, "cloid": CLOID}]}
        assert statuses(await alice.act(by_cloid)) == ["success"]
        assert statuses(await alice.act(by_cloid)) == [missing]
        assert await alice.info({"type": "frontendOpenOrders", "user": ACCOUNT}) == []
        status = await alice.info({"type": "orderStatus", "user": ACCOUNT, "oid": oid})
        assert status["order"]["status"] == "canceled"


async def test_schedule_cancel_fires_on_the_venues_clock(tmp_path: Path) -> None:
    clock = OffsetClock()
    async with venue_for(tmp_path, clock=clock) as venue, client_for(venue) as alice:
        oids = [statuses(await alice.act(order(px, "0.001")))[0]["resting"]["oid"] for px in ("59000", "59001")]
        now = alice.nonce()
        early = await alice.act({"type": "scheduleCancel", "time": now + 3000})
        assert early == {
            "status": "err",
            "response": "Scheduled cancel time too early, must be at least 5 seconds from now.",
        }
        assert (await alice.act({"type": "scheduleCancel", "time": now + 10_000}))["status"] == "ok"
        clock.advance(9.0)
        await venue.tick()
        assert len(venue.ledger.open_orders(venue.ledger.accounts["alice"])) == 2
        clock.advance(1.5)
        await venue.tick()
        [trigger] = venue.schedule_triggers
        assert sorted(trigger.cancelled) == sorted(oids)
        for oid in oids:
            status = await alice.info({"type": "orderStatus", "user": ACCOUNT, "oid": oid})
            assert status["order"]["status"] == "scheduledCancel"
        # set then unset: nothing fires
        statuses(await alice.act(order("59002", "0.001")))
        await alice.act({"type": "scheduleCancel", "time": alice.nonce() + 6000})
        await alice.act({"type": "scheduleCancel"})
        clock.advance(60.0)
        await venue.tick()
        assert len(venue.schedule_triggers) == 1


async def test_the_address_budget_refuses_past_its_cap(tmp_path: Path) -> None:
    async with venue_for(tmp_path, address_budget=3) as venue, client_for(venue) as alice:
        for _ in range(3):
            assert (await alice.act({"type": "noop"}))["status"] == "ok"
        refused = await alice.act({"type": "noop"})
        text = "Too many cumulative requests sent (4 > 3) for cumulative volume traded $0.00."
        assert refused == {"status": "err", "response": text}
        limits = await alice.info({"type": "userRateLimit", "user": ACCOUNT})
        assert (limits["nRequestsUsed"], limits["nRequestsCap"], limits["cumVlm"]) == (3, 3, "0.0")


async def test_a_position_held_at_the_hour_pays_its_funding_on_the_oracle_price(tmp_path: Path) -> None:
    clock = OffsetClock()
    recording_books = 2
    async with venue_for(tmp_path, clock=clock, books=0, ctx_every=1) as venue, client_for(venue) as alice:
        await venue.advance(2)  # the first book and its context
        statuses(await alice.act(order("60010", "0.2", tif="Ioc")))
        clock.advance(3600.0)
        await venue.advance(2 * recording_books - 2)  # the second book and the context of the next hour
        [payment] = venue.ledger.accounts["alice"].fundings
        assert (payment.position, payment.rate, payment.mark_price) == (D("0.2"), D("0.0000125"), D("60005.0"))
        assert payment.payment == -(D("0.2") * D("60005.0") * D("0.0000125")).quantize(D("0.00000001"))
        state = await alice.info({"type": "clearinghouseState", "user": ACCOUNT})
        assert D(state["assetPositions"][0]["position"]["cumFunding"]["allTime"]) == -payment.payment


@pytest.mark.parametrize("network", ["testnet"])
async def test_the_testnet_checks_the_testnet_source(tmp_path: Path, network: str) -> None:
    async with venue_for(tmp_path, network=network) as venue, client_for(venue) as alice:
        refused = await alice.act({"type": "noop"})  # signed for mainnet: another address recovered
        assert refused["status"] == "err" and "does not exist" in refused["response"]
        nonce = alice.nonce()
        body = {"action": {"type": "noop"}, "nonce": nonce,
                "signature": sign_l1_action(ACCOUNT_KEY, {"type": "noop"}, nonce, mainnet=False)}  # fmt: skip
        assert await alice.post(body) == {"status": "ok", "response": {"type": "default"}}


async def test_the_test_kit_opens_an_account_at_its_keys_address(tmp_path: Path) -> None:
    async with venue_for(tmp_path) as venue:
        kit = venue_testkit("hyperliquid")
        kit.open_account(venue, "bob", key=AGENT_KEY, secret="", passphrase="", balances={"USDT": "500"})
        assert venue.address("bob") == AGENT and venue.ledger.accounts["bob"].balance("USDC").free == D("500")


def test_each_key_is_the_address_written_beside_it() -> None:
    from eth_account import Account

    derived = [Account.from_key(k).address.lower() for k in (ACCOUNT_KEY, AGENT_KEY, STRANGER_KEY)]
    assert derived == [ACCOUNT, AGENT, STRANGER]
