"""A venue file (``config/<venue>.toml``): :class:`VenueConfig` and its sections.

A venue file names its market, every network's endpoints (``[endpoints.<market>.<network>]``), the fees,
the instrument's trading rules, the latencies backtests assume, the feed's connection settings, the
starting balances, the perpetual settings and the API credentials (references to environment
variables). Each section is a frozen :class:`~arb.config.fields.ConfigStruct` (see
:mod:`arb.config.fields` for how a field's type is its rule). Each key's meaning, unit, default and
range is written once, in ``docs/configuration.md``.
"""

from __future__ import annotations

__all__ = [
    "ACCOUNT_FEES_FILE",
    "ENDPOINT_TABLES",
    "MARKETS",
    "Account",
    "Endpoints",
    "FeedConfig",
    "Fees",
    "Instrument",
    "Latency",
    "Market",
    "NetworkName",
    "OrderEntry",
    "PerpetualConfig",
    "VenueConfig",
]

import json
import re
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from msgspec import Meta, field
from msgspec.structs import force_setattr, replace

from arb.catalog import known_venues, venue_facts
from arb.config.fields import (
    FRACTIONAL,
    ConfigStruct,
    NonNegative,
    Positive,
    PositiveInt,
    fail,
    got,
    shown,
)
from arb.config.secrets import Secret
from arb.events import NS_PER_MS, NS_PER_S
from arb.formats import jsonable

MARKETS: Final = ("spot", "linear")
"""Venue markets: ``spot`` holdings, or ``linear`` (USDT-margined perpetual) positions."""

Market = Literal["spot", "linear"]

OrderEntry = Literal["rest", "websocket"]
"""How ``arb live`` sends orders to a venue: REST (ccxt), or arb's own client on the venue's order WebSocket."""

_HOUR: Final = 3600 * NS_PER_S
_NETWORK: Final = r"\A[A-Za-z0-9_-]+\Z"
_PUBLIC_DATA: Final = "mainnet"
"""The network whose market data a dry run and a recording read unless ``data_network`` names another."""

NetworkName = Annotated[str, Meta(pattern=_NETWORK, description="letters, digits, _ and -")]
_DataNetwork = Annotated[str, Meta(pattern=r"\A[A-Za-z0-9_-]*\Z", description="letters, digits, _ and -")]


def _ms(ns: int) -> str:
    return f"{shown(ns / NS_PER_MS)} ms"


class Endpoints(ConfigStruct, frozen=True):
    """``[endpoints.<market>.<network>]``: where one venue network lives; ``ws`` URLs are tried in turn
    for failover. An empty ``ws_private`` means the network is only read (``arb live`` refuses it); an
    empty ``ws_orders``, that orders go by REST.
    """

    ws: Annotated[tuple[str, ...], Meta(min_length=1, extra={"urls": ("ws", "wss")})]
    rest: Annotated[str, Meta(extra={"urls": ("http", "https")})]
    ws_private: Annotated[str, Meta(extra={"urls": ("ws", "wss"), "empty_ok": True})] = ""
    ws_orders: Annotated[str, Meta(extra={"urls": ("ws", "wss"), "empty_ok": True})] = ""


_UNRESOLVED: Final = Endpoints(ws=("ws://unresolved",), rest="http://unresolved")
# VenueConfig.endpoints until its __post_init__ computes it (Struct fields cannot be left out of __init__).

ENDPOINT_TABLES = Annotated[
    dict[Market, Annotated[dict[NetworkName, Endpoints], Meta(description="<network>")]],
    Meta(description="<market>.<network>"),
]
"""The type of a venue file's ``[endpoints.<market>.<network>]`` tables."""


class Fees(ConfigStruct, frozen=True):
    """``[fees]``: trading fees as fractions of traded value (0.001 = 10 bps; negative = rebate).

    ``source``, never read from the file: where the rates came from when not this table, the account's
    fees file that ``arb fees --write`` stored (:data:`ACCOUNT_FEES_FILE` in ``[live] state_dir``); empty:
    the venue file (or ``--set``).
    """

    maker: Annotated[float, Meta(ge=-0.01, le=0.01)]
    taker: Annotated[float, Meta(ge=-0.01, le=0.01)]
    source: str = ""

    _not_in_file = frozenset({"source"})


ACCOUNT_FEES_FILE: Final = "account_fees.toml"
"""The file in ``[live] state_dir`` where ``arb fees --write`` stores the account's rates as the venues
report them, one ``[binance]``/``[bybit]`` table of ``maker``/``taker`` each: when it is there, every
command reads them instead of the venue files' ``[fees]`` (a ``--set <venue>.fees.*`` still wins)."""


class Instrument(ConfigStruct, frozen=True):
    """``[instrument]``: the venue's trading rules for the symbol (``min_qty`` defaults to ``lot_size``)."""

    tick_size: Positive
    lot_size: Positive
    min_qty: NonNegative
    min_notional: NonNegative = 0.0
    contract_size: Positive = 1.0


class Latency(ConfigStruct, frozen=True):
    """``[latency]``: latencies assumed by backtests (TOML in milliseconds, may be fractional)."""

    order_entry_ns: Annotated[int, Meta(ge=0), FRACTIONAL] = field(name="order_entry_ms")
    order_response_ns: Annotated[int, Meta(ge=0), FRACTIONAL] = field(name="order_response_ms")
    feed_ns: Annotated[int, Meta(ge=0), FRACTIONAL] = field(default=0, name="feed_ms")
    order: Literal["constant", "measured"] = "constant"
    measured_dir: Path = Path("../latency")


class Account(ConfigStruct, frozen=True):
    """``[account]``: starting balances for backtests and the paper account (``base`` is 0 on linear markets)."""

    base: NonNegative = 0.0
    quote: NonNegative = 10_000.0


class PerpetualConfig(ConfigStruct, frozen=True):
    """``[perpetual]``: what ``arb live`` sets on a linear venue at start (ignored on spot).

    A Bybit unified account's ``margin_mode`` is account-wide, so arb checks it and refuses to start when
    it differs rather than change every position of the account. ``funding_interval_ns`` counts only
    until the feeds read the symbol's own interval from the venue (``view.funding_interval_ns``).

    Every mode uses ``leverage``: a pair whose legs would need more initial margin (position value
    over leverage, every symbol's on the venue) than the venue's equity is refused by the risk gate,
    and the paper executor rejects such an order as the venue does.
    """

    leverage: Annotated[int, Meta(ge=1, le=125)] = 1
    margin_mode: Literal["cross", "isolated"] = "cross"
    maintenance_margin_rate: Annotated[float, Meta(ge=0, le=0.5)] = 0.004
    funding_interval_ns: Annotated[int, Meta(ge=1 * _HOUR, le=24 * _HOUR)] = field(
        default=8 * 3600 * NS_PER_S, name="funding_interval_h"
    )


class FeedConfig(ConfigStruct, frozen=True):
    """``[feed]``: the market-data connection. Every ``*_ns`` field is spelled ``*_ms`` in TOML; ``depth_stream``
    and ``max_streams_per_connection`` default per venue and market (the venue's facts,
    :func:`arb.catalog.venue_facts`).
    """

    depth_stream: str
    snapshot_limit: Annotated[int, Meta(ge=1, le=5000)] = 1000
    stale_after_ns: PositiveInt = field(default=2_000 * NS_PER_MS, name="stale_after_ms")
    reconnect_after_stale_ns: PositiveInt = field(default=10_000 * NS_PER_MS, name="reconnect_after_stale_ms")
    ping_interval_ns: PositiveInt = field(default=20_000 * NS_PER_MS, name="ping_interval_ms")
    read_timeout_ns: PositiveInt = field(default=30_000 * NS_PER_MS, name="read_timeout_ms")
    backoff_initial_ns: PositiveInt = field(default=250 * NS_PER_MS, name="backoff_initial_ms")
    backoff_max_ns: PositiveInt = field(default=30_000 * NS_PER_MS, name="backoff_max_ms")
    failover_after: Annotated[int, Meta(ge=1)] = 3
    max_buffered_diffs: Annotated[int, Meta(ge=1)] = 10000
    max_streams_per_connection: Annotated[int, Meta(ge=1, le=1024)] = 1024

    def _rules(self) -> None:
        if self.reconnect_after_stale_ns <= self.stale_after_ns:
            fail(
                self,
                "reconnect_after_stale_ns",
                f"expected a value greater than stale_after ({_ms(self.stale_after_ns)}), "
                f"got {_ms(self.reconnect_after_stale_ns)}",
            )
        if self.backoff_max_ns < self.backoff_initial_ns:
            fail(
                self,
                "backoff_max_ns",
                f"expected a value >= backoff_initial ({_ms(self.backoff_initial_ns)}), got {_ms(self.backoff_max_ns)}",
            )


class VenueConfig(ConfigStruct, frozen=True):
    """One venue file (``config/<venue>.toml``).

    Fields the file does not set:
        name: The venue's name (one of :func:`arb.catalog.known_venues`): the file's.
        path: The venue file, resolved.
        data_network: Resolved at load to a network name (``"mainnet"``, or ``network`` in a file
            without an ``[endpoints.<market>.mainnet]`` table). ``arb live`` does not read it: orders
            priced on one network's book would meet another network's (see :meth:`as_traded`).
        endpoints: ``all_endpoints[market][network]``: where orders go, computed.
        data_endpoints: ``all_endpoints[market][data_network]``: where the market data comes from, computed.
    """

    name: str
    path: Path
    market: Market
    all_endpoints: Mapping[str, Mapping[str, Endpoints]] = field(name="endpoints")
    fees: Fees
    instrument: Instrument
    latency: Latency
    feed: FeedConfig
    network: NetworkName = "testnet"
    data_network: _DataNetwork = ""
    order_entry: OrderEntry = "rest"
    rest_connections: Annotated[int, Meta(ge=0, le=16)] = 2
    account: Account = Account()
    perpetual: PerpetualConfig = PerpetualConfig()
    api_key: Secret | None = None
    api_secret: Secret | None = None
    api_passphrase: Secret | None = None
    """The key's passphrase, for a venue whose keys have one (its ``venue.toml`` says ``passphrase = true``)."""
    endpoints: Endpoints = field(default=_UNRESOLVED, name="endpoints_in_use")
    data_endpoints: Endpoints = field(default=_UNRESOLVED, name="data_endpoints_in_use")

    _not_in_file = frozenset({"name", "path", "endpoints", "data_endpoints"})
    _computed = frozenset({"endpoints", "data_endpoints"})

    def _rules(self) -> None:
        if self.name not in known_venues():
            fail(self, "name", f"expected one of {', '.join(map(json.dumps, known_venues()))}, {got(self.name)}")
        force_setattr(self, "all_endpoints", _check_endpoint_map(self, self.all_endpoints))
        networks = self.all_endpoints.get(self.market, {})
        if self.network not in networks:
            if networks:
                have = ", ".join(f'"{n}"' for n in networks)
                fail(
                    self,
                    "network",
                    f"expected a network with an [endpoints.{self.market}.<network>] "
                    f"table ({have}), {got(self.network)}",
                )
            fail(
                self,
                "network",
                f"expected a network with endpoints, but the file has no "
                f"[endpoints.{self.market}.{self.network}] table (nor any [endpoints.{self.market}.*])",
            )
        force_setattr(self, "endpoints", networks[self.network])
        data = self.data_network or (_PUBLIC_DATA if _PUBLIC_DATA in networks else self.network)
        if data not in networks:
            have = ", ".join(f'"{n}"' for n in networks)
            fail(self, "data_network", f"expected a network with an [endpoints.{self.market}.<network>] "
                  f"table ({have}), {got(data)}")  # fmt: skip
        force_setattr(self, "data_network", data)
        force_setattr(self, "data_endpoints", networks[data])
        if self.order_entry == "websocket":
            self._check_order_socket()
        facts = venue_facts(self.name)
        if self.market not in facts.markets:
            fail(self, "market", f"expected one of {', '.join(map(json.dumps, facts.markets))} for {self.name}, "
                 f"{got(self.market)}")  # fmt: skip
        allowed = facts.depth_streams[self.market]
        if self.feed.depth_stream not in allowed:
            fail(
                self,
                "feed.depth_stream",
                f"expected one of {', '.join(map(json.dumps, allowed))} for "
                f"{self.name} {self.market}, {got(self.feed.depth_stream)}",
            )
        if self.market == "linear" and self.account.base != 0:
            fail(
                self,
                "account.base",
                f"expected 0 for a linear market (it holds positions, not base holdings), {got(self.account.base)}",
            )

    def _check_order_socket(self) -> None:
        # "websocket" needs an order WebSocket on the network in use
        why_not = venue_facts(self.name).no_order_socket.get(self.network)
        if why_not is not None:
            fail(self, "order_entry", f'expected "rest" on network "{self.network}": {why_not}')
        if not self.endpoints.ws_orders:
            fail(
                self,
                f"endpoints.{self.market}.{self.network}.ws_orders",
                'expected the order WebSocket\'s URL (ws:// or wss://) for order_entry = "websocket", got none',
            )

    def to_dict(self) -> dict[str, Any]:
        """This venue as JSON-serialisable data (times in ns, paths as strings, secrets redacted)."""
        return typing.cast(dict[str, Any], jsonable(self))

    def as_traded(self) -> VenueConfig:
        """This venue as ``arb live`` reads it: its market data from ``network``, the network its orders
        go to (a testnet order meets the testnet book, so the kernel must price it on that book). A
        network whose orders meet another network's book says so in its own table: Bybit's ``demo``
        lists the mainnet streams as its ``ws``."""
        return self if self.data_network == self.network else replace(self, data_network=self.network)

    def describe_networks(self) -> list[str]:
        """Two lines for ``arb check``: where the dry run and the recorder read market data, and where
        ``arb live`` sends orders and reads the market data it trades on."""
        traded = self.as_traded()
        return [
            f"dry-run --live-data, record: market data from {self.data_network} ({self.data_endpoints.ws[0]}); "
            "set data_network to change it",
            f"live: orders to {self.network} ({self.endpoints.rest}), market data from {traded.data_network} "
            f"({traded.data_endpoints.ws[0]}); set network to change both",
        ]

    def describe_endpoints(self, *, private: bool = False) -> str:
        """One line for a start banner: the networks and every URL in use, e.g. ``binance spot: market
        data from mainnet (wss://stream.binance.com:9443/stream, REST https://api.binance.com)``.
        ``private``: for real orders, the orders' network first (REST, the user-data stream, the order
        WebSocket when ``order_entry`` uses it), then the market data's; without it the line ends
        saying that no order goes anywhere. With ``private`` the market data is the orders' network's,
        as ``arb live`` reads it (:meth:`as_traded`)."""
        if private and self.data_network != self.network:
            return self.as_traded().describe_endpoints(private=True)
        data = self.data_endpoints
        ws = data.ws
        feed = ws[0] + (f" (failover: {', '.join(ws[1:])})" if len(ws) > 1 else "")
        market_data = f"market data from {self.data_network} ({feed}, REST {data.rest})"
        if not private:
            return f"{self.name} {self.market}: {market_data}; no orders"
        orders = f"REST {self.endpoints.rest}, orders and fills {self.endpoints.ws_private or '(none: read-only)'}"
        if self.order_entry == "websocket":
            orders += f", order entry {self.endpoints.ws_orders}"
        return f"{self.name} {self.market}: orders to {self.network} ({orders}); {market_data}"


def _check_endpoint_map(venue: VenueConfig, value: Any) -> dict[str, dict[str, Endpoints]]:
    if not isinstance(value, Mapping):
        fail(venue, "all_endpoints", f"expected a mapping market -> network -> Endpoints, {got(value)}")
    out: dict[str, dict[str, Endpoints]] = {}
    for market, networks in value.items():
        if market not in MARKETS or not isinstance(networks, Mapping):
            fail(
                venue,
                "all_endpoints",
                f"expected markets {', '.join(MARKETS)} mapping to networks, {got(market)}",
            )
        for network, endpoints in networks.items():
            if not isinstance(endpoints, Endpoints) or not re.match(_NETWORK, str(network)):
                fail(venue, "all_endpoints", f"expected network names mapping to Endpoints, {got(network)}")
        out[market] = dict(networks)
    return out
