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

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from arb.config import load_venue_config
from arb.events import NS_PER_MS
from connectors.okx.checksum import LevelBook
from examples.generate_bybit_sample import (
    DEFAULT_BINANCE,
    DEFAULT_BINANCE_CONFIG,
    ROOT,
    SampleParams,
    Synthesis,
    spot_source,
)
from examples.sample_common import (
    BinanceSession,
    noisy_lots,
    received,
    run_generator,
    same_time_groups,
    taker_ticks,
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
    with :func:`~examples.sample_common.read_binance`, to read them once for several venues.
    """
    src = spot_source(
        load_venue_config(okx_config, "okx"), binance_paths, seed, params, depth, binance_config=binance_config,
        symbol=symbol, tick_size=tick_size, lot_size=lot_size, max_binance_messages=max_binance_messages,
        session=session,
    )  # fmt: skip
    inst = f"{src.symbol.removesuffix('USDT')}-USDT"
    session, basis, lot, fmt_px, fmt_qty = src.session, src.basis, src.lot, src.fmt_px, src.fmt_qty
    outgoing: list[tuple[int, int, int, bytes]] = []  # (ts ms, kind, index): OKX's sending order

    push = src.rng_times.integers(0, params.push_jitter_ms + 1, len(session.books)).tolist()
    seq_steps = src.rng_ids.integers(params.seq_step_min, params.seq_step_max + 1, len(session.books)).tolist()
    seq = int(src.rng_ids.integers(10_000_000_000, 20_000_000_000))
    levels = LevelBook()
    for i, ts, changed_bids, changed_asks in src.books(push):
        b = [(fmt_px(p), fmt_qty(q) if q else "0", _orders(q, lot)) for p, q in changed_bids]
        a = [(fmt_px(p), fmt_qty(q) if q else "0", _orders(q, lot)) for p, q in changed_asks]
        if i:
            levels.apply(b, a)
        else:
            levels.reset(b, a)
        prev, seq = (-1 if not i else seq), seq + seq_steps[i]
        text = (
            f'{{"arg":{{"channel":"books","instId":"{inst}"}},"action":"{"update" if i else "snapshot"}",'
            f'"data":[{{"asks":[{",".join(_level(*x) for x in a)}],"bids":[{",".join(_level(*x) for x in b)}],'
            f'"ts":"{ts}","checksum":{levels.checksum()},"prevSeqId":{prev},"seqId":{seq}}}]}}'
        )
        outgoing.append((ts, 0, len(outgoing), text.encode()))
    book_messages = len(outgoing)

    trades, sizes = src.trades_from(outgoing[0][0])
    id_steps = src.rng_ids.integers(1, 3, len(trades)).tolist()
    t_jitter = src.rng_times.integers(0, params.trade_jitter_ms + 1, len(trades)).tolist()
    trade_id, sigma = TRADE_ID_START, params.trade_size_sigma
    last_ts = 0
    for members in same_time_groups([t.exch_ts for t in trades]):  # one message per trade time
        items = []
        for j in members:
            trade = trades[j]
            ts = max(last_ts, trade.exch_ts // NS_PER_MS + t_jitter[j])
            px = taker_ticks(trade.px * basis.scale_at(trade.exch_ts) / src.tick, trade.taker_buy)
            lots = noisy_lots(trade.qty, sizes[j], sigma, lot)
            trade_id += id_steps[j]
            items.append(
                f'{{"instId":"{inst}","tradeId":"{trade_id}","px":"{fmt_px(px)}","sz":"{fmt_qty(lots)}",'
                f'"side":"{"buy" if trade.taker_buy else "sell"}","ts":"{ts}","count":"1"}}'
            )
            last_ts = ts
        text = f'{{"arg":{{"channel":"trades","instId":"{inst}"}},"data":[{",".join(items)}]}}'
        outgoing.append((ts, 1, len(outgoing), text.encode()))
    trade_messages = len(outgoing) - book_messages

    conn_id = src.rng_ids.bytes(4).hex()
    acks = [
        json.dumps({"event": "subscribe", "arg": {"channel": channel, "instId": inst}, "connId": conn_id},
                   separators=(",", ":")).encode()
        for channel in ("books", "trades")
    ]  # fmt: skip
    lines = received(outgoing, acks, src.rng_times, params, session.clock_offset_ns)
    return Synthesis(lines, basis, src.summary, session, book_messages, trade_messages, src.symbol)


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
    description = "Generate the OKX v5 spot third of the sample from the Binance capture."
    return run_generator(argv, synthesize, OKX_PARAMS, DEFAULT_SEED, DEFAULT_OUT, description)


if __name__ == "__main__":
    raise SystemExit(main())
