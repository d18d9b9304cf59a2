"""A backtest's transfers in its report files (transfers.csv) and in what the reports rebuild from the
fills (arb.reports.transfers): the balances, each venue's PnL and the PnL from the fills."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from arb.reports.files import (
    ORDERS_HEADER,
    TRANSFERS_CSV,
    TRANSFERS_HEADER,
    read_orders_csv,
    read_transfers_csv,
    write_report,
)
from arb.reports.inventory import inventory_series
from arb.reports.summary import summarize
from arb.strategy.types import RULES_DTYPE, TRANSFER_DTYPE
from tests.support.venues import BINANCE, BYBIT
from tests.unit.test_report import INITIAL, ns, scenario


def transfers(*rows: tuple[float, float, int, int, int, float, float]) -> np.ndarray:
    """Rows of (sent s, arrived s or -1, asset, from, to, amount, fee) of symbol 0."""
    out = np.zeros(len(rows), TRANSFER_DTYPE)
    for i, (sent, arrived, asset, sender, receiver, amount, fee) in enumerate(rows):
        out[i] = (
            ns(sent),
            ns(arrived) if arrived >= 0 else -1,
            0,
            asset,
            sender,
            receiver,
            amount,
            fee,
            fee * 60_000.0,
        )
    return out


MOVED = transfers(
    (2.5, 3.5, 0, BINANCE, BYBIT, 0.02, 0.0002),  # base, arrived
    (5.0, 6.0, 1, BYBIT, BINANCE, 500.0, 1.0),  # quote, arrived
    (9.5, -1, 0, BINANCE, BYBIT, 0.01, 0.0002),  # base, on its way at the end
)


def with_transfers(equity: np.ndarray, moved: np.ndarray) -> np.ndarray:
    # the driver's equity with what the transfers sent before each sample: the receiver's from the send
    out = equity.copy()
    for row in moved:
        px = out["mid"] if row["asset"] == 0 else np.ones_like(out["mid"])
        sent = out["ts"] >= row["ts"]
        out["equity_venue"][sent, row["to_venue"]] += row["amount"] * px[sent, row["to_venue"]]
        out["equity_venue"][sent, row["from_venue"]] -= (row["amount"] + row["fee"]) * px[sent, row["from_venue"]]
    out["equity"] = out["equity_venue"].sum(axis=1)
    return out


def test_transfers_csv_reads_back_exactly_and_only_a_run_with_transfers_has_one(tmp_path: Path) -> None:
    fills, equity = scenario()
    s = summarize(fills, equity, INITIAL, {"mode": "backtest"})
    paths = write_report(tmp_path, s, fills, equity, transfers=MOVED)
    assert tmp_path / TRANSFERS_CSV in paths
    text = (tmp_path / TRANSFERS_CSV).read_text(encoding="utf-8").splitlines()
    assert text[0] == "time,local_ts,symbol,asset,from,to,amount,fee,fee_quote,arrival_time,arrive_ts"
    assert text[3].endswith(",,-1") and ",0,base,binance,bybit,0.01," in text[3]  # on its way: no arrival
    back = read_transfers_csv(tmp_path / TRANSFERS_CSV)
    assert back.dtype == TRANSFER_DTYPE and np.array_equal(back, MOVED)
    write_report(tmp_path, s, fills, equity)  # a run without transfers: none, an older file removed
    assert not (tmp_path / TRANSFERS_CSV).exists() and len(read_transfers_csv(tmp_path / TRANSFERS_CSV)) == 0


def test_the_balances_and_each_venues_pnl_count_the_transfers() -> None:
    fills, plain = scenario()
    equity = with_transfers(plain, MOVED)
    before = summarize(fills, plain, INITIAL, {})
    after = summarize(fills, equity, INITIAL, {}, transfers=MOVED)
    binance, bybit = after.venues
    # balances: sent (amount + fee) at once, arrived amounts only
    assert binance.base_balance == pytest.approx(before.venues[0].base_balance - 0.0202 - 0.0102, abs=1e-12)
    assert bybit.base_balance == pytest.approx(before.venues[1].base_balance + 0.02, abs=1e-12)
    assert binance.quote_balance == pytest.approx(before.venues[0].quote_balance + 500.0, abs=1e-9)
    assert bybit.quote_balance == pytest.approx(before.venues[1].quote_balance - 501.0, abs=1e-9)
    # PnL: the fees are the senders' loss (final mids 60,000), what moved is no one's gain
    assert binance.pnl == pytest.approx(before.venues[0].pnl - 0.0004 * 60_000.0, abs=1e-6)
    assert bybit.pnl == pytest.approx(before.venues[1].pnl - 1.0, abs=1e-6)
    assert after.total.pnl == pytest.approx(before.total.pnl - 0.0004 * 60_000.0 - 1.0, abs=1e-6)
    assert binance.pnl + bybit.pnl == pytest.approx(after.total.pnl, abs=1e-6)
    assert after.total.pnl_from_fills == pytest.approx(after.total.pnl, abs=1e-6) and after.pnl_consistent


def test_inventory_csv_moves_a_transfer_out_when_sent_and_in_when_it_arrives() -> None:
    fills, equity = scenario()
    bases, quote = [INITIAL.base], INITIAL.quote
    points = inventory_series(fills, equity, bases, quote, np.zeros(1, RULES_DTYPE), ("BTCUSDT",), None, MOVED)
    plain = inventory_series(fills, equity, bases, quote, np.zeros(1, RULES_DTYPE), ("BTCUSDT",))
    events = [p.event for p in points]
    assert events.count("transfer") == 3 and events.count("arrival") == 2
    sent = next(p for p in points if p.event == "transfer")
    assert sent.ts == ns(2.5)
    end, was = points[-1], plain[-1]
    assert end.base[0] == pytest.approx(was.base[0] + np.array([-0.0304, 0.02]), abs=1e-12)
    assert end.quote == pytest.approx(was.quote + np.array([500.0, -501.0]), abs=1e-9)
    assert end.position == pytest.approx(was.position)  # a transfer trades nothing


def test_a_damaged_orders_or_transfers_csv_names_its_file_and_line(tmp_path: Path) -> None:
    for name, header, reader in (("orders.csv", ORDERS_HEADER, read_orders_csv),
                                 ("transfers.csv", TRANSFERS_HEADER, read_transfers_csv)):  # fmt: skip
        path = tmp_path / name
        path.write_text("time,price\n", encoding="utf-8")
        with pytest.raises(ValueError, match=f"{name}: expected the header {','.join(header)}"):
            reader(path)
        path.write_text(",".join(header) + "\n" + ",".join(["x"] * len(header)) + "\n1,2\n", encoding="utf-8")
        with pytest.raises(ValueError, match=f"{name}: line 2: "):
            reader(path)
        path.write_text(",".join(header) + "\n1,2\n", encoding="utf-8")
        with pytest.raises(ValueError, match=f"line 2: expected {len(header)} columns, got 2"):
            reader(path)
