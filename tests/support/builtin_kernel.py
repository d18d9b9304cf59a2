"""The built-in strategies called one decision at a time, as the unit tests of the kernel and the quotes
call them: ``decide(view, params, state, now, out)`` (the taker), ``decide_maker(...)`` and
``may_act(view, params, now)``, each through arb's guard exactly as the drivers run them
(:func:`arb.strategy.guard.guarded_decide`), with ``params`` the rules record (the built-ins' own parameters
taken from its copies of ``[strategy]``: :func:`own_params`) and ``state`` arb's state record of the symbol.
The strategy's memory is kept per state array (:func:`memory_of`)."""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from arb.strategies.maker_taker import MAKER_TAKER
from arb.strategies.taker import TAKER
from arb.strategy.builtin import params_from_rules
from arb.strategy.guard import guarded_decide, may_decide
from arb.strategy.seam import Strategy, bind
from arb.strategy.state import Kernel, StrategyPart
from arb.strategy.types import STYLE_TAKER, new_intents, new_state

_MEMORY: dict[int, tuple[weakref.ref[Any], np.ndarray[Any, Any]]] = {}  # by id(state), while it lives


def memory_of(state: np.ndarray[Any, Any]) -> Any:
    """The strategy's memory record kept beside arb's ``state`` (zeros until a decision ran on it)."""
    return _memory(state)[0]


def _memory(state: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    kept = _MEMORY.get(id(state))
    if kept is None or kept[0]() is not state:
        kept = (weakref.ref(state), np.zeros(1, TAKER.memory_dtype))
        _MEMORY[id(state)] = kept
    return kept[1]


def own_params(strategy: Strategy, rules: Any) -> list[Any]:
    """The built-in ``strategy``'s parameters from the rules record (which still carries ``[strategy]``'s
    settings under the parameters' names), as a run fills them from the configuration."""
    return [params_from_rules(strategy, rules[0])]


def _run(strategy: Strategy, view: Any, rules: Any, state: Any, now: int, out: Any) -> int:
    bound = bind([strategy], rules, own_params(strategy, rules))
    kernel = Kernel(rules, state, out.reshape(1, -1), StrategyPart(bound.addresses, bound.params, _memory(state)))
    return int(guarded_decide(view, kernel, 0, now))


def decide(view: Any, rules: Any, state: Any, now: int, out: Any) -> int:
    """The taker's decision inside arb's guard: intents into ``out``, their number returned."""
    return _run(TAKER, view, rules, state, now, out)


def decide_maker(view: Any, rules: Any, state: Any, now: int, out: Any) -> int:
    """The maker-taker's decision inside arb's guard."""
    return _run(MAKER_TAKER, view, rules, state, now, out)


def may_act(view: Any, rules: Any, now: int) -> bool:
    """Whether a driver would call the symbol's strategy (its style's) on this view."""
    strategy = TAKER if int(rules[0]["style"]) == STYLE_TAKER else MAKER_TAKER
    bound = bind([strategy], rules, own_params(strategy, rules))
    kernel = Kernel(rules, new_state(), new_intents(1), bound.part)
    return bool(may_decide(view, kernel, 0, now))
