"""A bound on a clean stop: once asked to stop, the process is gone within ``[live] stop_timeout_s``.

``arb live``'s clean stop (cancel what is open, resolve what is in flight within ``[live]
shutdown_timeout_ms``, book what came in, write the report) ends by itself in the normal case. Parts of
it wait on things outside arb (a venue, an alert channel, the disk), so a supervisor's stop timeout
(systemd ``TimeoutStopSec``, compose ``stop_grace_period``) would otherwise be the only bound, and its
SIGKILL says nothing. :class:`StopDeadline` is armed when the stop is asked for (the signal handler calls
:meth:`StopDeadline.arm`); if the process is still there when it expires, it logs what it was doing and
exits with code 1 at once (``os._exit``: no cleanup can hang it). Nothing is lost: every intent and
fill is committed to the journal when it happens, and the next start reconciles orders left in flight.

    deadline = StopDeadline(config.live.stop_timeout_ns, "arb live")
    ... signal handler: deadline.arm() ...
    deadline.cancel()      # the stop finished: the timer never fires
"""

from __future__ import annotations

__all__ = ["EXIT_STOP_TIMEOUT", "StopDeadline"]

import contextlib
import logging
import os
import sys
import threading
import time
from typing import Final

log = logging.getLogger(__name__)

EXIT_STOP_TIMEOUT: Final = 1
"""The exit code when the clean stop did not finish in time (a failure: a supervisor may restart it)."""


class StopDeadline:
    """Exit the process ``timeout_ns`` after :meth:`arm` unless :meth:`cancel` came first."""

    def __init__(self, timeout_ns: int, what: str = "arb") -> None:
        if timeout_ns <= 0:
            raise ValueError(f"timeout_ns must be > 0, got {timeout_ns}")
        self.timeout_ns = timeout_ns
        self.what = what
        self.armed_at_ns = 0  # time.monotonic_ns() when armed; 0 while not
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def arm(self) -> None:
        """Start the countdown (from any thread, a signal handler included); a second call does nothing."""
        with self._lock:
            if self._timer is not None:
                return
            self.armed_at_ns = time.monotonic_ns()
            self._timer = threading.Timer(self.timeout_ns / 1e9, self._expire)
            self._timer.name = "arb-stop-deadline"
            self._timer.daemon = True
            self._timer.start()

    def cancel(self) -> None:
        """Stop the countdown: the process ends by itself."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def _expire(self) -> None:
        log.critical(
            "%s: the clean stop did not finish within %g s ([live] stop_timeout_s): exiting now; every order "
            "and fill so far is in the journal, and the next start reconciles what was left in flight",
            self.what,
            self.timeout_ns / 1e9,
        )
        for handler in logging.getLogger().handlers:
            with contextlib.suppress(Exception):  # exiting regardless
                handler.flush()
        sys.stderr.flush()
        os._exit(EXIT_STOP_TIMEOUT)
