"""The files of a run's report: trades.csv, funding.csv, orders.csv and transfers.csv (a backtest's),
equity.npz, equity.png, inventory.csv (:mod:`arb.reports.inventory`) and summary.json, written
atomically (:func:`write_report`) and read back exactly (:func:`read_trades_csv`, :func:`read_orders_csv`,
:func:`read_equity_npz`, :func:`read_funding_csv`, :func:`read_transfers_csv`, :func:`pnl_from_trades_csv`).

``docs/reports.md`` describes every column and key.
"""

from __future__ import annotations

__all__ = [
    "EQUITY_NPZ",
    "EQUITY_PNG",
    "FUNDING_CSV",
    "FUNDING_HEADER",
    "ORDERS_CSV",
    "ORDERS_HEADER",
    "SUMMARY_JSON",
    "TRADES_CSV",
    "TRADES_HEADER",
    "TRANSFERS_CSV",
    "TRANSFERS_HEADER",
    "pnl_from_trades_csv",
    "read_equity_npz",
    "read_funding_csv",
    "read_orders_csv",
    "read_trades_csv",
    "read_transfers_csv",
    "write_report",
]

import csv
import io
import json
import math
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Final

import numpy as np

from arb.events import ASSET_NAMES
from arb.execution.paper_files import KIND_NAMES
from arb.files import atomic_writer
from arb.formats import iso_ns
from arb.reports.charts import plot_equity
from arb.reports.common import SIDE_NAMES, Array, require_fields
from arb.reports.inventory import write_inventory
from arb.reports.pnl import pnl_from_fills
from arb.reports.sent_orders import ORDER_DTYPE
from arb.reports.summary import Summary
from arb.strategy.types import EQUITY_DTYPE, FILL_DTYPE, TRANSFER_DTYPE

SUMMARY_JSON: Final = "summary.json"


TRADES_CSV: Final = "trades.csv"


FUNDING_CSV: Final = "funding.csv"


ORDERS_CSV: Final = "orders.csv"


TRANSFERS_CSV: Final = "transfers.csv"


EQUITY_PNG: Final = "equity.png"


EQUITY_NPZ: Final = "equity.npz"
"""The run's equity samples at full resolution (``EQUITY_DTYPE`` rows under the name ``equity``,
an uncompressed NumPy ``.npz``): what a periodic report of the run measures drawdown and ratios on."""


FUNDING_HEADER: Final = ("time", "local_ts", "funding_time", "venue", "symbol", "rate", "mark", "position", "payment")
"""funding.csv (perpetuals): one row per funding payment booked: when (ISO and int64 ns), the venue's
funding time it settles (ISO), venue, symbol, rate, the price the position was valued at, the position
(base units) and the payment (quote: > 0 received)."""


TRANSFERS_HEADER: Final = (
    "time",  # when it was sent (local time, the decision's), ISO-8601 UTC with nanoseconds
    "local_ts",  # the same instant, int64 ns since the epoch
    "symbol",  # the symbol whose base moved; for the quote, the first symbol
    "asset",  # base / quote
    "from",  # the venue that sent it: binance / bybit
    "to",  # the venue it went to
    "amount",  # what reached (or is on its way to) the other venue, in the asset's units
    "fee",  # what the sending venue paid on top, in the asset's units
    "fee_quote",  # the fee valued in quote when paid (a base fee at the sending venue's mid)
    "arrival_time",  # when it reached the other venue's balance, ISO; empty: still on its way at the end
    "arrive_ts",  # the same instant, int64 ns; -1: still on its way at the end
)
"""Columns of a backtest's transfers.csv (``[backtest] transfer_policy``): one row per transfer of
inventory between the venues, in the order sent."""

_ASSET_KINDS: Final = ("base", "quote")


TRADES_HEADER: Final = (
    "time",  # local_ts as ISO-8601 UTC with nanoseconds, e.g. 2024-08-08T00:00:01.250000000Z
    "local_ts",  # the same instant, int64 ns since the epoch
    "exch_time",  # exch_ts as ISO-8601 UTC with nanoseconds
    "venue",  # binance / bybit
    "side",  # buy / sell
    "price",  # quote per base, full float precision
    "qty",  # base units, full float precision
    "fee",  # quote currency, full float precision (negative for a rebate)
    "pair_id",
    "kind",  # open / hedge / unwind
    "order_id",
    "symbol",  # the symbol traded, e.g. BTCUSDT
)
"""Columns of trades.csv, in order (files written before arb traded several symbols end at ``order_id``)."""


ORDERS_HEADER: Final = (
    "time",  # when the order was sent (local time, the decision's), ISO-8601 UTC with nanoseconds
    "local_ts",  # the same instant, int64 ns since the epoch
    "venue",  # binance / bybit
    "symbol",
    "side",  # buy / sell
    "price",  # the limit price it was sent at
    "qty",  # the quantity asked for
    "kind",  # open / hedge / unwind / quote
    "pair_id",
    "order_id",  # the order_id of its fills in trades.csv; 0: not known (see arb.reports.sent_orders)
    "round_trip_ns",  # request to answer, as the run's order latency model gave it (ns)
)
"""Columns of a backtest's orders.csv: one row per order sent (cancels left out), in the order sent."""


def write_report(
    out_dir: str | Path,
    summary: Summary,
    fills: Array,
    equity: Array,
    symbols: Sequence[str] | None = None,
    funding: Array | None = None,
    orders: Array | None = None,
    transfers: Array | None = None,
) -> list[Path]:
    """Write trades.csv, equity.npz, equity.png, inventory.csv
    (:mod:`arb.reports.inventory`) and summary.json into ``out_dir`` (created if needed), funding.csv
    when ``funding`` (``FUNDING_DTYPE``) holds payments, orders.csv when ``orders``
    (:data:`~arb.reports.sent_orders.ORDER_DTYPE`, a backtest's) are given and transfers.csv when
    ``transfers`` (``TRANSFER_DTYPE``, a backtest's) holds some; inventory.csv counts the transfers.

    Each file is written through :func:`arb.files.atomic_writer` (a temporary file in ``out_dir``,
    synced and renamed over its final name), so an interrupted run leaves either the previous file or
    the complete new one, never half of one. summary.json is written last: when it is new, the whole
    report is. equity.npz is written uncompressed (``np.savez``: deflating a day of samples took
    over a second, writing it as it is under 0.1 s; ``np.load`` reads either).

    Args:
        out_dir: Folder of the report.
        summary: From :func:`arb.reports.summary.summarize` over the same ``fills`` and ``equity``.
        fills: ``FILL_DTYPE`` rows, written to trades.csv in the order given.
        equity: ``EQUITY_DTYPE`` samples, kept as they are in equity.npz (:func:`read_equity_npz`)
            and plotted in equity.png.
        symbols: The symbols' names by number, for trades.csv (default: the ``strategy.symbols`` of
            the configuration in ``summary.meta``; else their numbers).

    Returns:
        The paths written: ``[trades.csv, (funding.csv,) (orders.csv,) (transfers.csv,) equity.npz, equity.png,
        inventory.csv, summary.json]``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(summary.to_dict(), indent=2, allow_nan=False) + "\n"
    if symbols is None:
        symbols = summary.meta.get("config", {}).get("strategy", {}).get("symbols") or ()
    names = tuple(symbols)
    with atomic_writer(out / TRADES_CSV) as f:
        _write_trades(f, fills, names)
    paths = [out / TRADES_CSV]
    if funding is not None and len(funding):
        with atomic_writer(out / FUNDING_CSV) as f:
            _write_funding(f, funding, names)
        paths.append(out / FUNDING_CSV)
    else:
        (out / FUNDING_CSV).unlink(missing_ok=True)  # an older run's in the same folder is not this one's
    if orders is not None:
        with atomic_writer(out / ORDERS_CSV) as f:
            _write_orders(f, orders, names)
        paths.append(out / ORDERS_CSV)
    else:
        (out / ORDERS_CSV).unlink(missing_ok=True)
    if transfers is not None and len(transfers):
        with atomic_writer(out / TRANSFERS_CSV) as f:
            _write_transfers(f, transfers, names)
        paths.append(out / TRANSFERS_CSV)
    else:
        (out / TRANSFERS_CSV).unlink(missing_ok=True)
    samples = np.ascontiguousarray(equity).astype(EQUITY_DTYPE, copy=False)
    with atomic_writer(out / EQUITY_NPZ) as f:
        np.savez(f, equity=samples)
    with atomic_writer(out / EQUITY_PNG) as f:
        plot_equity(f, summary, fills, equity)
    inventory = write_inventory(out, summary, fills, equity, funding, names, transfers)  # inventory.csv
    with atomic_writer(out / SUMMARY_JSON) as f:
        f.write(text.encode("utf-8"))
    return [*paths, out / EQUITY_NPZ, out / EQUITY_PNG, *inventory, out / SUMMARY_JSON]


def _write_funding(f: BinaryIO, funding: Array, symbols: tuple[str, ...]) -> None:
    text = io.TextIOWrapper(f, encoding="utf-8", newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(FUNDING_HEADER)
    for row, time, funding_time in zip(funding, iso_ns(funding["ts"]), iso_ns(funding["funding_ts"]), strict=True):
        venue, symbol = int(row["venue"]), int(row["symbol"])
        venue_name = ASSET_NAMES[venue] if 0 <= venue < len(ASSET_NAMES) else str(venue)
        writer.writerow([
            time, str(int(row["ts"])), funding_time, venue_name,
            symbols[symbol] if 0 <= symbol < len(symbols) else str(symbol), repr(float(row["rate"])),
            repr(float(row["mark"])), repr(float(row["position"])), repr(float(row["payment"])),
        ])  # fmt: skip
    text.flush()
    text.detach()


def _write_orders(f: BinaryIO, orders: Array, symbols: tuple[str, ...]) -> None:
    text = io.TextIOWrapper(f, encoding="utf-8", newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(ORDERS_HEADER)
    for row, time in zip(orders, iso_ns(orders["ts"]), strict=True):
        venue, symbol, side, kind = int(row["venue"]), int(row["symbol"]), int(row["side"]), int(row["kind"])
        writer.writerow([
            time, str(int(row["ts"])), ASSET_NAMES[venue] if 0 <= venue < len(ASSET_NAMES) else str(venue),
            symbols[symbol] if 0 <= symbol < len(symbols) else str(symbol), SIDE_NAMES.get(side, str(side)),
            repr(float(row["price"])), repr(float(row["qty"])), KIND_NAMES.get(kind, str(kind)),
            str(int(row["pair_id"])), str(int(row["order_id"])), str(int(row["trip_ns"])),
        ])  # fmt: skip
    text.flush()
    text.detach()


def _write_transfers(f: BinaryIO, transfers: Array, symbols: tuple[str, ...]) -> None:
    text = io.TextIOWrapper(f, encoding="utf-8", newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(TRANSFERS_HEADER)
    arrived = np.maximum(transfers["arrive_ts"], 0)
    for row, time, arrival in zip(transfers, iso_ns(transfers["ts"]), iso_ns(arrived), strict=True):
        symbol, asset = int(row["symbol"]), int(row["asset"])
        venues = [int(row["from_venue"]), int(row["to_venue"])]
        writer.writerow([
            time, str(int(row["ts"])), symbols[symbol] if 0 <= symbol < len(symbols) else str(symbol),
            _ASSET_KINDS[asset] if 0 <= asset < len(_ASSET_KINDS) else str(asset),
            *(ASSET_NAMES[v] if 0 <= v < len(ASSET_NAMES) else str(v) for v in venues),
            repr(float(row["amount"])), repr(float(row["fee"])), repr(float(row["fee_quote"])),
            arrival if row["arrive_ts"] >= 0 else "", str(int(row["arrive_ts"])),
        ])  # fmt: skip
    text.flush()
    text.detach()


def read_transfers_csv(path: str | Path, symbols: Sequence[str] = ()) -> Array:
    """A backtest's transfers.csv (:data:`TRANSFERS_HEADER`) as ``TRANSFER_DTYPE`` rows, symbols numbered
    by ``symbols`` (a name not there after them, a number as itself); empty when there is no such file
    (no transfer, or a report written before arb kept them).

    Raises:
        ValueError: The header is not :data:`TRANSFERS_HEADER`, or a row does not parse (names the line).
    """
    path = Path(path)
    if not path.is_file():
        return np.zeros(0, TRANSFER_DTYPE)
    venues, _, _, numbers = _numbers_of_names(symbols)
    assets = {name: i for i, name in enumerate(_ASSET_KINDS)}

    def parse(row: list[str]) -> tuple[Any, ...]:
        _time, ts, symbol, asset, sender, receiver, amount, fee, fee_quote, _arrival, arrive_ts = row
        number = int(symbol) if symbol.isdigit() else numbers.setdefault(symbol, len(numbers))
        return (int(ts), int(arrive_ts), number, assets[asset] if asset in assets else int(asset),
                venues[sender] if sender in venues else int(sender),
                venues[receiver] if receiver in venues else int(receiver),
                float(amount), float(fee), float(fee_quote))  # fmt: skip

    return _read_csv(path, TRANSFERS_HEADER, parse, TRANSFER_DTYPE)


def _read_csv(path: Path, header: Sequence[str], parse: Callable[[list[str]], tuple[Any, ...]], dtype: Any) -> Array:
    # A report's csv with ``header`` as ``dtype`` rows, each parsed by ``parse``; ValueError names the line
    rows = []
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        found = next(reader, None)
        if found is None or tuple(found) != tuple(header):
            raise ValueError(f"{path}: expected the header {','.join(header)}, got {found}")
        for line, row in enumerate(reader, start=2):
            try:
                if len(row) != len(header):
                    raise ValueError(f"expected {len(header)} columns, got {len(row)}")
                rows.append(parse(row))
            except (ValueError, KeyError) as exc:
                raise ValueError(f"{path}: line {line}: {exc}") from None
    return np.array(rows, dtype=dtype) if rows else np.zeros(0, dtype)


def _numbers_of_names(
    symbols: Sequence[str],
) -> tuple[dict[str, int], dict[str, int], dict[str, int], dict[str, int]]:
    # what a report's csv names, to numbers: venues, sides, intent kinds, symbols (by place in ``symbols``)
    venues = {name: i for i, name in enumerate(ASSET_NAMES)}
    sides = {name: side for side, name in SIDE_NAMES.items()}
    kinds = {name: kind for kind, name in KIND_NAMES.items()}
    return venues, sides, kinds, {name: i for i, name in enumerate(symbols)}


def read_orders_csv(path: str | Path, symbols: Sequence[str] = ()) -> Array:
    """A backtest's orders.csv (:data:`ORDERS_HEADER`) as :data:`~arb.reports.sent_orders.ORDER_DTYPE`
    rows, symbols numbered by ``symbols`` (a name not there after them, a number as itself).

    Raises:
        ValueError: The header is not :data:`ORDERS_HEADER`, or a row does not parse (names the line).
    """
    venues, sides, kinds, numbers = _numbers_of_names(symbols)

    def parse(row: list[str]) -> tuple[Any, ...]:
        _time, ts, venue, symbol, side, price, qty, kind, pair_id, order_id, trip = row
        number = int(symbol) if symbol.isdigit() else numbers.setdefault(symbol, len(numbers))
        return (int(ts), venues[venue] if venue in venues else int(venue), number,
                sides[side] if side in sides else int(side), float(price), float(qty),
                kinds[kind] if kind in kinds else int(kind), int(pair_id), int(order_id), int(trip))  # fmt: skip

    return _read_csv(Path(path), ORDERS_HEADER, parse, ORDER_DTYPE)


def read_equity_npz(path: str | Path) -> Array:
    """The equity samples a report folder keeps (:data:`EQUITY_NPZ`), as ``EQUITY_DTYPE`` rows in time
    order; empty when there is no such file (a report written before arb kept them).

    Raises:
        ValueError: The file is not one :func:`write_report` wrote (not an archive, no ``equity``
            array, or not of ``EQUITY_DTYPE``'s fields).
    """
    path = Path(path)
    if not path.is_file():
        return np.zeros(0, EQUITY_DTYPE)
    try:
        with np.load(path, allow_pickle=False) as archive:
            samples = archive["equity"]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path}: not an equity file of a report ({exc.__class__.__name__}: {exc})") from None
    require_fields(samples, EQUITY_DTYPE, str(path))
    out: Array = samples.astype(EQUITY_DTYPE)
    return out[np.argsort(out["ts"], kind="stable")]


def read_funding_csv(path: str | Path) -> float:
    """The sum of the payments of a report's funding.csv, quote currency (0 when there is no such file:
    nothing was funded)."""
    path = Path(path)
    if not path.is_file():
        return 0.0
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or tuple(header) != FUNDING_HEADER:
            raise ValueError(f"{path}: not a funding.csv (expected the header {','.join(FUNDING_HEADER)})")
        return math.fsum(float(line[-1]) for line in reader)


def _csv_row(fill: tuple[Any, ...], time: str, exch_time: str, symbols: tuple[str, ...]) -> list[str]:
    local_ts, _exch_ts, venue, side, price, qty, fee, pair_id, kind, order_id, symbol = fill
    return [
        time,
        str(local_ts),
        exch_time,
        ASSET_NAMES[venue] if 0 <= venue < len(ASSET_NAMES) else str(venue),
        SIDE_NAMES.get(side, str(side)),
        repr(price),
        repr(qty),
        repr(fee),
        str(pair_id),
        KIND_NAMES.get(kind, str(kind)),
        str(order_id),
        symbols[symbol] if 0 <= symbol < len(symbols) else str(symbol),
    ]


def _write_trades(f: BinaryIO, fills: Array, symbols: tuple[str, ...]) -> None:
    text = io.TextIOWrapper(f, encoding="utf-8", newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(TRADES_HEADER)
    columns = [fills[name].tolist() for name in FILL_DTYPE.names or ()]
    times, exch_times = iso_ns(fills["local_ts"]), iso_ns(fills["exch_ts"])
    for row, time, exch_time in zip(zip(*columns, strict=True), times, exch_times, strict=True):
        writer.writerow(_csv_row(row, time, exch_time, symbols))
    text.flush()
    text.detach()  # the caller owns and closes ``f``


def read_trades_csv(path: str | Path, symbols: Sequence[str] = ()) -> Array:
    """Read a trades.csv written by :func:`write_report` back into ``FILL_DTYPE`` rows, exactly.

    ``local_ts`` comes from its ns column, ``exch_ts`` from ``exch_time``; names map back to numbers
    (a column holding a number instead of a name is taken as that number). A symbol is numbered by
    its place in ``symbols``, or, for a name not there, after them in the order the file first names
    it; a file without the symbol column (one symbol) is symbol 0's.

    Raises:
        ValueError: The header is not :data:`TRADES_HEADER`, or a row does not parse (names the line).
    """
    venues, sides, kinds, numbers = _numbers_of_names(symbols)
    rows: list[tuple[Any, ...]] = []
    with Path(path).open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or tuple(header) not in (TRADES_HEADER, TRADES_HEADER[:-1]):
            raise ValueError(f"{path}: expected the header {','.join(TRADES_HEADER)}, got {header}")
        width = len(header)
        for line, row in enumerate(reader, start=2):
            try:
                rows.append(_parse_row(row, width, venues, sides, kinds, numbers))
            except (ValueError, IndexError) as exc:
                raise ValueError(f"{path}: line {line}: {exc}") from None
    return np.array(rows, dtype=FILL_DTYPE)


def _parse_row(
    row: list[str],
    width: int,
    venues: Mapping[str, int],
    sides: Mapping[str, int],
    kinds: Mapping[str, int],
    symbols: dict[str, int],
) -> tuple[Any, ...]:
    if len(row) != width:
        raise ValueError(f"expected {width} columns, got {len(row)}")
    _time, local_ts, exch_time, venue, side, price, qty, fee, pair_id, kind, order_id = row[:11]
    symbol = row[11] if width > 11 else None
    if symbol is None:
        number = 0
    elif symbol.isdigit():
        number = int(symbol)
    else:
        number = symbols.setdefault(symbol, len(symbols))
    exch_ts = int(np.datetime64(exch_time.removesuffix("Z"), "ns").astype(np.int64))
    return (
        int(local_ts),
        exch_ts,
        venues[venue] if venue in venues else int(venue),
        sides[side] if side in sides else int(side),
        float(price),
        float(qty),
        float(fee),
        int(pair_id),
        kinds[kind] if kind in kinds else int(kind),
        int(order_id),
        number,
    )


def pnl_from_trades_csv(
    path: str | Path,
    final_mid: Sequence[float | None] | Sequence[Sequence[float | None]] | Array,
    symbols: Sequence[str] = (),
) -> float:
    """Net PnL from trades.csv alone, quote currency.

    ``sum(-side * price * qty) - sum(fee)`` over the rows, plus per venue the position change
    ``sum(side * qty)`` valued at ``final_mid[venue]`` (the ``final_mid`` of summary.json's venues).
    The starting balances cancel out of a PnL, so they are not needed. With several symbols,
    ``final_mid`` holds one row per symbol of ``symbols`` (``symbols.<name>.venues.<venue>.final_mid``)
    and each row of the file is valued at its own symbol's.

    A perpetual's funding payments, in funding.csv beside trades.csv, are added (``final_mid`` is then
    the price positions were valued at: summary.json's ``final_mid`` is the mark price there).

    Raises:
        ValueError: The file is not a trades.csv, or a venue with a position change has no finite mid.
    """
    pnl = pnl_from_fills(read_trades_csv(path, symbols), final_mid)
    if pnl is None:
        raise ValueError(f"{path}: a venue's position changed but its final mid {list(final_mid)} is not finite")
    return pnl + read_funding_csv(Path(path).with_name(FUNDING_CSV))
