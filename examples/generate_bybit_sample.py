"""Generate the Bybit half of the shipped sample: Bybit v5 spot BTCUSDT derived from the real Binance capture.

The sample in ``recordings/`` lets every arb command run offline. Its Binance half is a real capture
(``recordings/binance_spot/btcusdt_2024080{8,9}.gz``, Binance spot BTCUSDT, 23:54:13-00:05:04 UTC). No
Bybit capture of the same minutes exists, so this script writes one: a Bybit v5 **spot** BTCUSDT
stream in Bybit's exact public WebSocket format (``orderbook.50.BTCUSDT`` and ``publicTrade.BTCUSDT``),
in the recording format (``<19-digit local ns> <raw JSON>`` a line, gzip, one file per UTC day), for
the same interval. It is a model, not a capture; everything below is seeded, so the same seed and
inputs give byte-identical files.

Usage::

    python -m examples.generate_bybit_sample [--seed 7] [--out recordings/bybit_spot]
        [--binance recordings/binance_spot/btcusdt_20240808.gz recordings/binance_spot/btcusdt_20240809.gz]
        [--bybit-config config/bybit.toml] [--binance-config config/binance.toml] [--<param> VALUE ...]

Every model parameter is a field of :class:`SampleParams` (default = the named constant of the same
name in capitals) and a CLI flag (``--basis-half-life-s 20``). The committed files were made with the
defaults and ``--seed 7`` (:data:`DEFAULT_SEED`).

The model
=========

1. **Binance book and trades.** The Binance files are replayed through arb's own
   ``BinanceNormalizer`` and ``OrderBook``: after every depth message (once the book is synced from the
   inline REST snapshot) the top ``BINANCE_LEVELS`` levels a side are kept with the message's event
   time ``E``; every Binance trade is kept with its trade time ``T``, price, size and taker side.

2. **Basis.** Bybit's fair book is Binance's book with every price multiplied by ``1 + basis_t``.
   ``basis_t`` (bps) is an Ornstein-Uhlenbeck process with mean 0, half-life ``BASIS_HALF_LIFE_S`` and
   stationary standard deviation ``BASIS_STD_BPS``, simulated exactly on a ``BASIS_STEP_MS`` grid from
   ``basis_0 = 0``, plus rare jumps: the gaps between jumps (and before the first) are uniform in
   [``BASIS_JUMP_GAP_MIN_S``, ``BASIS_JUMP_GAP_MAX_S``], each jump is ``N(BASIS_JUMP_MEAN_BPS,
   BASIS_JUMP_STD_BPS)`` bps with a random sign, and it then decays with the same half-life. The
   diffusion alone stays well inside the round-trip cost (both venues' taker fees, 10 bps each in
   ``config/``, plus ``SLIPPAGE_BPS``), so the cross-venue spread beats the cost only after a jump, for
   a few seconds (the script prints how many such episodes the seed gave). Jumps are spread evenly
   rather than arriving as a Poisson process so that nearly every seed, not a lucky one, gives a few
   dislocations in 11 minutes: with the defaults, 290 of seeds 0-299 give at least 3 episodes.
   Other symbols' models (``examples/generate_scan_sample.py``) also use ``BASIS_MEAN_BPS`` (a constant
   part), ``BASIS_JUMP_UP_PROB`` (jumps one way more than the other) and ``BASIS_QUANTUM_BPS`` (the venue
   reprices in steps: the basis applied moves only once the simulated one is a step away); their defaults
   (0, 0.5, 0) leave this model as described.

3. **Bybit's book.** Each Binance level maps to Bybit's tick (``tick_size`` of ``config/bybit.toml``):
   bids round down and asks round up, so bids stay strictly below asks. Binance levels that map to the
   same Bybit price are summed. Each Bybit price level gets its own quantity noise: a lognormal factor
   ``exp(QTY_SIGMA z - QTY_SIGMA^2/2)`` (mean 1) fixed per (side, price) for the whole session, and
   levels below the best ``THIN_KEEP_TOP`` are left out with probability ``THIN_PROB`` (also fixed per
   side and price), so Bybit's book is not a scaled copy. Sizes round to Bybit's lot (``lot_size``),
   never below one lot. The book is ``DEPTH`` (50) levels a side.

4. **Cadence and clocks.** One ``orderbook.50`` message per Binance depth update (Binance spot pushes
   every 100 ms; Bybit's docs give 20 ms for spot level 50 in most revisions, 100 ms in some, so this
   book may be coarser in time than the real one), sent only when the top 50 changed. Since the basis
   moves between any two updates and scales every price, each delta rewrites most of the top 50 (a
   real Bybit delta touches a few levels): about 3.7 kB a message, 5 MB of gzip for the session.
   Messages: first a ``snapshot``, then ``delta`` messages with ``u`` = previous + 1 and ``seq``
   increasing by ``SEQ_STEP_MIN..SEQ_STEP_MAX``, listing changed levels and, with size ``"0"``, levels
   removed or pushed out of the top 50. ``ts`` (push time, ms) = ``E`` + ``U{0..PUSH_JITTER_MS}``;
   ``cts`` (matching engine time) = ``ts`` - ``U{1..CTS_LAG_MS}``.
   Trades: Binance trades with the same ``T`` form one ``publicTrade`` message; Bybit ``T`` = Binance
   ``T`` + ``U{0..TRADE_JITTER_MS}``, ``ts`` = ``T`` + ``U{0..TRADE_PUSH_MS}``; price mapped through the
   basis at ``T`` (taker buys round up like asks, sells down like bids), size times a lognormal factor
   ``exp(TRADE_SIZE_SIGMA z - TRADE_SIZE_SIGMA^2/2)`` rounded to the lot, same taker side, ids counting
   up from ``TRADE_ID_BASE`` in steps of ``1..TRADE_ID_STEP_MAX`` (ids are shared across symbols).
   The recorder's receive time (ns) = ``ts`` + a lognormal network latency (median
   ``LATENCY_MEDIAN_MS``, log-sd ``LATENCY_SIGMA``) + the Binance recorder's clock offset, estimated as
   the minimum of ``local_ts - E`` over the Binance depth messages (about -1.276 s: that machine's
   clock ran behind), so both venues read as if one machine recorded both. Messages leave Bybit in
   ``ts`` order on one connection, so a message is never received before the one sent before it: one
   that would have overtaken its predecessor is stamped ``READ_GAP_NS`` after it (head-of-line
   blocking), and receive times increase. The file starts with Bybit's spot subscribe ack,
   ``ACK_LEAD_MS`` before the snapshot.

5. **Files.** Lines are split by UTC day of the receive time, as a recorder rotates
   (``btcusdt_20240808.gz`` up to 23:59:59.999..., ``btcusdt_20240809.gz`` from 00:00:00), gzip level 9
   with ``mtime=0`` and no file name in the header.

What is real and what is not: the Binance book's shape, its changes and its trades are real; the
Bybit/Binance basis, Bybit's quantities, latencies, ids and sequence numbers are invented.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_BINANCE",
    "DEFAULT_OUT",
    "DEFAULT_SEED",
    "BasisPath",
    "BasisSummary",
    "BinanceBook",
    "BinanceSession",
    "BinanceTrade",
    "BookModel",
    "SampleParams",
    "Synthesis",
    "diff_levels",
    "generate",
    "grid_formatter",
    "levels_json",
    "lognormal_ns",
    "main",
    "read_binance",
    "simulate_basis",
    "summarize_basis",
    "synthesize",
    "write_daily_files",
]

import argparse
import dataclasses
import gzip
import logging
import math
import os
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypedDict, Unpack, cast

import numpy as np

from arb.book import OrderBook
from arb.config import load_venue_config
from arb.events import (
    BUY_EVENT,
    DEPTH_CLEAR_EVENT,
    DEPTH_EVENT,
    DEPTH_SNAPSHOT_EVENT,
    EVENT_KIND_MASK,
    NS_PER_MS,
    NS_PER_S,
    TRADE_EVENT,
)
from connectors.binance.normalize import BinanceNormalizer
from connectors.common.normalizer import SyncState
from connectors.common.record_files import LineReader, format_line

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SEED = 7
"""The seed of the committed sample."""
DEFAULT_OUT = ROOT / "recordings" / "bybit_spot"
DEFAULT_BINANCE = (
    ROOT / "recordings" / "binance_spot" / "btcusdt_20240808.gz",
    ROOT / "recordings" / "binance_spot" / "btcusdt_20240809.gz",
)
DEFAULT_BYBIT_CONFIG = ROOT / "config" / "bybit.toml"
DEFAULT_BINANCE_CONFIG = ROOT / "config" / "binance.toml"

SYMBOL = "BTCUSDT"
"""The sample's symbol; another comes from the Binance files' names (``ethusdt_20240808.gz``) or ``--symbol``."""
DEPTH = 50
"""Levels a side of ``orderbook.50``."""
SUBSCRIBE_REQ_ID = "1"
"""``req_id`` the recorder sent with its one subscribe request (both topics)."""

# -- model parameters (defaults of SampleParams) -----------------------------------------------------
BINANCE_LEVELS = 400
"""Binance levels a side read per update; enough for 50 Bybit levels after merging onto the coarser tick."""
BASIS_HALF_LIFE_S = 20.0
"""Half-life of the basis' mean reversion, seconds."""
BASIS_STD_BPS = 3.0
"""Stationary standard deviation of the basis diffusion, bps."""
BASIS_STEP_MS = 10
"""Time step of the basis simulation, ms."""
BASIS_JUMP_GAP_MIN_S = 60.0
BASIS_JUMP_GAP_MAX_S = 150.0
"""Time between basis jumps (and before the first), uniform in [MIN, MAX] seconds."""
BASIS_JUMP_MEAN_BPS = 28.0
"""Mean absolute size of a basis jump, bps (the sign is random)."""
BASIS_JUMP_STD_BPS = 4.0
"""Standard deviation of a jump's absolute size, bps."""
BASIS_JUMP_UP_PROB = 0.5
"""Probability that a jump is upwards (the venue richer than Binance)."""
BASIS_MEAN_BPS = 0.0
"""Constant part of the basis, bps (the diffusion and the jumps are around it)."""
BASIS_QUANTUM_BPS = 0.0
"""0: the venue's prices follow the basis continuously. Above 0: in steps: the basis applied moves (to the
nearest multiple of this) only once the simulated one is this far from it, bps."""
QTY_SIGMA = 0.4
"""Log-sd of the per-level quantity factor."""
THIN_PROB = 0.08
"""Probability that a Bybit price level below the top THIN_KEEP_TOP is absent."""
THIN_KEEP_TOP = 3
"""Best levels a side never thinned."""
PUSH_JITTER_MS = 6
"""Book push time ``ts`` = Binance E + U{0..PUSH_JITTER_MS} ms."""
CTS_LAG_MS = 4
"""Matching-engine time ``cts`` = ``ts`` - U{1..CTS_LAG_MS} ms."""
SEQ_STEP_MIN = 5
SEQ_STEP_MAX = 400
"""``seq`` (cross sequence) grows by U{SEQ_STEP_MIN..SEQ_STEP_MAX} per book message."""
TRADE_JITTER_MS = 3
"""Bybit trade time ``T`` = Binance T + U{0..TRADE_JITTER_MS} ms."""
TRADE_PUSH_MS = 2
"""Trade push time ``ts`` = ``T`` + U{0..TRADE_PUSH_MS} ms."""
TRADE_SIZE_SIGMA = 0.5
"""Log-sd of the trade size factor."""
TRADE_ID_BASE = 2_290_000_000_000_000_000
"""Bybit spot trade ids are 19-digit numbers starting 229..."""
TRADE_ID_STEP_MAX = 40
"""Trade ids grow by U{1..TRADE_ID_STEP_MAX} (other symbols' trades share the counter)."""
LATENCY_MEDIAN_MS = 25.0
"""Median network latency Bybit -> recorder, ms."""
LATENCY_SIGMA = 0.5
"""Log-sd of the network latency (p99 about 3.2x the median)."""
ACK_LEAD_MS = 4.0
"""The subscribe ack is received this long before the snapshot, ms."""
READ_GAP_NS = 1_500
"""Frames that queued behind a slow one are stamped this many ns apart, as a reader takes them in turn."""
SLIPPAGE_BPS = 2.0
"""Slippage allowance added to both taker fees for the summary's threshold, bps."""
EPISODE_MIN_S = 1.0
"""An episode above the threshold counts when it lasts at least this long, seconds."""

_NOISE_TABLE = 1 << 16  # per-side noise table, indexed by price tick modulo its size
_EPS = 1e-6  # guards floor/ceil against float noise exactly on a tick boundary
_TAIL_BPS = 25.0  # the summary also reports time above this many bps


def _param(default: Any, doc: str) -> Any:
    return field(default=default, metadata={"help": doc})


@dataclass(frozen=True, slots=True)
class SampleParams:
    """Model parameters; each default is the module constant of the same name in capitals."""

    binance_levels: int = _param(BINANCE_LEVELS, "Binance levels a side read per update")
    basis_half_life_s: float = _param(BASIS_HALF_LIFE_S, "half-life of the basis' mean reversion, s")
    basis_std_bps: float = _param(BASIS_STD_BPS, "stationary sd of the basis diffusion, bps")
    basis_step_ms: int = _param(BASIS_STEP_MS, "time step of the basis simulation, ms")
    basis_jump_gap_min_s: float = _param(BASIS_JUMP_GAP_MIN_S, "shortest time between basis jumps, s")
    basis_jump_gap_max_s: float = _param(BASIS_JUMP_GAP_MAX_S, "longest time between basis jumps, s")
    basis_jump_mean_bps: float = _param(BASIS_JUMP_MEAN_BPS, "mean absolute basis jump, bps")
    basis_jump_std_bps: float = _param(BASIS_JUMP_STD_BPS, "sd of the absolute basis jump, bps")
    basis_jump_up_prob: float = _param(BASIS_JUMP_UP_PROB, "probability that a basis jump is upwards")
    basis_mean_bps: float = _param(BASIS_MEAN_BPS, "constant part of the basis, bps")
    basis_quantum_bps: float = _param(
        BASIS_QUANTUM_BPS, "the basis applied moves in steps of this (0: continuously), bps"
    )
    qty_sigma: float = _param(QTY_SIGMA, "log-sd of the per-level quantity factor")
    thin_prob: float = _param(THIN_PROB, "probability that a level below the top few is absent")
    thin_keep_top: int = _param(THIN_KEEP_TOP, "best levels a side never thinned")
    push_jitter_ms: int = _param(PUSH_JITTER_MS, "book ts = Binance E + U{0..this} ms")
    cts_lag_ms: int = _param(CTS_LAG_MS, "cts = ts - U{1..this} ms")
    seq_step_min: int = _param(SEQ_STEP_MIN, "smallest seq step per book message")
    seq_step_max: int = _param(SEQ_STEP_MAX, "largest seq step per book message")
    trade_jitter_ms: int = _param(TRADE_JITTER_MS, "Bybit trade T = Binance T + U{0..this} ms")
    trade_push_ms: int = _param(TRADE_PUSH_MS, "trade ts = T + U{0..this} ms")
    trade_size_sigma: float = _param(TRADE_SIZE_SIGMA, "log-sd of the trade size factor")
    trade_id_step_max: int = _param(TRADE_ID_STEP_MAX, "trade ids grow by U{1..this}")
    latency_median_ms: float = _param(LATENCY_MEDIAN_MS, "median network latency, ms")
    latency_sigma: float = _param(LATENCY_SIGMA, "log-sd of the network latency")
    ack_lead_ms: float = _param(ACK_LEAD_MS, "subscribe ack received this long before the snapshot, ms")
    read_gap_ns: int = _param(READ_GAP_NS, "receive-time spacing of frames that queued behind a slow one, ns")

    def __post_init__(self) -> None:
        if self.binance_levels < DEPTH:
            raise ValueError(f"binance_levels must be at least {DEPTH}, got {self.binance_levels}")
        if self.basis_half_life_s <= 0 or self.basis_step_ms <= 0:
            raise ValueError("basis_half_life_s and basis_step_ms must be positive")
        if not 0 < self.basis_jump_gap_min_s <= self.basis_jump_gap_max_s:
            raise ValueError("basis jump gaps must satisfy 0 < basis_jump_gap_min_s <= basis_jump_gap_max_s")
        if not 0.0 <= self.basis_jump_up_prob <= 1.0 or self.basis_quantum_bps < 0:
            raise ValueError("basis_jump_up_prob must be in [0, 1] and basis_quantum_bps >= 0")
        if not 0.0 <= self.thin_prob < 1.0:
            raise ValueError(f"thin_prob must be in [0, 1), got {self.thin_prob}")
        if self.cts_lag_ms < 1 or self.seq_step_min < 1 or self.seq_step_max < self.seq_step_min:
            raise ValueError("cts_lag_ms and seq_step_min must be >= 1, seq_step_max >= seq_step_min")
        if self.trade_id_step_max < 1 or self.latency_median_ms <= 0 or self.read_gap_ns < 0:
            raise ValueError("trade_id_step_max and latency_median_ms must be positive, read_gap_ns >= 0")


# -- the Binance side ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BinanceBook:
    """Binance's book after one depth message (best first, ``levels`` a side at most)."""

    exch_ts: int
    """Event time ``E`` of the message, ns."""
    local_ts: int
    """When the Binance recorder received it, ns (its clock)."""
    bid_px: np.ndarray[Any, np.dtype[np.float64]]
    bid_qty: np.ndarray[Any, np.dtype[np.float64]]
    ask_px: np.ndarray[Any, np.dtype[np.float64]]
    ask_qty: np.ndarray[Any, np.dtype[np.float64]]


@dataclass(frozen=True, slots=True)
class BinanceTrade:
    """One Binance trade."""

    exch_ts: int
    """Trade time ``T``, ns."""
    px: float
    qty: float
    taker_buy: bool


@dataclass(frozen=True, slots=True)
class BinanceSession:
    """What the generator needs from the Binance capture."""

    books: list[BinanceBook]
    """The book after every depth message once synced, in order."""
    trades: list[BinanceTrade]
    clock_offset_ns: int
    """min(local_ts - E) over depth messages: the recorder clock's offset plus the smallest latency."""
    first_local_ts: int
    last_local_ts: int
    messages: int


def read_binance(
    paths: Sequence[str | Path], *, levels: int = BINANCE_LEVELS, max_messages: int | None = None
) -> BinanceSession:
    """Replay Binance recordings with arb's normalizer and book; stop after ``max_messages`` if given.

    Raises ``ValueError`` when the book never synced (no usable snapshot in what was read).
    """
    normalizer = BinanceNormalizer(None, "spot")
    book = OrderBook()
    books: list[BinanceBook] = []
    trades: list[BinanceTrade] = []
    offset = math.inf
    first_local = last_local = 0
    count = 0
    for path in paths:
        for local_ts, payload in LineReader(path):
            if max_messages is not None and count >= max_messages:
                break
            count += 1
            first_local = first_local or local_ts
            last_local = local_ts
            normalizer.on_message(payload, local_ts)
            if normalizer.sink.rows == 0:
                continue
            rows = normalizer.sink.take()
            kinds = rows["ev"] & EVENT_KIND_MASK
            depth = (kinds == DEPTH_EVENT) | (kinds == DEPTH_SNAPSHOT_EVENT) | (kinds == DEPTH_CLEAR_EVENT)
            if depth.any():
                book.apply(rows)
                exch_ts = int(rows["exch_ts"][depth].max())
                if not (kinds[depth] == DEPTH_SNAPSHOT_EVENT).any():
                    # a diff: E is its push time (the snapshot's local time is the REST reply's)
                    offset = min(offset, local_ts - exch_ts)
                if normalizer.status.state is SyncState.SYNCED:
                    bid_px, bid_qty = book.bids(levels)
                    ask_px, ask_qty = book.asks(levels)
                    books.append(BinanceBook(exch_ts, local_ts, bid_px, bid_qty, ask_px, ask_qty))
            for row in rows[kinds == TRADE_EVENT]:
                trades.append(
                    BinanceTrade(int(row["exch_ts"]), float(row["px"]), float(row["qty"]), bool(row["ev"] & BUY_EVENT))
                )
    if not books or offset == math.inf:
        raise ValueError(f"{', '.join(map(str, paths))}: the Binance book never synced in {count} messages")
    return BinanceSession(books, trades, int(offset), first_local, last_local, count)


# -- the basis ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BasisPath:
    """The simulated basis on a regular grid: ``bps[k]`` holds from ``start_ns + k * step_ns``."""

    start_ns: int
    step_ns: int
    bps: np.ndarray[Any, np.dtype[np.float64]]
    jumps: int

    def at(self, t_ns: int) -> float:
        """The basis in bps at ``t_ns`` (clamped to the simulated span)."""
        k = (t_ns - self.start_ns) // self.step_ns
        return float(self.bps[min(max(k, 0), len(self.bps) - 1)])


def simulate_basis(seed: np.random.SeedSequence, start_ns: int, end_ns: int, params: SampleParams) -> BasisPath:
    """Exact Ornstein-Uhlenbeck steps from 0 plus jumps at renewal times (see the module docstring).

    Each random input has its own stream, so a shorter span is a prefix of a longer one.
    """
    rng_z, rng_gap, rng_size, rng_sign = (np.random.Generator(np.random.PCG64(s)) for s in seed.spawn(4))
    step_ns = params.basis_step_ms * NS_PER_MS
    n = max(1, (end_ns - start_ns) // step_ns + 1)
    dt = params.basis_step_ms / 1000.0
    theta = math.log(2.0) / params.basis_half_life_s
    decay = math.exp(-theta * dt)
    noise_sd = params.basis_std_bps * math.sqrt(1.0 - decay * decay)
    z = rng_z.standard_normal(n).tolist()
    jumps: dict[int, float] = {}
    t_s = 0.0
    while True:
        t_s += float(rng_gap.uniform(params.basis_jump_gap_min_s, params.basis_jump_gap_max_s))
        k = round(t_s / dt)
        if k >= n:
            break
        size = params.basis_jump_mean_bps + params.basis_jump_std_bps * float(rng_size.standard_normal())
        jumps[k] = size if rng_sign.random() < params.basis_jump_up_prob else -size
    out = np.empty(n)
    b = 0.0
    mean, quantum = params.basis_mean_bps, params.basis_quantum_bps
    applied = round(mean / quantum) * quantum if quantum else 0.0
    for k in range(n):
        if k:
            b = b * decay + noise_sd * z[k] + jumps.get(k, 0.0)
        if quantum:
            # sticky steps: the venue reprices only once the simulated basis is a quantum away
            if abs(b + mean - applied) >= quantum:
                applied = round((b + mean) / quantum) * quantum
            out[k] = applied
        else:
            out[k] = b + mean
    return BasisPath(start_ns, step_ns, out, len(jumps))


@dataclass(frozen=True, slots=True)
class BasisSummary:
    """Statistics of the basis over the generated span."""

    min_bps: float
    max_bps: float
    mean_bps: float
    std_bps: float
    threshold_bps: float
    """Both taker fees plus the slippage allowance."""
    seconds_above_threshold: float
    seconds_above_25bps: float
    episodes: list[tuple[float, float, float]]
    """(start s, duration s, peak |basis| bps) of each run above the threshold lasting >= EPISODE_MIN_S."""
    jumps: int

    def describe(self) -> str:
        """A few lines for a person."""
        lines = [
            f"basis (bps): min {self.min_bps:+.2f}  max {self.max_bps:+.2f}  mean {self.mean_bps:+.2f}  "
            f"std {self.std_bps:.2f}  jumps {self.jumps}",
            f"|basis| > {self.threshold_bps:.1f} bps (fees + slippage): "
            f"{self.seconds_above_threshold:.1f} s; "
            f"> {_TAIL_BPS:.0f} bps: {self.seconds_above_25bps:.1f} s",
            f"episodes above {self.threshold_bps:.1f} bps lasting >= {EPISODE_MIN_S:.0f} s: {len(self.episodes)}",
        ]
        lines += [f"  at +{s:6.1f} s for {d:4.1f} s, peak {p:.1f} bps" for s, d, p in self.episodes]
        return "\n".join(lines)


def summarize_basis(basis: BasisPath, start_ns: int, end_ns: int, threshold_bps: float) -> BasisSummary:
    """Statistics of ``basis`` from ``start_ns`` to ``end_ns``; episodes are runs of |basis| > threshold."""
    k0 = max(0, (start_ns - basis.start_ns) // basis.step_ns)
    k1 = min(len(basis.bps), (end_ns - basis.start_ns) // basis.step_ns + 1)
    b = basis.bps[k0:k1]
    step_s = basis.step_ns / NS_PER_S
    above = np.abs(b) > threshold_bps
    episodes: list[tuple[float, float, float]] = []
    edges = np.flatnonzero(np.diff(np.r_[0, above.astype(np.int8), 0]))
    for lo, hi in zip(edges[::2], edges[1::2], strict=True):
        duration = (hi - lo) * step_s
        if duration >= EPISODE_MIN_S:
            episodes.append((lo * step_s, duration, float(np.abs(b[lo:hi]).max())))
    return BasisSummary(
        min_bps=float(b.min()),
        max_bps=float(b.max()),
        mean_bps=float(b.mean()),
        std_bps=float(b.std()),
        threshold_bps=threshold_bps,
        seconds_above_threshold=float(above.sum() * step_s),
        seconds_above_25bps=float((np.abs(b) > _TAIL_BPS).sum() * step_s),
        episodes=episodes,
        jumps=basis.jumps,
    )


# -- wire formatting ----------------------------------------------------------------------------------


def _decimals(step: float) -> int:
    exponent = Decimal(repr(step)).normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def grid_formatter(step: float) -> Callable[[int], str]:
    """n steps of ``step`` as a decimal string with exactly the step's decimals ("61837.6", "0.001200")."""
    places = _decimals(step)
    units = round(step * 10**places)
    scale = 10**places
    if places == 0:
        return lambda n: str(n * units)
    return lambda n: f"{n * units // scale}.{n * units % scale:0{places}d}"


def levels_json(levels: Iterable[tuple[int, int]], px: Callable[[int], str], qty: Callable[[int], str]) -> str:
    """Levels of (price steps, size steps) as JSON pairs of strings, a size of 0 as ``"0"``."""
    return ",".join(f'["{px(p)}","{qty(q) if q else "0"}"]' for p, q in levels)


# -- the Bybit side -----------------------------------------------------------------------------------

Side = dict[int, int]
"""One side of the Bybit book: price in ticks -> size in lots."""


@dataclass(slots=True)
class BookModel:
    """Maps a Binance book to another venue's top ``depth`` levels on its tick and lot; noise and thinning
    are fixed per (side, tick)."""

    tick: float
    lot: float
    params: SampleParams
    bid_factor: np.ndarray[Any, np.dtype[np.float64]]
    ask_factor: np.ndarray[Any, np.dtype[np.float64]]
    bid_drop: np.ndarray[Any, np.dtype[np.bool_]]
    ask_drop: np.ndarray[Any, np.dtype[np.bool_]]
    depth: int = DEPTH

    @classmethod
    def create(
        cls, rng: np.random.Generator, tick: float, lot: float, params: SampleParams, depth: int = DEPTH
    ) -> BookModel:
        sigma = params.qty_sigma

        def factors() -> np.ndarray[Any, np.dtype[np.float64]]:
            z = rng.standard_normal(_NOISE_TABLE)
            # math.exp (libm), not np.exp (SIMD paths vary by CPU): the files must not depend on the machine.
            return np.array([math.exp(sigma * x - 0.5 * sigma * sigma) for x in z.tolist()])

        bid_factor, ask_factor = factors(), factors()
        bid_drop = rng.random(_NOISE_TABLE) < params.thin_prob
        ask_drop = rng.random(_NOISE_TABLE) < params.thin_prob
        return cls(tick, lot, params, bid_factor, ask_factor, bid_drop, ask_drop, depth)

    def side(
        self,
        px: np.ndarray[Any, np.dtype[np.float64]],
        qty: np.ndarray[Any, np.dtype[np.float64]],
        scale: float,
        bid: bool,
    ) -> Side:
        scaled = px * scale / self.tick
        ticks = (np.floor(scaled + _EPS) if bid else np.ceil(scaled - _EPS)).astype(np.int64)
        starts = np.flatnonzero(np.r_[True, ticks[1:] != ticks[:-1]])
        bins = ticks[starts]
        sums = np.add.reduceat(qty, starts)
        slot = bins % _NOISE_TABLE
        drop = (self.bid_drop if bid else self.ask_drop)[slot]
        drop[: self.params.thin_keep_top] = False
        keep = np.flatnonzero(~drop)[: self.depth]
        if len(keep) < self.depth:
            raise ValueError(f"only {len(keep)} levels from {len(px)} Binance levels: raise binance_levels")
        factor = (self.bid_factor if bid else self.ask_factor)[slot[keep]]
        lots = np.maximum(1, np.rint(sums[keep] * factor / self.lot)).astype(np.int64)
        return dict(zip(bins[keep].tolist(), lots.tolist(), strict=True))


def diff_levels(old: Side, new: Side, descending: bool) -> list[tuple[int, int]]:
    """Changed or new levels with their size, removed ones with 0, in book order."""
    out = [(p, q) for p, q in new.items() if old.get(p) != q]
    out += [(p, 0) for p in old if p not in new]
    out.sort(reverse=descending)
    return out


def lognormal_ns(rng: np.random.Generator, median_ms: float, sigma: float, n: int) -> list[int]:
    """``n`` lognormal durations in ns of median ``median_ms`` and log-sd ``sigma``."""
    return [round(median_ms * NS_PER_MS * math.exp(sigma * x)) for x in rng.standard_normal(n).tolist()]


@dataclass(frozen=True, slots=True)
class Synthesis:
    """The generated stream and the basis behind it."""

    lines: list[tuple[int, bytes]]
    """``(local receive ns, payload)`` in file order, the ack first."""
    basis: BasisPath
    summary: BasisSummary
    binance: BinanceSession
    book_messages: int
    trade_messages: int
    symbol: str = SYMBOL


class SourceOptions(TypedDict, total=False):
    """:func:`synthesize`'s keywords, for the callers that pass them on (see it for their meaning)."""

    max_binance_messages: int | None
    bybit_config: str | Path
    binance_config: str | Path
    symbol: str | None
    tick_size: float | None
    lot_size: float | None
    depth: int


def synthesize(
    binance_paths: Sequence[str | Path],
    seed: int = DEFAULT_SEED,
    params: SampleParams | None = None,
    *,
    max_binance_messages: int | None = None,
    bybit_config: str | Path = DEFAULT_BYBIT_CONFIG,
    binance_config: str | Path = DEFAULT_BINANCE_CONFIG,
    symbol: str | None = None,
    tick_size: float | None = None,
    lot_size: float | None = None,
    depth: int = DEPTH,
    session: BinanceSession | None = None,
) -> Synthesis:
    """Build the Bybit stream in memory (see the module docstring for the model).

    ``max_binance_messages`` stops reading the Binance capture after that many lines (for quick tests).
    The tick, lot and taker fee come from ``bybit_config`` (``tick_size``/``lot_size`` override the first
    two: another symbol's rules); Binance's taker fee from ``binance_config``. ``symbol``: the Bybit
    symbol written (default: the first Binance file's, ``ethusdt_20240808.gz`` -> ``ETHUSDT``). ``depth``:
    the levels a side written (at most ``DEPTH``; the topic stays ``orderbook.50``, trimmed to the top).
    ``session``: ``binance_paths`` already read with :func:`read_binance` (``params.binance_levels`` levels), to
    read them once for several venues.
    """
    params = params or SampleParams()
    symbol = symbol or symbol_of(binance_paths[0])
    bybit = load_venue_config(bybit_config, "bybit")
    binance_fees = load_venue_config(binance_config, "binance").fees
    tick = bybit.instrument.tick_size if tick_size is None else tick_size
    lot = bybit.instrument.lot_size if lot_size is None else lot_size
    book_topic, trade_topic = f"orderbook.{DEPTH}.{symbol}", f"publicTrade.{symbol}"
    fmt_px, fmt_qty = grid_formatter(tick), grid_formatter(lot)

    if session is None:
        session = read_binance(binance_paths, levels=params.binance_levels, max_messages=max_binance_messages)
    seed_basis, *seeds = np.random.SeedSequence(seed).spawn(5)
    rng_book, rng_times, rng_trades, rng_ids = (np.random.Generator(np.random.PCG64(s)) for s in seeds)
    start_ns = session.books[0].exch_ts
    end_ns = max(session.books[-1].exch_ts, session.trades[-1].exch_ts if session.trades else 0)
    basis = simulate_basis(seed_basis, start_ns, end_ns, params)
    threshold = (binance_fees.taker + bybit.fees.taker) * 1e4 + SLIPPAGE_BPS
    summary = summarize_basis(basis, start_ns, session.books[-1].exch_ts, threshold)
    if not 0 < depth <= DEPTH:
        raise ValueError(f"depth must be in 1..{DEPTH}, got {depth}")
    model = BookModel.create(rng_book, tick, lot, params, depth)

    # (ts ms, kind, index) sorts the messages in the order Bybit sends them on one connection.
    outgoing: list[tuple[int, int, int, bytes]] = []

    # order book: a snapshot, then a delta whenever the top 50 changed
    n_books = len(session.books)
    push = rng_times.integers(0, params.push_jitter_ms + 1, n_books).tolist()
    lag = rng_times.integers(1, params.cts_lag_ms + 1, n_books).tolist()
    seq_steps = rng_ids.integers(params.seq_step_min, params.seq_step_max + 1, n_books).tolist()
    update_id = int(rng_ids.integers(1_000_000, 9_000_000))
    seq = int(rng_ids.integers(40_000_000_000, 60_000_000_000))
    bids: Side = {}
    asks: Side = {}
    last_ts = 0
    for i, state in enumerate(session.books):
        scale = 1.0 + basis.at(state.exch_ts) / 1e4
        new_bids = model.side(state.bid_px, state.bid_qty, scale, bid=True)
        new_asks = model.side(state.ask_px, state.ask_qty, scale, bid=False)
        first = i == 0
        if not first and new_bids == bids and new_asks == asks:
            continue
        if first:
            kind = "snapshot"
            b_levels = sorted(new_bids.items(), reverse=True)
            a_levels = sorted(new_asks.items())
        else:
            kind = "delta"
            b_levels = diff_levels(bids, new_bids, descending=True)
            a_levels = diff_levels(asks, new_asks, descending=False)
            update_id += 1
        bids, asks = new_bids, new_asks
        seq += seq_steps[i]
        ts = max(last_ts, state.exch_ts // NS_PER_MS + push[i])
        last_ts = ts
        text = (
            f'{{"topic":"{book_topic}","type":"{kind}","ts":{ts},"data":{{"s":"{symbol}",'
            f'"b":[{levels_json(b_levels, fmt_px, fmt_qty)}],'
            f'"a":[{levels_json(a_levels, fmt_px, fmt_qty)}],'
            f'"u":{update_id},"seq":{seq}}},"cts":{ts - lag[i]}}}'
        )
        outgoing.append((ts, 0, len(outgoing), text.encode()))
    book_messages = len(outgoing)
    snapshot_ts = outgoing[0][0]

    # trades: one message per Binance trade time, from the snapshot on
    trades = [t for t in session.trades if t.exch_ts // NS_PER_MS >= snapshot_ts]
    sizes = rng_trades.standard_normal(len(trades)).tolist()
    id_steps = rng_ids.integers(1, params.trade_id_step_max + 1, len(trades)).tolist()
    trade_id = TRADE_ID_BASE + int(rng_ids.integers(10_000_000, 90_000_000))
    sigma = params.trade_size_sigma
    groups: list[list[int]] = []
    for j, trade in enumerate(trades):
        if groups and trades[groups[-1][0]].exch_ts == trade.exch_ts:
            groups[-1].append(j)
        else:
            groups.append([j])
    t_jitter = rng_times.integers(0, params.trade_jitter_ms + 1, len(groups)).tolist()
    t_push = rng_times.integers(0, params.trade_push_ms + 1, len(groups)).tolist()
    last_t = last_ts = 0
    for g, members in enumerate(groups):
        exch_ts = trades[members[0]].exch_ts
        t_ms = max(last_t, exch_ts // NS_PER_MS + t_jitter[g])
        ts = max(last_ts, t_ms + t_push[g])
        last_t, last_ts = t_ms, ts
        scale = 1.0 + basis.at(exch_ts) / 1e4
        items = []
        for j in members:
            trade = trades[j]
            scaled = trade.px * scale / tick
            px_ticks = math.ceil(scaled - _EPS) if trade.taker_buy else math.floor(scaled + _EPS)
            factor = math.exp(sigma * sizes[j] - 0.5 * sigma * sigma)
            lots = max(1, round(trade.qty * factor / lot))
            trade_id += id_steps[j]
            items.append(
                f'{{"i":"{trade_id}","T":{t_ms},"p":"{fmt_px(px_ticks)}","v":"{fmt_qty(lots)}",'
                f'"S":"{"Buy" if trade.taker_buy else "Sell"}","s":"{symbol}","BT":false}}'
            )
        text = f'{{"topic":"{trade_topic}","ts":{ts},"type":"snapshot","data":[{",".join(items)}]}}'
        outgoing.append((ts, 1, len(outgoing), text.encode()))
    trade_messages = len(outgoing) - book_messages

    # receive times on the Binance recorder's clock, in sending order, never earlier than the previous
    outgoing.sort()
    latency = lognormal_ns(rng_times, params.latency_median_ms, params.latency_sigma, len(outgoing))
    lines: list[tuple[int, bytes]] = []
    local = 0
    for (ts, _, _, payload), lat in zip(outgoing, latency, strict=True):
        local = max(local + params.read_gap_ns, ts * NS_PER_MS + lat + session.clock_offset_ns)
        lines.append((local, payload))
    conn_id = uuid.UUID(bytes=rng_ids.bytes(16), version=4)
    ack = (
        f'{{"success":true,"ret_msg":"subscribe","conn_id":"{conn_id}","req_id":"{SUBSCRIBE_REQ_ID}","op":"subscribe"}}'
    )
    lines.insert(0, (lines[0][0] - round(params.ack_lead_ms * NS_PER_MS), ack.encode()))
    return Synthesis(lines, basis, summary, session, book_messages, trade_messages, symbol)


def symbol_of(path: str | Path) -> str:
    """The symbol of a recording named ``<symbol lower>_<YYYYMMDD>.gz``."""
    return Path(path).name.split("_", 1)[0].upper()


# -- files --------------------------------------------------------------------------------------------


def write_daily_files(
    lines: Sequence[tuple[int, bytes]], out_dir: str | Path, symbol: str = SYMBOL, *, compresslevel: int = 9
) -> list[Path]:
    """Write ``lines`` as ``<out_dir>/<symbol lower>_<YYYYMMDD>.gz``, one per UTC day of the receive time.

    Deterministic bytes: gzip level 9 (``compresslevel``: another, for a check of the content alone), ``mtime=0``,
    no file name in the header. Each file is written beside its target and renamed into place. Returns the paths
    in day order.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    by_day: dict[str, list[bytes]] = {}
    for local_ts, payload in lines:
        day = datetime.fromtimestamp(local_ts // NS_PER_S, UTC).strftime("%Y%m%d")
        by_day.setdefault(day, []).append(format_line(local_ts, payload))
    paths = []
    for day, chunk in by_day.items():
        path = out / f"{symbol.lower()}_{day}.gz"
        tmp = path.with_name(path.name + ".part")
        with (
            tmp.open("wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=compresslevel, mtime=0) as gz,
        ):
            gz.write(b"".join(chunk))
        os.replace(tmp, path)
        paths.append(path)
    return paths


def generate(
    binance_paths: Sequence[str | Path] = DEFAULT_BINANCE,
    out_dir: str | Path = DEFAULT_OUT,
    seed: int = DEFAULT_SEED,
    params: SampleParams | None = None,
    *,
    compresslevel: int = 9,
    **options: Unpack[SourceOptions],
) -> list[Path]:
    """Generate the Bybit sample into ``out_dir``; return the files written (one per UTC day). ``options``
    are :func:`synthesize`'s; ``compresslevel``: :func:`write_daily_files`'."""
    synth = synthesize(binance_paths, seed, params, **options)
    paths = write_daily_files(synth.lines, out_dir, synth.symbol, compresslevel=compresslevel)
    log.info(
        "wrote %d book and %d trade messages (+1 ack) to %s; %s",
        synth.book_messages,
        synth.trade_messages,
        ", ".join(map(str, paths)),
        synth.summary.describe().replace("\n", "; "),
    )
    return paths


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Generate the Bybit v5 spot half of the sample from a Binance spot capture (BTCUSDT by default).",
        epilog="Model parameters (see the module docstring):",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default %(default)s)")
    parser.add_argument(
        "--binance", type=Path, nargs="+", default=list(DEFAULT_BINANCE), help="Binance files, in order"
    )
    parser.add_argument("--bybit-config", type=Path, default=DEFAULT_BYBIT_CONFIG, help="tick, lot and taker fee")
    parser.add_argument("--binance-config", type=Path, default=DEFAULT_BINANCE_CONFIG, help="Binance taker fee")
    parser.add_argument("--max-binance-messages", type=int, default=None, help="stop after this many Binance lines")
    parser.add_argument("--symbol", default=None, help="the symbol (default: the Binance files' names)")
    parser.add_argument("--tick-size", type=float, default=None, help="Bybit's tick (default: --bybit-config's)")
    parser.add_argument("--lot-size", type=float, default=None, help="Bybit's lot (default: --bybit-config's)")
    parser.add_argument("--depth", type=int, default=DEPTH, help="levels a side written (default %(default)s)")
    group = parser.add_argument_group("model parameters")
    for f in dataclasses.fields(SampleParams):
        group.add_argument(
            "--" + f.name.replace("_", "-"),
            type=type(f.default),
            default=f.default,
            help=f"{f.metadata['help']} (default %(default)s)",
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; prints a summary of what was written."""
    args = _parser().parse_args(argv)
    params = SampleParams(**{f.name: getattr(args, f.name) for f in dataclasses.fields(SampleParams)})
    options = cast(SourceOptions, {name: getattr(args, name) for name in SourceOptions.__annotations__})
    synth = synthesize(args.binance, args.seed, params, **options)
    paths = write_daily_files(synth.lines, args.out, synth.symbol)
    print(f"seed {args.seed}: {synth.book_messages} orderbook.{DEPTH} and {synth.trade_messages} publicTrade messages")
    print(f"Binance recorder clock offset used: {synth.binance.clock_offset_ns / 1e6:.3f} ms")
    print(synth.summary.describe())
    for path in paths:
        print(f"{path}  {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
