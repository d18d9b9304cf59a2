"""REST history requests (funding-rate history) shared by every venue: pacing, retries, waits.

A venue's history client (``connectors/<venue>/history.py``) builds each request and reads each
answer; this module sends it. One function per venue, ``classify``, turns an answer into a
:class:`Verdict`, and :class:`HistoryGetter` acts on it, so what is retried is decided in one place
per venue:

- ``Verdict.ok()``: the body is the data;
- ``Verdict.wait(seconds, why)``: the venue asked us to slow down (HTTP 429, Bybit ``10006``): wait
  as long as it says, then ask again; not a failure, but at most ``max_waits`` in a row;
- ``Verdict.retry(why)``: a passing failure (5xx, a timeout, a dropped connection, a truncated or
  undecodable body): ask again after the backoff delay, at most ``retries`` times in a row;
- ``Verdict.fatal(why)``: asking again cannot help or makes it worse (an IP ban, an unknown
  symbol): :class:`~arb.errors.FeedError` with ``retryable=False`` at once.

Requests of one getter are at least ``min_interval_ns`` apart (the venue's documented limit spread
evenly). Time comes from ``clock`` (int ns) and waits go through ``sleep`` (seconds), both
injectable, so tests assert the delays without waiting for them.
"""

from __future__ import annotations

__all__ = [
    "Answer",
    "FundingRecord",
    "HistoryGetter",
    "HistoryStats",
    "Sleep",
    "VenueFundingHistory",
    "Verdict",
    "decodable",
    "ms_span",
    "retry_after_s",
]

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Final, TypeVar

import aiohttp
import msgspec

from arb.errors import FeedError
from arb.events import NS_PER_MS, NS_PER_S

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
"""Waits the given seconds (``asyncio.sleep``, or a test's)."""
_OK, _WAIT, _RETRY, _FATAL = "ok", "wait", "retry", "fatal"
_BACKOFF_INITIAL_S: Final = 0.5
_BACKOFF_MAX_S: Final = 30.0
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class FundingRecord:
    """One settled funding as a venue's history lists it."""

    time_ns: int
    """The funding time, int64 ns since the epoch (the venue's stamp: Binance's can be a few ms past
    the hour)."""
    rate: str
    """The rate that applied, a fraction of the notional per funding interval, as the venue wrote it."""
    mark_price: str = ""
    """The mark price the venue used for it (Binance), ``""`` when the venue gives none (Bybit)."""


@dataclass(frozen=True, slots=True)
class Answer:
    """One HTTP answer."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    local_ts: int
    """When it arrived (the getter's clock), ns."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do with an :class:`Answer` (see the module docstring)."""

    kind: str
    why: str = ""
    wait_s: float = 0.0

    @staticmethod
    def ok() -> Verdict:
        """The answer is the data."""
        return Verdict(_OK)

    @staticmethod
    def wait(seconds: float, why: str) -> Verdict:
        """Rate limited: wait ``seconds`` and ask again."""
        return Verdict(_WAIT, why, max(0.0, seconds))

    @staticmethod
    def retry(why: str) -> Verdict:
        """A passing failure: back off and ask again."""
        return Verdict(_RETRY, why)

    @staticmethod
    def fatal(why: str) -> Verdict:
        """Stop: asking again cannot help."""
        return Verdict(_FATAL, why)


def decodable(verdict: Verdict, answer: Answer, decoder: msgspec.json.Decoder[Any]) -> Verdict:
    """``verdict``, except that a good answer whose body ``decoder`` cannot read is retried (a
    truncated body)."""
    if verdict.kind != _OK:
        return verdict
    try:
        decoder.decode(answer.body)
    except msgspec.DecodeError as exc:
        return Verdict.retry(f"undecodable body ({exc}): {answer.body[:200].decode('utf-8', 'replace')}")
    return verdict


@dataclass(slots=True)
class HistoryStats:
    """What a getter did."""

    requests: int = 0
    """Requests sent (answered or not)."""
    retries: int = 0
    rate_limit_waits: int = 0
    waited_s: list[float] = field(default_factory=list)
    """Every wait, in seconds: pacing, rate limits and backoff."""


def _backoff() -> Iterator[float]:
    delay = _BACKOFF_INITIAL_S
    while True:
        yield delay
        delay = min(_BACKOFF_MAX_S, delay * 2)


@dataclass(eq=False)
class HistoryGetter:
    """Sends GET requests for one venue with pacing, retries and rate-limit waits.

    ``timeout_s``: a request that has no complete answer by then is abandoned and retried.
    ``retries``: passing failures allowed in a row; ``max_waits``: rate-limit answers allowed in a
    row. ``backoff`` yields the delays (seconds) between retries (default 0.5 s doubling to 30 s).
    """

    venue: str
    http: aiohttp.ClientSession
    _: KW_ONLY
    min_interval_ns: int = 0
    timeout_s: float = 10.0
    retries: int = 5
    max_waits: int = 10
    sleep: Sleep = asyncio.sleep
    clock: Callable[[], int]
    backoff: Callable[[], Iterator[float]] = _backoff
    stats: HistoryStats = field(default_factory=HistoryStats, init=False)
    _last_sent_ns: int | None = field(default=None, init=False)

    async def get(
        self, url: str, params: Mapping[str, str], classify: Callable[[Answer], Verdict], *, body: Any = None
    ) -> Answer:
        """GET ``url`` with ``params`` (a POST of ``body`` as JSON when it is given: a venue that takes its
        question in the body) until ``classify`` says the answer is good; return it.

        Raises :class:`FeedError` (``retryable=False``) on a fatal verdict, or once the retries or
        the rate-limit waits in a row are used up, naming the request and the last reason.
        """
        delays = self.backoff()
        failures = waits = 0
        what = f"GET {url}?{'&'.join(f'{k}={v}' for k, v in params.items())}" if body is None else f"POST {url} {body}"
        while True:
            await self._pace()
            self.stats.requests += 1
            verdict, answer = await self._once(url, params, classify, body)
            if verdict.kind == _OK and answer is not None:
                return answer
            if verdict.kind == _FATAL:
                raise FeedError(self.venue, f"{what}: {verdict.why}", retryable=False)
            if verdict.kind == _WAIT:
                waits += 1
                self.stats.rate_limit_waits += 1
                if waits > self.max_waits:
                    raise FeedError(
                        self.venue, f"{what}: still rate limited after {self.max_waits} waits ({verdict.why})",
                        retryable=False,
                    )  # fmt: skip
                log.warning("%s: %s; waiting %.3f s as the venue asks", self.venue, verdict.why, verdict.wait_s)
                await self._wait(verdict.wait_s)
                continue
            failures += 1
            if failures > self.retries:
                raise FeedError(
                    self.venue, f"{what}: no answer after {failures} tries ({verdict.why})", retryable=False
                )
            self.stats.retries += 1
            delay = next(delays)
            log.warning("%s: %s; retrying in %.3f s (%d of %d)", self.venue, verdict.why, delay, failures, self.retries)
            await self._wait(delay)

    async def _once(
        self, url: str, params: Mapping[str, str], classify: Callable[[Answer], Verdict], body: Any
    ) -> tuple[Verdict, Answer | None]:
        self._last_sent_ns = self.clock()
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        send = self.http.get(url, params=params, timeout=timeout) if body is None else \
            self.http.post(url, params=params, json=body, timeout=timeout)  # fmt: skip
        try:
            async with send as response:
                body = await response.read()
                answer = Answer(response.status, response.headers, body, self.clock())
        except TimeoutError:
            return Verdict.retry(f"no answer within {self.timeout_s:g} s"), None
        except aiohttp.ClientError as exc:
            return Verdict.retry(f"request failed ({type(exc).__name__}: {exc})"), None
        return classify(answer), answer

    async def _pace(self) -> None:
        # Keep requests min_interval_ns apart.
        if self._last_sent_ns is None or not self.min_interval_ns:
            return
        due = self._last_sent_ns + self.min_interval_ns - self.clock()
        if due > 0:
            await self._wait(due / NS_PER_S)

    async def _wait(self, seconds: float) -> None:
        self.stats.waited_s.append(seconds)
        await self.sleep(seconds)


class VenueFundingHistory:
    """What the venues' funding-history clients share: the REST base (``endpoints.linear.<network>.rest``),
    the getter that paces and retries their requests, and the page size. The venue's class adds its
    ``classify``, ``unlisted`` and ``fetch``."""

    venue: str
    path: str
    """The funding endpoint's path below the REST base."""
    default_page: int
    """Entries a page holds at most (what ``limit`` asks for)."""

    def __init__(self, rest: str, getter: HistoryGetter) -> None:
        self.rest = rest.rstrip("/")
        self.getter = getter
        self.page = self.default_page

    @property
    def source(self) -> str:
        """The endpoint the history comes from."""
        return self.rest + self.path

    @staticmethod
    def classify(answer: Answer) -> Verdict:
        """What the venue's answer means (the venue's class says)."""
        raise NotImplementedError

    async def get(
        self, url: str, params: Mapping[str, str], decoder: msgspec.json.Decoder[T], *, body: Any = None
    ) -> T:
        """GET ``url`` (a POST of ``body`` as JSON when it is given) through the getter until an answer is good
        by :meth:`classify` and ``decoder`` reads its body; the body decoded."""
        answer = await self.getter.get(url, params, lambda a: decodable(self.classify(a), a, decoder), body=body)
        return decoder.decode(answer.body)

    async def walk_forward(
        self,
        start_ms: int,
        last_ms: int,
        page_from: Callable[[int], Awaitable[list[tuple[int, str, str]]]],
        stall: Callable[[int], None],
    ) -> list[FundingRecord]:
        """Every funding with a time in ``[start_ms, last_ms]``, oldest first, from a history served oldest
        first: ``page_from(since)`` is the page that starts at ``since`` (each entry's time, ms, its rate and its
        mark price, ``""`` where the venue gives none); a short page is the last, else the next starts just
        after the page's newest. A full page whose newest entry is before ``since`` stops the walk, told to
        ``stall(since)`` (the venue logs it)."""
        out: list[FundingRecord] = []
        since = start_ms
        while since <= last_ms:
            page = await page_from(since)
            out += [FundingRecord(t * NS_PER_MS, rate, mark) for t, rate, mark in page if since <= t <= last_ms]
            if len(page) < self.page:
                break
            newest = max(t for t, _, _ in page)
            if newest < since:
                stall(since)
                break
            since = newest + 1
        return sorted(set(out), key=lambda r: r.time_ns)

    async def walk_back(
        self,
        start_ms: int,
        last_ms: int,
        page_until: Callable[[int], Awaitable[list[tuple[int, str]]]],
        overrun: Callable[[int], None],
    ) -> list[FundingRecord]:
        """Every funding with a time in ``[start_ms, last_ms]``, oldest first, from a history served newest
        first: ``page_until(until)`` is the page that ends at ``until`` (each entry's time, ms, and rate); a
        short page is the last, else the next ends just before the page's oldest. A full page whose oldest
        entry is after ``until`` stops the walk, told to ``overrun(until)`` (the venue logs it)."""
        out: list[FundingRecord] = []
        until = last_ms
        while until >= start_ms:
            page = await page_until(until)
            out += [FundingRecord(t * NS_PER_MS, rate) for t, rate in page if start_ms <= t <= until]
            if len(page) < self.page:
                break
            oldest = min(t for t, _ in page)
            if oldest > until:
                overrun(until)
                break
            until = oldest - 1
        return sorted(set(out), key=lambda r: r.time_ns)

    def not_perpetual(self, symbol: str, contract_type: str, perpetual: str, unnamed: str) -> str | None:
        """``None`` when ``contract_type`` is the venue's name for a perpetual, else why ``symbol`` has no
        funding (``unnamed``: what to call a contract whose type the venue leaves empty)."""
        if contract_type == perpetual:
            return None
        kind = contract_type or unnamed
        return f"{self.venue} {symbol} is a {kind} contract, not a perpetual: it has no funding"


def ms_span(start_ns: int, end_ns: int) -> tuple[int, int]:
    """The first and the last whole millisecond in ``[start_ns, end_ns)``, as the venues' ``startTime``
    and ``endTime`` (both inclusive) ask for it."""
    return -(-start_ns // NS_PER_MS), (end_ns - 1) // NS_PER_MS


def retry_after_s(value: str | None) -> float | None:
    """An HTTP ``Retry-After`` header in seconds (Binance sends an integer), or ``None`` when absent or
    not a number."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
