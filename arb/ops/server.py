"""The one HTTP server of a running process: ``/metrics`` and the dashboard, in a thread of its own.

The trading loop never runs a handler: the server has its own thread and asyncio loop, and its
handlers read only the :class:`~arb.ops.snapshot.OpsHub` (immutable snapshots, numbered events).
Parts add their routes through ``setup`` callables, so the metrics and the dashboard stay separate
modules:

    server = OpsServer("127.0.0.1", 0, [metrics.routes, dashboard.routes])
    server.start()            # bound when it returns; OSError if the port is taken
    print(server.url)         # http://127.0.0.1:40123
    ...
    server.stop()             # closes every connection, joins the thread

A server can be stopped and started again (the dashboard's test restarts it under an open page).
"""

from __future__ import annotations

__all__ = ["STOPPING", "OpsServer", "RouteSetup", "is_loopback", "serve"]

import asyncio
import contextlib
import errno
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

RouteSetup = Callable[[web.Application], None]
"""Adds routes (and ``on_shutdown`` hooks) to the server's application."""

STOPPING = web.AppKey("ops_stopping", asyncio.Event)
"""``app[STOPPING]``: set when the server stops; long-lived handlers (event streams) end on it."""


def is_loopback(host: str) -> bool:
    """True for an address only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    return host == "localhost" or host.startswith("127.") or host in ("::1", "[::1]")


def serve(host: str, port: int, setups: Sequence[RouteSetup]) -> tuple[OpsServer | None, bool]:
    """Start an :class:`OpsServer` on ``host``:``port``, or on a free port when another process holds
    that one (a recorder beside a dry run, both from one configuration). Returns the running server, or
    None when it could not listen at all (logged: the process goes on without it), and whether ``port``
    was taken. Choosing another port is safe because the process writes where it serves into its own
    folder (:mod:`arb.ops.address`), where ``arb status`` looks."""
    taken = False
    for asked in (port, 0):
        server = OpsServer(host, asked, setups)
        try:
            server.start()
        except OSError as error:
            if error.errno == errno.EADDRINUSE and asked != 0:
                taken = True
                continue
            log.error(
                "the dashboard and /metrics could not listen on %s:%d (%s): trading goes on without them "
                "(set [ops] host and port, or 0 for any free port)",
                host, asked, error,
            )  # fmt: skip
            return None, taken
        return server, taken
    return None, taken


class OpsServer:
    """An aiohttp application served from its own thread (see the module docstring)."""

    def __init__(
        self,
        host: str,
        port: int,
        setups: Sequence[RouteSetup],
        *,
        name: str = "arb-ops",
        shutdown_timeout_s: float = 1.0,
    ) -> None:
        self.host = host
        self.port = port  # the bound port once started (the one asked for, or the one picked for 0)
        self._asked_port = port
        self._setups = tuple(setups)
        self._name = name
        self._shutdown_timeout_s = shutdown_timeout_s
        """How long requests still being answered get to finish when the server stops."""
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._stopping: asyncio.Event | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout_s: float = 10.0) -> None:
        """Start serving; returns once the port is bound. Raises ``OSError`` if it cannot be bound."""
        if self.running:
            return
        if not is_loopback(self.host):
            log.warning(
                "the dashboard and /metrics listen on %s: anyone who reaches this address sees the account "
                "(there is no login); prefer 127.0.0.1 and an SSH tunnel",
                self.host,
            )
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._main, name=self._name, daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise OSError(f"the server {self._name} did not start within {timeout_s:g} s")
        if self._error is not None:
            self._thread.join()
            self._thread = None
            raise self._error

    def stop(self, timeout_s: float = 10.0) -> None:
        """Close the server and every open connection (a dashboard's event stream included)."""
        thread, loop, stopping = self._thread, self._loop, self._stopping
        if thread is None:
            return
        if loop is not None and stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop ended by itself already
                loop.call_soon_threadsafe(stopping.set)
        thread.join(timeout_s)
        self._thread = None
        self.port = self._asked_port

    def call_soon(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` on the server's loop, from any thread (nothing when it is not running)."""
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop ended by itself already
                loop.call_soon_threadsafe(callback)

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as error:
            if not self._ready.is_set():
                self._error = error
                self._ready.set()
            else:
                log.exception("the ops server stopped on an error")
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            self._loop = None

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        app = web.Application()
        app[STOPPING] = self._stopping
        for setup in self._setups:
            setup(app)
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=self._shutdown_timeout_s)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self._asked_port, reuse_address=True)
            await site.start()
            server: Any = site._server  # aiohttp keeps the asyncio server here; the bound port is on its socket
            sockets = getattr(server, "sockets", None) or []
            if sockets:
                self.port = int(sockets[0].getsockname()[1])
            self._ready.set()
            await self._stopping.wait()
        finally:
            await runner.cleanup()
