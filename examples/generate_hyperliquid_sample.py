"""Generate the Hyperliquid fourth of the shipped sample: the ``BTC`` perpetual derived from the real Binance capture.

The sample's Binance files are a real capture (Binance spot BTCUSDT, 2024-08-08 23:54:13 to 08-09 00:05:04 UTC);
its Bybit and OKX thirds are generated from them (``examples/generate_bybit_sample.py``,
``examples/generate_okx_sample.py``). No Hyperliquid capture of those minutes exists (Hyperliquid's own archive
holds no trades and Tardis lists it from 2024-10-29 only), so this script writes one, in Hyperliquid's public
WebSocket format, as ``arb record`` stores it (``recordings/hyperliquid_linear/btcusdt_<YYYYMMDD>.gz``):

* the three ``subscriptionResponse`` acks (``l2Book``, ``trades``, ``activeAssetCtx`` for ``BTC``) and the info
  endpoint's book the feed asks for at each connection (``{"coin":"BTC","time":...,"levels":[...]}``);
* ``l2Book``: every message the **whole book**, ``LEVELS`` (20) levels a side of ``{"px","sz","n"}``, with the
  venue's ``time`` (ms) and no update id;
* ``trades``: ``{"coin","side","px","sz","time","hash","tid","users"}``, ``side`` the taker's (``B`` bought);
* ``activeAssetCtx``: ``funding`` (the hour's rate), ``openInterest``, ``prevDayPx``, ``dayNtlVlm``, ``premium``,
  ``oraclePx``, ``markPx``, ``midPx``, ``impactPxs``, ``dayBaseVlm``;
* ``{"channel":"pong"}`` every ``PING_INTERVAL_MS``, the answers to the feed's pings.

The model
=========

1. **Lag.** Hyperliquid's book at its time ``t`` is Binance's book as it stood at ``t - lag_ms`` (Binance's
   event time ``E``): Binance USD-M leads Hyperliquid by about 600-700 ms at the peak of the lead-lag, on
   all of the 29 assets Arrakis measured (a modified Hayashi-Yoshida estimator over trades, 16 days to
   2026-02-26: arrakis.finance/blog/crypto-price-discovery). Its trades are Binance's, ``lag_ms`` later.
2. **Basis.** Every price times ``1 + basis_t``: an Ornstein-Uhlenbeck process around ``basis_mean_bps``
   (stationary sd ``basis_std_bps``, half-life ``basis_half_life_s``, no jumps), simulated with the Bybit
   script's :func:`~examples.generate_bybit_sample.simulate_basis` on its own seed. A perpetual trades near
   its oracle: a few bps, not the other venues' jumps.
3. **Book.** Hyperliquid's grid: five significant figures (BTC at 61,000: a tick of 1, the ``tick_size`` of
   ``config/hyperliquid.toml``, checked against :func:`connectors.hyperliquid.instruments.tick_at`) and
   ``szDecimals`` 5 (``lot_size`` 0.00001); bids rounded down, asks up, levels that land on one price summed,
   per-level lognormal size noise and thinning fixed per price (the Bybit model's
   :class:`~examples.generate_bybit_sample.BookModel`), ``n`` (orders at the level) growing with its size.
4. **Cadence.** One whole book every ``book_interval_ms`` (500: Hyperliquid documents ``l2Book`` at least every
   0.5 s; a quiet coin was seen at one in 5 s, docs/hyperliquid.md), its ``time`` the grid time plus
   ``U{0..block_jitter_ms}`` (a block's time), sent whether or not it changed, as ``l2Book`` resends.
5. **Trades.** A ``trade_keep`` share of Binance's taker orders (the trades of one Binance ``T``), each one
   ``trades`` message; price through the basis at the Binance time, on the tick (a taker buy rounded up, a sell
   down), size times a lognormal factor (log-sd ``trade_size_sigma``) on the lot; ``time`` = Binance ``T`` +
   ``lag_ms``; ``hash`` random per message, ``tid`` random 15-digit numbers, ``users`` from a pool of
   ``USER_POOL`` addresses.
6. **Context.** Every ``ctx_interval_ms``: ``oraclePx`` the Binance mid refreshed every ``oracle_interval_ms``
   (Hyperliquid's validators publish the oracle every 3 s, a median of spot prices Binance's is one of),
   ``midPx`` and ``markPx`` the book's mid, ``impactPxs`` its best bid and ask, ``premium`` (mid - oracle) /
   oracle, and ``funding`` Hyperliquid's hourly rate from the hour's mean premium ``P``:
   ``(P + clamp(0.0001 - P, -0.0005, 0.0005)) / 8`` (0.0000125 while the premium is small, as BTC's usually is).
   The hour turns at 00:00:00 UTC inside the session, so a position held on Hyperliquid then is funded.
7. **Clocks.** Receive time = the message's time + a lognormal network latency (median ``latency_median_ms``,
   log-sd ``latency_sigma``) + the Binance recorder's clock offset (-1,276.160 ms), in sending order on one
   connection (a frame never overtakes the one before it), split into files at UTC midnight of the receive
   time, gzip with ``mtime=0``: byte-identical for the same seed and inputs.

Usage::

    python -m examples.generate_hyperliquid_sample [--seed 61] [--out recordings/hyperliquid_linear] [--<param> V]

Every parameter of :class:`HyperliquidParams` is a flag; the committed files were made with the defaults.
What is real and what is not: the Binance book's shape, its changes and its trades are real; the lag, the basis,
Hyperliquid's sizes, order counts, oracle, funding, latencies, hashes, ids and addresses are invented.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_OUT",
    "DEFAULT_SEED",
    "LEVELS",
    "HyperliquidParams",
    "generate",
    "main",
    "synthesize",
]

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import numpy as np

from arb.config import load_venue_config
from arb.events import NS_PER_MS
from connectors.hyperliquid.instruments import tick_at
from connectors.hyperliquid.urls import coin_of
from examples.generate_bybit_sample import (
    DEFAULT_BINANCE,
    DEFAULT_BINANCE_CONFIG,
    ROOT,
    BookModel,
    SampleParams,
    Synthesis,
    simulate_basis,
    summarize_session,
)
from examples.sample_common import (
    BinanceSession,
    grid_formatter,
    noisy_lots,
    read_binance,
    received,
    run_generator,
    same_time_groups,
    symbol_of,
    taker_ticks,
    write_daily_files,
)

DEFAULT_SEED: Final = 61
"""The seed of the committed sample."""
DEFAULT_OUT: Final = ROOT / "recordings" / "hyperliquid_linear"
DEFAULT_HYPERLIQUID_CONFIG: Final = ROOT / "config" / "hyperliquid.toml"
LEVELS: Final = 20
"""Levels a side of every ``l2Book`` message (Hyperliquid's)."""
SZ_DECIMALS: Final = 5
"""BTC's ``szDecimals``: the lot is 10^-5 BTC."""
PING_INTERVAL_MS: Final = 30_000
"""The feed pings every 30 s (``[feed] ping_interval_ms``); each answer is a recorded ``pong``."""
USER_POOL: Final = 48
"""Addresses the trades' ``users`` are drawn from."""
INTEREST_PER_8H: Final = 0.0001
"""Hyperliquid's interest rate component, 0.01 % per 8 hours; its funding is paid hourly, an eighth of it."""
PREMIUM_CLAMP: Final = 0.0005
_MAX_ORDERS: Final = 30


def _param(default: Any, doc: str) -> Any:
    return field(default=default, metadata={"help": doc})


@dataclass(frozen=True, slots=True)
class HyperliquidParams:
    """The model's parameters (module docstring); the defaults made the committed files."""

    lag_ms: int = _param(650, "Hyperliquid's book and trades follow Binance's this much later, ms")
    basis_mean_bps: float = _param(-2.0, "constant part of the basis, bps (Hyperliquid a little cheap)")
    basis_std_bps: float = _param(1.5, "stationary sd of the basis diffusion, bps")
    basis_half_life_s: float = _param(30.0, "half-life of the basis' mean reversion, s")
    basis_quantum_bps: float = _param(1.0, "the basis applied moves in steps of this (0: continuously), bps")
    book_interval_ms: int = _param(500, "one whole l2Book every this many ms")
    block_jitter_ms: int = _param(70, "a book's time = its grid time + U{0..this} ms (a block)")
    binance_levels: int = _param(400, "Binance levels a side read per update")
    qty_sigma: float = _param(0.4, "log-sd of the per-level size factor")
    thin_prob: float = _param(0.08, "probability that a level below the top three is absent")
    trade_keep: float = _param(0.3, "share of Binance's taker orders that trade on Hyperliquid")
    trade_size_sigma: float = _param(0.5, "log-sd of the trade size factor")
    ctx_interval_ms: int = _param(1000, "one activeAssetCtx every this many ms")
    oracle_interval_ms: int = _param(3000, "the oracle price is refreshed every this many ms")
    latency_median_ms: float = _param(60.0, "median network latency Hyperliquid -> recorder, ms")
    latency_sigma: float = _param(0.5, "log-sd of the network latency")

    def __post_init__(self) -> None:
        if self.lag_ms < 0 or self.book_interval_ms <= 0 or self.ctx_interval_ms <= 0 or self.oracle_interval_ms <= 0:
            raise ValueError("lag_ms must be >= 0 and the intervals positive")
        if not 0.0 < self.trade_keep <= 1.0:
            raise ValueError(f"trade_keep must be in (0, 1], got {self.trade_keep}")

    def sample_params(self) -> SampleParams:
        """The Bybit model's parameters this model shares (the basis without jumps, the book's noise)."""
        never = 1e12  # s: the first jump falls after the session
        return SampleParams(
            binance_levels=self.binance_levels, basis_half_life_s=self.basis_half_life_s,
            basis_std_bps=self.basis_std_bps, basis_jump_gap_min_s=never, basis_jump_gap_max_s=never,
            basis_mean_bps=self.basis_mean_bps, basis_quantum_bps=self.basis_quantum_bps,
            qty_sigma=self.qty_sigma, thin_prob=self.thin_prob, trade_size_sigma=self.trade_size_sigma,
            latency_median_ms=self.latency_median_ms, latency_sigma=self.latency_sigma,
        )  # fmt: skip


def _orders(lots: int, lot: float) -> int:
    # Orders resting at a level: more on a larger one, at least one.
    return max(1, min(_MAX_ORDERS, round(math.sqrt(lots * lot * 100.0))))


def _fmt_decimal(value: float, places: int) -> str:
    # A context figure as Hyperliquid writes them: a decimal string without trailing zeros.
    text = f"{value:.{places}f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def synthesize(
    binance_paths: Sequence[str | Path] = DEFAULT_BINANCE,
    seed: int = DEFAULT_SEED,
    params: HyperliquidParams | None = None,
    *,
    hyperliquid_config: str | Path = DEFAULT_HYPERLIQUID_CONFIG,
    binance_config: str | Path = DEFAULT_BINANCE_CONFIG,
    max_binance_messages: int | None = None,
    session: BinanceSession | None = None,
    clock_offset_ns: int | None = None,
) -> Synthesis:
    """Build Hyperliquid's stream in memory (module docstring): ``(receive ns, payload)`` in file order.

    The tick, lot and taker fee come from ``hyperliquid_config`` (the tick is checked against the five
    significant figures at the session's first price); ``max_binance_messages`` reads only the start of the
    Binance capture (a slice: its stream is the whole's up to a few seconds before the slice's end, since every
    random stream is drawn in time order);
    ``session``: the capture already read with :func:`~examples.sample_common.read_binance`;
    ``clock_offset_ns``: the recorder's clock offset to use instead of the capture's (a slice's differs).
    """
    params = params or HyperliquidParams()
    shared = params.sample_params()
    symbol = symbol_of(binance_paths[0])
    coin = coin_of(symbol)
    venue = load_venue_config(hyperliquid_config, "hyperliquid")
    binance_fees = load_venue_config(binance_config, "binance").fees
    tick, lot = venue.instrument.tick_size, venue.instrument.lot_size
    if session is None:
        session = read_binance(binance_paths, levels=params.binance_levels, max_messages=max_binance_messages)
    first = session.books[0]
    rule = tick_at(Decimal(repr(float(first.bid_px[0]))), SZ_DECIMALS)
    if float(rule) != tick or lot != 10.0**-SZ_DECIMALS:
        raise ValueError(f"the config's tick {tick} and lot {lot} are not BTC's at {first.bid_px[0]} ({rule})")
    fmt_px, fmt_qty = grid_formatter(tick), grid_formatter(lot)

    # one stream per use, each drawn in time order, so that a slice of the capture gives a prefix of the whole
    seed_basis, *seeds = np.random.SeedSequence(seed).spawn(9)
    rng_book, rng_block, rng_keep, rng_sizes, rng_ids, rng_users, rng_ctx, rng_latency = (
        np.random.Generator(np.random.PCG64(s)) for s in seeds
    )
    lag_ns = params.lag_ms * NS_PER_MS
    start_ns = first.exch_ts + lag_ns  # Hyperliquid's first book: Binance's first, lag_ms later
    end_ns = session.books[-1].exch_ts + lag_ns
    basis = simulate_basis(seed_basis, first.exch_ts, end_ns, shared)
    summary = summarize_session(basis, session, binance_fees.taker + venue.fees.taker)
    model = BookModel.create(rng_book, tick, lot, shared, depth=LEVELS)
    binance_times = np.array([b.exch_ts for b in session.books], np.int64)
    outgoing: list[tuple[int, int, int, bytes]] = []  # (time ms, kind, index, payload): sending order

    def book_at(t_ns: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        # Hyperliquid's book at its time t_ns: Binance's as of t_ns - lag, through the basis then.
        k = max(0, int(np.searchsorted(binance_times, t_ns - lag_ns, side="right")) - 1)
        state = session.books[k]
        scale = basis.scale_at(state.exch_ts)
        bids = model.side(state.bid_px, state.bid_qty, scale, bid=True)
        asks = model.side(state.ask_px, state.ask_qty, scale, bid=False)
        return sorted(bids.items(), reverse=True), sorted(asks.items())

    def levels_text(side: list[tuple[int, int]]) -> str:
        return ",".join(f'{{"px":"{fmt_px(p)}","sz":"{fmt_qty(q)}","n":{_orders(q, lot)}}}' for p, q in side)

    interval_ns = params.book_interval_ms * NS_PER_MS
    grid = np.arange(start_ns - start_ns % interval_ns + interval_ns, end_ns, interval_ns, dtype=np.int64)
    jitter = rng_block.integers(0, params.block_jitter_ms + 1, len(grid)).tolist()
    mids: list[tuple[int, float, float, float]] = []  # (time ms, mid, best bid, best ask) of each book
    last_ms = 0
    for g, t_grid in enumerate(grid.tolist()):
        t_ms = max(last_ms + 1, t_grid // NS_PER_MS + jitter[g])
        last_ms = t_ms
        bids, asks = book_at(t_ms * NS_PER_MS)
        data = f'{{"coin":"{coin}","time":{t_ms},"levels":[[{levels_text(bids)}],[{levels_text(asks)}]]}}'
        if g == 0:  # the info endpoint's answer the feed fetched into the stream, just before the first push
            outgoing.append((t_ms, 0, len(outgoing), data.encode()))
        outgoing.append((t_ms, 1, len(outgoing), f'{{"channel":"l2Book","data":{data}}}'.encode()))
        mids.append((t_ms, (bids[0][0] + asks[0][0]) * tick / 2, bids[0][0] * tick, asks[0][0] * tick))
    book_messages = len(outgoing)

    # trades: a share of Binance's taker orders (its trades of one T), lag_ms later, from the first book on
    trades = [t for t in session.trades if t.exch_ts + lag_ns >= mids[0][0] * NS_PER_MS]
    groups = same_time_groups([t.exch_ts for t in trades])
    keep = (rng_keep.random(len(groups)) < params.trade_keep).tolist()
    sizes = rng_sizes.standard_normal(len(trades)).tolist()
    users = [f"0x{rng_users.bytes(20).hex()}" for _ in range(USER_POOL)]
    sigma = params.trade_size_sigma
    for g, members in enumerate(groups):
        if not keep[g]:
            continue
        exch_ts = trades[members[0]].exch_ts
        t_ms = (exch_ts + lag_ns) // NS_PER_MS
        scale = basis.scale_at(exch_ts)
        tx_hash = f"0x{rng_ids.bytes(32).hex()}"
        items = []
        for j in members:
            trade = trades[j]
            px = taker_ticks(trade.px * scale / tick, trade.taker_buy)
            lots = noisy_lots(trade.qty, sizes[j], sigma, lot)
            tid = int(rng_ids.integers(10**14, 10**15))
            buyer, seller = (users[int(k)] for k in rng_ids.integers(0, USER_POOL, 2))
            items.append(
                f'{{"coin":"{coin}","side":"{"B" if trade.taker_buy else "A"}","px":"{fmt_px(px)}",'
                f'"sz":"{fmt_qty(lots)}","time":{t_ms},"hash":"{tx_hash}","tid":{tid},'
                f'"users":["{buyer}","{seller}"]}}'
            )
        outgoing.append((t_ms, 2, len(outgoing), f'{{"channel":"trades","data":[{",".join(items)}]}}'.encode()))
    trade_messages = len(outgoing) - book_messages

    # the perpetual's context every ctx_interval_ms: oracle (Binance's mid, refreshed every oracle_interval_ms),
    # mark and mid (the book's), premium, and the hour's funding from the hour's mean premium
    book_ms = np.array([m[0] for m in mids], np.int64)
    binance_mid = [(float(b.bid_px[0]) + float(b.ask_px[0])) / 2 for b in session.books]
    open_interest = 19_000.0 + 2_000.0 * float(rng_ctx.random())
    day_volume = 1.2e9 + 3e8 * float(rng_ctx.random())
    prev_day = binance_mid[0] * (1.0 + 0.02 * float(rng_ctx.standard_normal()))
    hour_premiums: list[float] = []
    hour = -1
    oracle = 0.0
    ctx_ns = params.ctx_interval_ms * NS_PER_MS
    oracle_ns = params.oracle_interval_ms * NS_PER_MS
    for t_ns in range(int(grid[0]) - int(grid[0]) % ctx_ns + ctx_ns, end_ns, ctx_ns):
        if t_ns % oracle_ns == 0 or not oracle:
            k = max(0, int(np.searchsorted(binance_times, t_ns, side="right")) - 1)
            oracle = binance_mid[k]
        b = max(0, int(np.searchsorted(book_ms, t_ns // NS_PER_MS, side="right")) - 1)
        _, mid, best_bid, best_ask = mids[b]
        premium = (mid - oracle) / oracle
        if t_ns // (3600 * 1000 * NS_PER_MS) != hour:
            hour, hour_premiums = t_ns // (3600 * 1000 * NS_PER_MS), []
        hour_premiums.append(premium)
        mean_premium = sum(hour_premiums) / len(hour_premiums)
        rate = (mean_premium + min(PREMIUM_CLAMP, max(-PREMIUM_CLAMP, INTEREST_PER_8H - mean_premium))) / 8
        open_interest += float(rng_ctx.normal(0.0, 2.0))
        ctx = (
            f'{{"funding":"{_fmt_decimal(rate, 10)}","openInterest":"{_fmt_decimal(open_interest, SZ_DECIMALS)}",'
            f'"prevDayPx":"{_fmt_decimal(prev_day, 1)}","dayNtlVlm":"{_fmt_decimal(day_volume, 2)}",'
            f'"premium":"{_fmt_decimal(premium, 8)}","oraclePx":"{_fmt_decimal(oracle, 1)}",'
            f'"markPx":"{_fmt_decimal(mid, 1)}","midPx":"{_fmt_decimal(mid, 1)}",'
            f'"impactPxs":["{_fmt_decimal(best_bid, 1)}","{_fmt_decimal(best_ask, 1)}"],'
            f'"dayBaseVlm":"{_fmt_decimal(day_volume / mid, SZ_DECIMALS)}"}}'
        )
        text = f'{{"channel":"activeAssetCtx","data":{{"coin":"{coin}","ctx":{ctx}}}}}'
        outgoing.append((t_ns // NS_PER_MS, 3, len(outgoing), text.encode()))
    for t_ms in range(mids[0][0] + PING_INTERVAL_MS, end_ns // NS_PER_MS, PING_INTERVAL_MS):
        outgoing.append((t_ms, 4, len(outgoing), b'{"channel":"pong"}'))

    book_options = ',"nSigFigs":null,"mantissa":null'  # the l2Book ack names its options (null: the default)
    acks = [
        f'{{"channel":"subscriptionResponse","data":{{"method":"subscribe","subscription":{{"type":"{kind}",'
        f'"coin":"{coin}"{book_options if kind == "l2Book" else ""}}}}}}}'.encode()
        for kind in ("l2Book", "trades", "activeAssetCtx")
    ]
    offset = session.clock_offset_ns if clock_offset_ns is None else clock_offset_ns
    lines = received(outgoing, acks, rng_latency, shared, offset)  # shared: params' latency, the read gap, ack lead
    return Synthesis(lines, basis, summary, session, book_messages, trade_messages, symbol)


def generate(
    out_dir: str | Path = DEFAULT_OUT,
    seed: int = DEFAULT_SEED,
    params: HyperliquidParams | None = None,
    **options: Any,
) -> list[Path]:
    """Generate the Hyperliquid sample into ``out_dir``; the files written, one per UTC day (``options``:
    :func:`synthesize`'s keywords)."""
    synth = synthesize(seed=seed, params=params, **options)
    return write_daily_files(synth.lines, out_dir, synth.symbol)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; prints a summary of what was written."""
    description = "Generate Hyperliquid's BTC perpetual, the sample's fourth venue, from the Binance capture."
    return run_generator(argv, synthesize, HyperliquidParams(), DEFAULT_SEED, DEFAULT_OUT, description)


if __name__ == "__main__":
    raise SystemExit(main())
