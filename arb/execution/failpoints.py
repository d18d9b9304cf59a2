"""Named crash points in the order life cycle, for the crash tests (off unless the environment asks).

``ARB_FAILPOINT=<name>[:<n>]`` makes the process kill itself with SIGKILL the ``n``-th time (default
the first) it passes the point ``<name>``: no cleanup, no flush, exactly what a power cut or an OOM
kill does to the process. The points:

- ``intent_committed``: the intent is in the journal; its request is not written yet.
- ``request_written``: the request's bytes are in the socket; no answer read yet.
- ``answer_processed``: the venue's answer was handled (and queued for the journal).
- ``fill_booked``: one fill was booked (and queued for the journal); others may follow.

Reading the variable once at import keeps the cost of an unused point to one comparison.
"""

from __future__ import annotations

import os
import signal

__all__ = ["POINTS", "failpoint"]

POINTS = ("intent_committed", "request_written", "answer_processed", "fill_booked")

_spec = os.environ.get("ARB_FAILPOINT", "")
_name, _, _count = _spec.partition(":")
_armed = _name if _name in POINTS else ""
_remaining = int(_count) if _count.isdigit() and int(_count) > 0 else 1


def failpoint(name: str) -> None:
    """Kill this process now (SIGKILL) if ``ARB_FAILPOINT`` names ``name`` and its count is reached."""
    global _remaining
    if name != _armed:
        return
    _remaining -= 1
    if _remaining <= 0:
        os.kill(os.getpid(), signal.SIGKILL)
