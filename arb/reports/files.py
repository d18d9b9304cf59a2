"""The files of a run's report: trades.csv, funding.csv, orders.csv and transfers.csv (a backtest's),
equity.npz, equity.png, inventory.csv (:mod:`arb.reports.inventory`) and summary.json, written
atomically (:func:`write_report`) and read back exactly (:func:`read_trades_csv`, :func:`read_orders_csv`,
:func:`read_equity_npz`, :func:`read_funding_csv`, :func:`read_transfers_csv`, :func:`pnl_from_trades_csv`).

``docs/reports.md`` describes every column and key.
"""

from __future__ import annotations

__all__ = [
    "CHARTS_ENV",
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
    "charts_enabled",
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
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Final

import numpy as np

from arb.catalog import default_venues
from arb.files import atomic_writer
from arb.formats import iso_ns
from arb.reports.charts import plot_equity
from arb.reports.common import KIND_NAMES, SIDE_NAMES, Array, name_of, require_fields, venue_count
from arb.reports.inventory import write_inventory
from arb.reports.page import CHARTS_ENV, charts_enabled
from arb.reports.pnl import pnl_from_fills
from arb.reports.sent_orders import ORDER_DTYPE
from arb.reports.summary import Summary
from arb.strategy.types import FILL_DTYPE, TRANSFER_DTYPE, equity_dtype

if TYPE_CHECKING:
    from arb.reports.chart_worker import ChartWorker

SUMMARY_JSON: Final = "summary.json"
TRADES_CSV: Final = "trades.csv"
FUNDING_CSV: Final = "funding.csv"
ORDERS_CSV: Final = "orders.csv"
TRANSFERS_CSV: Final = "transfers.csv"
EQUITY_PNG: Final = "equity.png"
EQUITY_NPZ: Final = "equity.npz"
"""The run's equity samples at full resolution (:func:`~arb.strategy.types.equity_dtype` rows under the name ``equity``,
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
    "from",  # the venue that sent it, by name
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
_ASSET_NUMBERS: Final = {name: i for i, name in enumerate(_ASSET_KINDS)}
_SIDE_NUMBERS: Final = {name: side for side, name in SIDE_NAMES.items()}
_KIND_NUMBERS: Final = {name: kind for kind, name in KIND_NAMES.items()}


TRADES_HEADER: Final = (
    "time",  # local_ts as ISO-8601 UTC with nanoseconds, e.g. 2024-08-08T00:00:01.250000000Z
    "local_ts",  # the same instant, int64 ns since the epoch
    "exch_time",  # exch_ts as ISO-8601 UTC with nanoseconds
    "venue",  # the venue's name
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
    "venue",  # the venue's name
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
    chart: ChartWorker | None = None,
    draw: bool | None = None,
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
        equity: Equity samples (:func:`~arb.strategy.types.equity_dtype`), kept as they are in equity.npz
            (:func:`read_equity_npz`) and plotted in equity.png.
        symbols: The symbols' names by number, for trades.csv (default: the ``strategy.symbols`` of
            the configuration in ``summary.meta``; else their numbers). The venues are named as the
            summary's columns (:attr:`Summary.venue_names`).
        chart: A :class:`~arb.reports.chart_worker.ChartWorker` to draw equity.png while the other files
            are written (the same file; drawn here when it cannot).
        draw: Whether to draw equity.png (default: :func:`charts_enabled`). Not drawn, an older run's in the
            folder is removed and the paths returned leave it out.

    Returns:
        The paths written: ``[trades.csv, (funding.csv,) (orders.csv,) (transfers.csv,) equity.npz, (equity.png,)
        inventory.csv, summary.json]``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(summary.to_dict(), indent=2, allow_nan=False) + "\n"
    if symbols is None:
        symbols = summary.meta.get("config", {}).get("strategy", {}).get("symbols") or ()
    names = tuple(symbols)
    venues = summary.venue_names
    tables: tuple[
        tuple[str, Callable[[BinaryIO, Array, tuple[str, ...], tuple[str, ...]], None], Array | None], ...
    ] = (
        (TRADES_CSV, _write_trades, fills),
        (FUNDING_CSV, _write_funding, funding if funding is not None and len(funding) else None),
        (ORDERS_CSV, _write_orders, orders),
        (TRANSFERS_CSV, _write_transfers, transfers if transfers is not None and len(transfers) else None),
    )
    if draw is None:
        draw = charts_enabled()
    if not draw:
        chart = None
        (out / EQUITY_PNG).unlink(missing_ok=True)  # an older run's in the same folder is not this one's
    elif chart is not None:
        chart.submit(out / EQUITY_PNG, summary, fills, equity)
    paths = []
    for name, write, rows in tables:
        if rows is None:
            (out / name).unlink(missing_ok=True)  # an older run's in the same folder is not this one's
            continue
        with atomic_writer(out / name) as f:
            write(f, rows, names, venues)
        paths.append(out / name)
    samples = np.ascontiguousarray(equity).astype(equity_dtype(venue_count(equity)), copy=False)
    with atomic_writer(out / EQUITY_NPZ) as f:
        np.savez(f, equity=samples)
    if chart is not None:
        chart.wait()
    elif draw:
        with atomic_writer(out / EQUITY_PNG) as f:
            plot_equity(f, summary, fills, equity)
    inventory = write_inventory(out, summary, fills, equity, funding, names, transfers)  # inventory.csv
    with atomic_writer(out / SUMMARY_JSON) as f:
        f.write(text.encode("utf-8"))
    drawn = [out / EQUITY_PNG] if draw else []
    return [*paths, out / EQUITY_NPZ, *drawn, *inventory, out / SUMMARY_JSON]


def _number(numbers: Mapping[str, int], text: str) -> int:
    # a csv column's name back to its number; a column holding a number instead is that number
    return numbers[text] if text in numbers else int(text)


def _symbol_number(numbers: dict[str, int], text: str) -> int:
    # a symbol (or venue) column: a number as itself, a name by its place in ``numbers`` (a new name after them)
    return int(text) if text.isdigit() else numbers.setdefault(text, len(numbers))


def _venue_names(venues: Sequence[str]) -> tuple[str, ...]:
    # the venues a table names by number: the run's in order, else the default run's (what a report of an
    # older arb, which names no venues, traded)
    return tuple(venues) or default_venues()


def _venue_numbers(venues: Sequence[str]) -> dict[str, int]:
    # the venue columns' names to numbers (_venue_names)
    return {name: v for v, name in enumerate(_venue_names(venues))}


@contextmanager
def _csv_writer(f: BinaryIO, header: Sequence[str]) -> Iterator[Any]:
    # a csv writer on ``f`` with the header written; the caller owns and closes ``f``
    text = io.TextIOWrapper(f, encoding="utf-8", newline="")
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    yield writer
    text.flush()
    text.detach()


def _write_funding(f: BinaryIO, funding: Array, symbols: tuple[str, ...], venues: Sequence[str] = ()) -> None:
    venues = _venue_names(venues)
    with _csv_writer(f, FUNDING_HEADER) as writer:
        times = zip(iso_ns(funding["ts"]), iso_ns(funding["funding_ts"]), strict=True)
        for row, (time, funding_time) in zip(funding, times, strict=True):
            writer.writerow([
                time, str(int(row["ts"])), funding_time, name_of(venues, int(row["venue"])),
                name_of(symbols, int(row["symbol"])), repr(float(row["rate"])), repr(float(row["mark"])),
                repr(float(row["position"])), repr(float(row["payment"])),
            ])  # fmt: skip


def _write_orders(f: BinaryIO, orders: Array, symbols: tuple[str, ...], venues: Sequence[str] = ()) -> None:
    venues = _venue_names(venues)
    with _csv_writer(f, ORDERS_HEADER) as writer:
        for row, time in zip(orders, iso_ns(orders["ts"]), strict=True):
            side, kind = int(row["side"]), int(row["kind"])
            writer.writerow([
                time, str(int(row["ts"])), name_of(venues, int(row["venue"])),
                name_of(symbols, int(row["symbol"])), SIDE_NAMES.get(side, str(side)), repr(float(row["price"])),
                repr(float(row["qty"])), KIND_NAMES.get(kind, str(kind)), str(int(row["pair_id"])),
                str(int(row["order_id"])), str(int(row["trip_ns"])),
            ])  # fmt: skip


def _write_transfers(f: BinaryIO, transfers: Array, symbols: tuple[str, ...], venues: Sequence[str] = ()) -> None:
    venues = _venue_names(venues)
    with _csv_writer(f, TRANSFERS_HEADER) as writer:
        arrived = np.maximum(transfers["arrive_ts"], 0)
        for row, time, arrival in zip(transfers, iso_ns(transfers["ts"]), iso_ns(arrived), strict=True):
            writer.writerow([
                time, str(int(row["ts"])), name_of(symbols, int(row["symbol"])),
                name_of(_ASSET_KINDS, int(row["asset"])), name_of(venues, int(row["from_venue"])),
                name_of(venues, int(row["to_venue"])),
                repr(float(row["amount"])), repr(float(row["fee"])), repr(float(row["fee_quote"])),
                arrival if row["arrive_ts"] >= 0 else "", str(int(row["arrive_ts"])),
            ])  # fmt: skip


def read_transfers_csv(path: str | Path, symbols: Sequence[str] = (), venues: Sequence[str] = ()) -> Array:
    """A backtest's transfers.csv (:data:`TRANSFERS_HEADER`) as ``TRANSFER_DTYPE`` rows, symbols numbered
    by ``symbols`` and venues by ``venues`` (the run's, in order; default: the default run's; a name not
    there after them, a number as itself); empty when there is no such file (no transfer, or a report
    written before arb kept them).

    Raises:
        ValueError: The header is not :data:`TRANSFERS_HEADER`, or a row does not parse (names the line).
    """
    path = Path(path)
    if not path.is_file():
        return np.zeros(0, TRANSFER_DTYPE)
    numbers = {name: i for i, name in enumerate(symbols)}
    venue_numbers = _venue_numbers(venues)

    def parse(row: list[str]) -> tuple[Any, ...]:
        _time, ts, symbol, asset, sender, receiver, amount, fee, fee_quote, _arrival, arrive_ts = row
        return (
            int(ts),
            int(arrive_ts),
            _symbol_number(numbers, symbol),
            _number(_ASSET_NUMBERS, asset),
            _symbol_number(venue_numbers, sender),
            _symbol_number(venue_numbers, receiver),
            float(amount),
            float(fee),
            float(fee_quote),
        )

    return _read_csv(path, (TRANSFERS_HEADER,), parse, TRANSFER_DTYPE)


def _read_csv(
    path: str | Path,
    headers: Sequence[tuple[str, ...]],
    parse: Callable[[list[str]], tuple[Any, ...]],
    dtype: Any,
) -> Array:
    # A report's csv with one of ``headers`` (the first named when it has none) as ``dtype`` rows, each
    # parsed by ``parse``; ValueError names the line
    rows = []
    with Path(path).open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        found = next(reader, None)
        if found is None or tuple(found) not in headers:
            raise ValueError(f"{path}: expected the header {','.join(headers[0])}, got {found}")
        for line, row in enumerate(reader, start=2):
            try:
                if len(row) != len(found):
                    raise ValueError(f"expected {len(found)} columns, got {len(row)}")
                rows.append(parse(row))
            except (ValueError, KeyError) as exc:
                raise ValueError(f"{path}: line {line}: {exc}") from None
    return np.array(rows, dtype=dtype) if rows else np.zeros(0, dtype)


def read_orders_csv(path: str | Path, symbols: Sequence[str] = (), venues: Sequence[str] = ()) -> Array:
    """A backtest's orders.csv (:data:`ORDERS_HEADER`) as :data:`~arb.reports.sent_orders.ORDER_DTYPE`
    rows, symbols numbered by ``symbols`` and venues by ``venues`` (as :func:`read_transfers_csv`).

    Raises:
        ValueError: The header is not :data:`ORDERS_HEADER`, or a row does not parse (names the line).
    """
    numbers = {name: i for i, name in enumerate(symbols)}
    venue_numbers = _venue_numbers(venues)

    def parse(row: list[str]) -> tuple[Any, ...]:
        _time, ts, venue, symbol, side, price, qty, kind, pair_id, order_id, trip = row
        return (
            int(ts),
            _symbol_number(venue_numbers, venue),
            _symbol_number(numbers, symbol),
            _number(_SIDE_NUMBERS, side),
            float(price),
            float(qty),
            _number(_KIND_NUMBERS, kind),
            int(pair_id),
            int(order_id),
            int(trip),
        )

    return _read_csv(Path(path), (ORDERS_HEADER,), parse, ORDER_DTYPE)


def read_equity_npz(path: str | Path, n_venues: int | None = None) -> Array:
    """The equity samples a report folder keeps (:data:`EQUITY_NPZ`), as
    :func:`~arb.strategy.types.equity_dtype` rows of the run's venues (as many as the file's per-venue
    fields are wide) in time order; empty (rows of ``n_venues`` venues, default the default run's) when
    there is no such file (a report written before arb kept them). A field a file of an older arb holds
    beside them (``spread_bps``) is left out.

    Raises:
        ValueError: The file is not one :func:`write_report` wrote (not an archive, no ``equity``
            array, or not of the equity rows' fields).
    """
    path = Path(path)
    if not path.is_file():
        return np.zeros(0, equity_dtype(n_venues if n_venues is not None else len(default_venues())))
    try:
        with np.load(path, allow_pickle=False) as archive:
            samples = archive["equity"]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path}: not an equity file of a report ({exc.__class__.__name__}: {exc})") from None
    if samples.dtype.names is None or "mid" not in samples.dtype.names or samples["mid"].ndim != 2:
        raise ValueError(f"{path}: not an equity file of a report (no per-venue mids)")
    dtype = equity_dtype(venue_count(samples))
    require_fields(samples, dtype, str(path))
    out: Array = np.zeros(len(samples), dtype)
    for name in dtype.names or ():
        out[name] = samples[name]
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


def _csv_row(
    fill: tuple[Any, ...], time: str, exch_time: str, symbols: tuple[str, ...], venues: Sequence[str]
) -> list[str]:
    local_ts, _exch_ts, venue, side, price, qty, fee, pair_id, kind, order_id, symbol = fill
    return [
        time,
        str(local_ts),
        exch_time,
        name_of(venues, venue),
        SIDE_NAMES.get(side, str(side)),
        repr(price),
        repr(qty),
        repr(fee),
        str(pair_id),
        KIND_NAMES.get(kind, str(kind)),
        str(order_id),
        name_of(symbols, symbol),
    ]


def _write_trades(f: BinaryIO, fills: Array, symbols: tuple[str, ...], venues: Sequence[str] = ()) -> None:
    venues = _venue_names(venues)
    with _csv_writer(f, TRADES_HEADER) as writer:
        columns = [fills[name].tolist() for name in FILL_DTYPE.names or ()]
        times, exch_times = iso_ns(fills["local_ts"]), iso_ns(fills["exch_ts"])
        for row, time, exch_time in zip(zip(*columns, strict=True), times, exch_times, strict=True):
            writer.writerow(_csv_row(row, time, exch_time, symbols, venues))


def read_trades_csv(path: str | Path, symbols: Sequence[str] = (), venues: Sequence[str] = ()) -> Array:
    """Read a trades.csv written by :func:`write_report` back into ``FILL_DTYPE`` rows, exactly.

    ``local_ts`` comes from its ns column, ``exch_ts`` from ``exch_time``; names map back to numbers
    (a column holding a number instead of a name is taken as that number). A symbol is numbered by
    its place in ``symbols``, or, for a name not there, after them in the order the file first names
    it; a file without the symbol column (one symbol) is symbol 0's. A venue is numbered by its place in
    ``venues`` (the run's venues in order; default: the default run's, as a report of an older arb
    names them), a name not there after them.

    Raises:
        ValueError: The header is not :data:`TRADES_HEADER`, or a row does not parse (names the line).
    """
    numbers = {name: i for i, name in enumerate(symbols)}
    venue_numbers = _venue_numbers(venues)

    def parse(row: list[str]) -> tuple[Any, ...]:
        _time, local_ts, exch_time, venue, side, price, qty, fee, pair_id, kind, order_id = row[:11]
        return (
            int(local_ts),
            int(np.datetime64(exch_time.removesuffix("Z"), "ns").astype(np.int64)),
            _symbol_number(venue_numbers, venue),
            _number(_SIDE_NUMBERS, side),
            float(price),
            float(qty),
            float(fee),
            int(pair_id),
            _number(_KIND_NUMBERS, kind),
            int(order_id),
            _symbol_number(numbers, row[11]) if len(row) > 11 else 0,
        )

    return _read_csv(path, (TRADES_HEADER, TRADES_HEADER[:-1]), parse, FILL_DTYPE)


def pnl_from_trades_csv(
    path: str | Path,
    final_mid: Sequence[float | None] | Sequence[Sequence[float | None]] | Array,
    symbols: Sequence[str] = (),
    venues: Sequence[str] = (),
) -> float:
    """Net PnL from trades.csv alone, quote currency.

    ``sum(-side * price * qty) - sum(fee)`` over the rows, plus per venue the position change
    ``sum(side * qty)`` valued at ``final_mid[venue]`` (the ``final_mid`` of summary.json's venues, in
    their order there: ``venues`` names them, the default run's when not given).
    The starting balances cancel out of a PnL, so they are not needed. With several symbols,
    ``final_mid`` holds one row per symbol of ``symbols`` (``symbols.<name>.venues.<venue>.final_mid``)
    and each row of the file is valued at its own symbol's.

    A perpetual's funding payments, in funding.csv beside trades.csv, are added (``final_mid`` is then
    the price positions were valued at: summary.json's ``final_mid`` is the mark price there).

    Raises:
        ValueError: The file is not a trades.csv, or a venue with a position change has no finite mid.
    """
    pnl = pnl_from_fills(read_trades_csv(path, symbols, venues), final_mid)
    if pnl is None:
        raise ValueError(f"{path}: a venue's position changed but its final mid {list(final_mid)} is not finite")
    return pnl + read_funding_csv(Path(path).with_name(FUNDING_CSV))
