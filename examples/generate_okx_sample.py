"""Generate the OKX third of the shipped sample: OKX v5 spot BTC-USDT derived from the real Binance capture.

The sample's Binance files are a real capture (Binance spot BTCUSDT, 2024-08-08 23:54:13 to 08-09 00:05:04
UTC) and its Bybit files are generated from them (``examples/generate_bybit_sample.py``). No OKX capture of
those minutes exists either, so this script writes one, the same way and with the same model (the Binance
book and trades read through arb's own normalizer, mapped through a basis onto the venue's tick and lot,
per-level size noise and thinning, lognormal network latency, the Binance recorder's clock), in OKX's
public WebSocket format:

* one subscribe ack per channel (``{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"},
  "connId":"..."}``), then
* ``books``: a ``snapshot`` (``prevSeqId`` -1), then ``update`` messages with ``prevSeqId`` the previous
  message's ``seqId``, levels ``[price, size, "0", orders]`` as strings, ``ts`` in ms as a string and
  the ``checksum`` OKX sent in 2024 (the CRC32 of the best 25 levels, computed over the book written here);
* ``trades``: one message per Binance trade time, each trade with ``tradeId``, ``px``, ``sz``, ``side``
  (the taker's), ``ts`` and ``count``.

Differences from the Bybit model, so that three venues give three different spreads: OKX's basis is its
own path (another seed, a longer half-life, jumps of its own), and the book is **thinner**, the top
``DEPTH`` (20) levels a side rather than OKX's 400, to keep the sample small (about 2 MB): a backtest
reads the top of the book, and a recorder of OKX's ``books`` would hold all 400.

Usage::

    python -m examples.generate_okx_sample [--seed 23] [--out recordings/okx_spot]

Every model parameter of :class:`~examples.generate_bybit_sample.SampleParams` is a flag as in the Bybit
script; the defaults here are :data:`OKX_PARAMS`. The committed files were made with the defaults.
What is real and what is not: the Binance book's shape, its changes and its trades are real; OKX's basis,
quantities, order counts, latencies, ids and sequence numbers are invented.
"""

from __future__ import annotations

__all__ = ["DEFAULT_OUT", "DEFAULT_SEED", "DEPTH", "OKX_PARAMS", "generate", "main", "synthesize"]

import argparse
import dataclasses
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import numpy as np

from arb.config import load_venue_config
from arb.events import NS_PER_MS
from connectors.okx.checksum import LevelBook
from examples.generate_bybit_sample import (
    DEFAULT_BINANCE,
    DEFAULT_BINANCE_CONFIG,
    ROOT,
    SLIPPAGE_BPS,
    BinanceSession,
    BookModel,
    SampleParams,
    Side,
    Synthesis,
    diff_levels,
    grid_formatter,
    lognormal_ns,
    read_binance,
    simulate_basis,
    summarize_basis,
    symbol_of,
    write_daily_files,
)

DEFAULT_SEED: Final = 23
"""The seed of the committed sample."""
DEFAULT_OUT: Final = ROOT / "recordings" / "okx_spot"
DEFAULT_OKX_CONFIG: Final = ROOT / "config" / "okx.toml"
DEPTH: Final = 20
"""Levels a side written (OKX's ``books`` has 400: the sample keeps the top, see the module docstring)."""
OKX_PARAMS: Final = SampleParams(
    basis_half_life_s=30.0,
    basis_std_bps=2.5,
    basis_jump_gap_min_s=80.0,
    basis_jump_gap_max_s=200.0,
    basis_jump_mean_bps=26.0,
    latency_median_ms=40.0,
)
"""OKX's model: its own basis (slower, with fewer jumps than Bybit's) and a longer way to the recorder."""
TRADE_ID_START: Final = 512_000_000
"""OKX spot trade ids are 9-digit numbers counting up per instrument."""
_MAX_ORDERS: Final = 40


def _level(px: str, qty: str, orders: int) -> str:
    return f'["{px}","{qty}","0","{orders}"]'


def _orders(lots: int, lot: float) -> int:
    # An order count that grows with the level's size (OKX's fourth field), at least one on a live level.
    return 0 if lots == 0 else max(1, min(_MAX_ORDERS, round(math.sqrt(lots * lot * 200.0))))


def synthesize(
    binance_paths: Sequence[str | Path] = DEFAULT_BINANCE,
    seed: int = DEFAULT_SEED,
    params: SampleParams = OKX_PARAMS,
    *,
    okx_config: str | Path = DEFAULT_OKX_CONFIG,
    binance_config: str | Path = DEFAULT_BINANCE_CONFIG,
    max_binance_messages: int | None = None,
    symbol: str | None = None,
    tick_size: float | None = None,
    lot_size: float | None = None,
    depth: int = DEPTH,
    session: BinanceSession | None = None,
) -> Synthesis:
    """Build the OKX stream in memory (see the module docstring): the lines in file order, acks first.

    The tick, lot and taker fee come from ``okx_config``; ``tick_size``/``lot_size`` override the first two
    (another symbol's rules). ``symbol`` defaults to the first Binance file's (``ethusdt_...`` -> ``ETHUSDT``,
    written ``ETH-USDT``); ``depth`` is the levels a side written. ``session``: ``binance_paths`` already read
    with :func:`~examples.generate_bybit_sample.read_binance`, to read them once for several venues.
    """
    symbol = symbol or symbol_of(binance_paths[0])
    inst = f"{symbol.removesuffix('USDT')}-USDT"
    okx = load_venue_config(okx_config, "okx")
    binance_fees = load_venue_config(binance_config, "binance").fees
    tick = okx.instrument.tick_size if tick_size is None else tick_size
    lot = okx.instrument.lot_size if lot_size is None else lot_size
    fmt_px, fmt_qty = grid_formatter(tick), grid_formatter(lot)

    if session is None:
        session = read_binance(binance_paths, levels=params.binance_levels, max_messages=max_binance_messages)
    seed_basis, *seeds = np.random.SeedSequence(seed).spawn(5)
    rng_book, rng_times, rng_trades, rng_ids = (np.random.Generator(np.random.PCG64(s)) for s in seeds)
    start_ns = session.books[0].exch_ts
    end_ns = max(session.books[-1].exch_ts, session.trades[-1].exch_ts if session.trades else 0)
    basis = simulate_basis(seed_basis, start_ns, end_ns, params)
    threshold = (binance_fees.taker + okx.fees.taker) * 1e4 + SLIPPAGE_BPS
    summary = summarize_basis(basis, start_ns, session.books[-1].exch_ts, threshold)
    model = BookModel.create(rng_book, tick, lot, params, depth=depth)
    outgoing: list[tuple[int, int, int, bytes]] = []  # (ts ms, kind, index): OKX's sending order

    push = rng_times.integers(0, params.push_jitter_ms + 1, len(session.books)).tolist()
    seq_steps = rng_ids.integers(params.seq_step_min, params.seq_step_max + 1, len(session.books)).tolist()
    seq = int(rng_ids.integers(10_000_000_000, 20_000_000_000))
    levels = LevelBook()
    bids: Side = {}
    asks: Side = {}
    last_ts = 0
    for i, state in enumerate(session.books):
        scale = 1.0 + basis.at(state.exch_ts) / 1e4
        new_bids = model.side(state.bid_px, state.bid_qty, scale, bid=True)
        new_asks = model.side(state.ask_px, state.ask_qty, scale, bid=False)
        if i and new_bids == bids and new_asks == asks:
            continue
        changed_bids = sorted(new_bids.items(), reverse=True) if not i else diff_levels(bids, new_bids, True)
        changed_asks = sorted(new_asks.items()) if not i else diff_levels(asks, new_asks, False)
        b = [(fmt_px(p), fmt_qty(q) if q else "0", _orders(q, lot)) for p, q in changed_bids]
        a = [(fmt_px(p), fmt_qty(q) if q else "0", _orders(q, lot)) for p, q in changed_asks]
        if i:
            levels.apply(b, a)
        else:
            levels.reset(b, a)
        prev, seq = (-1 if not i else seq), seq + seq_steps[i]
        bids, asks = new_bids, new_asks
        ts = max(last_ts, state.exch_ts // NS_PER_MS + push[i])
        last_ts = ts
        text = (
            f'{{"arg":{{"channel":"books","instId":"{inst}"}},"action":"{"update" if i else "snapshot"}",'
            f'"data":[{{"asks":[{",".join(_level(*x) for x in a)}],"bids":[{",".join(_level(*x) for x in b)}],'
            f'"ts":"{ts}","checksum":{levels.checksum()},"prevSeqId":{prev},"seqId":{seq}}}]}}'
        )
        outgoing.append((ts, 0, len(outgoing), text.encode()))
    book_messages = len(outgoing)
    snapshot_ts = outgoing[0][0]

    trades = [t for t in session.trades if t.exch_ts // NS_PER_MS >= snapshot_ts]
    sizes = rng_trades.standard_normal(len(trades)).tolist()
    id_steps = rng_ids.integers(1, 3, len(trades)).tolist()
    t_jitter = rng_times.integers(0, params.trade_jitter_ms + 1, len(trades)).tolist()
    trade_id, sigma = TRADE_ID_START, params.trade_size_sigma
    last_ts = 0
    group: list[str] = []
    for j, trade in enumerate(trades):
        ts = max(last_ts, trade.exch_ts // NS_PER_MS + t_jitter[j])
        scaled = trade.px * (1.0 + basis.at(trade.exch_ts) / 1e4) / tick
        px = math.ceil(scaled - 1e-6) if trade.taker_buy else math.floor(scaled + 1e-6)
        lots = max(1, round(trade.qty * math.exp(sigma * sizes[j] - 0.5 * sigma * sigma) / lot))
        trade_id += id_steps[j]
        group.append(
            f'{{"instId":"{inst}","tradeId":"{trade_id}","px":"{fmt_px(px)}","sz":"{fmt_qty(lots)}",'
            f'"side":"{"buy" if trade.taker_buy else "sell"}","ts":"{ts}","count":"1"}}'
        )
        last_ts = ts
        if j + 1 == len(trades) or trades[j + 1].exch_ts != trade.exch_ts:  # one message per trade time
            text = f'{{"arg":{{"channel":"trades","instId":"{inst}"}},"data":[{",".join(group)}]}}'
            outgoing.append((ts, 1, len(outgoing), text.encode()))
            group = []
    trade_messages = len(outgoing) - book_messages

    outgoing.sort()
    latency = lognormal_ns(rng_times, params.latency_median_ms, params.latency_sigma, len(outgoing))
    lines: list[tuple[int, bytes]] = []
    local = 0
    for (ts, _, _, payload), lat in zip(outgoing, latency, strict=True):
        local = max(local + params.read_gap_ns, ts * NS_PER_MS + lat + session.clock_offset_ns)
        lines.append((local, payload))
    conn_id = rng_ids.bytes(4).hex()
    acks = [
        json.dumps({"event": "subscribe", "arg": {"channel": channel, "instId": inst}, "connId": conn_id},
                   separators=(",", ":")).encode()
        for channel in ("books", "trades")
    ]  # fmt: skip
    first = lines[0][0] - round(params.ack_lead_ms * NS_PER_MS)
    lines[:0] = [(first + k * params.read_gap_ns, ack) for k, ack in enumerate(acks)]
    return Synthesis(lines, basis, summary, session, book_messages, trade_messages, symbol)


def generate(
    out_dir: str | Path = DEFAULT_OUT,
    seed: int = DEFAULT_SEED,
    params: SampleParams = OKX_PARAMS,
    *,
    compresslevel: int = 9,
    **options: object,
) -> list[Path]:
    """Generate the OKX sample into ``out_dir``; the files written, one per UTC day (``options``:
    :func:`synthesize`'s keywords; ``compresslevel``: :func:`write_daily_files`')."""
    synth = synthesize(seed=seed, params=params, **options)  # type: ignore[arg-type]
    return write_daily_files(synth.lines, out_dir, synth.symbol, compresslevel=compresslevel)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point; prints a summary of what was written."""
    parser = argparse.ArgumentParser(
        description="Generate the OKX v5 spot third of the sample from the Binance capture."
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default %(default)s)")
    group = parser.add_argument_group("model parameters")
    for f in dataclasses.fields(SampleParams):
        default = getattr(OKX_PARAMS, f.name)
        group.add_argument("--" + f.name.replace("_", "-"), type=type(default), default=default,
                           help=f"{f.metadata['help']} (default %(default)s)")  # fmt: skip
    args = parser.parse_args(argv)
    params = SampleParams(**{f.name: getattr(args, f.name) for f in dataclasses.fields(SampleParams)})
    synth = synthesize(seed=args.seed, params=params)
    paths = write_daily_files(synth.lines, args.out, synth.symbol)
    print(f"seed {args.seed}: {synth.book_messages} books and {synth.trade_messages} trades messages")
    print(synth.summary.describe())
    for path in paths:
        print(f"{path}  {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
