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
runs. Run as ``python -m tests.support.arb_forks NAME...`` it is the server: a request per line on stdin,
an answer line on stdout when a child starts and when it ends (children run side by side).
"""

from __future__ import annotations

__all__ = ["ArbForks", "arb_forks", "serve"]

import asyncio
import contextlib
import importlib
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parents[2]
_FAILPOINTS = "arb.execution.failpoints"
_READY = ("ready", 0)


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
    err = os.open(request["err"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
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
    wakeup_read, wakeup_write = os.pipe()
    os.set_blocking(wakeup_write, False)
    signal.set_wakeup_fd(wakeup_write)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)  # a handler, so that the wakeup fd hears it
    answers = sys.stdout.buffer
    requests = sys.stdin.buffer.raw  # type: ignore[attr-defined]  # unbuffered: select sees every line

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

    def __init__(self, preload: tuple[str, ...]) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="arb-forks-")
        self._server = subprocess.Popen(
            [sys.executable, "-m", "tests.support.arb_forks", *preload],
            cwd=_ROOT,
            env={**os.environ, "PYTHONPATH": str(_ROOT)},
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

    async def run(
        self, *args: str, env: Mapping[str, str], cwd: Path, what: str, quiet_s: float = 60.0
    ) -> tuple[int, str, str]:
        """Run ``arb ARGS`` in a forked child with environment ``env`` (the whole of it) in folder ``cwd``;
        its exit code (-9: killed by SIGKILL), stdout and stderr. The wait for the server, then for the
        child, is bounded by ``quiet_s`` seconds in which it does no work (as
        :func:`tests.support.processes.run_arb`); a child still running then is killed."""
        from arb.testing.waiting import Patience, patiently

        assert self._server.stdin is not None
        if not self._ready:  # importing: the server's work is progress
            async with patiently(Patience("the arb fork server to start", quiet_s=quiet_s, pids=[self._server.pid])):
                await self._answer(_READY)
        self._requests += 1
        number = self._requests
        out, err = (Path(self._folder.name) / f"{number}.{name}" for name in ("out", "err"))
        request = {
            "id": number,
            "args": list(args),
            "env": dict(env),
            "cwd": str(cwd),
            "out": str(out),
            "err": str(err),
        }
        self._server.stdin.write(json.dumps(request).encode() + b"\n")
        self._server.stdin.flush()
        pid = (await self._answer(("id", number)))["pid"]
        try:
            async with patiently(Patience(what, quiet_s=quiet_s, pids=[pid])):
                ended = await self._answer(("pid", pid))
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            await self._answer(("pid", pid))  # the server has collected it
            raise
        return int(ended["returncode"]), out.read_text(errors="replace"), err.read_text(errors="replace")

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


if __name__ == "__main__":
    serve(sys.argv[1:])
