"""The one place a venue's failed request becomes a :class:`~arb.errors.VenueError`: one line naming
the venue, what it answered and what to check, with the exit code that goes with it.

What an answer means is decided by :func:`arb.execution.outcome.classify` (the rule every order's
outcome follows); this module only words it for a person and picks the exit code:

=====================================================  ===========================================  ====
what the wire showed                                    what to check                                exit
=====================================================  ===========================================  ====
nothing written: connection refused, name unknown       the network, ``endpoints.rest`` of the file  4
no answer in time, connection dropped after writing     the network, the venue's status              4
HTTP 5xx, an "unknown" code (Binance -1007...)          the venue's status                           4
a rate limit or a ban (429/418, 403, -1003, 10006...)   other programs on this key or IP; the wait   4
the credentials refused (-1022, -2015, 10003, 50105)    every variable of the key (passphrase too)   3
the timestamp refused (-1021, 10002)                    this machine's clock                         3
anything else refused (a setting, a wrong path)         the caller's hint, else the account          3
=====================================================  ===========================================  ====

Exit 3 (:data:`~arb.errors.EXIT_VENUE_REFUSED`) means a person must change something; exit 4
(:data:`~arb.errors.EXIT_VENUE_UNAVAILABLE`) that the same command may work later.
"""

from __future__ import annotations

__all__ = ["VenueSetup", "venue_error"]

from dataclasses import dataclass

from arb.errors import VenueError
from arb.execution.outcome import CAUSE_CLOCK, CAUSE_CREDENTIALS, Answer, Outcome


@dataclass(frozen=True, slots=True)
class VenueSetup:
    """What a failure message about one venue points a person at (from its venue file)."""

    credentials: str = "the venue's API key and secret"
    """Where the key comes from: ``"BINANCE_API_KEY and BINANCE_API_SECRET"`` (environment variables)."""
    market: str = "spot"
    """The market the key must be allowed to trade (``"spot"``, ``"linear"``)."""
    network: str = ""
    """``"mainnet"``, ``"testnet"``, ``"demo"``, ``"local"`` (keys of one do not work on another)."""
    rest: str = ""
    """The REST base URL in use."""
    file: str = ""
    """The venue file that names the URLs and the variables."""
    passphrase: bool = False
    """The venue's keys have a passphrase (some venues'), which :attr:`credentials` names too."""


def venue_error(
    name: str,
    answer: Answer,
    setup: VenueSetup,
    *,
    request: str = "",
    hint: str = "",
    reason: str = "",
    redact: tuple[str, ...] = (),
) -> VenueError:
    """The error for a request to venue ``name`` (``"<venue> spot"``) that ended in ``answer``.

    ``request``: the request, as ``"GET /api/v3/myTrades"`` (empty: unknown). ``hint``: what to check
    for a refusal this module cannot word (an account setting the request needs). ``reason``: what
    failed below the HTTP answer (the connection error, or the client's own error after an answer it
    could not use). ``redact``: credentials never to print (Bybit's 10004 answer echoes the signed
    string, API key included): each is shown as ``***``.
    """
    what = request or "a request"
    said = _said(answer)
    for secret in redact:
        if secret:
            said = said.replace(secret, "***")
    if answer.code == "not-sent":
        where = setup.rest or "the venue"
        text = f"{what} could not reach {where}" + (f" ({reason})" if reason else "")
        check = "the network and [endpoints] rest" + (f" in {setup.file}" if setup.file else "")
        return VenueError(name, text, check, code=answer.code, retryable=True)
    if answer.outcome is Outcome.UNKNOWN:
        if answer.code in ("timeout", "dropped"):
            text = f"{what} got no answer ({answer.message})"
            check = "the network and the venue's status page; try again later"
        else:
            text = f"{what} answered {said}"
            check = "the venue's status page (a failure on its side); try again later"
        return VenueError(name, text, check, code=answer.code, retryable=True)
    if answer.rate_limited:
        wait = f" for {answer.retry_after_s:.0f} s" if answer.retry_after_s is not None else ""
        text = f"{what} was {'BANNED' if answer.banned else 'rate limited'}{wait}: {said}"
        check = "other programs using the same API key or IP address; wait before starting again"
        return VenueError(name, text, check, code=answer.code, retryable=True)
    if answer.outcome is Outcome.ACCEPTED:  # the venue answered, but the answer could not be used
        text = f"{what} answered {said} that arb could not use" + (f" ({reason})" if reason else "")
        return VenueError(name, text, hint or "the venue's status page; try again later", code=answer.code,
                          retryable=True)  # fmt: skip
    text = f"{what} was refused: {said}"
    if answer.cause == CAUSE_CREDENTIALS:
        network = f" of the {setup.network} network" if setup.network and setup.network != "local" else ""
        trading = "spot" if setup.market == "spot" else "futures (linear)"
        secrets = ", its secret and its passphrase" if setup.passphrase else " and its secret"
        check = (
            f"{setup.credentials} (the key{network}{secrets}, its permissions: read and {trading} "
            "trading, and the IP addresses it is restricted to)"
        )
    elif answer.cause == CAUSE_CLOCK:
        check = "this machine's clock (is it synchronised, e.g. by NTP?) and the network's delay"
    elif answer.http_status == 404:
        check = hint or ("[endpoints] rest" + (f" in {setup.file}" if setup.file else "") + " (a wrong path)")
    else:
        check = hint or "the account's settings on the venue for this request"
    return VenueError(name, text, check, code=answer.code, retryable=False)


def _said(answer: Answer) -> str:
    # What the venue answered, in a few words: its HTTP status, its code and its text
    parts = [f"HTTP {answer.http_status}"] if answer.http_status is not None else []
    if answer.code and not answer.code.startswith("http-"):
        parts.append(answer.code)
    message = " ".join(answer.message.split())[:200]
    if message:
        parts.append(message)
    return " ".join(parts) or answer.code
