"""The strategy: one compiled kernel and the record layouts at its boundary.

``decide`` and ``make_params`` are loaded when first asked for (PEP 562): the kernel's module imports Numba,
and the record layouts (``arb.strategy.types``) are read by processes that never compile, such as the
chart worker ``arb backtest`` forks before anything heavy is imported (``arb.reports.chart_worker``).
"""

from __future__ import annotations

__all__ = ["decide", "make_params"]

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from arb.strategy.kernel import decide
    from arb.strategy.params import make_params


def __getattr__(name: str) -> Any:
    if name == "decide":
        from arb.strategy.kernel import decide

        return decide
    if name == "make_params":
        from arb.strategy.params import make_params

        return make_params
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
