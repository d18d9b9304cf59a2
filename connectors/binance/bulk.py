"""Recorded Binance lines read with array operations: the Numba-free conversion's bulk read.

A normalizer without compiled code hands its recordings here: whole buffers of lines
(:meth:`~connectors.binance.normalize.BinanceNormalizer.on_chunk`, :func:`read_buffer`: what the
converter gives it) or lists of lines (``on_lines``, :func:`read_lines`). The common lines are settled
together: a bookTicker that is not wanted (counted), a trade of the symbol, and a depth diff of the
symbol that continues the synced book's update ids. Lines are told apart by comparing 64-bit words at
fixed places of all lines at once (the receive time's digits, the stream prefix and name); trades and
diffs are decoded with the per-message code's msgspec structs, one call per line and no Python per line
beyond it; the diffs' levels are read together (:mod:`connectors.common.levels_bulk`) and the rows of a
run of lines are made in one NumPy step. A line that is only counted never becomes a bytes object.

Every other line goes, in its place, through the per-message code (``one_by_one``): a line without
the receive-time prefix, another stream or symbol, a snapshot, a mark price, anything that does not
decode or is spelled unusually, a value out of int64, a non-market trade, and every diff the book is
not in the steady state for (not synced, bridging a snapshot, a gap or a duplicate). The rows, their
order, the counters, the sync transitions and the logged payloads are therefore those of calling the
per-message code line by line (``tests/replay/test_plain_bulk.py`` checks that on injected faults;
``tests/replay/test_plain_path.py`` the whole conversion against the compiled path).
"""

from __future__ import annotations

__all__ = ["read_buffer", "read_lines"]

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import msgspec
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from arb.events import DEPTH_ASK, DEPTH_BID, NS_PER_MS, TRADE_BUY, TRADE_SELL
from connectors.binance.messages import BinanceAggTrade, BinanceDepthUpdate, BinanceStream, BinanceTrade
from connectors.binance.normalize import _AGG, _BBO, _DEPTH, _TRADE  # its stream kinds (it loads this lazily)
from connectors.common.levels_bulk import digits_of, parse_level_arrays
from connectors.common.normalizer import SyncState

if TYPE_CHECKING:
    from connectors.binance.normalize import BinanceNormalizer

_SLOW, _SKIP, _FAST_TRADE, _FAST_DEPTH = 0, 1, 2, 3
"""What a line is here: per message, a bookTicker only counted, a trade row, a diff's level rows."""
_TS_DIGITS = 19
_PREFIX = b'{"stream":"'
_NAME_AT = _TS_DIGITS + 1 + len(_PREFIX)
_MS_LIMIT = ((1 << 63) - 1) // NS_PER_MS
"""The largest exchange time in ms whose ns fit int64 (both signs: -_MS_LIMIT also fits)."""
_ID_LIMIT = 1 << 62
"""Update ids in [0, this) are compared in int64 without overflow (others go per message)."""
_INT64_MAX = (1 << 63) - 1
_EMPTY = msgspec.Raw(b"[]")
_EIGHT = np.array(8)
_THREE = np.array(3)

_depth_env = msgspec.json.Decoder(BinanceStream[BinanceDepthUpdate], strict=False)
_trade_env = msgspec.json.Decoder(BinanceStream[BinanceTrade], strict=False)
_agg_env = msgspec.json.Decoder(BinanceStream[BinanceAggTrade], strict=False)


def read_lines(
    normalizer: BinanceNormalizer, lines: Sequence[bytes], one_by_one: Callable[[Sequence[bytes]], None]
) -> None:
    """Read ``lines`` (``<19-digit ns> <payload>`` each) into ``normalizer`` as ``one_by_one(lines)`` would:
    the common lines in bulk, the others by ``one_by_one([line])`` in their place."""
    if normalizer.include_bbo:  # (see read_buffer)
        one_by_one(lines)
        return
    sizes = np.fromiter(map(len, lines), np.int64, len(lines))
    starts = np.cumsum(sizes + 1) - (sizes + 1)
    _read(normalizer, _Lines(b"\n".join(lines), starts, starts + sizes, lines), one_by_one)


def read_buffer(
    normalizer: BinanceNormalizer, chunk: bytes | memoryview, one_by_one: Callable[[Sequence[bytes]], None]
) -> int:
    """:func:`read_lines` of the non-empty lines of ``chunk`` (whole lines, ``\\n``-separated), without
    making a bytes object of the lines it only counts; returns how many non-empty lines it held."""
    raw = bytes(chunk)
    if normalizer.include_bbo:
        # Wanted bookTickers (most lines) are not read in bulk: each would be a run of its own, so the whole
        # buffer goes one by one, as fast as before the bulk read.
        kept = [line for line in raw.split(b"\n") if line]
        one_by_one(kept)
        return len(kept)
    newlines = np.flatnonzero(np.frombuffer(raw, np.uint8) == 10)
    starts: Any = np.empty(newlines.shape[0] + 1, np.int64)
    starts[0] = 0
    starts[1:] = newlines + 1
    ends: Any = np.append(newlines, len(raw))
    full = ends > starts  # empty lines are skipped (the last one when the chunk ends with a newline)
    if not bool(full.all()):
        starts, ends = starts[full], ends[full]
    _read(normalizer, _Lines(raw, starts, ends, None), one_by_one)
    return int(starts.shape[0])


class _Lines:
    # A block's lines: ``raw`` holds them, line i from ``starts[i]`` to ``ends[i]`` (``lines``: as bytes, if made).

    def __init__(self, raw: bytes, starts: Any, ends: Any, lines: Sequence[bytes] | None) -> None:
        self.raw = raw
        self.starts = starts
        self.ends = ends
        self.lines = lines
        self.count = int(starts.shape[0])

    def line(self, i: int) -> bytes:
        return self.lines[i] if self.lines is not None else self.raw[int(self.starts[i]) : int(self.ends[i])]

    def payloads(self, at: Any) -> list[bytes]:
        # The payloads (after the receive time) of lines ``at``.
        if self.lines is not None:
            lines = self.lines
            return [lines[i][_TS_DIGITS + 1 :] for i in at.tolist()]
        raw = self.raw
        return [
            raw[s:e] for s, e in zip((self.starts[at] + _TS_DIGITS + 1).tolist(), self.ends[at].tolist(), strict=True)
        ]

    def heads(self, width: int) -> Any:
        # Each line's first ``width`` bytes (then the next line's; zeros past the end), one row per line.
        data = np.frombuffer(self.raw, np.uint8)
        starts = self.starts
        heads = np.zeros((self.count, width), np.uint8)
        inside = starts <= data.shape[0] - width
        if bool(inside.any()):
            heads[inside] = sliding_window_view(data, width)[starts[inside]]
        if not bool(inside.all()):
            first = int(starts[~inside].min())
            tail = np.frombuffer(self.raw[first:] + b"\0" * width, np.uint8)
            heads[~inside] = sliding_window_view(tail, width)[starts[~inside] - first]
        return heads


def _read(normalizer: BinanceNormalizer, lines: _Lines, one_by_one: Callable[[Sequence[bytes]], None]) -> None:
    # The walk: runs of fast lines in bulk, each other line one by one in its place.
    n = lines.count
    pos = 0
    while not normalizer.symbol and pos < n:  # the first lines settle the symbol
        one_by_one([lines.line(pos)])
        pos += 1
    if pos >= n:
        return
    block = _Block(normalizer, lines)
    while pos < n:
        stop = block.fast_until(pos)
        if stop > pos:
            block.emit(pos, stop)
        if stop >= n:
            break
        end = block.slow_until(stop)  # the lines from stop on that go one by one whatever the book
        one_by_one([lines.line(i) for i in range(stop, end)])
        pos = end


def _pattern(width: int, at: int, text: bytes) -> list[tuple[int, np.uint64, np.uint64]]:
    # ``text`` at byte ``at`` of a row of ``width`` bytes, as (word, mask, value) of the words it touches.
    value = np.zeros(width, np.uint8)
    mask = np.zeros(width, np.uint8)
    value[at : at + len(text)] = np.frombuffer(text, np.uint8)
    mask[at : at + len(text)] = 0xFF
    values, masks = value.view("<u8"), mask.view("<u8")
    return [(k, masks[k], values[k]) for k in range(width // 8) if masks[k]]


def _match(words: Any, pattern: list[tuple[int, np.uint64, np.uint64]]) -> Any:
    # bool per row of ``words``: the pattern's bytes are there.
    found = np.ones(words.shape[0], bool)
    for k, mask, value in pattern:
        found &= (words[:, k] & mask) == value
    return found


def _learn_names(normalizer: BinanceNormalizer, lines: list[bytes]) -> list[tuple[bytes, int]]:
    # The kinds of the stream names of ``lines`` the normalizer has not met yet, where it reads them (as it
    # learns each at its first line; a name it does not read is left for that line to note, in its place).
    kinds = normalizer._kinds
    learned: list[tuple[bytes, int]] = []
    for name in {line[_NAME_AT : line.find(b'"', _NAME_AT)] for line in lines}:
        kind = normalizer.kind_of(name.decode("utf-8", "replace")) if name not in kinds else None
        if kind is not None:
            kinds[name] = kind
            learned.append((name, kind))
    return learned


def _decode_all(decoder: msgspec.json.Decoder[Any], payloads: list[bytes]) -> list[Any]:
    # Each payload decoded on its own (None where it does not decode): one C call per payload.
    try:
        return list(map(decoder.decode, payloads))
    except (msgspec.DecodeError, ValueError, TypeError, OverflowError):
        found: list[Any] = []
        for payload in payloads:
            try:
                found.append(decoder.decode(payload))
            except (msgspec.DecodeError, ValueError, TypeError, OverflowError):
                found.append(None)
        return found


def _within(values: list[int], low: int, high: int) -> Any:
    # bool per value: low <= value <= high (Python ints of any size).
    try:
        held = np.array(values, np.int64)
    except OverflowError:
        return np.array([low <= v <= high for v in values], bool)
    return (held >= low) & (held <= high)


def _int64(values: list[int], usable: Any) -> Any:
    # The values as int64, 0 where not usable (those may not fit).
    return np.array([v if u else 0 for v, u in zip(values, usable.tolist(), strict=True)], np.int64)


class _Block:
    # One block's lines classified, their common messages decoded; the walk asks how far the fast lines go.

    def __init__(self, normalizer: BinanceNormalizer, lines: _Lines) -> None:
        self.normalizer = normalizer
        self.lines = lines
        n = lines.count
        sizes = lines.ends - lines.starts
        names = [
            (np.frombuffer(name + b'"', np.uint8), kind)
            for name, kind in normalizer._kinds.items()
            if kind is not None and kind <= _BBO
        ]
        width = max([_NAME_AT + 48, *(_NAME_AT + text.shape[0] for text, _ in names)])
        width = -(-width // 8) * 8
        words = lines.heads(width).view("<u8")  # each line's first bytes, eight to a word
        high, high_ok = digits_of(words[:, 0], _EIGHT)
        middle, middle_ok = digits_of(words[:, 1], _EIGHT)
        low, low_ok = digits_of(words[:, 2] << np.uint64(40), _THREE)  # the 17th-19th digits
        local = high * np.uint64(10**11) + middle * np.uint64(1000) + low  # < 10**19 < 2**64
        framed = (sizes > _NAME_AT) & high_ok & middle_ok & low_ok & (local <= np.uint64(_INT64_MAX))
        framed &= _match(words, _pattern(width, _TS_DIGITS, b" " + _PREFIX))
        kind = np.full(n, -1, np.int64)
        for text, known in names:
            kind[framed & _match(words, _pattern(width, _NAME_AT, text.tobytes()))] = known
        new = _learn_names(normalizer, [lines.line(i) for i in np.flatnonzero(framed & (kind == -1)).tolist()])
        for name, known in new:  # (names as wide as the window read: the rest stay per message)
            if known <= _BBO and _NAME_AT + len(name) + 1 <= width:
                kind[framed & _match(words, _pattern(width, _NAME_AT, name + b'"'))] = known
        self.local = local.astype(np.int64)
        what = np.full(n, _SLOW, np.int8)
        if not normalizer.include_bbo:
            what[kind == _BBO] = _SKIP
        self.trades = self._trades(np.flatnonzero((kind == _TRADE) | (kind == _AGG)), kind, what)
        self.depth = self._depth(np.flatnonzero(kind == _DEPTH), what)
        self.what = what
        self.slow = np.flatnonzero(what == _SLOW)
        # For each slow line, how many slow lines follow it without a gap (a run goes one by one at once).
        run = np.zeros(self.slow.shape[0], np.int64)
        if self.slow.shape[0] > 1:
            ends = np.append(np.flatnonzero(np.diff(self.slow) != 1), self.slow.shape[0] - 1)
            at = np.arange(self.slow.shape[0])
            run = ends[np.searchsorted(ends, at)] - at
        self.slow_run = run
        self.skips = np.zeros(n + 1, np.int64)
        np.cumsum(what == _SKIP, out=self.skips[1:])

    def _trades(self, at: Any, kind: Any, what: Any) -> dict[str, Any]:
        # Decode the trade lines; mark those the bulk may settle (a market trade of the symbol, in range).
        agg = kind[at] == _AGG
        payloads = self.lines.payloads(at)
        data = [d.data if d is not None else None for d in _decode_kinds(payloads, agg)]
        symbol = self.normalizer.symbol
        usable = np.array(
            [
                d is not None
                and d.symbol == symbol
                and (isinstance(d, BinanceAggTrade) or d.execution_type == "MARKET")
                for d in data
            ],
            bool,
        )
        ms = [d.trade_time_ms if d is not None else 0 for d in data]
        ids = [(d.agg_trade_id if isinstance(d, BinanceAggTrade) else d.trade_id) if d is not None else 0 for d in data]
        usable &= _within(ms, -_MS_LIMIT, _MS_LIMIT) & _within(ids, -_INT64_MAX - 1, _INT64_MAX)
        keep = at[usable]
        what[keep] = _FAST_TRADE
        rows: list[Any] = [d for d, u in zip(data, usable.tolist(), strict=True) if u]
        return {
            "line": keep,
            "exch": _int64(ms, usable)[usable] * NS_PER_MS,
            "id": _int64(ids, usable)[usable],
            "px": np.array([d.price for d in rows], np.float64),
            "qty": np.array([d.qty for d in rows], np.float64),
            "ev": np.where([d.buyer_is_maker for d in rows], TRADE_SELL, TRADE_BUY).astype(np.uint64),
        }

    def _depth(self, at: Any, what: Any) -> dict[str, Any]:
        # Decode the diffs and read their levels; mark those the bulk may settle if the book is steady.
        decoded = _decode_all(_depth_env, self.lines.payloads(at))
        symbol = self.normalizer.symbol
        diffs = [d.data if d is not None and d.data.symbol == symbol else None for d in decoded]
        usable = np.array([d is not None for d in diffs], bool)
        zero = BinanceDepthUpdate(
            event_time_ms=0, symbol="", first_update_id=0, final_update_id=0, bids=_EMPTY, asks=_EMPTY
        )
        diffs_or = [d if d is not None else zero for d in diffs]
        raws: list[Any] = []
        for d in diffs_or:
            raws.append(d.bids)
            raws.append(d.asks)
        levels = parse_level_arrays(raws)
        usable &= levels.ok[0::2] & levels.ok[1::2]
        event = [d.event_time_ms for d in diffs_or]
        trans = [d.transaction_time_ms for d in diffs_or]
        first = [d.first_update_id for d in diffs_or]
        final = [d.final_update_id for d in diffs_or]
        prev = [d.prev_final_update_id for d in diffs_or]
        usable &= _within(event, -_MS_LIMIT, _MS_LIMIT) & _within(trans, -_MS_LIMIT, _MS_LIMIT)
        for ids in (first, final):
            usable &= _within(ids, 0, _ID_LIMIT - 1)
        usable &= _within(prev, -1, _ID_LIMIT - 1)
        what[at[usable]] = _FAST_DEPTH
        keep = np.flatnonzero(usable)
        counts = np.diff(levels.offsets)
        pair_counts = counts.reshape(-1, 2)[keep]
        starts = levels.offsets[:-1].reshape(-1, 2)[keep]
        return {
            "line": at[keep],
            "event": _int64(event, usable)[keep] * NS_PER_MS,
            "trans": _int64(trans, usable)[keep] * NS_PER_MS,
            "first": _int64(first, usable)[keep],
            "final": _int64(final, usable)[keep],
            "prev": _int64(prev, usable)[keep],
            "counts": pair_counts,
            "level_start": starts,
            "values": levels.values,
        }

    def slow_until(self, stop: int) -> int:
        """The end of the run of lines from ``stop`` on that go through the per-message code whatever the
        book's state (at least ``stop + 1``: ``stop`` itself goes, whatever it is)."""
        slow = self.slow
        k = int(np.searchsorted(slow, stop))
        if k >= slow.shape[0] or int(slow[k]) != stop:
            return stop + 1
        return stop + 1 + int(self.slow_run[k])

    def fast_until(self, pos: int) -> int:
        """The first line from ``pos`` on that the per-message code must read, as the book stands now."""
        slow = self.slow
        k = int(np.searchsorted(slow, pos))
        stop = int(slow[k]) if k < slow.shape[0] else self.lines.count
        depth_lines = self.depth["line"]
        d0 = int(np.searchsorted(depth_lines, pos))
        d1 = int(np.searchsorted(depth_lines, stop))
        if d0 == d1:
            return stop
        sync = self.normalizer.sync
        last = sync.last_update_id if sync is not None else -1
        if sync is None or sync.state is not SyncState.SYNCED or sync._bridging or not 0 <= last < _ID_LIMIT:
            return int(depth_lines[d0])
        final = self.depth["final"][d0:d1]
        before = np.empty_like(final)
        before[0] = last
        before[1:] = final[:-1]
        if sync.futures:
            applies = (final > before) & (self.depth["prev"][d0:d1] == before)
        else:
            applies = (final > before) & (self.depth["first"][d0:d1] <= before + 1)
        broken = np.flatnonzero(~applies)
        return int(depth_lines[d0 + int(broken[0])]) if broken.shape[0] else stop

    def emit(self, pos: int, stop: int) -> None:
        """Settle lines ``pos`` to ``stop`` (all fast, the diffs among them applying in turn): their rows
        into the sink, their counts, the clock, the book's update id."""
        normalizer = self.normalizer
        trades, depth = self.trades, self.depth
        t0, t1 = np.searchsorted(trades["line"], (pos, stop)).tolist()
        d0, d1 = np.searchsorted(depth["line"], (pos, stop)).tolist()
        stats = normalizer.stats
        stats.messages += stop - pos
        stats.bbo_messages += int(self.skips[stop] - self.skips[pos])
        stats.trade_messages += t1 - t0
        stats.depth_messages += d1 - d0
        if t1 == t0 and d1 == d0:
            return
        linear = normalizer.market == "linear"
        sync = normalizer.sync
        futures = sync is not None and sync.futures
        local = self.local
        # The latest message with an exchange time sets the clock (a diff's per the sync's rule).
        last_trade = int(trades["line"][t1 - 1]) if t1 > t0 else -1
        last_diff = int(depth["line"][d1 - 1]) if d1 > d0 else -1
        if d1 > d0:
            assert sync is not None  # fast_until lets diffs through only to a synced book
            clock = int((depth["trans"] if futures else depth["event"])[d1 - 1])
            sync.last_update_id = int(depth["final"][d1 - 1])
            normalizer.status.applied(sync.last_update_id, int(local[last_diff]), clock)
        if last_trade > last_diff:
            clock = int(trades["exch"][t1 - 1])
            normalizer._note_clock(clock, int(local[last_trade]))
        else:
            normalizer._note_clock(clock, int(local[last_diff]))
        sink = normalizer.sink
        size = int(depth["counts"][d0:d1].sum()) + (t1 - t0)
        out, fill = sink.reserve(size)
        _rows(out[fill : fill + size], trades, depth, (t0, t1), (d0, d1), local, linear)
        sink.commit(fill + size)


def _decode_kinds(payloads: list[bytes], agg: Any) -> list[Any]:
    # Each trade payload decoded with its stream's struct (None where it does not decode).
    if not bool(agg.any()):
        return _decode_all(_trade_env, payloads)
    if bool(agg.all()):
        return _decode_all(_agg_env, payloads)
    return [_decode_all(_agg_env if a else _trade_env, [p])[0] for p, a in zip(payloads, agg.tolist(), strict=True)]


def _rows(
    rows: Any,
    trades: dict[str, Any],
    depth: dict[str, Any],
    t: tuple[int, int],
    d: tuple[int, int],
    local: Any,
    linear: bool,
) -> None:
    # Write into ``rows`` the rows of the trades t[0]:t[1] and diffs d[0]:d[1], in line order: a trade's
    # one row, a diff's bids then asks (as the per-message code appends them).
    t0, t1 = t
    d0, d1 = d
    counts = depth["counts"][d0:d1]  # (diffs, 2): bids, asks
    per_diff = counts.sum(1)
    before = np.zeros(d1 - d0 + 1, np.int64)
    np.cumsum(per_diff, out=before[1:])
    trade_lines = trades["line"][t0:t1]
    diffs_before = np.searchsorted(depth["line"][d0:d1], trade_lines)
    trade_at = np.arange(t1 - t0) + before[diffs_before]
    total = rows.shape[0]
    rows["order_id"] = 0
    rows["fval"] = 0.0
    is_trade = np.zeros(total, bool)
    is_trade[trade_at] = True
    level_at = np.flatnonzero(~is_trade)
    rows["ev"][trade_at] = trades["ev"][t0:t1]
    rows["exch_ts"][trade_at] = trades["exch"][t0:t1]
    rows["local_ts"][trade_at] = local[trade_lines]
    rows["px"][trade_at] = trades["px"][t0:t1]
    rows["qty"][trade_at] = trades["qty"][t0:t1]
    rows["ival"][trade_at] = trades["id"][t0:t1]
    if d1 > d0:
        sides = counts.reshape(-1)
        values = _levels(depth, d0, d1, sides)
        exch = (depth["trans"] if linear else depth["event"])[d0:d1]
        rows["ev"][level_at] = np.repeat(np.tile(np.array([DEPTH_BID, DEPTH_ASK], np.uint64), d1 - d0), sides)
        rows["exch_ts"][level_at] = np.repeat(exch, per_diff)
        rows["local_ts"][level_at] = np.repeat(local[depth["line"][d0:d1]], per_diff)
        rows["ival"][level_at] = np.repeat(depth["final"][d0:d1], per_diff)
        rows["px"][level_at] = values[:, 0]
        rows["qty"][level_at] = values[:, 1]


def _levels(depth: dict[str, Any], d0: int, d1: int, sides: Any) -> Any:
    # The level pairs of diffs d0:d1, bids then asks of each, in order ((rows, 2) float64).
    starts = depth["level_start"][d0:d1].reshape(-1)
    values = depth["values"]
    total = int(sides.sum())
    if total == 0:
        return values[:0]
    # Each side's pairs are contiguous in values; sides of consecutive diffs usually follow each other.
    first = int(starts[0])
    if int(starts[-1] + sides[-1]) - first == total:
        return values[first : first + total]
    index = np.repeat(starts - np.cumsum(sides) + sides, sides) + np.arange(total)
    return values[index]
