"""The venues arb knows, as data: each venue folder's facts file, ``connectors/<venue>/venue.toml``.

A venue is its folder (``connectors/<venue>/``, with ``arb/sim/<venue>/`` and ``config/<venue>.toml``):
what the configuration must know of it before any of its code loads (its name and title, the markets it
has, the depth streams each allows, how many streams one connection takes, the networks without an
order WebSocket, and whether it is in the default run) is written in that folder's ``venue.toml`` and
read here, as a file, so the ground imports no connector (``arb --help`` and ``arb check`` stay light)
and no module outside a venue's folders names it. Its code is found by the registry
(:mod:`connectors.registry`), which checks it against the same catalog.

``default_venues()`` is the default run's venues in their ``default_rank`` order, and
``venue_facts(name).title`` what a person calls the venue ``name``.
"""

from __future__ import annotations

__all__ = ["CONNECTORS", "VenueFacts", "default_venues", "known_venues", "venue_catalog", "venue_facts"]

import functools
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from arb.errors import ConfigError

CONNECTORS: Final = Path(__file__).resolve().parents[1] / "connectors"
"""Where the venue folders are: beside the ``arb`` package (in a checkout and once installed alike)."""

FACTS_FILE: Final = "venue.toml"
_NAME: Final = re.compile(r"\A[a-z][a-z0-9_]{1,23}\Z")


@dataclass(frozen=True, slots=True)
class VenueFacts:
    """One venue's ``venue.toml``.

    Attributes:
        name: The venue's name as configurations, files and reports spell it (its folder's name).
        title: How a person reads it (``"Bybit"``).
        markets: The markets it trades (``"spot"``, ``"linear"``).
        depth_streams: Per market, the ``[feed] depth_stream`` values allowed, the first the default.
        max_streams_per_connection: ``[feed] max_streams_per_connection`` when the venue file leaves it out.
        default_rank: Its place in the run when ``[strategy] venues`` is left out (None: not in it).
        no_order_socket: Per network known to have no order WebSocket, why (``order_entry = "websocket"``
            is refused there).
        archives: The servers of the venue's own history archives, by key (``orderbook_url``): the
            defaults of ``[history] <venue>_<key>``.
        tardis: Tardis.dev's exchange id of each market it has there (``spot = "<exchange id>"``).
        passphrase: Its API keys have a passphrase besides the secret (OKX): ``arb live`` needs the venue
            file's ``api_passphrase`` too.
        path: The facts file.
    """

    name: str
    title: str
    markets: tuple[str, ...]
    depth_streams: Mapping[str, tuple[str, ...]]
    max_streams_per_connection: int
    default_rank: int | None = None
    no_order_socket: Mapping[str, str] = field(default_factory=dict)
    archives: Mapping[str, str] = field(default_factory=dict)
    tardis: Mapping[str, str] = field(default_factory=dict)
    passphrase: bool = False
    path: Path = Path()


def _facts(path: Path) -> VenueFacts:
    # One folder's facts file, checked: a mistake in it is the venue's, named with its file and key.
    file = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(file, None, f"expected a venue's facts file ({exc})") from None

    def text(key: str, table: Mapping[str, Any] = raw, where: str = "") -> str:
        value = table.get(key)
        if not isinstance(value, str) or not value:
            raise ConfigError(file, where + key, f"expected a non-empty string, got {value!r}")
        return value

    name = text("name")
    if name != path.parent.name or not _NAME.match(name):
        raise ConfigError(file, "name", f"expected the folder's name ({path.parent.name}), in lower-case letters, "
                          f"digits and _, got {name!r}")  # fmt: skip
    markets = raw.get("markets")
    if not isinstance(markets, list) or not markets or not all(m in ("spot", "linear") for m in markets):
        raise ConfigError(file, "markets", f'expected a list of "spot" and "linear", got {markets!r}')
    streams = raw.get("depth_streams")
    if not isinstance(streams, dict) or set(streams) != set(markets):
        raise ConfigError(file, "depth_streams", f"expected a table with a list per market ({', '.join(markets)})")
    for market, allowed in streams.items():
        if not isinstance(allowed, list) or not allowed or not all(isinstance(s, str) and s for s in allowed):
            raise ConfigError(file, f"depth_streams.{market}", f"expected a list of stream names, got {allowed!r}")
    most = raw.get("max_streams_per_connection")
    if not isinstance(most, int) or isinstance(most, bool) or not 1 <= most <= 1024:
        raise ConfigError(file, "max_streams_per_connection", f"expected a whole number 1..1024, got {most!r}")
    rank = raw.get("default_rank")
    if rank is not None and (not isinstance(rank, int) or isinstance(rank, bool) or rank < 0):
        raise ConfigError(file, "default_rank", f"expected a whole number >= 0, got {rank!r}")
    no_socket = raw.get("no_order_socket", {})
    if not isinstance(no_socket, dict) or not all(isinstance(v, str) for v in no_socket.values()):
        raise ConfigError(file, "no_order_socket", "expected a table of network = reason")
    archives = raw.get("archives", {})
    if not isinstance(archives, dict) or not all(
        k.endswith("_url") and isinstance(v, str) and v.startswith(("http://", "https://")) for k, v in archives.items()
    ):
        raise ConfigError(file, "archives", "expected a table of <kind>_url = an http(s) URL")
    tardis = raw.get("tardis", {})
    if not isinstance(tardis, dict) or not all(m in markets and isinstance(e, str) and e for m, e in tardis.items()):
        raise ConfigError(file, "tardis", f"expected a table of <market> = Tardis's exchange id, markets {markets}")
    passphrase = raw.get("passphrase", False)
    if not isinstance(passphrase, bool):
        raise ConfigError(file, "passphrase", f"expected true or false, got {passphrase!r}")
    known = {"name", "title", "markets", "depth_streams", "max_streams_per_connection", "default_rank",
             "no_order_socket", "archives", "tardis", "passphrase"}  # fmt: skip
    for key in raw:
        if key not in known:
            raise ConfigError(file, key, f"unknown key; allowed keys: {', '.join(sorted(known))}")
    return VenueFacts(
        name=name,
        title=text("title"),
        markets=tuple(markets),
        depth_streams={market: tuple(allowed) for market, allowed in streams.items()},
        max_streams_per_connection=most,
        default_rank=rank,
        no_order_socket=dict(no_socket),
        archives=dict(archives),
        tardis=dict(tardis),
        passphrase=passphrase,
        path=path,
    )


@functools.cache
def venue_catalog() -> Mapping[str, VenueFacts]:
    """Every venue with a facts file under :data:`CONNECTORS`, by name, sorted by name."""
    found = sorted(p / FACTS_FILE for p in CONNECTORS.iterdir() if (p / FACTS_FILE).is_file())
    return {facts.name: facts for facts in map(_facts, found)}


def known_venues() -> tuple[str, ...]:
    """The names of every venue arb knows, sorted."""
    return tuple(venue_catalog())


def default_venues() -> tuple[str, ...]:
    """The venues a run trades when ``[strategy] venues`` is left out: those whose facts give a
    ``default_rank``, in its order."""
    ranked = [(facts.default_rank, name) for name, facts in venue_catalog().items() if facts.default_rank is not None]
    return tuple(name for _, name in sorted(ranked))


def venue_facts(name: str) -> VenueFacts:
    """The facts of venue ``name``; raises ``KeyError`` naming the known venues."""
    catalog = venue_catalog()
    if name not in catalog:
        raise KeyError(f"no venue named {name!r}: expected one of {', '.join(catalog)}")
    return catalog[name]
