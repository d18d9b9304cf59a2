"""The hub's events as log records, for JSON log lines: one record of logger ``arb.event`` per event.

While logs are JSON (``arb --log-format json``, :func:`arb.logs.structured`), a running process's
fills, order answers, rejects, breaches, halts, lone legs, resyncs, disconnects and stale books reach a
log collector with their fields (venue, symbol, client id, order id, pair id, side, quantity, price,
status, code...), not only as the sentence a person reads. Like the metrics and the alerts, it reads
the :class:`~arb.ops.snapshot.OpsHub` from a thread of its own, every ``interval_s``: the trading loop
never waits for a log line. Events that fell out of the hub's ring before they were read are counted
in one warning record.

Levels: a halt, a lone leg or a failed hedge is ERROR (WARNING when resolved); a reject, breach,
resync, disconnect, stale book or low disk is WARNING; fills, order answers and the rest are INFO.
"""

from __future__ import annotations

__all__ = ["EventLog"]

import logging
import threading
from collections.abc import Mapping
from typing import Final

from arb.ops.snapshot import OpsEvent, OpsHub

_ERROR_KINDS: Final = frozenset({"halt", "naked_leg", "hedge_failed"})
_WARNING_KINDS: Final = frozenset({"reject", "breach", "resync", "disconnect", "stale", "disk_low"})


def level_of(event: OpsEvent) -> int:
    """The log level of one event (see the module docstring)."""
    if event.kind in _ERROR_KINDS:
        return logging.WARNING if event.resolved else logging.ERROR
    if event.kind in _WARNING_KINDS:
        return logging.INFO if event.resolved else logging.WARNING
    return logging.INFO


class EventLog:
    """Logs every event of ``hub`` after the ones there at :meth:`start`, from its own thread."""

    def __init__(self, hub: OpsHub, *, interval_s: float = 0.25, logger: str = "arb.event") -> None:
        self.hub = hub
        self.interval_s = interval_s
        self.log = logging.getLogger(logger)
        self.logged = 0
        self._cursor = 0
        self._missed = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        events = self.hub.events_since(0)
        self._cursor = events[-1][0] if events else 0
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="arb-event-log", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Log what came since the last pass, then end the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        self.drain()

    def drain(self) -> int:
        """Log the events that came since the last call; returns how many."""
        events = self.hub.events_since(self._cursor)
        if not events:
            return 0
        missed = events[0][0] - self._cursor - 1
        if missed > 0:
            self.log.warning("%d events fell out of the hub before they were logged", missed, extra={"event": "missed"})
        for number, event in events:
            fields = {k: v for k, v in event.fields.items() if isinstance(v, str | int | float | bool)}
            extra = {**fields, "event": event.kind, "venue": event.venue or fields.get("venue", ""),
                     "resolved": event.resolved or None, "data": fields}  # fmt: skip
            self.log.log(level_of(event), "%s", event.text or event.kind, extra=_safe(extra))
            self._cursor = number
            self.logged += 1
        return len(events)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.drain()
            except Exception:  # a log line that cannot be written never stops the watchers
                logging.getLogger(__name__).exception("the event log failed; events are still on the dashboard")


_RESERVED: Final = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def _safe(extra: Mapping[str, object]) -> dict[str, object]:
    # ``extra`` may not overwrite a LogRecord's own attributes: such a field keeps its name with a prefix
    return {(f"field_{k}" if k in _RESERVED else k): v for k, v in extra.items()}
