"""The account's own fees: each fake venue's fee endpoint in the venue's documented shape, read through
ccxt by the live executor, used at the start of ``arb live``/``arb order`` and stored by ``arb fees
--write`` where every command reads them; a fee paid in BNB valued at BNB's price at the fill.

No test sleeps: each awaits a condition, bounded; the fakes listen on 127.0.0.1.
"""

from __future__ import annotations

import logging
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from arb.config import ACCOUNT_FEES_FILE, load_config
from arb.errors import VenueError
from arb.live.account_fees import at_start, use_in_kernel
from arb.live.trading_session import venue_account
from arb.reports.sources import load_live
from arb.sim import VenueOptions
from arb.strategy.rules import rules_of
from arb.strategy.types import BUY
from tests.support.live_rig import (
    ALL_SPECS,
    BINANCE_SPOT,
    VenueSpec,
    account,
    answered_order,
    arb_process,
    at_ask,
    both_keys,
    each_spec,
    ended,
    exited,
    set_keys,
    spot_pair,
    standing_recordings,
    venue_and_config,
    venue_and_session,
    write_pair_config,
)

spec = each_spec(ALL_SPECS)

ENDPOINT = {
    ("binance", "spot"): ("privateGetAccountCommission", {"symbol": "BTCUSDT"}),
    ("binance", "linear"): ("fapiPrivateGetCommissionRate", {"symbol": "BTCUSDT"}),
    ("bybit", "spot"): ("privateGetV5AccountFeeRate", {"category": "spot", "symbol": "BTCUSDT"}),
    ("bybit", "linear"): ("privateGetV5AccountFeeRate", {"category": "linear", "symbol": "XRPUSDT"}),
}
"""Each venue-market's fee endpoint, as ccxt's implicit method and its parameters."""


def _documented_shape(spec: VenueSpec, body: dict[str, Any]) -> None:
    # the keys each venue's documentation shows, and no other
    if spec.venue == "binance" and spec.market == "spot":
        assert set(body) == {"symbol", "standardCommission", "specialCommission", "taxCommission", "discount"}
        assert set(body["standardCommission"]) == {"maker", "taker", "buyer", "seller"}
        assert set(body["discount"]) == {"enabledForAccount", "enabledForSymbol", "discountAsset", "discount"}
    elif spec.venue == "binance":
        assert set(body) == {"symbol", "makerCommissionRate", "takerCommissionRate"}
    else:
        assert set(body) == {"retCode", "retMsg", "result", "retExtInfo", "time"}
        result = body["result"]
        assert set(result) == ({"category", "list"} if spec.market == "spot" else {"list"})  # futures: no category
        assert [set(row) for row in result["list"]] == [{"symbol", "takerFeeRate", "makerFeeRate"}]


async def test_each_venue_answers_its_fee_endpoint_as_documented_with_the_rates_its_ledger_charges(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = VenueOptions(taker_fee="0.00085", maker_fee="0.00015")
    async with venue_and_session(spec, tmp_path, monkeypatch, options=options) as (venue, session):
        executor = session.executors[spec.index]
        method, params = ENDPOINT[(spec.venue, spec.market)]
        _documented_shape(spec, await executor.request(method, params))
        fees = await executor.adapter.account_fees(executor, spec.symbol)
        assert (fees.symbol, fees.maker, fees.taker, fees.coin) == (spec.symbol, Decimal("15e-5"), Decimal("85e-5"), "")
        ask, qty = at_ask(venue, spec, Decimal("0.5"))
        order = await answered_order(executor, BUY, ask, qty)
        (trade,) = account(venue).orders[0].trades
        paid = trade.fee * (trade.price if trade.fee_asset == spec.rules.base else 1)  # a spot buy pays in base
        assert order.fill_qty > 0 and paid == trade.price * trade.qty * fees.taker  # what the endpoint said


async def test_the_fee_endpoints_check_the_signature(
    spec: VenueSpec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with venue_and_session(spec, tmp_path, monkeypatch) as (_, session):
        executor = session.executors[spec.index]
        executor.exchange.secret = "not-the-secret-0123456789"
        with pytest.raises(VenueError) as refused:
            await executor.adapter.account_fees(executor, spec.symbol)
        assert refused.value.code == {"binance": "-1022", "bybit": "10004"}[spec.venue]


async def test_a_fee_paid_in_bnb_enters_the_pnl_at_bnbs_price_at_the_fill(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Binance spot with its BNB discount on: the commission endpoint says so, the ledger charges 0.75 of the
    # rate in BNB, the start reads BNB's price, and the fee enters the order's (the engine's) fee in quote at
    # the price read last before the fill, not at the one of the start.
    from arb.live.engine import Engine

    options = VenueOptions(fee_coin=("BNB", Decimal("500")))
    async with venue_and_session(BINANCE_SPOT, tmp_path, monkeypatch, options=options) as (venue, session):
        executor = session.executors[BINANCE_SPOT.index]
        (fees,) = await executor.account_fees()
        assert (fees.maker, fees.taker, fees.coin) == (Decimal("0.00075"), Decimal("0.00075"), "BNB")
        assert await executor.read_coin_price("BNB") and executor.coin_prices == {"BNB": Decimal("500")}
        venue.ledger.fee_coin = ("BNB", Decimal("520"))  # BNB moves; the executor's next read sees it
        assert await executor.read_coin_price("BNB") and executor.coin_prices["BNB"] == Decimal("520")
        ask, qty = at_ask(venue, BINANCE_SPOT, Decimal("0.5"))
        order = await answered_order(executor, BUY, ask, qty)
        (trade,) = account(venue).orders[0].trades
        assert trade.fee_asset == "BNB" and trade.fee == (trade.price * trade.qty * Decimal("0.00075") / 520).quantize(
            Decimal("1e-8")
        )
        assert order.fee == pytest.approx(float(trade.fee * 520)) and executor.counters["unvalued_fees"] == 0
        (done,) = [e for e in session.journal.journal.order_events(order.client_id) if e["kind"] == "done"]
        assert done["detail"]["fee_prices"] == {"BNB": "520"}
        engine = Engine(session.config)
        engine.book_answer(order)
        cost = float(trade.price * trade.qty)
        assert engine.cash[0, BINANCE_SPOT.index] == pytest.approx(-cost - float(trade.fee * 520))
        (row,) = load_live(session.config).fills  # arb report --source live: the journal's fee at that price
        assert row["fee"] == pytest.approx(float(trade.fee * 520))
        restarted = await venue_account(session, BINANCE_SPOT.index)  # what a restart's engine starts from
        assert restarted.cash[0] == pytest.approx(engine.cash[0, BINANCE_SPOT.index])


async def test_without_a_price_of_the_coin_the_fee_is_counted_and_kept_out_of_the_pnl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    options = VenueOptions(fee_coin=("BNB", Decimal("500")))
    async with venue_and_session(BINANCE_SPOT, tmp_path, monkeypatch, options=options) as (venue, session):
        executor = session.executors[BINANCE_SPOT.index]
        assert not await executor.read_coin_price("XYZ")  # no such market: said, nothing kept
        ask, qty = at_ask(venue, BINANCE_SPOT, Decimal("0.5"))
        order = await answered_order(executor, BUY, ask, qty)
        assert order.fee == 0.0 and executor.counters["unvalued_fees"] == 1 and not executor.coin_prices


async def test_the_start_journals_the_rates_names_a_difference_and_the_kernel_takes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    options = VenueOptions(fee_coin=("BNB", Decimal("500")))
    async with venue_and_session(BINANCE_SPOT, tmp_path, monkeypatch, options=options) as (_, session):
        with caplog.at_level(logging.INFO, logger="arb.live.account_fees"):
            rates = await at_start(session.config, session.executors, session.journal)
        said = [r for r in caplog.records if r.name == "arb.live.account_fees"]
        assert [r.levelname for r in said] == ["WARNING"]  # one line: 7.5 bps in BNB against the configured 10
        executor = session.executors[BINANCE_SPOT.index]  # BNB's price read, and kept read while trading
        assert executor.fee_coins == {"BNB"} and executor.coin_prices == {"BNB": Decimal("500")}
        params = rules_of(session.config)
        use_in_kernel(params, rates)
        assert params[0]["taker_fee"][BINANCE_SPOT.index] == pytest.approx(0.00075)
        assert params[0]["maker_fee"][BINANCE_SPOT.index] == pytest.approx(0.00075)
    with sqlite3.connect(tmp_path / "live" / "main.sqlite") as db:
        rows = dict(db.execute("select name, value from snapshots where venue = 'binance'").fetchall())
    assert rows == {"fee_maker:BTCUSDT": "0.00075", "fee_taker:BTCUSDT": "0.00075", "fee_coin:BTCUSDT": "BNB"}


async def test_arb_fees_write_stores_the_rates_where_every_command_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = both_keys(monkeypatch)
    options = VenueOptions(taker_fee="0.0008", maker_fee="0.0002")
    async with spot_pair(*standing_recordings(tmp_path), options=options) as (binance, bybit):
        path = write_pair_config(tmp_path, binance, bybit)
        async with arb_process(tmp_path / "fees", keys, "fees", "--config", str(path), "--write") as process:
            ended(tmp_path / "fees", await exited(process), 0)
        out = (tmp_path / "fees" / "stdout").read_text()
        written = tmp_path / "live" / ACCOUNT_FEES_FILE
        assert "BTCUSDT: maker 2 taker 8 bps" in out and f"wrote {written}" in out
        config = load_config(path)
        assert {(v.fees.maker, v.fees.taker, v.fees.source) for v in config.venues} == {(0.0002, 0.0008, str(written))}
        async with arb_process(tmp_path / "check", keys, "check", "--config", str(path)) as process:
            ended(tmp_path / "check", await exited(process), 0)
        assert "as configured" in (tmp_path / "check" / "stdout").read_text()  # the account's, from the file


def test_a_bad_fees_file_is_exit_2_naming_the_file_and_the_key(tmp_path: Path) -> None:
    from arb.cli import main
    from arb.testing.configs import write_config_files

    path = write_config_files(tmp_path)
    fees_file = load_config(path).live.state_dir / ACCOUNT_FEES_FILE
    fees_file.parent.mkdir(parents=True, exist_ok=True)
    fees_file.write_text("[binance]\nmaker = 0.001\ntakr = 0.001\n")
    assert main(["check", "--config", str(path)]) == 2


async def test_arb_fees_needs_both_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with venue_and_config(BINANCE_SPOT, tmp_path, monkeypatch) as (_, config):
        set_keys(monkeypatch, BINANCE_SPOT)
        for name in ("BYBIT_API_KEY", "BYBIT_API_SECRET"):
            monkeypatch.delenv(name, raising=False)
        async with arb_process(tmp_path / "out", {}, "fees", "--config", str(config.path)) as process:
            stderr = ended(tmp_path / "out", await exited(process), 2)
        assert "BYBIT_API_KEY" in stderr
