"""A fake REST server of a venue's funding-rate history, for tests of ``arb fetch-funding``.

:class:`FakeFundingHistoryVenue` is an aiohttp server on 127.0.0.1 (port 0) speaking venue ``venue``'s
funding-history REST, with the parameters, orders, page limits and error answers the venue documents, from
:class:`arb.sim.funding.FundingSchedule` per symbol (what the simulated venues announce in their streams).
What is the venue's own (its routes, its page, its rate-limit and ban answers) is its folder's:
``arb/sim/<venue>/funding_history.py`` exports ``DIALECT``, a :class:`FundingHistoryDialect` class (a venue
without that file has no fake history). Faults: :meth:`FakeFundingHistoryVenue.rate_limit` (the venue's
rate-limit answer), :meth:`~FakeFundingHistoryVenue.hang` (a request that gets no answer until the venue
closes: the client's timeout fires) and :meth:`~FakeFundingHistoryVenue.ban` (its ban answer). Every
request is logged in :attr:`~FakeFundingHistoryVenue.requests`.
"""

from __future__ import annotations

__all__ = ["FakeFundingHistoryVenue", "FundingHistoryDialect", "FundingRequest", "Handler"]

import asyncio
import importlib
import socket
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

from aiohttp import web

from arb.sim.funding import FundingSchedule

Handler = Callable[[web.Request], Awaitable[web.Response]]


@dataclass(frozen=True, slots=True)
class FundingRequest:
    """One request the history venue got."""

    path: str
    params: dict[str, str]
    status: int
    answer: str
    """``"data"``, ``"rate_limited"``, ``"hung"``, ``"banned"`` or ``"error"``."""


@dataclass
class _Faults:
    rate_limits: int = 0
    wait_s: float = 1.0
    hangs: int = 0
    banned: bool = False
    release: asyncio.Event = field(default_factory=asyncio.Event)


class FundingHistoryDialect:
    """A venue's funding-history REST on :class:`FakeFundingHistoryVenue`: its routes and answers."""

    page: int = 1000
    """The venue's largest page (``page_limit=`` lowers it)."""

    def __init__(self, server: FakeFundingHistoryVenue) -> None:
        self.server = server

    def routes(self) -> Mapping[str, Handler]:
        """The venue's GET routes, by path."""
        raise NotImplementedError

    def banned(self, request: web.Request) -> web.Response:
        """The venue's answer to a request while its IP is banned (logged)."""
        raise NotImplementedError

    def rate_limited(self, request: web.Request, wait_s: float) -> web.Response:
        """The venue's rate-limit answer asking to wait ``wait_s`` (logged)."""
        raise NotImplementedError


def _dialect(venue: str) -> type[FundingHistoryDialect]:
    try:
        module = importlib.import_module(f"arb.sim.{venue}.funding_history")
    except ModuleNotFoundError as error:
        raise ValueError(f"no fake funding history for venue {venue!r} (arb/sim/{venue}/funding_history.py)") from error
    found: type[FundingHistoryDialect] = module.DIALECT
    return found


class FakeFundingHistoryVenue:
    """Venue ``venue``'s funding-rate history over REST, from ``schedules`` (by symbol).

    ``clock`` (seconds) is the venue's now: no funding after it is served, and it drives the venue's
    request windows and reset timestamps. ``page_limit`` lowers the venue's maximum page (to make
    pagination show with few entries); ``dated`` are listed symbols that are dated contracts, not
    perpetuals.
    """

    def __init__(
        self,
        venue: str,
        schedules: Mapping[str, FundingSchedule],
        *,
        clock: Callable[[], float] = time.time,
        page_limit: int | None = None,
        dated: Sequence[str] = (),
        host: str = "127.0.0.1",
    ) -> None:
        dialect = _dialect(venue)
        self.venue = venue
        self.schedules = dict(schedules)
        self.dated = set(dated)
        """Listed symbols that are dated (delivery) contracts, not perpetuals."""
        self.host = host
        self.requests: list[FundingRequest] = []
        self.clock = clock
        self.max_page = page_limit or dialect.page
        self.faults = _Faults()
        self._dialect = dialect(self)
        self._runner: web.AppRunner | None = None
        self._port = 0

    # -- lifecycle -------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        app = web.Application()
        for path, handler in self._dialect.routes().items():
            app.router.add_get(path, handler)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        await web.SockSite(self._runner, sock).start()
        self._port = sock.getsockname()[1]
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.faults.release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def rest_url(self) -> str:
        """``http://127.0.0.1:PORT``: what to configure as ``endpoints.linear.<network>.rest``."""
        return f"http://{self.host}:{self._port}"

    # -- faults ----------------------------------------------------------------------------------

    def rate_limit(self, times: int = 1, wait_s: float = 1.0) -> None:
        """Answer the next ``times`` history requests with the venue's rate-limit answer, asking to
        wait ``wait_s``."""
        self.faults.rate_limits += times
        self.faults.wait_s = wait_s

    def hang(self, times: int = 1) -> None:
        """Hold the next ``times`` history requests without an answer until the venue closes: the
        client's timeout fires."""
        self.faults.hangs += times

    def ban(self) -> None:
        """Answer every request from now on as an IP ban (the venue's answer)."""
        self.faults.banned = True

    # -- what the dialects share -------------------------------------------------------------------

    def log(self, request: web.Request, status: int, answer: str) -> None:
        """Log ``request`` and how it was answered."""
        self.requests.append(FundingRequest(request.path, dict(request.query), status, answer))

    async def fault(self, request: web.Request) -> web.Response | None:
        """The scripted fault for a history request, if any: a ban, then rate limits, then hangs."""
        faults = self.faults
        if faults.banned:
            return self._dialect.banned(request)
        if faults.rate_limits:
            faults.rate_limits -= 1
            return self._dialect.rate_limited(request, faults.wait_s)
        if faults.hangs:
            faults.hangs -= 1
            self.log(request, 0, "hung")
            await faults.release.wait()  # the venue is closing (the client gave up long ago)
            return web.Response(status=503, text="venue closing")
        return None

    def rate_limited(self, request: web.Request, wait_s: float) -> web.Response:
        """The venue's rate-limit answer asking to wait ``wait_s``."""
        return self._dialect.rate_limited(request, wait_s)

    def now_ms(self) -> int:
        """The venue's now, ms since the epoch."""
        return int(self.clock() * 1000)

    def listed(self) -> list[str]:
        """The symbols the venue lists: the scheduled perpetuals and the dated contracts, sorted."""
        return sorted({*self.schedules, *self.dated})
