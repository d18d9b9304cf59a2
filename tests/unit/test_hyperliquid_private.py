"""Hyperliquid's private adapter, its pure parts: answers read into codes (and classified by arb's one rule through
the answer rules' reader), arb's client ids as cloids, the venue's order and fill messages in arb's words."""

from __future__ import annotations

import json
from decimal import Decimal as D  # noqa: N817 - short for the literals below
from types import SimpleNamespace
from typing import Any

from arb.execution.outcome import CAUSE_CREDENTIALS, Answer, Outcome, classify
from connectors.common.orders import OrderState
from connectors.common.private import MarketAssets
from connectors.hyperliquid.private import ANSWERS, HyperliquidPrivate, cloid_of, read_answer

SIGNER = "User or API Wallet 0xb8a6f8b26223de27c31938d56e470a5b832703a5 does not exist."


def _ok(kind: str, *statuses: object) -> dict[str, object]:
    return {"status": "ok", "response": {"type": kind, "data": {"statuses": list(statuses)}}}


def _err(text: str) -> dict[str, object]:
    return {"status": "err", "response": text}


def test_each_answer_is_read_into_the_venues_error_type() -> None:
    assert read_answer(_err(SIGNER)) == ("UnknownSigner", SIGNER)
    margin = "Insufficient margin to place order. asset=4"
    assert read_answer(_ok("order", {"error": margin})) == ("PerpMargin", margin)
    taking = "Post only order would have immediately matched, bbo was 60000@60010. asset=0"
    assert read_answer(_ok("order", {"error": taking}))[0] == "BadAloPx"
    assert read_answer(_ok("order", {"resting": {"oid": 1}})) == ("ok", "")
    assert read_answer(_ok("cancel", "success")) == ("ok", "")
    assert read_answer({"status": "unknownOid"}) == ("unknownOid", "")
    assert read_answer(_err("Something new.")) == ("err", "Something new.")


def _classified(body: object, status: int = 200) -> Answer:
    return classify(ANSWERS, written=True, http_status=status, body=json.dumps(body))


def test_a_refusal_inside_a_200_is_a_rejection_and_an_unknown_signer_is_the_credentials() -> None:
    signer = _classified(_err(SIGNER))
    assert (signer.outcome, signer.code, signer.cause) == (Outcome.REJECTED, "UnknownSigner", CAUSE_CREDENTIALS)
    margin = _classified(_ok("order", {"error": "Insufficient margin to place order."}))
    assert (margin.outcome, margin.code) == (Outcome.REJECTED, "PerpMargin")
    budget = _classified(_err("Too many cumulative requests sent (10001 > 10000) for cumulative volume traded $0.00."))
    assert budget.rate_limited and budget.outcome is Outcome.REJECTED
    assert _classified(_ok("order", {"filled": {"totalSz": "0.3", "avgPx": "60013.3", "oid": 7}})).outcome is (
        Outcome.ACCEPTED
    )
    assert _classified("bad gateway", 502).outcome is Outcome.UNKNOWN


def test_a_client_id_is_a_128_bit_cloid_and_the_venues_messages_name_arbs_id_again() -> None:
    adapter = HyperliquidPrivate("linear")
    cloid = adapter.cloid("arb-lz3k8f0q1a2b3c-1a-1")
    assert cloid == cloid_of("arb-lz3k8f0q1a2b3c-1a-1") and len(cloid) == 34 and int(cloid, 16) < 2**128
    canceled = {"order": {"coin": "BTC", "side": "B", "limitPx": "59000.0", "sz": "0.0007", "oid": 77738308,
                          "timestamp": 1723161250000, "origSz": "0.001", "tif": "Alo", "cloid": cloid},
                "status": "canceled", "statusTimestamp": 1723161251000}  # fmt: skip
    update = adapter.order_update(canceled)
    assert update is not None
    assert (update.client_id, update.venue_order_id, update.state, update.executed_qty, update.symbol) == (
        "arb-lz3k8f0q1a2b3c-1a-1", "77738308", OrderState.CANCELED, D("0.0003"), "BTCUSDT")  # fmt: skip
    ioc = {**canceled, "order": {**canceled["order"], "tif": "Ioc"}}  # type: ignore[dict-item]
    assert adapter.order_update(ioc).state is OrderState.EXPIRED  # type: ignore[union-attr]
    fill = {"coin": "BTC", "px": "60010.0", "sz": "0.2", "side": "A", "time": 1723161250000, "oid": 77738308,
            "crossed": False, "fee": "1.8003", "tid": 118906512037719, "feeToken": "USDC", "cloid": cloid}  # fmt: skip
    (booked,) = adapter.fills(fill, MarketAssets("BTC", "USDC"))
    assert (booked.trade_id, booked.client_id, booked.side, booked.price, booked.qty, booked.fee, booked.is_maker) == (
        "118906512037719", "arb-lz3k8f0q1a2b3c-1a-1", -1, D("60010.0"), D("0.2"), D("1.8003"), True)  # fmt: skip
    assert HyperliquidPrivate("linear").fills(fill, MarketAssets("BTC", "USDC"))[0].client_id == ""  # by its oid


class _Link:
    """The executor as the adapter sees it after a restart: the client ids of the orders it took over from the
    journal and a user stream whose next items are ``items`` (ccxt pro's, the venue's message in ``info``)."""

    def __init__(self, orders: list[str], items: list[dict[str, Any]]) -> None:
        self.known_client_ids = orders

        async def next_items() -> list[dict[str, Any]]:
            return [{"info": item} for item in items]

        self.exchange = SimpleNamespace(watch_orders=next_items, watch_my_trades=next_items)


async def test_a_message_about_an_order_a_previous_run_sent_names_it_before_any_query() -> None:
    # A restarted run's adapter has sent and asked nothing yet: the cloid on the stream is mapped back from the
    # orders the executor took over from the journal; one of no order of arb's stays unnamed
    earlier, foreign = "arb-lz3k8f0q1a2b3c-1a-1", cloid_of("someone else's")
    fill = {"coin": "BTC", "px": "60010.0", "sz": "0.2", "side": "B", "time": 1723161250000, "oid": 77738308,
            "crossed": True, "fee": "5.4", "tid": 118906512037719, "feeToken": "USDC",
            "cloid": cloid_of(earlier)}  # fmt: skip
    update = {"order": {"coin": "BTC", "side": "B", "limitPx": "60020.0", "sz": "0.0", "oid": 77738308,
                        "timestamp": 1723161250000, "origSz": "0.2", "tif": "Ioc", "cloid": cloid_of(earlier)},
              "status": "filled", "statusTimestamp": 1723161250000}  # fmt: skip
    stranger = {**fill, "tid": 2, "oid": 5, "cloid": foreign}
    adapter = HyperliquidPrivate("linear")
    link = _Link([earlier, "arb-lz3k8f0q1a2b3c-1a-2"], [fill, stranger])
    rows = await adapter.watch(link, "trades")  # type: ignore[arg-type]
    assets = MarketAssets("BTC", "USDC")
    assert [adapter.fills(r, assets)[0].client_id for r in rows] == [earlier, ""]
    again = HyperliquidPrivate("linear")
    (row,) = await again.watch(_Link([earlier], [update]), "orders")  # type: ignore[arg-type]
    named = again.order_update(row)
    assert named is not None and (named.client_id, named.state) == (earlier, OrderState.FILLED)
