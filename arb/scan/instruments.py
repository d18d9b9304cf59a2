"""The instrument lists of ``arb scan``: which symbols each venue lists in each market, with their ticks and lots,
fetched from the venues' public REST, kept on disk for a scan without network, and matched across venues.

Each venue's connector says how to ask and how to read the answer (``connectors/<venue>/instruments.py``,
:class:`~connectors.common.instruments.InstrumentList`, found by the registry); this module asks every venue at
once over aiohttp, each request bounded by a timeout, at the REST base of the venue file's market-data network
(``[endpoints.<market>.<data_network>] rest``, so a test points it at a fake by configuration). A venue that
cannot be reached is one line naming it and the URL; the others are listed all the same.

Every answer is kept as the venue sent it, in ``<recordings>/instruments/<venue>_<market>.json`` (written
atomically: ``{"venue":..., "market":..., "url":..., "fetched_ns":..., "bodies":[<answer>, ...]}``, one body a
page), and read back through the same parser when the venue is not asked again (``refresh=False``) or cannot be
reached.

Two venues list the same instrument when their base asset, quote currency and market agree once a bundle's count
is set aside (:func:`~connectors.common.instruments.asset_of`): one venue's ``1000PEPEUSDT`` (1,000 PEPE) and
another's ``PEPE-USDT-SWAP`` are both ``PEPEUSDT`` on ``linear``, each with its own multiplier. A ticker
that two venues give to different tokens is not told apart here.
"""

from __future__ import annotations

__all__ = [
    "CACHE_FOLDER",
    "ListTarget",
    "VenueList",
    "cache_path",
    "common_symbols",
    "fetch_instruments",
    "fetch_instruments_sync",
    "list_universe",
    "list_universe_async",
    "live_symbols",
    "read_cache",
    "targets_of",
    "universe_rows",
]

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import msgspec

from arb.errors import VenueError
from arb.files import write_atomic
from connectors.common.instruments import Instrument, InstrumentList, InstrumentPage
from connectors.registry import venue

logger = logging.getLogger(__name__)

CACHE_FOLDER = "instruments"
"""The folder under the recordings folder where the fetched lists are kept."""
_MAX_PAGES = 50
"""Pages asked of one list at most (a list of 1,000 a page runs to a few pages): a cursor that never ends stops here."""


@dataclass(frozen=True, slots=True)
class ListTarget:
    """One list to fetch: ``venue``'s ``market`` at the REST base ``rest`` (``https://api.example.com``);
    ``where`` names the configuration key that gave the URL (for the error line)."""

    venue: str
    market: str
    rest: str
    where: str = ""


@dataclass(frozen=True, slots=True)
class VenueList:
    """What is known of one venue's list of one market.

    ``instruments``: every instrument it lists (trading or not). ``source``: ``"fetched"`` or ``"cache"`` (read
    from ``cache``); ``""`` when neither worked. ``problem``: one line when the venue could not be asked (or
    answered what cannot be read), naming it and the URL; with ``source == "cache"`` the list shown is the last
    fetched. ``skipped``: entries the parser left out, one line each. ``fetched_ns``: when the list was fetched
    (ns since the epoch; 0 when unknown).
    """

    venue: str
    market: str
    instruments: tuple[Instrument, ...] = ()
    source: str = ""
    problem: str = ""
    cache: Path | None = None
    fetched_ns: int = 0
    skipped: tuple[str, ...] = ()


class _Cache(msgspec.Struct, frozen=True, kw_only=True):
    venue: str
    market: str
    url: str
    fetched_ns: int
    bodies: list[msgspec.Raw]


def cache_path(folder: Path, venue_name: str, market: str) -> Path:
    """Where ``venue_name``'s list of ``market`` is kept: ``<folder>/<venue>_<market>.json``."""
    return folder / f"{venue_name}_{market}.json"


def _lister(venue_name: str) -> InstrumentList:
    found = venue(venue_name).instruments
    if found is None:
        raise ValueError(f"{venue_name} has no instrument list (connectors/{venue_name}/instruments.py)")
    return found


def _parse(lister: InstrumentList, bodies: Iterable[bytes], market: str) -> tuple[list[Instrument], list[str]]:
    found: list[Instrument] = []
    skipped: list[str] = []
    for body in bodies:
        page = lister.parse(body, market)
        found += page.instruments
        skipped += page.skipped
    return found, skipped


def read_cache(folder: Path, venue_name: str, market: str) -> VenueList | None:
    """The list kept for ``venue_name``'s ``market`` under ``folder``, parsed; None when there is none, or it
    cannot be read (a damaged file is logged and left for the next fetch to replace)."""
    path = cache_path(folder, venue_name, market)
    try:
        kept = msgspec.json.decode(path.read_bytes(), type=_Cache)
        found, skipped = _parse(_lister(venue_name), (bytes(b) for b in kept.bodies), market)
    except FileNotFoundError:
        return None
    except (OSError, msgspec.DecodeError, ValueError) as exc:
        logger.warning("instrument list %s not read: %s", path, exc)
        return None
    return VenueList(venue_name, market, tuple(found), "cache", cache=path, fetched_ns=kept.fetched_ns,
                     skipped=tuple(skipped))  # fmt: skip


def _write_cache(folder: Path, target: ListTarget, url: str, bodies: list[bytes], fetched_ns: int) -> Path:
    kept = _Cache(venue=target.venue, market=target.market, url=url, fetched_ns=fetched_ns,
                  bodies=[msgspec.Raw(b) for b in bodies])  # fmt: skip
    return write_atomic(cache_path(folder, target.venue, target.market), msgspec.json.encode(kept))


def _unreachable(target: ListTarget, url: str, answered: str, code: str) -> str:
    where = target.where or "the venue file's [endpoints] rest"
    error = VenueError(f"{target.venue} {target.market}", f"GET {url} {answered}", f"the network and {where}",
                       code=code, retryable=True)  # fmt: skip
    return str(error)


class _UnreachableError(Exception):
    """A list that could not be fetched; its text is the line to show."""


async def _fetch_one(
    http: aiohttp.ClientSession, target: ListTarget, timeout_s: float
) -> tuple[list[bytes], str, list[InstrumentPage]]:
    # Every page of one list: the bodies, the URL of the first page, the pages read. Raises _UnreachableError
    # with the line.
    lister = _lister(target.venue)
    bodies: list[bytes] = []
    pages: list[InstrumentPage] = []
    cursor, seen = "", set[str]()
    first_url = ""
    for _ in range(_MAX_PAGES):
        request = lister.request(target.market, cursor)
        url = target.rest.rstrip("/") + request.path
        shown = url + ("?" + "&".join(f"{k}={v}" for k, v in request.params.items()) if request.params else "")
        first_url = first_url or shown
        try:
            send = http.get(url, params=dict(request.params)) if request.body is None else \
                http.post(url, params=dict(request.params), json=dict(request.body))  # fmt: skip
            async with send as answer:
                body = await answer.read()
                if answer.status != 200:
                    text = body[:200].decode("utf-8", "replace").replace("\n", " ")
                    raise _UnreachableError(_unreachable(target, shown, f"answered HTTP {answer.status} {text}",
                                                    f"http-{answer.status}"))  # fmt: skip
        except TimeoutError:
            raise _UnreachableError(
                _unreachable(target, shown, f"had no answer within {timeout_s:g} s", "timeout")
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            reason = str(exc) or type(exc).__name__
            raise _UnreachableError(_unreachable(target, shown, f"failed: {reason}", "not-sent")) from None
        try:
            page = lister.parse(body, target.market)
        except ValueError as exc:
            raise _UnreachableError(
                _unreachable(target, shown, f"answered what is not a list: {exc}", "decode")
            ) from None
        bodies.append(body)
        pages.append(page)
        if not page.cursor or page.cursor in seen or not page.instruments:
            return bodies, first_url, pages
        seen.add(page.cursor)
        cursor = page.cursor
    logger.warning("%s %s: the list went on past %d pages; kept those", target.venue, target.market, _MAX_PAGES)
    return bodies, first_url, pages


async def _one_list(
    http: aiohttp.ClientSession, target: ListTarget, cache_dir: Path | None, refresh: bool, timeout_s: float
) -> VenueList:
    # One target's list: the cache when not refreshing and it is there, else fetched (and kept), else the cache
    # with the line saying why.
    kept = read_cache(cache_dir, target.venue, target.market) if cache_dir is not None else None
    if kept is not None and not refresh:
        return kept
    try:
        bodies, url, pages = await _fetch_one(http, target, timeout_s)
    except _UnreachableError as exc:
        line = str(exc)
        if kept is not None:
            return VenueList(target.venue, target.market, kept.instruments, "cache",
                             f"{line} (listed from {kept.cache}, fetched {_when(kept.fetched_ns)})", kept.cache,
                             kept.fetched_ns, kept.skipped)  # fmt: skip
        return VenueList(target.venue, target.market, problem=line)
    fetched_ns = time.time_ns()
    found = [i for page in pages for i in page.instruments]
    skipped = [line for page in pages for line in page.skipped]
    path = None
    if cache_dir is not None:
        try:
            path = _write_cache(cache_dir, target, url, bodies, fetched_ns)
        except OSError as exc:
            logger.warning("instrument list of %s %s not kept: %s", target.venue, target.market, exc)
    for line in skipped:
        logger.warning("instrument left out: %s", line)
    return VenueList(target.venue, target.market, tuple(found), "fetched", cache=path, fetched_ns=fetched_ns,
                     skipped=tuple(skipped))  # fmt: skip


def _when(ns: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ns / 1e9)) if ns else "at an unknown time"


async def fetch_instruments(
    targets: Sequence[ListTarget],
    *,
    cache_dir: Path | None = None,
    refresh: bool = True,
    timeout_s: float = 10.0,
) -> list[VenueList]:
    """Every target's list, in ``targets`` order, all asked at once (each request bounded by ``timeout_s``
    seconds). ``refresh`` False reads a kept list instead of asking, where ``cache_dir`` holds one. A target
    that cannot be fetched has its :attr:`VenueList.problem` (and the kept list, if any); none raises."""
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with aiohttp.ClientSession(timeout=timeout) as http, asyncio.TaskGroup() as group:
        tasks = [group.create_task(_one_list(http, t, cache_dir, refresh, timeout_s)) for t in targets]
    return [task.result() for task in tasks]


def fetch_instruments_sync(
    targets: Sequence[ListTarget], *, cache_dir: Path | None = None, refresh: bool = True, timeout_s: float = 10.0
) -> list[VenueList]:
    """:func:`fetch_instruments` from code without an event loop running."""
    return asyncio.run(fetch_instruments(targets, cache_dir=cache_dir, refresh=refresh, timeout_s=timeout_s))


def common_symbols(
    lists: Iterable[VenueList | Iterable[Instrument]], min_venues: int = 2
) -> dict[tuple[str, str], list[Instrument]]:
    """The instruments at least ``min_venues`` venues list and trade, by ``(asset symbol, market)``
    (``("PEPEUSDT", "linear")``), each key's instruments one per venue in venue-name order (their
    ``venue``, ``symbol`` and ``multiplier`` say where and how). Matched by base asset (bundles set aside),
    quote and market; an instrument not trading is left out. A venue listing the same asset twice in a market
    (a bundle beside the asset itself) counts once, by its instrument of the smallest multiplier."""
    best: dict[tuple[str, str], dict[str, Instrument]] = {}
    for entry in lists:
        for inst in entry.instruments if isinstance(entry, VenueList) else entry:
            if not inst.trading:
                continue
            by_venue = best.setdefault((inst.asset_symbol, inst.market), {})
            held = by_venue.get(inst.venue)
            if held is None or (inst.multiplier, inst.symbol) < (held.multiplier, held.symbol):
                by_venue[inst.venue] = inst
    return {
        key: [by_venue[v] for v in sorted(by_venue)]
        for key, by_venue in sorted(best.items())
        if len(by_venue) >= max(1, min_venues)
    }


_RULES = ("tick", "lot", "min_qty", "min_notional", "multiplier", "contract_size")


def universe_rows(common: Mapping[tuple[str, str], Sequence[Instrument]]) -> list[dict[str, Any]]:
    """:func:`common_symbols`' answer as rows, one per (symbol, market), e.g. ``{"symbol": "PEPEUSDT",
    "market": "linear", "venues": ["a", "b"], "symbols": {"a": "1000PEPEUSDT", "b": "PEPEUSDT"},
    "names": {"a": "1000PEPEUSDT", "b": "PEPE-USDT-SWAP"}, "tick": {"a": "0.0000001", ...},
    "lot": {...}, "min_qty": {...}, "min_notional": {...}, "multiplier": {"a": "1000", "b": "1"},
    "contract_size": {"a": "1", "b": "10000000"}}`` for venues ``a`` and ``b``: each rule per venue as a decimal
    string, in the units of :class:`~connectors.common.instruments.Instrument` (tick per ``multiplier`` base,
    lot and minimum in ``multiplier`` base, minimum value in quote currency)."""
    rows: list[dict[str, Any]] = []
    for (symbol, market), instruments in common.items():
        row: dict[str, Any] = {"symbol": symbol, "market": market, "venues": [i.venue for i in instruments],
                               "symbols": {i.venue: i.symbol for i in instruments},
                               "names": {i.venue: i.name for i in instruments}}  # fmt: skip
        rules = {i.venue: i.rules() for i in instruments}
        for rule in _RULES:
            row[rule] = {v: r[rule] for v, r in rules.items()}
        rows.append(row)
    return rows


def targets_of(config: Any, venues: Sequence[str], markets: Sequence[str]) -> tuple[list[ListTarget], list[str]]:
    """The lists to fetch for ``venues`` x ``markets`` with ``config`` (an :class:`~arb.config.AppConfig`): each
    venue's file (the run's, else ``<config folder>/<venue>.toml``) gives the REST base of its market-data
    network for each market. A market the venue does not have, or has no endpoints for, is one line in the
    second list, as is a venue without an instrument list or a venue file that does not load."""
    from arb.config import load_venue_config
    from arb.errors import ArbError

    by_name = {v.name: v for v in config.venues}
    targets: list[ListTarget] = []
    problems: list[str] = []
    for name in venues:
        try:
            if venue(name).instruments is None:
                problems.append(f"{name}: no instrument list (connectors/{name}/instruments.py)")
                continue
            file = by_name.get(name) or load_venue_config(config.path.parent / f"{name}.toml", name)
        except (ArbError, OSError) as exc:
            problems.append(f"{name}: {exc}")
            continue
        for market in markets:
            networks = file.all_endpoints.get(market, {})
            network = file.data_network if file.data_network in networks else "mainnet"
            endpoints = file.data_endpoints if market == file.market else networks.get(network)
            if endpoints is None:
                problems.append(f"{name} {market}: {file.path} has no [endpoints.{market}.{network}] table")
                continue
            where = (
                f"[endpoints.{market}.{file.data_network if market == file.market else network}] rest in {file.path}"
            )
            targets.append(ListTarget(name, market, endpoints.rest, where))
    return targets, problems


def list_universe(
    config: Any,
    venues: Sequence[str],
    markets: Sequence[str],
    *,
    refresh: bool,
    cache_dir: Path | None = None,
    min_venues: int = 2,
    timeout_s: float = 10.0,
) -> tuple[list[dict[str, Any]], list[str]]:
    """The symbols ``min_venues`` or more of ``venues`` list and trade in each of ``markets``, with each venue's
    rules (:func:`universe_rows`), and one line per venue and market whose list could not be fetched (named
    with the URL; a kept list stands in for it, and the line says so) or asked for.

    ``config``: the :class:`~arb.config.AppConfig` (venue files, and ``[backtest] recordings``, whose
    ``instruments/`` folder keeps the lists unless ``cache_dir`` names another). ``refresh``: ask the venues
    again; False reads the kept lists where there are some (no network for those). From code without an event
    loop running; :func:`list_universe_async` from a coroutine."""
    return asyncio.run(list_universe_async(config, venues, markets, refresh=refresh, cache_dir=cache_dir,
                                           min_venues=min_venues, timeout_s=timeout_s))  # fmt: skip


async def list_universe_async(
    config: Any,
    venues: Sequence[str],
    markets: Sequence[str],
    *,
    refresh: bool,
    cache_dir: Path | None = None,
    min_venues: int = 2,
    timeout_s: float = 10.0,
) -> tuple[list[dict[str, Any]], list[str]]:
    """:func:`list_universe` in a running event loop."""
    targets, problems = targets_of(config, venues, markets)
    folder = cache_dir if cache_dir is not None else Path(config.backtest.recordings) / CACHE_FOLDER
    lists = await fetch_instruments(targets, cache_dir=folder, refresh=refresh, timeout_s=timeout_s)
    problems += [found.problem for found in lists if found.problem]
    return universe_rows(common_symbols(lists, min_venues)), problems


def live_symbols(rows: Sequence[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """From :func:`universe_rows`' rows, the symbols a live scan subscribes to by arb's name on every venue
    that lists them (each venue's instrument is the asset itself: symbol as arb names it, multiplier 1), and
    the others, named: a symbol some venue lists only in a bundle (``1000PEPEUSDT``) or under another name,
    whose prices the live feeds give per bundle (``--symbols`` scans such a symbol where it is its own name)."""
    plain: set[str] = set()
    other: set[str] = set()
    for r in rows:
        same = all(r["symbols"][v] == r["symbol"] and str(r["multiplier"][v]) == "1" for v in r["venues"])
        (plain if same else other).add(r["symbol"])
    return sorted(plain), sorted(other - plain)
