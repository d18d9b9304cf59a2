"""OKX's compiled frame scans equal the per-message code, frame for frame.

``OkxNormalizer.on_message`` first offers a ``books`` frame to ``connectors.okx.fastscan.scan_book`` and a
``trades`` frame to ``scan_trades``, and decodes with msgspec only what they decline. With
``frame_scan=False`` every frame takes the per-message code. Fed the same frames with the same local
times, both must give the same rows (all eight fields, bit for bit, taken after every frame), the same
book status after every frame, and at the end the same counters, checksum counts, sync transitions, sync
machine, book of wire strings, bad-payload count and clock state. Checked on the shipped sample's OKX
files, on them as a swap (contract value), and on copies with faults: a checksum mismatch, a gap, a
duplicate, heartbeats, a seqId reset after maintenance, a resent snapshot, layouts and values the scan
must hand over, odd local times, a day resumed with and without the saved wire strings. The scans must
also settle most frames of a clean file: equality alone would hold if they declined everything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import numpy as np
import pytest

from connectors.okx import fastscan
from connectors.okx.book import grow
from connectors.okx.checksum import checksum
from connectors.okx.normalize import OkxNormalizer
from tests.replay.test_frame_path import _ODD_TIMES, _edit
from tests.support.captures import RECORDINGS, read_lines
from tests.unit.test_okx_normalize import SWAPS

Frames = list[tuple[Any, bytes]]
Make = Callable[[bool], OkxNormalizer]

OKX_SPOT = [RECORDINGS / "okx_spot" / "btcusdt_20240808.gz", RECORDINGS / "okx_spot" / "btcusdt_20240809.gz"]


@pytest.fixture
def scanned(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts the frames each scan settled (``DONE``) and declined."""
    OkxNormalizer()  # its one-off warm-up calls are not frames
    counts = {"book": 0, "book declined": 0, "trades": 0, "trades declined": 0}
    for name, function in (("book", "scan_book"), ("trades", "scan_trades")):
        scan = getattr(fastscan, function)

        def counting(*args: Any, _scan: Any = scan, _name: str = name) -> Any:
            result = _scan(*args)
            counts[_name if result[0] == fastscan.DONE else f"{_name} declined"] += 1
            return result

        monkeypatch.setattr(fastscan, function, counting)
    return counts


def _spot(scan: bool) -> OkxNormalizer:
    return OkxNormalizer(frame_scan=scan, echo=False)


def _linear(scan: bool) -> OkxNormalizer:
    return OkxNormalizer("BTCUSDT", "linear", frame_scan=scan, echo=False)


def _same_state(fast: OkxNormalizer, slow: OkxNormalizer) -> None:
    assert fast.stats == slow.stats
    assert fast.checksums == slow.checksums
    assert fast.transitions == slow.transitions
    assert (fast.symbol, fast.market, fast.contract_value) == (slow.symbol, slow.market, slow.contract_value)
    assert fast.bad_payloads.seen == slow.bad_payloads.seen
    assert fast._clock_offset == slow._clock_offset
    assert (fast.sync.state, fast.sync.last_update_id, fast.sync.sequenced, fast.sync.bridging) == (
        slow.sync.state,
        slow.sync.last_update_id,
        slow.sync.sequenced,
        slow.sync.bridging,
    )
    assert [u.seq_id for u in fast.sync.buffer] == [u.seq_id for u in slow.sync.buffer]
    assert fast.levels.known == slow.levels.known and fast.levels.depth == slow.levels.depth
    depth = max(fast.levels.depth)
    assert fast.levels.bids(depth) == slow.levels.bids(depth) and fast.levels.asks(depth) == slow.levels.asks(depth)
    assert fast.saved_state() == slow.saved_state()


def _check(make: Make, frames: Frames, *, resume: tuple[int, str] | None = None) -> tuple[OkxNormalizer, OkxNormalizer]:
    """Both paths over ``frames``; fails at the first frame whose rows or status differ. ``resume``:
    (seqId, saved state) to start both from, as a converter does with the previous day's end."""
    fast, slow = make(True), make(False)
    assert fast.frame_scan and not slow.frame_scan
    if resume is not None:
        for n in (fast, slow):
            n.resume(resume[0], "spot", "BTCUSDT")
            n.restore_state(resume[1])
    for index, (local_ts, payload) in enumerate(frames):
        fast.on_message(payload, local_ts)
        slow.on_message(payload, local_ts)
        got, want = fast.sink.take(), slow.sink.take()
        assert got.dtype == want.dtype
        if len(got) != len(want) or got.tobytes() != want.tobytes():
            raise AssertionError(f"frame {index} ({payload[:90]!r}): rows {got} != {want}")
        assert fast.status == slow.status, f"frame {index}"
    _same_state(fast, slow)
    return fast, slow


def _frames(nth_day: int = 0, limit: int | None = None) -> Frames:
    return read_lines(OKX_SPOT[nth_day])[:limit]


def _is_book(payload: bytes) -> bool:
    return payload.startswith(b'{"arg":{"channel":"books"')


def _at(frames: Frames, nth: int, channel: bytes = b"books") -> int:
    # The index of the nth frame of a channel.
    return [i for i, (_, p) in enumerate(frames) if p.startswith(b'{"arg":{"channel":"' + channel + b'"')][nth]


def _replace(frame: tuple[Any, bytes], old: bytes, new: bytes) -> tuple[Any, bytes]:
    assert old in frame[1], (old, frame[1][:120])
    return frame[0], frame[1].replace(old, new, 1)


class _Book:
    """A plain model of the book of wire strings (dicts, sorted on demand) for writing frames with
    checksums: independent of the arrays under test."""

    def __init__(self) -> None:
        self.sides: tuple[dict[float, tuple[str, str]], dict[float, tuple[str, str]]] = ({}, {})

    def apply(self, message: dict[str, Any]) -> None:
        data = message["data"][0]
        if message["action"] == "snapshot":
            self.sides = ({}, {})
        for side, levels in enumerate((data["bids"], data["asks"])):
            for px, sz, *_ in levels:
                if float(sz) == 0:
                    self.sides[side].pop(float(px), None)
                else:
                    self.sides[side][float(px)] = (px, sz)

    def best(self, side: int, n: int) -> list[tuple[str, str]]:
        levels = self.sides[side]
        return [levels[k] for k in sorted(levels, reverse=side == 0)[:n]]

    def checksum(self) -> int:
        return checksum(self.best(0, 25), self.best(1, 25))


def _book_after(frames: Frames, stop: int) -> tuple[_Book, dict[str, Any]]:
    # The model book after the book frames before index ``stop``, and the last of them.
    book, last = _Book(), {}
    for _, payload in frames[:stop]:
        if _is_book(payload):
            last = msgspec.json.decode(payload)
            book.apply(last)
    return book, last


def _heartbeat(frames: Frames, i: int) -> tuple[Any, bytes]:
    # What OKX sends after about 60 s without change: seqId == prevSeqId == the last seqId, no levels.
    book, last = _book_after(frames, i)
    seq = last["data"][0]["seqId"]
    data = {"asks": [], "bids": [], "ts": last["data"][0]["ts"], "checksum": book.checksum(), "prevSeqId": seq,
            "seqId": seq}  # fmt: skip
    message = {"arg": last["arg"], "action": "update", "data": [data]}
    return frames[i][0], msgspec.json.encode(message)


def _snapshot(frames: Frames, i: int) -> tuple[Any, bytes]:
    # A snapshot of the book as it stands before frame i, at the last seqId (what a resubscription sends).
    book, last = _book_after(frames, i)
    data = {
        "asks": [[p, s, "0", "1"] for p, s in book.best(1, 400)],
        "bids": [[p, s, "0", "1"] for p, s in book.best(0, 400)],
        "ts": last["data"][0]["ts"],
        "checksum": book.checksum(),
        "prevSeqId": -1,
        "seqId": last["data"][0]["seqId"],
    }
    return frames[i][0], msgspec.json.encode({"arg": last["arg"], "action": "snapshot", "data": [data]})


# -- the sample ------------------------------------------------------------------------------------


def test_the_sample_both_days(scanned: dict[str, int]) -> None:
    frames = [frame for path in OKX_SPOT for frame in read_lines(path)]
    fast, _ = _check(_spot, frames)
    stats = fast.stats
    assert stats.gaps == 0 and fast.checksums.verified == stats.depth_messages > 6000
    # every update but those before the book had room for its levels (it grows on the per-message path)
    assert scanned["book"] >= stats.depth_messages - stats.snapshots - 3 and scanned["book declined"] <= 3
    assert scanned["trades"] == stats.trade_messages and scanned["trades declined"] == 0


def _as_swap(frames: Frames) -> Frames:
    # The sample as BTC-USDT-SWAP (sizes are then contracts of 0.01 BTC), after the instruments answer.
    out: Frames = [(frames[0][0], SWAPS)]
    out += [(ts, p.replace(b'"BTC-USDT"', b'"BTC-USDT-SWAP"')) for ts, p in frames]
    return out


def test_the_sample_as_a_swap_with_its_contract_value(scanned: dict[str, int]) -> None:
    fast, _ = _check(_linear, _as_swap(_frames(0, 3000)))
    assert fast.contract_value == 0.01 and fast.stats.decode_errors == 0
    assert scanned["book"] > 1000 and scanned["trades"] > 1000


def test_a_contract_value_given_beforehand() -> None:
    def make(scan: bool) -> OkxNormalizer:
        return OkxNormalizer("BTCUSDT", "linear", contract_value=0.1, frame_scan=scan, echo=False)

    frames = [(ts, p.replace(b'"BTC-USDT"', b'"BTC-USDT-SWAP"')) for ts, p in _frames(0, 1500)]
    _check(make, frames)


# -- faults ------------------------------------------------------------------------------------------


def _mismatch(frames: Frames) -> Frames:
    # A checksum the book does not give.
    out = list(frames)
    i = _at(frames, 40)
    out[i] = _edit(out[i], lambda m: m["data"][0].update(checksum=m["data"][0]["checksum"] ^ 1))
    return out


def _gap(frames: Frames) -> Frames:
    i = _at(frames, 40)
    return frames[:i] + frames[i + 1 :]


def _duplicate(frames: Frames) -> Frames:
    i = _at(frames, 40)
    return [*frames[: i + 1], frames[i], frames[_at(frames, 38)], *frames[i + 1 :]]


def _heartbeats(frames: Frames) -> Frames:
    out = list(frames)
    for nth in (150, 100, 40):  # from the back, so that the indices hold
        i = _at(frames, nth)
        out.insert(i, _heartbeat(frames, i))
        out.insert(i, _heartbeat(frames, i))  # twice: the second repeats the seqId again
    return out


def _maintenance(frames: Frames) -> Frames:
    # After maintenance the seqIds restart lower: from the 100th update on, 3, 4, 5...
    out = list(frames)
    first = _at(frames, 100)
    seq = 3
    for i in range(first, len(out)):
        if not _is_book(out[i][1]):
            continue

        def renumber(m: dict[str, Any], new: int = seq, head: bool = i == first) -> None:
            m["data"][0].update(seqId=new, **({} if head else {"prevSeqId": new - 1}))

        out[i] = _edit(out[i], renumber)
        seq += 1
    return out


def _resent_snapshot(frames: Frames) -> Frames:
    i = _at(frames, 60)
    return [*frames[:i], _snapshot(frames, i), *frames[i:]]


def _layout(frames: Frames) -> Frames:
    # whitespace, reordered and unknown and repeated keys, escapes, bytes after the message
    out = list(frames)

    def book(nth: int, fn: Callable[[tuple[Any, bytes]], tuple[Any, bytes]]) -> None:
        out[_at(frames, nth)] = fn(out[_at(frames, nth)])

    book(30, lambda f: (f[0], f[1].replace(b'":', b'": ').replace(b",", b", ")))
    book(31, lambda f: _edit(f, lambda m: {k: m[k] for k in reversed(m)}))
    book(32, lambda f: _edit(f, lambda m: m["data"].__setitem__(0, dict(reversed(m["data"][0].items())))))
    book(33, lambda f: _edit(f, lambda m: m.update(extra=[1, {"x": 2}])))
    book(34, lambda f: _edit(f, lambda m: m["data"][0].update(x="y")))
    book(35, lambda f: _replace(f, b'"ts":', b'"ts":"1","ts":'))
    book(36, lambda f: _replace(f, b'"instId":"BTC-USDT"', b'"instId":"BTC-\\u0055SDT"'))
    book(37, lambda f: _replace(f, b'"action":"update"', b'"action":"upd\\u0061te"'))
    book(38, lambda f: (f[0], f[1] + b"\n"))
    book(39, lambda f: (f[0], f[1] + b" "))
    book(40, lambda f: _edit(f, lambda m: m["arg"].update(extra="1")))
    book(41, lambda f: _edit(f, lambda m: m.update(arg=dict(reversed(m["arg"].items())))))
    book(42, lambda f: _replace(f, b'"prevSeqId"', b'"prevSeqIe"'))
    book(43, lambda f: _replace(f, b'"checksum"', b'"checksuM"'))
    book(44, lambda f: (f[0], f[1][:-1]))  # the closing brace missing
    return out


def _values(frames: Frames) -> Frames:
    # numbers outside the scan's exact range, other instruments, ids and times at the edges, bad levels
    out = list(frames)

    def edit(nth: int, fn: Callable[[dict[str, Any]], Any]) -> None:
        out[_at(frames, nth)] = _edit(out[_at(frames, nth)], fn)

    def first_bid(m: dict[str, Any], level: list[Any]) -> None:
        m["data"][0]["bids"].insert(0, level)

    edit(30, lambda m: first_bid(m, ["61800.123456789012345", "1e-3", "0", "1"]))
    edit(31, lambda m: first_bid(m, ["0061800.5", "1.", "0", "1"]))
    edit(32, lambda m: first_bid(m, ["61700.5", "-0.5", "0", "1"]))  # a negative size: a decode error
    edit(33, lambda m: first_bid(m, ["61700.5", "-0", "0", "0"]))  # minus zero deletes
    edit(34, lambda m: first_bid(m, ["61700.5", "2"]))  # two fields only
    edit(35, lambda m: first_bid(m, ["61700.5", "2", "0", 1]))  # not a string: a decode error
    edit(36, lambda m: m["arg"].update(instId="ETH-USDT"))
    edit(37, lambda m: m["data"][0].update(ts=9_100_000_000_000))
    edit(38, lambda m: m["data"][0].update(ts="9100000000000"))
    edit(39, lambda m: m["data"][0].update(checksum=str(m["data"][0]["checksum"])))
    edit(40, lambda m: m["data"].append(m["data"][0]))  # two entries
    edit(41, lambda m: m["data"][0].update(seqId=2**63))  # beyond int64: a decode error, then a gap
    edit(50, lambda m: m["data"][0].update(ts="0"))
    edit(51, lambda m: m.pop("action"))
    edit(52, lambda m: m["data"][0].update(checksum=0))
    edit(53, lambda m: first_bid(m, ["61837.10", m["data"][0]["bids"][0][1], "0", "1"]))  # a respelled price
    return out


def _trades(frames: Frames) -> Frames:
    out = list(frames)

    def edit(nth: int, fn: Callable[[dict[str, Any]], Any]) -> None:
        i = _at(frames, nth, b"trades")
        out[i] = _edit(out[i], fn)

    edit(10, lambda m: m["data"][-1].update(instId="ETH-USDT"))
    edit(11, lambda m: m["data"][0].update(side="BUY"))
    edit(12, lambda m: m["data"][0].update(tradeId="1234567890123456789"))
    edit(13, lambda m: m["data"][0].update(tradeId="12a"))
    edit(14, lambda m: m["data"][0].pop("tradeId"))
    edit(15, lambda m: m["data"][0].update(count=3))
    edit(16, lambda m: m["data"][0].update(px="6.18e4", sz="0.00000000000000000001"))
    edit(17, lambda m: m.update(data=[]))
    edit(18, lambda m: m["data"][0].update(ts=str(9_100_000_000_000)))
    edit(19, lambda m: m["data"][0].pop("side"))
    edit(20, lambda m: m["data"][0].update(px=61800.5))
    edit(21, lambda m: m["data"][0].update(extra=1))
    edit(22, lambda m: m.update(data=m["data"][0]))
    edit(23, lambda m: m["data"][0].update(sz="-1"))
    edit(24, lambda m: m["data"][0].update(tradeId=""))
    edit(25, lambda m: m["data"][0].update(tradeId="000123"))
    edit(26, lambda m: m["arg"].update(instId="ETH-USDT"))
    i = _at(frames, 27, b"trades")
    out[i] = (out[i][0], out[i][1] + b" ")
    return out


FAULTS: dict[str, Callable[[Frames], Frames]] = {
    "checksum-mismatch": _mismatch,
    "gap": _gap,
    "duplicate": _duplicate,
    "heartbeat": _heartbeats,
    "seq-reset-after-maintenance": _maintenance,
    "resent-snapshot": _resent_snapshot,
    "layout": _layout,
    "values": _values,
    "trades": _trades,
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault(fault: str, scanned: dict[str, int]) -> None:
    frames = _frames(0, 1500)
    faulted = _resynced(FAULTS[fault], frames)
    assert faulted != frames
    _check(_spot, faulted)
    assert scanned["book"] > 200 and scanned["trades"] > 200


def _resynced(fault: Callable[[Frames], Frames], frames: Frames) -> Frames:
    # The fault in the first 300 updates; then a snapshot (what the feed's resubscription brings after a
    # lost book) and the rest of the frames as they were: the scan must take over again.
    j = _at(frames, 300)
    return [*fault(frames[:j]), _snapshot(frames, j), *frames[j:]]


def test_a_mismatch_loses_the_book_and_a_snapshot_gives_it_back(scanned: dict[str, int]) -> None:
    frames = _frames(0, 1500)
    fast, _ = _check(_spot, _resynced(_mismatch, frames))
    assert fast.checksums.mismatches == 1 and fast.stats.gaps == 1 and fast.stats.resyncs == 1
    assert fast.stats.buffered > 100 and fast.sync.synced
    updates_after = len([p for _, p in frames[_at(frames, 300) :] if _is_book(p)])
    assert scanned["book"] >= 39 - 3 + updates_after


def test_heartbeats_and_a_seq_reset_keep_the_book_on_the_scan(scanned: dict[str, int]) -> None:
    frames = _maintenance(_heartbeats(_frames(0, 1500)))
    fast, _ = _check(_spot, frames)
    assert fast.stats.gaps == 0 and fast.stats.duplicates == 0 and fast.sync.last_update_id < 1000
    assert scanned["book declined"] <= 3 and scanned["book"] >= fast.stats.depth_messages - 1 - 3


def test_odd_local_times() -> None:
    out = list(_frames(0, 1500))
    for k, odd in enumerate(_ODD_TIMES):
        for i in range(200 + 40 * k, 203 + 40 * k):
            out[i] = (odd, out[i][1])
    _check(_spot, out)


def _synthetic(seed: int, updates: int) -> Frames:
    # A deep book (150 levels a side) and updates that insert, resize and delete levels anywhere in it,
    # some with texts longer than the arrays start with, each with the checksum OKX would send.
    rng = np.random.default_rng(seed)
    book = _Book()
    arg = {"channel": "books", "instId": "BTC-USDT"}

    def size() -> str:
        if rng.random() < 0.01:  # more digits than the scan converts exactly: the frame is declined
            return "12.1000000000000000000000000000001"
        return str(rng.choice(["0.5", "1.25", "3", "0.00012345", "1.00000000000000000"]))

    def level(side: int, tick: int) -> list[str]:
        px = f"{(60000 - tick if side == 0 else 60001 + tick) / 10:.1f}"
        if px.endswith(".0") and rng.random() < 0.3:  # respelled: "6000", "6000.00000000000000"
            px = px[:-2] if rng.random() < 0.5 else px + "0" * 13
        return [px, size(), "0", "1"]

    data: dict[str, Any] = {"asks": [level(1, k) for k in range(150)], "bids": [level(0, k) for k in range(150)],
                            "ts": "1723161255409", "prevSeqId": -1, "seqId": 1000}  # fmt: skip
    message = {"arg": arg, "action": "snapshot", "data": [data]}
    frames: Frames = []
    for k in range(updates + 1):
        book.apply(message)
        data["checksum"] = book.checksum()
        frames.append((1_723_161_254_000_000_000 + k * 1_000_000, msgspec.json.encode(message)))
        seq = data["seqId"]
        sides = [
            [level(side, int(t)) for t in sorted(rng.integers(0, 200, int(rng.integers(0, 30))))] for side in (0, 1)
        ]
        for levels in sides:
            for lv in levels:
                if rng.random() < 0.3:
                    lv[1] = "0"
        data = {"asks": sides[1], "bids": sides[0], "ts": str(1723161255409 + k), "prevSeqId": seq, "seqId": seq + 1}
        message = {"arg": arg, "action": "update", "data": [data]}
    return frames


def test_a_deep_book_with_long_texts_grows_and_stays_on_the_scan(scanned: dict[str, int]) -> None:
    # The book grows on the per-message path (the scan declines a frame that does not fit), then the scan
    # settles the updates on the grown arrays; every checksum holds on both paths.
    frames = _synthetic(7, 400)
    fast, _ = _check(_spot, frames)
    assert fast.checksums.verified == 401 and fast.stats.gaps == 0 and fast.levels.depth[0] > 100
    assert fast.levels.state[2].shape[1] > 32 and scanned["book"] > 300


def test_a_day_resumed_with_and_without_the_wire_strings(scanned: dict[str, int]) -> None:
    day1 = _frames(0)
    n = OkxNormalizer(frame_scan=False, echo=False)
    for ts, payload in day1:
        n.on_message(payload, ts)
    n.sink.take()
    day2 = _frames(1, 2000)
    with_strings, _ = _check(_spot, day2, resume=(n.sync.last_update_id, n.saved_state()))
    assert with_strings.checksums.verified > 700 and with_strings.checksums.unverified == 0
    without, _ = _check(_spot, day2, resume=(n.sync.last_update_id, ""))
    assert without.checksums.unverified > 700 and without.checksums.verified == 0
    assert scanned["book"] > 1400


def test_the_scan_declines_a_snapshot_and_a_gap_before_changing_anything() -> None:
    # Direct calls: a snapshot and an update that does not chain leave the book as it was; the next
    # update in the chain changes it.
    frames = _frames(0, 50)
    n = OkxNormalizer(frame_scan=False, echo=False)
    n.on_message(frames[2][1], frames[2][0])  # the snapshot
    before = n.levels.bids(50), n.levels.asks(50)
    n.levels.state = grow(n.levels.state, 100, 64)  # room for the update: the scan never grows the book
    out, fill = n.sink.reserve(1000)
    update = np.frombuffer(frames[_at(frames, 1)][1], np.uint8)
    last = n.sync.last_update_id
    for payload, seq in ((np.frombuffer(frames[2][1], np.uint8), last), (update, last + 1)):
        code = fastscan.scan_book(payload, 0, out[fill:], *n.levels.state, seq, 1.0)[0]
        assert code == fastscan.DECLINED and (n.levels.bids(50), n.levels.asks(50)) == before
    assert fastscan.scan_book(update, 0, out[fill:], *n.levels.state, last, 1.0)[0] == fastscan.DONE
    assert (n.levels.bids(50), n.levels.asks(50)) != before
