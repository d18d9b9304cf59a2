"""What holds a running ``arb live`` session, and how each halt outlives it.

:class:`Guards` are the session's halts and watches: a hedge the kernel gave up and a risk limit halt new
pairs and keep the halt in the journal until a person clears it (``arb halt --live --clear``); the kill switch
(SIGUSR1, ``arb kill``'s file, a confirmed Telegram ``/kill``) keeps its halt first, then stops the session
and flattens (:func:`arb.live.kill.kill`); a symbol whose book went stale or out of sync on a venue has its
open orders there cancelled, once per episode. They also book each funding payment in the journal.

:class:`RiskMemory` continues the gate's memory (the risk day, the last 24 hours' pairs) from the journal
and keeps it there: queued with every commit of the journal (a fill's row never reaches the journal without
the memory as it stood then) and committed at once at a breach, so a restart keeps a daily-loss pause.
"""

from __future__ import annotations

__all__ = ["Guards", "RiskMemory"]

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from rich.console import Console
from rich.markup import escape

from arb.config import AppConfig
from arb.execution.exposure import naked_leg_lines
from arb.execution.halt_hints import clear_halt_command
from arb.execution.risk import HALT_REASONS
from arb.live.kill import HALT_KEY, KILL_REASON

if TYPE_CHECKING:
    from arb.live.engine import Engine
    from arb.live.kill import KillReport
    from arb.live.session_loop import SessionLoop
    from arb.live.trading_session import TradingSession

log = logging.getLogger(__name__)

_STALE_CHECK_S = 0.5
_KILL_FILE_CHECK_S = 0.25


class Guards:
    """The halts and watches of one ``arb live`` session (see the module docstring). The engine and the
    session loop are theirs to act on once built (:attr:`engine`, :attr:`session_loop`)."""

    def __init__(
        self,
        config: AppConfig,
        session: TradingSession,
        console: Console,
        stop_event: asyncio.Event,
        clock: Callable[[], int],
    ) -> None:
        self.config = config
        self.session = session
        self.console = console
        self.stop_event = stop_event
        self.clock = clock
        self.killed = asyncio.Event()
        self.engine: Engine | None = None
        self.session_loop: SessionLoop | None = None

    # -- the halts (engine listeners) ------------------------------------------------------------

    def keep_halt(self) -> str:
        """A halt kept from an earlier run, held again (and said); the reason, "" when none."""
        kept = self.session.journal.get_state(HALT_KEY) or ""
        if kept and self.engine is not None:
            self.engine.hold()
            lifts = clear_halt_command(self.config)  # arb live's halt alone
            self.console.print(
                f"[bold red]HALTED[/] ({escape(kept)}): no new pair until a person clears it ({escape(lifts)}); "
                "a lone leg is still hedged",
                highlight=False,
                soft_wrap=True,
            )
        return kept

    def hedge_failed(self) -> None:
        """The kernel opens no new pair now; the halt outlives this process until a person clears it."""
        attempts = self.config.execution.max_hedge_attempts
        exposure = "; ".join(naked_leg_lines(self.engine)) if self.engine is not None else ""
        self.session.journal.set_state(HALT_KEY, f"hedge failed after {attempts} attempts")
        self.console.print(
            f"[bold red]HALTED: a lone leg was not hedged within {attempts} attempts "
            f"({exposure or 'the leg was closed on the last attempt'}); no new pair until a person clears the "
            "halt[/]",
            highlight=False,
            soft_wrap=True,
        )

    def risk_halt(self, reason: str) -> None:
        """A risk limit halted trading: kept in the journal."""
        self.session.journal.set_state(HALT_KEY, reason)
        self.console.print(f"[bold red]HALTED[/] ({escape(reason)}): no new pair until a person clears it",
                           highlight=False)  # fmt: skip

    def book_funding(self, row: Any) -> None:
        """A perpetual's funding payment: its own line in the journal, beside the fills."""
        config = self.config
        v, s = int(row["venue"]), int(row["symbol"])
        venue, symbol = config.venues[v], config.symbol_names[s]
        self.session.journal.record_funding(row, venue=venue.name, market=venue.market, symbol=symbol)
        width = max(map(len, config.venue_names))  # the venues' names in one column
        self.console.print(
            f"funding {venue.name:<{width}} {symbol} {float(row['payment']):+.8g} "
            f"(position {float(row['position']):+.8g} x {float(row['mark']):.8g} x rate {float(row['rate']):.6%})",
            highlight=False,
        )

    def halted(self) -> str:
        """Why the session opens no new pair now, "" while it may: the kill switch, a halt kept from an
        earlier run, a risk limit, a hedge given up (the engine's state, no I/O)."""
        engine = self.engine
        if self.killed.is_set():
            return KILL_REASON
        if engine is None:
            return ""
        if engine.hedge_failed:
            return "hedge failed"
        return HALT_REASONS[int(engine.risk_state[0]["halted"])]

    # -- the kill switch ----------------------------------------------------------------------------

    def kill(self) -> None:
        """The kill switch: the halt is kept first, before anything is asked of a venue (its latch), then
        the session stops; :meth:`flatten_if_killed` flattens once it has."""
        if not self.killed.is_set():
            self.session.journal.set_state(HALT_KEY, KILL_REASON)
            if self.engine is not None:
                self.engine.hold()
        self.killed.set()
        self.stop_event.set()
        if self.session_loop is not None:
            self.session_loop.halt(KILL_REASON)

    async def kill_watch(self, kill_file: Path) -> None:
        """The kill switch's file, for when a signal cannot reach this process (another user, a container)."""
        while not kill_file.exists():
            await asyncio.sleep(_KILL_FILE_CHECK_S)
        self.kill()

    async def flatten_if_killed(self, kill_file: Path, cancelled: Mapping[str, int] | None = None) -> KillReport | None:
        """After the stop: when the kill switch ended the session, flatten, book the flattening fills to
        the session's account, say what was done (``cancelled``: the open orders the stop cancelled already, by
        venue, counted in the report with the kill's own), leave the report beside the kill file for the ``arb
        kill`` that waits for this process to end (:func:`arb.live.process.leave_kill_report`), and
        remove the kill file; None when it did not."""
        if not self.killed.is_set():
            return None
        from arb.live.kill import kill
        from arb.live.process import leave_kill_report

        report = await kill(self.session, slippage_bps=self.config.risk.stop_loss_bps, cancelled=cancelled)
        if self.engine is not None:
            for order in report.orders:  # the flattening fills belong to this session's account
                self.engine.book_answer(order)
        lines = report.describe()
        for line in lines:
            self.console.print(line if report.flat else f"[bold red]{line}[/]", highlight=False)
        try:
            leave_kill_report(kill_file.parent, flat=report.flat, lines=lines)
        except OSError as error:  # arb kill then says it found no report, and flattens itself
            log.error("kill switch: its report could not be left in %s for arb kill: %s", kill_file.parent, error)
        kill_file.unlink(missing_ok=True)
        return report

    # -- stale books --------------------------------------------------------------------------------

    async def stale_watch(self) -> None:
        """A symbol whose book went stale or out of sync on a venue gets its open orders there cancelled,
        once per episode (a venue arb itself holds orders back from is not stale: its book is fine)."""
        from arb.strategy.types import VENUE_OK

        executors, names, engine = self.session.executors, self.config.symbol_names, self.engine
        if engine is None:
            return
        cancelled = {(s, v): False for s in range(len(names)) for v in executors}
        while True:
            await asyncio.sleep(_STALE_CHECK_S)
            for (s, v), done in list(cancelled.items()):
                venue_executor = executors[v]
                if engine.venue_status(v, self.clock(), s) == VENUE_OK:
                    cancelled[s, v] = False
                elif not done:
                    cancelled[s, v] = True
                    what = f"{venue_executor.venue} {names[s]}" if len(names) > 1 else venue_executor.venue
                    try:
                        n = await venue_executor.cancel_open(names[s])
                    except Exception as error:  # noqa: BLE001 - logged; tried again next episode
                        log.error("%s went stale; cancelling its open orders failed: %s", what, error,
                                  extra={"venue": venue_executor.venue, "symbol": names[s]})  # fmt: skip
                        cancelled[s, v] = False
                        continue
                    log.warning("%s went stale: %d open order(s) cancelled", what, n,
                                extra={"venue": venue_executor.venue, "symbol": names[s]})  # fmt: skip


class _StateStore(Protocol):
    # the journal's account state (arb.execution.journaling's sink and the journal itself have it)
    def get_state(self, key: str) -> str | None: ...
    def set_state(self, key: str, value: str) -> None: ...
    def defer_state(self, key: str, value: str) -> None: ...
    def on_flush(self, hook: Callable[[], None]) -> None: ...


class RiskMemory:
    """The gate's memory kept in ``journal`` (see the module docstring): :meth:`restore` once the engine
    is built; from then on every commit of the journal carries it when it changed (:meth:`queue`, a hook of
    the journal's flush), :meth:`queue` is the engine's fill listener (``fill_kept``: queued with the
    booking, before any later decision) and :meth:`save` its breach listener (committed at once; and at
    the end). ``clear``: the command that lifts this account's daily loss pause, named when :meth:`restore`
    prints one.

    What the memory holds changes at a decision (a pair counted), a sample (a new risk day) and a breach,
    not at a fill; a fill's row is committed by the flush of the task that took it from the venue, which
    queues the memory first: the journal never holds a fill the memory is behind of. Queuing costs a
    comparison of a few numbers when nothing changed (the JSON is made only when something did)."""

    def __init__(self, journal: _StateStore, clear: str = "arb halt --live --clear") -> None:
        self.journal = journal
        self.clear = clear
        self.engine: Engine | None = None
        self._key: tuple[Any, ...] = ()  # the figures of the memory last queued

    def restore(self, engine: Engine, console: Console, now: int) -> None:
        """Continue ``engine``'s gate from the journal and print a daily-loss pause it still holds at
        ``now``; from then on every flush of the journal keeps this engine's memory."""
        from arb.execution.risk import RISK_MEMORY_KEY, day_pause_text, restore_risk_memory

        self.engine = engine
        raw = self.journal.get_state(RISK_MEMORY_KEY)
        if raw:
            memory = json.loads(raw)
            restore_risk_memory(engine.risk_state, engine.symbol_state, memory, engine.symbols)
            paused = day_pause_text(memory, engine.limits, now, clear=self.clear)
            if paused is not None:
                console.print(f"[bold red]PAUSED[/] ({escape(paused)})", highlight=False, soft_wrap=True)
        self._key = self._figures(engine)
        self.journal.on_flush(self.queue)

    def queue(self, *_: Any) -> None:
        """Queue the gate's memory with the journal's next commit when it changed since it was last kept."""
        from arb.execution.risk import RISK_MEMORY_KEY

        if self.engine is not None and self._figures(self.engine) != self._key:
            self.journal.defer_state(RISK_MEMORY_KEY, self._kept(self.engine))

    def save(self, *_: Any) -> None:
        """Keep the gate's memory in the journal now (nothing before :meth:`restore`)."""
        from arb.execution.risk import RISK_MEMORY_KEY

        if self.engine is not None:
            self.journal.set_state(RISK_MEMORY_KEY, self._kept(self.engine))

    def _kept(self, engine: Engine) -> str:
        # The memory as the journal keeps it (JSON); its figures noted as the last kept
        from arb.execution.risk import risk_memory

        self._key = self._figures(engine)
        return json.dumps(risk_memory(engine.risk_state, engine.symbol_state, engine.symbols))

    @staticmethod
    def _figures(engine: Engine) -> tuple[Any, ...]:
        # What risk_memory writes, but the pairs' times: they change only with a pair's count
        from arb.execution.risk import memory_figures

        return memory_figures(engine.risk_state, engine.symbol_state)
