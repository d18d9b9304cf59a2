"""The live path's compiled frame scans equal the per-message code, frame for frame.

``BinanceNormalizer.on_message`` and ``BybitNormalizer.on_message`` first offer a frame to a
compiled scan (``connectors.binance.fastscan.scan_frame``, ``connectors.bybit.fastscan.scan_frame``)
and decode with msgspec only what it declines. With ``frame_scan=False`` every frame takes the
per-message code. Fed the same frames with the same local times, both must give the same rows (all
eight fields, bit for bit, taken after every frame as the feed does), the same book status after
every frame, and the same counters, sync transitions, bad-payload log count and clock state at the
end. Checked on the real captures and on copies with faults injected (the bulk path's catalogue
plus frame-level ones), and the scans must settle most frames of a clean capture: equality alone
would also hold if they declined everything.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest

from connectors.binance import fastscan as binance_fastscan
from connectors.binance.normalize import BinanceNormalizer
from connectors.bybit import fastscan as bybit_fastscan
from connectors.bybit.normalize import BybitNormalizer
from connectors.common.scan import TS_LIMIT
from tests.replay.test_bulk_path import FAULTS, _raw_lines, _spot, _usdm
from tests.support.captures import BYBIT_OB500, RECORDINGS, SPOT_BTC, SPOT_BTC_HEAD, SPOT_ETH_HEAD, USDM_BTC, read_lines

Frames = list[tuple[Any, bytes]]
AnyNormalizer = BinanceNormalizer | BybitNormalizer
Make = Callable[[bool], AnyNormalizer]

BYBIT_SPOT = [RECORDINGS / "bybit_spot" / "btcusdt_20240808.gz", RECORDINGS / "bybit_spot" / "btcusdt_20240809.gz"]


@pytest.fixture
def scanned(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts the frames each scan settled (``DONE``) and declined."""
    BinanceNormalizer(), BybitNormalizer()  # their one-off warm-up calls are not frames
    counts = {name: 0 for name in ("binance", "bybit", "bybit trades")}
    counts.update({f"{name} declined": 0 for name in list(counts)})
    for name, module, function in (
        ("binance", binance_fastscan, "scan_frame"),
        ("bybit", bybit_fastscan, "scan_frame"),
        ("bybit trades", bybit_fastscan, "scan_trades"),
    ):
        scan = getattr(module, function)

        def counting(*args: Any, _scan: Any = scan, _name: str = name) -> Any:
            result = _scan(*args)
            counts[_name if result[0] == 0 else f"{_name} declined"] += 1
            return result

        monkeypatch.setattr(module, function, counting)
    return counts


def _check(make: Make, frames: Frames) -> tuple[AnyNormalizer, AnyNormalizer]:
    """Both paths over ``frames``; fails at the first frame whose rows or status differ."""
    fast, slow = make(True), make(False)
    assert fast.frame_scan and not slow.frame_scan
    for index, (local_ts, payload) in enumerate(frames):
        fast.on_message(payload, local_ts)
        slow.on_message(payload, local_ts)
        got, want = fast.sink.take(), slow.sink.take()
        assert got.dtype == want.dtype
        if len(got) != len(want) or got.tobytes() != want.tobytes():
            raise AssertionError(f"frame {index} ({payload[:80]!r}): rows {got} != {want}")
        assert fast.status == slow.status, f"frame {index}"
    assert fast.stats == slow.stats
    assert fast.transitions == slow.transitions
    assert fast.symbol == slow.symbol and fast.market == slow.market
    assert fast.bad_payloads.seen == slow.bad_payloads.seen
    assert fast._clock_offset == slow._clock_offset
    if isinstance(fast, BinanceNormalizer):
        assert isinstance(slow, BinanceNormalizer)
        assert fast._last_exch_ts == slow._last_exch_ts
        if slow.sync is None:
            assert fast.sync is None
        else:
            assert fast.sync is not None
            assert (fast.sync.state, fast.sync.last_update_id) == (slow.sync.state, slow.sync.last_update_id)
            assert [d.final_update_id for d in fast.sync.buffer] == [d.final_update_id for d in slow.sync.buffer]
    else:
        assert isinstance(slow, BybitNormalizer)
        assert (fast.sync.state, fast.sync.last_update_id) == (slow.sync.state, slow.sync.last_update_id)
        assert fast.depth == slow.depth
    return fast, slow


def _frames(lines: Sequence[bytes]) -> Frames:
    # Recorded lines as the feed would have seen them: (local_ts, payload); lines without a prefix dropped.
    return [(int(line[:19]), line[20:]) for line in lines if line[19:20] == b" " and line[:19].isdigit()]


def _binance(include_bbo: bool) -> Make:
    return lambda scan: BinanceNormalizer(include_bbo=include_bbo, frame_scan=scan)


def _bybit(include_bbo: bool, depth: int | None = None) -> Make:
    return lambda scan: BybitNormalizer(depth=depth, include_bbo=include_bbo, frame_scan=scan)


# -- Binance: the real captures -------------------------------------------------------------------


@pytest.mark.parametrize("path", [SPOT_BTC_HEAD, SPOT_ETH_HEAD], ids=["spot-btc-head", "spot-eth-head"])
@pytest.mark.parametrize("include_bbo", [False, True], ids=["trades+depth", "with-bbo"])
def test_binance_spot_heads(path: Path, include_bbo: bool, scanned: dict[str, int]) -> None:
    frames = read_lines(path)
    fast, _ = _check(_binance(include_bbo), frames)
    settled = fast.stats.depth_messages + fast.stats.trade_messages + (fast.stats.bbo_messages if include_bbo else 0)
    # all but the few frames before the symbol is known and the diffs buffered before the snapshot
    assert scanned["binance"] >= settled - 20


def test_binance_usdm_whole_file(scanned: dict[str, int]) -> None:
    fast, _ = _check(_binance(True), read_lines(USDM_BTC))
    assert fast.stats.messages == 93_954
    assert scanned["binance"] >= 93_954 - 60 and scanned["binance declined"] == 0


def test_binance_sample_recording_both_days(scanned: dict[str, int]) -> None:
    frames = [frame for path in SPOT_BTC for frame in read_lines(path)]
    fast, _ = _check(_binance(False), frames)
    assert fast.stats.gaps == 0 and scanned["binance"] > 0.99 * (fast.stats.depth_messages + fast.stats.trade_messages)


# -- Binance: injected faults ---------------------------------------------------------------------


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("capture", ["spot", "usdm"])
def test_binance_fault(fault: str, capture: str) -> None:
    lines = (_spot if capture == "spot" else _usdm)()
    faulted = FAULTS[fault](lines)
    assert faulted != lines
    _check(_binance(True), _frames(faulted))


def _binance_frame_faults(frames: Frames) -> Frames:
    # What only a live frame can carry: bytes after the message, two messages in one frame.
    out = list(frames)
    depth = [i for i, (_, p) in enumerate(frames) if b"@depth" in p[:40]]
    trade = [i for i, (_, p) in enumerate(frames) if b"@trade" in p[:40]]
    for k, tail in enumerate((b"\n", b" ", b"\r\n", b"}", b"\x00")):
        i = depth[100 + k]
        out[i] = (out[i][0], out[i][1] + tail)
        j = trade[100 + k]
        out[j] = (out[j][0], out[j][1] + tail)
    i = depth[120]
    out[i] = (out[i][0], out[i][1] + b"\n" + frames[depth[121]][1])
    out[trade[120]] = (out[trade[120]][0], out[trade[120]][1][:-1])  # the envelope's '}' missing
    return out


def test_binance_frame_faults(scanned: dict[str, int]) -> None:
    frames = _binance_frame_faults(read_lines(SPOT_BTC_HEAD))
    _check(_binance(True), frames)
    assert scanned["binance declined"] >= 11


_ODD_TIMES: list[Any] = [0, -1, TS_LIMIT - 1, TS_LIMIT, 2**63 - 1, 2**63 + 5, -(2**63) - 1, 1.5e18, np.int64(10**18)]


def _odd_local_times(frames: Frames) -> Frames:
    # Local times the scan must either handle exactly or leave to the per-message code: edges of
    # its range, values beyond int64, a float, a NumPy integer; each followed by ordinary frames.
    out = list(frames)
    for k, odd in enumerate(_ODD_TIMES):
        for i in range(200 + 40 * k, 203 + 40 * k):
            out[i] = (odd, out[i][1])
    return out


@pytest.mark.parametrize("capture", ["spot", "usdm"])
def test_binance_odd_local_times(capture: str) -> None:
    lines = _spot() if capture == "spot" else _usdm()[:3000]
    _check(_binance(True), _odd_local_times(_frames(lines)))


# -- Bybit ------------------------------------------------------------------------------------------


def _bybit_frames() -> Frames:
    return [frame for path in BYBIT_SPOT for frame in read_lines(path)]


def _ob500_frames(strip_cr: bool) -> Frames:
    # The archive's lines end in "\r\n"; a WebSocket frame has neither.
    lines = [line.rstrip(b"\n") for line in BYBIT_OB500.read_bytes().splitlines(keepends=True) if line.strip()]
    return [(1_733_011_200_000_000_000 + i, line.rstrip(b"\r") if strip_cr else line) for i, line in enumerate(lines)]


def _with_top_of_book(frames: Frames) -> Frames:
    # After every orderbook.50 frame, an orderbook.1 frame made of its first level per side, as
    # Bybit pushes it beside a deeper book (a snapshot of one level a side, sometimes a side empty).
    out: Frames = []
    for local_ts, payload in frames:
        out.append((local_ts, payload))
        if not payload.startswith(b'{"topic":"orderbook.50.'):
            continue
        message = msgspec.json.decode(payload)
        data = message["data"]
        top = {
            "topic": message["topic"].replace("orderbook.50.", "orderbook.1."),
            "type": "snapshot",
            "ts": message["ts"],
            "data": {"s": data["s"], "b": data["b"][:1], "a": data["a"][:1], "u": data["u"], "seq": data["seq"]},
        }
        if "cts" in message:
            top["cts"] = message["cts"]
        out.append((local_ts + 1, msgspec.json.encode(top)))
    return out


@pytest.mark.parametrize(("include_bbo", "depth"), [(False, None), (True, 50)], ids=["inferred-depth", "with-bbo"])
def test_bybit_sample_recording(include_bbo: bool, depth: int | None, scanned: dict[str, int]) -> None:
    fast, _ = _check(_bybit(include_bbo, depth), _bybit_frames())
    # every delta after the one snapshot, every trade frame
    assert scanned["bybit"] == fast.stats.depth_messages - fast.stats.snapshots
    assert scanned["bybit trades"] == fast.stats.trade_messages
    assert scanned["bybit declined"] == scanned["bybit trades declined"] == 0


@pytest.mark.parametrize("include_bbo", [False, True], ids=["book+trades", "with-bbo"])
def test_bybit_top_of_book_frames_beside_a_deeper_book(include_bbo: bool, scanned: dict[str, int]) -> None:
    frames = _with_top_of_book(read_lines(BYBIT_SPOT[0])[:3000])
    fast, _ = _check(_bybit(include_bbo), frames)
    assert fast.depth == 50
    assert fast.stats.bbo_messages > 1000 and scanned["bybit"] > 2 * fast.stats.bbo_messages - 10


@pytest.mark.parametrize("strip_cr", [False, True], ids=["archive-lines", "frames"])
def test_bybit_ob500_archive(strip_cr: bool, scanned: dict[str, int]) -> None:
    _check(_bybit(False), _ob500_frames(strip_cr))
    assert scanned["bybit"] == (49 if strip_cr else 0)


def _edit(frame: tuple[Any, bytes], fn: Callable[[dict[str, Any]], Any]) -> tuple[Any, bytes]:
    message = msgspec.json.decode(frame[1])
    replaced = fn(message)
    return frame[0], msgspec.json.encode(message if replaced is None else replaced)


def _bybit_faults() -> dict[str, Callable[[Frames], Frames]]:
    def at(frames: Frames, nth: int, topic: bytes = b"orderbook.50") -> int:
        return [i for i, (_, p) in enumerate(frames) if p.startswith(b'{"topic":"' + topic)][nth]

    def drop(frames: Frames) -> Frames:
        i = at(frames, 40)
        return frames[:i] + frames[i + 1 :]

    def duplicate(frames: Frames) -> Frames:
        i = at(frames, 40)
        return [*frames[: i + 1], frames[i], *frames[i + 1 :]]

    def swap(frames: Frames) -> Frames:
        i, j = at(frames, 40), at(frames, 41)
        out = list(frames)
        out[i], out[j] = out[j], out[i]
        return out

    def resend_snapshot(frames: Frames) -> Frames:
        # A snapshot mid-stream (Bybit resends one when it chooses), then a delta typed otherwise.
        out = list(frames)
        out[at(frames, 40)] = _edit(out[at(frames, 40)], lambda m: m.update(type="snapshot"))
        out[at(frames, 42)] = _edit(out[at(frames, 42)], lambda m: m.update(type="Delta"))
        return out

    def malformed(frames: Frames) -> Frames:
        out = list(frames)
        i = at(frames, 30)
        out[i] = (out[i][0], out[i][1][: len(out[i][1]) // 2])
        i = at(frames, 31)
        out[i] = (out[i][0], out[i][1].replace(b'"b":[["', b'"b":[["x', 1))
        i = at(frames, 32)
        out[i] = (out[i][0], out[i][1].replace(b'"]]', b'",]]', 1))
        i = at(frames, 33)
        out[i] = _edit(out[i], lambda m: m["data"].update(b=None))
        i = at(frames, 34)
        out[i] = _edit(out[i], lambda m: m["data"].pop("u"))
        i = at(frames, 35)
        out[i] = _edit(out[i], lambda m: m.pop("ts"))
        return out

    def layout(frames: Frames) -> Frames:
        # whitespace, reordered keys (asks before bids too), unknown and repeated keys, escapes
        out = list(frames)
        i = at(frames, 30)
        out[i] = (out[i][0], out[i][1].replace(b'":', b'": ').replace(b",", b", "))
        out[at(frames, 31)] = _edit(out[at(frames, 31)], lambda m: {k: m[k] for k in reversed(m)})
        out[at(frames, 32)] = _edit(
            out[at(frames, 32)], lambda m: m.update(data={k: m["data"][k] for k in reversed(m["data"])})
        )
        out[at(frames, 33)] = _edit(out[at(frames, 33)], lambda m: m.update(extra=[1, {"x": 2}]))
        out[at(frames, 34)] = _edit(out[at(frames, 34)], lambda m: m["data"].update(x="y"))
        i = at(frames, 35)
        out[i] = (out[i][0], out[i][1].replace(b'"ts":', b'"ts":1,"ts":', 1))
        i = at(frames, 36)
        out[i] = (out[i][0], out[i][1].replace(b'"s":"BTCUSDT"', b'"s":"BTC\\u0055SDT"', 1))
        i = at(frames, 37)
        out[i] = (out[i][0], out[i][1].replace(b'"type":"delta"', b'"type":"d\\u0065lta"', 1))
        for k, tail in enumerate((b"\n", b" ", b"\r")):
            i = at(frames, 38 + k)
            out[i] = (out[i][0], out[i][1] + tail)
        i = at(frames, 41)
        out[i] = (out[i][0], out[i][1] + out[at(frames, 42)][1])  # two messages in one frame
        return out

    def values(frames: Frames) -> Frames:
        # numbers outside the scan's exact range, other symbols and depths, ids and times at the edges
        out = list(frames)

        def edit(nth: int, fn: Callable[[dict[str, Any]], Any]) -> None:
            out[at(frames, nth)] = _edit(out[at(frames, nth)], fn)

        edit(30, lambda m: m["data"]["b"].insert(0, ["61800.123456789012345", "1e-3"]))
        edit(31, lambda m: m["data"]["a"].insert(0, ["0000.5", "1."]))
        edit(32, lambda m: m["data"]["a"].insert(0, ["-0.0", "12345678.00000000"]))
        edit(33, lambda m: m["data"].update(s="ETHUSDT"))
        edit(34, lambda m: m.update(topic=m["topic"].replace(".50.", ".200.")))
        edit(35, lambda m: m.update(ts=9_100_000_000_000))
        edit(36, lambda m: m["data"].update(seq=2**64))
        edit(37, lambda m: m.update(ts="1723161255512"))
        edit(38, lambda m: m["data"].update(u=2**63))  # beyond int64: a decode error, then a gap
        return out

    def trades(frames: Frames) -> Frames:
        # publicTrade frames the scan must settle exactly or hand over
        out = list(frames)

        def edit(nth: int, fn: Callable[[dict[str, Any]], Any]) -> None:
            i = at(frames, nth, b"publicTrade")
            out[i] = _edit(out[i], fn)

        edit(10, lambda m: m["data"][-1].update(s="ETHUSDT"))
        edit(11, lambda m: m["data"][0].update(m=True))
        edit(12, lambda m: m.update(cts=1))
        edit(13, lambda m: m["data"][0].update(S="buy"))
        edit(14, lambda m: m["data"][0].update(BT=True))
        edit(15, lambda m: m["data"][0].update(BT="false"))
        edit(16, lambda m: m["data"][0].update(p="6.18e4", v="0.00000000000000000001"))
        edit(17, lambda m: m.update(data=[]))
        edit(18, lambda m: m.pop("type"))
        edit(19, lambda m: m.pop("ts"))
        edit(20, lambda m: m["data"][0].update(p=61800.5, v=1))
        edit(21, lambda m: m["data"][0].update(T=str(m["data"][0]["T"])))
        edit(22, lambda m: m["data"][0].update(T=9_100_000_000_000))
        edit(23, lambda m: [t.update(L="PlusTick", seq=123456789, RPI=False) for t in m["data"]])
        edit(24, lambda m: m.update(data=m["data"][0]))
        edit(25, lambda m: m["data"][0].pop("S"))
        edit(26, lambda m: m["data"][0].pop("i"))
        edit(27, lambda m: m["data"][0].update(s=None))
        edit(28, lambda m: m["data"].append(m["data"][0]))
        i = at(frames, 29, b"publicTrade")
        out[i] = (out[i][0], out[i][1].replace(b'"i":"', b'"i":"\\u0032', 1))
        i = at(frames, 30, b"publicTrade")
        out[i] = (out[i][0], out[i][1] + b" ")
        i = at(frames, 31, b"publicTrade")
        out[i] = (out[i][0], out[i][1].replace(b'"BT":false', b'"BT":false,"BT":true', 1))
        return out

    def top_of_book(frames: Frames) -> Frames:
        # orderbook.1 beside the kept book: empty sides, another type, bad levels, another symbol
        out = _with_top_of_book(frames)
        out[at(out, 20, b"orderbook.1.")] = _edit(out[at(out, 20, b"orderbook.1.")], lambda m: m["data"].update(b=[]))
        out[at(out, 21, b"orderbook.1.")] = _edit(out[at(out, 21, b"orderbook.1.")], lambda m: m["data"].update(a=[]))
        out[at(out, 22, b"orderbook.1.")] = _edit(out[at(out, 22, b"orderbook.1.")], lambda m: m.update(type="delta"))
        i = at(out, 23, b"orderbook.1.")
        out[i] = (out[i][0], out[i][1].replace(b'"b":[["', b'"b":[["x', 1))
        i = at(out, 24, b"orderbook.1.")
        out[i] = _edit(out[i], lambda m: m["data"].update(s="ETHUSDT"))
        i = at(out, 25, b"orderbook.1.")
        out[i] = _edit(out[i], lambda m: m["data"]["b"].append(["1.5e3", "2"]))
        return out

    return {
        "drop-delta": drop,
        "duplicate-delta": duplicate,
        "swap-deltas": swap,
        "resent-snapshot": resend_snapshot,
        "malformed": malformed,
        "layout": layout,
        "values": values,
        "top-of-book": top_of_book,
        "trades": trades,
    }


BYBIT_FAULTS = _bybit_faults()


@pytest.mark.parametrize("fault", list(BYBIT_FAULTS))
@pytest.mark.parametrize("include_bbo", [False, True], ids=["book+trades", "with-bbo"])
def test_bybit_fault(fault: str, include_bbo: bool) -> None:
    frames = read_lines(BYBIT_SPOT[0])[:1500]
    faulted = BYBIT_FAULTS[fault](frames)
    assert faulted != frames
    _check(_bybit(include_bbo), faulted)


def test_bybit_odd_local_times() -> None:
    _check(_bybit(True), _odd_local_times(_with_top_of_book(read_lines(BYBIT_SPOT[0])[:1500])))


def test_bybit_gap_then_resubscribe_snapshot_resyncs_on_the_scan(scanned: dict[str, int]) -> None:
    # After a gap the deltas go the per-message way (dropped, unsynced); the snapshot of the
    # resubscription resyncs and the scan takes over again.
    frames = read_lines(BYBIT_SPOT[0])[:1500]
    faulted = BYBIT_FAULTS["drop-delta"](frames)
    book = [i for i, (_, p) in enumerate(faulted) if p.startswith(b'{"topic":"orderbook')]
    first = faulted[book[0]]
    next_u = msgspec.json.decode(faulted[book[200]][1])["data"]["u"]
    snapshot = _edit(first, lambda m: m["data"].update(u=next_u - 1))
    fast, _ = _check(_bybit(False), [*faulted[: book[200]], snapshot, *faulted[book[200] :]])
    assert fast.stats.gaps == 1 and fast.stats.resyncs == 1 and fast.stats.dropped_unsynced > 100
    assert fast.status.update_id == msgspec.json.decode(faulted[book[-1]][1])["data"]["u"]
    assert scanned["bybit"] >= 40 + len(book) - 200 - 1  # before the gap, and every delta after the snapshot


def test_binance_raw_lines_helper_reads_the_capture() -> None:
    # the bulk path's helpers this module borrows still give (prefix, payload) lines
    assert len(_frames(_raw_lines(SPOT_BTC_HEAD))) == 3000
