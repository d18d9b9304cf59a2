"""The strategy: one compiled kernel and the record layouts at its boundary."""

from arb.strategy.kernel import decide
from arb.strategy.params import make_params

__all__ = ["decide", "make_params"]
