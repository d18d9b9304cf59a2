"""Two fake private venues and a configuration for ``arb live`` on them: Binance spot and Bybit spot
(:func:`spot_pair`), or Binance USD-M and Bybit linear (:func:`linear_pair`, perpetuals); any two of
Binance, Bybit and OKX with ``venues=`` (OKX's spot ``BTC-USDT`` or swap ``BTC-USDT-SWAP``).

Used by the end-to-end tests (``tests/support/live_rig.py`` re-exports these names) and by the
fault campaign (:mod:`arb.testing.campaign`). Keys are :data:`KEY`/:data:`SECRET` for every venue
(and :data:`PASSPHRASE` for OKX's); the configuration names them through the environment variables the
venue files reference.

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
    "LINEAR_RULES",
    "OKX_LINEAR_RULES",
    "OKX_SPOT_RULES",
    "PAIR",
    "PASSPHRASE",
    "SECRET",
    "SPOT_RULES",
    "account",
    "arb_id",
    "book_stream",
    "instrument_of",
    "key_environment",
    "linear_pair",
    "open_account",
    "open_fake",
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
from typing import Any, Literal

from arb.sim.binance.exchange import FakeBinanceExchange
from arb.sim.bybit.exchange import FakeBybitExchange
from arb.sim.ledger import LedgerAccount, SymbolRules
from arb.sim.okx.exchange import FakeOkxExchange
from arb.sim.options import VenueOptions
from arb.testing.configs import local_endpoints, write_config_files
from connectors.okx.trading import arb_client_id
from connectors.okx.urls import inst_id

KEY, SECRET = "rigKey0123456789", "rigSecret0123456789abcdef"
PASSPHRASE = "rigPassphrase1"
"""OKX's key passphrase (``OKX_API_PASSPHRASE``)."""
PAIR = ("binance", "bybit")
"""The two venues a rig stands up unless told: the default run's."""


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


OKX_SPOT_RULES = SymbolRules("BTCUSDT", "BTC", "USDT", tick_size=Decimal("0.1"), step_size=Decimal("0.00000001"),
                             min_qty=Decimal("0.00001"), max_qty=Decimal("1000"), min_notional=Decimal(0),
                             min_price=Decimal("0.1"), max_price=Decimal("1000000"))  # fmt: skip
"""OKX BTC-USDT's instrument (tickSz 0.1, lotSz 0.00000001, minSz 0.00001; no minimum value)."""
OKX_LINEAR_RULES = SymbolRules("BTCUSDT", "BTC", "USDT", tick_size=Decimal("0.1"), step_size=Decimal("0.0001"),
                               min_qty=Decimal("0.0001"), max_qty=Decimal("1000"), min_notional=Decimal(0),
                               min_price=Decimal("0.1"), max_price=Decimal("1000000"))  # fmt: skip
"""OKX BTC-USDT-SWAP's instrument in base units (ctVal 0.01 BTC, lotSz and minSz 0.01 contracts, tickSz 0.1)."""
SPOT_RULES = {"binance": BINANCE_SPOT_RULES, "bybit": BYBIT_SPOT_RULES, "okx": OKX_SPOT_RULES}
"""Each venue's BTCUSDT spot rules."""
LINEAR_RULES = {"binance": BINANCE_LINEAR_BTC_RULES, "bybit": BYBIT_LINEAR_BTC_RULES, "okx": OKX_LINEAR_RULES}
"""Each venue's BTCUSDT perpetual rules (in base units)."""


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


def open_fake(name: str, sessions: Any, *, market: Literal["spot", "linear"], rules: Sequence[SymbolRules],
              options: VenueOptions | None = None) -> Any:  # fmt: skip
    """The fake private venue ``name`` (``"binance"``, ``"bybit"`` or ``"okx"``) replaying ``sessions`` on
    ``market`` with ``rules``, not started yet (enter it with ``async with``)."""
    if name == "binance":
        return FakeBinanceExchange(sessions, market=market, rules=rules, options=without_pings(options))
    if name == "okx":
        return FakeOkxExchange(sessions, market=market, rules=rules, options=options)
    if name == "bybit":
        return FakeBybitExchange(sessions, market=market, rules=rules, options=options)
    raise ValueError(f"no fake private venue {name!r}: binance, bybit or okx")


def open_account(fake: Any, balances: dict[str, str]) -> LedgerAccount:
    """arb's account (``"arb"``, the rig's keys) on ``fake``, holding ``balances``."""
    if isinstance(fake, FakeOkxExchange):
        return fake.add_account("arb", api_key=KEY, api_secret=SECRET, passphrase=PASSPHRASE, balances=balances)
    return fake.add_account("arb", api_key=KEY, api_secret=SECRET, balances=balances)  # type: ignore[no-any-return]


def arb_id(fake: Any, client_id: str) -> str:
    """A client id of ``fake``'s ledger as arb's: OKX's ``clOrdId`` is letters and digits (arb's dashes as
    ``X``), the other venues keep arb's as it is."""
    return arb_client_id(client_id) if isinstance(fake, FakeOkxExchange) else client_id


def book_stream(fake: Any, symbol: str = "BTCUSDT") -> str:
    """The stream name ``fake`` counts subscribers of for ``symbol``'s book, as ``arb live`` subscribes it:
    Binance's ``btcusdt@depth@100ms`` (USD-M: ``@0ms``), Bybit's ``orderbook.50.BTCUSDT``, OKX's
    ``books:BTC-USDT`` (``-SWAP``)."""
    if isinstance(fake, FakeBinanceExchange):
        return f"{symbol.lower()}@depth@{'0ms' if fake.market == 'linear' else '100ms'}"
    if isinstance(fake, FakeOkxExchange):
        return f"books:{inst_id(symbol, fake.market)}"
    return f"orderbook.50.{symbol}"


@contextlib.asynccontextmanager
async def spot_pair(
    binance_file: Path | Sequence[Path],
    bybit_file: Path | Sequence[Path],
    *,
    balances: dict[str, str] | None = None,
    rules: tuple[Sequence[SymbolRules], Sequence[SymbolRules]] | None = None,
    options: VenueOptions | None = None,
    venues: tuple[str, str] = PAIR,
) -> AsyncIterator[tuple[Any, Any]]:
    """Fake private Binance spot and Bybit spot (``venues``: which two, in the run's order) replaying a
    scenario's files, one account each.

    Several symbols: a file per symbol on each venue (one session each, on one clock) and ``rules`` per
    venue, in the same order; ``balances`` then holds every symbol's base asset."""
    held = balances or {"USDT": "100000", "BTC": "1"}
    chosen = rules or ((SPOT_RULES[venues[0]],), (SPOT_RULES[venues[1]],))

    def sessions(files: Path | Sequence[Path]) -> Any:
        return files if isinstance(files, Path) else [[f] for f in files]

    async with (
        open_fake(venues[0], sessions(binance_file), market="spot", rules=chosen[0], options=options) as first,
        open_fake(venues[1], sessions(bybit_file), market="spot", rules=chosen[1], options=options) as second,
    ):
        open_account(first, held)
        open_account(second, held)
        yield first, second


@contextlib.asynccontextmanager
async def linear_pair(
    binance_file: Path,
    bybit_file: Path,
    *,
    quote: str = "100000",
    rules: tuple[SymbolRules, SymbolRules] | None = None,
    options: VenueOptions | None = None,
    venues: tuple[str, str] = PAIR,
) -> AsyncIterator[tuple[Any, Any]]:
    """Fake private Binance USD-M and Bybit linear (``venues``: which two, in the run's order; OKX's is the
    swap) replaying a scenario's files (one symbol), one account each with ``quote`` USDT in its wallet.
    Their ledgers book the funding the recordings' mark-price streams announce; ``options`` go to both
    venues (``funding`` schedules, ``clock``...)."""
    chosen = rules or (LINEAR_RULES[venues[0]], LINEAR_RULES[venues[1]])
    async with (
        open_fake(venues[0], binance_file, market="linear", rules=[chosen[0]], options=options) as first,
        open_fake(venues[1], bybit_file, market="linear", rules=[chosen[1]], options=options) as second,
    ):
        open_account(first, {"USDT": quote})
        open_account(second, {"USDT": quote})
        yield first, second


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
    """Configuration files with both venues pointed at the fakes (``binance`` and ``bybit``, or the two a
    rig stood up with ``venues=``: ``[strategy] venues`` names them, in that order), for ``arb live``:
    spot, or linear when the fakes are (:func:`linear_pair`: the ``[perpetual]`` defaults, a wallet of
    10,000 USDT as the venue file's ``[account] quote``).

    ``symbols``: more symbols after BTCUSDT, each with its ``[symbols.<SYMBOL>]`` table
    (:func:`symbol_tables`): ``[strategy] symbols`` lists them all. ``order_entry``: both venue files'
    (``"websocket"``: over the fakes' order WebSockets). ``feed``: more of both venue files' ``[feed]``."""
    # state_dir absolute: the file resolves a relative one against its own folder, not the caller's
    live_section = {"unknown_check_interval_ms": 50, "unknown_checks": 3, "unknown_grace_ms": 300,
                    "fill_check_after_ms": 300, "request_timeout_ms": 15_000,
                    "state_dir": str(folder.resolve() / "live"), **(live or {})}  # fmt: skip
    sections: dict[str, Any] = {
        "strategy": {"max_order_size": 0.01, "max_position_size": 0.03, "rebalance_threshold": 0.0, "cooldown_ms": 300},
        "risk": {"stale_after_ms": 60_000, "max_notional_per_venue": 1e9, "position_limit": 1.0},
        "dry_run": {"report_interval_s": 1},
    }
    names = (binance.venue_name, bybit.venue_name)
    if names != PAIR:
        sections["strategy"]["venues"] = list(names)
    if symbols:
        sections["strategy"] = {**sections["strategy"], "symbol": None, "symbols": ["BTCUSDT", *symbols]}
        sections["symbols"] = dict(symbols)
    for name, values in (arbitrage or {}).items():
        sections[name] = {**sections.get(name, {}), **values}
    sections["live"] = live_section
    venues = {}
    for name, fake in zip(names, (binance, bybit), strict=True):
        market = fake.market
        urls = {"ws_private": fake.private_ws_url, "ws_orders": order_socket_url(fake)}
        venue: dict[str, Any] = local_endpoints(fake.ws_urls, fake.rest_url, market=market, **urls)
        venue["order_entry"] = order_entry
        venue["instrument"] = instrument_of(_rules_of(fake, market))
        if market == "linear":
            venue["account"] = {"base": 0.0, "quote": 10000.0}
            venue["feed"] = {"depth_stream": None}  # the venue's default for its market
        if feed:
            venue["feed"] = {**venue.get("feed", {}), **feed}
        venues[f"{name}_overrides"] = venue
    return write_config_files(folder, arbitrage_overrides=sections, **venues)


def _rules_of(fake: Any, market: str) -> SymbolRules:
    # the fake's BTCUSDT rules in base units (OKX's ledger names the instrument by its id)
    if market == "spot":
        return SPOT_RULES[fake.venue_name]
    return fake.ledger.rules[inst_id("BTCUSDT", market) if isinstance(fake, FakeOkxExchange) else "BTCUSDT"]  # type: ignore[no-any-return]


def key_environment() -> dict[str, str]:
    """Every venue's key variables (the names the shipped venue files reference, OKX's passphrase too) and
    their values."""
    keys = {f"{venue}_API_KEY": KEY for venue in ("BINANCE", "BYBIT", "OKX")}
    keys |= {f"{venue}_API_SECRET": SECRET for venue in ("BINANCE", "BYBIT", "OKX")}
    return keys | {"OKX_API_PASSPHRASE": PASSPHRASE}
