"""What every alert channel shares: the :class:`Sender` interface, how an HTTP answer is judged
(:func:`classify_http`, the one place that decides what is retried), and the errors a send raises.
The channels themselves: :mod:`~arb.ops.alerts.telegram`, :mod:`~arb.ops.alerts.webhook`,
:mod:`~arb.ops.alerts.smtp`.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_RETRY_AFTER_NS",
    "MAX_ATTEMPTS",
    "MAX_RATE_LIMITED",
    "RETRY_BACKOFF_NS",
    "HttpSender",
    "RateLimitedError",
    "SendError",
    "Sender",
    "classify_http",
    "retry_after_ns",
]

import abc
import json
import math
from typing import Any, Final, Literal

import aiohttp

from arb.events import NS_PER_S

MAX_ATTEMPTS: Final = 3  # tries of one message on errors (timeouts, 5xx, refused connections)
MAX_RATE_LIMITED: Final = 5  # 429 answers honoured for one message before it is given up
RETRY_BACKOFF_NS: Final = (1 * NS_PER_S, 2 * NS_PER_S)  # wait before the 2nd and 3rd attempt
DEFAULT_RETRY_AFTER_NS: Final = 1 * NS_PER_S  # a 429 that does not say how long


class SendError(Exception):
    """A message was not delivered. ``reason`` carries no secret; ``retryable``: worth another try."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class RateLimitedError(Exception):
    """The service answered "too many requests": wait ``retry_after_ns`` before the next send."""

    def __init__(self, retry_after_ns: int) -> None:
        super().__init__(f"rate limited for {retry_after_ns / NS_PER_S:g} s")
        self.retry_after_ns = retry_after_ns


def classify_http(status: int) -> Literal["ok", "rate_limited", "retry", "fatal"]:
    """The one place that decides what an HTTP status means for a send: 2xx delivered; 429 wait
    and retry; 408 and 5xx retry; any other status will not get better by retrying."""
    if 200 <= status < 300:
        return "ok"
    if status == 429:
        return "rate_limited"
    if status == 408 or status >= 500:
        return "retry"
    return "fatal"


def retry_after_ns(value: object) -> int | None:
    """A rate-limit answer's wait (seconds as a number or a numeric string) in ns; None when absent or
    not a number."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        seconds = float(value) if isinstance(value, int | float | str) else float("nan")
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return int(seconds * NS_PER_S)


class Sender(abc.ABC):
    """One alert channel: where messages go, how it paces and which alerts it takes."""

    name: str = ""
    max_chars: int = 1_000_000  # longer messages are split into parts

    def __init__(self, *, route: str, min_interval_ns: int, timeout_ns: int) -> None:
        self.route = route
        self.min_interval_ns = min_interval_ns
        self.timeout_ns = timeout_ns

    async def open(self) -> None:  # noqa: B027 - an optional hook
        """Prepare (in the alert thread's loop) before the first send."""

    async def close(self) -> None:  # noqa: B027 - an optional hook
        """Release what :meth:`open` took."""

    @abc.abstractmethod
    async def deliver(self, text: str, subject: str) -> None:
        """Send one message part. Raises :class:`RateLimitedError` or :class:`SendError`."""

    def redact(self, text: str) -> str:
        """``text`` with this channel's secrets replaced by ``***``."""
        return text


class HttpSender(Sender):
    """A channel that POSTs JSON with aiohttp (one session per channel)."""

    def __init__(self, *, route: str, min_interval_ns: int, timeout_ns: int) -> None:
        super().__init__(route=route, min_interval_ns=min_interval_ns, timeout_ns=timeout_ns)
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_ns / NS_PER_S))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _post(
        self, url: str, body: dict[str, Any], timeout_s: float | None = None
    ) -> tuple[int, Any, str | None]:
        # (status, the decoded JSON answer or None, the Retry-After header); errors without the URL
        await self.open()
        assert self._session is not None
        timeout = aiohttp.ClientTimeout(total=timeout_s) if timeout_s is not None else None
        try:
            async with self._session.post(url, json=body, timeout=timeout) as response:
                raw = await response.read()
                try:
                    answer = json.loads(raw) if raw else None
                except ValueError:
                    answer = None
                return response.status, answer, response.headers.get("Retry-After")
        except aiohttp.ClientConnectionError as error:
            raise SendError(f"connection failed ({type(error).__name__})", retryable=True) from None
        except aiohttp.ClientError as error:
            raise SendError(f"request failed ({type(error).__name__})", retryable=True) from None
