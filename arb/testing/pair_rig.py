"""Two fake private venues and a configuration for ``arb live`` on them: the default run's two on spot
(:func:`spot_pair`) or on their perpetuals (:func:`linear_pair`); any two venues with ``venues=``.

Used by the end-to-end tests (``tests/support/live_rig.py`` re-exports these names) and by the
fault campaign (:mod:`arb.testing.campaign`). What the rig knows of a venue is its folder's: its fakes
(:func:`arb.sim.fake_exchange`), its test kit (:func:`arb.sim.testkit.venue_testkit`: its symbols' rules,
book streams, order socket, client ids, accounts) and its shipped file (the key variables it references).
Keys are :data:`KEY`/:data:`SECRET` for every venue (and :data:`PASSPHRASE` for a venue whose keys have
one); the configuration names them through the environment variables the venue files reference.

One symbol (BTCUSDT) by default; several with ``rules=`` (each venue's :class:`SymbolRules`, the
first symbol first), a recording per symbol and venue, and ``symbols=`` for the configuration
(:func:`symbol_tables` writes the ``[symbols.<SYMBOL>]`` tables of the second symbol on).
"""

from __future__ import annotations

__all__ = [
    "KEY",
    "LINEAR_RULES",
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
    "symbol_rules",
    "symbol_tables",
    "without_pings",
    "write_pair_config",
]

import contextlib
import dataclasses
import re
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, Literal

from arb.catalog import default_venues, known_venues
from arb.sim import fake_exchange
from arb.sim.ledger import LedgerAccount, SymbolRules
from arb.sim.options import VenueOptions
from arb.sim.testkit import venue_testkit
from arb.testing.configs import local_endpoints, venue_defaults, write_config_files

KEY, SECRET = "rigKey0123456789", "rigSecret0123456789abcdef"
PASSPHRASE = "rigPassphrase1"
"""The key passphrase of a venue whose keys have one (its file's ``api_passphrase``)."""
_FIRST, _SECOND = default_venues()
PAIR = (_FIRST, _SECOND)
"""The two venues a rig stands up unless told: the default run's."""


def symbol_rules(venue: str, market: str, symbol: str = "BTCUSDT") -> SymbolRules:
    """Venue ``venue``'s real rules of ``symbol`` in ``market`` (in base units), from its test kit."""
    return venue_testkit(venue).symbol_rules(market, symbol)


SPOT_RULES = {name: symbol_rules(name, "spot") for name in known_venues()}
"""Each venue's BTCUSDT spot rules."""
LINEAR_RULES = {name: symbol_rules(name, "linear") for name in known_venues()}
"""Each venue's BTCUSDT perpetual rules (in base units)."""


def instrument_of(rules: SymbolRules) -> dict[str, Any]:
    """The venue file's ``[instrument]`` section for ``rules``."""
    return {"tick_size": float(rules.tick_size), "lot_size": float(rules.step_size), "min_qty": float(rules.min_qty),
            "min_notional": float(rules.min_notional)}  # fmt: skip


def without_pings(options: VenueOptions | None) -> VenueOptions:
    """``options`` with the server's WebSocket pings off unless they choose an interval (a fake that pings
    by default, every 20 s or so, does not)."""
    options = options if options is not None else VenueOptions()
    return dataclasses.replace(options, ping_interval=None) if isinstance(options.ping_interval, str) else options


def account(venue: Any) -> LedgerAccount:
    """arb's account on a fake private venue (the one :func:`spot_pair` opens)."""
    return venue.ledger.accounts["arb"]  # type: ignore[no-any-return]


def open_fake(name: str, sessions: Any, *, market: Literal["spot", "linear"], rules: Sequence[SymbolRules],
              options: VenueOptions | None = None) -> Any:  # fmt: skip
    """The fake private venue ``name`` (:func:`arb.sim.fake_exchange`) replaying ``sessions`` on ``market``
    with ``rules``, its pings off unless ``options`` choose them, not started yet (enter it with
    ``async with``)."""
    return fake_exchange(name)(sessions, market=market, rules=rules, options=without_pings(options))


def open_account(fake: Any, balances: dict[str, str]) -> LedgerAccount:
    """arb's account (``"arb"``, the rig's keys) on ``fake``, holding ``balances``."""
    kit = venue_testkit(fake.venue_name)
    return kit.open_account(fake, "arb", key=KEY, secret=SECRET, passphrase=PASSPHRASE, balances=balances)  # type: ignore[no-any-return]


def arb_id(fake: Any, client_id: str) -> str:
    """A client id of ``fake``'s ledger as arb's (the venue's spelling of arb's ids undone)."""
    return venue_testkit(fake.venue_name).arb_client_id(client_id)


def book_stream(fake: Any, symbol: str = "BTCUSDT") -> str:
    """The stream name ``fake`` counts subscribers of for ``symbol``'s book, as ``arb live`` subscribes it."""
    return venue_testkit(fake.venue_name).book_stream(fake, symbol)


@contextlib.asynccontextmanager
async def spot_pair(
    first_file: Path | Sequence[Path],
    second_file: Path | Sequence[Path],
    *,
    balances: dict[str, str] | None = None,
    rules: tuple[Sequence[SymbolRules], Sequence[SymbolRules]] | None = None,
    options: VenueOptions | None = None,
    venues: tuple[str, str] = PAIR,
) -> AsyncIterator[tuple[Any, Any]]:
    """The two fake private venues ``venues`` on spot (the run's order) replaying a scenario's files, one
    account each.

    Several symbols: a file per symbol on each venue (one session each, on one clock) and ``rules`` per
    venue, in the same order; ``balances`` then holds every symbol's base asset."""
    held = balances or {"USDT": "100000", "BTC": "1"}
    chosen = rules or ((SPOT_RULES[venues[0]],), (SPOT_RULES[venues[1]],))

    def sessions(files: Path | Sequence[Path]) -> Any:
        return files if isinstance(files, Path) else [[f] for f in files]

    async with (
        open_fake(venues[0], sessions(first_file), market="spot", rules=chosen[0], options=options) as first,
        open_fake(venues[1], sessions(second_file), market="spot", rules=chosen[1], options=options) as second,
    ):
        open_account(first, held)
        open_account(second, held)
        yield first, second


@contextlib.asynccontextmanager
async def linear_pair(
    first_file: Path,
    second_file: Path,
    *,
    quote: str = "100000",
    rules: tuple[SymbolRules, SymbolRules] | None = None,
    options: VenueOptions | None = None,
    venues: tuple[str, str] = PAIR,
) -> AsyncIterator[tuple[Any, Any]]:
    """The two fake private venues ``venues`` on their perpetuals (the run's order) replaying a scenario's
    files (one symbol), one account each with ``quote`` USDT in its wallet.
    Their ledgers book the funding the recordings' mark-price streams announce; ``options`` go to both
    venues (``funding`` schedules, ``clock``...)."""
    chosen = rules or (LINEAR_RULES[venues[0]], LINEAR_RULES[venues[1]])
    async with (
        open_fake(venues[0], first_file, market="linear", rules=[chosen[0]], options=options) as first,
        open_fake(venues[1], second_file, market="linear", rules=[chosen[1]], options=options) as second,
    ):
        open_account(first, {"USDT": quote})
        open_account(second, {"USDT": quote})
        yield first, second


def symbol_tables(
    first: SymbolRules,
    second: SymbolRules,
    sizes: dict[str, float],
    *,
    base: tuple[float, float] = (0.0, 0.0),
    venues: tuple[str, str] = PAIR,
) -> dict[str, Any]:
    """The ``[symbols.<SYMBOL>]`` table of a symbol after the first: its sizes (``max_order_size``,
    ``max_position_size``, ``rebalance_threshold``, ``position_limit``, any other per-symbol key) and
    the rules of each of ``venues`` (and its starting ``base``, for a backtest or a dry run)."""
    return {
        **sizes,
        venues[0]: {**instrument_of(first), "base": base[0]},
        venues[1]: {**instrument_of(second), "base": base[1]},
    }


def order_socket_url(venue: Any) -> str:
    """The fake venue's order WebSocket (its test kit says which of its URLs)."""
    return venue_testkit(venue.venue_name).order_socket_url(venue)


def write_pair_config(folder: Path, first: Any, second: Any, *, arbitrage: dict[str, Any] | None = None,
                      live: dict[str, Any] | None = None, symbols: dict[str, dict[str, Any]] | None = None,
                      order_entry: str = "rest", feed: dict[str, Any] | None = None) -> Path:  # fmt: skip
    """Configuration files with both venues pointed at the fakes (``first`` and ``second``, the two a rig
    stood up: ``[strategy] venues`` names them, in that order, unless they are the default run's), for ``arb live``:
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
    names = (first.venue_name, second.venue_name)
    if names != PAIR:
        sections["strategy"]["venues"] = list(names)
    if symbols:
        sections["strategy"] = {**sections["strategy"], "symbol": None, "symbols": ["BTCUSDT", *symbols]}
        sections["symbols"] = dict(symbols)
    for name, values in (arbitrage or {}).items():
        sections[name] = {**sections.get(name, {}), **values}
    sections["live"] = live_section
    venues = {}
    for name, fake in zip(names, (first, second), strict=True):
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
    # the fake's BTCUSDT rules in base units (its ledger names the instrument as the venue does)
    if market == "spot":
        return SPOT_RULES[fake.venue_name]
    return fake.ledger.rules[venue_testkit(fake.venue_name).ledger_symbol(fake, "BTCUSDT")]  # type: ignore[no-any-return]


_REFERENCE = re.compile(r"\A\$\{([A-Za-z_][A-Za-z0-9_]*)\}\Z")
_SECRETS = {"api_key": KEY, "api_secret": SECRET, "api_passphrase": PASSPHRASE}


def key_environment() -> dict[str, str]:
    """Every venue's key variables (the names its shipped venue file references: its key, its secret and,
    where it has one, its passphrase) and the rig's values of them."""
    keys: dict[str, dict[str, str]] = {field: {} for field in _SECRETS}
    for name in known_venues():
        for field in _SECRETS:
            found = _REFERENCE.match(str(venue_defaults(name).get(field, "")))
            if found:
                keys[field][found.group(1)] = _SECRETS[field]
    return {variable: value for field in _SECRETS for variable, value in keys[field].items()}
