"""Orders on the venues' grids in the safe direction, and request outcomes from the wire."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from arb.execution.outcome import Outcome, classify
from arb.execution.price_grid import common_step, grid_price, grid_qty, wire


@pytest.mark.parametrize(
    ("price", "tick", "side", "expected"),
    [
        (61837.634, "0.01", 1, "61837.64"),  # a buy rounds up: stays marketable
        (61837.634, "0.01", -1, "61837.63"),  # a sell rounds down
        (0.1 + 0.2, "0.1", 1, "0.3"),  # binary noise is not a tick
        (0.1 + 0.2, "0.1", -1, "0.3"),
        (50000.06, "0.1", 1, "50000.1"),
        (50000.06, "0.1", -1, "50000"),
        (100.0, "0.5", 1, "100"),
    ],
)
def test_price_rounds_towards_the_book(price: float, tick: str, side: int, expected: str) -> None:
    assert wire(grid_price(price, tick, side)) == expected


def test_quantity_rounds_down_and_legs_share_a_step() -> None:
    assert wire(grid_qty(0.0012345, "0.00001")) == "0.00123"
    assert wire(grid_qty(0.0009999, "0.001")) == "0"
    assert wire(grid_qty(0.003, "0.001")) == "0.003"  # 0.003 / 0.001 = 2.9999999999999996 in floats
    assert common_step("0.00001", "0.000001") == Decimal("0.00001")
    assert common_step("0.002", "0.003") == Decimal("0.006")
    assert common_step(0.001, 0.001) == Decimal("0.001")
    assert wire(grid_qty(0.0123456, common_step("0.00001", "0.001"))) == "0.012"


def test_wire_strings_have_no_exponent() -> None:
    assert wire(Decimal("1E+2")) == "100"
    assert wire(Decimal("0.00000100")) == "0.000001"


_SENT = {"written": True}


@pytest.mark.parametrize(
    ("venue", "kwargs", "outcome", "code"),
    [
        ("binance", {"written": False, "http_status": None}, Outcome.REJECTED, "not-sent"),
        ("binance", {**_SENT, "http_status": None, "timed_out": True}, Outcome.UNKNOWN, "timeout"),
        ("binance", {**_SENT, "http_status": None}, Outcome.UNKNOWN, "dropped"),
        ("binance", {**_SENT, "http_status": 200, "body": '{"orderId":1}'}, Outcome.ACCEPTED, ""),
        ("binance", {**_SENT, "http_status": 200, "body": '{"orde'}, Outcome.UNKNOWN, "bad-body"),
        ("binance", {**_SENT, "http_status": 503, "body": "Service Unavailable"}, Outcome.UNKNOWN, "http-503"),
        ("binance", {**_SENT, "http_status": 502, "body": "<html>"}, Outcome.UNKNOWN, "http-502"),
        (
            "bybit",
            {**_SENT, "http_status": 200, "body": '{"retCode":0,"retMsg":"OK","result":{}}'},
            Outcome.ACCEPTED,
            "0",
        ),
        ("bybit", {**_SENT, "http_status": 502, "body": ""}, Outcome.UNKNOWN, "http-502"),
    ],
)
def test_outcomes(venue: str, kwargs: dict[str, object], outcome: Outcome, code: str) -> None:
    answer = classify(venue, **kwargs)  # type: ignore[arg-type]
    assert (answer.outcome, answer.code) == (outcome, code)


# The venue's own error codes: (venue, HTTP status, code, message, outcome). The body is the venue's
# error object, ``{"code":..,"msg":..}`` on Binance and ``{"retCode":..,"retMsg":..}`` on Bybit.
_VENUE_CODES = [
    ("binance", 400, -2010, "Duplicate order sent.", Outcome.REJECTED),
    ("binance", 400, -1021, "Timestamp...", Outcome.REJECTED),
    ("binance", 503, -1007, "Timeout waiting", Outcome.UNKNOWN),
    ("binance", 400, -4116, "ClientOrderId is duplicated", Outcome.REJECTED),
    ("bybit", 200, 170131, "Insufficient balance.", Outcome.REJECTED),
    ("bybit", 200, 10016, "Internal system error.", Outcome.UNKNOWN),
    ("bybit", 200, 10002, "invalid request", Outcome.REJECTED),
]


@pytest.mark.parametrize(("venue", "status", "error", "message", "outcome"), _VENUE_CODES)
def test_venue_error_codes(venue: str, status: int, error: int, message: str, outcome: Outcome) -> None:
    keys = ("code", "msg") if venue == "binance" else ("retCode", "retMsg")
    body = json.dumps(dict(zip(keys, (error, message), strict=True)), separators=(",", ":"))
    answer = classify(venue, written=True, http_status=status, body=body)
    assert (answer.outcome, answer.code) == (outcome, str(error))


def test_rate_limits_and_bans_carry_the_wait() -> None:
    answer = classify("binance", written=True, http_status=429, headers={"Retry-After": "7"},
                      body='{"code":-1003,"msg":"Too much request weight used"}')  # fmt: skip
    assert answer.outcome is Outcome.REJECTED and answer.rate_limited and not answer.banned
    assert answer.retry_after_s == 7
    ban = classify("binance", written=True, http_status=418, now_ms=1_000_000,
                   body='{"code":-1003,"msg":"Way too much request weight used; IP banned until 1120000"}')  # fmt: skip
    assert ban.banned and ban.retry_after_s == 120
    bybit = classify("bybit", written=True, http_status=200, body='{"retCode":10006,"retMsg":"Too many visits!"}')
    assert bybit.rate_limited and bybit.outcome is Outcome.REJECTED and bybit.endpoint_limit
    # a ban that names no end lasts the venue's own rule: Bybit asks for "at least 10 minutes" after a 403
    bybit_ban = classify("bybit", written=True, http_status=403, body="access too frequent")
    assert bybit_ban.banned and bybit_ban.retry_after_s == 600 and not bybit_ban.endpoint_limit
    ip = classify("bybit", written=True, http_status=200, body='{"retCode":10018,"retMsg":"IP Rate Limit"}')
    assert ip.rate_limited and not ip.endpoint_limit  # the IP's limit is not one endpoint's
    binance_ban = classify("binance", written=True, http_status=418, body='{"code":-1003,"msg":"banned"}')
    assert binance_ban.banned and binance_ban.retry_after_s == 120
