"""What ``arb funding-history`` (:mod:`arb.cli.funding_history`) does: fetch the venues' funding-rate
history of some days into the recordings.

For each venue (both, or ``--venue``) and symbol (default: ``[strategy] symbol``), every funding
time from ``--start`` 00:00 UTC to the end of ``--end`` (UTC, default ``--start``; never past five
minutes ago, so a funding the venue has yet to publish is not taken for none)
is fetched from the REST endpoint of the venue's market-data network (``endpoints.linear.<data_network>.rest``,
mainnet unless the venue file says otherwise: public data, no key) and
merged into ``<out>/<venue>_linear/<symbol>_funding.json`` (:mod:`arb.recording.funding`), so a
backtest over recordings made without the mark-price stream still knows each funding time's rate.

Both venues must be configured for their linear (perpetual) market, and every symbol must be a
perpetual the venue lists (checked before anything is fetched): otherwise exit 2 with what is wrong.
A venue that keeps failing (timeouts, 5xx) or bans the IP is exit 1 naming the request; the files
of the symbols done by then are kept (each is written whole or not at all).
"""

from __future__ import annotations

__all__ = [
    "SETTLE_MARGIN_NS",
    "FetchReport",
    "FundingHistoryClient",
    "check_linear",
    "day_start_ns",
    "fetch_funding_history",
]

import asyncio
import calendar
import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import aiohttp

from arb.config import AppConfig, VenueConfig
from arb.errors import UsageError
from arb.events import NS_PER_S
from arb.recording.funding import funding_path, load_funding_file, merge_funding, save_funding_file
from connectors.common.history import FundingRecord, HistoryGetter, Sleep
from connectors.registry import venue as venue_connector

log = logging.getLogger(__name__)

SETTLE_MARGIN_NS = 300 * NS_PER_S
"""A fetch covers up to this long before now: a funding the venue has not published yet (its
history lags the funding time a little) is then not taken for a funding time without one."""


class FundingHistoryClient(Protocol):
    """What a venue's history client offers (``connectors/<venue>/history.py``)."""

    venue: str
    getter: HistoryGetter
    page: int
    """Entries asked for per request."""

    @property
    def source(self) -> str:
        """The endpoint the history comes from."""

    async def unlisted(self, symbol: str) -> str | None:
        """``None`` when ``symbol`` is a perpetual of the venue, else why not."""

    async def fetch(self, symbol: str, start_ns: int, end_ns: int) -> list[FundingRecord]:
        """Every funding with a time in ``[start_ns, end_ns)``, oldest first."""


@dataclass(frozen=True, slots=True)
class FetchReport:
    """What was fetched for one venue and symbol."""

    venue: str
    symbol: str
    path: Path
    start_ns: int
    end_ns: int
    """The span fetched, ``[start_ns, end_ns)``."""
    fundings: int
    """Funding times in the span."""
    new: int
    """Of them, not in the file before."""
    changed: int
    """Of them, in the file before with another value (the venue's new value was kept)."""
    first_ns: int
    last_ns: int
    """The first and last funding time fetched (0 when none)."""

    def describe(self) -> str:
        """One line for the terminal."""
        if self.fundings:
            times = f"{_time(self.first_ns)} .. {_time(self.last_ns)}"
        else:
            times = "none in the span"
        changed = f", {self.changed} changed" if self.changed else ""
        return (
            f"{self.venue} {self.symbol}: {self.fundings} funding times ({times}), {self.new} new{changed} "
            f"-> {self.path}"
        )


def _client(venue: VenueConfig, http: aiohttp.ClientSession, **getter: Any) -> FundingHistoryClient:
    connector = venue_connector(venue.name)
    g = HistoryGetter(venue.name, http, min_interval_ns=connector.funding_min_interval_ns, **getter)
    client: FundingHistoryClient = connector.history(venue.data_endpoints.rest, g)
    return client


def check_linear(config: AppConfig, venues: Sequence[str]) -> list[VenueConfig]:
    """The venue configurations of ``venues``; :class:`UsageError` naming the file when one is not
    configured for its linear (perpetual) market, since spot has no funding."""
    chosen: list[VenueConfig] = [config.venue(name) for name in venues]
    spot = [v for v in chosen if v.market != "linear"]
    if spot:
        linear = [v.name for v in chosen if v.market == "linear"]
        other = f" (or --venue {linear[0]} for {linear[0]} alone)" if linear else ""
        raise UsageError(
            "; ".join(f'{v.path}: market: expected "linear", got "{v.market}"' for v in spot)
            + f": funding exists on perpetuals only, so {' and '.join(v.name for v in spot)} "
            f"{'has' if len(spot) == 1 else 'have'} no funding history to fetch{other}"
        )
    return chosen


async def fetch_funding_history(
    config: AppConfig,
    *,
    venues: Sequence[str] | None = None,
    symbols: Sequence[str],
    start_ns: int,
    end_ns: int,
    out_dir: Path,
    clock: Callable[[], int] = time.time_ns,
    sleep: Sleep = asyncio.sleep,
    timeout_s: float = 10.0,
    retries: int = 5,
    page_size: int | None = None,
    status: Callable[[str], None] | None = None,
) -> list[FetchReport]:
    """Fetch every funding of ``symbols`` on ``venues`` (default: every venue of the run) in
    ``[start_ns, end_ns)`` (clipped to
    :data:`SETTLE_MARGIN_NS` before ``clock()``) into ``out_dir``; return one report per venue and
    symbol, in order.

    ``sleep`` (seconds) and ``clock`` (int ns) pace the requests and time the rate-limit waits;
    ``timeout_s`` abandons (and retries) a request without a complete answer; ``retries`` passing
    failures in a row are allowed per request; ``page_size`` entries are asked for per request
    (default: the venue's maximum, Binance 1000, Bybit 200). Raises :class:`UsageError` (nothing fetched) when a
    venue is not linear or does not list a symbol as a perpetual, :class:`~arb.errors.FeedError`
    when a venue keeps failing, :class:`~arb.errors.RecordingError` when a file cannot be merged.
    """
    write = status if status is not None else (lambda line: None)
    chosen = check_linear(config, config.venue_names if venues is None else venues)
    end_ns = min(end_ns, clock() - SETTLE_MARGIN_NS)
    if end_ns <= start_ns:
        raise UsageError(
            f"--start: expected a span that began more than 5 minutes ago, got {_time(start_ns)} (now {_time(clock())})"
        )
    reports: list[FetchReport] = []
    async with aiohttp.ClientSession() as http:
        clients = [_client(v, http, timeout_s=timeout_s, retries=retries, sleep=sleep, clock=clock) for v in chosen]
        if page_size is not None:
            for client in clients:
                client.page = page_size
        for venue, client in zip(chosen, clients, strict=True):
            write(f"{venue.name} {venue.market} on {venue.data_network}: {client.source}")
        problems = [why for client in clients for s in symbols if (why := await client.unlisted(s)) is not None]
        if problems:
            raise UsageError("--symbols: expected perpetuals the venues list; " + "; ".join(problems))
        for client in clients:
            for symbol in symbols:
                fetched = await client.fetch(symbol, start_ns, end_ns)
                path = funding_path(out_dir, client.venue, symbol)
                old = load_funding_file(path) if path.exists() else None
                merged, new, changed = merge_funding(
                    old, client.venue, symbol, client.source, (start_ns, end_ns), fetched
                )
                save_funding_file(path, merged)
                times = [r.time_ns for r in fetched]
                report = FetchReport(
                    client.venue, symbol, path, start_ns, end_ns, len(fetched), new, changed,
                    min(times, default=0), max(times, default=0),
                )  # fmt: skip
                write(report.describe())
                reports.append(report)
    return reports


def _time(ns: int) -> str:
    return dt.datetime.fromtimestamp(ns / NS_PER_S, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def day_start_ns(value: dt.date) -> int:
    """00:00 UTC of ``value``, int ns since the epoch."""
    return calendar.timegm(value.timetuple()) * NS_PER_S
