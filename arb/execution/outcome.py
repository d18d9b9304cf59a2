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
response headers and the body's code. The venue's adapter says where its answers carry their code and
which codes mean what (:class:`~connectors.common.private.AnswerRules`); the rule is the same for every
venue.

The same rule reads any other request's answer (a balance, a trade history, the dead-man's switch):
a refusal's :attr:`Answer.cause` says when it is about the credentials (the key, its signature or
permissions) or the machine's clock, so the message a person reads can say what to check
(:mod:`arb.execution.venue_errors`).
"""

from __future__ import annotations

__all__ = ["CAUSE_CLOCK", "CAUSE_CREDENTIALS", "Answer", "Outcome", "classify"]

import json
from dataclasses import dataclass
from enum import Enum
from typing import Any

from connectors.common.private import AnswerRules
from connectors.registry import private_venue

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
    endpoint_limit: bool = False
    """A rate limit of the request's endpoint alone (Bybit ``10006``), not of the venue or the IP."""


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
    venue: str | AnswerRules,
    *,
    written: bool,
    http_status: int | None,
    headers: dict[str, str] | None = None,
    body: bytes | str | None = None,
    timed_out: bool = False,
    now_ms: int | None = None,
) -> Answer:
    """The outcome of one order request (create or cancel) from what the wire showed.

    ``venue``: the venue's answer rules (its adapter's ``answers``), or its name. ``written``: whether
    the request's bytes were handed to the socket. ``http_status``: the status received, or None (no
    answer: timeout, dropped connection). ``timed_out``: the client's timeout fired. ``now_ms``: the
    local clock, to turn a ban's end time (Binance's "banned until") into a wait.
    """
    rules = _rules_of(venue) if isinstance(venue, str) else venue
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
    if http_status == 200 and data is None:
        return Answer(Outcome.UNKNOWN, "bad-body", f"HTTP 200 with an unreadable body: {text[:200]}", 200)
    code = str(data.get(rules.code_field, "")) if data is not None else ""
    message = str(data.get(rules.message_field, "")) if data is not None else text[:200]
    if data is not None and rules.items_field:  # answered per item (OKX sCode/sMsg): the item's code is the answer
        code, message = _item_answer(rules, data, code, message)
    if data is not None and rules.reader is not None:  # a venue whose answers are read by its own function
        code, message = rules.reader(data)
    if http_status == 200 and code == rules.ok_code:
        return Answer(Outcome.ACCEPTED, code, message if code else "", 200)
    if code in rules.unknown_codes:  # "may or may not have been executed", whatever the status (OKX's 50013 is a 429)
        limited = http_status == 429 or code in rules.rate_codes
        return Answer(Outcome.UNKNOWN, code, message, http_status, retry, rate_limited=limited)
    if http_status in (429, rules.ban_status) or code in rules.rate_codes:
        banned = http_status == rules.ban_status
        until = rules.ban_until.search(message) if banned and rules.ban_until is not None else None
        if until is not None and retry is None and now_ms is not None:
            retry = max(0.0, (int(until.group(1)) - now_ms) / 1000)
        if banned and retry is None:
            retry = rules.ban_s  # a ban that names no end: the venue's own rule for how long to stay away
        scoped = code in rules.endpoint_rate_codes
        return Answer(Outcome.REJECTED, code or f"http-{http_status}", message, http_status, retry, banned, True,
                      endpoint_limit=scoped)  # fmt: skip
    if http_status >= 500:
        return Answer(Outcome.UNKNOWN, code or f"http-{http_status}", message, http_status, retry)
    cause = _cause(rules, code, http_status)
    return Answer(Outcome.REJECTED, code or f"http-{http_status}", message, http_status, retry, cause=cause)


def _item_answer(rules: AnswerRules, data: dict[str, Any], code: str, message: str) -> tuple[str, str]:
    # The first item's own code and text when the venue answers each order apart and the item is not accepted
    items = data.get(rules.items_field)
    first = items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else None
    if first is None:
        return code, message
    item_code = str(first.get(rules.item_code_field, ""))
    if item_code and item_code != rules.ok_code:
        return item_code, str(first.get(rules.item_message_field, ""))
    return code, message


def _rules_of(venue: str) -> AnswerRules:
    """The answer rules of venue ``venue`` (its adapter's, either market's: they are the venue's)."""
    return private_venue(venue, "spot").answers


def _cause(rules: AnswerRules, code: str, http_status: int) -> str:
    # What a refusal is about, for the person who reads it (401: the venue's "invalid request: use the
    # correct key" status, with or without a code)
    if code in rules.credential_codes or http_status == 401:
        return CAUSE_CREDENTIALS
    if code in rules.clock_codes:
        return CAUSE_CLOCK
    return ""
