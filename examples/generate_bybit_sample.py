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
import logging
import math
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict, Unpack, cast

import numpy as np

from arb.config import VenueConfig, load_venue_config
from arb.events import NS_PER_MS, NS_PER_S

if __package__:  # imported, or run as python -m examples.generate_bybit_sample
    from examples import sample_common as common
else:  # run as python examples/generate_bybit_sample.py: its folder is on sys.path, the repository root may not be
    import sample_common as common  # type: ignore[no-redef, import-not-found]

log = logging.getLogger(__name__)

# The Binance side, the grid's decimals and the files are sample_common's (every generator's): their names stay here.
BinanceBook = common.BinanceBook
BinanceSession = common.BinanceSession
BinanceTrade = common.BinanceTrade
grid_formatter = common.grid_formatter
lognormal_ns = common.lognormal_ns
read_binance = common.read_binance
symbol_of = common.symbol_of
write_daily_files = common.write_daily_files

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

SYMBOL = common.SYMBOL
"""The sample's symbol; another comes from the Binance files' names (``ethusdt_20240808.gz``) or ``--symbol``."""
DEPTH = 50
"""Levels a side of ``orderbook.50``."""
SUBSCRIBE_REQ_ID = "1"
"""``req_id`` the recorder sent with its one subscribe request (both topics)."""

# -- model parameters (defaults of SampleParams) -----------------------------------------------------
BINANCE_LEVELS = common.BINANCE_LEVELS
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

    def scale_at(self, t_ns: int) -> float:
        """What Binance's prices are multiplied by at ``t_ns``: ``1 + basis / 10,000``."""
        return 1.0 + self.at(t_ns) / 1e4


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
        ticks = (np.floor(scaled + common.EPS) if bid else np.ceil(scaled - common.EPS)).astype(np.int64)
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

    def changes(
        self, books: Sequence[BinanceBook], basis: BasisPath
    ) -> Iterator[tuple[int, BinanceBook, list[tuple[int, int]], list[tuple[int, int]]]]:
        """The venue's book after each of Binance's ``books`` (through ``basis`` at its time) that changed it:
        ``(index in books, Binance's book, bid levels, ask levels)``; the first book whole (a snapshot), then
        :func:`diff_levels` of the one before (the changed and new levels, the removed ones with size 0)."""
        bids: Side = {}
        asks: Side = {}
        for i, state in enumerate(books):
            scale = basis.scale_at(state.exch_ts)
            new_bids = self.side(state.bid_px, state.bid_qty, scale, bid=True)
            new_asks = self.side(state.ask_px, state.ask_qty, scale, bid=False)
            if not i:
                yield i, state, sorted(new_bids.items(), reverse=True), sorted(new_asks.items())
            elif new_bids != bids or new_asks != asks:
                yield i, state, diff_levels(bids, new_bids, True), diff_levels(asks, new_asks, False)
            bids, asks = new_bids, new_asks


def diff_levels(old: Side, new: Side, descending: bool) -> list[tuple[int, int]]:
    """Changed or new levels with their size, removed ones with 0, in book order."""
    out = [(p, q) for p, q in new.items() if old.get(p) != q]
    out += [(p, 0) for p in old if p not in new]
    out.sort(reverse=descending)
    return out


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


@dataclass(frozen=True, slots=True)
class SpotSource:
    """What a spot venue's stream is made from (:func:`spot_source`), Bybit's here and OKX's alike."""

    symbol: str
    session: BinanceSession
    tick: float
    lot: float
    fmt_px: Callable[[int], str]
    """Ticks as the venue writes a price (:func:`grid_formatter`)."""
    fmt_qty: Callable[[int], str]
    basis: BasisPath
    summary: BasisSummary
    model: BookModel
    rng_times: np.random.Generator
    """Push and trade jitters, latencies (one random stream per use, each drawn in time order)."""
    rng_trades: np.random.Generator
    """Trade sizes."""
    rng_ids: np.random.Generator
    """Sequence numbers, trade ids, connection ids."""

    def books(self, push_ms: Sequence[int]) -> Iterator[tuple[int, int, list[tuple[int, int]], list[tuple[int, int]]]]:
        """The venue's book messages: ``(index of the Binance book, push time ms, bid levels, ask levels)`` for every
        Binance book that changed the venue's (:meth:`BookModel.changes`); the push time is that book's ``E`` +
        ``push_ms[index]``, never before the message before."""
        ts = 0
        for i, state, bids, asks in self.model.changes(self.session.books, self.basis):
            ts = max(ts, state.exch_ts // NS_PER_MS + push_ms[i])
            yield i, ts, bids, asks

    def trades_from(self, start_ms: int) -> tuple[list[BinanceTrade], list[float]]:
        """Binance's trades from ``start_ms`` (the venue's snapshot) on, each with a standard normal draw for its
        size (:func:`~examples.sample_common.noisy_lots`)."""
        trades = [t for t in self.session.trades if t.exch_ts // NS_PER_MS >= start_ms]
        return trades, self.rng_trades.standard_normal(len(trades)).tolist()


def spot_source(
    venue: VenueConfig,
    binance_paths: Sequence[str | Path],
    seed: int,
    params: SampleParams,
    depth: int,
    *,
    binance_config: str | Path,
    symbol: str | None,
    tick_size: float | None,
    lot_size: float | None,
    max_binance_messages: int | None,
    session: BinanceSession | None,
) -> SpotSource:
    """Read what a spot venue's stream is made from, for :func:`synthesize` and the OKX script's.

    ``symbol`` defaults to the first Binance file's; the tick and lot are ``venue``'s (``tick_size``/``lot_size``
    override them); ``session``: ``binance_paths`` already read with :func:`read_binance` (otherwise read here,
    the first ``max_binance_messages`` lines if given). ``seed`` gives the basis (from the first Binance book to
    the last book or trade), the book model of ``depth`` levels a side and three more random streams; the
    summary's threshold is both taker fees (Binance's from ``binance_config``) plus ``SLIPPAGE_BPS``.
    """
    symbol = symbol or symbol_of(binance_paths[0])
    binance_fees = load_venue_config(binance_config, "binance").fees
    tick = venue.instrument.tick_size if tick_size is None else tick_size
    lot = venue.instrument.lot_size if lot_size is None else lot_size
    if session is None:
        session = read_binance(binance_paths, levels=params.binance_levels, max_messages=max_binance_messages)
    seed_basis, *seeds = np.random.SeedSequence(seed).spawn(5)
    rng_book, rng_times, rng_trades, rng_ids = (np.random.Generator(np.random.PCG64(s)) for s in seeds)
    start_ns = session.books[0].exch_ts
    end_ns = max(session.books[-1].exch_ts, session.trades[-1].exch_ts if session.trades else 0)
    basis = simulate_basis(seed_basis, start_ns, end_ns, params)
    summary = summarize_session(basis, session, binance_fees.taker + venue.fees.taker)
    model = BookModel.create(rng_book, tick, lot, params, depth)
    fmt_px, fmt_qty = grid_formatter(tick), grid_formatter(lot)
    return SpotSource(
        symbol, session, tick, lot, fmt_px, fmt_qty, basis, summary, model, rng_times, rng_trades, rng_ids
    )


def summarize_session(basis: BasisPath, session: BinanceSession, taker_fees: float) -> BasisSummary:
    """:func:`summarize_basis` over the Binance books of ``session``, against ``taker_fees`` (both venues' taker
    fees, a fraction) plus ``SLIPPAGE_BPS``."""
    threshold = taker_fees * 1e4 + SLIPPAGE_BPS
    return summarize_basis(basis, session.books[0].exch_ts, session.books[-1].exch_ts, threshold)


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
    if not 0 < depth <= DEPTH:
        raise ValueError(f"depth must be in 1..{DEPTH}, got {depth}")
    src = spot_source(
        load_venue_config(bybit_config, "bybit"), binance_paths, seed, params, depth, binance_config=binance_config,
        symbol=symbol, tick_size=tick_size, lot_size=lot_size, max_binance_messages=max_binance_messages,
        session=session,
    )  # fmt: skip
    symbol, session, basis, fmt_px, fmt_qty = src.symbol, src.session, src.basis, src.fmt_px, src.fmt_qty
    book_topic, trade_topic = f"orderbook.{DEPTH}.{symbol}", f"publicTrade.{symbol}"

    # (ts ms, kind, index) sorts the messages in the order Bybit sends them on one connection.
    outgoing: list[tuple[int, int, int, bytes]] = []

    # order book: a snapshot, then a delta whenever the top 50 changed
    n_books = len(session.books)
    push = src.rng_times.integers(0, params.push_jitter_ms + 1, n_books).tolist()
    lag = src.rng_times.integers(1, params.cts_lag_ms + 1, n_books).tolist()
    seq_steps = src.rng_ids.integers(params.seq_step_min, params.seq_step_max + 1, n_books).tolist()
    update_id = int(src.rng_ids.integers(1_000_000, 9_000_000))
    seq = int(src.rng_ids.integers(40_000_000_000, 60_000_000_000))
    for i, ts, b_levels, a_levels in src.books(push):
        if i:
            update_id += 1
        seq += seq_steps[i]
        text = (
            f'{{"topic":"{book_topic}","type":"{"delta" if i else "snapshot"}","ts":{ts},"data":{{"s":"{symbol}",'
            f'"b":[{levels_json(b_levels, fmt_px, fmt_qty)}],'
            f'"a":[{levels_json(a_levels, fmt_px, fmt_qty)}],'
            f'"u":{update_id},"seq":{seq}}},"cts":{ts - lag[i]}}}'
        )
        outgoing.append((ts, 0, len(outgoing), text.encode()))
    book_messages = len(outgoing)

    # trades: one message per Binance trade time, from the snapshot on
    trades, sizes = src.trades_from(outgoing[0][0])
    id_steps = src.rng_ids.integers(1, params.trade_id_step_max + 1, len(trades)).tolist()
    trade_id = TRADE_ID_BASE + int(src.rng_ids.integers(10_000_000, 90_000_000))
    sigma = params.trade_size_sigma
    groups = common.same_time_groups([t.exch_ts for t in trades])
    t_jitter = src.rng_times.integers(0, params.trade_jitter_ms + 1, len(groups)).tolist()
    t_push = src.rng_times.integers(0, params.trade_push_ms + 1, len(groups)).tolist()
    last_t = last_ts = 0
    for g, members in enumerate(groups):
        exch_ts = trades[members[0]].exch_ts
        t_ms = max(last_t, exch_ts // NS_PER_MS + t_jitter[g])
        ts = max(last_ts, t_ms + t_push[g])
        last_t, last_ts = t_ms, ts
        scale = basis.scale_at(exch_ts)
        items = []
        for j in members:
            trade = trades[j]
            px_ticks = common.taker_ticks(trade.px * scale / src.tick, trade.taker_buy)
            lots = common.noisy_lots(trade.qty, sizes[j], sigma, src.lot)
            trade_id += id_steps[j]
            items.append(
                f'{{"i":"{trade_id}","T":{t_ms},"p":"{fmt_px(px_ticks)}","v":"{fmt_qty(lots)}",'
                f'"S":"{"Buy" if trade.taker_buy else "Sell"}","s":"{symbol}","BT":false}}'
            )
        text = f'{{"topic":"{trade_topic}","ts":{ts},"type":"snapshot","data":[{",".join(items)}]}}'
        outgoing.append((ts, 1, len(outgoing), text.encode()))
    trade_messages = len(outgoing) - book_messages

    # receive times on the Binance recorder's clock, in sending order, never earlier than the previous
    conn_id = uuid.UUID(bytes=src.rng_ids.bytes(16), version=4)
    ack = (
        f'{{"success":true,"ret_msg":"subscribe","conn_id":"{conn_id}","req_id":"{SUBSCRIBE_REQ_ID}","op":"subscribe"}}'
    )
    lines = common.received(outgoing, [ack.encode()], src.rng_times, params, session.clock_offset_ns)
    return Synthesis(lines, basis, src.summary, session, book_messages, trade_messages, symbol)


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
    parser = common.sample_parser(
        DEFAULT_SEED,
        DEFAULT_OUT,
        description="Generate the Bybit v5 spot half of the sample from a Binance spot capture (BTCUSDT by default).",
        epilog="Model parameters (see the module docstring):",
    )
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
    common.add_model_flags(parser, SampleParams())
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; prints a summary of what was written."""
    args = _parser().parse_args(argv)
    options = cast(SourceOptions, {name: getattr(args, name) for name in SourceOptions.__annotations__})
    synth = synthesize(args.binance, args.seed, common.model_params(args, SampleParams()), **options)
    paths = write_daily_files(synth.lines, args.out, synth.symbol)
    common.print_written(
        paths,
        f"seed {args.seed}: {synth.book_messages} orderbook.{DEPTH} and {synth.trade_messages} publicTrade messages",
        f"Binance recorder clock offset used: {synth.binance.clock_offset_ns / 1e6:.3f} ms",
        synth.summary.describe(),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
