"""Generate the multi-symbol part of the shipped sample, so that ``arb scan`` has something to rank offline.

The sample in ``recordings/`` covers one 11-minute session (2024-08-08 23:54:13 to 08-09 00:05:04 UTC) on
Binance, Bybit and OKX spot. BTCUSDT ships on all three (``generate_bybit_sample.py``,
``generate_okx_sample.py``). This script writes two more symbols, each with spreads of its own, so that the
scan's (symbol, buy venue, sell venue) ranking has a clear first, clear middles and a clear last:

* **ETHUSDT**: the Binance half is the real capture (``recordings/binance_spot/ethusdt_2024080{8,9}.gz``,
  nkaz001/hftbacktest's ``examples/spot``, MIT; read here, never written). Bybit and OKX are generated from it
  with the Bybit and OKX models (their functions, seeds and parameters of their own: :data:`MODELS`), on ETH's
  tick and lot. Their bases are small: **nothing clears the fees**, on any pair.
* **SOLUSDT**: all three venues generated. The Binance half is the real ETH book and trades **scaled to SOL's
  price** (:data:`SOL_PRICE` at the session's start) and re-rounded to SOL's tick and lot: bids round down and
  asks up, ETH levels that land on one SOL price are summed, the top :data:`BINANCE_SOL_DEPTH` levels a side
  are kept; sizes are divided by the price factor (the same notional). It is written in Binance's spot wire
  format: a ``depthUpdate`` diff before the inline REST snapshot (``{"lastUpdateId":...,"bids":...,"asks":...}``,
  whose ``lastUpdateId`` is that diff's ``u``), then a ``depthUpdate`` whenever the top levels changed, with
  ``U`` = previous ``u`` + 1 (levels that changed, levels removed or pushed out of the top with size 0), and
  every trade as a ``trade`` message with ids counting up by one; receive times and ``E``/``T`` are the ETH
  messages' own. Bybit and OKX SOL are generated from that Binance SOL half like the others. Bybit's basis
  **jumps up often** and OKX sits a little cheap: buying on OKX and selling on Bybit clears the fees by more
  than 5 bps for a large part of the session, in long episodes; buying on Binance and selling on Bybit
  clears them less often; the other pairs never.

The models (``SampleParams`` of ``examples/generate_bybit_sample.py``; the basis is each venue's price over
Binance's, bps):

===========  ======  ====  =====  =========  =========================  ===========  =====  =====
symbol       venue   seed  mean   diffusion  jumps                      half-life    step   depth
===========  ======  ====  =====  =========  =========================  ===========  =====  =====
ETHUSDT      Bybit   31    0      2.0 bps    +-N(8, 2) every 60-150 s   15 s         1 bps  8
ETHUSDT      OKX     37    0      1.5 bps    +-N(6, 2) every 80-200 s   25 s         1 bps  8
SOLUSDT      Bybit   41    +6     2.0 bps    +N(30, 4) every 40-90 s    15 s         1 bps  8
SOLUSDT      OKX     43    -6     2.0 bps    +-N(6, 2) every 80-200 s   30 s         1 bps  8
===========  ======  ====  =====  =========  =========================  ===========  =====  =====

"step": the venue reprices in steps (``basis_quantum_bps``): its basis moves only once the simulated one is a
step away from it. A real venue's book moves a few levels at a time; without the steps a basis that moves
between any two updates would rewrite every level of every message (as the BTC Bybit half does), and the
files would be much larger. "depth": levels a side written (Bybit's topic stays ``orderbook.50``, OKX's
``books``: the top of each, as the BTC OKX half keeps 20 of OKX's 400). Everything else (latencies, size
noise, thinning, ids) is the Bybit and OKX scripts' defaults (OKX's network latency 40 ms).

Usage::

    python -m examples.generate_scan_sample [--out recordings] [--symbols ETHUSDT SOLUSDT] [--no-measure]

It prints what the files hold: for every symbol the venues share (BTCUSDT included) and every ordered pair,
the seconds the net edge (the sell venue's bid over the buy venue's ask less both taker fees of ``config/``,
the scan's definition) spent above :data:`THRESHOLD_BPS`, its episodes and its peak, measured on the books
rebuilt from the files with arb's own converter. Same inputs, byte-identical files (seeded, gzip ``mtime=0``,
``math.exp``, no SIMD-dependent math).
"""

from __future__ import annotations

__all__ = [
    "BINANCE_SOL_DEPTH",
    "ETH_BINANCE",
    "MODELS",
    "SOL_PRICE",
    "THRESHOLD_BPS",
    "PairEdge",
    "VenueModel",
    "generate",
    "main",
    "measure_pairs",
    "pair_edges",
    "taker_fees",
    "venue_tops",
    "write_binance_scaled",
]

import argparse
import dataclasses
import filecmp
import itertools
import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from arb.book import OrderBook
from arb.config import load_venue_config
from arb.events import (
    DEPTH_CLEAR_EVENT,
    DEPTH_EVENT,
    DEPTH_SNAPSHOT_EVENT,
    EVENT_KIND_MASK,
    LOCAL_EVENT,
    NS_PER_S,
    EventArray,
)
from arb.recording.convert import convert_files
from examples import generate_bybit_sample as bybit_gen
from examples import generate_okx_sample as okx_gen
from examples.generate_bybit_sample import SampleParams
from examples.sample_common import (
    EPS,
    BinanceBook,
    BinanceSession,
    capture_lines,
    grid_formatter,
    print_written,
    read_binance,
    symbol_of,
    taker_ticks,
    write_daily_files,
)

ROOT = bybit_gen.ROOT
DEFAULT_OUT = ROOT / "recordings"
DAYS = ("20240808", "20240809")
ETH_BINANCE = tuple(ROOT / "recordings" / "binance_spot" / f"ethusdt_{day}.gz" for day in DAYS)
"""The real Binance ETHUSDT capture every new file derives from."""
VENUES = ("binance", "bybit", "okx")
THRESHOLD_BPS = 5.0
"""The scan's default threshold on the net edge, bps."""

SOL_PRICE = 160.0
"""SOLUSDT's price at the session's start (about its price then): the ETH book is scaled to it, USDT."""
BINANCE_SOL_DEPTH = 15
"""Levels a side of the generated Binance SOL book."""
BINANCE_SOL_TICK = 0.01
BINANCE_SOL_LOT = 0.001
"""Binance spot SOLUSDT's PRICE_FILTER and LOT_SIZE steps."""
BINANCE_SOL_SEED = 53
"""Seeds the Binance SOL half's update and trade ids (nothing else of it is random)."""
_UPDATE_STEP_MAX = 12  # a diff spans U{1..this} update ids (Binance's own count events within 100 ms)


@dataclass(frozen=True, slots=True)
class VenueModel:
    """One generated venue of one symbol: the script that writes it, its seed, model and the symbol's rules."""

    venue: str
    seed: int
    params: SampleParams
    tick: float
    lot: float
    depth: int


def _steps(**kw: Any) -> SampleParams:
    return SampleParams(basis_quantum_bps=1.0, **kw)


MODELS: dict[str, tuple[VenueModel, ...]] = {
    # nothing clears the fees: small jumps, both ways, on both venues
    "ETHUSDT": (
        VenueModel(
            "bybit",
            31,
            _steps(basis_std_bps=2.0, basis_half_life_s=15.0, basis_jump_mean_bps=8.0, basis_jump_std_bps=2.0),
            tick=0.01,  # Bybit spot ETHUSDT: tick 0.01, basePrecision 0.00001
            lot=0.00001,
            depth=8,
        ),
        VenueModel(
            "okx",
            37,
            _steps(
                basis_std_bps=1.5,
                basis_half_life_s=25.0,
                basis_jump_gap_min_s=80.0,
                basis_jump_gap_max_s=200.0,
                basis_jump_mean_bps=6.0,
                basis_jump_std_bps=2.0,
                latency_median_ms=40.0,
            ),
            tick=0.01,  # OKX ETH-USDT: tickSz 0.01, lotSz 0.000001
            lot=0.000001,
            depth=8,
        ),
    ),
    # Bybit rich in frequent upward jumps, OKX a little cheap: buy OKX, sell Bybit is the trade
    "SOLUSDT": (
        VenueModel(
            "bybit",
            41,
            _steps(
                basis_mean_bps=6.0,
                basis_std_bps=2.0,
                basis_half_life_s=15.0,
                basis_jump_gap_min_s=40.0,
                basis_jump_gap_max_s=90.0,
                basis_jump_mean_bps=30.0,
                basis_jump_std_bps=4.0,
                basis_jump_up_prob=1.0,
            ),
            tick=0.01,  # Bybit spot SOLUSDT: tick 0.01; lot assumed 0.001 (check instruments-info)
            lot=0.001,
            depth=8,
        ),
        VenueModel(
            "okx",
            43,
            _steps(
                basis_mean_bps=-6.0,
                basis_std_bps=2.0,
                basis_half_life_s=30.0,
                basis_jump_gap_min_s=80.0,
                basis_jump_gap_max_s=200.0,
                basis_jump_mean_bps=6.0,
                basis_jump_std_bps=2.0,
                latency_median_ms=40.0,
            ),
            tick=0.01,  # OKX SOL-USDT: tickSz 0.01; lot assumed 0.000001 (check /public/instruments)
            lot=0.000001,
            depth=8,
        ),
    ),
}
"""The generated venues of each new symbol (Binance: the real ETH capture, or SOL scaled from it)."""


# -- Binance SOL: the real ETH book scaled ------------------------------------------------------------


def _binance_formatter(step: float) -> Any:
    # Binance writes every price and quantity with 8 decimals ("160.01000000", "12.34500000").
    fmt = grid_formatter(step)
    places = len(fmt(1).partition(".")[2])
    pad = "0" * (8 - places)
    return lambda n: fmt(n) + pad


def _scaled_side(
    px: np.ndarray[Any, Any], qty: np.ndarray[Any, Any], factor: float, tick: float, lot: float, bid: bool, depth: int
) -> dict[int, int]:
    """One side of a Binance book scaled by ``factor`` onto ``tick`` (bids down, asks up; levels landing on one
    price summed) and ``lot`` (sizes divided by ``factor``, at least one lot), the best ``depth`` levels."""
    scaled = px * factor / tick
    ticks = (np.floor(scaled + EPS) if bid else np.ceil(scaled - EPS)).astype(np.int64)
    starts = np.flatnonzero(np.r_[True, ticks[1:] != ticks[:-1]])[:depth]
    if len(starts) < depth:
        raise ValueError(f"only {len(starts)} levels from {len(px)}: read more levels of the source book")
    ends = [*starts[1:].tolist(), int(np.flatnonzero(ticks == ticks[starts[-1]])[-1]) + 1]
    sums = np.add.reduceat(qty[: ends[-1]], starts)
    lots = np.maximum(1, np.rint(sums / factor / lot)).astype(np.int64)
    return dict(zip(ticks[starts].tolist(), lots.tolist(), strict=True))


def _levels(side: dict[int, int], fmt_px: Any, fmt_qty: Any, descending: bool) -> str:
    return ",".join(
        f'["{fmt_px(p)}","{fmt_qty(q) if q else "0.00000000"}"]' for p, q in sorted(side.items(), reverse=descending)
    )


def _diff(old: dict[int, int], new: dict[int, int]) -> dict[int, int]:
    out = {p: q for p, q in new.items() if old.get(p) != q}
    out.update((p, 0) for p in old if p not in new)
    return out


def write_binance_scaled(
    source: Sequence[str | Path] = ETH_BINANCE,
    out_dir: str | Path = DEFAULT_OUT / "binance_spot",
    symbol: str = "SOLUSDT",
    price: float = SOL_PRICE,
    *,
    tick: float = BINANCE_SOL_TICK,
    lot: float = BINANCE_SOL_LOT,
    depth: int = BINANCE_SOL_DEPTH,
    seed: int = BINANCE_SOL_SEED,
    max_messages: int | None = None,
    session: BinanceSession | None = None,
) -> list[Path]:
    """Write a Binance spot recording of ``symbol``: the ``source`` capture's book and trades scaled to ``price``.

    See the module docstring for the model. ``max_messages`` reads only that many source lines: the files
    then hold a prefix of the full run's lines (the random ids are drawn one per message, in order).
    ``session``: ``source`` already read with :func:`read_binance`. Returns the files, one per UTC day.
    """
    if session is None:
        session = read_binance(source, max_messages=max_messages)
    books = {b.local_ts: b for b in session.books}
    first = session.books[0]
    factor = price / ((float(first.bid_px[0]) + float(first.ask_px[0])) / 2.0)
    fmt_px, fmt_qty = _binance_formatter(tick), _binance_formatter(lot)
    lower, stream = symbol.lower(), f"{symbol.lower()}@depth@100ms"
    rng = np.random.Generator(np.random.PCG64(seed))
    update_id = int(rng.integers(10_000_000_000, 20_000_000_000))
    trade_id = int(rng.integers(400_000_000, 600_000_000))
    step_rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed).spawn(1)[0]))

    def side_pair(book: BinanceBook) -> tuple[dict[int, int], dict[int, int]]:
        return (
            _scaled_side(book.bid_px, book.bid_qty, factor, tick, lot, True, depth),
            _scaled_side(book.ask_px, book.ask_qty, factor, tick, lot, False, depth),
        )

    def depth_line(e_ms: int, first_id: int, last_id: int, b: dict[int, int], a: dict[int, int]) -> bytes:
        return (
            f'{{"stream":"{stream}","data":{{"e":"depthUpdate","E":{e_ms},"s":"{symbol}","U":{first_id},'
            f'"u":{last_id},"b":[{_levels(b, fmt_px, fmt_qty, True)}],"a":[{_levels(a, fmt_px, fmt_qty, False)}]}}}}'
        ).encode()

    lines: list[tuple[int, bytes]] = []
    bids: dict[int, int] = {}
    asks: dict[int, int] = {}
    pending: tuple[int, int] | None = None  # the last diff before the snapshot: (local ns, E ms)
    synced = False
    for path, local_ts, payload in capture_lines(source, max_messages):
        if payload.startswith(b'{"lastUpdateId"'):
            if pending is None:
                raise ValueError(f"{path}: no diff before the snapshot to bridge it")
            bids, asks = side_pair(books[local_ts])
            span = int(step_rng.integers(1, _UPDATE_STEP_MAX + 1))
            # the diff received before the snapshot ends at its lastUpdateId (the ETH capture's own case)
            lines.append((pending[0], depth_line(pending[1], update_id - span + 1, update_id, bids, asks)))
            lines.append(
                (
                    local_ts,
                    f'{{"lastUpdateId":{update_id},"bids":[{_levels(bids, fmt_px, fmt_qty, True)}],'
                    f'"asks":[{_levels(asks, fmt_px, fmt_qty, False)}]}}'.encode(),
                )
            )
            lines.sort(key=lambda item: item[0])
            synced = True
            continue
        if b"@depth" in payload[:40]:
            e_ms = msgspec.json.decode(payload)["data"]["E"]
            if not synced:
                pending = (local_ts, e_ms)
                continue
            span = int(step_rng.integers(1, _UPDATE_STEP_MAX + 1))
            new_bids, new_asks = side_pair(books[local_ts])
            if new_bids == bids and new_asks == asks:
                continue  # nothing in the top levels changed: Binance sends no diff
            lines.append(
                (
                    local_ts,
                    depth_line(e_ms, update_id + 1, update_id + span, _diff(bids, new_bids), _diff(asks, new_asks)),
                )
            )
            update_id += span
            bids, asks = new_bids, new_asks
        elif b'@trade"' in payload[:40]:
            t = msgspec.json.decode(payload)["data"]
            scaled = float(t["p"]) * factor / tick
            px = taker_ticks(scaled, not t["m"])  # m: the buyer made it, the taker sold
            lots = max(1, round(float(t["q"]) / factor / lot))
            trade_id += 1
            lines.append(
                (
                    local_ts,
                    f'{{"stream":"{lower}@trade","data":{{"e":"trade","E":{t["E"]},"s":"{symbol}","t":{trade_id},'
                    f'"p":"{fmt_px(px)}","q":"{fmt_qty(lots)}","T":{t["T"]},"m":{"true" if t["m"] else "false"},'
                    f'"M":true}}}}'.encode(),
                )
            )
    return write_daily_files(lines, out_dir, symbol)


# -- the generated venues -----------------------------------------------------------------------------


def _synthesize(model: VenueModel, binance: Sequence[Path], session: BinanceSession) -> bybit_gen.Synthesis:
    synthesize = bybit_gen.synthesize if model.venue == "bybit" else okx_gen.synthesize
    return synthesize(
        binance, model.seed, model.params, symbol=symbol_of(binance[0]), tick_size=model.tick, lot_size=model.lot,
        depth=model.depth, session=session,
    )  # fmt: skip


def generate(
    out_dir: str | Path = DEFAULT_OUT,
    symbols: Sequence[str] = tuple(MODELS),
    *,
    sol_price: float = SOL_PRICE,
    eth_session: BinanceSession | None = None,
    report: Any = None,
) -> list[Path]:
    """Write every generated file of ``symbols`` under ``out_dir``/``<venue>_spot``; return them in order.

    ``sol_price``: SOLUSDT's price at the start. ``eth_session``: the real ETH capture already read with
    :func:`read_binance`. ``report(model, synthesis)`` is called after each generated venue (the command line
    prints its basis summary).
    """
    out = Path(out_dir)
    unknown = set(symbols) - set(MODELS)
    if unknown:
        raise ValueError(f"no model for {', '.join(sorted(unknown))}: choose from {', '.join(MODELS)}")
    eth_session = eth_session or read_binance(ETH_BINANCE)
    written: list[Path] = []
    for symbol in symbols:
        if symbol == "ETHUSDT":
            binance, session = list(ETH_BINANCE), eth_session
        else:
            binance = write_binance_scaled(ETH_BINANCE, out / "binance_spot", symbol, sol_price, session=eth_session)
            written += binance
            session = read_binance(binance)
        for model in MODELS[symbol]:
            synth = _synthesize(model, binance, session)
            written += write_daily_files(synth.lines, out / f"{model.venue}_spot", symbol)
            if report is not None:
                report(model, synth)
    return written


# -- what the files hold ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PairEdge:
    """One ordered pair's net edge over the session (the scan's definition, measured on the rebuilt books)."""

    symbol: str
    buy: str
    sell: str
    known_s: float
    """How long both books were synced, s."""
    above_s: float
    """How long the net edge was above the threshold, s."""
    episodes: int
    longest_s: float
    peak_bps: float


Tops = tuple[np.ndarray[Any, np.dtype[np.int64]], np.ndarray[Any, np.dtype[np.float64]], np.ndarray[Any, Any]]
"""A venue's book after each message: receive times (ns), best bids, best asks (NaN: the side is empty)."""


def venue_tops(rows: EventArray) -> Tops:
    """The top of the book after each message (the rows of one receive time) of converted ``rows``."""
    kinds = rows["ev"] & EVENT_KIND_MASK
    book = (kinds == DEPTH_EVENT) | (kinds == DEPTH_SNAPSHOT_EVENT) | (kinds == DEPTH_CLEAR_EVENT)
    rows = rows[book & ((rows["ev"] & LOCAL_EVENT) != 0)]
    ends = [*(np.flatnonzero(np.diff(rows["local_ts"]) != 0) + 1).tolist(), len(rows)]
    ob = OrderBook()
    times = np.empty(len(ends), np.int64)
    bid = np.empty(len(ends))
    ask = np.empty(len(ends))
    start = 0
    for i, end in enumerate(ends):
        ob.apply(rows[start:end])
        times[i], bid[i], ask[i] = rows["local_ts"][end - 1], ob.best_bid, ob.best_ask
        start = end
    return times, bid, ask


def pair_edges(
    symbol: str, tops: dict[str, Tops], fees: dict[str, float], threshold_bps: float = THRESHOLD_BPS
) -> list[PairEdge]:
    """Every ordered pair of the venues in ``tops`` (taker ``fees`` as fractions), in ``tops``' order.

    The net edge of buying at one venue's ask and selling at the other's bid, each paying its taker fee, in bps
    of the buy, is a step function of the shared receive time from the later first message to the earlier
    last; every value counts for as long as it stood.
    """
    out = []
    for buy, sell in itertools.permutations(tops, 2):
        (tb, _, ask), (ts, bid, _) = tops[buy], tops[sell]
        start, end = max(tb[0], ts[0]), min(tb[-1], ts[-1])
        grid = np.union1d(tb, ts)
        grid = np.r_[start, grid[(grid > start) & (grid < end)]]
        ask_at = ask[np.searchsorted(tb, grid, "right") - 1]
        bid_at = bid[np.searchsorted(ts, grid, "right") - 1]
        net = (bid_at * (1.0 - fees[sell]) - ask_at * (1.0 + fees[buy])) / ask_at * 1e4
        dur = np.diff(np.r_[grid, end]) / NS_PER_S
        known = np.isfinite(net)
        above = known & (net > threshold_bps)
        edges = np.flatnonzero(np.diff(np.r_[0, above.astype(np.int8), 0]))
        runs = [float(dur[a:b].sum()) for a, b in zip(edges[::2], edges[1::2], strict=True)]
        peak = float(np.nanmax(net)) if known.any() else math.nan
        out.append(
            PairEdge(
                symbol,
                buy,
                sell,
                float(dur[known].sum()),
                float(dur[above].sum()),
                len(runs),
                max(runs, default=0.0),
                peak,
            )
        )
    return out


def taker_fees() -> dict[str, float]:
    """Each venue's taker fee in ``config/<venue>.toml``, a fraction."""
    return {v: load_venue_config(ROOT / "config" / f"{v}.toml", v).fees.taker for v in VENUES}


def measure_pairs(
    recordings: str | Path, symbols: Sequence[str], threshold_bps: float = THRESHOLD_BPS
) -> list[PairEdge]:
    """Every ordered venue pair of every symbol in ``recordings`` (``<venue>_spot/<symbol>_*.gz``), most seconds
    above ``threshold_bps`` first (:func:`pair_edges`).

    Each venue's files are converted with arb's converter on one recorder clock (every venue takes the Binance
    half's local-time correction) and its book rebuilt message by message (:func:`venue_tops`).
    """
    folder = Path(recordings)
    fees = taker_fees()
    out: list[PairEdge] = []
    for symbol in symbols:
        paths = {v: sorted((folder / f"{v}_spot").glob(f"{symbol.lower()}_*.gz")) for v in VENUES}
        paths = {v: p for v, p in paths.items() if p}
        if "binance" not in paths or len(paths) < 2:
            continue
        offset = convert_files(paths["binance"], with_eod=False).local_offset_ns
        tops = {v: venue_tops(convert_files(p, local_offset_ns=offset, with_eod=False).rows) for v, p in paths.items()}
        out += pair_edges(symbol, tops, fees, threshold_bps)
    out.sort(key=lambda e: (-e.above_s, -e.peak_bps))
    return out


def describe(edges: Sequence[PairEdge], threshold_bps: float = THRESHOLD_BPS) -> str:
    """The ranking as a table for a person."""
    lines = [
        f"net edge > {threshold_bps:g} bps after both taker fees, by (symbol, buy venue, sell venue):",
        "rank  symbol   buy      sell     seconds above  episodes  longest s  peak net bps",
    ]
    for rank, e in enumerate(edges, 1):
        lines.append(
            f"{rank:4d}  {e.symbol:<8} {e.buy:<8} {e.sell:<8} {e.above_s:8.1f} of {e.known_s:3.0f}  {e.episodes:8d}"
            f"  {e.longest_s:9.1f}  {e.peak_bps:+12.1f}"
        )
    return "\n".join(lines)


def _models_text() -> str:
    # The models as --help shows them: each generated venue's seed, rules and the parameters it changes.
    default = SampleParams()
    lines = [
        f"models (SampleParams of generate_bybit_sample.py; others at their defaults); Binance SOLUSDT: the ETH "
        f"capture scaled to {SOL_PRICE:g} USDT, tick {BINANCE_SOL_TICK:g}, lot {BINANCE_SOL_LOT:g}, "
        f"{BINANCE_SOL_DEPTH} levels a side, ids seed {BINANCE_SOL_SEED}:"
    ]
    for symbol, models in MODELS.items():
        for m in models:
            changed = ", ".join(
                f"{f.name}={getattr(m.params, f.name):g}"
                for f in dataclasses.fields(SampleParams)
                if getattr(m.params, f.name) != getattr(default, f.name)
            )
            lines.append(
                f"  {symbol} {m.venue}: seed {m.seed}, tick {m.tick:g}, lot {m.lot:g}, {m.depth} levels; {changed}"
            )
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=(
            "Generate the multi-symbol part of the sample for arb scan: Bybit and OKX ETHUSDT from the real Binance "
            "capture, SOLUSDT on all three venues scaled from it, each with a basis of its own (the module docstring "
            "and recordings/README.md give every model)."
        ),
        epilog=_models_text(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="recordings folder (default %(default)s)")
    parser.add_argument(
        "--symbols", nargs="+", default=list(MODELS), choices=list(MODELS), help="symbols to write (default: all)"
    )
    parser.add_argument(
        "--sol-price", type=float, default=SOL_PRICE, help="SOL's price at the start (default %(default)s)"
    )
    parser.add_argument(
        "--threshold-bps",
        type=float,
        default=THRESHOLD_BPS,
        help="net edge threshold of the summary, bps (default %(default)s)",
    )
    parser.add_argument("--no-measure", action="store_true", help="write the files, skip the measured ranking")
    parser.add_argument(
        "--check",
        action="store_true",
        help="regenerate into a temporary folder and compare with --out's files byte for byte (exit 1 if any differ)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; prints each venue's basis, the files and the ranking they imply."""
    args = _parser().parse_args(argv)

    def report(model: VenueModel, synth: bybit_gen.Synthesis) -> None:
        print(f"{synth.symbol} {model.venue} seed {model.seed}: {synth.book_messages} book and "
              f"{synth.trade_messages} trade messages")  # fmt: skip
        print("  " + synth.summary.describe().replace("\n", "\n  "))

    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            fresh = generate(tmp, args.symbols, sol_price=args.sol_price)
            differ = [p for p in fresh if not filecmp.cmp(p, args.out / p.relative_to(tmp), shallow=False)]
        for p in differ:
            print(f"differs from a fresh regeneration: {args.out / p.relative_to(tmp)}")
        print(f"{len(fresh) - len(differ)} of {len(fresh)} files equal a fresh regeneration")
        return 1 if differ else 0
    paths = generate(args.out, args.symbols, sol_price=args.sol_price, report=report)
    print_written(paths)
    print(f"total {sum(p.stat().st_size for p in paths):,} bytes")
    if not args.no_measure:
        symbols = ["BTCUSDT", *args.symbols]
        print(describe(measure_pairs(args.out, symbols, args.threshold_bps), args.threshold_bps))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
