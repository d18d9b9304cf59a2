"""Binance's request weight: one count per minute of the venue's clock, shared by the public REST, the
private REST and the WebSocket API, and the error bodies Binance answers with (``{"code":-1003,...}``).

:class:`RequestWeight` is a part of the fake Binance venues, usable alone: charge it, read what is
used, build the refusal of a request over the limit or of a scripted REST fault.
"""

from __future__ import annotations

__all__ = ["RequestWeight"]

from collections.abc import Callable
from typing import Any

import msgspec

from arb.sim.faults import AppliedFault, FaultKind, RestFault

_MSG_TOO_MANY = (
    "Too many requests; current limit is {limit} requests per minute. "
    "Please use the websocket for live updates to avoid polling the API."
)
_MSG_BANNED = "Way too many requests; IP banned until {until}. Please use the websocket for live updates to avoid bans."
_MSG_INTERNAL = "Internal error; unable to process your request. Please try again."
_MSG_UNKNOWN = "An unknown error occured while processing the request."

_encode = msgspec.json.Encoder().encode


class RequestWeight:
    """The request weight used in the current minute of ``clock`` (seconds), against ``limit`` a minute."""

    def __init__(self, limit: int, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.used = 0
        """The weight used in :attr:`window`."""
        self.window = -1
        """The minute (of ``clock``) the count is for."""
        self._clock = clock

    def charge(self, weight: int) -> int:
        """Count ``weight`` in the current minute (a new minute starts from 0); returns the weight used."""
        window = int(self._clock() // 60)
        if window != self.window:
            self.window = window
            self.used = 0
        self.used += weight
        return self.used

    def seconds_left(self) -> int:
        """Whole seconds to the end of the minute (at least 1): a 429's ``Retry-After``."""
        return max(1, int(60 - self._clock() % 60))

    def limits(self) -> dict[str, Any]:
        """The ``REQUEST_WEIGHT`` entry of a WebSocket API answer's ``rateLimits``."""
        return {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                "limit": self.limit, "count": self.used}  # fmt: skip

    def error_body(self, status: int, code: int | None, msg: str | None, retry_after: int) -> bytes:
        """Binance's body for an error answer: 429 and 418 ``-1003`` (the ban's end ``retry_after`` s from
        now), 5xx ``-1001``, others ``-1000``, unless ``code`` and ``msg`` say otherwise."""
        if status == 429:
            code = -1003 if code is None else code
            msg = msg or _MSG_TOO_MANY.format(limit=self.limit)
        elif status == 418:
            code = -1003 if code is None else code
            msg = msg or _MSG_BANNED.format(until=int((self._clock() + retry_after) * 1000))
        elif status >= 500:
            code = -1001 if code is None else code
            msg = msg or _MSG_INTERNAL
        else:
            code = -1000 if code is None else code
            msg = msg or _MSG_UNKNOWN
        return _encode({"code": code, "msg": msg})

    def fault_answer(
        self,
        fault: RestFault,
        build: Callable[[], tuple[int, bytes]],
        headers: dict[str, str],
        record: Callable[[AppliedFault], None],
    ) -> tuple[int, bytes, str]:
        """``(status, body, content type)`` of a REST answer under a scripted ``fault`` (``build``: the
        answer without it; ``headers`` gets a ``Retry-After``); the fault is ``record``-ed."""
        if fault.kind is FaultKind.REST_MALFORMED:
            _, full = build()
            record(AppliedFault(FaultKind.REST_MALFORMED, detail=f"{len(full) // 2} of {len(full)} bytes"))
            return 200, full[: max(1, len(full) // 2)], "application/json"
        retry = fault.retry_after
        if retry is None and fault.status in (429, 418):
            retry = self.seconds_left() if fault.status == 429 else 120
        if retry is not None:
            headers["Retry-After"] = str(retry)
        body = (
            fault.body if fault.body is not None else self.error_body(fault.status, fault.code, fault.msg, retry or 0)
        )
        content_type = "text/html" if body.lstrip().startswith(b"<") else "application/json"
        record(AppliedFault(FaultKind.REST_ERROR, detail=f"{fault.status} {body[:80]!r}"))
        return fault.status, body, content_type
