"""What became of a request, decided by arb from the venue's HTTP status and code, not ccxt's class.

A create-order request ends in one of three outcomes:

- **accepted**: the venue says it took the order (HTTP 200, Binance without a ``code``, Bybit
  ``retCode`` 0);
- **rejected**: the venue says it did not, and why (its code and text): a filter failure, too little
  balance, a duplicate client id, a bad signature or timestamp, a rate limit or a ban. Also a request
  whose bytes never left this machine (connection refused before anything was written);
- **unknown**: nobody knows. The client timed out, the connection dropped after the request was
  written, the venue answered 5xx, or a code that documents "execution status unknown" (Binance
  ``-1006``/``-1007``, Bybit ``10016``/``10000``/``170007``). The order may exist: it is resolved by
  asking the venue, never by sending it again.

ccxt's exception classes mix these (``ExchangeNotAvailable`` covers a refused connection and a
dropped one; on a local URL Binance's USD-M codes become plain ``ExchangeError``), so the decision is
made here from what was observed on the wire: whether the request was written, the HTTP status, the
response headers and the body's code. One table per venue says which codes mean what.

The same rule reads any other request's answer (a balance, a trade history, the dead-man's switch):
a refusal's :attr:`Answer.cause` says when it is about the credentials (the key, its signature or
permissions) or the machine's clock, so the message a person reads can say what to check
(:mod:`arb.execution.venue_errors`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

__all__ = ["CAUSE_CLOCK", "CAUSE_CREDENTIALS", "Answer", "Outcome", "classify"]

CAUSE_CREDENTIALS = "credentials"
"""The venue refused the API key, its signature or its permissions (or the IP it is restricted to)."""
CAUSE_CLOCK = "clock"
"""The venue refused the request's timestamp: this machine's clock is off (or the network is slow)."""


class Outcome(Enum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Answer:
    """One request's outcome, with what the venue said."""

    outcome: Outcome
    code: str = ""
    """The venue's code (``"-2010"``, ``"170131"``), ``"http-503"``, ``"timeout"``, ``"not-sent"``, ..."""
    message: str = ""
    http_status: int | None = None
    retry_after_s: float | None = None
    """Seconds the venue asked us to wait (Retry-After, or a ban's end)."""
    banned: bool = False
    """The venue banned this client for a while (Binance 418, Bybit 403 rate-limit ban)."""
    rate_limited: bool = False
    cause: str = ""
    """For a refusal: :data:`CAUSE_CREDENTIALS`, :data:`CAUSE_CLOCK`, or empty (anything else)."""

    @property
    def is_unknown(self) -> bool:
        return self.outcome is Outcome.UNKNOWN


# Codes whose documented meaning is "the request may or may not have been executed".
_UNKNOWN_CODES = {
    "binance": {"-1006", "-1007"},  # UNEXPECTED_RESP, TIMEOUT: "Send status unknown; execution status unknown"
    "bybit": {"10016", "10000", "170007", "170146"},  # system error, server timeout, backend timeout
}
# Codes that are rate limits (rejections: retry after the wait).
_RATE_CODES = {
    "binance": {"-1003", "-1015", "-1008"},  # too much weight, too many orders, system throttled
    "bybit": {"10006", "10018", "170005"},  # too many visits, IP limit, too many requests
}
# Codes that refuse the credentials (a refusal a person must fix: the key, its secret, its permissions,
# the IP it is bound to) and codes that refuse the request's timestamp.
_CREDENTIAL_CODES = {
    "binance": {"-2014", "-2015", "-1022", "-1002"},  # bad key format, invalid key/IP/permissions, signature
    "bybit": {"10003", "10004", "10005", "10007", "10009", "10010", "33004"},  # key, sign, permission, IP, expired
}
_CLOCK_CODES = {"binance": {"-1021"}, "bybit": {"10002"}}
_BINANCE_BAN = re.compile(r"banned until (\d+)", re.IGNORECASE)


def _body_json(body: bytes | str | None) -> dict[str, Any] | None:
    if not body:
        return None
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _retry_after(headers: dict[str, str]) -> float | None:
    for name, value in headers.items():
        if name.lower() == "retry-after":
            try:
                return max(0.0, float(value))
            except ValueError:
                return None
    return None


def classify(
    venue: str,
    *,
    written: bool,
    http_status: int | None,
    headers: dict[str, str] | None = None,
    body: bytes | str | None = None,
    timed_out: bool = False,
    now_ms: int | None = None,
) -> Answer:
    """The outcome of one order request (create or cancel) from what the wire showed.

    ``written``: whether the request's bytes were handed to the socket. ``http_status``: the status
    received, or None (no answer: timeout, dropped connection). ``timed_out``: the client's timeout
    fired. ``now_ms``: the local clock, to turn a Binance ban's end time into a wait.
    """
    headers = headers or {}
    if not written:
        return Answer(Outcome.REJECTED, "not-sent", "the request was never written to the venue")
    if http_status is None:
        if timed_out:
            return Answer(Outcome.UNKNOWN, "timeout", "no answer before the client's timeout")
        return Answer(Outcome.UNKNOWN, "dropped", "the connection closed after the request was written")
    data = _body_json(body)
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
    retry = _retry_after(headers)
    if venue == "binance":
        code = str(data["code"]) if data is not None and "code" in data else ""
        message = str(data.get("msg", "")) if data is not None else text[:200]
        if http_status == 200 and data is None:
            return Answer(Outcome.UNKNOWN, "bad-body", f"HTTP 200 with an unreadable body: {text[:200]}", 200)
        if http_status == 200 and not code:
            return Answer(Outcome.ACCEPTED, http_status=200)
        if http_status in (418, 429) or code in _RATE_CODES["binance"]:
            banned = http_status == 418
            if banned and retry is None and now_ms is not None and (m := _BINANCE_BAN.search(message)):
                retry = max(0.0, (int(m.group(1)) - now_ms) / 1000)
            return Answer(Outcome.REJECTED, code or f"http-{http_status}", message, http_status, retry, banned, True)
        if code in _UNKNOWN_CODES["binance"] or http_status >= 500:
            return Answer(Outcome.UNKNOWN, code or f"http-{http_status}", message, http_status, retry)
        cause = _cause("binance", code, http_status)
        return Answer(Outcome.REJECTED, code or f"http-{http_status}", message, http_status, retry, cause=cause)
    # Bybit: business answers come with HTTP 200 and retCode
    code = str(data.get("retCode", "")) if data is not None else ""
    message = str(data.get("retMsg", "")) if data is not None else text[:200]
    if http_status == 200 and code == "0":
        return Answer(Outcome.ACCEPTED, "0", message, 200)
    if code in _RATE_CODES["bybit"] or http_status in (403, 429):
        banned = http_status == 403
        return Answer(Outcome.REJECTED, code or f"http-{http_status}", message, http_status, retry, banned, True)
    if code in _UNKNOWN_CODES["bybit"] or http_status >= 500 or (http_status == 200 and data is None):
        return Answer(Outcome.UNKNOWN, code or f"http-{http_status}", message, http_status, retry)
    cause = _cause("bybit", code, http_status)
    return Answer(Outcome.REJECTED, code or f"http-{http_status}", message, http_status, retry, cause=cause)


def _cause(venue: str, code: str, http_status: int) -> str:
    # What a refusal is about, for the person who reads it (401: the venue's "invalid request: use the
    # correct key" status, with or without a code)
    if code in _CREDENTIAL_CODES[venue] or http_status == 401:
        return CAUSE_CREDENTIALS
    if code in _CLOCK_CODES[venue]:
        return CAUSE_CLOCK
    return ""
