"""One root for every error arb raises on purpose, the one place that decides retry versus fatal, and
the exit codes a supervisor acts on (``docs/deployment.md`` lists them all)."""

from __future__ import annotations

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_NEEDS_OPERATOR",
    "EXIT_NOT_RUNNING",
    "EXIT_VENUE_REFUSED",
    "EXIT_VENUE_UNAVAILABLE",
    "ArbError",
    "ConfigError",
    "DecodeError",
    "FeedError",
    "NeedsOperatorError",
    "RecordingError",
    "StrategyError",
    "UsageError",
    "VenueError",
    "exit_code_of",
    "is_retryable",
]

import signal

EXIT_INTERRUPTED = 128 + signal.SIGINT
"""130: a command stopped by Ctrl-C, after its clean stop (what a shell expects of an interrupted program)."""
EXIT_VENUE_REFUSED = 3
"""A venue refused a request for a reason a person must fix: the API key, its secret or permissions, the
machine's clock, an account setting, a wrong URL. Starting again without a change fails again."""
EXIT_VENUE_UNAVAILABLE = 4
"""A venue could not be reached or did not answer usefully: connection refused, timeout, HTTP 5xx, a rate
limit or a ban. The same command may work later."""

EXIT_NEEDS_OPERATOR = 78
"""78 (``EX_CONFIG``): ``arb live`` stopped on a condition that a restart cannot fix and a person must look
at (the journal and the venues disagree, a venue's tick or lot is not the configuration's, quotes would rest
where no dead-man's switch cancels them); a supervisor must not restart it (the systemd unit lists it in
``RestartPreventExitStatus=``, beside 2 for a bad configuration or command line)."""

EXIT_NOT_RUNNING = 69
"""69 (``EX_UNAVAILABLE``): ``arb status`` found nothing answering at the ops server's address; 0 is
ready, 1 running but not ready."""


class ArbError(Exception):
    """Root of arb's own errors. The CLI prints ``str(error)`` and exits non-zero, no traceback."""

    exit_code = 1


class ConfigError(ArbError):
    """A configuration file is missing, malformed or holds a value of the wrong kind.

    The message always names the file, the key (dotted path) and what was expected.
    """

    exit_code = 2

    def __init__(self, file: str, key: str | None, expected: str) -> None:
        self.file = file
        self.key = key
        self.expected = expected
        where = f"{file}: {key}" if key else file
        super().__init__(f"{where}: {expected}")


class UsageError(ArbError):
    """A command-line argument is malformed (a date, a duration, a path that must exist)."""

    exit_code = 2


class StrategyError(ArbError):
    """A strategy cannot run: it does not load or compile, or it broke its contract during a run (what it
    wrote, the message says, naming the strategy). Nothing it asked for after the breach was sent."""

    exit_code = 2


class RecordingError(ArbError):
    """A recording cannot be read or converted (missing, empty, not the collector format)."""

    exit_code = 2


class NeedsOperatorError(ArbError):
    """A condition that a restart cannot fix: the process stops with :data:`EXIT_NEEDS_OPERATOR` and
    a supervisor leaves it stopped until a person has looked (the message says what to do)."""

    exit_code = EXIT_NEEDS_OPERATOR


class DecodeError(ArbError):
    """A wire payload could not be decoded. Carries the raw text so it can be logged verbatim."""

    def __init__(self, reason: str, raw: bytes | str) -> None:
        self.reason = reason
        self.raw = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
        super().__init__(f"{reason}: {self.raw[:500]}")


class FeedError(ArbError):
    """A market-data connection failed (refused, closed, timed out, rejected a subscription)."""

    def __init__(self, venue: str, reason: str, *, retryable: bool = True) -> None:
        self.venue = venue
        self.retryable = retryable
        super().__init__(f"{venue}: {reason}")


class VenueError(ArbError):
    """A venue (or the way to it) failed a request arb needed: one line naming the venue, what it answered
    and what to check.

    ``venue``: ``"<venue> spot"``; ``answered``: what came back (``"GET /api/v3/myTrades answered HTTP 400
    -1022 Signature for this request is not valid."``, ``"refused the connection to http://..."``);
    ``check``: what a person should look at (the environment variables, the network, an account
    setting). ``code`` is the venue's code of the answer (``"-1022"``, ``"10004"``, ``"http-500"``,
    ``"not-sent"``, ``"timeout"``), ``retryable`` whether the same request may work later (then the exit
    code is :data:`EXIT_VENUE_UNAVAILABLE`, else :data:`EXIT_VENUE_REFUSED`).
    """

    def __init__(self, venue: str, answered: str, check: str, *, code: str = "", retryable: bool = False) -> None:
        self.venue = venue
        self.answered = answered
        self.check = check
        self.code = code
        self.retryable = retryable
        self.exit_code = EXIT_VENUE_UNAVAILABLE if retryable else EXIT_VENUE_REFUSED
        super().__init__(f"{venue}: {answered}; check {check}")


def is_retryable(error: BaseException) -> bool:
    """Decide whether an operation that raised ``error`` may be retried after a backoff.

    Network-level failures and feed errors marked retryable are; configuration mistakes, decode
    errors of our own making and rejected orders are not.
    """
    if isinstance(error, FeedError | VenueError):
        return error.retryable
    if isinstance(error, ArbError):
        return False
    return isinstance(error, (ConnectionError, TimeoutError, OSError))


def exit_code_of(stop_signal: int | None) -> int:
    """The exit code of a run that otherwise succeeded: :data:`EXIT_INTERRUPTED` when Ctrl-C (SIGINT)
    stopped it, 0 when it ended by itself or on SIGTERM (a supervisor's request for the clean stop)."""
    return EXIT_INTERRUPTED if stop_signal == signal.SIGINT else 0
