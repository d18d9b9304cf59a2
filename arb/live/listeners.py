"""Who hears of an engine's events: its fills, order answers, risk breaches, halts, a hedge given up and
funding payments.

The driver that builds the engine (the dry run, ``arb live``) gives its own listeners at construction
(``Engine(config, listeners=Listeners(fill=[...], halt=[...]))``), so the engine is never without the
ones that keep the account; a watcher that meets the engine when the session begins (the ops watch, the
terminal lines) adds its own after them (``engine.listeners.fill.append(...)``). Each event's listeners
are called in order, the driver's first: a fill is journaled before a screen shows it.
"""

from __future__ import annotations

__all__ = ["Listeners"]

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from arb.execution.risk import RiskEvent


@dataclass(slots=True)
class Listeners:
    """Each of an engine's events and its listeners, called in order."""

    fill: list[Callable[[Any], None]] = field(default_factory=list)
    """With each fill row (``FILL_DTYPE``) as soon as the driver learns of it (``arb live``: when the loop is
    idle, after the decisions of the frames already received; see ``Engine.later``)."""
    fill_kept: list[Callable[[Any], None]] = field(default_factory=list)
    """With each fill row, at once, before any later decision and before :attr:`fill`: what keeps the
    account's state a restart resumes (the risk gate's memory), which a crash must not find behind a fill."""
    order: list[Callable[[Any], None]] = field(default_factory=list)
    """With every order's answer (filled, partly filled, expired, rejected), before its fill."""
    risk_event: list[Callable[[RiskEvent], None]] = field(default_factory=list)
    """With each breach the gate reports, after it is logged (the drivers save the gate's memory)."""
    halt: list[Callable[[str], None]] = field(default_factory=list)
    """Once when the gate halts trading, with the reason (the drivers keep the halt)."""
    hedge_failed: list[Callable[[], None]] = field(default_factory=list)
    """Once when a kernel spends its hedge attempts (``HEDGE_FAILED``: no new pair)."""
    funding: list[Callable[[Any], None]] = field(default_factory=list)
    """With each funding payment booked (a ``FUNDING_DTYPE`` row)."""
