"""``arb.strategy`` is the strategy author's one import: ``Strategy``, the test kit, the types and the
helpers, the same objects as in the modules they come from, and every name it exported before still there;
the strategies arb ships import nothing else of arb's but the ground."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import arb.strategy
from arb.strategy import guard, legs, seam, testkit, types

CONTRACT = {
    "Strategy": seam,
    "Bench": testkit,
    "rules_for": testkit,
    "view": testkit,
    **{name: legs for name in ("GRID_EPS", "floor_to_grid", "ceil_to_grid", "takes_orders")},
    "hold_over": guard,
    **{name: types for name in ("BUY", "SELL", "INTENT_OPEN", "INTENT_QUOTE", "INTENT_CANCEL", "INTENT_HEDGE",
                                "INTENT_UNWIND", "VENUE_OK", "VENUE_STALE", "VENUE_OUT_OF_SYNC", "MARKET_SPOT",
                                "MARKET_LINEAR", "QUOTE_NONE", "QUOTE_PENDING", "QUOTE_LIVE", "QUOTE_CANCELING",
                                "QUOTE_HELD", "HEDGE_FAILED", "CONTRACT_BROKEN", "MAX_VENUES", "MAX_LEVELS",
                                "MAX_INTENTS", "VIEW_DTYPE", "RULES_DTYPE", "PARAMS_DTYPE", "INTENT_DTYPE",
                                "STATE_DTYPE")},
}  # fmt: skip


def test_the_contract_is_exported_as_the_modules_hold_it() -> None:
    for name, module in CONTRACT.items():
        assert name in arb.strategy.__all__
        assert getattr(arb.strategy, name) is getattr(module, name), name


def test_the_names_exported_before_still_import() -> None:
    from arb.strategies.taker import decide as taker
    from arb.strategy import PARAMS_DTYPE, RULES_DTYPE, decide, make_params
    from arb.strategy.params import make_params as from_the_old_module
    from arb.strategy.params import params_of
    from arb.strategy.rules import make_rules, rules_of

    assert decide is taker and make_params is make_rules is from_the_old_module and params_of is rules_of
    assert PARAMS_DTYPE is RULES_DTYPE  # the same object: compiled code finds its types by it
    assert set(arb.strategy.__all__) == {*CONTRACT, "decide", "make_params"}


def test_importing_the_package_compiles_nothing() -> None:
    # the chart worker and arb check's plain paths import arb.strategy without Numba
    code = "import sys, arb.strategy; assert 'numba' not in sys.modules, 'numba'; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_the_strategies_arb_ships_import_only_the_contract_and_the_ground() -> None:
    # what a user's strategy may import, the built-ins import: arb.strategy itself, arb's compile and
    # allocation shims, each other; never the guard, the step or the records behind the contract
    folder = Path(arb.strategy.__file__).parent.parent / "strategies"
    allowed = {"arb.strategy", "arb._jit", "arb._alloc"}
    for file in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(file.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [a.name for a in node.names] if isinstance(node, ast.Import) else []
            for name in names:
                if name.startswith("arb"):
                    assert name in allowed or name.startswith("arb.strategies"), f"{file.name} imports {name}"
