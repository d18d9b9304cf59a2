"""``arb`` commands run as child processes forked from one that has imported arb already.

A crash test kills an ``arb`` child with SIGKILL at a failpoint and checks what it left on disk; it starts
one child per case, and a fresh ``python -m arb.cli`` spends most of its CPU starting: importing arb,
NumPy, Numba, ccxt and SQLAlchemy (about 1.5 of the 1.9 CPU seconds of an ``arb order`` that fills),
loading compiled code from Numba's cache. :class:`ArbForks` starts a server process once, which imports
the modules named (and runs the functions named: a warm-up that loads compiled code), then forks a child
per command: the child sets its environment, working directory and output files, runs
:func:`arb.cli.run` as ``python -m arb.cli`` does and exits with its code through the interpreter's own
exit, or is killed at its failpoint: the same SIGKILL, the same files left behind. What differs from a
fresh interpreter is only what was loaded before the fork; ``arb.execution.failpoints``, which reads
``ARB_FAILPOINT`` at import, is read again in the child.

Tests of how ``arb`` starts (its imports, its first compile, its exit on a bad option) run it as a
process of its own (``tests/support/processes.py``); this is for tests of what a command does once it
runs. :func:`shared_forks` is a worker's one server for the ``arb`` commands its end-to-end tests run
(:data:`COMMANDS` loaded), started at its first use and ended with the worker (:func:`close_shared`);
:func:`forked_child` starts a child whose output a test reads as it comes (named pipes).

Run as ``python -m tests.support.arb_forks NAME...`` it is the server: a request per line on stdin,
an answer line on stdout when a child starts and when it ends (children run side by side).
"""

from __future__ import annotations

__all__ = ["COMMANDS", "ArbForks", "arb_forks", "close_shared", "forked_child", "serve", "shared_forks"]

import asyncio
import contextlib
import functools
import gc
import importlib
import importlib.util
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parents[2]
_FAILPOINTS = "arb.execution.failpoints"
_READY = ("ready", 0)
_ENVIRON = dict(os.environ)
"""This process's environment as it started (before a test changed it): the shared servers'."""

COMMANDS = ("arb.cli", "arb.cli.live", "arb.cli.reconcile", "arb.cli.kill", "arb.cli.halt", "arb.cli.order",
            "arb.cli.fees", "arb.cli.rebalance", "arb.cli.dry_run", "arb.cli.latency", "arb.live.trading_session",
            "arb.live.trading", "arb.live.feeds", "arb.live.process", "arb.live.preflight", "arb.live.chores",
            "arb.live.auto_rebalance", "arb.live.kill", "arb.live.dry_run", "arb.live.recorded_source",
            "arb.execution.live_executor", "arb.execution.venue_executor", "arb.execution.paper_account",
            "arb.execution.journaling", "arb.execution.ccxt_setup", "arb.journal.journal", "arb.reports.charts",
            "arb.reports.files", "arb.reports.sources", "arb.reports.console", "arb.ops.watch", "arb.ops.terminal",
            "arb.ops.alerts.service", "connectors.registry", "tests.support.arb_forks:venue_modules",
            "ccxt.async_support", "ccxt.pro", "sqlalchemy", "sqlite3", "aiohttp", "rich.table", "matplotlib.figure",
            "matplotlib.backends.backend_agg", "connectors.common.rest_lane:verified_tls", "arb._jit:_roomy",
            "tests.support.warm_numba:warm_live")  # fmt: skip
"""What ``arb live``, ``arb kill``, ``arb reconcile``, ``arb order`` and the other commands of the live
tests import and load from Numba's cache before their work, and what they would make once per process (the TLS
context, the roomy frame of ``arb._jit``): once per worker, in :func:`shared_forks`."""

_VENUE_MODULES = ("feed", "urls", "private", "wallet")
"""The modules of a venue's connector folder the live commands import (those the folder has)."""


def venue_modules() -> None:
    """Import each venue's :data:`_VENUE_MODULES` (``connectors.registry.venue_names``: every venue's folder)."""
    from connectors.registry import venue_names

    for venue in venue_names():
        for part in _VENUE_MODULES:
            if importlib.util.find_spec(f"connectors.{venue}.{part}") is not None:
                importlib.import_module(f"connectors.{venue}.{part}")


def _child(request: dict[str, Any]) -> None:
    # In the forked child: become `python -m arb.cli ARGS` with the request's environment, folder and
    # files. Raises the SystemExit that ends it (the interpreter then exits as python -m arb.cli's does:
    # its threads joined, its exit functions run) or what the command raised.
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    null = os.open(os.devnull, os.O_RDONLY)
    out = os.open(request["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    # stderr to the same file as stdout (merged, as a shell's 2>&1): one open file, both written in order
    err = (
        os.dup(out)
        if request["err"] == request["out"]
        else os.open(request["err"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    )
    for fd, target in ((null, 0), (out, 1), (err, 2)):
        os.dup2(fd, target)
        os.close(fd)
    if _FAILPOINTS in sys.modules:  # armed from this environment, as a fresh import would be
        importlib.reload(sys.modules[_FAILPOINTS])
    sys.argv = ["arb", *request["args"]]
    from arb.cli import run

    run()
    raise SystemExit(0)


def serve(preload: list[str]) -> None:
    """The server: import each of ``preload`` (``module``, or ``module:function`` to call it too), answer
    ``{"ready": true}``, then for each request line (``id``, ``args``, ``env``, ``cwd``, ``out``, ``err``)
    fork a child and answer ``{"id", "pid"}``; when a child ends, answer ``{"pid", "returncode"}``
    (negative: the signal that ended it). Ends at the end of stdin once its children have ended."""
    for name in preload:
        module, _, function = name.partition(":")
        imported = importlib.import_module(module)
        if function:
            getattr(imported, function)()
    # What is loaded now lives as long as the server and its children: out of the collector's generations, so
    # a child's full collection (arb live makes one before trading) walks only what the child made
    gc.collect()
    gc.freeze()
    wakeup_read, wakeup_write = os.pipe()
    os.set_blocking(wakeup_write, False)
    signal.set_wakeup_fd(wakeup_write)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)  # a handler, so that the wakeup fd hears it
    answers = sys.stdout.buffer
    requests: Any = getattr(sys.stdin.buffer, "raw")  # noqa: B009 - unbuffered: select sees every line

    def answer(message: dict[str, Any]) -> None:
        answers.write(json.dumps(message).encode() + b"\n")
        answers.flush()

    answer({"ready": True})
    children: set[int] = set()
    pending, more = b"", True
    with selectors.DefaultSelector() as selector:
        selector.register(requests, selectors.EVENT_READ)
        selector.register(wakeup_read, selectors.EVENT_READ)
        while more or children:
            for key, _ in selector.select():
                if key.fileobj == wakeup_read:
                    os.read(wakeup_read, 1024)
                elif chunk := requests.read(1 << 16):
                    pending += chunk
                else:
                    more = False
                    selector.unregister(requests)
            while b"\n" in pending:
                line, _, pending = pending.partition(b"\n")
                request = json.loads(line)
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:
                    _child(request)  # ends the child: its SystemExit leaves this loop and the interpreter
                children.add(pid)
                answer({"id": request["id"], "pid": pid})
            for pid in list(children):
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    children.discard(pid)
                    answer({"pid": pid, "returncode": os.waitstatus_to_exitcode(status)})


class ArbForks:
    """A fork server of ``arb`` commands (see the module docstring); several may run at once, all
    awaited in one event loop at a time."""

    def __init__(self, preload: tuple[str, ...], environ: Mapping[str, str] | None = None) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="arb-forks-")
        self._server = subprocess.Popen(
            [sys.executable, "-m", "tests.support.arb_forks", *preload],
            cwd=_ROOT,
            env={**(os.environ if environ is None else environ), "PYTHONPATH": str(_ROOT)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self._server.stdout is not None
        self._fd = self._server.stdout.fileno()
        os.set_blocking(self._fd, False)
        self._buffer = b""
        self._awaited: dict[tuple[str, int], list[asyncio.Future[dict[str, Any]]]] = {}
        self._waits = 0
        self._early: dict[tuple[str, int], dict[str, Any]] = {}
        self._ended: EOFError | None = None
        self._ready = False
        self._requests = 0
        self._runs = 0

    def _read(self) -> None:
        # The server's answers so far, each to the waits for it (or kept until it is awaited)
        try:
            chunk = os.read(self._fd, 1 << 16)
        except BlockingIOError:
            return
        if not chunk:
            self._ended = EOFError(f"the arb fork server ended (exit {self._server.wait()})")
            for future in (f for waits in self._awaited.values() for f in waits if not f.done()):
                future.set_exception(self._ended)
            return
        self._buffer += chunk
        while b"\n" in self._buffer:
            line, _, self._buffer = self._buffer.partition(b"\n")
            answer: dict[str, Any] = json.loads(line)
            if "ready" in answer:
                self._ready = True
                key = _READY
            else:
                key = ("pid", answer["pid"]) if "returncode" in answer else ("id", answer["id"])
            waits = [future for future in self._awaited.get(key, []) if not future.done()]
            for future in waits:
                future.set_result(answer)
            if not waits and key != _READY:
                self._early[key] = answer

    async def _answer(self, key: tuple[str, int]) -> dict[str, Any]:
        # The answer named ``key`` (several may wait for the server to be ready); a cancelled wait loses
        # nothing: an answer nobody waits for is kept for the next wait
        if key == _READY and self._ready:
            return {"ready": True}
        if key in self._early:
            return self._early.pop(key)
        if self._ended is not None:
            raise self._ended
        loop = asyncio.get_running_loop()
        future: asyncio.Future[dict[str, Any]] = loop.create_future()
        if not self._waits:
            loop.add_reader(self._fd, self._read)
        self._waits += 1
        self._awaited.setdefault(key, []).append(future)
        try:
            return await future
        finally:
            self._awaited[key].remove(future)
            if not self._awaited[key]:
                del self._awaited[key]
            self._waits -= 1
            if not self._waits:
                loop.remove_reader(self._fd)

    async def start(
        self, *args: str, env: Mapping[str, str], cwd: Path, out: Path, err: Path, quiet_s: float = 60.0
    ) -> int:
        """Start ``arb ARGS`` in a forked child with environment ``env`` (the whole of it) in folder ``cwd``,
        its stdout and stderr opened (for writing) at ``out`` and ``err`` (files, or named pipes a reader has
        open); its pid, once forked. The wait for the server to start is bounded by ``quiet_s`` seconds in
        which it does no work; :meth:`ended` awaits the child's end."""
        from arb.testing.waiting import Patience, patiently

        assert self._server.stdin is not None
        if not self._ready:  # importing: the server's work is progress
            async with patiently(Patience("the arb fork server to start", quiet_s=quiet_s, pids=[self._server.pid])):
                await self._answer(_READY)
        self._requests += 1
        number = self._requests
        request = {"id": number, "args": list(args), "env": dict(env), "cwd": str(cwd), "out": str(out),
                   "err": str(err)}  # fmt: skip
        self._server.stdin.write(json.dumps(request).encode() + b"\n")
        self._server.stdin.flush()
        pid: int = (await self._answer(("id", number)))["pid"]
        return pid

    async def ended(self, pid: int) -> int:
        """The exit code of child ``pid`` (-9: killed by SIGKILL), once it has ended and the server collected it."""
        return int((await self._answer(("pid", pid)))["returncode"])

    async def run(
        self, *args: str, env: Mapping[str, str], cwd: Path, what: str, quiet_s: float = 60.0, merged: bool = False
    ) -> tuple[int, str, str]:
        """Run ``arb ARGS`` in a forked child with environment ``env`` (the whole of it) in folder ``cwd``;
        its exit code (-9: killed by SIGKILL), stdout and stderr (``merged``: its stderr in its stdout, as
        ``2>&1``, and "" for it). The wait for the server, then for the child, is bounded by ``quiet_s``
        seconds in which it and the processes it started do no work (as
        :func:`tests.support.processes.run_arb`); a child still running then is killed."""
        from arb.testing.waiting import Patience, patiently, process_tree

        self._runs += 1
        out, err = (Path(self._folder.name) / f"{self._runs}.{name}" for name in ("out", "err"))
        pid = await self.start(*args, env=env, cwd=cwd, out=out, err=out if merged else err, quiet_s=quiet_s)
        try:
            async with patiently(Patience(what, quiet_s=quiet_s, pids=lambda: process_tree(pid))):
                code = await self.ended(pid)
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            await self.ended(pid)  # the server has collected it
            raise
        said = out.read_text(errors="replace")
        return code, said, "" if merged else err.read_text(errors="replace")

    def close(self) -> None:
        """End the server (at the end of its input, once its children ended) and remove the output files."""
        assert self._server.stdin is not None and self._server.stdout is not None
        self._server.stdin.close()
        try:
            self._server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._server.kill()
            self._server.wait()
        self._server.stdout.close()
        self._folder.cleanup()


@contextlib.contextmanager
def arb_forks(*preload: str) -> Iterator[ArbForks]:
    """An :class:`ArbForks` whose server loaded ``preload`` (see :func:`serve`), closed on the way out."""
    forks = ArbForks(tuple(preload))
    try:
        yield forks
    finally:
        forks.close()


class _ForkedTransport(asyncio.SubprocessTransport):
    # What a subprocess protocol is handed of a forked child: its pid, exit code, signals and output pipes.
    def __init__(self, pid: int) -> None:
        super().__init__()
        self.pid = pid
        self.returncode: int | None = None
        self.pipes: dict[int, asyncio.ReadTransport] = {}

    def get_pid(self) -> int:
        return self.pid

    def get_returncode(self) -> int | None:
        return self.returncode

    def get_pipe_transport(self, fd: int) -> asyncio.ReadTransport | None:
        return self.pipes.get(fd)

    def send_signal(self, signal: int) -> None:
        if self.returncode is not None:  # as asyncio's: a process that has ended takes no signal
            raise ProcessLookupError(self.pid)
        os.kill(self.pid, signal)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def close(self) -> None:
        for pipe in self.pipes.values():
            pipe.close()


class _Pipe(asyncio.Protocol):
    # One output pipe of a forked child, told to its subprocess protocol as asyncio tells a child's pipes.
    def __init__(self, protocol: asyncio.SubprocessProtocol, fd: int) -> None:
        self._protocol, self._fd = protocol, fd

    def data_received(self, data: bytes) -> None:
        self._protocol.pipe_data_received(self._fd, data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._protocol.pipe_connection_lost(self._fd, exc)


@contextlib.asynccontextmanager
async def forked_child(
    forks: ArbForks, protocol: asyncio.SubprocessProtocol, *args: str, env: Mapping[str, str], cwd: Path
) -> AsyncIterator[int]:
    """``arb ARGS`` forked by ``forks`` (environment ``env``, folder ``cwd``), told to ``protocol`` as
    ``loop.subprocess_exec`` tells a child's: its stdout (1) and stderr (2) as they come, through named
    pipes, and its exit (``process_exited``, once the server collected it); ``send_signal`` signals it.
    Yields its pid; the caller awaits its end (a child still running on the way out is killed)."""
    loop = asyncio.get_running_loop()
    with tempfile.TemporaryDirectory(prefix="arb-pipes-") as folder:
        paths = {fd: Path(folder) / str(fd) for fd in (1, 2)}
        readers: dict[int, int] = {}
        holders: dict[int, int] = {}  # a writer of each pipe of ours until the child ended: no end of file before
        try:
            for fd, path in paths.items():
                os.mkfifo(path, 0o600)
                readers[fd] = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
                holders[fd] = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            pid = await forks.start(*args, env=env, cwd=cwd, out=paths[1], err=paths[2])
            transport = _ForkedTransport(pid)
            for fd in paths:
                pipe, _ = await loop.connect_read_pipe(
                    functools.partial(_Pipe, protocol, fd), os.fdopen(readers.pop(fd), "rb", buffering=0)
                )
                transport.pipes[fd] = pipe
            protocol.connection_made(transport)

            async def watch() -> None:
                transport.returncode = await forks.ended(pid)
                while holders:
                    os.close(holders.popitem()[1])
                protocol.process_exited()

            watcher = loop.create_task(watch())
            try:
                yield pid
            finally:
                if transport.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        transport.kill()
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
        finally:
            for fd in (*readers.values(), *holders.values()):
                os.close(fd)


_shared: dict[tuple[str, ...], ArbForks] = {}


def shared_forks(preload: tuple[str, ...] = COMMANDS) -> ArbForks:
    """This process's fork server that loaded ``preload`` (started at the first call, from the environment
    this process started with; ended by :func:`close_shared`)."""
    if preload not in _shared:
        _shared[preload] = ArbForks(preload, _ENVIRON)
    return _shared[preload]


def close_shared() -> None:
    """End the servers :func:`shared_forks` started (the conftest's, at the end of a worker's session)."""
    while _shared:
        _shared.popitem()[1].close()


if __name__ == "__main__":
    serve(sys.argv[1:])
