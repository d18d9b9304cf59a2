"""The ccxt clients the venue adapters make close at once on plain TCP (the loopback fake venues), and wait
as ccxt does (``timeout_on_exit``, for TLS connections to shut down) on an encrypted endpoint."""

from __future__ import annotations

import pytest

from arb.execution.ccxt_setup import Market, make_exchange

CCXT_TLS_WAIT_MS = 250
"""ccxt's own ``timeout_on_exit`` (4.5.90)."""


@pytest.mark.parametrize(("venue", "market"), [("binance", "spot"), ("binance", "linear"), ("bybit", "spot"),
                                               ("bybit", "linear")])  # fmt: skip
def test_only_a_client_with_every_configured_endpoint_plain_skips_the_tls_wait(venue: str, market: Market) -> None:
    def wait_ms(rest: str, ws_private: str | None) -> int:
        return int(make_exchange(venue, market, rest=rest, ws_private=ws_private, pro=True).timeout_on_exit)

    assert wait_ms("http://127.0.0.1:9", "ws://127.0.0.1:9/ws") == 0
    assert wait_ms("http://127.0.0.1:9", None) == 0
    assert wait_ms("https://api.example.com", "wss://stream.example.com/ws") == CCXT_TLS_WAIT_MS
    assert wait_ms("http://127.0.0.1:9", "wss://stream.example.com/ws") == CCXT_TLS_WAIT_MS
    assert wait_ms("https://api.example.com", "ws://127.0.0.1:9/ws") == CCXT_TLS_WAIT_MS


def test_every_client_and_rest_lane_of_a_process_shares_one_verifying_tls_context() -> None:
    # Making a context parses the whole CA bundle; ccxt made one per client at its first request
    import ssl

    from connectors.common.rest_lane import RestLane, verified_tls

    clients = [make_exchange(venue, "linear", rest="https://api.example.com") for venue in ("binance", "bybit")]
    lane = RestLane("https://api.example.com", name="lane", size=1, request_timeout_s=1.0)
    plain = RestLane("http://127.0.0.1:9", name="plain", size=1, request_timeout_s=1.0)
    context = verified_tls()
    assert [c.ssl_context for c in clients] == [context, context]
    assert lane._ssl is context and plain._ssl is None
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
