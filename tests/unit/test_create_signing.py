"""A create's REST request signed by the venue's own code gives what ccxt's ``sign`` gives, byte for byte.

Both legs of a decision are signed before either is written, so the REST path signs a create with the
venue's own few lines (:meth:`~connectors.common.ccxt_venue.CcxtVenue.create_signer`) rather than ccxt's
generic ``sign``; it does so only when, for the client at hand, both give the same request. These tests hold
it to that for every market, time in force, side and reduce-only flag, and for values that need quoting
or escaping, and show that a signer that differs (or a key ccxt signs another way) leaves ccxt signing.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from connectors.common.ccxt_venue import CcxtVenue
from connectors.common.order_entry import CreateSigner, SignedRest
from connectors.common.private import Market, OrderRequest, TimeInForce
from connectors.registry import private_venue

MARKETS = [("binance", "spot"), ("binance", "linear"), ("bybit", "spot"), ("bybit", "linear")]
KEY, SECRET = "k3y-of-the-test", "s3cret-of-the-test"


@asynccontextmanager
async def client(adapter: CcxtVenue, **options: Any) -> AsyncIterator[Any]:
    """A client of ``adapter`` on a loopback URL nothing listens on (signing sends nothing), closed after."""
    exchange = adapter.make_client(rest="http://127.0.0.1:9", api_key=KEY, api_secret=SECRET, **options)
    try:
        yield exchange
    finally:
        await exchange.close()


def wire(signed: SignedRest) -> tuple[str, str, list[tuple[str, str]], str | None]:
    """A request as it goes out: the headers in their order."""
    return signed.url, signed.method, list((signed.headers or {}).items()), signed.body


def same_as_ccxt(adapter: CcxtVenue, exchange: Any, signer: CreateSigner, order: OrderRequest) -> None:
    _, params = adapter.socket_create(order)
    reference = adapter.ccxt_signed(exchange, dict(params))
    stamp = signer.timestamp_of(reference)
    assert stamp is not None and abs(stamp - exchange.nonce()) < 60_000
    assert wire(signer.sign(params, stamp)) == wire(reference)


@pytest.mark.parametrize(("venue", "market"), MARKETS)
async def test_every_create_is_signed_as_ccxt_signs_it(venue: str, market: Market) -> None:
    adapter = private_venue(venue, market)
    assert isinstance(adapter, CcxtVenue)
    async with client(adapter, recv_window_ms=7_000) as exchange:
        signer = adapter.create_signer(exchange)
        assert signer is not None
        ccxt_symbol = "BTC/USDT" if market == "spot" else "BTC/USDT:USDT"
        for tif, side, reduce_only, client_id in itertools.product(
            TimeInForce, (1, -1), (False, True), ("arb-1a2b-7-0", "arb x/1+2=&ü")
        ):
            order = OrderRequest("BTCUSDT", ccxt_symbol, side, "0.00125", "64999.9", client_id,
                                 reduce_only=reduce_only, time_in_force=tif)  # fmt: skip
            same_as_ccxt(adapter, exchange, signer, order)


@pytest.mark.parametrize(("venue", "market"), MARKETS)
async def test_a_key_ccxt_signs_another_way_is_left_to_ccxt(venue: str, market: Market) -> None:
    adapter = private_venue(venue, market)
    assert isinstance(adapter, CcxtVenue)
    pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----"
    exchange = adapter.make_client(rest="http://127.0.0.1:9", api_key=KEY, api_secret=pem)
    try:
        assert adapter.own_create_signer(exchange, SignedRest("http://127.0.0.1:9/x", "POST", {}, None)) is None
    finally:
        await exchange.close()


async def test_a_client_without_a_key_is_left_to_ccxt_to_refuse() -> None:
    adapter = private_venue("bybit", "linear")
    assert isinstance(adapter, CcxtVenue)
    exchange = adapter.make_client(rest="http://127.0.0.1:9")
    try:
        assert adapter.create_signer(exchange) is None
    finally:
        await exchange.close()


class _Skewed:
    """A signer one header off from ccxt's: what another ccxt release could make of the venue's own."""

    def __init__(self, inner: CreateSigner) -> None:
        self.inner = inner

    def sign(self, params: Any, timestamp_ms: int) -> SignedRest:
        signed = self.inner.sign(params, timestamp_ms)
        return SignedRest(signed.url, signed.method, {**(signed.headers or {}), "X-Extra": "1"}, signed.body)

    def timestamp_of(self, signed: SignedRest) -> int | None:
        return self.inner.timestamp_of(signed)


@pytest.mark.parametrize(("venue", "market"), [("binance", "spot"), ("bybit", "linear")])
async def test_a_signer_that_differs_from_ccxt_leaves_ccxt_signing_and_names_no_value(
    venue: str, market: Market, caplog: pytest.LogCaptureFixture
) -> None:
    adapter = private_venue(venue, market)
    assert isinstance(adapter, CcxtVenue)

    class Skewed(type(adapter)):  # type: ignore[misc]
        def own_create_signer(self, exchange: Any, reference: SignedRest) -> CreateSigner | None:
            inner = super().own_create_signer(exchange, reference)
            return None if inner is None else _Skewed(inner)

    skewed = Skewed(market)
    caplog.set_level(logging.WARNING)
    async with client(skewed) as exchange:
        assert adapter.create_signer(exchange) is not None  # the venue's own, as it is
        assert skewed.create_signer(exchange) is None
    (said,) = [r.getMessage() for r in caplog.records]
    assert "differs from ccxt's (headers): ccxt signs every create" in said
    assert KEY not in said and SECRET not in said
