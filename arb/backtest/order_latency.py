"""Order latencies measured live, in the form hftbacktest's interpolated latency model replays.

``arb live`` journals, for every order, when its request was written (``written_ns``, just before it is
sent) and when the venue's answer came back (``ack_ns``), both local time. What happened at the venue
in between is not seen from here: each round trip is split in half, the venue taken to act at its middle
(``exch_ts = req_ts + round trip / 2``). hftbacktest's ``IntpOrderLatency`` reads rows of
``(req_ts, exch_ts, resp_ts, _padding)``, int64 ns, in time order, and gives an order sent between two
rows the latencies interpolated between them (before the first row the first's, after the last the last's).
A backtest of the hours a live session traded thus replays that session's latencies; of other hours, the
nearest measured one.
"""

from __future__ import annotations

__all__ = [
    "ORDER_LATENCY_DTYPE",
    "assumed_round_trips",
    "latency_rows",
    "load_measured",
    "measured_path",
    "percentiles",
    "replayed_round_trips",
]

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np

from arb.errors import ConfigError

ORDER_LATENCY_DTYPE: Final = np.dtype(
    [("req_ts", "i8"), ("exch_ts", "i8"), ("resp_ts", "i8"), ("_padding", "i8")], align=True
)
"""hftbacktest's ``OrderLatencyRow``: request sent, venue acts, answer received (local ns)."""


def latency_rows(written: Sequence[int], answered: Sequence[int]) -> np.ndarray[Any, Any]:
    """The rows of orders written at ``written`` and answered at ``answered`` (local ns, in time order),
    each round trip split in half."""
    rows = np.zeros(len(written), ORDER_LATENCY_DTYPE)
    req = np.asarray(written, np.int64)
    resp = np.asarray(answered, np.int64)
    rows["req_ts"] = req
    rows["exch_ts"] = req + (resp - req) // 2
    rows["resp_ts"] = resp
    return rows


def percentiles(values_ns: np.ndarray[Any, Any]) -> dict[str, float]:
    """``n``, ``p50``, ``p95``, ``p99`` and ``max`` of ``values_ns``, in microseconds (``n`` 0 alone: none)."""
    if not len(values_ns):
        return {"n": 0}
    us = np.asarray(values_ns, np.float64) / 1e3
    p50, p95, p99 = np.percentile(us, [50, 95, 99])
    return {"n": len(us), "p50": float(p50), "p95": float(p95), "p99": float(p99), "max": float(us.max())}


def measured_path(folder: Path, venue: str) -> Path:
    """Where ``arb latency --export`` writes a venue's rows and a ``measured`` backtest reads them."""
    return folder / f"{venue}.npz"


def load_measured(path: Path, venue_file: Path) -> np.ndarray[Any, Any]:
    """The rows in ``path`` (written by :func:`latency_rows` through ``arb latency --export``), checked;
    :class:`ConfigError` naming ``venue_file``'s ``latency.order`` when they are missing or unusable."""
    key = "latency.order"
    try:
        with np.load(path) as data:
            rows = data["data"]
    except FileNotFoundError:
        raise ConfigError(
            str(venue_file), key, f'"measured" needs {path}: write it with arb latency --export'
        ) from None
    except (OSError, ValueError, KeyError) as error:
        raise ConfigError(str(venue_file), key, f"{path} is not an arb latency export: {error}") from None
    if rows.dtype.names != ORDER_LATENCY_DTYPE.names or not len(rows):
        raise ConfigError(str(venue_file), key, f"{path} holds no order latency rows")
    if np.any(np.diff(rows["req_ts"]) < 0) or np.any(rows["resp_ts"] < rows["req_ts"]):
        raise ConfigError(str(venue_file), key, f"{path}: rows out of time order, or answered before sent")
    return np.ascontiguousarray(rows.astype(ORDER_LATENCY_DTYPE))


def replayed_round_trips(rows: np.ndarray[Any, Any], times: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """The round trips (ns) hftbacktest's interpolated order latency gives orders sent at ``times``
    (local ns) from ``rows`` (:data:`ORDER_LATENCY_DTYPE`, in time order): the entry latency
    interpolated between the rows' requests at the send time, the response latency between the rows'
    venue times at the time the order reaches the venue; before the first row the first's, after the
    last the last's (as ``IntpOrderLatency`` does, to its integer rounding of a nanosecond)."""
    if not len(rows):
        raise ValueError("no order latency rows")
    base = int(rows["req_ts"][0])  # times as offsets from it: ns since the epoch do not fit a float's 53 bits

    def offsets(ts: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        return np.asarray((np.asarray(ts, np.int64) - base).astype(np.float64))

    req, exch, resp, sent = offsets(rows["req_ts"]), offsets(rows["exch_ts"]), offsets(rows["resp_ts"]), offsets(times)
    entry = np.interp(sent, req, exch - req)
    response = np.interp(sent + entry, exch, resp - exch)
    return np.asarray(np.round(entry + response), np.int64)


def assumed_round_trips(
    latency: Any, venue: str, venue_file: Path, times: np.ndarray[Any, Any]
) -> np.ndarray[Any, Any]:
    """The round trip (ns) a backtest gives each of a venue's orders sent at ``times``: ``latency`` is the
    venue's ``[latency]`` table (:class:`arb.config.venue.Latency`); ``order = "measured"``
    replays the rows ``arb latency --export`` wrote (:func:`replayed_round_trips`), else every order
    takes ``order_entry_ms + order_response_ms``."""
    times = np.asarray(times, np.int64)
    if latency.order == "measured":
        rows = load_measured(measured_path(latency.measured_dir, venue), venue_file)
        return replayed_round_trips(rows, times)
    return np.full(len(times), int(latency.order_entry_ns) + int(latency.order_response_ns), np.int64)
