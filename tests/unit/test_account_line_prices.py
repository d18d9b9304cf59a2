"""The inventory the account line, the dashboard and the metrics show (``engine_inventory``): a pair's buy leg
priced at the venue's best ask, else at its last mid (its book gone at the end of a session, or out of sync), and
unknown only for a venue never priced."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from arb.config import load_config
from arb.live.account_lines import engine_inventory, pairs_left_line
from tests.support.captures import ROOT

if TYPE_CHECKING:
    from arb.live.engine import Engine


def _engine() -> Engine:
    from arb.live.engine import Engine

    return Engine(load_config(ROOT / "config" / "arbitrage.toml"))


def test_a_venue_without_an_ask_is_priced_at_its_last_mid_and_one_never_priced_is_unknown() -> None:
    engine = _engine()
    engine.views["ask_px"][:, :, 0] = 60000.0
    priced = pairs_left_line(engine_inventory(engine))
    assert "?" not in priced

    engine.views["ask_px"][:, :, 0] = np.nan  # the books gone: the feeds stopped
    engine.last_mid[:] = 60000.0
    assert pairs_left_line(engine_inventory(engine)) == priced

    engine.last_mid[:] = np.nan  # never priced
    assert pairs_left_line(engine_inventory(engine)) == "left buy binance ? | buy bybit ?"
