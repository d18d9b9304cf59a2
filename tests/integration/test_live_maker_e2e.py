"""``arb live`` in the ``maker_taker`` style end to end: a real ``arb`` process rests post-only quotes on fake
Binance, the replayed book comes through the buy quote, which fills as a maker on the fake's ledger, and the
fill is hedged on fake Bybit at once; the journal equals both ledgers.

The market (as ``tests/replay/test_maker_backtest.py``'s): Binance 59990 / 60000; Bybit 59995 / 60400 until
its book moves to 60100 / 60110 at 2 s. Fees 10 bps a side, slippage 2 bps, ``min_spread_bps`` 5: the buy
quote on Binance goes to 60100 / 1.0027 = 59938.16 once Bybit's bid is 60100. At 5 s Binance's ask drops
to 59930: the fake's ledger fills the resting buy at its own price (a maker), and arb sells the same
quantity on Bybit at its bid.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from arb.testing.pair_rig import spot_pair, write_pair_config
from tests.support.live_rig import (
    account,
    assert_journal_settled,
    both_keys,
    interrupted,
    journal_of,
    live_trading,
    until,
)
from tests.support.report_checks import check_live_reports
from tests.support.scenario_days import Change, write_standing_spread

QUOTE_AT = Decimal("59938.16")
MAKER = {
    "strategy": {"style": "maker_taker", "maker_venues": ["binance"], "min_spread_bps": 5.0, "max_order_size": 0.01,
                 "max_position_size": 0.05},
    "execution": {"slippage_tolerance_bps": 2.0},
}  # fmt: skip


async def test_arb_live_rests_quotes_fills_one_as_a_maker_hedges_it_and_the_journal_equals_both_ledgers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = both_keys(monkeypatch)
    changes = [
        Change(2000, "bybit", bids={59995.0: 0.0, 60100.0: 2.0}, asks={60400.0: 0.0, 60110.0: 2.0}),
        Change(5000, "binance", bids={59990.0: 0.0, 59920.0: 1.0}, asks={60000.0: 0.0, 59930.0: 1.0}),
    ]
    files = write_standing_spread(tmp_path, changes=changes, duration_ms=30_000)
    async with spot_pair(*files) as (binance, bybit):
        # Binance spot has no dead-man's switch: quoting there is a choice the configuration states
        config = write_pair_config(tmp_path, binance, bybit, arbitrage=MAKER, live={"quotes_without_dead_man": True})
        out = tmp_path / "run"
        async with live_trading(config, out, keys, binance, bybit, symbols=["BTCUSDT"]) as process:
            await until(lambda: len(account(bybit).trades) >= 1, process, out, 60, bybit)
            stderr = await interrupted(process, out)
        venues = {"binance": binance, "bybit": bybit}
        binance_orders = account(binance).orders
        makers = [t for t in account(binance).trades if t.is_maker]
        (hedge,) = account(bybit).trades
        # quotes rested (post-only, re-priced once Bybit moved), one filled as a maker at its own price
        assert len(binance_orders) >= 3 and all(o.time_in_force.value == "post_only" for o in binance_orders)
        assert makers and {t.price for t in makers} == {QUOTE_AT} and sum(t.qty for t in makers) == Decimal("0.01")
        # hedged once, on Bybit at its bid, what the fill left (the spot buy's fee was taken in BTC)
        kept = sum(t.qty - (t.fee if t.fee_asset == "BTC" else 0) for t in makers)
        assert (hedge.side.value, hedge.qty, hedge.price) == ("sell", kept, Decimal("60100"))
        for venue in venues.values():  # the stop cancelled every quote
            assert not venue.ledger.open_orders(account(venue))
        assert_journal_settled(tmp_path, venues)
        intents = journal_of(tmp_path).intents()
        quotes = [i for i in intents if i["time_in_force"] == "postonly"]
        assert len(quotes) == len(binance_orders) and {i["venue"] for i in quotes} == {"binance"}
        summary = json.loads((out / "report" / "summary.json").read_text())
        counters = summary["meta"]["executor"]["venues"]["binance-spot"]
        assert counters["quote_fills"] == len(makers) and counters["quotes"] == len(quotes), stderr
        # every report of the journal counts the maker pair and says the session's figures
        assert summary["pairs"]["pairs"] == 1
        check_live_reports(config, out, tmp_path / "reports", capsys)
