"""The fake Bybit's wire helpers: signatures, reject tables, ids, statuses, numbers.

The signature vectors use the documented example strings of Bybit's v5 "Integration Guidance"
(``1658384314791XXXXXXXXXX5000category=option&symbol=BTC-29JUL22-25000-C``); the docs do not give
the secret behind their example signatures, so the expected hex digests here were computed once,
independently, with ``openssl dgst -sha256 -hmac fake-secret-0123``.
"""

from __future__ import annotations

from decimal import Decimal as D  # noqa: N817 - short for the many literals below

import pytest

from arb.sim.bybit.wire import (
    LINEAR_REJECTS,
    SPOT_REJECTS,
    decimal_text,
    ledger_exec_id,
    ledger_order_id,
    order_status,
    reject_code,
    rest_signature,
    timestamp_error,
    wire_exec_id,
    wire_order_id,
    ws_signature,
)
from arb.sim.ledger import OrderStatus, RejectReason, SymbolRules

SECRET = "fake-secret-0123"


def test_rest_signature_get_and_post_vectors() -> None:
    get = rest_signature(SECRET, "1658384314791", "XXXXXXXXXX", "5000", "category=option&symbol=BTC-29JUL22-25000-C")
    assert get == "294fd7e855117e7bbe997d81a4fba9bc8a35964aa4932941c5b87a20cbf29952"
    post = rest_signature(SECRET, "1658385579423", "XXXXXXXXXX", "5000", '{"category": "option"}')
    assert post == "35edb401dfbe3dbc24353950d7c04685ebbc00ca217efe2d99a3115414923500"


def test_ws_auth_signature_vector() -> None:
    # The docs' auth example expires 1662350400000; "GET/realtime" + expires is what is signed.
    assert ws_signature(SECRET, "1662350400000") == "206ae76b3a840c2b996359d2aadaab582e5932351e38fb4b374831f0b18668c5"


def test_timestamp_error_has_bybits_shape() -> None:
    assert timestamp_error("1678623600260", 1678623606869, "5000") == (
        "invalid request, please check your server timestamp or recv_window param. "
        "req_timestamp[1678623600260],server_timestamp[1678623606869],recv_window[5000]"
    )


@pytest.mark.parametrize("table", [SPOT_REJECTS, LINEAR_REJECTS], ids=["spot", "linear"])
def test_every_reject_reason_has_a_code(table: dict[RejectReason, tuple[int, str]]) -> None:
    # but a post-only order that would take: Bybit accepts it and cancels it (EC_PostOnlyWillTakeLiquidity),
    # its ledger never refuses one
    assert set(table) == set(RejectReason) - {RejectReason.POST_ONLY_TAKES}


def test_the_codes_the_brief_names() -> None:
    spot = {r: c for r, (c, _) in SPOT_REJECTS.items()}
    linear = {r: c for r, (c, _) in LINEAR_REJECTS.items()}
    assert spot[RejectReason.PRICE_TICK] == 170134 and spot[RejectReason.QTY_STEP] == 170137
    assert spot[RejectReason.QTY_MIN] == 170136 and spot[RejectReason.NOTIONAL_MIN] == 170140
    assert spot[RejectReason.INSUFFICIENT_BALANCE] == 170131 and spot[RejectReason.DUPLICATE_CLIENT_ID] == 170141
    assert linear[RejectReason.NOTIONAL_MIN] == 110094 and linear[RejectReason.PRICE_RANGE] == 110003
    assert linear[RejectReason.INSUFFICIENT_BALANCE] == 110007 and linear[RejectReason.DUPLICATE_CLIENT_ID] == 110072
    assert linear[RejectReason.REDUCE_ONLY] == 110017 and linear[RejectReason.QTY_STEP] == 10001
    rules = SymbolRules.of("BTCUSDT", tick_size="0.1", step_size="0.000001")
    assert reject_code("spot", RejectReason.PRICE_RANGE, rules, D("0.01"))[0] == 170133  # below minPrice
    assert reject_code("spot", RejectReason.PRICE_RANGE, rules, D("9999999"))[0] == 170132


@pytest.mark.parametrize("category", ["spot", "linear"])
def test_ids_round_trip(category: str) -> None:
    for ledger_id in (1, 1_000_001, 1_700_000_000_000_000_001 if category == "spot" else 123_456_789):
        wire = wire_order_id(category, ledger_id)  # type: ignore[arg-type]
        assert ledger_order_id(category, wire) == ledger_id  # type: ignore[arg-type]
        assert ledger_exec_id(category, wire_exec_id(category, ledger_id)) == ledger_id  # type: ignore[arg-type]
    assert ledger_order_id(category, "None") is None  # what ccxt sends for fetch_order(None, ...)  # type: ignore[arg-type]


def test_linear_ids_look_like_bybits_uuids_and_foreign_ones_are_not_ours() -> None:
    wire = wire_order_id("linear", 1_000_001)
    assert len(wire) == 36 and wire.count("-") == 4 and wire[14] == "4"
    assert ledger_order_id("linear", "c6f055d9-7f21-4079-913d-e6523a9cfffa") is None
    assert wire_order_id("spot", 1_700_000_000_000_000_001) == "1700000000000000001"


@pytest.mark.parametrize(
    ("category", "status", "executed", "wire"),
    [
        ("spot", OrderStatus.NEW, "0", "New"),
        ("spot", OrderStatus.PARTIALLY_FILLED, "1", "PartiallyFilled"),
        ("spot", OrderStatus.FILLED, "2", "Filled"),
        ("spot", OrderStatus.EXPIRED, "1", "PartiallyFilledCanceled"),  # "only spot has this order status"
        ("spot", OrderStatus.EXPIRED, "0", "Cancelled"),
        ("spot", OrderStatus.CANCELED, "0", "Cancelled"),
        ("linear", OrderStatus.EXPIRED, "1", "Cancelled"),  # derivatives: Cancelled with an executed qty
        ("linear", OrderStatus.CANCELED, "1", "Cancelled"),
    ],
)
def test_order_status(category: str, status: OrderStatus, executed: str, wire: str) -> None:
    assert order_status(category, status, D(executed)) == wire  # type: ignore[arg-type]


def test_decimal_text_keeps_the_steps_decimals() -> None:
    assert decimal_text(D("0.01"), D("0.000001")) == "0.010000"
    assert decimal_text(D("25"), D("1")) == "25"
    assert decimal_text(D("61837.6"), D("0.10")) == "61837.6"
    assert decimal_text(D("618.39900")) == "618.399"
    assert decimal_text(D("1E+2")) == "100"
    assert decimal_text(D("0E-8")) == "0"
