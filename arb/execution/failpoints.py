"""Named crash points in the order life cycle, for the crash tests (off unless the environment asks).

``ARB_FAILPOINT=<name>[:<n>]`` makes the process kill itself with SIGKILL the ``n``-th time (default
the first) it passes the point ``<name>``: no cleanup, no flush, exactly what a power cut or an OOM
kill does to the process. The points:

- ``intent_committed``: the intent is in the journal; its request is not written yet.
- ``request_written``: the request's bytes are in the socket; no answer read yet.
- ``answer_processed``: the venue's answer was handled (and queued for the journal).
- ``fill_booked``: one fill was booked (and queued for the journal); others may follow.

The paper account's fill path (``arb dry-run``, :class:`arb.execution.paper_account.PaperAccount.record`),
three instants that together cover every moment of a fill's life there:

- ``paper_fill_taken``: the paper venue's fill reached the account; nothing of it is written yet
  (a kill here leaves it unlogged: the restart trades from the state before it).
- ``paper_fill_committed``: the fill and the account state that goes with it are committed in one
  transaction; the readable export (``fills.csv``) is not written yet.
- ``paper_fill_exported``: the fill's line is in ``fills.csv`` too; the driver has not printed it yet.

Reading the variable once at import keeps the cost of an unused point to one comparison.
"""

from __future__ import annotations

__all__ = ["PAPER_POINTS", "POINTS", "failpoint"]

import os
import signal

POINTS = ("intent_committed", "request_written", "answer_processed", "fill_booked")
"""The live order life cycle's points."""
PAPER_POINTS = ("paper_fill_taken", "paper_fill_committed", "paper_fill_exported")
"""The paper account's fill path's points, in the order a fill passes them."""

_spec = os.environ.get("ARB_FAILPOINT", "")
_name, _, _count = _spec.partition(":")
_armed = _name if _name in POINTS + PAPER_POINTS else ""
_remaining = int(_count) if _count.isdigit() and int(_count) > 0 else 1


def failpoint(name: str) -> None:
    """Kill this process now (SIGKILL) if ``ARB_FAILPOINT`` names ``name`` and its count is reached."""
    global _remaining
    if name != _armed:
        return
    _remaining -= 1
    if _remaining <= 0:
        os.kill(os.getpid(), signal.SIGKILL)
