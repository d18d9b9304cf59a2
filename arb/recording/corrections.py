"""The three corrections hftbacktest's converters apply to event rows, compiled once and cached.

hftbacktest's ``correct_local_timestamp`` and ``correct_event_order``
(``hftbacktest.data.validation``) are ``@njit`` without ``cache=True``: every process that converts
a recording compiles them again (about 2.4 s on the project's VM, most of a small conversion's
time). These are arb's own versions of the same contracts, with the same results row for row
(``tests/unit/test_corrections.py`` checks that against hftbacktest's on the real captures and on
rows built to hit every branch), compiled once into Numba's cache:

- :func:`correct_local_timestamp`: when some rows' local time is earlier than their exchange time
  (negative feed latency: the recorder's clock behind the venue's), add ``-min(local - exch) +
  base_latency`` to every local time, in place; otherwise leave the rows alone.
- :func:`correct_event_order`: merge the rows in exchange-time order with the rows in local-time
  order. A row whose place is the same in both orders is written once with both ``EXCH_EVENT`` and
  ``LOCAL_EVENT``; one whose places differ is written twice, once as an exchange event and once as a
  local event, so hftbacktest's exchange side and local side each see their events in time order.
- :func:`validate_event_order`: ``ValueError`` unless the exchange events are in exchange-time
  order and the local events in local-time order.

Unlike hftbacktest's, :func:`correct_local_timestamp` prints nothing (the caller logs the shift)
and takes the base latency in integer nanoseconds only.
"""

from __future__ import annotations

__all__ = ["COMPILED", "SHIFT_COMPILED", "correct_event_order", "correct_local_timestamp", "validate_event_order"]

from typing import Any

import numpy as np

from arb._jit import njit
from arb.events import EXCH_EVENT, LOCAL_EVENT, EventArray, event_dtype

_BOTH = EXCH_EVENT | LOCAL_EVENT
_MISMATCH = -1


@njit(cache=True)
def _shift_local(data: Any, base_latency: int) -> int:
    # The offset added to every local_ts (0: nothing to correct).
    lowest = np.iinfo(np.int64).max
    for k in range(data.shape[0]):
        latency = data[k]["local_ts"] - data[k]["exch_ts"]
        if latency < lowest:
            lowest = latency
    if lowest >= 0:
        return 0
    offset = base_latency - lowest
    for k in range(data.shape[0]):
        data[k]["local_ts"] += offset
    return offset


def correct_local_timestamp(data: EventArray, base_latency: int) -> EventArray:
    """Shift every ``local_ts`` of ``data`` in place when some row's feed latency is negative.

    ``feed latency = local_ts - exch_ts`` (ns). When its minimum over the rows is below zero, every
    ``local_ts`` gets ``-minimum + base_latency`` added (``base_latency`` in ns, >= 0 for the
    smallest latency to stay non-negative); otherwise nothing changes. Returns ``data`` itself.
    """
    _shift_local(data, int(base_latency))
    return data


@njit(cache=True)
def _merge(data: Any, by_exch: Any, by_local: Any, out: Any) -> int:
    # Rows written to ``out``, or _MISMATCH when two different rows meet at the same two times.
    n = data.shape[0]
    i = 0  # next row in exchange order
    j = 0  # next row in local order
    m = 0
    while i < n or j < n:
        if i < n and j < n:
            e = by_exch[i]
            loc = by_local[j]
            e_exch = data[e]["exch_ts"]
            l_exch = data[loc]["exch_ts"]
            e_local = data[e]["local_ts"]
            l_local = data[loc]["local_ts"]
            if e_exch == l_exch and e_local == l_local:
                ep = data[e]["px"]
                lp = data[loc]["px"]
                eq = data[e]["qty"]  # a mark price row's qty is its index price: NaN where the venue has none
                lq = data[loc]["qty"]
                if (
                    data[e]["ev"] != data[loc]["ev"]
                    or not (eq == lq or (np.isnan(eq) and np.isnan(lq)))
                    or not (ep == lp or (np.isnan(ep) and np.isnan(lp)))
                ):
                    return _MISMATCH
                out[m] = data[e]
                out[m]["ev"] = out[m]["ev"] | _BOTH
                i += 1
                j += 1
            elif e_exch < l_exch or (e_exch == l_exch and e_local < l_local):
                out[m] = data[e]
                out[m]["ev"] = out[m]["ev"] | EXCH_EVENT
                i += 1
            else:
                out[m] = data[loc]
                out[m]["ev"] = out[m]["ev"] | LOCAL_EVENT
                j += 1
        elif i < n:
            out[m] = data[by_exch[i]]
            out[m]["ev"] = out[m]["ev"] | EXCH_EVENT
            i += 1
        else:
            out[m] = data[by_local[j]]
            out[m]["ev"] = out[m]["ev"] | LOCAL_EVENT
            j += 1
        m += 1
    return m


def correct_event_order(data: EventArray, sorted_exch_index: Any, sorted_local_index: Any) -> EventArray:
    """The rows of ``data`` as hftbacktest replays them: exchange and local events each in time order.

    ``sorted_exch_index`` / ``sorted_local_index`` order ``data`` by ``exch_ts`` / ``local_ts``
    (a stable sort, ``np.argsort(..., kind="mergesort")``, as hftbacktest's converters use). Walks both
    orders at once, taking the earlier exchange time first (ties: the earlier local time); a row that
    is next in both orders is written once with ``EXCH_EVENT | LOCAL_EVENT``, any other row once as
    the exchange event and once as the local event. Returns a new array (at most ``2 * len(data)``
    rows; ``data`` is unchanged). Raises ``AssertionError``, as hftbacktest's version does, when two
    different rows (``ev``, ``px`` or ``qty``) with the same exchange and local times meet.
    """
    out = np.empty(2 * len(data), event_dtype)
    n = _merge(data, np.asarray(sorted_exch_index, np.int64), np.asarray(sorted_local_index, np.int64), out)
    if n == _MISMATCH:
        raise AssertionError("correct_event_order: rows with the same times differ (ev, px or qty)")
    return out[:n]


@njit(cache=True)
def _goes_back(ev: Any, ts: Any, side: int) -> bool:
    # Whether the times ``ts`` of the rows whose ``ev`` carries the flag ``side`` ever go back.
    last = np.iinfo(np.int64).min
    for k in range(ev.shape[0]):
        if ev[k] & side == side:
            if ts[k] < last:
                return True
            last = ts[k]
    return False


def validate_event_order(data: EventArray) -> None:
    """Raise ``ValueError`` unless the exchange events (rows with ``EXCH_EVENT``) are in ``exch_ts``
    order and the local events (``LOCAL_EVENT``) in ``local_ts`` order; ties are in order.

    The messages are hftbacktest's: ``exchange events are out of order.`` (checked first) and
    ``local events are out of order.``.
    """
    if _goes_back(data["ev"], data["exch_ts"], EXCH_EVENT):
        raise ValueError("exchange events are out of order.")
    if _goes_back(data["ev"], data["local_ts"], LOCAL_EVENT):
        raise ValueError("local events are out of order.")


COMPILED = (_merge, _goes_back)
"""The compiled functions behind the event order's corrections, which every conversion makes (to tell
whether Numba's cache holds them)."""

SHIFT_COMPILED = (_shift_local,)
"""The compiled function behind :func:`correct_local_timestamp`: only a conversion that finds the local
times' shift itself calls it (``arb convert``), not one given the shift (the backtest's loader), so its
absence from Numba's cache means nothing will compile there."""
