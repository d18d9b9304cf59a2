"""The OKX normalizer on OKX's documented messages (tests/fixtures/okx_ws_samples.jsonl): rows, sync,
checksums, contract values, mark price and funding."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from arb.errors import RecordingError
from arb.events import (
    CLEAR_ALL,
    DEPTH_BID,
    FUNDING_RATE_EVENT,
    FUNDING_SETTLED_EVENT,
    MARK_PRICE_EVENT,
    NS_PER_MS,
    SNAPSHOT_ASK,
    SNAPSHOT_BID,
    SYNC_LOST_EVENT,
    SYNC_RESTORED_EVENT,
    TRADE_BUY,
    SyncReason,
)
from connectors.common.normalizer import DECODED_DEPTH, DECODED_GAP, SyncState
from connectors.okx.checksum import LevelBook
from connectors.okx.normalize import OkxNormalizer
from connectors.okx.recordings import RECORDINGS

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SAMPLES = [json.loads(line) for line in (FIXTURES / "okx_ws_samples.jsonl").read_text().splitlines()]
REST = json.loads((FIXTURES / "okx_rest_samples.json").read_text())
SWAPS = (FIXTURES / "okx_instruments_swap.json").read_bytes()
T0 = 1_597_026_383_090 * NS_PER_MS


def raw(message: Any) -> bytes:
    return json.dumps(message, separators=(",", ":")).encode()


def with_checksum(message: dict[str, Any], book: LevelBook) -> dict[str, Any]:
    data = dict(message["data"][0])
    if message["action"] == "snapshot":
        book.reset(data["bids"], data["asks"])
    else:
        book.apply(data["bids"], data["asks"])
    data["checksum"] = book.checksum()
    return {**message, "data": [data]}


def update(prev: int, seq: int, bids: list[list[str]], asks: list[list[str]], check: int = 0) -> dict[str, Any]:
    data = {"asks": asks, "bids": bids, "ts": "1597026383185", "checksum": check, "prevSeqId": prev, "seqId": seq}
    return {"arg": {"channel": "books", "instId": "BTC-USDT"}, "action": "update", "data": [data]}


def test_the_documented_snapshot_syncs_the_book_with_its_levels_and_seq_id() -> None:
    n = OkxNormalizer("BTCUSDT", "spot")
    snapshot = {**SAMPLES[0], "data": [{**SAMPLES[0]["data"][0], "checksum": 0}]}
    assert n.on_message(raw(snapshot), T0) == DECODED_DEPTH
    rows = n.sink.take()
    assert rows["ev"].tolist() == [CLEAR_ALL] + [SNAPSHOT_BID] * 8 + [SNAPSHOT_ASK] * 8 + [SYNC_RESTORED_EVENT]
    assert rows["ival"][:17].tolist() == [123456] * 17 and rows["exch_ts"][0] == 1_597_026_383_085 * NS_PER_MS
    assert (rows["px"][1], rows["qty"][1], rows["px"][9], rows["qty"][9]) == (8476.97, 256.0, 8476.98, 415.0)
    assert n.status.state is SyncState.SYNCED and n.status.update_id == 123456 and n.checksums.absent == 1


def test_the_documented_snapshot_is_refused_since_its_checksum_is_not_its_levels() -> None:
    n = OkxNormalizer("BTCUSDT", "spot")
    did = n.on_message(raw(SAMPLES[0]), T0)  # checksum -855196043; the levels give -2102840145
    assert did & DECODED_GAP and n.needs_snapshot and n.checksums.mismatches == 1
    assert len(n.sink.take()) == 0 and n.transitions == []  # it never showed a book: nothing to clear


def test_updates_with_real_checksums_apply_and_a_wrong_one_loses_the_book() -> None:
    n, book = OkxNormalizer("BTCUSDT", "spot"), LevelBook()
    n.on_message(raw(with_checksum(SAMPLES[0], book)), T0)
    good = with_checksum(update(123456, 123460, [["8476.97", "0", "0", "0"]], [["8476.99", "3", "0", "1"]]), book)
    assert n.on_message(raw(good), T0 + 1) == DECODED_DEPTH and n.checksums.verified == 2
    bad = update(123460, 123461, [["8470", "1", "0", "1"]], [], check=12345)
    assert n.on_message(raw(bad), T0 + 2) == DECODED_DEPTH | DECODED_GAP
    rows = n.sink.take()
    assert rows["ev"][-2:].tolist() == [SYNC_LOST_EVENT, CLEAR_ALL]
    assert rows["ival"][-2] == SyncReason.CHECKSUM and rows["order_id"][-2] == 123460
    assert n.checksums.mismatches == 1 and n.status.state is SyncState.OUT_OF_SYNC and not n.levels.known


def test_a_heartbeat_and_a_reset_lower_keep_the_book() -> None:
    n = OkxNormalizer("BTCUSDT", "spot")
    n.on_message(raw({**SAMPLES[0], "data": [{**SAMPLES[0]["data"][0], "checksum": 0}]}), T0)
    assert n.on_message(raw(update(123456, 123456, [], [])), T0 + 1) == DECODED_DEPTH  # no change for 60 s
    assert n.on_message(raw(update(123456, 3, [["8470", "1", "0", "1"]], [])), T0 + 2) == DECODED_DEPTH
    assert n.on_message(raw(update(3, 5, [["8470", "2", "0", "1"]], [])), T0 + 3) == DECODED_DEPTH
    rows = n.sink.take()
    assert rows["ev"][-2:].tolist() == [DEPTH_BID, DEPTH_BID] and rows["ival"][-2:].tolist() == [3, 5]
    assert n.status.update_id == 5 and n.stats.gaps == 0


def test_a_gap_is_reported_with_the_ids_that_broke_the_chain() -> None:
    n = OkxNormalizer("BTCUSDT", "spot", echo=False)
    n.on_message(raw({**SAMPLES[0], "data": [{**SAMPLES[0]["data"][0], "checksum": 0}]}), T0)
    assert n.on_message(raw(SAMPLES[1] | {"data": [{**SAMPLES[1]["data"][0], "prevSeqId": 9}]}), T0 + 1) & DECODED_GAP
    lost = n.transitions[-1]
    assert (lost.reason, lost.expected_id, lost.got_id, lost.update_id) == (SyncReason.GAP, 123456, 9, 123456)


def test_a_rest_book_bridges_the_buffered_updates_by_seq_id() -> None:
    n = OkxNormalizer("BTCUSDT", "spot")
    for prev, seq, price in [(100, 104, "41000"), (104, 108, "41001"), (108, 112, "41002")]:
        n.on_message(raw(update(prev, seq, [[price, "1", "0", "1"]], [])), T0)
    assert n.stats.buffered == 3 and len(n.sink.take()) == 0
    rest = {**REST["books"], "data": [{**REST["books"]["data"][0], "seqId": 106}]}
    assert n.on_message(raw(rest), T0 + 5) == 0  # a REST body is no depth message
    rows = n.sink.take()
    # 104 is in the snapshot at 106; 108 bridges it (104 <= 106 < 108); 112 follows
    assert rows["ev"].tolist() == [CLEAR_ALL, SNAPSHOT_BID, SNAPSHOT_ASK, DEPTH_BID, DEPTH_BID, SYNC_RESTORED_EVENT]
    assert rows["ival"][3:5].tolist() == [108, 112] and rows["local_ts"][3] == T0 + 5
    assert n.status.update_id == 112 and n.stats.dropped_covered == 1 and n.rest_snapshots == 1


def test_the_documented_rest_book_without_seq_id_cannot_be_bridged() -> None:
    n = OkxNormalizer("BTCUSDT", "spot", echo=False)
    n.on_message(raw(update(100, 104, [["41000", "1", "0", "1"]], [])), T0)
    n.on_message(raw(REST["books"]), T0 + 1)
    assert n.rest_unusable == 1 and n.needs_snapshot and len(n.sink.take()) == 0


def test_history_without_seq_ids_syncs_by_checksum_alone() -> None:
    n, book = OkxNormalizer("BTCUSDT", "spot", echo=False), LevelBook()
    old = {k: v for k, v in SAMPLES[0]["data"][0].items() if k not in ("prevSeqId", "seqId")}
    n.on_message(raw(with_checksum({**SAMPLES[0], "data": [old]}, book)), T0)
    change = {"asks": [], "bids": [["8476.97", "1", "0", "1"]], "ts": "1597026383185"}
    good = with_checksum({"arg": SAMPLES[0]["arg"], "action": "update", "data": [change]}, book)
    assert n.on_message(raw(good), T0 + 1) == DECODED_DEPTH and n.status.state is SyncState.SYNCED
    wrong = {**good, "data": [{**good["data"][0], "bids": [["8476.97", "2", "0", "1"]]}]}  # the same checksum
    assert n.on_message(raw(wrong), T0 + 2) & DECODED_GAP and n.checksums.mismatches == 1
    assert n.sink.take()["ival"][-4] == 0  # rows of history without ids carry 0


def test_swap_sizes_are_contracts_times_the_contract_value_of_the_instruments_answer() -> None:
    n = OkxNormalizer("BTCUSDT", "linear", echo=False)
    swap = {"arg": {"channel": "books", "instId": "BTC-USDT-SWAP"}, "action": "snapshot",
            "data": [{"asks": [["60001", "250", "0", "3"]], "bids": [["60000", "3", "0", "1"]], "ts": "1704067200000",
                      "checksum": 0, "prevSeqId": -1, "seqId": 7}]}  # fmt: skip
    assert n.on_message(raw(swap), T0) == DECODED_DEPTH and n.stats.decode_errors == 1  # ctVal unknown yet
    n.on_message(SWAPS, T0)
    assert n.contract_value == 0.01
    n.on_message(raw(swap), T0 + 1)
    trade = {"arg": {"channel": "trades", "instId": "BTC-USDT-SWAP"},
             "data": [{"instId": "BTC-USDT-SWAP", "tradeId": "5", "px": "60000.5", "sz": "12", "side": "buy",
                       "ts": "1704067200001", "count": "1"}]}  # fmt: skip
    n.on_message(raw(trade), T0 + 2)
    rows = n.sink.take()
    assert rows["qty"][1:3].tolist() == [0.03, 2.5] and rows["ev"][-1] == TRADE_BUY
    assert np.isclose(rows["qty"][-1], 0.12) and rows["ival"][-1] == 5


def test_the_documented_trade_becomes_one_row_by_the_takers_side() -> None:
    n = OkxNormalizer("BTCUSDT", "spot")
    n.on_message(raw(SAMPLES[2]), T0)
    row = n.sink.take()[0]
    assert (row["ev"], row["px"], row["qty"], row["ival"]) == (TRADE_BUY, 42219.9, 0.12060306, 130639474)
    assert row["exch_ts"] == 1_630_048_897_897 * NS_PER_MS and n.stats.trade_messages == 1


def test_funding_rate_announces_the_settlement_at_funding_time_with_its_interval() -> None:
    n = OkxNormalizer("BTCUSDT", "linear", contract_value=0.01)
    n.on_message(raw(SAMPLES[8]), T0)  # fundingTime 1744590349506, nextFundingTime 8 h later
    row = n.sink.take()[0]
    assert (row["ev"], row["px"], row["ival"]) == (FUNDING_RATE_EVENT, 0.0001, 1_744_590_349_506 * NS_PER_MS)
    assert row["order_id"] == 8 * 3_600_000 * NS_PER_MS
    moved = json.loads(json.dumps(SAMPLES[8]))
    moved["data"][0].update(fundingTime="1744619149506", nextFundingTime="1744633549506", fundingRate="0.0003",
                            ts="1744619150000")  # fmt: skip
    n.on_message(raw(moved), T0 + 1)
    settled, announced = n.sink.take()
    assert (settled["ev"], settled["px"], settled["ival"]) == (
        FUNDING_SETTLED_EVENT,
        0.0001,
        1_744_590_349_506 * NS_PER_MS,
    )
    assert announced["order_id"] == 4 * 3_600_000 * NS_PER_MS  # the interval OKX now states: 4 h
    assert n.stats.funding_rollovers == 1


def test_mark_price_becomes_a_mark_price_row_without_index() -> None:
    n = OkxNormalizer(None, "linear", contract_value=1.0)  # the docs' sample is a future: LTC-USD-190628
    n.on_message(raw(SAMPLES[3]), T0)
    row = n.sink.take()[0]
    assert (row["ev"], row["px"], row["exch_ts"]) == (MARK_PRICE_EVENT, 0.1, 1_597_026_383_085 * NS_PER_MS)
    assert np.isnan(row["qty"]) and n.stats.mark_messages == 1


def test_events_pong_and_garbage_are_counted_never_fatal() -> None:
    n = OkxNormalizer("BTCUSDT", "spot", echo=False)
    for sample in SAMPLES[5:8]:
        assert n.on_message(raw(sample), T0) == 0
    assert n.on_message(b"pong", T0) == 0 and n.stats.control_messages == 4
    assert n.on_message(b'{"arg":{"channel":"books","instId":', T0) == 0
    assert n.on_message(raw({"arg": {"channel": "candle1m", "instId": "BTC-USDT"}, "data": []}), T0) == 0
    assert n.stats.decode_errors == 1 and n.stats.unknown_streams == 1 and n.bad_payloads.samples


def test_other_instruments_are_counted_and_skipped() -> None:
    n = OkxNormalizer("ETHUSDT", "spot")
    assert n.on_message(raw(SAMPLES[0]), T0) == 0 and n.stats.other_symbols == 1


def test_recordings_tell_okx_frames_and_their_symbol_and_market() -> None:
    push = raw(SAMPLES[8])
    assert RECORDINGS.recognise(push[:40]) and RECORDINGS.recognise(raw(SAMPLES[5])[:40])
    assert not RECORDINGS.recognise(b'{"topic":"orderbook.50.BTCUSDT","type":"')
    assert RECORDINGS.details(push, push[:40]) == ("BTCUSDT", "linear")
    assert RECORDINGS.details(raw(SAMPLES[0]), b"") == ("BTCUSDT", "spot")


def _book(action: str, prev: int, seq: int, bids: list[list[str]], asks: list[list[str]], ts_ms: int) -> dict[str, Any]:
    data = {"asks": asks, "bids": bids, "ts": str(ts_ms), "checksum": 0, "prevSeqId": prev, "seqId": seq}
    return {"arg": {"channel": "books", "instId": "BTC-USDT-SWAP"}, "action": action, "data": [data]}


def test_the_next_days_file_reads_swap_sizes_and_checks_checksums_from_the_eod_snapshot(tmp_path: Path) -> None:
    # A day's file after the first has no instruments answer (it comes once per connection) and no book
    # snapshot: what the converter keeps in the end-of-day snapshot must carry both to the next day.
    import gzip

    from arb.recording.convert import convert_files
    from arb.recording.npz import load_eod, save_eod
    from connectors.common.record_files import format_line

    book, ts = LevelBook(), 1_704_067_200_000
    day1 = [
        raw(json.loads(SWAPS)),
        raw(
            with_checksum(_book("snapshot", -1, 7, [["60000", "3", "0", "1"]], [["60001", "250", "0", "3"]], ts), book)
        ),
    ]
    day2 = [raw(with_checksum(_book("update", 7, 8, [["60000", "5", "0", "2"]], [], ts + 86_400_000), book))]
    paths = []
    for i, lines in enumerate((day1, day2)):
        path = tmp_path / f"okx_linear_btcusdt_day{i + 1}.gz"
        with gzip.open(path, "wb") as f:
            f.writelines(format_line((ts + i * 86_400_000) * NS_PER_MS + j, line) for j, line in enumerate(lines))
        paths.append(path)
    first = convert_files([paths[0]], venue="okx", market="linear", symbol="BTCUSDT")
    assert first.eod is not None and first.eod.synced
    eod = load_eod(save_eod(tmp_path / "day1_eod.npz", first.eod))
    assert json.loads(eod.venue_state)["contract_value"] == 0.01

    carried = convert_files([paths[1]], venue="okx", market="linear", symbol="BTCUSDT", initial=eod)
    depth = carried.rows[carried.rows["ev"] & 0xFF == DEPTH_BID & 0xFF]
    assert depth["qty"].tolist() == [0.05]  # 5 contracts of 0.01 BTC, read without the day's instruments line
    assert carried.eod is not None and carried.eod.synced  # the checksum the update carries agreed
    assert json.loads(carried.eod.venue_state)["bids"] == [["60000", "5"]]

    wrong = _book("update", 7, 8, [["60000", "5", "0", "2"]], [], ts + 86_400_000)
    wrong["data"][0]["checksum"] = book.checksum() + 1  # the book as day 1 left it disowns this update
    with gzip.open(tmp_path / "okx_linear_btcusdt_wrong.gz", "wb") as f:
        f.write(format_line((ts + 86_400_000) * NS_PER_MS, raw(wrong)))
    checked = convert_files(
        [tmp_path / "okx_linear_btcusdt_wrong.gz"], venue="okx", market="linear", symbol="BTCUSDT", initial=eod,
        allow_unsynced=True,
    )  # fmt: skip
    lost = checked.rows[checked.rows["ev"] & 0xFF == SYNC_LOST_EVENT & 0xFF]
    assert lost["ival"].tolist() == [SyncReason.CHECKSUM]  # checked from the first update, not the next snapshot

    without = dataclasses.replace(eod, venue_state="")  # a snapshot of an arb before venue_state
    with pytest.raises(RecordingError, match="contract value unknown"):  # never read as a quiet success
        convert_files([paths[1]], venue="okx", market="linear", symbol="BTCUSDT", initial=without)


# OKX docs v5, "Get funding rate" (GET /api/v5/public/funding-rate?instId=BTC-USDT-SWAP), response example
REST_FUNDING = {"code": "0", "data": [{
    "formulaType": "noRate", "fundingRate": "0.0000182221218054", "fundingTime": "1743609600000", "impactValue": "",
    "instId": "BTC-USDT-SWAP", "instType": "SWAP", "interestRate": "", "maxFundingRate": "0.00375",
    "method": "current_period", "minFundingRate": "-0.00375", "nextFundingRate": "", "nextFundingTime": "1743638400000",
    "premium": "0.0000910113652644", "settFundingRate": "0.0000145824401745", "settState": "settled",
    "ts": "1743588686291"}], "msg": ""}  # fmt: skip


def _push_of(answer: dict[str, Any], **changes: str) -> bytes:
    # a funding-rate push of the REST answer's entry (its numbers, with ``changes``)
    entry = {**answer["data"][0], **changes}
    return raw({"arg": {"channel": "funding-rate", "instId": entry["instId"]}, "data": [entry]})


def test_the_rest_funding_rate_answer_reads_as_the_push_of_its_entry() -> None:
    by_rest, by_push = (OkxNormalizer("BTCUSDT", "linear", contract_value=0.01) for _ in range(2))
    by_rest.on_message(raw(REST_FUNDING), T0)
    by_push.on_message(_push_of(REST_FUNDING), T0)
    rows = by_rest.sink.take()
    assert rows.tobytes() == by_push.sink.take().tobytes() and len(rows) == 1
    row = rows[0]
    funding_ns = 1_743_609_600_000 * NS_PER_MS
    assert (row["ev"], row["px"], row["ival"]) == (FUNDING_RATE_EVENT, 0.0000182221218054, funding_ns)
    assert row["order_id"] == 8 * 3_600_000 * NS_PER_MS and row["exch_ts"] == 1_743_588_686_291 * NS_PER_MS
    assert by_rest.stats.mark_messages == 1 and by_rest.stats.decode_errors == 0
    assert by_rest.perp.saved() == by_push.perp.saved()


def test_a_start_just_before_a_funding_time_settles_it_at_the_rate_rest_gave() -> None:
    # REST at connect says the funding at 1743609600000; the channel's first push comes after it, announcing
    # the next one: the settlement is seen, at the rate REST gave (without REST: nothing to settle)
    after = _push_of(REST_FUNDING, fundingTime="1743638400000", nextFundingTime="1743667200000", fundingRate="0.0002",
                     ts="1743609630000")  # fmt: skip
    started = OkxNormalizer("BTCUSDT", "linear", contract_value=0.01)
    started.on_message(raw(REST_FUNDING), T0)
    started.on_message(after, T0 + 1)
    rows = started.sink.take()
    settled = rows[rows["ev"] == FUNDING_SETTLED_EVENT]
    assert len(settled) == 1 and started.stats.funding_rollovers == 1
    assert (settled[0]["px"], settled[0]["ival"]) == (0.0000182221218054, 1_743_609_600_000 * NS_PER_MS)
    blind = OkxNormalizer("BTCUSDT", "linear", contract_value=0.01)
    blind.on_message(after, T0 + 1)
    assert not (blind.sink.take()["ev"] == FUNDING_SETTLED_EVENT).any() and blind.stats.funding_rollovers == 0
    # the same answer again (a reconnection) settles nothing more
    started.on_message(raw(REST_FUNDING | {"data": [{**REST_FUNDING["data"][0], "fundingTime": "1743638400000"}]}),
                       T0 + 2)  # fmt: skip
    assert started.stats.funding_rollovers == 1


@pytest.mark.parametrize(
    "answer",
    [
        {"code": "50011", "msg": "Too Many Requests", "data": []},
        {"code": "51001", "msg": "Instrument ID doesn't exist.", "data": []},
        {"code": "0", "msg": "", "data": [{**REST_FUNDING["data"][0], "fundingTime": "soon"}]},
        {"code": "0", "msg": "", "data": [{**REST_FUNDING["data"][0], "fundingRate": "nan"}]},
        {"code": "0", "msg": "", "data": []},
    ],
)
def test_a_refused_or_malformed_funding_answer_is_counted_and_skipped(answer: dict[str, Any]) -> None:
    n = OkxNormalizer("BTCUSDT", "linear", contract_value=0.01, echo=False)
    assert n.on_message(raw(answer), T0) == 0
    assert len(n.sink.take()) == 0 and n.stats.decode_errors == 1 and not n.perp.saved().known
    [sample] = n.bad_payloads.samples  # the raw payload kept (and logged, with echo)
    assert sample.raw.startswith(raw(answer)[:60].decode())
