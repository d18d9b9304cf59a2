"""Each perpetual's funding over a replayed session: settlements, mark prices and the venue's estimates.

The recordings' own rows (``arb convert`` keeps the venues' mark-price and funding streams) give the
settlements and marks as the stream showed them; ``arb funding-history``'s file, where one covers the
session, gives the official rates and the funding times the stream missed. The backtest, the replayed
dry run and the parity check all book the same :class:`Funding` (:func:`funding_of`).
"""

from __future__ import annotations

__all__ = ["Funding", "funding_of"]

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from arb.config import AppConfig
from arb.errors import RecordingError
from arb.events import (
    EVENT_KIND_MASK,
    FUNDING_RATE_EVENT,
    FUNDING_SETTLED_EVENT,
    LOCAL_EVENT,
    MARK_PRICE_EVENT,
    EventArray,
)
from arb.recording.loader import Timeline, VenueData

if TYPE_CHECKING:
    from arb.recording.funding import FundingRates

log = logging.getLogger("arb.recording.loader")


@dataclass(frozen=True, slots=True)
class Funding:
    """One asset's funding settlements and mark prices over a session (a linear venue's; empty on spot).

    ``local_ts``: when the account books each settlement, on the session's local clock (the stream's
    settlement row's time; for a funding time only the history file knows, the funding time itself
    shifted onto that clock); ``funding_ts``: the venue's funding time; ``rate``: the rate that applied
    (the venue's official one from ``arb funding-history``'s file where it has it, else the stream's);
    ``mark``: the mark price to value the position at (NaN: the book's mid then); ``history``: True
    where the file alone knew the funding time. ``mark_ts``/``mark_px``: every mark price the stream
    showed (local times), for valuing the position between settlements. ``est_ts``/``est_rate``/
    ``est_next``/``est_interval``: the venue's estimate of the coming funding as it stood from each local
    time on (its rate, funding time and the symbol's funding interval, 0 while unknown), what the
    kernel's funding term reads: the stream's funding-rate rows; for funding times only the history
    file knows, the last settled rate (what was known then, with no look ahead), the next funding time
    of the file's schedule and the spacing of its funding times (which also fills in an interval the
    stream's rows do not know yet).
    """

    local_ts: np.ndarray[Any, np.dtype[np.int64]]
    funding_ts: np.ndarray[Any, np.dtype[np.int64]]
    rate: np.ndarray[Any, np.dtype[np.float64]]
    mark: np.ndarray[Any, np.dtype[np.float64]]
    history: np.ndarray[Any, np.dtype[np.bool_]]
    mark_ts: np.ndarray[Any, np.dtype[np.int64]]
    mark_px: np.ndarray[Any, np.dtype[np.float64]]
    est_ts: np.ndarray[Any, np.dtype[np.int64]]
    est_rate: np.ndarray[Any, np.dtype[np.float64]]
    est_next: np.ndarray[Any, np.dtype[np.int64]]
    est_interval: np.ndarray[Any, np.dtype[np.int64]]

    @classmethod
    def none(cls) -> Funding:
        """No funding and no mark prices (a spot venue)."""
        i, f = np.zeros(0, np.int64), np.zeros(0)
        return cls(i, i, f, f, np.zeros(0, bool), i, f, i, f, i, i)

    def __len__(self) -> int:
        return len(self.local_ts)


def funding_of(config: AppConfig, session: Timeline) -> list[Funding]:
    """Each asset's :class:`Funding` over ``session`` (asset order): settlements and mark prices from the
    recordings' own rows (``arb convert`` keeps the venues' mark-price and funding streams), the rates
    from the funding-history file where one covers the span, and the funding times only it knows
    (booked when the asset's first row at or after that time reached us).

    A linear venue whose recordings hold no funding row and that has no history file is logged as a
    warning (its positions would pay or earn funding nobody books), naming the command that fetches it.
    """
    from arb.recording.funding import funding_path, funding_rates

    out: list[Funding] = []
    for a, data in enumerate(session.assets):
        if data.venue.market != "linear" or not data.days:
            out.append(Funding.none())
            continue
        symbol = data.symbol
        span = (data.days[0].first_exch_ts, data.days[-1].last_exch_ts + 1)
        official = None
        if funding_path(config.backtest.recordings, data.venue.name, symbol).is_file():
            try:
                official = funding_rates(config.backtest.recordings, data.venue.name, symbol, *span)
            except RecordingError as exc:
                log.warning("%s: the stream's funding rates are used (%s)", data.venue.name, exc)
        wanted = official.times_ns if official is not None else np.zeros(0, np.int64)
        seen_at = np.full(len(wanted), -1, np.int64)  # the local time of the first row at or after each
        settle: list[EventArray] = []
        marks: list[EventArray] = []
        estimates: list[EventArray] = []
        first_local = -1
        for rows in session.parts(a):
            local = rows[(rows["ev"] & LOCAL_EVENT) != 0]
            if first_local < 0 and len(local):
                first_local = int(local["local_ts"][0])
            kinds = local["ev"] & EVENT_KIND_MASK
            settle.append(local[kinds == FUNDING_SETTLED_EVENT])
            marks.append(local[kinds == MARK_PRICE_EVENT])
            estimates.append(local[kinds == FUNDING_RATE_EVENT])
            open_ = seen_at < 0
            if open_.any() and len(local):
                # local rows are in local time order; their exchange times nearly so: the first row whose
                # exchange time reaches the funding time, by local time
                reached = np.maximum.accumulate(local["exch_ts"])
                at = np.searchsorted(reached, wanted[open_], side="left")
                found = at < len(local)
                idx = np.flatnonzero(open_)[found]
                seen_at[idx] = local["local_ts"][at[found]]
        rows_s = np.concatenate(settle)
        rows_m = np.concatenate(marks)
        rows_e = np.concatenate(estimates)
        est_ts = rows_e["local_ts"].astype(np.int64)
        est_rate = rows_e["px"].astype(np.float64)
        est_next = rows_e["ival"].astype(np.int64)
        est_interval = rows_e["order_id"].astype(np.int64)
        local_ts = rows_s["local_ts"].astype(np.int64)
        funding_ts = rows_s["ival"].astype(np.int64)
        rate = rows_s["px"].astype(np.float64)
        mark = rows_s["qty"].astype(np.float64)
        history = np.zeros(len(rows_s), bool)
        if official is not None:
            known = {int(t): i for i, t in enumerate(funding_ts.tolist())}
            keep: list[int] = []
            times: list[int] = [int(t) for t in official.times_ns]
            for k, t in enumerate(times):
                if t in known:
                    rate[known[t]] = official.rates[k]
                elif seen_at[k] >= 0:
                    keep.append(k)
            if keep:
                local_ts = np.concatenate([local_ts, seen_at[keep]])
                funding_ts = np.concatenate([funding_ts, official.times_ns[keep]])
                rate = np.concatenate([rate, official.rates[keep]])
                mark = np.concatenate([mark, official.mark_prices[keep]])
                history = np.concatenate([history, np.ones(len(keep), bool)])
            file_times, file_rates = _history_file(config, data)
            if not len(rows_e) and first_local >= 0:
                est_ts, est_rate, est_next = _history_estimates(
                    data, official, file_times, file_rates, seen_at, first_local, span[0]
                )
                est_interval = np.zeros(len(est_next), np.int64)
            est_interval = np.where(est_interval > 0, est_interval, _spacing(file_times, est_next))
        elif not len(rows_s) and not len(rows_m):
            log.warning(
                "%s %s: no funding in the recordings and no funding history: positions held across a funding "
                "time are not charged it (fetch the rates with arb funding-history --venue %s --symbols %s "
                "--start %s --end %s)",
                data.venue.name, symbol, data.venue.name, symbol, _utc_day(span[0]), _utc_day(span[1] - 1),
            )  # fmt: skip
        order = np.argsort(local_ts, kind="stable")
        out.append(Funding(
            local_ts[order], funding_ts[order], rate[order], mark[order], history[order],
            rows_m["local_ts"].astype(np.int64), rows_m["px"].astype(np.float64), est_ts, est_rate, est_next,
            est_interval,
        ))  # fmt: skip
    return out


def _history_file(config: AppConfig, data: VenueData) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    # Every funding time of the asset's history file and its rate, in time order.
    from arb.recording.funding import funding_path, load_funding_file

    records = load_funding_file(funding_path(config.backtest.recordings, data.venue.name, data.symbol)).funding
    times = np.array([r.time_ns for r in records], np.int64)
    rates = np.array([float(r.rate) for r in records], np.float64)
    order = np.argsort(times, kind="stable")
    return times[order], rates[order]


def _history_estimates(
    data: VenueData,
    official: FundingRates,
    times: np.ndarray[Any, Any],
    rates: np.ndarray[Any, Any],
    seen_at: np.ndarray[Any, Any],
    first_local: int,
    first_exch: int,
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    # Without the stream's funding rows, the estimate of the coming funding from the history file
    # (``times``, ``rates``): at the session's first row and after each funding time, the rate last
    # settled (the file's funding before the session for the first; 0 if it has none) and the file's
    # next funding time (after its last, one more of its last spacing, else of the configured interval).
    gaps = np.diff(times)
    interval = int(gaps[-1]) if len(gaps) else data.venue.perpetual.funding_interval_ns
    at = int(np.searchsorted(times, first_exch, side="right"))  # the first funding time after the start
    ts = [first_local]
    est = [float(rates[at - 1]) if at > 0 else 0.0]
    nxt = [int(times[at]) if at < len(times) else 0]
    funding_times: list[int] = [int(t) for t in official.times_ns]
    for k, t in enumerate(funding_times):
        if seen_at[k] < 0:
            continue
        after = int(np.searchsorted(times, t, side="right"))
        ts.append(int(seen_at[k]))
        est.append(float(official.rates[k]))
        nxt.append(int(times[after]) if after < len(times) else t + interval)
    return np.array(ts, np.int64), np.array(est, np.float64), np.array(nxt, np.int64)


def _spacing(times: np.ndarray[Any, Any], next_ns: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    # The funding interval leading up to each funding time of ``next_ns`` by the history file's funding
    # times (in order): the spacing of the file's last two at or before it (0 where the file has no two).
    at = np.searchsorted(times, next_ns, side="right") - 1
    known = at >= 1
    out = np.zeros(len(next_ns), np.int64)
    out[known] = times[at[known]] - times[at[known] - 1]
    return out


def _utc_day(ns: int) -> str:
    # "2024-08-08": the UTC day of an int64 ns time, as --start and --end take it
    return str(np.datetime_as_string(np.datetime64(ns, "ns"), unit="D"))
