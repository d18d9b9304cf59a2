"""The leg-fault model: the one draw that decides what a simulated venue does to an order.

``[leg_faults]`` (:class:`arb.config.LegFaultsConfig`) gives each venue a chance that an order is
rejected, filled only in part, or reaches the venue late. The backtest's compiled loop and the dry
run's paper executor call the same :func:`draw_fault` with the same inputs, so with one seed they
fault the same orders in the same way and their decisions can be compared (``arb parity``).

The draw is counter-based: an order's fault is a pure function of the seed and the order's number
(its order id, 1, 2, ... in both drivers), hashed with SplitMix64. Nothing is consumed, so an order
that draws no fault (a hedge when ``hedges`` is off) changes no later draw, and a run can be resumed
from any order number.

Effects, the same in both drivers:

- ``FAULT_REJECT``: the venue refuses the order; it never trades, and the answer comes at the time an
  accepted order's would (entry plus response latency).
- ``FAULT_PARTIAL``: the venue fills at most ``fraction`` of the quantity (drawn uniformly between
  ``partial_min`` and ``partial_max``, rounded down to the lot; 0 fills nothing) and expires the rest.
- ``FAULT_LATE``: the order reaches the venue ``late_ns`` after its entry latency (the answer is as
  much later); it fills against the book it finds then.
"""

from __future__ import annotations

__all__ = [
    "FAULT_LATE",
    "FAULT_NAMES",
    "FAULT_NONE",
    "FAULT_PARTIAL",
    "FAULT_REJECT",
    "LEG_FAULTS_DTYPE",
    "draw_fault",
    "fault_uniform",
    "make_leg_faults",
]

from collections.abc import Sequence
from typing import Any, Final

import numpy as np

import arb._jit as nb  # numba.njit, compiled once per argument types, not per constant (arb/_jit.py)
from arb.catalog import default_venues
from arb.config import LegFaultsConfig
from arb.events import MAX_VENUES
from arb.strategy.legs import floor_to_grid
from arb.strategy.types import INTENT_OPEN

FAULT_NONE: Final = 0
FAULT_REJECT: Final = 1
FAULT_PARTIAL: Final = 2
FAULT_LATE: Final = 3
FAULT_NAMES: Final = ("none", "reject", "partial", "late")
"""Report names of the fault kinds, indexed by their number."""

LEG_FAULTS_DTYPE = np.dtype(
    [
        ("enabled", "i8"),  # 0: no order draws anything
        ("seed", "u8"),
        ("hedges", "i8"),  # 1: hedge and unwind orders draw too
        ("reject", "f8", (MAX_VENUES,)),  # chances per venue (asset order)
        ("partial", "f8", (MAX_VENUES,)),
        ("partial_min", "f8", (MAX_VENUES,)),  # fraction of the quantity
        ("partial_max", "f8", (MAX_VENUES,)),
        ("late", "f8", (MAX_VENUES,)),
        ("late_ns", "i8", (MAX_VENUES,)),
    ],
    align=True,
)
"""The model as the compiled code reads it (one record)."""

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53


def make_leg_faults(config: LegFaultsConfig, venues: Sequence[str] | None = None) -> np.ndarray[Any, np.dtype[Any]]:
    """One ``LEG_FAULTS_DTYPE`` record from ``config``: the per-venue arrays in the order of ``venues``
    (the run's venue names; default: the default run's)."""
    faults = np.zeros(1, LEG_FAULTS_DTYPE)
    f = faults[0]
    f["enabled"] = 1 if config.enabled else 0
    f["seed"] = np.uint64(config.seed)
    f["hedges"] = 1 if config.hedges else 0
    names = default_venues() if venues is None else venues
    for v, name in enumerate(names):
        rates = config.rates(name)
        f["reject"][v] = rates.reject
        f["partial"][v] = rates.partial
        f["partial_min"][v] = rates.partial_min
        f["partial_max"][v] = rates.partial_max
        f["late"][v] = rates.late
        f["late_ns"][v] = rates.late_ns
    return faults


@nb.njit(cache=True, nogil=True, twin=True)
def _mix(x: Any) -> Any:
    # SplitMix64's finaliser: a bijection of uint64 that spreads every input bit over the output.
    x = x ^ (x >> _S30)
    x = x * _MIX1
    x = x ^ (x >> _S27)
    x = x * _MIX2
    return x ^ (x >> _S31)


@nb.njit(cache=True, nogil=True, twin=True)
def fault_uniform(seed: Any, seq: int, stream: int) -> float:
    """A uniform number in [0, 1) determined by ``seed``, the order number ``seq`` and ``stream``
    (0: which fault, 1: the partial fraction): the same inputs give the same number everywhere."""
    key = np.uint64(seq) * _GOLDEN + np.uint64(stream)
    h = _mix(np.uint64(seed) ^ _mix(key + _GOLDEN))
    return float(h >> _S11) * _TO_UNIT


@nb.njit(cache=True, nogil=True, twin=True)
def draw_fault(faults: Any, venue: int, kind: int, seq: int, qty: float, lot: float) -> tuple[int, float, int]:
    """What the simulated venue does to order number ``seq`` (an intent of ``kind`` for ``qty`` on ``venue``).

    Returns ``(fault, fillable, delay_ns)``: the ``FAULT_*`` kind; the most the venue will fill, base
    units (``qty``, 0 for a rejection, the drawn part of ``qty`` on the ``lot`` grid for a partial
    fill); the extra delay before the order reaches the venue, int64 ns (``late_ns`` for a late one,
    else 0). ``faults`` is a 1-record ``LEG_FAULTS_DTYPE`` array.
    """
    f = faults[0]
    if f["enabled"] == 0 or (kind != INTENT_OPEN and f["hedges"] == 0):
        return FAULT_NONE, qty, 0
    u = fault_uniform(f["seed"], seq, 0)
    edge = f["reject"][venue]
    if u < edge:
        return FAULT_REJECT, 0.0, 0
    edge += f["partial"][venue]
    if u < edge:
        lo = f["partial_min"][venue]
        frac = lo + (f["partial_max"][venue] - lo) * fault_uniform(f["seed"], seq, 1)
        return FAULT_PARTIAL, floor_to_grid(qty * frac, lot), 0
    edge += f["late"][venue]
    if u < edge:
        return FAULT_LATE, qty, int(f["late_ns"][venue])
    return FAULT_NONE, qty, 0
