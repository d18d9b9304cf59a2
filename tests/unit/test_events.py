"""arb's event vocabulary states hftbacktest's flags and row layout instead of importing them (a process
that converts or replays rows then never loads hftbacktest): they must be hftbacktest's, bit for bit."""

from __future__ import annotations

import hftbacktest.types as hbt
import numpy as np

import arb.events as events
from tests.support.captures import modules_loaded_by

FLAGS = (
    "DEPTH_EVENT",
    "TRADE_EVENT",
    "DEPTH_CLEAR_EVENT",
    "DEPTH_SNAPSHOT_EVENT",
    "DEPTH_BBO_EVENT",
    "EXCH_EVENT",
    "LOCAL_EVENT",
    "BUY_EVENT",
    "SELL_EVENT",
)


def test_the_flags_and_the_row_layout_are_hftbacktests() -> None:
    for name in FLAGS:
        assert getattr(events, name) == getattr(hbt, name), name
    assert events.event_dtype == hbt.event_dtype
    assert events.event_dtype.descr == hbt.event_dtype.descr
    assert (events.event_dtype.itemsize, events.event_dtype.isalignedstruct) == (64, True)
    rows = np.zeros(3, events.event_dtype)
    assert rows.view(hbt.event_dtype).dtype == hbt.event_dtype  # hftbacktest takes arb's rows as they are


def test_converting_does_not_import_hftbacktest() -> None:
    assert modules_loaded_by("import arb.recording.convert, arb.book, arb.events", ("hftbacktest",)) == []
