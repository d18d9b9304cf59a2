"""The compiled loop's inputs that :class:`arb.backtest.run.Loop` builds from the configuration: the
ragged arrays, the venues' measured latencies, the funding tape and the settings record."""

from __future__ import annotations

__all__ = ["loop_settings", "measured_latency", "perp_tape", "ragged"]

from collections.abc import Sequence
from typing import Any

import numpy as np

from arb.backtest.loop_state import Perp
from arb.backtest.order_latency import load_measured, measured_path
from arb.backtest.transfers import TRANSFER_NONE, TRANSFER_THRESHOLD
from arb.config import AppConfig, VenueConfig
from arb.recording.replayed_funding import Funding
from arb.strategy.records import BACKTEST_RUN_DTYPE
from arb.strategy.types import FUNDING_DTYPE


def ragged(arrays: list[np.ndarray[Any, Any]]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """(the arrays end to end, offsets: array a is out[off[a]:off[a + 1]])."""
    off = np.zeros(len(arrays) + 1, np.int64)
    off[1:] = np.cumsum([len(x) for x in arrays])
    return np.ascontiguousarray(np.concatenate(arrays)) if arrays else np.zeros(0), off


def measured_latency(venues: Sequence[VenueConfig]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Every venue's measured order latency rows (req, exch, resp), end to end, and their offsets (venue v's
    rows[off[v]:off[v + 1]]; none for a constant latency), what arb.backtest.taker_fills.latencies reads."""
    parts = []
    for venue in venues:
        latency = venue.latency
        if latency.order == "measured":
            rows = load_measured(measured_path(latency.measured_dir, venue.name), venue.path)
            parts.append(np.stack([rows["req_ts"], rows["exch_ts"], rows["resp_ts"]], axis=1).astype(np.int64))
        else:
            parts.append(np.zeros((0, 3), np.int64))
    return ragged(parts)


def perp_tape(assets: list[Funding], n_sym: int, n_venues: int) -> tuple[Perp, np.ndarray[Any, Any]]:
    """The funding tape of ``assets`` (one :class:`Funding` per asset) as _run_loop's ``perp`` takes it:
    settlements (local time, offsets per asset, funding time, rate, mark, next one per asset), mark
    prices (local times, prices, offsets), per (symbol, venue) the mark price now and the funding
    booked, then the venues' estimates of the coming funding (local times, rates, funding times,
    offsets, intervals); and the ``funding`` buffer, a row per settlement and one more."""
    n_assets = len(assets)
    fund_ts, fund_off = ragged([f.local_ts for f in assets])
    mark_ts, mark_off = ragged([f.mark_ts for f in assets])
    est_ts, est_off = ragged([f.est_ts for f in assets])
    perp = Perp(
        fund_ts.astype(np.int64), fund_off, ragged([f.funding_ts for f in assets])[0].astype(np.int64),
        ragged([f.rate for f in assets])[0].astype(np.float64),
        ragged([f.mark for f in assets])[0].astype(np.float64), np.zeros(n_assets, np.int64),
        mark_ts.astype(np.int64), ragged([f.mark_px for f in assets])[0].astype(np.float64), mark_off,
        np.full((n_sym, n_venues), np.nan), np.zeros((n_sym, n_venues)),
        est_ts.astype(np.int64), ragged([f.est_rate for f in assets])[0].astype(np.float64),
        ragged([f.est_next for f in assets])[0].astype(np.int64), est_off,
        ragged([f.est_interval for f in assets])[0].astype(np.int64),
    )  # fmt: skip
    return perp, np.zeros(len(fund_ts) + 1, FUNDING_DTYPE)


def loop_settings(
    config: AppConfig, end_ns: int, equity_interval_ns: int, fees: tuple[Any, Any, Any], latency: Any
) -> np.ndarray[Any, Any]:
    """The loop's settings (one ``BACKTEST_RUN_DTYPE`` record): the transfer policy, the run's end
    (``end_ns``), its timeouts and intervals, and per venue the starting quote, the maker and taker fees
    (``fees``, arrays per venue, in that order) and the order latencies (``latency``, a row per venue:
    entry, response, ns)."""
    settings = np.zeros(1, BACKTEST_RUN_DTYPE)
    n_venues = len(config.venues)
    init_quote, maker, taker = fees
    cfg = settings[0]
    bt = config.backtest
    cfg["transfer_policy"] = TRANSFER_THRESHOLD if bt.transfer_policy == "threshold" else TRANSFER_NONE
    cfg["transfer_threshold"] = bt.transfer_threshold
    cfg["transfer_fee"] = (bt.transfer_fee_base, bt.transfer_fee_quote)
    cfg["transfer_delay_ns"] = (bt.transfer_delay_base_ns, bt.transfer_delay_quote_ns)
    cfg["end_ns"] = end_ns
    cfg["n_venues"] = n_venues
    cfg["stale_after_ns"] = config.risk.stale_after_ns
    cfg["equity_interval_ns"] = equity_interval_ns
    cfg["request_timeout_ns"] = config.live.request_timeout_ns
    cfg["init_quote"][:n_venues] = init_quote
    cfg["maker_fee"][:n_venues] = maker
    cfg["taker_fee"][:n_venues] = taker
    cfg["entry_ns"][:n_venues] = latency[:, 0]
    cfg["response_ns"][:n_venues] = latency[:, 1]
    return settings
