"""The strategy: one compiled kernel and the record layouts at its boundary."""

__all__ = ["decide", "make_params"]

from arb.strategy.kernel import decide
from arb.strategy.params import make_params
