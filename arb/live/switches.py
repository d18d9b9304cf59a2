"""The dead-man's switches of an ``arb live`` session, venue by venue: armed before anything is traded,
disarmed at every clean stop once the orders are cancelled, left armed when the orders could not be.

A clean stop is every end that runs the stop (``--duration``, SIGINT, SIGTERM, the kill switch: ``arb kill``,
SIGUSR1, Telegram's ``/kill``) and a start that fails after a switch was armed (nothing was traded then).
Each switch is turned off as its venue documents it (:meth:`~arb.execution.dead_man.DeadMan.disarm`) and
one line per venue says what is left armed (``<venue> dead-man's switch: disarmed``): a venue that refuses
or cannot be asked is said and the process still exits with its usual code. A venue where an order is
still in flight keeps its switch, and so does a session that ended on an error before its orders were
cancelled: the venue cancels what arb could not, which is what the switch is for. A crash (SIGKILL, the
machine gone) keeps every switch armed for the same reason.

``arb kill`` disarms too (:func:`disarm_every_switch`), with or without an ``arb live`` running: it is how
a person takes the account back.
"""

from __future__ import annotations

__all__ = ["Switches", "disarm_every_switch"]

import logging
from collections.abc import Collection
from types import TracebackType
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from arb.errors import VenueError

if TYPE_CHECKING:
    from arb.execution.venue_executor import VenueExecutor
    from arb.live.trading_session import TradingSession

log = logging.getLogger(__name__)


def _say(console: Console, executor: VenueExecutor, text: str) -> str:
    # One venue's line, loud when something is left armed that arb meant to turn off
    line = f"{executor.venue} dead-man's switch: {text}"
    loud = text.startswith(("STILL ARMED", "left armed"))
    console.print(f"[bold red]{escape(line)}[/]" if loud else escape(line), highlight=False, soft_wrap=True)
    return line


class Switches:
    """The switches of ``session``'s venues with the ``[live] dead_man_window_s`` window (0: none armed), as
    an async context manager around the session: leaving it on an error disarms what a failed start armed,
    or says what a failed session leaves armed (see the module docstring)."""

    def __init__(self, session: TradingSession, console: Console) -> None:
        self.session = session
        self.console = console
        self.window_s = session.config.live.dead_man_window_ns // 1_000_000_000
        self.armed: list[VenueExecutor] = []
        """The venue executors whose switch may be armed now, in the order they were armed."""
        self.trading = False
        """Set once the session trades: from then on only its stop may disarm (an error leaves them armed)."""

    async def __aenter__(self) -> Switches:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if error is None or not self.armed:
            return
        if not self.trading:  # a failed start: nothing was traded, nothing is left to cancel
            await self.disarm()
            return
        for executor in self.armed:
            why = "the session ended on an error before its orders were cancelled"
            _say(self.console, executor, f"left armed ({why}): {executor.dead_man.fires(self.window_s)}")
        self.armed = []

    async def arm(self) -> None:
        """Arm every venue's switch, before anything is traded, each said in one line (a venue that refuses
        raises :class:`~arb.errors.VenueError` and stops the start; what was armed before it is disarmed on
        the way out, and so is the refusing venue's when its answer was lost: its last request may have
        armed it)."""
        if not self.window_s:
            return
        for executor in self.session.executors.values():
            try:
                armed = await executor.dead_man.arm(self.window_s)
            except VenueError as error:
                if error.retryable:
                    self.armed.append(executor)
                raise
            self.armed.append(executor)
            _say(self.console, executor, armed)

    async def disarm(self, keep: Collection[int] = ()) -> list[str]:
        """At a clean stop, once the orders are cancelled: every switch armed turned off, one line per venue
        saying what is left armed (returned too); ``keep``: the venues (numbers in the run) whose switch
        stays armed, an order of theirs still in flight."""
        lines = []
        for executor in self.armed:
            if executor.index in keep:
                why = "an order of arb's is still in flight there"
                text = f"left armed ({why}): {executor.dead_man.fires(self.window_s)}"
            else:
                text = await executor.dead_man.disarm(self.window_s)
            lines.append(_say(self.console, executor, text))
        self.armed = []
        return lines


async def disarm_every_switch(session: TradingSession, console: Console) -> list[str]:
    """``arb kill``'s last step: every venue's switch turned off whoever armed it (an ``arb live`` that
    crashed, or none), one line per venue saying what is left armed (returned too)."""
    switches = Switches(session, console)
    switches.armed = list(session.executors.values())
    return await switches.disarm()
