"""OKX's private adapter: the requests it sends for each operation and what it makes of OKX's answers.

The answers are OKX's documented shapes (docs v5: "Place order", "Get order details", "Order channel", the error
code tables); each test names the OKX difference it shows, the one an executor written for the other venues
gets wrong.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from arb.errors import EXIT_NEEDS_OPERATOR
from arb.execution.outcome import Outcome, classify
from connectors.common.orders import OrderState
from connectors.common.private import DeadManScope, MarketAssets, OrderRequest, TimeInForce
from connectors.okx.private import ANSWERS, OkxPrivate, PositionModeError
from connectors.okx.trade_socket import OkxTradeFraming
from connectors.okx.trading import arb_client_id, okx_client_id
from connectors.registry import private_venue
from tests.unit.private_link import ScriptedLink, refusal

SPOT, LINEAR = OkxPrivate("spot"), OkxPrivate("linear")
CID = "arb-mwylg49b3yihdi-1a-1"
ASSETS = MarketAssets("BTC", "USDT")


def loaded(adapter: OkxPrivate) -> OkxPrivate:
    """``adapter`` with its instrument's markets loaded as ccxt's okx keeps them (``info`` the instrument)."""
    swap = adapter.market == "linear"
    info = {"instId": "BTC-USDT-SWAP" if swap else "BTC-USDT", "instIdCode": "10459" if swap else "10001",
            "ctVal": "0.01" if swap else "", "ctMult": "1" if swap else ""}  # fmt: skip
    market = {"id": info["instId"], "type": "swap" if swap else "spot", "base": "BTC", "quote": "USDT", "info": info}
    adapter.markets_loaded(SimpleNamespace(markets={"m": market}))
    return adapter


def order(qty: str = "0.05", tif: TimeInForce = TimeInForce.IOC, *, reduce_only: bool = False) -> OrderRequest:
    return OrderRequest("BTCUSDT", "BTC/USDT", 1, qty, "60000.1", CID, reduce_only=reduce_only, time_in_force=tif)


def test_the_registry_finds_the_adapter_and_its_account_wide_switch() -> None:
    assert isinstance(private_venue("okx", "spot"), OkxPrivate)
    assert SPOT.dead_man is DeadManScope.ACCOUNT is LINEAR.dead_man
    assert (SPOT.market_id("BTCUSDT"), LINEAR.market_id("BTCUSDT")) == ("BTC-USDT", "BTC-USDT-SWAP")


def test_client_ids_are_at_most_32_letters_and_digits_and_come_back() -> None:
    # OKX refuses a clOrdId with a dash: arb's ids go out with X for each dash (never in arb's ids)
    wire = okx_client_id(CID)
    assert wire.isalnum() and len(wire) <= 32 and arb_client_id(wire) == CID
    with pytest.raises(ValueError, match="32"):
        okx_client_id("arb-" + "x" * 40)


def test_a_websocket_order_names_its_instrument_by_instidcode_and_rest_by_instid() -> None:
    linear = loaded(OkxPrivate("linear"))
    operation, ws = linear.socket_create(order("0.05", reduce_only=True))
    assert operation == "order" and "instId" not in ws
    # linear sizes are contracts of ctVal 0.01 BTC; the margin mode is the perpetual's (cross by default)
    assert ws == {"instIdCode": 10459, "tdMode": "cross", "side": "buy", "ordType": "ioc", "px": "60000.1",
                  "sz": "5", "clOrdId": okx_client_id(CID), "reduceOnly": True}  # fmt: skip
    spot = loaded(OkxPrivate("spot"))
    body = spot._order_body(order("0.00012", TimeInForce.POST_ONLY))
    assert body["instId"] == "BTC-USDT" and body["tdMode"] == "cash" and body["sz"] == "0.00012"
    assert body["ordType"] == "post_only" and "reduceOnly" not in body


def test_an_item_refused_inside_an_http_200_is_a_rejection_with_the_items_code() -> None:
    # OKX answers HTTP 200 with code "1" and the order's own sCode: the executor reads the item, not the status
    item = {"clOrdId": "x", "ordId": "", "sCode": "51008", "sMsg": "Order failed. Insufficient balance."}
    body = {"code": "1", "msg": "All operations failed", "data": [item]}
    answer = classify(ANSWERS, written=True, http_status=200, body=json.dumps(body))
    assert (answer.outcome, answer.code, answer.message) == (
        Outcome.REJECTED,
        "51008",
        "Order failed. Insufficient balance.",
    )
    accepted = {"code": "0", "msg": "", "data": [{"clOrdId": "x", "ordId": "1", "sCode": "0", "sMsg": ""}]}
    assert classify(ANSWERS, written=True, http_status=200, body=json.dumps(accepted)).outcome is Outcome.ACCEPTED


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, "50004"), (503, "50001"), (429, "50013"), (500, "50026"), (200, "51149"), (200, "51016")],
)
def test_timeouts_busy_answers_and_a_duplicate_client_id_leave_the_outcome_unknown(status: int, code: str) -> None:
    # a duplicate clOrdId (51016) means OKX holds an open order with arb's id: placed, never "not placed"
    body = {"code": code, "msg": "m", "data": []} if status != 200 else {
        "code": "1", "msg": "", "data": [{"sCode": code, "sMsg": "m"}]}  # fmt: skip
    answer = classify(ANSWERS, written=True, http_status=status, body=json.dumps(body))
    assert (answer.outcome, answer.code) == (Outcome.UNKNOWN, code)
    assert answer.rate_limited is (status == 429)  # systems busy also holds the venue a while


def test_a_rate_limit_is_the_instruments_not_a_ban() -> None:
    body = {"code": "50011", "msg": "Too Many Requests", "data": []}
    answer = classify(ANSWERS, written=True, http_status=429, body=json.dumps(body))
    assert answer.outcome is Outcome.REJECTED and answer.rate_limited and answer.endpoint_limit and not answer.banned


def test_an_accepted_post_only_cancelled_by_okx_is_expired_not_cancelled() -> None:
    # OKX accepts a post_only that would take, then cancels it with cancelSource 31
    spot = loaded(OkxPrivate("spot"))
    row = {"instId": "BTC-USDT", "ordId": "7", "clOrdId": okx_client_id(CID), "state": "canceled",
           "ordType": "post_only", "cancelSource": "31", "accFillSz": "0", "avgPx": "", "uTime": "1"}  # fmt: skip
    update = spot.order_update(row)
    assert update is not None and (update.client_id, update.state) == (CID, OrderState.EXPIRED)
    assert spot.order_update({**row, "cancelSource": "1"}).state is OrderState.CANCELED  # type: ignore[union-attr]
    assert spot.order_update({**row, "ordType": "ioc", "cancelSource": "14"}).state is OrderState.EXPIRED  # type: ignore[union-attr]


def test_swap_sizes_and_fees_come_back_in_base_units_and_charged_positive() -> None:
    linear = loaded(OkxPrivate("linear"))
    push = {"instId": "BTC-USDT-SWAP", "ordId": "9", "clOrdId": okx_client_id(CID), "state": "partially_filled",
            "ordType": "ioc", "accFillSz": "3", "avgPx": "60000", "fillSz": "2", "fillPx": "60000", "tradeId": "44",
            "fillFee": "-0.6", "fillFeeCcy": "USDT", "execType": "T", "side": "sell", "fillTime": "1700000000001",
            "uTime": "1700000000001"}  # fmt: skip
    update = linear.order_update(push)
    assert update is not None and update.executed_qty == Decimal("0.03") and update.cum_quote == Decimal("1800.00")
    (fill,) = linear.fills(push, ASSETS)
    assert (fill.qty, fill.fee, fill.fee_asset, fill.side, fill.client_id, fill.is_maker) == (
        Decimal("0.02"),
        Decimal("0.6"),
        "USDT",
        -1,
        CID,
        False,
    )
    assert linear.fills({**push, "fillSz": "0", "tradeId": ""}, ASSETS) == []  # a state change carries no fill
    # an accepted order request's item is the order accepted, with OKX's order id
    ack = linear.order_update({"ordId": "9", "clOrdId": okx_client_id(CID), "sCode": "0", "sMsg": ""})
    assert ack is not None and (ack.state, ack.venue_order_id, ack.client_id) == (OrderState.ACCEPTED, "9", CID)


async def test_a_long_short_account_is_refused_with_exit_78_naming_the_setting() -> None:
    link = ScriptedLink(
        {"privateGetAccountConfig": [{"code": "0", "msg": "", "data": [{"posMode": "long_short_mode"}]}]}
    )
    with pytest.raises(PositionModeError, match="Position mode") as caught:
        await OkxPrivate("linear").perpetual_account(link, "isolated", "okx.toml")
    assert caught.value.exit_code == EXIT_NEEDS_OPERATOR
    net = ScriptedLink({"privateGetAccountConfig": [{"code": "0", "msg": "", "data": [{"posMode": "net_mode"}]}]})
    linear = OkxPrivate("linear")
    assert await linear.perpetual_account(net, "isolated", "okx.toml") == [] and linear.td_mode == "isolated"


async def test_a_cancel_says_whether_the_order_was_open() -> None:
    ok = {"code": "0", "msg": "", "data": [{"sCode": "0"}]}
    link = ScriptedLink({"privatePostTradeCancelOrder": [ok, refusal("51400"), refusal("51410"), refusal("51000")]})
    assert await SPOT.cancel(link, "BTCUSDT", CID) is True
    assert await SPOT.cancel(link, "BTCUSDT", CID) is False  # filled, cancelled or none: a query tells
    assert await SPOT.cancel(link, "BTCUSDT", CID) is True  # being cancelled already
    with pytest.raises(Exception, match="51000"):
        await SPOT.cancel(link, "BTCUSDT", CID)
    assert link.requests[0] == ("privatePostTradeCancelOrder", {"instId": "BTC-USDT", "clOrdId": okx_client_id(CID)})


async def test_a_query_of_an_order_okx_does_not_have_is_none() -> None:
    link = ScriptedLink({"privateGetTradeOrder": [refusal("51603")]})
    assert await SPOT.query(link, "BTCUSDT", CID) is None
    assert link.requests == [("privateGetTradeOrder", {"instId": "BTC-USDT", "clOrdId": okx_client_id(CID)})]


async def test_the_dead_mans_switch_is_cancel_all_after_within_okxs_range() -> None:
    ok = {"code": "0", "msg": "", "data": [{"triggerTime": "1", "tag": "", "ts": "1"}]}
    link = ScriptedLink({"privatePostTradeCancelAllAfter": [ok, ok]})
    await SPOT.arm_dead_man(link, [], 30)
    await SPOT.arm_dead_man(link, [], 5)  # OKX takes 10-120 s
    assert [params for _, params in link.requests] == [{"timeOut": "30"}, {"timeOut": "10"}]


async def test_fees_are_read_from_trade_fee_negative_being_a_commission() -> None:
    spot_fee = {"code": "0", "msg": "", "data": [{"instType": "SPOT", "maker": "-0.0008", "taker": "-0.001",
                                                   "makerU": "", "takerU": "", "level": "Lv1"}]}  # fmt: skip
    swap_fee = {"code": "0", "msg": "", "data": [{"instType": "SWAP", "maker": "", "taker": "", "makerU": "-0.0002",
                                                   "takerU": "-0.0005", "level": "Lv1"}]}  # fmt: skip
    link = ScriptedLink({"privateGetAccountTradeFee": [spot_fee, swap_fee]})
    fees = await SPOT.account_fees(link, "BTCUSDT")
    assert (fees.maker, fees.taker) == (Decimal("0.0008"), Decimal("0.001"))
    fees = await LINEAR.account_fees(link, "BTCUSDT")
    assert (fees.maker, fees.taker) == (Decimal("0.0002"), Decimal("0.0005"))
    assert link.requests[1] == ("privateGetAccountTradeFee", {"instType": "SWAP", "instFamily": "BTC-USDT"})


def test_demo_trading_is_the_testnet_network_with_the_simulated_trading_header() -> None:
    demo = SPOT.make_client(rest="http://127.0.0.1:1", ws_private="ws://127.0.0.1:1/ws/v5/private", api_key="k",
                            api_secret="s", api_password="p", network="testnet", pro=True)  # fmt: skip
    live = SPOT.make_client(rest="http://127.0.0.1:1", api_key="k", api_secret="s", api_password="p", network="mainnet")
    assert demo.headers.get("x-simulated-trading") == "1" and "x-simulated-trading" not in (live.headers or {})
    assert demo.urls["api"]["ws"] == "ws://127.0.0.1:1/ws/v5" and demo.password == "p"  # ccxt adds /private
    signed = SPOT.ccxt_signed(demo, {"instId": "BTC-USDT", "clOrdId": "a"})
    assert signed.headers is not None and signed.headers["x-simulated-trading"] == "1"  # the REST lane sends it


def test_the_websocket_login_is_signed_with_the_passphrase() -> None:
    framing = OkxTradeFraming("key", "secret", "pass")
    login: Any = json.loads(framing.login(1_700_000_000_123))
    (args,) = login["args"]
    expected = base64.b64encode(hmac.new(b"secret", b"1700000000GET/users/self/verify", hashlib.sha256).digest())
    assert (args["apiKey"], args["passphrase"], args["timestamp"], args["sign"]) == (
        "key", "pass", "1700000000", expected.decode())  # fmt: skip
    assert framing.login_answer({"event": "error", "code": "60024", "msg": "Wrong passphrase"}) == (
        False, "60024", "Wrong passphrase")  # fmt: skip
    frame = json.loads(framing.request("18ab3-7", "order", {"instIdCode": 1}, 0))
    assert frame["id"].isalnum() and framing.answer_id({"id": frame["id"], "op": "order"}) == "18ab3-7"
    assert "key" not in repr(framing) and "pass" not in repr(framing)
