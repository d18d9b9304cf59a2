"""The alert service: the rules, the dedup and the channels, in one daemon thread of its own (the
package docstring, :mod:`arb.ops.alerts`, says how they fit and what the trading loop is spared).
"""

from __future__ import annotations

__all__ = ["AlertService", "Dedup", "channels_from_config", "process_rss"]

import asyncio
import contextlib
import logging
import os
import shutil
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from arb.events import NS_PER_MS, NS_PER_S
from arb.ops.alerts.channels import (
    MAX_ATTEMPTS,
    MAX_RATE_LIMITED,
    RETRY_BACKOFF_NS,
    RateLimitedError,
    Sender,
    SendError,
)
from arb.ops.alerts.model import Alert, email_subject, format_message, split_text, takes
from arb.ops.alerts.rules import AlertRules
from arb.ops.alerts.smtp import EmailSender
from arb.ops.alerts.telegram import COMMAND_POLL_S, TelegramCommands, TelegramSender
from arb.ops.alerts.webhook import WebhookSender
from arb.ops.snapshot import OpsEvent, OpsHub, Snapshot

if TYPE_CHECKING:
    from arb.config import AlertsConfig, AppConfig, EmailChannel, TelegramChannel, WebhookChannel

log = logging.getLogger(__package__)  # "arb.ops.alerts": one logger for every part of the alerts

_DROP_LOG_EVERY: Final = 100


def process_rss() -> int | None:
    """This process's resident memory in bytes (Linux ``/proc/self/statm``); None elsewhere."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


@dataclass(slots=True)
class _KeyState:
    last_sent_ns: int
    announced: bool  # the latest firing of this key went out (and its resolution has not)
    pending: Alert | None = None  # a firing held back by the cooldown after a resolution


class Dedup:
    """One message per key per ``cooldown_ns`` (see :mod:`arb.ops.alerts`). ``now_ns``: the
    service's clock. ``suppressed`` counts the firings that were not sent when admitted."""

    def __init__(self, cooldown_ns: int) -> None:
        self.cooldown_ns = cooldown_ns
        self.suppressed = 0
        self._keys: dict[tuple[str, str, str], _KeyState] = {}

    def admit(self, alert: Alert, now_ns: int) -> Alert | None:
        """``alert`` if it is to be sent now, else ``None``."""
        state = self._keys.get(alert.key)
        if alert.resolved:
            if state is None or not state.announced:
                if state is not None and state.pending is not None:
                    state.pending = None  # the held episode ended unannounced: nothing to resolve
                return None
            state.announced = False
            return alert
        if state is None or now_ns - state.last_sent_ns >= self.cooldown_ns:
            self._keys[alert.key] = _KeyState(now_ns, True)
            return alert
        self.suppressed += 1
        if not state.announced:
            state.pending = alert
        return None

    def due(self, now_ns: int) -> list[Alert]:
        """Held firings whose cooldown ended (their episode still on): to be sent now."""
        out = []
        for state in self._keys.values():
            if state.pending is not None and now_ns - state.last_sent_ns >= self.cooldown_ns:
                out.append(state.pending)
                state.pending = None
                state.last_sent_ns = now_ns
                state.announced = True
        return out


def channels_from_config(alerts: AlertsConfig) -> list[Sender]:
    """The enabled channels of ``[alerts]`` with their secrets read from the environment now.

    A channel whose secret's variable is unset is left out with a warning naming the variable.
    """
    out: list[Sender] = []
    telegram: TelegramChannel = alerts.telegram
    if telegram.token is not None:
        if telegram.token.is_set():
            out.append(TelegramSender(
                token=telegram.token.resolve(), chat_id=telegram.chat_id, base_url=telegram.base_url,
                route=telegram.route, min_interval_ns=telegram.min_interval_ns, timeout_ns=telegram.timeout_ns,
                commands=telegram.commands,
            ))  # fmt: skip
        else:
            log.warning("alerts: telegram is off: its token %s is not set", telegram.token.redacted())
    webhook: WebhookChannel = alerts.webhook
    if webhook.url is not None:
        if webhook.url.is_set():
            out.append(WebhookSender(
                url=webhook.url.resolve(), route=webhook.route, min_interval_ns=webhook.min_interval_ns,
                timeout_ns=webhook.timeout_ns,
            ))  # fmt: skip
        else:
            log.warning("alerts: the webhook is off: its url %s is not set", webhook.url.redacted())
    email: EmailChannel = alerts.email
    if email.enabled:
        password = ""
        if email.password is not None:
            if email.password.is_set():
                password = email.password.resolve()
            else:
                log.warning("alerts: email is off: its password %s is not set", email.password.redacted())
                return out
        out.append(EmailSender(
            host=email.host, port=email.port, sender=email.sender, to=email.to, username=email.username,
            password=password, security=email.security, route=email.route, min_interval_ns=email.min_interval_ns,
            timeout_ns=email.timeout_ns,
        ))  # fmt: skip
    return out


@dataclass(slots=True)
class _Lane:
    sender: Sender
    queue: asyncio.Queue[Alert]
    next_ns: int = 0  # the service clock's time before which this channel sends nothing


@dataclass(slots=True)
class _Counters:
    sent: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    rate_limited: dict[str, int] = field(default_factory=dict)
    suppressed: int = 0
    dropped: int = 0


async def _sleep_ns(ns: int) -> None:
    await asyncio.sleep(ns / NS_PER_S)


class AlertService:
    """The rules, the dedup and the channels, in one daemon thread (see :mod:`arb.ops.alerts`).

    ``clock``: int64 ns for the cooldown and each channel's pacing (wall time by default; the rules
    use the hub items' own times). ``sleep``: how the channels wait, in ns (pacing, ``retry_after``,
    retry backoff); tests pass one that advances a driven clock. ``disk_usage``: free bytes at a path;
    ``rss``: the process's resident bytes (None when unknown), both checked every ``disk_check_ns``.
    ``symbols``: the traded symbols and ``venues`` the run's venues in order (see :class:`AlertRules`).

    With ``[alerts.telegram] commands`` on, the thread also reads the bot's messages (``getUpdates``,
    long polling ``command_poll_s``) and answers those from the configured chat: ``/status`` (the latest
    snapshot in a few lines), ``/kill`` then ``/kill confirm`` within a minute (:attr:`kill`, the kill
    switch of ``arb live``), anything else the list of commands. Messages from other chats are logged
    and not answered; messages sent before the process started are skipped, never obeyed.
    """

    def __init__(
        self,
        alerts: AlertsConfig,
        hub: OpsHub,
        channels: Sequence[Sender],
        *,
        mode: str,
        history: int = 3600,
        clock: Callable[[], int] = time.time_ns,
        sleep: Callable[[int], Awaitable[None]] = _sleep_ns,
        poll_interval_ns: int = 200 * NS_PER_MS,
        disk_check_ns: int = 5 * NS_PER_S,
        disk_usage: Callable[[str], int] = lambda path: shutil.disk_usage(path).free,
        rss: Callable[[], int | None] = lambda: process_rss(),
        symbols: Sequence[str] = (),
        command_poll_s: int = COMMAND_POLL_S,
        venues: Sequence[str] = (),
    ) -> None:
        self.config = alerts
        self.hub = hub
        self.mode = mode
        self.channels = tuple(channels)
        self.channel_names: list[str] = [c.name for c in self.channels]
        self.rules = AlertRules(alerts, history=history, symbols=symbols, venues=venues)
        self.dedup = Dedup(alerts.cooldown_ns)
        self._clock = clock
        self._sleep = sleep
        self._poll_s = poll_interval_ns / NS_PER_S
        self._disk_check_ns = disk_check_ns
        self._disk_usage = disk_usage
        self._rss = rss
        self._command_poll_s = command_poll_s
        self.kill: Callable[[], None] | None = None
        """The kill switch a Telegram ``/kill confirm`` pulls (set by ``arb live``; None elsewhere). It is
        called in the alert thread: it must hand the work to the trading loop (``call_soon_threadsafe``)."""
        self._started_s = self._clock() // NS_PER_S
        self._next_disk_ns = 0
        self._event_cursor = 0
        self._snapshot_cursor = 0
        self._lock = threading.Condition()
        """Held to read or change the counters; notified after each change (:meth:`wait_counters`)."""
        self._counters = _Counters(
            sent=dict.fromkeys(self.channel_names, 0), failed=dict.fromkeys(self.channel_names, 0),
            rate_limited=dict.fromkeys(self.channel_names, 0),
        )  # fmt: skip
        self._lanes: list[_Lane] = []
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._drain_s = 5.0

    @classmethod
    def from_config(
        cls, config: AppConfig, hub: OpsHub, *, mode: str, clock: Callable[[], int] = time.time_ns
    ) -> AlertService | None:
        """The service ``[alerts]`` asks for, or ``None`` when alerts are off or no channel is on."""
        if not config.alerts.enabled:
            return None
        channels = channels_from_config(config.alerts)
        if not channels:
            return None
        return cls(
            config.alerts, hub, channels, mode=mode, history=config.ops.history, clock=clock,
            symbols=config.symbol_names, venues=config.venue_names,
        )  # fmt: skip

    # -- life ------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the alert thread; returns once it reads the hub."""
        if self._thread is not None:
            return
        self._ready.clear()
        self._thread = threading.Thread(target=self._main, name="arb-alerts", daemon=True)
        self._thread.start()
        self._ready.wait(10.0)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Read the hub a last time, send what is queued within ``timeout_s``, then end the thread
        (messages still queued or in flight then are given up)."""
        thread, loop, stopping = self._thread, self._loop, self._stopping
        if thread is None:
            return
        self._drain_s = timeout_s
        if loop is not None and stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop ended by itself already
                loop.call_soon_threadsafe(stopping.set)
        thread.join(timeout_s + 2.0)
        if thread.is_alive():
            log.warning("the alert thread did not end within %.1f s; it is a daemon and ends with the process",
                        timeout_s + 2.0)  # fmt: skip
        self._thread = None

    def counters(self) -> dict[str, Any]:
        """``{"sent": {channel: n}, "failed": {channel: n}, "rate_limited": {channel: n},
        "suppressed": n, "dropped": n}``: alerts sent, given up, 429 answers honoured, duplicates
        within the cooldown, alerts dropped on a full queue. Safe from any thread."""
        with self._lock:
            c = self._counters
            return {"sent": dict(c.sent), "failed": dict(c.failed), "rate_limited": dict(c.rate_limited),
                    "suppressed": c.suppressed, "dropped": c.dropped}  # fmt: skip

    def wait_counters(self, predicate: Callable[[dict[str, Any]], bool], timeout_s: float) -> dict[str, Any]:
        """:meth:`counters` once ``predicate`` holds of them: asked now and after each change, from any
        thread but the alert thread's; ``TimeoutError`` after ``timeout_s``."""
        with self._lock:
            if not self._lock.wait_for(lambda: predicate(self.counters()), timeout_s):
                raise TimeoutError(f"the alert counters did not get there within {timeout_s:g} s: {self.counters()}")
            return self.counters()

    def notify(self, alert: Alert) -> None:
        """Queue ``alert`` from any thread for every channel whose route takes it, past the rules
        and the dedup: a message by hand, such as ``Alert.test()``. The trading loop emits hub
        events instead. Raises ``RuntimeError`` when the service is not running."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("the alert service is not running: call start() first")
        loop.call_soon_threadsafe(self._route, alert)

    # -- the thread ------------------------------------------------------------------------------

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._run())
        except Exception:  # the thread ends; trading goes on without alerts
            log.exception("alerts: the alert thread stopped on an error")
        finally:
            self._ready.set()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            self._loop = None

    async def _run(self) -> None:
        self._stopping = asyncio.Event()
        self._lanes = [_Lane(c, asyncio.Queue(maxsize=self.config.queue_size)) for c in self.channels]
        for lane in self._lanes:
            await lane.sender.open()
        try:
            async with asyncio.TaskGroup() as group:
                workers = [group.create_task(self._work(lane)) for lane in self._lanes]
                reader = group.create_task(self._read())
                commanders = [group.create_task(self._commands_of(lane).run()) for lane in self._lanes
                              if isinstance(lane.sender, TelegramSender) and lane.sender.commands]  # fmt: skip
                self._ready.set()
                await self._stopping.wait()
                reader.cancel()
                for commander in commanders:
                    commander.cancel()
                self._poll()  # what the driver published just before it stopped
                drained = asyncio.gather(*(lane.queue.join() for lane in self._lanes))
                try:
                    async with asyncio.timeout(max(0.0, self._drain_s - 0.2)):
                        await drained
                except TimeoutError:
                    left = sum(lane.queue.qsize() for lane in self._lanes)
                    log.warning("alerts: stopped with %d message(s) not sent within %.1f s", left, self._drain_s)
                for worker in workers:
                    worker.cancel()
        finally:
            for lane in self._lanes:
                await lane.sender.close()

    async def _read(self) -> None:
        while True:
            try:
                self._poll()
            except Exception:  # a bug in a rule must not end the alerts: log it and read on
                log.exception("alerts: reading the hub failed")
            await asyncio.sleep(self._poll_s)

    def _poll(self) -> None:
        # one look at the hub: new events and snapshots in time order through the rules
        events = self.hub.events_since(self._event_cursor)
        snapshots = self.hub.snapshots_since(self._snapshot_cursor)
        if events:
            self._event_cursor = events[-1][0]
        if snapshots:
            self._snapshot_cursor = snapshots[-1][0]
        items: list[tuple[int, int, int, OpsEvent | Snapshot]] = [(e.ts_ns, 0, n, e) for n, e in events]
        items.extend((s.ts_ns, 1, n, s) for n, s in snapshots)
        items.sort(key=lambda item: item[:3])
        alerts: list[Alert] = []
        for _, _, _, item in items:
            if isinstance(item, Snapshot):
                alerts.extend(self.rules.on_snapshot(item))
            else:
                alerts.extend(self.rules.on_event(item))
        alerts.extend(self._check_disk())
        self._admit(alerts)

    def _commands_of(self, lane: _Lane) -> TelegramCommands:
        # the Telegram commands of this lane's channel, answered through the lane (its pacing, its retries)
        assert isinstance(lane.sender, TelegramSender)
        return TelegramCommands(
            lane.sender, mode=self.mode, latest=self.hub.latest, answer=lambda alert: self._enqueue(lane, alert),
            kill=lambda: self.kill, clock=self._clock, sleep=self._sleep, started_s=self._started_s,
            poll_s=self._command_poll_s,
        )  # fmt: skip

    def _check_disk(self) -> list[Alert]:
        # The host's side, every disk_check_ns: free space where recordings go, the process's memory.
        now = self._clock()
        latest = self.hub.latest()
        if latest is None or now < self._next_disk_ns:
            return []
        self._next_disk_ns = now + self._disk_check_ns
        out: list[Alert] = []
        if self.config.rss_max_mb > 0 and (rss := self._rss()) is not None:
            out.extend(self.rules.on_memory(rss, latest.ts_ns))
        if not latest.recording_dir:
            return out
        try:
            free = self._disk_usage(latest.recording_dir)
        except OSError as error:
            log.debug("alerts: free space of %s unknown: %s", latest.recording_dir, error)
            return out
        return out + self.rules.on_disk(latest.recording_dir, free, latest.ts_ns)

    def _admit(self, alerts: list[Alert]) -> None:
        now = self._clock()
        suppressed = self.dedup.suppressed
        out = [a for a in (self.dedup.admit(alert, now) for alert in alerts) if a is not None]
        out.extend(self.dedup.due(now))
        with self._lock:
            self._counters.suppressed += self.dedup.suppressed - suppressed
            self._lock.notify_all()
        for alert in out:
            self._route(alert)

    def _route(self, alert: Alert) -> None:
        for lane in self._lanes:
            if takes(lane.sender.route, alert):
                self._enqueue(lane, alert)

    def _enqueue(self, lane: _Lane, alert: Alert) -> None:
        try:
            lane.queue.put_nowait(alert)
        except asyncio.QueueFull:
            with self._lock:
                self._counters.dropped += 1
                dropped = self._counters.dropped
                self._lock.notify_all()
            if dropped % _DROP_LOG_EVERY == 1:
                log.warning("alerts: the %s queue is full (%d): dropped %r (%d dropped so far)",
                            lane.sender.name, lane.queue.maxsize, alert.title, dropped)  # fmt: skip

    def _count(self, which: str, channel: str) -> None:
        with self._lock:
            table: dict[str, int] = getattr(self._counters, which)
            table[channel] = table.get(channel, 0) + 1
            self._lock.notify_all()

    async def _work(self, lane: _Lane) -> None:
        while True:
            alert = await lane.queue.get()
            try:
                await self._deliver(lane, alert)
            except Exception as error:  # noqa: BLE001 - a bug in one channel must not stop the others
                self._count("failed", lane.sender.name)
                log.warning("alerts: %s failed on %r: %s", lane.sender.name, alert.title,
                            lane.sender.redact(f"{type(error).__name__}: {error}"))  # fmt: skip
            finally:
                lane.queue.task_done()

    async def _deliver(self, lane: _Lane, alert: Alert) -> None:
        sender = lane.sender
        parts = split_text(format_message(alert, self.mode), sender.max_chars)
        subject = email_subject(alert, self.mode)
        for part in parts:
            reason = await self._deliver_part(lane, part, subject)
            if reason:
                self._count("failed", sender.name)
                log.warning("alerts: %s did not send %r: %s", sender.name, alert.title, reason)
                return
        self._count("sent", sender.name)
        log.debug("alerts: %s sent %r", sender.name, alert.title)

    async def _deliver_part(self, lane: _Lane, text: str, subject: str) -> str:
        # "" once delivered, else why it was given up
        sender = lane.sender
        attempts = rate_limited = 0
        while True:
            wait = lane.next_ns - self._clock()
            if wait > 0:
                await self._sleep(wait)
            lane.next_ns = self._clock() + sender.min_interval_ns
            try:
                async with asyncio.timeout(sender.timeout_ns / NS_PER_S):
                    await sender.deliver(text, subject)
                return ""
            except RateLimitedError as limited:
                self._count("rate_limited", sender.name)
                rate_limited += 1
                if rate_limited > MAX_RATE_LIMITED:
                    return f"rate limited {rate_limited} times"
                lane.next_ns = max(lane.next_ns, self._clock() + limited.retry_after_ns)
                log.warning("alerts: %s is rate limited: waiting %.1f s", sender.name,
                            limited.retry_after_ns / NS_PER_S)  # fmt: skip
                continue
            except TimeoutError:
                reason = f"no answer within {sender.timeout_ns / NS_PER_S:g} s"
            except SendError as failed:
                reason = sender.redact(failed.reason)
                if not failed.retryable:
                    return reason
            attempts += 1
            if attempts >= MAX_ATTEMPTS:
                return f"{reason} ({attempts} attempts)"
            log.debug("alerts: %s attempt %d failed: %s", sender.name, attempts, reason)
            backoff = RETRY_BACKOFF_NS[min(attempts, len(RETRY_BACKOFF_NS)) - 1]
            lane.next_ns = max(lane.next_ns, self._clock() + backoff)
