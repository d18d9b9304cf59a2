"""``arb`` commands run as child processes forked from one that has imported arb already.

A crash test kills an ``arb`` child with SIGKILL at a failpoint and checks what it left on disk; it starts
one child per case, and a fresh ``python -m arb.cli`` spends most of its CPU importing (arb, NumPy,
Numba, ccxt and its exchange classes: about 1.3 s of a 1.9 s ``arb order``). :class:`ArbForks` starts a
server process once, which imports the modules named, then forks a child per command: the child sets
its environment, working directory and output files, runs :func:`arb.cli.run` as ``python -m arb.cli``
does, and exits with its code (or is killed at its failpoint: the same SIGKILL, the same files left).
What differs from a fresh interpreter is only that the modules were imported before the fork:
``arb.execution.failpoints``, which reads ``ARB_FAILPOINT`` at import, is read again in the child.

Tests of how ``arb`` starts (its imports, its first compile, its exit on a bad option) run it as a
process of its own (``tests/support/processes.py``); this is for tests of what a command does once
running. Run as ``python -m tests.support.arb_forks MODULE...`` it is the server: a request per line on
stdin, a line on stdout for each child started and each child ended.
"""

from __future__ import annotations

__all__ = ["ArbForks", "arb_forks"]

import asyncio
import contextlib
import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from tests.support.captures import ROOT

_FAILPOINTS = "arb.execution.failpoints"


def _child(request: dict[str, Any]) -> None:
    # In the forked child: become `python -m arb.cli ARGS` with the request's environment, folder and
    # files. Raises the SystemExit that ends it (the interpreter then exits as python -m arb.cli's
    # does: its threads joined, its exit functions run) or what the command raised.
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
    """The server's loop: import ``preload``, then for each request line fork a child, answer its pid,
    wait for it and answer its exit code (negative: the signal that ended it). Ends at the end of stdin."""
    for name in preload:
        importlib.import_module(name)
    answers = sys.stdout.buffer
    answers.write(b'{"ready": true}\n')
    answers.flush()
    while line := sys.stdin.buffer.readline():
        request = json.loads(line)
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(request)  # ends the child: its SystemExit leaves this loop and the interpreter
        answers.write(json.dumps({"pid": pid}).encode() + b"\n")
        answers.flush()
        _, status = os.waitpid(pid, 0)
        answers.write(json.dumps({"pid": pid, "returncode": os.waitstatus_to_exitcode(status)}).encode() + b"\n")
        answers.flush()


class ArbForks:
    """A fork server of ``arb`` commands (see the module docstring); one command at a time."""

    def __init__(self, preload: tuple[str, ...]) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="arb-forks-")
        self._server = subprocess.Popen(
            [sys.executable, "-m", "tests.support.arb_forks", *preload],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self._server.stdout is not None
        self._fd = self._server.stdout.fileno()
        os.set_blocking(self._fd, False)
        self._buffer = b""
        self._ready = False
        self._runs = 0

    async def _answer(self) -> dict[str, Any]:
        # The server's next answer line; a cancelled wait loses nothing (what was read stays in the buffer)
        loop = asyncio.get_running_loop()
        while b"\n" not in self._buffer:
            readable: asyncio.Future[None] = loop.create_future()
            loop.add_reader(self._fd, _settle, readable)
            try:
                await readable
            finally:
                loop.remove_reader(self._fd)
            with contextlib.suppress(BlockingIOError):
                chunk = os.read(self._fd, 1 << 16)
                if not chunk:
                    raise EOFError(f"the arb fork server ended (exit {self._server.wait()})")
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        answer: dict[str, Any] = json.loads(line)
        return answer

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
            async with patiently(Patience("the arb fork server to import", quiet_s=quiet_s, pids=[self._server.pid])):
                assert (await self._answer()) == {"ready": True}
            self._ready = True
        self._runs += 1
        out, err = (Path(self._folder.name) / f"{self._runs}.{name}" for name in ("out", "err"))
        request = {"args": list(args), "env": dict(env), "cwd": str(cwd), "out": str(out), "err": str(err)}
        self._server.stdin.write(json.dumps(request).encode() + b"\n")
        self._server.stdin.flush()
        pid = (await self._answer())["pid"]
        try:
            async with patiently(Patience(what, quiet_s=quiet_s, pids=[pid])):
                answer = await self._answer()
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            await self._answer()  # the server has collected it
            raise
        assert answer["pid"] == pid
        return int(answer["returncode"]), out.read_text(errors="replace"), err.read_text(errors="replace")

    def close(self) -> None:
        """End the server (at the end of its input) and remove the children's output files."""
        assert self._server.stdin is not None
        self._server.stdin.close()
        try:
            self._server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._server.kill()
            self._server.wait()
        assert self._server.stdout is not None
        self._server.stdout.close()
        self._folder.cleanup()


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


@contextlib.contextmanager
def arb_forks(*preload: str) -> Iterator[ArbForks]:
    """An :class:`ArbForks` whose server imported ``preload`` (module names), closed on the way out."""
    forks = ArbForks(tuple(preload))
    try:
        yield forks
    finally:
        forks.close()


if __name__ == "__main__":
    serve(sys.argv[1:])
