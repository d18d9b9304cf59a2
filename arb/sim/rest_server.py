"""What every fake venue's private REST server is built on: :class:`PrivateRest` (the parts it serves from,
its routes, the way into a request, an order request's way through the :class:`~arb.sim.private.OrderDesk`
and its order faults, the scripted REST fault's answer) and :class:`RestHooks`, what the venue hands it.
Each venue's server (``arb/sim/<venue>/``) subclasses it and keeps its own wire format."""

from __future__ import annotations

__all__ = ["PrivateRest", "RestHooks"]

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, TypedDict, TypeVar, Unpack, cast

from aiohttp import web

from arb.sim.faults import AppliedFault, FaultKind, FaultPlan, OrderFault, OrderOperation, RestFault
from arb.sim.private import OrderDesk, RestCall

R = TypeVar("R")
K = TypeVar("K")
E = TypeVar("E")


class RestHooks(TypedDict):
    """What a fake REST server (:class:`PrivateRest`) is handed of its venue: ``clock`` its time (seconds),
    ``begin`` awaits a request's way in, ``tick`` what is due before it is served, ``log`` records an answer
    ``(request, status, weight)``, ``record`` appends a fault that landed."""

    clock: Callable[[], float]
    begin: Callable[[web.Request], Awaitable[None]]
    tick: Callable[[], Awaitable[None]]
    log: Callable[[web.Request, int, int], None]
    record: Callable[[AppliedFault], None]


class PrivateRest(Generic[K, E]):
    """What the fake private venues' REST servers share: the parts they serve from (``desk``'s ledger,
    ``faults``, ``endpoints``), their routes, the way into a request, and an order request's way through
    the desk and its order faults. Each venue's server is a subclass that keeps its own wire format (its
    paths, fields, error codes, signatures, limits) and its own :meth:`serve`.

    ``endpoints`` are keyed by ``(method, path)`` unless the venue says otherwise (:meth:`endpoint_key`,
    :meth:`route`); ``hooks`` are the venue's (:class:`RestHooks`: ``begin`` awaits the plan's ``rest_hold``).
    """

    def __init__(
        self,
        desk: OrderDesk,
        faults: FaultPlan,
        endpoints: Mapping[K, E],
        **hooks: Unpack[RestHooks],
    ) -> None:
        self.desk = desk
        self.ledger = desk.ledger
        self.faults = faults
        self.endpoints = dict(endpoints)
        """The endpoints served, by their key."""
        self._clock = hooks["clock"]
        self._begin = hooks["begin"]
        self._tick = hooks["tick"]
        self._log_rest = hooks["log"]
        self._record = hooks["record"]

    def endpoint_key(self, request: web.Request) -> K:
        """The key of ``request``'s endpoint: its ``(method, path)``."""
        return cast(K, (request.method, request.path))

    def route(self, key: K, endpoint: E) -> tuple[str, str]:
        """The ``(method, path)`` an endpoint is routed by: its key."""
        return cast(tuple[str, str], key)

    def add_routes(self, app: web.Application) -> None:
        """Route every endpoint's method and path to :meth:`serve`."""
        for key, endpoint in self.endpoints.items():
            method, path = self.route(key, endpoint)
            app.router.add_route(method, path, self.serve)

    async def serve(self, request: web.Request) -> web.StreamResponse:
        """Serve one REST call (the venue's)."""
        raise NotImplementedError

    async def opening(self, request: web.Request) -> tuple[E, float]:
        """The way into ``request``: its endpoint, once the request's hold and what is due before it have
        been awaited, and the venue's time then (seconds)."""
        endpoint = self.endpoints[self.endpoint_key(request)]
        await self._begin(request)
        await self._tick()
        return endpoint, self._clock()

    async def dispatch(
        self, request: web.Request, call: RestCall[Any], run: Callable[[], R], *, operation: OrderOperation | None,
        faulted: OrderOperation | None, answer: Callable[[R], web.StreamResponse],
        refuse: Callable[[OrderFault], web.StreamResponse], weight: int = 0,
    ) -> web.StreamResponse:  # fmt: skip
        """Act on ``call`` (``run()`` runs its handler) and ``answer`` its reply: with the order fault the plan
        has for ``faulted`` (none when ``None``), taken first, after the way in of an order ``operation``
        (:meth:`OrderDesk.arrives`, which sets ``call.now_ms``). An order fault acts as
        :meth:`OrderDesk.under_fault` says (a drop is logged with ``weight``); where the desk leaves the
        answer to the venue, ``refuse`` gives it."""
        order_fault = self.faults.take_order_fault(faulted) if faulted else None
        if operation:
            call.now_ms = await self.desk.arrives(operation)
        if order_fault is None:
            return answer(await self.desk.act(run))

        def log(status: int) -> None:
            self._log_rest(request, status, weight)

        outcome = await self.desk.under_fault(request, order_fault, call, run, log)
        if outcome is None:
            return refuse(order_fault)
        if isinstance(outcome, web.StreamResponse):
            return outcome
        return answer(outcome)

    def scripted_fault(
        self, request: web.Request, fault: RestFault, whole: Callable[[], bytes], error: Callable[[RestFault], bytes]
    ) -> web.Response:
        """The answer under a scripted REST ``fault``: half of the answer ``whole()`` (a malformed one), or an
        error of the fault's status with its body, else ``error(fault)`` (the venue's JSON or text), and a
        ``Retry-After`` when the fault has one. Logged (weight 0) and recorded."""
        if fault.kind is FaultKind.REST_MALFORMED:
            body = whole()
            body = body[: max(1, len(body) // 2)]
            self._record(AppliedFault(FaultKind.REST_MALFORMED, detail=request.path))
            self._log_rest(request, 200, 0)
            return web.Response(status=200, body=body, content_type="application/json")
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        body = fault.body if fault.body is not None else error(fault)
        content_type = "application/json" if body.lstrip().startswith(b"{") else "text/plain"
        self._record(AppliedFault(FaultKind.REST_ERROR, detail=f"{fault.status} {body[:80]!r}"))
        self._log_rest(request, fault.status, 0)
        return web.Response(status=fault.status, body=body, headers=headers, content_type=content_type)
