"""Waiting for a condition without racing the machine's speed.

A test on a busy machine (both cores taken by other work) runs everything several times slower, and a
cold Numba cache adds a compile of tens of seconds, in this process (which then cannot run its event
loop at all) or in a child. A fixed wall-clock deadline either fails such a run or is so long that a
real hang costs many minutes. :class:`Patience` is a deadline that restarts on every sign of progress:

- time this process could not spend waiting (a compile holding the event loop, the process starved of
  CPU) does not count: each poll counts at most ``step_s`` of the time since the previous one;
- a watched value that changes (more output, a new state) restarts the count;
- a watched child process that works restarts it too: it used at least ``busy`` of a core since
  the count last restarted (compiling, importing), or it was runnable (a thread of it running or
  waiting for a core: starved, not idle) at ``starved`` of the polls (half by default) over at least a
  second; a child blocked on a file lock another process holds (Numba's compile lock: ``arb._jit``, the
  other compiling what it will load) is runnable while the holder is. A child that idles (waiting on a
  socket that never answers) sleeps, uses a percent or two, and does not. A child that runs steadily (a
  trading process reading its feeds, a tenth of a core) should not count either: give such a wait a
  ``busy`` and ``starved`` above its steady rate.

So a slow start is waited for as long as it works, and a wait where nothing happens ends after
``quiet_s`` of quiet. ``cpu_limit_s`` bounds a wait whatever its progress: it ends once the watched
children have used that much CPU since it began, a bound in work done, which a busy machine does not
shorten (without it, a child that spins forever is left to pytest's per-test timeout).

What is awaited is never polled: :func:`wait_for` and :func:`until` ask their condition when one of
the objects whose state it reads says it changed (each has a ``wait_until``: a fake venue, a live
feed, an ops hub, :class:`arb.waiting.Conditions`). Only the patience has a clock: :func:`patiently`
counts its time and samples the watched processes' CPU every ``poll_s`` (no event tells that a child
works), and never asks the condition.

Usage::

    patience = Patience("arb live to subscribe", quiet_s=60, pids=[process.pid])
    await until(lambda: venue.subscriber_count(stream) >= 1, patience, venue)

    async with patiently(Patience("the child to exit", quiet_s=60, pids=[process.pid])):
        await process.wait()  # in place of asyncio.timeout(...)
"""

from __future__ import annotations

__all__ = [
    "Patience",
    "PatienceError",
    "Watched",
    "communicate",
    "cpu_seconds",
    "lock_holders",
    "patiently",
    "process_tree",
    "read_until",
    "runnable",
    "until",
    "wait_for",
]

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

from arb.waiting import cancel_and_wait

_UNSET: Any = object()


class PatienceError(AssertionError):
    """A wait saw no progress for its ``quiet_s``: what was awaited did not happen."""


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time in seconds (user + system, with the children it has reaped) of process ``pid`` (None:
    this process); 0.0 for a process that is gone, or where ``/proc`` is not there."""
    if pid is None:
        times = os.times()
        return times.user + times.system + times.children_user + times.children_system
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime stime cutime cstime


def runnable(pid: int) -> bool:
    """Whether a thread of process ``pid`` is running, waiting for a core or in uninterruptible I/O
    (states R and D): it has work to do. The calling thread does not count (it is running: it asks).
    False for a process that sleeps, or is gone."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    me = str(threading.get_native_id())
    for task in tasks:
        if task == me:
            continue
        try:
            stat = Path(f"/proc/{pid}/task/{task}/stat").read_text()
        except OSError:
            continue
        if stat.rsplit(")", 1)[1].split()[0] in ("R", "D"):
            return True
    return False


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants now (a browser's helpers, a wrapper script's program); [] once gone."""
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        tree.append(current)
        for task in tasks:
            with contextlib.suppress(OSError):
                todo += [int(child) for child in Path(f"/proc/{current}/task/{task}/children").read_text().split()]
    return tree


def lock_holders(pids: Iterable[int]) -> set[int]:
    """The processes holding a file lock (``flock``, ``fcntl``) that one of ``pids`` is blocked on, from
    ``/proc/locks`` (a waiter is listed after its lock's holder, its line marked ``->``); empty where it
    is not there."""
    try:
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return set()
    waiting = {str(pid) for pid in pids}
    holders: dict[str, str] = {}  # a lock's number -> its holder's pid
    found: set[int] = set()
    for line in lines:
        number, _, rest = line.partition(":")
        fields = rest.split()
        if len(fields) > 4 and fields[0] == "->":
            if fields[4] in waiting and number in holders:
                found.add(int(holders[number]))
        elif len(fields) > 3:
            holders[number] = fields[3]
    return found


def _probe(pids: list[int]) -> tuple[float, bool]:
    # the CPU seconds the pids used, and whether one of them has work to do now (or waits for a lock
    # whose holder has); of this process, its other threads' seconds: the waiting thread's own work (its
    # event loop, these polls) is not progress, or a wait whose loop kept a tenth of a core busy never ended
    me = os.getpid()
    cpu = sum(cpu_seconds(pid) - (time.thread_time() if pid == me else 0.0) for pid in pids)
    return cpu, any(runnable(pid) for pid in pids) or any(runnable(pid) for pid in lock_holders(pids))


class Patience:
    """A deadline of ``quiet_s`` seconds without progress (see the module docstring).

    ``what`` names the awaited thing in the failure message. ``pids``: child processes whose work
    counts as progress (a callable is asked each time: a child started later, :func:`process_tree`);
    ``os.getpid()`` makes this process's other threads' work count too. ``busy``: the share
    of one core a child must have used since the last restart to count as working; ``starved``: the
    share of the polls (over a second or more) at which one must have been runnable to count as
    working without a core. ``cpu_limit_s``: the most CPU seconds the children may use in the whole
    wait (None: no limit). ``step_s``: the most one poll counts, so polls should come every few tens
    of ms. ``clock`` (seconds) and ``probe`` (the pids' CPU seconds and whether one is runnable; from
    ``/proc`` by default) are for tests.
    """

    def __init__(
        self,
        what: str,
        *,
        quiet_s: float,
        pids: Iterable[int] | Callable[[], Iterable[int]] = (),
        busy: float = 0.1,
        starved: float = 0.5,
        cpu_limit_s: float | None = None,
        step_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        probe: Callable[[list[int]], tuple[float, bool]] | None = None,
    ) -> None:
        self.what = what
        self._clock = clock
        self._probe = probe or _probe
        self.quiet_s = quiet_s
        self._pids = pids
        self.busy = busy
        self.starved = starved
        self.cpu_limit_s = cpu_limit_s
        self.step_s = step_s
        now = clock()
        self._last_poll = now
        self._since = now
        self._cpu = self._cpu_start = self._probe(self._children())[0]
        self.cpu_s = 0.0
        """CPU seconds the children used since the wait began."""
        self._polls = self._runnable = 0
        self.last: object = _UNSET
        """The last value :meth:`note` saw."""
        self.waited_s = 0.0
        """Time counted against ``quiet_s`` since the last sign of progress."""

    def _children(self) -> list[int]:
        return list(self._pids() if callable(self._pids) else self._pids)

    def _restart(self, now: float, cpu: float) -> None:
        self.waited_s = 0.0
        self._since = now
        self._cpu = cpu
        self._polls = self._runnable = 0

    def note(self, value: object) -> None:
        """The watched value now (what a poll saw): a change is progress; the last is in the failure."""
        if value != self.last:
            self._restart(self._clock(), self._probe(self._children())[0])
        self.last = value

    def expired(self, value: object = _UNSET) -> bool:
        """Count the time since the last poll; True once ``quiet_s`` passed without progress.
        ``value``: the watched value now, as for :meth:`note`."""
        if value is not _UNSET:
            self.note(value)
        now = self._clock()
        self.waited_s += min(now - self._last_poll, self.step_s)
        self._last_poll = now
        cpu, working = self._probe(self._children())
        self._cpu = min(self._cpu, cpu)  # a child of a tree that ended takes its time with it
        self._cpu_start = min(self._cpu_start, cpu)
        self.cpu_s = cpu - self._cpu_start
        self._polls += 1
        self._runnable += working
        busy = cpu - self._cpu >= max(0.2, self.busy * (now - self._since))
        starved = now - self._since >= 1.0 and self._runnable >= self.starved * self._polls and self._polls >= 10
        if busy or starved:
            self._restart(now, cpu)
        return self.waited_s >= self.quiet_s or self.spent

    @property
    def spent(self) -> bool:
        """The children used ``cpu_limit_s`` since the wait began."""
        return self.cpu_limit_s is not None and self.cpu_s >= self.cpu_limit_s

    def fail(self, detail: str = "") -> PatienceError:
        """The error to raise when :meth:`expired`: names what was awaited, how long it was quiet, and
        the last value :meth:`note` saw."""
        tail = f": {detail}" if detail else ""
        last = f" (last: {self.last!r})" if self.last is not _UNSET else ""
        if self.spent:
            return PatienceError(f"{self.cpu_s:.0f} s of CPU used waiting for {self.what}{tail}{last}")
        return PatienceError(f"no progress for {self.quiet_s:g} s waiting for {self.what}{tail}{last}")


class Watched(Protocol):
    """An object that says when its state changes: ``wait_until(predicate)`` returns once the predicate
    holds, asking it now and after each change (a fake venue, a live feed, an ops hub, a fake's
    recorder, :class:`arb.waiting.Conditions`)."""

    async def wait_until(self, predicate: Callable[[], bool]) -> None: ...


async def _relay(source: Watched, changed: asyncio.Event) -> None:
    # Every change of ``source`` sets ``changed``: its wait_until asks this at each change, and it never holds.
    def mark() -> bool:
        changed.set()
        return False

    await source.wait_until(mark)


async def wait_for(condition: Callable[[], bool], *sources: Watched) -> None:
    """Return once ``condition()`` holds: asked now and, in this task, after each change of one of
    ``sources`` (the objects whose state it reads; a burst of changes is one more asking). Unbounded:
    put it under a deadline (:func:`patiently`, ``asyncio.timeout``)."""
    if condition():
        return
    changed = asyncio.Event()
    relays = [asyncio.create_task(_relay(source, changed)) for source in sources]
    try:
        while not condition():
            await changed.wait()
            changed.clear()
    finally:
        for relay in relays:
            relay.cancel()
        await asyncio.gather(*relays, return_exceptions=True)


async def until(
    condition: Callable[[], bool],
    patience: Patience,
    *sources: Watched,
    progress: Callable[[], object] | None = None,
) -> None:
    """Return once ``condition()`` holds (:func:`wait_for` on ``sources``); raise :class:`PatienceError`
    when ``patience`` ran out first. ``progress()``: a value whose change counts as progress. A condition
    that holds when the patience runs out is a source missing from ``sources``: that fails too, saying so."""
    try:
        async with patiently(patience, progress=progress):
            await wait_for(condition, *sources)
    except PatienceError as error:
        if condition():
            raise PatienceError(f"{error}; the condition holds, but none of its sources said it changed") from error
        raise


async def _with_patience(awaitable: Any, patience: Patience, progress: Callable[[], object] | None = None) -> Any:
    # Await ``awaitable``, cancelled with a PatienceError when ``patience`` runs out.
    async with patiently(patience, progress=progress):
        return await awaitable


async def read_until(stream: asyncio.StreamReader, marker: bytes, patience: Patience) -> list[bytes]:
    """The lines of ``stream`` up to and including the first that holds ``marker``; each line is
    progress. Raises :class:`PatienceError` (the lines so far in its message) when ``patience`` runs
    out, and ``EOFError`` when the stream ends first."""
    lines: list[bytes] = []
    while not lines or marker not in lines[-1]:
        try:
            line = await _with_patience(stream.readline(), patience, lambda: len(lines))
        except PatienceError as error:
            raise patience.fail(b"".join(lines).decode(errors="replace")[-4000:]) from error
        if not line:
            raise EOFError(f"the stream ended before {marker!r}:\n" + b"".join(lines).decode(errors="replace"))
        lines.append(line)
    return lines


async def communicate(
    process: asyncio.subprocess.Process, patience: Patience, input: bytes | None = None
) -> tuple[bytes, bytes]:
    """``process.communicate(input)`` bounded by ``patience`` (give it the child's pid: its work is
    progress). Kills the child and raises :class:`PatienceError` when ``patience`` runs out."""
    try:
        out, err = await _with_patience(process.communicate(input), patience)
    except PatienceError:
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise
    return out, err


@contextlib.asynccontextmanager
async def patiently(
    patience: Patience, *, poll_s: float = 0.05, progress: Callable[[], object] | None = None
) -> AsyncIterator[Patience]:
    """``asyncio.timeout`` whose deadline is ``patience``: the body is cancelled once it ran out, and
    :class:`PatienceError` raised in its place (``TimeoutError`` from the body itself passes through).
    ``progress()``: a value whose change counts as progress, read at each of the patience's polls."""
    loop = asyncio.get_running_loop()
    expired = False

    async def watch(scope: asyncio.Timeout) -> None:
        nonlocal expired
        while not patience.expired(_UNSET if progress is None else progress()):
            await asyncio.sleep(poll_s)  # the patience's clock: it counts time and samples the children's CPU
        expired = True
        scope.reschedule(loop.time())  # the body's await raises CancelledError, the scope TimeoutError

    try:
        async with asyncio.timeout(None) as scope:
            watcher = asyncio.create_task(watch(scope), name=f"patience: {patience.what}")
            try:
                yield patience
            finally:
                await cancel_and_wait(watcher)
    except TimeoutError as error:
        if expired:
            raise patience.fail() from error
        raise
