"""The compiled state the drivers hand the shared step, by name: each symbol's kernel, and the risk gate.

Both drivers (the backtest's compiled loop, :mod:`arb.backtest.run`; the live engine's step,
:mod:`arb.live.engine`) and the test kit build these records from their arrays, and the step
(:func:`arb.strategy.step.decide_symbol`), the guard (:func:`arb.strategy.guard.guarded_decide`) and the
loop's helpers read them by field. Numba takes a ``typing.NamedTuple`` as it takes a tuple (same layout,
same speed) and compiles attribute access to a field to the same load as an index.

Two kinds of settings meet in a decision, and the names keep them apart: ``rules`` (:attr:`Kernel.rules`)
are arb's (``RULES_DTYPE``: the venues' fees, ticks, lots and minimums, the ``[strategy]``,
``[execution]`` and ``[risk]`` settings arb keeps); ``params`` (:attr:`StrategyPart.params`) are the
strategy's own (its ``[strategy.params]`` table, or the rules again when it declares none).
"""

from __future__ import annotations

__all__ = [
    "EngineAccount",
    "EngineLogs",
    "EngineMarks",
    "EngineState",
    "ExecutorCounts",
    "Kernel",
    "Risk",
    "StrategyPart",
]

from typing import Any, NamedTuple

Array = Any  # a NumPy array, as Numba types it


class StrategyPart(NamedTuple):
    """Each symbol's strategy, as :class:`arb.strategy.seam.Bound` binds it (:attr:`~arb.strategy.seam.Bound.part`):
    a row per symbol of each array. Compiled, the parameters and the memory are their records' bytes (a
    ``uint8`` row per symbol); plain Python (``NUMBA_DISABLE_JIT``), the records themselves."""

    addresses: Array
    """The addresses of its ``decide`` and ``may_act`` (0: none), int64 ``(symbols, 2)``."""
    params: Array
    """Its parameters record (:func:`arb.strategy.seam.params_dtype`; the rules records when it has none)."""
    memory: Array
    """Its memory record, kept between calls."""


class Kernel(NamedTuple):
    """Every symbol's kernel: arb's rules and state around the strategy, a row (of intents: a buffer) per
    symbol, as :func:`arb.strategy.guard.guarded_decide` reads it."""

    rules: Array
    """The rules records (``RULES_DTYPE``, :func:`arb.strategy.rules.rules_of`)."""
    state: Array
    """arb's state records (``STATE_DTYPE``, :func:`arb.strategy.types.new_state`): pair ids, hedge
    attempts, quote slots' pairs, flags."""
    intents: Array
    """The intents buffers (``INTENT_DTYPE``, ``MAX_INTENTS`` a symbol, :func:`arb.strategy.types.new_intents`)."""
    strategy: StrategyPart
    """Each symbol's strategy."""


class Risk(NamedTuple):
    """The risk gate's records (:mod:`arb.strategy.records`), as :func:`arb.strategy.gate.gate` and
    :func:`arb.strategy.gate.update_equity` read them; :func:`arb.execution.risk.new_gate` makes fresh ones."""

    limits: Array
    """The limits (``RISK_DTYPE``), a row per symbol."""
    state: Array
    """The account's gate state (``RISK_STATE_DTYPE``), one record: peak equity, the day, the halt, the
    refusals, the events' ring."""
    symbol_state: Array
    """Each symbol's gate state (``SYMBOL_RISK_DTYPE``): its pairs, refusals and pair times."""


class EngineMarks(NamedTuple):
    """What the live engine values holdings at, updated in place by its compiled step."""

    last_mid: Array
    """Per (symbol, venue), the last mid of its book (NaN until one)."""
    mark: Array
    """Per (symbol, venue), the venue's mark price of a perpetual (NaN until one)."""
    pnl_sym: Array
    """Per symbol, its trading PnL at the last decision (quote)."""


class ExecutorCounts(NamedTuple):
    """The executor's counts as it keeps them (int64 arrays, updated in place); the engine's compiled step
    reads them without a copy."""

    open_counts: Array
    """Per (symbol, venue), the orders open."""
    unknown_counts: Array
    """Per venue, the orders whose fate is unknown."""
    blocked_until_ns: Array
    """Per venue, the local time until which it refuses orders (rate limits, bans)."""


class EngineAccount(NamedTuple):
    """The live engine's account, as :func:`arb.strategy.step.fill_accounts` and
    :func:`~arb.strategy.step.log_equity` read it."""

    position: Array
    """Per (symbol, venue), the base bought minus sold (fees paid in base included)."""
    init_base: Array
    """Per (symbol, venue), the base held at the start."""
    init_quote: Array
    """Per venue, the quote held at the start."""
    cash: Array
    """Per (symbol, venue), quote received minus paid minus fees."""


class EngineLogs(NamedTuple):
    """Where the live engine's compiled step (:func:`arb.strategy.step.engine_step`) writes a decision's rows:
    room in the logs for a row per symbol and for its intents, and the intents as the executor takes them."""

    calls: Array
    """The kernel call log's free rows (``decision_dtype``), a row per symbol called."""
    sent: Array
    """The sent log's free rows (``SENT_DTYPE``), a row per intent that passed the gate."""
    orders: tuple[Array, Array]
    """``(ints, floats)``: the intents that passed, a row each (:func:`arb.strategy.step._log_sent`)."""


class EngineState(NamedTuple):
    """What the live engine's compiled step (:func:`arb.strategy.step.engine_step`) reads and writes besides the
    gate's records, the books and the logs: the engine's own arrays, updated in place, never replaced."""

    views: Array
    """Each (symbol, venue)'s view (``view_dtype``), as the strategies read it."""
    kernel: Kernel
    """The kernels, as :func:`arb.strategy.step.decide_symbol` takes them."""
    venues: Array
    """Per (symbol, venue), what the step reads besides the books (``V_*`` rows of :mod:`arb.strategy.step`)."""
    marks: EngineMarks
    """What holdings are valued at."""
    pair_seq: Array
    """``[the next pair id]``."""
    account: EngineAccount
    """The account's arrays."""
    executor: ExecutorCounts
    """The executor's counts."""
    settings: Array
    """``[book levels, stale_after_ns]``."""
