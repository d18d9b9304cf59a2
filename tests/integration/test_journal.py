"""The journal on SQLite and on a real PostgreSQL server: the same tests, the same answers."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine.default import CACHE_HIT

from arb.execution.journaling import ExecutionJournal
from arb.execution.orders import LiveOrder, OrderState, VenueFill
from arb.execution.paper import Rejection
from arb.journal import DuplicateIntentError, Journal, JournalError
from arb.journal.journal import intents
from tests.support.captures import ROOT


def _order(client_id: str = "arb-t-1-0", intent_ns: int = 1_000, **fields: Any) -> LiveOrder:
    base: dict[str, Any] = dict(order_id=1, client_id=client_id, venue=0, side=1, price=100.0, qty=0.002, kind=1,
                                pair_id=3, sent_ts=intent_ns, price_text="100", qty_text="0.002", symbol="BTCUSDT",
                                intent_ns=intent_ns)  # fmt: skip
    base.update(fields)
    return LiveOrder(**base)


def _fill(trade_id: str, qty: str = "0.001", client_id: str = "arb-t-1-0", ts_ms: int = 5) -> VenueFill:
    return VenueFill(trade_id, client_id, "77", 1, Decimal("100.5"), Decimal(qty), Decimal("0.000001"), "BTC", ts_ms)


def _open(url: str) -> ExecutionJournal:
    return ExecutionJournal(Journal.open(url), "acct")


def _reopened(journal: ExecutionJournal, url: str) -> ExecutionJournal:
    """``journal`` flushed and closed, and the one at ``url`` opened again: what the next run finds."""
    journal.flush()
    journal.close()
    return _open(url)


def _intend(journal: ExecutionJournal, market: str, *orders: LiveOrder, venue: str = "binance") -> None:
    """Journal the intents of ``orders`` on ``venue``'s ``market`` (account "acct", run "r1")."""
    for order in orders:
        journal.record_intent(order, venue=venue, market=market, account="acct", run_id="r1")


def test_intent_is_committed_at_once_and_a_client_id_never_twice(journal_url: str) -> None:
    journal = _open(journal_url)
    order = _order()
    _intend(journal, "spot", order)
    with Journal.open(journal_url) as other:  # a second connection sees it: committed
        row = other.intent(order.client_id)
    assert row is not None and row["state"] == "pending" and row["price"] == "100" and row["qty"] == "0.002"
    with pytest.raises(DuplicateIntentError):
        journal.record_intent(_order(price_text="101"), venue="binance", market="spot", account="acct", run_id="r2")
    assert journal.journal.intent(order.client_id)["price"] == "100"  # not overwritten
    journal.close()


def test_states_events_and_fills_are_queued_then_committed_together(journal_url: str) -> None:
    journal = _open(journal_url)
    order = _order()
    _intend(journal, "linear", order, venue="bybit")
    assert journal.trade_keys("bybit", "linear") == set()  # (reading flushes what is queued: read first)
    order.state, order.venue_order_id, order.written_ns, order.ack_ns = OrderState.ACCEPTED, "77", 1_100, 1_500
    journal.record_state(order, "ack", 1_500, {"written_ns": 1_100})
    assert journal.record_fill(order, _fill("t1"), venue="bybit", market="linear", source="stream", local_ts_ns=1_600)
    with Journal.open(journal_url) as other:
        assert other.intent(order.client_id)["state"] == "pending"  # queued, not committed yet
        assert other.fills() == []
    journal.flush()
    with Journal.open(journal_url) as other:
        row = other.intent(order.client_id)
        assert (row["state"], row["venue_order_id"], row["written_ns"]) == ("accepted", "77", 1_100)
        (fill,) = other.fills()
        assert (fill["trade_id"], fill["qty"], fill["client_id"], fill["source"]) == ("t1", "0.001", order.client_id,
                                                                                      "stream")  # fmt: skip
        assert [e["kind"] for e in other.order_events(order.client_id)] == ["ack"]
    journal.close()


def test_a_fill_is_booked_once_whichever_way_it_comes(journal_url: str) -> None:
    journal = _open(journal_url)
    order = _order()
    _intend(journal, "spot", order)
    assert journal.record_fill(order, _fill("t1"), venue="binance", market="spot", source="stream", local_ts_ns=1)
    assert not journal.record_fill(order, _fill("t1"), venue="binance", market="spot", source="rest", local_ts_ns=2)
    reopened = _reopened(journal, journal_url)  # a new run learns the known trade ids from the journal
    assert not reopened.record_fill(order, _fill("t1"), venue="binance", market="spot", source="rest", local_ts_ns=3)
    # the same trade id on another venue-market is another fill
    assert reopened.record_fill(order, _fill("t1"), venue="binance", market="linear", source="rest", local_ts_ns=3)
    reopened.flush()
    assert len(reopened.journal.fills()) == 2
    # even a write that bypasses the in-memory check cannot book it twice
    reopened.journal.add_fill(dict(reopened.journal.fills(market="spot")[0]))
    reopened.flush()
    assert len(reopened.journal.fills()) == 2
    reopened.close()


def test_in_flight_orders_come_back_with_their_fills(journal_url: str) -> None:
    journal = _open(journal_url)
    done, open_ = _order("arb-t-1-0", 1_000), _order("arb-t-2-0", 2_000)
    _intend(journal, "spot", done, open_)
    done.state = OrderState.REJECTED
    done.rejection = Rejection(-2010, "Account has insufficient balance for requested action.")
    journal.record_state(done, "reject", 1_100, {})
    open_.state, open_.venue_order_id, open_.executed_qty = OrderState.UNKNOWN, "77", Decimal("0.002")
    journal.record_state(open_, "unknown", 2_100, {"code": "timeout"})
    journal.record_fill(open_, _fill("t9", client_id=open_.client_id), venue="binance", market="spot", source="stream",
                        local_ts_ns=2_200)  # fmt: skip
    reopened = _reopened(journal, journal_url)
    (back,) = reopened.in_flight_orders("binance", "spot")
    assert (back.client_id, back.state, back.venue_order_id, back.executed_qty) == (
        open_.client_id, OrderState.UNKNOWN, "77", Decimal("0.002"))  # fmt: skip
    assert list(back.fills) == ["t9"] and back.filled == Decimal("0.001")
    assert reopened.in_flight_orders("bybit", "spot") == []
    row = reopened.journal.intent(done.client_id)
    assert (row["state"], row["reject_code"]) == ("rejected", "-2010")
    assert reopened.last_fill_ms("binance", "spot") == 5
    reopened.close()


def test_an_order_the_venue_called_filled_stays_in_flight_until_its_fills_are_booked(journal_url: str) -> None:
    # The venue's answer (Binance RESULT, a stream order update) can say FILLED before the fills arrive;
    # a crash in between must leave the intent for reconciliation to finish, not as done.
    journal = _open(journal_url)
    owed, settled = _order("arb-t-1-0", 1_000), _order("arb-t-2-0", 2_000)
    _intend(journal, "linear", owed, settled)
    for order in (owed, settled):
        order.state, order.venue_order_id, order.executed_qty = OrderState.FILLED, "77", Decimal("0.002")
        journal.record_state(order, "reply", 1_500, {})
    settled.answered, settled.respond_ts = True, 2_500
    journal.record_state(settled, "done", 2_500, {})
    reopened = _reopened(journal, journal_url)
    (back,) = reopened.in_flight_orders("binance", "linear")
    assert (back.client_id, back.state) == (owed.client_id, OrderState.FILLED)
    reopened.close()


def test_latency_percentiles(journal_url: str) -> None:
    journal = Journal.open(journal_url)
    for k in range(1, 101):
        journal.add_intent({"client_id": f"c{k}", "account": "a", "run_id": "r", "venue": "binance", "market": "spot",
                            "symbol": "BTCUSDT", "side": 1, "order_type": "limit", "time_in_force": "ioc",
                            "price": "1", "qty": "1", "reduce_only": False, "kind": 1, "pair_id": k,
                            "state": "filled", "intent_ns": 0})  # fmt: skip
        journal.update_intent(f"c{k}", written_ns=k * 1_000, ack_ns=k * 10_000)
    journal.flush()
    lat = journal.latencies("binance")
    assert lat["intent_to_written"]["n"] == 100
    assert lat["intent_to_written"]["p50"] == pytest.approx(51) and lat["intent_to_written"]["p99"] == pytest.approx(99)
    assert lat["intent_to_ack"]["p95"] == pytest.approx(950)
    assert lat["intent_to_first_fill"] == {"n": 0}
    assert journal.latencies("bybit")["intent_to_written"] == {"n": 0}
    journal.close()


def test_state_batches_and_schema_version(journal_url: str) -> None:
    journal = Journal.open(journal_url)
    assert journal.get_state("halt") is None
    journal.set_state("halt", "drawdown 101 > 100")
    journal.set_state("halt", "cleared")
    assert journal.get_state("halt") == "cleared"
    with pytest.raises(RuntimeError), journal.batch():
        journal.set_state  # noqa: B018 - the batch below is what matters
        journal.update_intent("nobody", state="filled")
        raise RuntimeError("a step failed half way")
    journal.flush()  # nothing of the failed batch is left queued
    journal.set_state("schema_version", "99")
    journal.close()
    with pytest.raises(JournalError, match="schema version 99"):
        Journal.open(journal_url)


def test_a_flush_compiles_no_statement_again(journal_url: str) -> None:
    """Every answer's writes (the order's state, its event, its fills, the account's state values) are
    flushed on the event loop: after the first time, none is compiled again (SQLAlchemy's statement cache
    holds no ON CONFLICT statement: the fill insert and the state upsert would be compiled per flush)."""
    journal = _open(journal_url)
    compiled: list[str] = []

    def executed(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        if context.compiled is not None and context.cache_hit != CACHE_HIT:
            compiled.append(statement)

    for n in range(3):
        order = _order(client_id=f"arb-t-{n}-0")
        _intend(journal, "spot", order)
        order.state, order.venue_order_id = OrderState.ACCEPTED, f"7{n}"
        journal.record_state(order, "ack", 1_500, {"written_ns": 1_100})
        journal.record_fill(order, _fill(f"t{n}", client_id=order.client_id), venue="binance", market="spot",
                            source="reply", local_ts_ns=1_600)  # fmt: skip
        journal.journal.set_state("risk", str(n))
        journal.flush()
        if n == 0:
            sa.event.listen(journal.journal.engine, "before_cursor_execute", executed)
    assert compiled == []
    assert len(journal.journal.fills()) == 3 and journal.journal.get_state("risk") == "2"
    journal.close()


def test_no_credential_is_ever_a_column() -> None:
    names = {c.name for c in intents.columns}
    assert not {n for n in names if "key" in n or "secret" in n or "sign" in n}


def test_sqlite_synchronous_setting_is_applied(tmp_path: Path) -> None:
    for mode, code in (("full", 2), ("normal", 1)):
        journal = Journal.open(tmp_path / f"{mode}.sqlite", synchronous=mode)
        with journal.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == code
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        journal.close()


_CHILD = textwrap.dedent(
    """
    import sys
    from arb.execution.journaling import ExecutionJournal
    from arb.execution.orders import LiveOrder
    from arb.journal import Journal
    journal = ExecutionJournal(Journal.open(sys.argv[1]), "acct")
    order = LiveOrder(order_id=1, client_id="arb-crash-1-0", venue=0, side=1, price=1.0, qty=1.0, kind=1, pair_id=1,
                      sent_ts=1, price_text="1", qty_text="1", symbol="BTCUSDT", intent_ns=1)
    journal.record_intent(order, venue="binance", market="spot", account="acct", run_id="r")
    print("committed", flush=True)
    sys.stdin.read()   # wait here until killed
    """
)


def test_an_intent_survives_sigkill_right_after_its_commit(journal_url: str) -> None:
    child = subprocess.Popen([sys.executable, "-c", _CHILD, journal_url], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, cwd=ROOT, text=True)  # fmt: skip
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "committed"
        child.kill()  # SIGKILL: no cleanup, no flush, no close
    finally:
        child.wait(timeout=30)
    assert child.returncode == -9
    with Journal.open(journal_url) as journal:
        row = journal.intent("arb-crash-1-0")
    assert row is not None and row["state"] == "pending"


def test_one_writer_per_account(journal_url: str) -> None:
    first = Journal.open(journal_url)
    first.lock_writer("acct")
    second = Journal.open(journal_url)
    with pytest.raises(JournalError, match="another process"):
        second.lock_writer("acct")
    other_account = Journal.open(journal_url)
    if first.dialect == "postgresql":
        other_account.lock_writer("someone-else")  # accounts lock apart in a shared database
    first.close()
    second.lock_writer("acct")  # released with the first writer
    for journal in (second, other_account):
        journal.close()


def test_the_same_trade_id_is_two_fills_for_two_accounts(journal_url: str) -> None:
    alice, bob = (ExecutionJournal(Journal.open(journal_url), name) for name in ("alice", "bob"))
    for journal in (alice, bob):
        assert journal.record_fill(None, _fill("shared-trade"), venue="binance", market="spot", source="rest",
                                   local_ts_ns=1)  # fmt: skip
        journal.flush()
    assert len(alice.journal.fills()) == 2 and len(alice.venue_fills("binance", "spot")) == 1
    alice.set_state("halt", "kill switch")
    assert bob.get_state("halt") is None and alice.get_state("halt") == "kill switch"
    for journal in (alice, bob):
        journal.close()


def test_the_same_trade_id_of_two_symbols_is_two_fills(journal_url: str) -> None:
    # Binance numbers trades per symbol: BTCUSDT and ETHUSDT both have a trade 309520001
    journal = _open(journal_url)
    btc = VenueFill("309520001", "arb-t-1-0", "28000000001", 1, Decimal("60000"), Decimal("0.01"), Decimal("0.6"),
                    "USDT", 5, symbol="BTCUSDT")  # fmt: skip
    eth = VenueFill("309520001", "arb-t-2-0", "28000000001", 1, Decimal("3000"), Decimal("0.1"), Decimal("0.3"),
                    "USDT", 5, symbol="ETHUSDT")  # fmt: skip
    for fill in (btc, eth):
        assert journal.record_fill(None, fill, venue="binance", market="spot", source="stream", local_ts_ns=1)
        assert not journal.record_fill(None, fill, venue="binance", market="spot", source="rest", local_ts_ns=2)
    journal.flush()
    assert journal.trade_keys("binance", "spot") == {("BTCUSDT", "309520001"), ("ETHUSDT", "309520001")}
    assert [f.symbol for f in journal.venue_fills("binance", "spot", "ETHUSDT")] == ["ETHUSDT"]
    reopened = _reopened(journal, journal_url)  # a new run knows both
    assert not reopened.record_fill(None, eth, venue="binance", market="spot", source="rest", local_ts_ns=3)
    assert len(reopened.journal.fills()) == 2 and len(reopened.journal.fills(symbol="BTCUSDT")) == 1
    reopened.close()


def test_a_journal_of_schema_version_1_is_migrated_keeping_its_fills(journal_url: str) -> None:
    # Version 1 keyed fills by (account, venue, market, trade id): a journal written by an arb that traded
    # one symbol opens with its fills, and from then on a second symbol's trade of the same id is its own
    import sqlalchemy as sa

    from arb.journal.journal import fills, metadata

    url = journal_url if "://" in journal_url else f"sqlite:///{journal_url}"
    engine = sa.create_engine(url)
    old = sa.MetaData()
    v1 = sa.Table("fills", old, *(sa.Column(c.name, c.type, nullable=False) for c in fills.columns),
                  sa.PrimaryKeyConstraint("account", "venue", "market", "trade_id"))  # fmt: skip
    metadata.create_all(engine, tables=[t for t in metadata.sorted_tables if t.name != "fills"])
    old.create_all(engine)
    row: dict[str, Any] = dict(account="acct", venue="binance", market="spot", trade_id="309520001",
                               client_id="arb-1", venue_order_id="28000000001", symbol="BTCUSDT", side=1,
                               price="60000", qty="0.01", fee="0.6", fee_asset="USDT", is_maker=False, exch_ts_ms=5,
                               local_ts_ns=6, source="stream")  # fmt: skip
    with engine.begin() as conn:
        conn.execute(v1.insert(), [row])
        conn.execute(sa.text("INSERT INTO state (key, value) VALUES ('schema_version', '1')"))
    engine.dispose()
    with Journal.open(journal_url) as journal:
        assert journal.get_state("schema_version") == "3"  # to 2, then to 3
        (kept,) = journal.fills()
        assert {k: kept[k] for k in row} == row
        journal.add_fill({**row, "symbol": "ETHUSDT", "client_id": "arb-2"})
        journal.add_fill(row)  # the same BTCUSDT fill again: still once
        journal.flush()
        assert sorted(f["symbol"] for f in journal.fills()) == ["BTCUSDT", "ETHUSDT"]
    with Journal.open(journal_url) as journal:  # opened again: nothing left to migrate
        assert journal.get_state("schema_version") == "3" and len(journal.fills()) == 2


def test_a_journal_of_schema_version_2_gains_the_decisions_time_keeping_its_intents(journal_url: str) -> None:
    # Version 2 had no tick_ns in intents: the column comes at open, 0 in the rows held (unknown), and the
    # intents made from then on keep their decision's time
    import sqlalchemy as sa

    from arb.journal.journal import intents, metadata

    url = journal_url if "://" in journal_url else f"sqlite:///{journal_url}"
    engine = sa.create_engine(url)
    old = sa.MetaData()
    v2 = sa.Table("intents", old, *(c._copy() for c in intents.columns if c.name != "tick_ns"))
    metadata.create_all(engine, tables=[t for t in metadata.sorted_tables if t.name != "intents"])
    old.create_all(engine)
    row = {**_intent_row("c1", pair_id=1), "written_ns": 2_000}
    with engine.begin() as conn:
        conn.execute(v2.insert(), [row])
        conn.execute(sa.text("INSERT INTO state (key, value) VALUES ('schema_version', '2')"))
    engine.dispose()
    with Journal.open(journal_url) as journal:
        assert journal.get_state("schema_version") == "3"
        assert journal.intent("c1")["tick_ns"] == 0  # type: ignore[index]
        journal.add_intent({**_intent_row("c2", pair_id=2), "tick_ns": 500})
        assert journal.intent("c2")["tick_ns"] == 500  # type: ignore[index]
        assert journal.latencies()["tick_to_written"] == {"n": 0}  # c1's decision time is unknown
    with Journal.open(journal_url) as journal:  # opened again: nothing left to migrate
        assert journal.get_state("schema_version") == "3" and len(journal.intents()) == 2


def _intent_row(client_id: str, *, pair_id: int, venue: str = "binance", intent_ns: int = 1_000) -> dict[str, Any]:
    return {"client_id": client_id, "account": "a", "run_id": "r", "venue": venue, "market": "spot",
            "symbol": "BTCUSDT", "side": 1, "order_type": "limit", "time_in_force": "ioc", "price": "1", "qty": "1",
            "reduce_only": False, "kind": 1, "pair_id": pair_id, "state": "filled", "intent_ns": intent_ns}  # fmt: skip


def test_tick_to_trade_per_leg_and_per_pair(journal_url: str) -> None:
    # Each intent keeps its decision's event (the frame's receive time): from it to each leg's request
    # written, per venue; per decision with two legs, to the first and the last leg and the gap between them.
    # A decision time that cannot be the frame's on the executor's clock (after the intent, or a replay's
    # data time long before it) is not counted
    journal = Journal.open(journal_url)
    tick = 100_000_000_000  # 100 s: a replayed decision at 1 us is long before it
    for k, (first, second) in enumerate([(300_000, 350_000), (500_000, 450_000)]):
        journal.add_intent({**_intent_row(f"a{k}", pair_id=k, intent_ns=tick + 100_000), "tick_ns": tick})
        journal.add_intent(
            {**_intent_row(f"b{k}", pair_id=k, venue="bybit", intent_ns=tick + 150_000), "tick_ns": tick}
        )
        journal.update_intent(f"a{k}", written_ns=tick + first)
        journal.update_intent(f"b{k}", written_ns=tick + second)
    journal.add_intent({**_intent_row("hedge", pair_id=0, intent_ns=tick + 9_000_000), "tick_ns": tick + 8_000_000})
    journal.update_intent("hedge", written_ns=tick + 9_100_000)  # one leg alone: no pair
    journal.add_intent({**_intent_row("replayed", pair_id=7, intent_ns=tick), "tick_ns": 1_000})
    journal.update_intent("replayed", written_ns=tick + 10_000)
    journal.flush()
    legs = journal.latencies("binance")["tick_to_written"]
    assert legs["n"] == 3 and legs["p50"] == pytest.approx(500) and legs["max"] == pytest.approx(1_100)
    pairs = journal.pair_latencies()
    assert pairs["tick_to_first_leg"]["n"] == 2 and pairs["tick_to_first_leg"]["max"] == pytest.approx(450)
    assert pairs["tick_to_last_leg"]["p50"] in (pytest.approx(350), pytest.approx(500))
    assert pairs["leg_gap"]["max"] == pytest.approx(50) and pairs["tick_to_last_leg"]["max"] == pytest.approx(500)
    journal.close()


def test_a_funding_payment_is_booked_once_per_position_and_funding_time(journal_url: str) -> None:
    import numpy as np

    from arb.strategy.types import FUNDING_DTYPE

    journal = _open(journal_url)
    row = np.zeros(1, FUNDING_DTYPE)[0]
    row["ts"], row["funding_ts"], row["venue"], row["symbol"] = 2_000, 1_000, 1, 0
    row["rate"], row["mark"], row["position"], row["payment"] = 0.0003, 60_300.0, -0.03, 0.5427
    journal.record_funding(row, venue="bybit", market="linear", symbol="BTCUSDT")
    journal.record_funding(row, venue="bybit", market="linear", symbol="BTCUSDT")  # the same time again: a no-op
    other_symbol = row.copy()
    other_symbol["payment"] = -0.25
    journal.record_funding(other_symbol, venue="bybit", market="linear", symbol="ETHUSDT")
    with Journal.open(journal_url) as other:  # committed at once
        rows = other.funding_payments(account="acct")
    assert [(r["symbol"], r["payment"], r["position"], r["funding_ts_ns"]) for r in rows] == [
        ("BTCUSDT", "0.5427", "-0.03", 1_000), ("ETHUSDT", "-0.25", "-0.03", 1_000),
    ]  # fmt: skip
    assert journal.funding_paid("bybit", "linear", "BTCUSDT") == pytest.approx(0.5427)
    assert journal.funding_paid("bybit", "linear", "BTCUSDT", since_ns=1_001) == 0.0
    assert journal.funding_paid("binance", "linear", "BTCUSDT") == 0.0
    journal.close()
