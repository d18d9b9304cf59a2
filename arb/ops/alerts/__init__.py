"""Alerts: a message to a person when something needs one, sent from a thread of its own.

Three parts, each testable alone:

* :class:`AlertRules` (:mod:`~arb.ops.alerts.rules`: pure, no I/O, no clock of its own) turns the
  hub's events and snapshots into :class:`Alert` records (:mod:`~arb.ops.alerts.model`). Critical: a
  naked leg, a failed hedge, a halt, a risk breach or pause, a venue disconnected, stale or unsynced
  for ``[alerts] stale_after_s`` (judged on the snapshots' clock, with a "resolved" message when it
  is back). Info: a burst of book resyncs, an abnormal spread, low disk where recordings go, and a
  summary of the day at each UTC midnight.
* :class:`Dedup` (:mod:`~arb.ops.alerts.service`) sends the same key (kind, venue, symbol) once per
  ``cooldown_ns``; an episode's "resolved" message always goes when its start was announced. An
  episode that starts again within the cooldown after it was resolved is held, and announced when
  the cooldown ends if it is still on (a flapping venue sends "down", "resolved", then at most one
  message per cooldown).
* :class:`AlertService` (:mod:`~arb.ops.alerts.service`) reads the :class:`~arb.ops.snapshot.OpsHub`
  every ``poll_interval_ns`` in one daemon thread with its own asyncio loop, runs the rules and the
  dedup, and feeds one bounded queue per channel (:class:`TelegramSender` and its commands,
  :class:`WebhookSender`, :class:`EmailSender`: a module each, on :mod:`~arb.ops.alerts.channels`).
  Each channel paces itself (``min_interval_ms``), gives up a request after ``timeout_ms``, retries a
  bounded number of times, and honours the service's rate-limit answer (HTTP 429 with
  ``retry_after``). A full queue drops the newest alert and counts it. The trading loop never calls
  into the service: it only appends to the hub, so a channel that hangs costs it nothing.

    service = AlertService.from_config(config, hub, mode="dry-run")   # None: no channel is on
    if service is not None:
        service.start()
        ...
        service.stop()                     # sends what is queued within 5 s, then ends the thread
        service.counters()                 # {"sent": {"telegram": 3}, "failed": {...}, ...}

Secrets (the Telegram token, the webhook URL, the SMTP password) are read from the environment when
the service is built and never appear in a log line or an exception's text. Every part logs to the
``arb.ops.alerts`` logger.
"""
