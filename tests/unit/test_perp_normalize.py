"""Mark price and funding: the venues' documented payloads through the real normalizers.

Fixtures (origins in tests/fixtures/README.md): Binance USD-M's "Mark Price Stream" example and four
messages derived from it across a funding time (``T`` moves 8 h forward); the COIN-M page's delivery
example (no funding); Bybit v5's "Ticker" linear snapshot and five deltas derived from it, one of
which moves ``nextFundingTime`` forward. Each row must carry the full state, and the rollover must
come out as one ``FUNDING_SETTLED_EVENT`` with the funding time that passed and the rate announced
for it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from arb.events import (
    BBO_ASK,
    BBO_BID,
    FUNDING_RATE_EVENT,
    FUNDING_SETTLED_EVENT,
    MARK_PRICE_EVENT,
    NS_PER_MS,
    NS_PER_S,
    EventArray,
)
from connectors.binance.normalize import BinanceNormalizer
from connectors.bybit.normalize import BybitNormalizer
from connectors.common.funding import PerpSnapshot, PerpState
from connectors.common.rows import RowSink
from tests.support.captures import FIXTURES

BINANCE = FIXTURES / "binance_usdm_mark_price.jsonl"
BYBIT = FIXTURES / "bybit_linear_tickers.jsonl"
LATENCY_NS = 7 * NS_PER_MS  # the receive time of each message: its exchange time + 7 ms


def _lines(path: Path) -> list[bytes]:
    return [line.encode() for line in path.read_text().splitlines() if line]


def _enveloped(payload: bytes, stream: str = "btcusdt@markPrice@1s") -> bytes:
    return b'{"stream":"' + stream.encode() + b'","data":' + payload + b"}"


def _exch_ms(payload: bytes) -> int:
    doc = json.loads(payload)
    return int(doc["E"] if "E" in doc else doc["ts"])


def _binance(payloads: list[bytes], *, enveloped: bool = True, symbol: str = "BTCUSDT") -> BinanceNormalizer:
    n = BinanceNormalizer(symbol, "linear", echo=False)
    for payload in payloads:
        n.on_message(_enveloped(payload) if enveloped else payload, _exch_ms(payload) * NS_PER_MS + LATENCY_NS)
    return n


def _bybit(payloads: list[bytes], *, include_bbo: bool = False) -> BybitNormalizer:
    n = BybitNormalizer("BTCUSDT", "linear", include_bbo=include_bbo, echo=False)
    for payload in payloads:
        n.on_message(payload, _exch_ms(payload) * NS_PER_MS + LATENCY_NS)
    return n


def _table(rows: EventArray) -> list[tuple[int, int, float, float, int, int, float]]:
    # (ev, exch ms, px, qty, order_id ms, ival ms, fval), NaN as None-free floats compared below
    out = []
    for r in rows:
        assert int(r["local_ts"]) == int(r["exch_ts"]) + LATENCY_NS
        out.append((int(r["ev"]), int(r["exch_ts"]) // NS_PER_MS, float(r["px"]), float(r["qty"]),
                    int(r["order_id"]) // NS_PER_MS, int(r["ival"]) // NS_PER_MS, float(r["fval"])))  # fmt: skip
    return out


def _same(got: list[tuple[int, int, float, float, int, int, float]], want: list[tuple[object, ...]]) -> None:
    assert len(got) == len(want), got
    for g, w in zip(got, want, strict=True):
        for a, b in zip(g, w, strict=True):
            assert (math.isnan(a) and math.isnan(b)) if isinstance(b, float) and math.isnan(b) else a == b, (g, w)


NAN = math.nan
EIGHT_H = 8 * 3_600_000  # ms

# -- Binance USD-M markPrice ---------------------------------------------------------------------------


def test_binance_mark_price_rows_and_the_funding_rollover() -> None:
    n = _binance(_lines(BINANCE)[:5])
    rows = n.sink.take()
    _same(_table(rows), [
        (MARK_PRICE_EVENT, 1562305380000, 11794.15, 11784.62659091, 0, 0, 11784.25641265),
        (FUNDING_RATE_EVENT, 1562305380000, 0.00038167, 0.0, 0, 1562306400000, 0.0),
        (MARK_PRICE_EVENT, 1562306398000, 11795.01, 11785.10, 0, 0, 11785.00),
        (FUNDING_RATE_EVENT, 1562306398000, 0.000382, 0.0, 0, 1562306400000, 0.0),
        (MARK_PRICE_EVENT, 1562306399000, 11795.20, 11785.30, 0, 0, 11785.20),
        (FUNDING_RATE_EVENT, 1562306399000, 0.0003821, 0.0, 0, 1562306400000, 0.0),
        # T moved from 06:00 to 14:00 UTC: the funding at 06:00 applied the rate last announced for
        # it (0.0003821 at 05:59:59), with the mark price of then; then the message's own rows.
        (FUNDING_SETTLED_EVENT, 1562306400000, 0.0003821, 11795.20, 1562306399000, 1562306400000, 0.0),
        (MARK_PRICE_EVENT, 1562306400000, 11795.40, 11785.50, 0, 0, 11785.40),
        # ... and from then on the rows carry the interval the rollover showed (14:00 - 06:00)
        (FUNDING_RATE_EVENT, 1562306400000, 0.0001, 0.0, EIGHT_H, 1562335200000, 0.0),
        (MARK_PRICE_EVENT, 1562306401000, 11795.60, 11785.70, 0, 0, 11785.60),
        (FUNDING_RATE_EVENT, 1562306401000, 0.00010315, 0.0, EIGHT_H, 1562335200000, 0.0),
    ])  # fmt: skip
    assert n.stats.mark_messages == 5 and n.stats.funding_rollovers == 1 and n.stats.decode_errors == 0
    assert n.perp.saved() == PerpSnapshot(11795.60, 11785.70, 11785.60, 0.00010315, 1562335200000 * NS_PER_MS,
                                          1562306401000 * NS_PER_MS, EIGHT_H * NS_PER_MS)  # fmt: skip


def test_binance_bare_payloads_give_the_same_rows_as_the_combined_stream() -> None:
    lines = _lines(BINANCE)[:5]
    assert _binance(lines, enveloped=False).sink.take().tobytes() == _binance(lines).sink.take().tobytes()


def test_binance_a_delivery_contract_has_a_mark_price_and_no_funding() -> None:
    # COIN-M's documented example: "r":"" and "T":0 for a delivery symbol.
    payload = _lines(BINANCE)[5]
    n = BinanceNormalizer("BTCUSD_201225", "linear", echo=False)
    n.on_message(_enveloped(payload, "btcusd_201225@markPrice@1s"), 1596095725000 * NS_PER_MS + LATENCY_NS)
    _same(
        _table(n.sink.take()), [(MARK_PRICE_EVENT, 1596095725000, 10934.62615417, 10933.62615417, 0, 0, 10962.17178236)]
    )


def test_binance_mark_price_of_another_symbol_is_counted_and_skipped() -> None:
    n = _binance(_lines(BINANCE)[:1], symbol="ETHUSDT")
    assert len(n.sink.take()) == 0 and n.stats.other_symbols == 1 and not n.perp.saved().known


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d.update(p="11794.15.1"),
        lambda d: d.update(r="nan"),
        lambda d: d.update(T="soon"),
        lambda d: d.pop("E"),
        lambda d: d.update(T=-5),
    ],
    ids=["mark price", "rate", "funding time", "no event time", "negative time"],
)
def test_binance_a_malformed_mark_price_is_logged_counted_and_changes_nothing(
    edit: object, caplog: pytest.LogCaptureFixture
) -> None:
    lines = _lines(BINANCE)
    doc = json.loads(lines[3])  # the message that shows the rollover
    edit(doc)  # type: ignore[operator]
    bad = json.dumps(doc, separators=(",", ":")).encode()
    n = BinanceNormalizer("BTCUSDT", "linear")  # echo on, as in the live feeds
    for i, payload in enumerate([*lines[:3], bad, lines[4]]):
        exch = int(json.loads(lines[i])["E"])
        n.on_message(_enveloped(payload), exch * NS_PER_MS + LATENCY_NS)
    assert n.stats.decode_errors == 1 and n.stats.mark_messages == 4
    assert n.bad_payloads.samples[0].raw.startswith('{"stream":"btcusdt@markPrice@1s"')
    assert any("undecodable Binance payload" in r.getMessage() for r in caplog.records)
    kinds = n.sink.take()["ev"].tolist()
    # The next good message still shows the rollover, against the state before the bad one.
    assert kinds.count(FUNDING_SETTLED_EVENT) == 1 and kinds.count(MARK_PRICE_EVENT) == 4


# -- Bybit v5 linear tickers ---------------------------------------------------------------------------


def test_bybit_tickers_carry_the_full_state_and_the_rollover() -> None:
    n = _bybit(_lines(BYBIT))
    _same(_table(n.sink.take()), [
        # the snapshot: everything
        (MARK_PRICE_EVENT, 1673272861686, 17217.33, 17227.36, 0, 0, NAN),
        (FUNDING_RATE_EVENT, 1673272861686, -0.000212, 0.0, 0, 1673280000000, 0.0),
        # markPrice alone: the index is the snapshot's
        (MARK_PRICE_EVENT, 1673272861786, 17218.10, 17227.36, 0, 0, NAN),
        # bid1 alone: nothing of mark or funding (no BBO rows unless asked for)
        # the index and the rate changed: both rows, each whole
        (MARK_PRICE_EVENT, 1673279999886, 17218.10, 17226.90, 0, 0, NAN),
        (FUNDING_RATE_EVENT, 1673279999886, -0.000205, 0.0, 0, 1673280000000, 0.0),
        # nextFundingTime 16:00 -> 00:00: the funding at 16:00 applied -0.000205
        (FUNDING_SETTLED_EVENT, 1673280000086, -0.000205, 17218.10, 1673279999886, 1673280000000, 0.0),
        (MARK_PRICE_EVENT, 1673280000086, 17219.00, 17226.90, 0, 0, NAN),
        (FUNDING_RATE_EVENT, 1673280000086, 0.0001, 0.0, EIGHT_H, 1673308800000, 0.0),
        (FUNDING_RATE_EVENT, 1673280000186, 0.000103, 0.0, EIGHT_H, 1673308800000, 0.0),
    ])  # fmt: skip
    assert n.stats.bbo_messages == 6 and n.stats.mark_messages == 5 and n.stats.funding_rollovers == 1


def test_bybit_best_bid_offer_rows_come_from_the_same_tickers_when_asked_for() -> None:
    rows = _bybit(_lines(BYBIT)[:3], include_bbo=True).sink.take()
    bbo = rows[np.isin(rows["ev"], [BBO_BID, BBO_ASK])]
    assert [(int(r["ev"]), float(r["px"]), float(r["qty"])) for r in bbo] == [
        (BBO_BID, 17215.50, 84.489), (BBO_ASK, 17216.00, 83.020), (BBO_BID, 17215.00, 12.100),
    ]  # fmt: skip
    assert int((rows["ev"] == MARK_PRICE_EVENT).sum()) == 2


def test_bybit_a_new_snapshot_replaces_the_state_and_still_shows_a_rollover() -> None:
    # A resubscription after a disconnection: the new snapshot is a later funding period.
    lines = _lines(BYBIT)
    doc = json.loads(lines[0])
    doc["ts"] = 1673308800500
    doc["data"].update(nextFundingTime="1673337600000", fundingRate="0.00005")
    del doc["data"]["indexPrice"]
    later = json.dumps(doc, separators=(",", ":")).encode()
    n = _bybit([lines[0], lines[1], later])
    table = _table(n.sink.take())[3:]
    _same(table, [
        (FUNDING_SETTLED_EVENT, 1673308800500, -0.000212, 17218.10, 1673272861786, 1673280000000, 0.0),
        (MARK_PRICE_EVENT, 1673308800500, 17217.33, NAN, 0, 0, NAN),
        (FUNDING_RATE_EVENT, 1673308800500, 0.00005, 0.0, 0, 1673337600000, 0.0),
    ])  # fmt: skip
    # The rate was last confirmed long before the funding time it settled: order_id says when. The
    # funding times moved 16 h, but two of them passed unseen: that is not taken as the interval.


@pytest.mark.parametrize(
    "edit",
    [lambda d: d["data"].update(fundingRate="0.0001x"), lambda d: d["data"].update(nextFundingTime="16:00")],
    ids=["rate", "funding time"],
)
def test_bybit_a_malformed_ticker_is_logged_counted_and_changes_nothing(edit: object) -> None:
    lines = _lines(BYBIT)
    doc = json.loads(lines[4])
    edit(doc)  # type: ignore[operator]
    bad = json.dumps(doc, separators=(",", ":")).encode()
    n = _bybit([*lines[:4], bad], include_bbo=True)
    assert n.stats.decode_errors == 1 and n.bad_payloads.samples[0].raw.startswith('{"topic":"tickers.BTCUSDT"')
    assert n.perp.saved().next_funding_ns == 1673280000000 * NS_PER_MS
    assert n.perp.saved().mark_price == 17218.10  # the bad message's markPrice was not taken either


def test_bybit_an_empty_value_means_the_venue_has_none() -> None:
    # Bybit sends "" for a value it does not have (before a listing): the state forgets it.
    lines = _lines(BYBIT)
    empty = (
        b'{"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT","indexPrice":""},"cs":1,'
        b'"ts":1673272861900}'
    )
    n = _bybit([lines[0], empty])
    row = n.sink.take()[-1]
    assert row["ev"] == MARK_PRICE_EVENT and row["px"] == 17217.33 and math.isnan(row["qty"])


def test_spot_tickers_make_no_mark_or_funding_rows() -> None:
    # Bybit's documented spot ticker: no mark, index or funding fields.
    spot = (
        b'{"topic":"tickers.BTCUSDT","ts":1672305380595,"type":"snapshot","cs":496622841,"data":{"symbol":'
        b'"BTCUSDT","lastPrice":"16363.78","highPrice24h":"16566.64","lowPrice24h":"16009.19","prevPrice24h":'
        b'"16443.66","volume24h":"5865.470182","turnover24h":"95949815.680875","price24hPcnt":"-0.0049"}}'
    )
    n = BybitNormalizer("BTCUSDT", "spot", echo=False)
    n.on_message(spot, 1672305380600000000)
    assert len(n.sink.take()) == 0 and n.stats.mark_messages == 0 and n.stats.bbo_messages == 1


def test_the_funding_interval_is_the_venues_then_what_each_rollover_shows() -> None:
    # An 8-hour symbol the venue moves to 4 hours: the rows carry the reported interval until a rollover
    # shows the new spacing; a rollover seen late (a reconnection that missed funding times) teaches nothing.
    state = PerpState()
    sink = RowSink()
    h = 3_600 * NS_PER_S
    state.set_interval(8 * h)
    for t, nxt in ((1 * h, 8 * h), (8 * h + NS_PER_S, 12 * h), (12 * h + NS_PER_S, 16 * h), (30 * h, 32 * h)):
        state.apply(sink, t, t, funding_rate=0.0001, next_funding_ns=nxt)
    rows = sink.take()
    rates = rows[rows["ev"] == FUNDING_RATE_EVENT]
    assert [int(r["order_id"]) // h for r in rates] == [8, 4, 4, 4]
    assert int((rows["ev"] == FUNDING_SETTLED_EVENT).sum()) == 3
    assert state.saved().funding_interval_ns == 4 * h


def test_the_venues_rest_answers_give_the_funding_interval() -> None:
    # Binance's fundingInfo lists only the symbols that differ from the default: an unlisted one funds
    # every 8 hours. Bybit's instruments-info gives fundingInterval in minutes. (The documented samples,
    # with our symbols.) No rows of their own: the next funding-rate row carries the interval.
    info = (b'[{"symbol":"BLZUSDT","adjustedFundingRateCap":"0.02500000","adjustedFundingRateFloor":"-0.02500000",'
            b'"fundingIntervalHours":4,"disclaimer":false}]')  # fmt: skip
    h = 3_600 * NS_PER_S
    for symbol, interval in (("BLZUSDT", 4 * h), ("BTCUSDT", 8 * h)):
        n = BinanceNormalizer(symbol, "linear", echo=False)
        n.on_message(info, 1)
        assert len(n.sink.take()) == 0 and n.stats.decode_errors == 0
        assert n.perp.saved().funding_interval_ns == interval
    n = _bybit([])
    n.on_message(
        b'{"retCode":0,"retMsg":"OK","result":{"category":"linear","list":[{"symbol":"BTCUSDT","contractType":'
        b'"LinearPerpetual","status":"Trading","fundingInterval":240}],"nextPageCursor":""},"retExtInfo":{},'
        b'"time":1672712495660}',
        1,
    )
    assert n.stats.decode_errors == 0 and n.perp.saved().funding_interval_ns == 4 * h
    n.on_message(_lines(BYBIT)[0], _exch_ms(_lines(BYBIT)[0]) * NS_PER_MS + LATENCY_NS)
    rates = n.sink.take()
    assert rates[rates["ev"] == FUNDING_RATE_EVENT]["order_id"].tolist() == [4 * h]
