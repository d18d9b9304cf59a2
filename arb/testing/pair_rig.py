"""Both fake private venues and a configuration for ``arb live`` on them: Binance spot and Bybit spot
(:func:`spot_pair`), or Binance USD-M and Bybit linear (:func:`linear_pair`, perpetuals).

Used by the end-to-end tests (``tests/support/live_rig.py`` re-exports these names) and by the
fault campaign (:mod:`arb.testing.campaign`). Keys are :data:`KEY`/:data:`SECRET` for both venues;
the configuration names them through the environment variables the venue files reference.

One symbol (BTCUSDT) by default; several with ``rules=`` (each venue's :class:`SymbolRules`, the
first symbol first), a recording per symbol and venue, and ``symbols=`` for the configuration
(:func:`symbol_tables` writes the ``[symbols.<SYMBOL>]`` tables of the second symbol on).
"""

from __future__ import annotations

__all__ = [
    "BINANCE_LINEAR_BTC_RULES",
    "BINANCE_LINEAR_ETH_RULES",
    "BINANCE_SPOT_ETH_RULES",
    "BINANCE_SPOT_RULES",
    "BYBIT_LINEAR_BTC_RULES",
    "BYBIT_LINEAR_ETH_RULES",
    "BYBIT_LINEAR_XRP_RULES",
    "BYBIT_SPOT_ETH_RULES",
    "BYBIT_SPOT_RULES",
    "KEY",
    "SECRET",
    "account",
    "instrument_of",
    "key_environment",
    "linear_pair",
    "order_socket_url",
    "spot_pair",
    "symbol_tables",
    "without_pings",
    "write_pair_config",
]

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from arb.sim.binance.exchange import FakeBinanceExchange
from arb.sim.bybit.exchange import FakeBybitExchange
from arb.sim.ledger import LedgerAccount, SymbolRules
from arb.sim.options import VenueOptions
from arb.testing.configs import local_endpoints, write_config_files

KEY, SECRET = "rigKey0123456789", "rigSecret0123456789abcdef"


def _rules(symbol: str, figures: str) -> SymbolRules:
    """``symbol``'s rules (its base and the quote USDT) from its tick size, step size, minimum and
    maximum quantity, minimum notional, minimum and maximum price, in that order, space-separated."""
    tick, step, min_qty, max_qty, min_notional, min_price, max_price = map(Decimal, figures.split())
    return SymbolRules(symbol, symbol.removesuffix("USDT"), "USDT", tick_size=tick, step_size=step,
                       min_qty=min_qty, max_qty=max_qty, min_notional=min_notional, min_price=min_price,
                       max_price=max_price)  # fmt: skip


BYBIT_SPOT_RULES = _rules("BTCUSDT", "0.1 0.000001 0.000048 83 5 0.1 1999999.8")
BINANCE_SPOT_RULES = _rules("BTCUSDT", "0.01 0.00001 0.00001 9000 5 0.01 1000000")


BINANCE_SPOT_ETH_RULES = _rules("ETHUSDT", "0.01 0.0001 0.0001 9000 5 0.01 1000000")
"""Binance spot ETHUSDT's filters (PRICE_FILTER 0.01, LOT_SIZE 0.0001, NOTIONAL 5)."""
BYBIT_SPOT_ETH_RULES = _rules("ETHUSDT", "0.01 0.00001 0.00062 1229 5 0.01 1999999.98")
"""Bybit spot ETHUSDT's instrument (tickSize 0.01, basePrecision 0.00001, minOrderAmt 5)."""


BINANCE_LINEAR_BTC_RULES = _rules("BTCUSDT", "0.1 0.001 0.001 1000 100 556.8 4529764")
"""Binance USD-M BTCUSDT's filters (PRICE_FILTER 0.1, LOT_SIZE 0.001, MIN_NOTIONAL 100)."""
BYBIT_LINEAR_BTC_RULES = _rules("BTCUSDT", "0.1 0.001 0.001 1190 5 0.1 1999999.8")
"""Bybit linear BTCUSDT's instrument (tickSize 0.10, qtyStep 0.001, minNotionalValue 5)."""
BYBIT_LINEAR_XRP_RULES = _rules("XRPUSDT", "0.0001 1 1 1000000 5 0.0001 199.9998")
"""Bybit linear XRPUSDT's instrument (tickSize 0.0001, qtyStep 1, minNotionalValue 5)."""
BINANCE_LINEAR_ETH_RULES = _rules("ETHUSDT", "0.01 0.001 0.001 10000 20 39.86 306177")
"""Binance USD-M ETHUSDT's filters (PRICE_FILTER 0.01, LOT_SIZE 0.001, MIN_NOTIONAL 20)."""
BYBIT_LINEAR_ETH_RULES = _rules("ETHUSDT", "0.01 0.01 0.01 7240 5 0.01 199999.98")
"""Bybit linear ETHUSDT's instrument (tickSize 0.01, qtyStep 0.01, minNotionalValue 5)."""


def instrument_of(rules: SymbolRules) -> dict[str, Any]:
    """The venue file's ``[instrument]`` section for ``rules``."""
    return {"tick_size": float(rules.tick_size), "lot_size": float(rules.step_size), "min_qty": float(rules.min_qty),
            "min_notional": float(rules.min_notional)}  # fmt: skip


def without_pings(options: VenueOptions | None) -> VenueOptions:
    """``options`` with the server's WebSocket pings off unless they choose an interval (the fake
    Binance pings every 20 s by default)."""
    options = options if options is not None else VenueOptions()
    return dataclasses.replace(options, ping_interval=None) if isinstance(options.ping_interval, str) else options


def account(venue: Any) -> LedgerAccount:
    """arb's account on a fake private venue (the one :func:`spot_pair` opens)."""
    return venue.ledger.accounts["arb"]  # type: ignore[no-any-return]


@contextlib.asynccontextmanager
async def spot_pair(
    binance_file: Path | Sequence[Path],
    bybit_file: Path | Sequence[Path],
    *,
    balances: dict[str, str] | None = None,
    rules: tuple[Sequence[SymbolRules], Sequence[SymbolRules]] = ((BINANCE_SPOT_RULES,), (BYBIT_SPOT_RULES,)),
    options: VenueOptions | None = None,
) -> AsyncIterator[tuple[FakeBinanceExchange, FakeBybitExchange]]:
    """Fake private Binance spot and Bybit spot replaying a scenario's files, one account each.

    Several symbols: a file per symbol on each venue (one session each, on one clock) and ``rules`` per
    venue, in the same order; ``balances`` then holds every symbol's base asset."""
    held = balances or {"USDT": "100000", "BTC": "1"}

    def sessions(files: Path | Sequence[Path]) -> Any:
        return files if isinstance(files, Path) else [[f] for f in files]

    async with (
        FakeBinanceExchange(
            sessions(binance_file), market="spot", rules=rules[0], options=without_pings(options)
        ) as binance,
        FakeBybitExchange(sessions(bybit_file), market="spot", rules=rules[1], options=options) as bybit,
    ):
        binance.add_account("arb", api_key=KEY, api_secret=SECRET, balances=held)
        bybit.add_account("arb", api_key=KEY, api_secret=SECRET, balances=held)
        yield binance, bybit


@contextlib.asynccontextmanager
async def linear_pair(
    binance_file: Path,
    bybit_file: Path,
    *,
    quote: str = "100000",
    rules: tuple[SymbolRules, SymbolRules] = (BINANCE_LINEAR_BTC_RULES, BYBIT_LINEAR_BTC_RULES),
    options: VenueOptions | None = None,
) -> AsyncIterator[tuple[FakeBinanceExchange, FakeBybitExchange]]:
    """Fake private Binance USD-M and Bybit linear replaying a scenario's files (one symbol), one account
    each with ``quote`` USDT in its wallet. Their ledgers book the funding the recordings' mark-price
    streams announce; ``options`` go to both venues (``funding`` schedules, ``clock``...)."""
    async with (
        FakeBinanceExchange(binance_file, market="linear", rules=[rules[0]], options=without_pings(options)) as binance,
        FakeBybitExchange(bybit_file, market="linear", rules=[rules[1]], options=options) as bybit,
    ):
        binance.add_account("arb", api_key=KEY, api_secret=SECRET, balances={"USDT": quote})
        bybit.add_account("arb", api_key=KEY, api_secret=SECRET, balances={"USDT": quote})
        yield binance, bybit


def symbol_tables(
    binance: SymbolRules, bybit: SymbolRules, sizes: dict[str, float], *, base: tuple[float, float] = (0.0, 0.0)
) -> dict[str, Any]:
    """The ``[symbols.<SYMBOL>]`` table of a symbol after the first: its sizes (``max_order_size``,
    ``max_position_size``, ``rebalance_threshold``, ``position_limit``, any other per-symbol key) and
    each venue's rules (and starting ``base``, for a backtest or a dry run)."""
    return {
        **sizes,
        "binance": {**instrument_of(binance), "base": base[0]},
        "bybit": {**instrument_of(bybit), "base": base[1]},
    }


def order_socket_url(venue: Any) -> str:
    """The fake venue's order WebSocket: Binance's WebSocket API (spot ``/ws-api/v3``, USD-M
    ``/ws-fapi/v1``), Bybit's ``/v5/trade``, OKX's private WebSocket (``/ws/v5/private``)."""
    if isinstance(venue, FakeBinanceExchange):
        return str(venue.ws_api_url)
    return str(getattr(venue, "trade_ws_url", None) or venue.private_ws_url)


def write_pair_config(folder: Path, binance: Any, bybit: Any, *, arbitrage: dict[str, Any] | None = None,
                      live: dict[str, Any] | None = None, symbols: dict[str, dict[str, Any]] | None = None,
                      order_entry: str = "rest", feed: dict[str, Any] | None = None) -> Path:  # fmt: skip
    """Configuration files with both venues pointed at the fakes, for ``arb live``: spot, or linear when the
    fakes are (:func:`linear_pair`: the ``[perpetual]`` defaults, a wallet of 10,000 USDT as the venue
    file's ``[account] quote``).

    ``symbols``: more symbols after BTCUSDT, each with its ``[symbols.<SYMBOL>]`` table
    (:func:`symbol_tables`): ``[strategy] symbols`` lists them all. ``order_entry``: both venue files'
    (``"websocket"``: over the fakes' order WebSockets). ``feed``: more of both venue files' ``[feed]``."""
    live_section = {"unknown_check_interval_ms": 50, "unknown_checks": 3, "unknown_grace_ms": 300,
                    "fill_check_after_ms": 300, "request_timeout_ms": 15_000, "state_dir": str(folder / "live"),
                    **(live or {})}  # fmt: skip
    sections: dict[str, Any] = {
        "strategy": {"max_order_size": 0.01, "max_position_size": 0.03, "rebalance_threshold": 0.0, "cooldown_ms": 300},
        "risk": {"stale_after_ms": 60_000, "max_notional_per_venue": 1e9, "position_limit": 1.0},
        "dry_run": {"report_interval_s": 1},
    }
    if symbols:
        sections["strategy"] = {**sections["strategy"], "symbol": None, "symbols": ["BTCUSDT", *symbols]}
        sections["symbols"] = dict(symbols)
    for name, values in (arbitrage or {}).items():
        sections[name] = {**sections.get(name, {}), **values}
    sections["live"] = live_section
    venues = {}
    for name, fake, spot_rules in (("binance", binance, BINANCE_SPOT_RULES), ("bybit", bybit, BYBIT_SPOT_RULES)):
        market = fake.market
        urls = {"ws_private": fake.private_ws_url, "ws_orders": order_socket_url(fake)}
        venue: dict[str, Any] = local_endpoints(fake.ws_urls, fake.rest_url, market=market, **urls)
        venue["order_entry"] = order_entry
        venue["instrument"] = instrument_of(spot_rules if market == "spot" else fake.ledger.rules["BTCUSDT"])
        if market == "linear":
            venue["account"] = {"base": 0.0, "quote": 10000.0}
            venue["feed"] = {"depth_stream": None}  # the venue's default for its market
        if feed:
            venue["feed"] = {**venue.get("feed", {}), **feed}
        venues[name] = venue
    return write_config_files(
        folder, binance_overrides=venues["binance"], bybit_overrides=venues["bybit"], arbitrage_overrides=sections
    )


def key_environment() -> dict[str, str]:
    """Both venues' key variables (the names the shipped venue files reference) and their values."""
    keys = {f"{venue}_API_KEY": KEY for venue in ("BINANCE", "BYBIT")}
    keys |= {f"{venue}_API_SECRET": SECRET for venue in ("BINANCE", "BYBIT")}
    return keys
