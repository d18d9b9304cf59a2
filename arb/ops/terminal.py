"""What a dry run prints while it runs: a line per fill and a periodic account line, as a session's watcher.

:class:`PaperLines` is handed to the dry run's session loop (:mod:`arb.live.session_loop`) beside the
ops :class:`~arb.ops.watch.Watch` (:func:`dry_run_watchers` builds both): every ``[dry_run]
report_interval`` of the session's clock, and as soon as every book is first synced, one line in two
parts named by their scope (:func:`account_line_text`): ``account:`` the paper account's cash and base
holdings on each venue, positions, equity, fills over all its sessions and each direction's pairs left
at the configured size (:func:`arb.live.account_lines.pairs_left_line`), then ``this run:`` this
session's fills and pairs won, the figures of the run's summary; then, loud, each leg the kernel gave up
hedging (:func:`arb.execution.exposure.naked_leg_lines`). A fill's line names its venue as the run
does (``config.venue_names``), padded to the longest of them so the lines align.
Everything here runs on the loop and writes to the terminal only.
"""

from __future__ import annotations

__all__ = ["PaperLines", "account_line_text", "dry_run_watchers"]

from typing import TYPE_CHECKING, Any

from arb.execution.paper_account import holdings_text, positions_text
from arb.execution.paper_files import KIND_NAMES
from arb.live.account_lines import AccountLines, equity_text
from arb.strategy.types import BUY

if TYPE_CHECKING:
    from rich.console import Console

    from arb.config import AppConfig
    from arb.execution.paper_account import PaperAccount
    from arb.live.engine import Engine
    from arb.live.session_loop import SessionStart
    from arb.ops.watch import Watch


class PaperLines(AccountLines):
    """The dry run's terminal lines on ``console``: one per fill, and the account line every
    ``interval_ns`` of the session's clock (see the module docstring)."""

    def __init__(self, console: Console, interval_ns: int, account: PaperAccount) -> None:
        super().__init__(console, interval_ns)
        self.account = account

    def begin(self, start: SessionStart) -> list[str]:
        """Print a line for each of the engine's fills (after the listeners given before)."""
        engine = start.engine
        if engine is not None:
            self.engine = engine
            engine.listeners.fill.append(self.fill)
        return []

    @property
    def venue_names(self) -> tuple[str, ...]:
        """The run's venues, in order (the engine's; none before the session begins)."""
        return tuple(self.engine.config.venue_names) if self.engine is not None else ()

    def halt(self, reason: str) -> None:
        """Nothing: the command prints a kept halt before the session starts."""

    def tick(self, now: int) -> None:
        """The account line when due (the market quiet)."""
        if self.engine is not None:
            self.maybe(self.engine, now)

    def fill(self, row: Any) -> None:
        """One fill's line: ``fill bybit   sell 0.01 @ 60300 fee 0.6 (pair 1, pair)``."""
        side = int(row["side"])
        qty = float(row["qty"])
        price = float(row["price"])
        names = self.venue_names
        width = max(map(len, names))
        self.console.print(
            f"fill {names[int(row['venue'])]:<{width}} {'buy ' if side == BUY else 'sell'} {qty:.8g} @ {price:.8g} "
            f"fee {float(row['fee']):.6g} (pair {int(row['pair_id'])}, {KIND_NAMES.get(int(row['kind']), '?')})",
            highlight=False,
            soft_wrap=True,
        )

    def account_line(self, engine: Engine, when: str) -> None:
        """The account's cash and base holdings on each venue, positions, equity, fills and each direction's
        pairs left; then this run's fills and pairs won (see :func:`account_line_text`)."""
        self.console.print(f"[{when} UTC] {account_line_text(engine, self.account)}", highlight=False, soft_wrap=True)


def account_line_text(engine: Engine, account: PaperAccount) -> str:
    """The dry run's account line after its time, in two parts each named by its scope: ``account:`` what
    the paper account holds now and its fills over every session (the figures ``arb report`` counts),
    ``this run:`` this session's fills and pairs (the figures of the run's summary table and
    summary.json). ``equity ?`` until every book has a price (:func:`~arb.live.account_lines.equity_text`)."""
    from arb.results.pairs import pairs_text

    base, quote = account.balances()
    mids = engine.last_mid
    run = engine.log.fills.view()
    cash = " | ".join(f"{float(q):,.2f}" for q in quote)
    return (
        f"account: cash {cash} USDT  holdings {holdings_text(engine.symbols, base)}"
        f"  positions {positions_text(engine.symbols, engine.position)}  {equity_text(quote, base, mids)}"
        f"  fills {account.fills}  {AccountLines.inventory_text(engine)}"
        f"  this run: fills {len(run)}  {pairs_text(run, mids)}"
    )


def dry_run_watchers(config: AppConfig, account: PaperAccount, console: Console) -> tuple[Watch, PaperLines]:
    """A dry run's watchers on ``account``: the ops watch (dashboard, /metrics, alerts, the daily report
    in the account's ``reports`` folder, read from this very account) and the terminal lines."""
    from arb.ops.watch import Watch

    folder = account.path.parent
    own = config.with_overrides({"dry_run.state_dir": folder}) if folder != config.dry_run.state_dir else config
    watch = Watch(own, "dry-run", report_dir=str(folder / "reports"))
    return watch, PaperLines(console, config.dry_run.report_interval_ns, account)
