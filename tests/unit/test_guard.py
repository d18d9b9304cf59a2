"""arb's guarantees hold for any strategy, outside its code (``arb/strategy/guard.py``, then the risk gate).

Each test first shows that a strategy allowed to bypass the rule did write the offending intent (its
``decide`` called directly, as no driver ever calls it), then that through arb's guard, as every driver
runs it, the intent is refused and the account whole: nothing of it sent, the refusal counted
(``state.refused``, the gate's ``refused``) or the contract's breach recorded (``CONTRACT_BROKEN``),
a lone leg still hedged.

The strategy is a puppet compiled here: it writes whatever the test scripts into its memory. The
backtest at the end runs an adversary of its own on the sample recording.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pytest

import arb.backtest.run as backtest_run
from arb.backtest.hbt_orders import C_FILLS, C_SENT
from arb.cli import main
from arb.config import load_config
from arb.execution.risk import B_NOTIONAL, new_gate
from arb.strategies.taker import BUILTIN_MEMORY
from arb.strategy.rules import rules_of
from arb.strategy.seam import Bound, Strategy, bind
from arb.strategy.state import Kernel, Risk
from arb.strategy.step import decide_symbol
from arb.strategy.testkit import Bench, rules_for, view
from arb.strategy.types import (
    BROKEN_COUNT,
    BROKEN_KIND,
    BROKEN_PAIR,
    BROKEN_PRICE,
    BROKEN_QTY,
    BROKEN_SIDE,
    BROKEN_VENUE,
    BUY,
    CONTRACT_BROKEN,
    INTENT_CANCEL,
    INTENT_HEDGE,
    INTENT_OPEN,
    INTENT_QUOTE,
    INTENT_UNWIND,
    MAX_INTENTS,
    QUOTE_CANCELING,
    QUOTE_HELD,
    QUOTE_LIVE,
    QUOTE_NONE,
    QUOTE_PENDING,
    SELL,
    VENUE_OUT_OF_SYNC,
    VENUE_STALE,
    decision_dtype,
    new_intents,
    new_state,
    new_views,
)

ROOT = Path(__file__).resolve().parents[2]
NOW = 1_000_000_000_000
SLOTS = 8

PUPPET_MEMORY = np.dtype(
    [
        ("calls", "i8"),  # times arb called it
        ("count", "i8"),  # what it returns
        ("venue", "i8", (SLOTS,)),  # the intents it writes, field by field
        ("side", "i8", (SLOTS,)),
        ("price", "f8", (SLOTS,)),
        ("qty", "f8", (SLOTS,)),
        ("kind", "i8", (SLOTS,)),
    ]
)


@numba.njit(cache=True)
def puppet(view: Any, rules: Any, params: Any, memory: Any, now_ns: int, intents: Any) -> int:
    # Writes the intents scripted in its memory, whatever they are, and returns the scripted count.
    m = memory[0]
    m["calls"] += 1
    for k in range(min(m["count"], SLOTS)):
        intents[k]["venue"] = m["venue"][k]
        intents[k]["side"] = m["side"][k]
        intents[k]["price"] = m["price"][k]
        intents[k]["qty"] = m["qty"][k]
        intents[k]["kind"] = m["kind"][k]
    count: int = m["count"]
    return count


PUPPET = Strategy(
    name="puppet",
    decide=puppet,
    memory=PUPPET_MEMORY,
    quotes=True,
    summary="writes what the test scripts",
    origin="tests/unit/test_guard.py",
)

Intent = tuple[int, int, float, float, int]  # venue, side, price, qty, kind
PAIR: tuple[Intent, Intent] = ((0, BUY, 60_010.0, 0.001, INTENT_OPEN), (1, SELL, 59_990.0, 0.001, INTENT_OPEN))


def script(m: Any, *intents: Intent, count: int | None = None) -> None:
    """What the puppet whose memory record is ``m`` writes at its next calls (``count``: what it returns,
    the intents' number unless told)."""
    m["count"] = len(intents) if count is None else count
    for k, (venue, side, price, qty, kind) in enumerate(intents):
        m["venue"][k], m["side"][k], m["price"][k], m["qty"][k], m["kind"][k] = venue, side, price, qty, kind


def books(**fields: Any) -> np.ndarray:
    """Two venues' books around 60,000, synced and fresh, and any other view field (one value a venue)."""
    return view(bid=[[(59_995.0, 1.0)], [(59_996.0, 1.0)]], ask=[[(60_005.0, 1.0)], [(60_006.0, 1.0)]], **fields)


def bench() -> Bench:
    return Bench(PUPPET, rules=rules_for(2, tick_size=0.01, lot_size=0.00001, pair_lot=0.00001))


def written(b: Bench, at: np.ndarray) -> tuple[int, list[Intent]]:
    """What the puppet itself writes on ``at``: its decide called directly, no guard around it (its
    memory copied, so its calls are not counted)."""
    buf = new_intents()
    memory = b.bound.memory[0:1].copy()
    n = int(puppet(at, b.rules, b.bound.params[0:1], memory, NOW, buf))
    return n, [
        tuple(i[f].item() for f in ("venue", "side", "price", "qty", "kind")) for i in buf[: max(0, min(n, SLOTS))]
    ]


def kept(intents: np.ndarray) -> list[tuple[int, int, int]]:
    return [(int(i["venue"]), int(i["side"]), int(i["kind"])) for i in intents]


# -- the risk gate: an order over a limit ----------------------------------------------------------------


def _sample_run() -> tuple[Any, Bound, Risk]:
    # The shipped configuration's rules and gate (max_notional_per_venue 1000 USDT, position_limit 0.005)
    config = load_config(ROOT / "config" / "arbitrage.toml")
    rules = rules_of(config)
    bound = bind([PUPPET], rules)
    return rules, bound, new_gate(config)


def test_an_order_over_a_limit_passes_the_guard_and_is_refused_by_the_risk_gate() -> None:
    rules, bound, risk = _sample_run()
    over = ((0, BUY, 60_010.0, 1.0, INTENT_OPEN), (1, SELL, 59_990.0, 1.0, INTENT_OPEN))  # 60,000 USDT a venue
    b = Bench(PUPPET, rules=rules.copy())
    script(b.memory, *over)
    assert written(b, books()) == (2, list(over))
    assert kept(b.decide(books(), NOW)) == [(0, BUY, INTENT_OPEN), (1, SELL, INTENT_OPEN)]  # the guard knows no limit

    views = new_views(1, 2)
    state, intents = new_state(1), new_intents(1)
    kernel = Kernel(rules, state, intents, bound.part)
    pair_seq = np.ones(1, np.int64)
    calls = np.zeros(4, decision_dtype(2))
    views[0] = books()
    script(bound.memory[0], *over)
    assert decide_symbol(NOW, 0, views, kernel, risk, pair_seq, calls, 0) == 0
    assert int(risk.state[0]["refused"][B_NOTIONAL]) == 1
    assert int(risk.symbol_state[0]["rejected_pairs"]) == 1
    assert int(calls[0]["intents"]) == 0
    # the same pair at 0.001 (60 USDT a venue) passes: the gate refused the size, not the pair
    script(bound.memory[0], *PAIR)
    assert decide_symbol(NOW + 1, 0, views, kernel, risk, pair_seq, calls, 1) == 2
    assert int(risk.state[0]["refused"][B_NOTIONAL]) == 1


def test_a_pair_beside_a_quote_is_refused_whole_by_the_risk_gate() -> None:
    _, _, risk = _sample_run()
    rules = rules_for(3, tick_size=0.01, lot_size=0.00001, pair_lot=0.00001)
    bound = bind([PUPPET], rules)
    views = new_views(1, 3)
    # venue 0 holds 0.016 (960 USDT) and venue 2 is short as much: a buy of 0.001 more on venue 0 is
    # over max_notional_per_venue (1000), the sell on venue 1 is not
    views[0] = view(bid=[[(59_995.0, 1.0)]] * 3, ask=[[(60_005.0, 1.0)]] * 3, n_venues=3, position=[0.016, 0.0, -0.016])
    kernel = Kernel(rules, new_state(1), new_intents(1), bound.part)
    script(bound.memory[0], *PAIR, (2, BUY, 59_000.0, 0.001, INTENT_QUOTE))
    pair_seq = np.ones(1, np.int64)
    n = decide_symbol(NOW, 0, views, kernel, risk, pair_seq, np.zeros(2, decision_dtype(3)), 0)
    assert (0, BUY, INTENT_OPEN) not in kept(kernel.intents[0][:n])  # the gate refused the buy ...
    assert kept(kernel.intents[0][:n]) == [(2, BUY, INTENT_QUOTE)]  # ... and so its pair's sell


# -- venues that cannot take an order --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"status": [0, VENUE_STALE]}, 1),
        ({"status": [VENUE_OUT_OF_SYNC, 0]}, 0),
        ({"blocked_until_ns": [0, NOW + 1]}, 1),
    ],
    ids=["stale", "out of sync", "blocked"],
)
def test_an_open_on_a_venue_that_cannot_take_it_is_refused(fields: dict[str, Any], bad: int) -> None:
    b = bench()
    script(b.memory, *PAIR, (1, BUY, 59_000.0, 0.001, INTENT_QUOTE), (0, SELL, 61_000.0, 0.001, INTENT_QUOTE))
    at = books(**fields)
    assert written(b, at)[0] == 4
    got = b.decide(at, NOW)
    # the pair (both legs: one alone would be a naked leg) and the quote on the venue that cannot take
    # orders are refused; the quote on the other venue goes
    assert kept(got) == [(1 - bad, BUY if bad == 0 else SELL, INTENT_QUOTE)]
    assert int(b.state[0]["refused"]) == 3
    assert int(b.state[0]["pairs"]) == 0
    assert not int(b.state[0]["flags"]) & CONTRACT_BROKEN
    assert int(b.memory["calls"]) == 1


# -- nothing new while an order is open or a leg is naked -----------------------------------------------


def test_a_second_pair_while_a_leg_is_naked_is_never_asked_for_arb_hedges_it() -> None:
    b = bench()
    script(b.memory, *PAIR)
    assert kept(b.decide(books(), NOW)) == [(0, BUY, INTENT_OPEN), (1, SELL, INTENT_OPEN)]
    assert int(b.memory["calls"]) == 1
    # answered: the buy filled, the sell did not. The puppet would open another pair at once...
    naked = books(position=[0.001, 0.0])
    assert written(b, naked)[0] == 2
    # ... but arb does not call it: it sells the lone 0.001 on the other venue
    got = b.decide(naked, NOW + 1)
    assert kept(got) == [(1, SELL, INTENT_HEDGE)]
    assert float(got[0]["qty"]) == pytest.approx(0.001)
    assert int(got[0]["pair_id"]) == 1
    assert int(b.memory["calls"]) == 1
    # while the hedge is unanswered, nothing at all; flat again, the strategy is asked again
    assert len(b.decide(books(position=[0.001, 0.0], open_orders=[0, 1]), NOW + 2)) == 0
    assert int(b.memory["calls"]) == 1
    assert len(b.decide(books(position=[0.001, -0.001]), NOW + 3)) == 2
    assert int(b.memory["calls"]) == 2


def test_nothing_is_asked_while_an_order_is_unanswered() -> None:
    b = bench()
    script(b.memory, *PAIR)
    at = books(open_orders=[1, 0])
    assert written(b, at)[0] == 2
    assert len(b.decide(at, NOW)) == 0
    assert int(b.memory["calls"]) == 0


# -- quote slots -----------------------------------------------------------------------------------------

QUOTE_BUY_0: Intent = (0, BUY, 59_000.0, 0.001, INTENT_QUOTE)


@pytest.mark.parametrize(
    "busy", [QUOTE_PENDING, QUOTE_LIVE, QUOTE_CANCELING, QUOTE_HELD], ids=["pending", "live", "canceling", "held"]
)
def test_a_quote_on_a_busy_slot_is_refused(busy: int) -> None:
    b = bench()
    script(b.memory, QUOTE_BUY_0, (0, SELL, 61_000.0, 0.001, INTENT_QUOTE))
    # venue 0's buy slot holds a quote (a held one refused just now, at a price the book has not crossed)
    at = books(
        quote_state=[[busy, QUOTE_NONE], [QUOTE_NONE, QUOTE_NONE]],
        quote_px=[[58_000.0, math.nan], [math.nan, math.nan]],
        quote_qty=[[0.001, 0.0], [0.0, 0.0]],
        quote_ns=[[NOW, 0], [0, 0]],
    )
    assert [leg[:2] for leg in written(b, at)[1]] == [(0, BUY), (0, SELL)]
    got = b.decide(at, NOW)
    assert kept(got) == [(0, SELL, INTENT_QUOTE)]
    assert int(b.state[0]["refused"]) == 1
    assert int(b.state[0]["quotes"]) == 1


def test_two_quotes_on_one_slot_in_one_decision_keep_the_first() -> None:
    b = bench()
    script(b.memory, QUOTE_BUY_0, (0, BUY, 59_100.0, 0.002, INTENT_QUOTE))
    assert len(written(b, books())[1]) == 2
    got = b.decide(books(), NOW)
    assert kept(got) == [(0, BUY, INTENT_QUOTE)]
    assert float(got[0]["price"]) == 59_000.0
    assert int(b.state[0]["refused"]) == 1
    assert int(b.state[0]["quote_pair"][0, 0]) == int(got[0]["pair_id"])


@pytest.mark.parametrize(
    "state", [QUOTE_NONE, QUOTE_PENDING, QUOTE_CANCELING, QUOTE_HELD], ids=["none", "pending", "canceling", "held"]
)
def test_a_cancel_of_a_slot_with_no_live_quote_is_refused(state: int) -> None:
    b = bench()
    script(b.memory, (0, BUY, 1.0, 5.0, INTENT_CANCEL))
    at = books(quote_state=[[state, QUOTE_NONE], [QUOTE_NONE, QUOTE_NONE]])
    assert written(b, at)[1][0][4] == INTENT_CANCEL
    assert len(b.decide(at, NOW)) == 0
    assert int(b.state[0]["refused"]) == 1
    assert int(b.state[0]["cancels"]) == 0


def test_a_cancel_of_a_live_quote_carries_the_quote_not_what_the_strategy_wrote() -> None:
    b = bench()
    b.state[0]["quote_pair"][0, 0] = 7
    script(b.memory, (0, BUY, 1.0, 5.0, INTENT_CANCEL), (0, BUY, 1.0, 5.0, INTENT_CANCEL))
    at = books(
        quote_state=[[QUOTE_LIVE, QUOTE_NONE], [QUOTE_NONE, QUOTE_NONE]],
        quote_px=[[59_000.0, math.nan], [math.nan, math.nan]],
        quote_qty=[[0.0004, 0.0], [0.0, 0.0]],
    )
    got = b.decide(at, NOW)
    assert [(float(i["price"]), float(i["qty"]), int(i["pair_id"])) for i in got] == [(59_000.0, 0.0004, 7)]
    assert int(b.state[0]["refused"]) == 1  # the second cancel of the same slot


# -- the contract ----------------------------------------------------------------------------------------

BREACHES: dict[str, tuple[tuple[Intent, ...], int | None, int, str]] = {
    # what it writes, the count it returns (None: as many), the rule, words of the message
    "venue out of range": (((2, BUY, 60_010.0, 0.001, INTENT_OPEN), PAIR[1]), None, BROKEN_VENUE, "for venue 2"),
    "negative venue": ((PAIR[0], (-1, SELL, 59_990.0, 0.001, INTENT_OPEN)), None, BROKEN_VENUE, "venue -1"),
    "side 0": (((0, 0, 60_010.0, 0.001, INTENT_OPEN), PAIR[1]), None, BROKEN_SIDE, "side 0"),
    "qty 0": ((PAIR[0], (1, SELL, 59_990.0, 0.0, INTENT_OPEN)), None, BROKEN_QTY, "quantity 0.0"),
    "qty negative": (((0, BUY, 60_010.0, -0.001, INTENT_OPEN), PAIR[1]), None, BROKEN_QTY, "quantity -0.001"),
    "qty NaN": (((0, BUY, 60_010.0, math.nan, INTENT_OPEN), PAIR[1]), None, BROKEN_QTY, "quantity nan"),
    "price NaN": (((0, BUY, math.nan, 0.001, INTENT_OPEN), PAIR[1]), None, BROKEN_PRICE, "price nan"),
    "price inf": ((PAIR[0], (1, SELL, math.inf, 0.001, INTENT_OPEN)), None, BROKEN_PRICE, "price inf"),
    "price 0 on a quote": (((0, BUY, 0.0, 0.001, INTENT_QUOTE),), None, BROKEN_PRICE, "price 0.0"),
    "qty NaN on a quote": (((0, BUY, 59_000.0, math.nan, INTENT_QUOTE),), None, BROKEN_QTY, "quantity nan"),
    "a hedge": (((1, SELL, 59_990.0, 0.001, INTENT_HEDGE),), None, BROKEN_KIND, "kind 2"),
    "an unwind": (((0, SELL, 59_990.0, 0.001, INTENT_UNWIND),), None, BROKEN_KIND, "kind 3"),
    "kind 0": ((PAIR[0], (1, SELL, 59_990.0, 0.001, 0)), None, BROKEN_KIND, "kind 0"),
    "one-sided legs": ((PAIR[0], (1, BUY, 60_010.0, 0.001, INTENT_OPEN)), None, BROKEN_PAIR, "one side only"),
    "unequal legs": ((PAIR[0], (1, SELL, 59_990.0, 0.002, INTENT_OPEN)), None, BROKEN_PAIR, "unequal quantity"),
    "a lone leg": ((PAIR[0],), None, BROKEN_PAIR, "not a pair"),
    "a good pair, then a bad quote": (
        (*PAIR, (0, BUY, math.nan, 0.001, INTENT_QUOTE)),
        None,
        BROKEN_PRICE,
        "intent 2 with price nan",
    ),
    "count above the buffer": (PAIR, MAX_INTENTS + 1, BROKEN_COUNT, f"returned {MAX_INTENTS + 1} intents"),
    "negative count": (PAIR, -1, BROKEN_COUNT, "returned -1 intents"),
}


@pytest.mark.parametrize("case", list(BREACHES))
def test_a_contract_breach_drops_the_decision_and_stops_the_strategy(case: str) -> None:
    intents, count, rule, words = BREACHES[case]
    b = bench()
    script(b.memory, *intents, count=count)
    n, wrote = written(b, books())
    assert n == (len(intents) if count is None else count)
    assert repr(wrote[: len(intents)]) == repr(list(intents)[: max(0, n)])  # repr: NaN as written
    got = b.decide(books(), NOW)
    assert len(got) == 0
    assert int(b.state[0]["flags"]) & CONTRACT_BROKEN
    assert int(b.state[0]["broken"]) == rule
    assert int(b.state[0]["broken_ns"]) == NOW
    assert int(b.state[0]["pairs"]) == int(b.state[0]["quotes"]) == 0
    text = b.broken
    assert text.startswith("strategy 'puppet' (tests/unit/test_guard.py) ")
    assert words in text
    assert "nothing of that decision was sent" in text
    # it is not asked again, whatever it would write now
    script(b.memory, *PAIR)
    assert len(b.decide(books(), NOW + 1)) == 0
    assert int(b.memory["calls"]) == 1


def test_after_a_breach_a_lone_leg_is_still_hedged_and_resting_quotes_cancelled() -> None:
    b = bench()
    script(b.memory, (0, BUY, math.nan, 0.001, INTENT_OPEN), PAIR[1])
    assert len(b.decide(books(), NOW)) == 0
    assert int(b.state[0]["flags"]) & CONTRACT_BROKEN
    # a quote sent before the breach rests on venue 0 and fills: the lone 0.001 is hedged all the same
    b.state[0]["last_open_kind"] = INTENT_QUOTE
    got = b.decide(books(position=[0.001, 0.0]), NOW + 1)
    assert kept(got) == [(1, SELL, INTENT_HEDGE)]
    # flat again: the strategy stays stopped, and the quote still resting is cancelled
    live = books(
        position=[0.001, -0.001],
        quote_state=[[QUOTE_NONE, QUOTE_LIVE], [QUOTE_NONE, QUOTE_NONE]],
        quote_px=[[math.nan, 61_000.0], [math.nan, math.nan]],
        quote_qty=[[0.0, 0.001], [0.0, 0.0]],
    )
    assert kept(b.decide(live, NOW + 2)) == [(0, SELL, INTENT_CANCEL)]
    assert int(b.memory["calls"]) == 1


def test_the_guard_itself_keeps_a_good_decision() -> None:
    # the puppet's scripts above are refused for what they break, not for being the puppet's
    b = bench()
    script(b.memory, *PAIR, (0, SELL, 61_000.0, 0.001, INTENT_QUOTE))
    assert kept(b.decide(books(), NOW)) == [(0, BUY, INTENT_OPEN), (1, SELL, INTENT_OPEN), (0, SELL, INTENT_QUOTE)]
    assert not int(b.state[0]["flags"]) & CONTRACT_BROKEN
    assert int(b.state[0]["refused"]) == 0


# -- a breach in the middle of a backtest of the sample ---------------------------------------------------

BREAKS_MEMORY = BUILTIN_MEMORY
"""Its memory, one int64 (its calls): the built-in strategies' layout, so the sample's backtest runs in the
compiled loop the suite's warm-up compiled. A strategy's memory layout is one of the loop's argument types:
a layout of its own would compile the whole loop once more (10 CPU s) for this one test."""
CALLS = BUILTIN_MEMORY.names[0]
OPEN_AT = 2_000  # its call that opens a good pair
BREAK_AT = 4_000  # its call that writes a price that is not a number


@numba.njit(cache=True)
def breaks_later(view: Any, rules: Any, params: Any, memory: Any, now_ns: int, intents: Any) -> int:
    # A pair crossing both books at its 2000th call; from its 4000th, a pair whose buy has no price.
    m = memory[0]
    m[CALLS] += 1
    if m[CALLS] != OPEN_AT and m[CALLS] < BREAK_AT:
        return 0
    buy_px = view[0]["ask_px"][0] * 1.001 if m[CALLS] < BREAK_AT else np.nan
    for k in range(2):
        intents[k]["venue"] = k
        intents[k]["side"] = BUY if k == 0 else SELL
        intents[k]["price"] = buy_px if k == 0 else view[1]["bid_px"][0] * 0.999
        intents[k]["qty"] = 0.001
        intents[k]["kind"] = INTENT_OPEN
    return 2


BREAKS_LATER = Strategy(
    name="breaks_later", decide=breaks_later, memory=BREAKS_MEMORY, origin="tests/unit/test_guard.py"
)


def test_a_backtest_whose_strategy_breaks_its_contract_sends_nothing_after_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Until [strategy] kernel can name it, the strategy is bound in where the backtest binds its strategies.
    loops: list[backtest_run.Loop] = []

    class Kept(backtest_run.Loop):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            loops.append(self)

    monkeypatch.setattr(backtest_run, "bind_config", lambda config, rules: bind([BREAKS_LATER] * len(rules), rules))
    monkeypatch.setattr(backtest_run, "Loop", Kept)
    rc = main(["backtest", "--config", str(ROOT / "config" / "arbitrage.toml"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2
    lines = [line for line in err.splitlines() if "breaks_later" in line]
    assert len(lines) == 1
    assert lines[0].startswith("arb backtest: strategy 'breaks_later' (tests/unit/test_guard.py) wrote intent 0")
    assert "price nan" in lines[0] and "BTCUSDT" in lines[0]
    assert "Traceback" not in err
    assert not (tmp_path / "out" / "trades.csv").exists()

    (loop,) = loops
    st = loop.kernel_state[0]
    assert int(st["flags"]) & CONTRACT_BROKEN and int(st["broken"]) == BROKEN_PRICE
    assert int(loop.bound.memory[0][CALLS]) == BREAK_AT  # never asked again
    sent = loop.sent[: loop.counters[C_SENT]]
    # the good pair went out and filled; nothing of the breach's decision or after it
    assert [(int(s["venue"]), int(s["side"]), int(s["kind"])) for s in sent] == [
        (0, BUY, INTENT_OPEN),
        (1, SELL, INTENT_OPEN),
    ]
    assert (sent["ts"] < int(st["broken_ns"])).all()
    assert int(loop.counters[C_FILLS]) == 2
