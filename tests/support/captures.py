"""Shared test helpers: book oracles over real captures."""

from __future__ import annotations

import ast
import collections
import html
import itertools
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pytest

from arb.book import OrderBook
from arb.events import (
    DEPTH_CLEAR_EVENT,
    DEPTH_EVENT,
    DEPTH_SNAPSHOT_EVENT,
    EVENT_KIND_MASK,
    EXCH_EVENT,
    FUNDING_RATE_EVENT,
    FUNDING_SETTLED_EVENT,
    LOCAL_EVENT,
    MARK_PRICE_EVENT,
    EventArray,
)
from connectors.common.record_files import LineReader

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
RECORDINGS = ROOT / "recordings"
SPOT_BTC = [RECORDINGS / "binance_spot" / "btcusdt_20240808.gz", RECORDINGS / "binance_spot" / "btcusdt_20240809.gz"]
SPOT_BTC_HEAD = FIXTURES / "binance_spot_btcusdt_20240808_head3000.gz"
SPOT_ETH_HEAD = FIXTURES / "binance_spot_ethusdt_20240808_head2000.gz"
USDM_BTC = FIXTURES / "binance_usdm_btcusdt_20240808.gz"
BYBIT_OB500 = FIXTURES / "bybit_linear_xrpusdt_ob500_20241201.data"
PERP_KINDS = (MARK_PRICE_EVENT, FUNDING_RATE_EVENT, FUNDING_SETTLED_EVENT)
"""The event kinds only perpetual markets have: mark price, funding rate, funding settled."""


def kind_of(rows: EventArray) -> np.ndarray[Any, np.dtype[Any]]:
    """Each row's event kind: its ``ev`` without the flags."""
    kinds: np.ndarray[Any, np.dtype[Any]] = rows["ev"] & EVENT_KIND_MASK
    return kinds


def of_kind(rows: EventArray, kind: int) -> EventArray:
    """The rows of event kind ``kind``."""
    found: EventArray = rows[kind_of(rows) == kind]
    return found


def perp_rows(rows: EventArray) -> EventArray:
    """The rows of the perpetual-only kinds (``PERP_KINDS``)."""
    found: EventArray = rows[np.isin(kind_of(rows), PERP_KINDS)]
    return found


def local_side(rows: EventArray, *, published: bool = False) -> EventArray:
    """A copy of the local side of converted rows (``LOCAL_EVENT`` set) without the exchange flag; with
    ``published`` without the local flag either: the rows as the live path publishes them."""
    local: EventArray = rows[(rows["ev"] & LOCAL_EVENT) != 0].copy()
    local["ev"] &= ~np.uint64((EXCH_EVENT | LOCAL_EVENT) if published else EXCH_EVENT)
    return local


def book_tickers(paths: Iterable[Path]) -> dict[int, tuple[float, float]]:
    """Binance ``bookTicker`` best bid/ask by update id, read straight from raw recordings."""
    out: dict[int, tuple[float, float]] = {}
    for path in paths:
        for _, payload in LineReader(path):
            if b"@bookTicker" in payload[:60]:
                data = msgspec.json.decode(payload)["data"]
                out[int(data["u"])] = (float(data["b"]), float(data["a"]))
    return out


def book_by_update_id(rows: EventArray) -> dict[int, tuple[float, float]]:
    """Replay the book rows (the local side of converted rows); best bid/ask after each update id.

    Rows of one message share ``ival`` and sit together in local order; the book is read after the
    last row of each run.
    """
    kinds = rows["ev"] & EVENT_KIND_MASK
    depth = (kinds == DEPTH_EVENT) | (kinds == DEPTH_SNAPSHOT_EVENT) | (kinds == DEPTH_CLEAR_EVENT)
    if np.any(rows["ev"] & LOCAL_EVENT):  # converted rows: the local side, in local order
        depth &= (rows["ev"] & LOCAL_EVENT) != 0
    book_rows = rows[depth]
    if len(book_rows) == 0:
        return {}
    ids = book_rows["ival"]
    ends = np.flatnonzero(np.diff(ids) != 0) + 1
    bounds = [0, *ends.tolist(), len(book_rows)]
    book = OrderBook()
    out: dict[int, tuple[float, float]] = {}
    for a, b in itertools.pairwise(bounds):
        book.apply(book_rows[a:b])
        out[int(ids[a])] = (book.best_bid, book.best_ask)
    return out


def compare_to_tickers(
    book: dict[int, tuple[float, float]], tickers: dict[int, tuple[float, float]]
) -> tuple[int, int, list[int]]:
    """(matches, checkpoints, ids that differ) over update ids present in both."""
    common = sorted(set(book) & set(tickers))
    bad = [u for u in common if book[u] != tickers[u]]
    return len(common) - len(bad), len(common), bad


def read_lines(path: Path) -> list[tuple[int, bytes]]:
    """Every (local_ts, payload) of a recording."""
    return list(LineReader(path))


def run_normalizer(normalizer, lines: Iterable[tuple[int, bytes]]) -> EventArray:  # type: ignore[no-untyped-def]
    """Feed (local_ts, payload) pairs one by one (the live path) and return all rows, uncorrected."""
    for local_ts, payload in lines:
        normalizer.on_message(payload, local_ts)
    rows: EventArray = normalizer.sink.take()
    return rows


def book_at(rows: EventArray, update_id: int) -> OrderBook:
    """The book rebuilt from ``rows`` (local order) through the rows of ``update_id``."""
    kinds = rows["ev"] & EVENT_KIND_MASK
    depth = (kinds == DEPTH_EVENT) | (kinds == DEPTH_SNAPSHOT_EVENT) | (kinds == DEPTH_CLEAR_EVENT)
    if np.any(rows["ev"] & LOCAL_EVENT):
        depth &= (rows["ev"] & LOCAL_EVENT) != 0
    book_rows = rows[depth]
    last = np.flatnonzero(book_rows["ival"] == update_id)
    book = OrderBook()
    book.apply(book_rows[: last[-1] + 1])
    return book


def binance_snapshot_payload(book: OrderBook, last_update_id: int) -> bytes:
    """A REST depth snapshot in Binance's spot format holding ``book``."""
    bid_px, bid_qty = book.bids()
    ask_px, ask_qty = book.asks()
    body = {
        "lastUpdateId": last_update_id,
        "bids": [[repr(float(p)), repr(float(q))] for p, q in zip(bid_px, bid_qty, strict=True)],
        "asks": [[repr(float(p)), repr(float(q))] for p, q in zip(ask_px, ask_qty, strict=True)],
    }
    return msgspec.json.encode(body)


def checkpoints_when_synced(rows: EventArray, tickers: dict[int, tuple[float, float]]) -> tuple[int, int, list[int]]:
    """Compare to bookTicker only at ids where the rebuilt book exists (not cleared by a gap)."""
    book = book_by_update_id(rows)
    synced = {u: v for u, v in book.items() if not (np.isnan(v[0]) or np.isnan(v[1]))}
    return compare_to_tickers(synced, tickers)


MARK_PRICE_FIXTURE = FIXTURES / "binance_usdm_mark_price.jsonl"


def with_mark_price(source: Path, target: Path, *, every: int = 250, funding_after: int = 40) -> Path:
    """A copy of the USD-M capture ``source`` with a ``btcusdt@markPrice@1s`` frame after every
    ``every``-th line, shaped like Binance's documented example (tests/fixtures/binance_usdm_mark_price.jsonl):
    ``E`` is the preceding frame's event time, ``T`` a funding time that passes after the
    ``funding_after``-th inserted frame (then the next one, 8 h later), and the prices and rate move
    a little each time. The inserted frames are derived test data, not a capture.
    """
    import gzip
    import json

    template = json.loads(MARK_PRICE_FIXTURE.read_text().splitlines()[0])
    out: list[bytes] = []
    inserted = 0
    event_ms = 0
    funding_ms = 0
    for n, (local_ts, payload) in enumerate(LineReader(source), 1):
        out.append(b"%d %s" % (local_ts, payload))
        if payload.startswith(b'{"stream"'):
            event_ms = int(msgspec.json.decode(payload)["data"]["E"])
        if n % every or not event_ms:
            continue
        if not funding_ms:
            funding_ms = event_ms + funding_after * 1000 * every // 250  # passes mid-recording
        if inserted == funding_after:
            funding_ms += 8 * 3600 * 1000
        data = dict(template, E=event_ms, T=funding_ms, r=f"{0.0001 + inserted * 1e-7:.8f}",
                    p=f"{61800 + inserted * 0.5:.8f}", i=f"{61790 + inserted * 0.5:.8f}")  # fmt: skip
        frame = {"stream": "btcusdt@markPrice@1s", "data": data}
        out.append(b"%d %s" % (local_ts + 1, json.dumps(frame, separators=(",", ":")).encode()))
        inserted += 1
    with gzip.open(target, "wb", compresslevel=1) as f:
        f.write(b"\n".join(out) + b"\n")
    return target


def report_data(page: Path) -> dict[str, Any]:
    """The figures an ``arb report`` page embeds (its ``arb-report`` JSON script element)."""
    text = page.read_text(encoding="utf-8")
    match = re.search(r'<script type="application/json" id="arb-report">(.*?)</script>', text, re.DOTALL)
    assert match is not None
    data: dict[str, Any] = json.loads(match.group(1).replace("<\\/", "</"))
    return data


def inventory_table(page: str) -> list[tuple[str, ...]]:
    """The rows of an ``arb report`` page's table of what inventory cost the run (its heading row
    first), each cell's text unescaped; empty when the page has no such table."""
    if '<h3 id="inventory-cost">' not in page:
        return []
    table = page.split('<h3 id="inventory-cost">', 1)[1].split("</table>", 1)[0]
    return [tuple(html.unescape(cell) for cell in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row))
            for row in re.findall(r"<tr>(.*?)</tr>", table)]  # fmt: skip


def modules_loaded_by(code: str, prefixes: tuple[str, ...]) -> list[str]:
    """The modules whose names start with one of ``prefixes`` that a fresh Python process has loaded
    once it ran ``code``, sorted."""
    probe = f"import sys; {code}; print(sorted(m for m in sys.modules if m.startswith({prefixes!r})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    loaded: list[str] = ast.literal_eval(out.strip())
    return loaded


def rerun_without_jit(test_file: str) -> None:
    """Run the test module ``test_file`` again in a subprocess with ``NUMBA_DISABLE_JIT=1`` and fail unless
    it passes: compiled code must decide as its plain Python does. Skips when already without JIT."""
    if os.environ.get("NUMBA_DISABLE_JIT") == "1":
        pytest.skip("already running without JIT")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", test_file],  # no workers
        cwd=ROOT,
        env={**os.environ, "NUMBA_DISABLE_JIT": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "passed" in done.stdout


class AnsweringExecutor:
    """An engine executor for kernel tests on one symbol: each order a subclass's ``submit`` (or
    ``submit_quote``) makes is appended to ``_answers`` and handed back to the engine when its
    ``respond_ts`` is due, in order; no venue, no book."""

    def __init__(self) -> None:
        self.open_counts = np.zeros((1, 2), np.int64)
        self.unknown_counts = np.zeros(2, np.int64)
        self.blocked_until_ns = np.zeros(2, np.int64)
        self._answers: collections.deque[Any] = collections.deque()

    def on_rows(self, symbol: int, venue: int, rows: Any, now: int) -> None:
        return None

    def next_event_ts(self) -> int | None:
        return int(self._answers[0].respond_ts) if self._answers else None

    def run_until(self, ts: int, on_answer: Any) -> None:
        while self._answers and self._answers[0].respond_ts <= ts:
            on_answer(self._answers.popleft())

    def cancel_all(self, on_answer: Any) -> int:
        self.run_until(2**62, on_answer)
        return 0

    def submit(self, venue: int, side: int, price: float, qty: float, kind: int, pair_id: int, now: int,
               symbol: int = 0, *, reduce_only: bool = False) -> Any:  # fmt: skip
        raise AssertionError(f"{type(self).__name__} sends no immediate-or-cancel order")

    def submit_quote(self, venue: int, side: int, price: float, qty: float, pair_id: int, now: int,
                     symbol: int = 0) -> Any:  # fmt: skip
        raise AssertionError(f"{type(self).__name__} rests no quote")

    def cancel(self, order_id: int, now: int, venue: int = 0) -> bool:
        raise AssertionError(f"{type(self).__name__} cancels nothing")

    def credit(self, venue: int, amount: float) -> None:
        return None

    @property
    def next_order_id(self) -> int:
        raise AssertionError(f"{type(self).__name__} keeps no order numbers")

    def summary(self) -> dict[str, Any]:
        return {"executor": type(self).__name__}

    def depart(self) -> None:
        return None

    async def departed(self) -> None:
        return None
