"""What every generator of the sample shares, whatever the venue it writes and its wire format.

The generators (``examples/generate_*_sample.py``) write the venues no capture of the sample's minutes exists
for, from the real Binance capture, through the model of ``examples/generate_bybit_sample.py``. Whatever the
venue, they read the Binance capture with arb's own normalizer and book (:func:`read_binance`), group its trades
by their time, put a trade on the venue's tick and lot alike, write prices and sizes with the grid's decimals,
stamp every frame with the time a recorder would have received it (:func:`received`), write one gzip file per
UTC day with deterministic bytes (:func:`write_daily_files`) and take the same flags on the command line.

This module imports nothing of ``examples``: ``python examples/generate_bybit_sample.py`` (the script's folder
first on ``sys.path``, the repository root maybe not on it) imports it as ``sample_common``.
"""

from __future__ import annotations

__all__ = [
    "BINANCE_LEVELS",
    "EPS",
    "SYMBOL",
    "BinanceBook",
    "BinanceSession",
    "BinanceTrade",
    "ReceiveParams",
    "add_model_flags",
    "capture_lines",
    "grid_formatter",
    "lognormal_ns",
    "model_params",
    "noisy_lots",
    "print_written",
    "read_binance",
    "received",
    "run_generator",
    "same_time_groups",
    "sample_parser",
    "symbol_of",
    "taker_ticks",
    "write_daily_files",
]

import argparse
import dataclasses
import gzip
import math
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np

from arb.book import OrderBook
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

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

_Params = TypeVar("_Params", bound="DataclassInstance")

SYMBOL = "BTCUSDT"
"""The sample's symbol; another comes from the Binance files' names (``ethusdt_20240808.gz``) or ``--symbol``."""
BINANCE_LEVELS = 400
"""Binance levels a side read per update; enough for 50 Bybit levels after merging onto the coarser tick."""
EPS = 1e-6
"""Guards floor/ceil against float noise exactly on a tick boundary."""


# -- the Binance capture ----------------------------------------------------------------------------


def capture_lines(
    paths: Sequence[str | Path], max_messages: int | None = None
) -> Iterator[tuple[str | Path, int, bytes]]:
    """``(path, local ns, payload)`` of every line of the recordings ``paths``, in order; only the first
    ``max_messages`` lines of them all if given (each file is still opened, as the read of the whole would)."""
    count = 0
    for path in paths:
        for local_ts, payload in LineReader(path):
            if max_messages is not None and count >= max_messages:
                break
            count += 1
            yield path, local_ts, payload


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
    for _, local_ts, payload in capture_lines(paths, max_messages):
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


def symbol_of(path: str | Path) -> str:
    """The symbol of a recording named ``<symbol lower>_<YYYYMMDD>.gz``."""
    return Path(path).name.split("_", 1)[0].upper()


# -- the venue's stream ------------------------------------------------------------------------------


def same_time_groups(times: Sequence[int]) -> list[list[int]]:
    """The indices of ``times`` in runs of one value, in order: Binance's trades of one taker order share their
    trade time ``T``, so a run is one taker order (and one message of the venues that send one per order)."""
    groups: list[list[int]] = []
    for j, t in enumerate(times):
        if groups and times[groups[-1][0]] == t:
            groups[-1].append(j)
        else:
            groups.append([j])
    return groups


def taker_ticks(scaled: float, taker_buy: bool) -> int:
    """A trade's price on the venue's tick, ``scaled`` its price over the tick (maybe between two ticks): a taker
    buy rounds up, as an ask does, a sell down, as a bid does."""
    return math.ceil(scaled - EPS) if taker_buy else math.floor(scaled + EPS)


def noisy_lots(qty: float, z: float, sigma: float, lot: float) -> int:
    """``qty`` times the lognormal factor ``exp(sigma z - sigma^2 / 2)`` (mean 1; ``z`` a standard normal draw), in
    lots of ``lot``, at least one."""
    return max(1, round(qty * math.exp(sigma * z - 0.5 * sigma * sigma) / lot))


def lognormal_ns(rng: np.random.Generator, median_ms: float, sigma: float, n: int) -> list[int]:
    """``n`` lognormal durations in ns of median ``median_ms`` and log-sd ``sigma``."""
    return [round(median_ms * NS_PER_MS * math.exp(sigma * x)) for x in rng.standard_normal(n).tolist()]


class ReceiveParams(Protocol):
    """The model parameters of the recorder's side (:class:`~examples.generate_bybit_sample.SampleParams` has them)."""

    @property
    def latency_median_ms(self) -> float: ...

    @property
    def latency_sigma(self) -> float: ...

    @property
    def read_gap_ns(self) -> int: ...

    @property
    def ack_lead_ms(self) -> float: ...


def received(
    outgoing: list[tuple[int, int, int, bytes]],
    acks: Sequence[bytes],
    rng: np.random.Generator,
    params: ReceiveParams,
    offset_ns: int,
) -> list[tuple[int, bytes]]:
    """The ``(receive ns, payload)`` lines a recorder writes of ``outgoing``, its subscription ``acks`` first.

    ``outgoing`` holds ``(venue time ms, kind, index, payload)`` and is sorted here into the order the venue sends
    them in on one connection. A frame is received at its venue time + a lognormal network latency (``params``'
    median and log-sd, drawn from ``rng`` in sending order) + ``offset_ns`` (the recorder clock's), but never
    sooner than ``params.read_gap_ns`` after the frame before it: it does not overtake it. The acks are received
    ``params.ack_lead_ms`` before the first frame, ``read_gap_ns`` apart.
    """
    outgoing.sort()
    latency = lognormal_ns(rng, params.latency_median_ms, params.latency_sigma, len(outgoing))
    lines: list[tuple[int, bytes]] = []
    local = 0
    for (t_ms, _, _, payload), lat in zip(outgoing, latency, strict=True):
        local = max(local + params.read_gap_ns, t_ms * NS_PER_MS + lat + offset_ns)
        lines.append((local, payload))
    first = lines[0][0] - round(params.ack_lead_ms * NS_PER_MS)
    lines[:0] = [(first + k * params.read_gap_ns, ack) for k, ack in enumerate(acks)]
    return lines


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


# -- files and the command line ----------------------------------------------------------------------


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


def sample_parser(seed: int, out: Path, **kwargs: Any) -> argparse.ArgumentParser:
    """A generator's command line with ``--seed`` and ``--out`` (``kwargs``: :class:`argparse.ArgumentParser`'s);
    its model's flags come last (:func:`add_model_flags`)."""
    parser = argparse.ArgumentParser(**kwargs)
    parser.add_argument("--seed", type=int, default=seed, help="random seed (default %(default)s)")
    parser.add_argument("--out", type=Path, default=out, help="output folder (default %(default)s)")
    return parser


def add_model_flags(parser: argparse.ArgumentParser, defaults: DataclassInstance) -> None:
    """A flag for every field of the model ``defaults`` (``--basis-half-life-s`` for ``basis_half_life_s``, its help
    the field's ``metadata["help"]``), each defaulting to its value there. Read the model back with
    :func:`model_params`."""
    group = parser.add_argument_group("model parameters")
    for f in dataclasses.fields(defaults):
        default = getattr(defaults, f.name)
        group.add_argument(
            "--" + f.name.replace("_", "-"),
            type=type(default),
            default=default,
            help=f"{f.metadata['help']} (default %(default)s)",
        )


def model_params(args: argparse.Namespace, defaults: _Params) -> _Params:
    """The model of ``defaults``' type that the flags of :func:`add_model_flags` gave (checked as it is built)."""
    return dataclasses.replace(defaults, **{f.name: getattr(args, f.name) for f in dataclasses.fields(defaults)})


def print_written(paths: Sequence[Path], *heads: str) -> None:
    """Print ``heads``, then every file written with its size: what a generator's command line ends with."""
    for head in heads:
        print(head)
    for path in paths:
        print(f"{path}  {path.stat().st_size:,} bytes")


def run_generator(
    argv: Sequence[str] | None,
    synthesize: Callable[..., Any],
    defaults: DataclassInstance,
    seed: int,
    out: Path,
    description: str,
) -> int:
    """The command line of a generator whose model is one dataclass (``defaults``, the default seed and folder
    ``seed`` and ``out``): ``synthesize(seed=, params=)`` gives its stream (a
    :class:`~examples.generate_bybit_sample.Synthesis`), written into ``--out`` and printed with its message counts
    and basis summary. Returns the exit status, 0."""
    parser = sample_parser(seed, out, description=description)
    add_model_flags(parser, defaults)
    args = parser.parse_args(argv)
    synth = synthesize(seed=args.seed, params=model_params(args, defaults))
    paths = write_daily_files(synth.lines, args.out, synth.symbol)
    heads = f"seed {args.seed}: {synth.book_messages} books and {synth.trade_messages} trades messages"
    print_written(paths, heads, synth.summary.describe())
    return 0
