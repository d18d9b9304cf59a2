"""A live-trading rig for tests: a fake private venue, a configuration pointing at it, a session.

The configuration is written to files by ``arb.testing.configs`` with the venue's loopback URLs
(network ``local``, private stream included), keys come from environment variables as in production,
and the journal is a SQLite file (or the PostgreSQL URL given) in the test's folder.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from arb.config import AppConfig, load_config
from arb.execution.live import VenueExecutor
from arb.testing.configs import local_endpoints, write_config_files
from arb.testing.fake_binance_private import FakeBinanceExchange
from arb.testing.fake_bybit_private import FakeBybitExchange
from arb.testing.fake_ledger import LedgerAccount, SymbolRules
from arb.testing.replay import FrameKind
from tests.helpers import BYBIT_OB500, RECORDINGS, SPOT_BTC_HEAD, USDM_BTC

KEY, SECRET = "rigKey0123456789", "rigSecret0123456789abcdef"
WAIT_S = 10.0

BYBIT_SPOT_RULES = SymbolRules(
    "BTCUSDT", "BTC", "USDT", tick_size=Decimal("0.1"), step_size=Decimal("0.000001"), min_qty=Decimal("0.000048"),
    max_qty=Decimal("83"), min_notional=Decimal("5"), min_price=Decimal("0.1"), max_price=Decimal("1999999.8"),
)  # fmt: skip
BYBIT_LINEAR_RULES = SymbolRules(
    "XRPUSDT", "XRP", "USDT", tick_size=Decimal("0.0001"), step_size=Decimal("1"), min_qty=Decimal("1"),
    max_qty=Decimal("1000000"), min_notional=Decimal("5"), min_price=Decimal("0.0001"), max_price=Decimal("199.9998"),
)  # fmt: skip

BINANCE_SPOT_RULES = SymbolRules(
    "BTCUSDT", "BTC", "USDT", tick_size=Decimal("0.01"), step_size=Decimal("0.00001"), min_qty=Decimal("0.00001"),
    max_qty=Decimal("9000"), min_notional=Decimal("5"), min_price=Decimal("0.01"), max_price=Decimal("1000000"),
)  # fmt: skip
BINANCE_LINEAR_RULES = SymbolRules(
    "BTCUSDT", "BTC", "USDT", tick_size=Decimal("0.1"), step_size=Decimal("0.001"), min_qty=Decimal("0.001"),
    max_qty=Decimal("1000"), min_notional=Decimal("100"), min_price=Decimal("556.8"), max_price=Decimal("4529764"),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class VenueSpec:
    """One venue-market the rig can stand up."""

    venue: str
    market: str
    symbol: str
    recording: Path
    rules: SymbolRules
    balances: dict[str, str]

    @property
    def index(self) -> int:
        return 0 if self.venue == "binance" else 1

    @property
    def id(self) -> str:
        return f"{self.venue}-{self.market}"


BYBIT_SPOT = VenueSpec("bybit", "spot", "BTCUSDT", RECORDINGS / "bybit_spot" / "btcusdt_20240808.gz",
                       BYBIT_SPOT_RULES, {"USDT": "100000", "BTC": "50"})  # fmt: skip
BYBIT_LINEAR = VenueSpec("bybit", "linear", "XRPUSDT", BYBIT_OB500, BYBIT_LINEAR_RULES, {"USDT": "10000"})
BINANCE_SPOT = VenueSpec("binance", "spot", "BTCUSDT", SPOT_BTC_HEAD, BINANCE_SPOT_RULES,
                         {"USDT": "100000", "BTC": "50"})  # fmt: skip
BINANCE_LINEAR = VenueSpec("binance", "linear", "BTCUSDT", USDM_BTC, BINANCE_LINEAR_RULES, {"USDT": "100000"})
ALL_SPECS = [BINANCE_SPOT, BINANCE_LINEAR, BYBIT_SPOT, BYBIT_LINEAR]
"""The four venue-markets arb trades."""


def _instrument(rules: SymbolRules) -> dict[str, Any]:
    return {"tick_size": float(rules.tick_size), "lot_size": float(rules.step_size), "min_qty": float(rules.min_qty),
            "min_notional": float(rules.min_notional)}  # fmt: skip


def write_live_config(folder: Path, spec: VenueSpec, venue: Any, *, journal_url: str = "",
                      live: dict[str, Any] | None = None) -> Path:  # fmt: skip
    """Configuration files whose ``spec.venue`` points at ``venue`` (the other venue is left as shipped)."""
    endpoints = local_endpoints(venue.ws_urls[0], venue.rest_url, market=spec.market, ws_private=venue.private_ws_url)
    overrides = {**endpoints, "instrument": _instrument(spec.rules)}
    if spec.market == "linear":
        overrides["account"] = {"base": 0.0, "quote": 10000.0}
    live_section = {"unknown_check_interval_ms": 50, "unknown_checks": 3, "unknown_grace_ms": 300,
                    "fill_check_after_ms": 300, "request_timeout_ms": 2000, "journal_url": journal_url,
                    **(live or {})}  # fmt: skip
    return write_config_files(
        folder,
        arbitrage_overrides={"strategy": {"symbol": spec.symbol}, "live": live_section},
        **{f"{spec.venue}_overrides": overrides},
    )


@contextlib.asynccontextmanager
async def fake_venue(spec: VenueSpec, **options: Any) -> AsyncIterator[Any]:
    """The fake private venue of ``spec`` with one account (keys KEY/SECRET), its book synced."""
    if spec.venue == "binance":
        options.setdefault("ping_interval", None)
        async with FakeBinanceExchange(spec.recording, market=spec.market, rules=[spec.rules], **options) as binance:
            binance.add_account("arb", api_key=KEY, api_secret=SECRET, balances=spec.balances)
            async with asyncio.timeout(WAIT_S):
                await binance.advance_until(lambda frame: frame.kind is FrameKind.REST_SNAPSHOT)
                await binance.advance_until(lambda frame: "@depth" in frame.stream)
            yield binance
        return
    async with FakeBybitExchange(spec.recording, market=spec.market, rules=[spec.rules], **options) as venue:
        venue.add_account("arb", api_key=KEY, api_secret=SECRET, balances=spec.balances)
        async with asyncio.timeout(WAIT_S):
            await venue.advance_until(lambda frame: frame.stream.startswith("orderbook."))
        yield venue


def set_keys(monkeypatch: pytest.MonkeyPatch, spec: VenueSpec, *, key: str = KEY, secret: str = SECRET) -> None:
    prefix = spec.venue.upper()
    monkeypatch.setenv(f"{prefix}_API_KEY", key)
    monkeypatch.setenv(f"{prefix}_API_SECRET", secret)


def account(venue: Any) -> LedgerAccount:
    return venue.ledger.accounts["arb"]  # type: ignore[no-any-return]


def best(venue: Any, spec: VenueSpec) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """Best bid, its qty, best ask, its qty of the venue's book now."""
    view = venue.book(spec.symbol, 1)
    (bid, bid_qty), (ask, ask_qty) = view.bids[0], view.asks[0]
    return Decimal(bid), Decimal(bid_qty), Decimal(ask), Decimal(ask_qty)


def load(path: Path) -> AppConfig:
    return load_config(path)


@contextlib.asynccontextmanager
async def venue_and_executor(
    spec: VenueSpec, folder: Path, monkeypatch: pytest.MonkeyPatch, *, live: dict[str, Any] | None = None, **venue: Any
) -> AsyncIterator[tuple[Any, VenueExecutor]]:
    """The fake venue of ``spec`` and an open TradingSession's executor pointed at it (keys set)."""
    from arb.runtime.trading import trading_session

    set_keys(monkeypatch, spec)
    async with fake_venue(spec, **venue) as fake:
        config = load(write_live_config(folder, spec, fake, live=live))
        async with trading_session(config, [spec.index]) as session:
            yield fake, session.executors[spec.index]


# -- both venues: arb live end to end --------------------------------------------------------------------


def user_streams_up(venue: Any) -> bool:
    """The venue's private stream for arb's account is connected and subscribed."""
    if hasattr(venue, "user_stream_count"):  # Binance: a WS-API subscription or a listen-key stream
        return bool(venue.user_stream_count() >= 1)
    return bool(venue.subscriber_count("order") >= 1 and venue.subscriber_count("execution") >= 1)


@contextlib.asynccontextmanager
async def spot_pair(binance_file: Path, bybit_file: Path, *, balances: dict[str, str] | None = None,
                    **options: Any) -> AsyncIterator[tuple[FakeBinanceExchange, FakeBybitExchange]]:  # fmt: skip
    """Fake private Binance spot and Bybit spot replaying a scenario's two files, one account each."""
    held = balances or {"USDT": "100000", "BTC": "1"}
    async with (
        FakeBinanceExchange(
            binance_file, market="spot", rules=[BINANCE_SPOT_RULES], ping_interval=None, **options
        ) as binance,  # fmt: skip
        FakeBybitExchange(bybit_file, market="spot", rules=[BYBIT_SPOT_RULES], **options) as bybit,
    ):
        binance.add_account("arb", api_key=KEY, api_secret=SECRET, balances=held)
        bybit.add_account("arb", api_key=KEY, api_secret=SECRET, balances=held)
        yield binance, bybit


def write_pair_config(folder: Path, binance: Any, bybit: Any, *, arbitrage: dict[str, Any] | None = None,
                      live: dict[str, Any] | None = None) -> Path:  # fmt: skip
    """Configuration files with both venues (spot) pointed at the fakes, for ``arb live``."""
    live_section = {"unknown_check_interval_ms": 50, "unknown_checks": 3, "unknown_grace_ms": 300,
                    "fill_check_after_ms": 300, "request_timeout_ms": 2000, "state_dir": str(folder / "live"),
                    **(live or {})}  # fmt: skip
    sections: dict[str, Any] = {
        "strategy": {"max_order_size": 0.01, "max_position_size": 0.03, "rebalance_threshold": 0.0, "cooldown_ms": 300},
        "risk": {"stale_after_ms": 60_000, "max_notional_per_venue": 1e9, "position_limit": 1.0},
        "dry_run": {"report_interval_s": 1},
    }
    for name, values in (arbitrage or {}).items():
        sections[name] = {**sections.get(name, {}), **values}
    sections["live"] = live_section
    venues = {
        name: {
            **local_endpoints(fake.ws_urls, fake.rest_url, ws_private=fake.private_ws_url),
            "instrument": _instrument(rules),
        }
        for name, fake, rules in (("binance", binance, BINANCE_SPOT_RULES), ("bybit", bybit, BYBIT_SPOT_RULES))
    }
    return write_config_files(
        folder, binance_overrides=venues["binance"], bybit_overrides=venues["bybit"], arbitrage_overrides=sections
    )


def both_keys(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Both venues' keys in this process's environment; returns them for a child's environment too."""
    keys = {f"{venue}_API_KEY": KEY for venue in ("BINANCE", "BYBIT")}
    keys |= {f"{venue}_API_SECRET": SECRET for venue in ("BINANCE", "BYBIT")}
    for name, value in keys.items():
        monkeypatch.setenv(name, value)
    return keys
