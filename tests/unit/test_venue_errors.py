"""A venue's failed request in one line: what the wire showed, worded by the one rule (``classify``), with
what to check and the exit code."""

from __future__ import annotations

import pytest

from arb.errors import EXIT_VENUE_REFUSED, EXIT_VENUE_UNAVAILABLE
from arb.execution.outcome import CAUSE_CLOCK, CAUSE_CREDENTIALS, Outcome, classify
from arb.execution.venue_errors import VenueSetup, venue_error

SETUP = VenueSetup(
    "the environment variables BINANCE_API_KEY and BINANCE_API_SECRET",
    "spot",
    "testnet",
    "https://testnet.binance.vision",
    "config/binance.toml",
)


@pytest.mark.parametrize(
    ("venue", "status", "body", "cause"),
    [
        ("binance", 400, '{"code":-1022,"msg":"Signature for this request is not valid."}', CAUSE_CREDENTIALS),
        ("binance", 401, '{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}', CAUSE_CREDENTIALS),
        ("binance", 400, '{"code":-1021,"msg":"Timestamp outside of the recvWindow."}', CAUSE_CLOCK),
        ("bybit", 200, '{"retCode":10004,"retMsg":"error sign! origin_string[...]"}', CAUSE_CREDENTIALS),
        ("bybit", 200, '{"retCode":10003,"retMsg":"API key is invalid."}', CAUSE_CREDENTIALS),
        ("bybit", 200, '{"retCode":10002,"retMsg":"invalid request, please check your server timestamp"}', CAUSE_CLOCK),
        ("bybit", 200, '{"retCode":170131,"retMsg":"Insufficient balance."}', ""),
    ],
)
def test_a_refusal_says_what_it_is_about(venue: str, status: int, body: str, cause: str) -> None:
    answer = classify(venue, written=True, http_status=status, body=body)
    assert answer.outcome is Outcome.REJECTED and answer.cause == cause


def test_a_refused_secret_names_the_variables_and_exits_3() -> None:
    body = '{"code":-1022,"msg":"Signature for this request is not valid."}'
    answer = classify("binance", written=True, http_status=400, body=body)
    error = venue_error("binance spot", answer, SETUP, request="GET /api/v3/myTrades")
    text = str(error)
    assert "\n" not in text and error.exit_code == EXIT_VENUE_REFUSED and not error.retryable
    assert text.startswith("binance spot: GET /api/v3/myTrades was refused: HTTP 400 -1022 Signature")
    assert "BINANCE_API_KEY and BINANCE_API_SECRET" in text and "testnet" in text and error.code == "-1022"


def test_a_refused_connection_names_the_url_and_the_file_and_exits_4() -> None:
    answer = classify("bybit", written=False, http_status=None)
    error = venue_error("bybit spot", answer, SETUP, request="GET /v5/market/instruments-info",
                        reason="connection refused")  # fmt: skip
    assert error.exit_code == EXIT_VENUE_UNAVAILABLE and error.retryable
    assert "could not reach https://testnet.binance.vision (connection refused)" in str(error)
    assert "check the network and [endpoints] rest in config/binance.toml" in str(error)


@pytest.mark.parametrize(
    ("venue", "status", "body", "said"),
    [
        ("binance", 500, '{"code":-1001,"msg":"Internal error; unable to process your request."}', "HTTP 500 -1001"),
        ("binance", 503, '{"code":-1008,"msg":"Server is currently overloaded."}', "rate limited"),
        ("binance", 418, '{"code":-1003,"msg":"Way too much request weight used; IP banned until 1."}', "BANNED"),
        ("bybit", 502, "Bad Gateway", "HTTP 502 Bad Gateway"),
        ("bybit", 200, '{"retCode":10006,"retMsg":"Too many visits!"}', "rate limited"),
    ],
)
def test_what_may_pass_by_itself_exits_4(venue: str, status: int, body: str, said: str) -> None:
    answer = classify(venue, written=True, http_status=status, body=body, now_ms=0)
    error = venue_error(f"{venue} spot", answer, SETUP, request="POST /x")
    assert said in str(error) and error.exit_code == EXIT_VENUE_UNAVAILABLE


def test_a_refused_setting_says_the_callers_hint() -> None:
    body = '{"retCode":10001,"retMsg":"params error"}'
    answer = classify("bybit", written=True, http_status=200, body=body)
    error = venue_error("bybit spot", answer, SETUP, request="POST /v5/order/disconnected-cancel-all",
                        hint="that the account has DCP turned on")  # fmt: skip
    assert str(error).endswith("check that the account has DCP turned on") and error.exit_code == EXIT_VENUE_REFUSED
