"""The webhook channel: a JSON POST that Slack and Discord both read."""

from __future__ import annotations

__all__ = ["WEBHOOK_MAX_CHARS", "WebhookSender"]

from typing import Final

from arb.ops.alerts.channels import (
    DEFAULT_RETRY_AFTER_NS,
    HttpSender,
    RateLimitedError,
    SendError,
    classify_http,
    retry_after_ns,
)

WEBHOOK_MAX_CHARS: Final = 2000  # Discord's content limit; Slack takes more


class WebhookSender(HttpSender):
    """A JSON POST of ``{"text": ..., "content": ...}``: Slack reads ``text``, Discord ``content``.

    Rate limited: HTTP 429 with a ``Retry-After`` header in seconds (Slack, Discord) or a JSON
    ``{"retry_after": 0.2}`` in seconds (Discord).
    """

    name = "webhook"
    max_chars = WEBHOOK_MAX_CHARS

    def __init__(self, *, url: str, route: str, min_interval_ns: int, timeout_ns: int) -> None:
        super().__init__(route=route, min_interval_ns=min_interval_ns, timeout_ns=timeout_ns)
        self._url = url  # a credential: never logged

    def redact(self, text: str) -> str:
        return text.replace(self._url, "***") if self._url else text

    async def deliver(self, text: str, subject: str) -> None:
        status, answer, header = await self._post(self._url, {"text": text, "content": text})
        outcome = classify_http(status)
        if outcome == "ok":
            return
        if outcome == "rate_limited":
            wait = retry_after_ns(header)
            if wait is None and isinstance(answer, dict):
                wait = retry_after_ns(answer.get("retry_after"))
            raise RateLimitedError(wait if wait is not None else DEFAULT_RETRY_AFTER_NS)
        raise SendError(f"HTTP {status}", retryable=outcome == "retry")
