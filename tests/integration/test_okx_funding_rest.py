"""The OKX swap's funding rate by REST at connect: the real feed against the fake OKX on 127.0.0.1.

OKX pushes ``funding-rate`` every 30 to 90 s; a start just before a funding time would see that funding pass
only if it knew the funding time and its rate before the next push. The feed asks
``GET /api/v5/public/funding-rate`` on each connection (after the instruments answer, before subscribing),
hands the body to the normalizer as one more payload of the swap's stream (recorded, so a recording replays
it to the same rows) and reads it as a push. A failed answer is logged with its body, counted and skipped.

The recording is the OKX feed tests' (``okx_recording``): a ``funding-rate`` push at its start announcing the
funding 2 s in (``FUNDING_MS``), and one after it announcing the next; the venue replays it frame by frame, so
nothing waits on a clock.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from arb.events import FUNDING_RATE_EVENT, FUNDING_SETTLED_EVENT, NS_PER_MS, EventArray
from arb.recording.convert import convert_files
from arb.recording.recorder import Recorder
from connectors.common.feed_parts import FeedBatch
from connectors.common.record_files import LineReader
from connectors.okx.urls import FUNDING_RATE_PATH
from tests.integration.test_feeds_okx import START_MS, SWAP, book_stream, okx_recording, okx_rig, start_synced
from tests.support.captures import kind_of, local_side, perp_rows
from tests.support.feed_rig import drain, running

FUNDING_STREAM = f"funding-rate:{SWAP}"
FUNDING_MS = START_MS + 2_000
"""The funding time the recording's first push announces (then the one 4 h later)."""


def _rows(batches: list[FeedBatch]) -> EventArray:
    return np.concatenate([b.rows for b in batches])


def _requests(rig: object) -> list[str]:
    return [r.path for r in rig.venue.stats.rest_requests]  # type: ignore[attr-defined]


async def test_the_rate_comes_by_rest_before_any_push_and_the_funding_passing_is_settled_once(
    tmp_path: Path,
) -> None:
    path = okx_recording(tmp_path / "swap.gz")
    recorder = Recorder(tmp_path / "rec")
    async with okx_rig(tmp_path, path, recorder=recorder, start=False) as rig:
        rig.venue.faults.drop(FUNDING_STREAM, at=0)  # the push before the funding time never comes
        async with running(rig.feed):
            await rig.venue.wait_for_subscription(book_stream("linear"))
            # subscribed, nothing released yet: the rate is known, from REST
            assert _requests(rig)[:2] == ["/api/v5/public/instruments", FUNDING_RATE_PATH]
            assert rig.venue.stats.rest_requests[1].params == {"instId": SWAP}
            first = _rows(drain(rig.queue))
            [row] = first
            assert (row["ev"], row["px"], row["ival"]) == (FUNDING_RATE_EVENT, 0.0001, FUNDING_MS * NS_PER_MS)
            assert row["order_id"] == 4 * 3_600_000 * NS_PER_MS and rig.feed.funding_rest_failures == 0
            await start_synced(rig)
            await rig.deliver(extra=2)  # (the feed read the instruments and funding answers besides the frames)
            # the push after the funding time: the settlement, once, at REST's rate
            live = perp_rows(np.concatenate([first, _rows(drain(rig.queue))]))
            normalizer = rig.normalizer
            assert normalizer.stats.funding_rollovers == 1 and normalizer.stats.decode_errors == 0
            assert _requests(rig).count(FUNDING_RATE_PATH) == 1  # asked once, at connect
    recorder.close()
    settled = live[kind_of(live) == FUNDING_SETTLED_EVENT]
    assert [(s["px"], s["ival"]) for s in settled] == [(0.0001, FUNDING_MS * NS_PER_MS)]
    # the recording holds the REST body in the swap's stream: converted, it gives the rows the feed published
    [recorded_path] = recorder.paths
    assert sum(line.startswith(b'{"code"') for _, line in LineReader(recorded_path)) == 2  # instruments, funding
    recorded = convert_files([recorded_path], venue="okx", market="linear", local_offset_ns=0, with_eod=False).rows
    assert perp_rows(local_side(recorded, published=True)).tobytes() == live.tobytes()


@pytest.mark.parametrize(
    ("fault", "shown"),
    [
        ("429", '"code":"50011"'),
        ("refused", '"code":"51001"'),
        ("malformed", '{"code":"0"'),
        ("503", "50001"),
        ("empty", '"data":[]'),
    ],
)
async def test_a_failed_funding_answer_is_logged_counted_and_skipped_and_the_push_gives_the_rate(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, fault: str, shown: str
) -> None:
    caplog.set_level(logging.WARNING, logger="connectors.okx.feed")
    async with okx_rig(tmp_path, okx_recording(tmp_path / "swap.gz"), start=False) as rig:
        faults = rig.venue.faults
        if fault == "empty":  # what the fake answers for a swap whose recording has no funding-rate push
            faults.rest_error(200, body=b'{"code":"0","msg":"","data":[]}', path=FUNDING_RATE_PATH)
        elif fault == "malformed":
            faults.rest_malformed(path=FUNDING_RATE_PATH)
        elif fault == "refused":
            faults.rest_error(400, 51001, "Instrument ID doesn't exist.", path=FUNDING_RATE_PATH)
        else:
            faults.rest_error(int(fault), path=FUNDING_RATE_PATH)
        async with running(rig.feed):
            await rig.venue.wait_for_subscription(book_stream("linear"))
            assert rig.feed.funding_rest_failures == 1 and drain(rig.queue) == []  # nothing from it
            [line] = [r.getMessage() for r in caplog.records if "no funding rate" in r.getMessage()]
            assert shown in line and rig.feed.stats.connects == 1  # the answer as received; the feed goes on
            await start_synced(rig)
            await rig.venue.advance_until(lambda f: f.stream == FUNDING_STREAM)  # the channel's first push
            await rig.feed.wait_until(lambda: rig.normalizer.stats.mark_messages == 1)  # its rate
            rows = _rows(drain(rig.queue))
            assert (kind_of(rows) == FUNDING_RATE_EVENT).sum() == 1
            assert rig.normalizer.stats.decode_errors == 0  # the failed answer never reached the stream
