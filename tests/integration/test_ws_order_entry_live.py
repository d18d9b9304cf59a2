"""``arb live`` end to end with both venue files saying ``order_entry = "websocket"``: a real ``arb``
process trades the standing spread against fake Binance and Bybit spot, every create over the venues'
order WebSockets (none by REST), and the journal settles equal to both ledgers."""

from __future__ import annotations

from pathlib import Path

import pytest

from arb.journal.intent_log import IntentLog
from tests.integration.test_ws_order_entry import socket_answers
from tests.support.live_rig import (
    account,
    assert_journal_settled,
    create_requests,
    interrupted,
    live_trading,
    standing_pair,
    until,
)


@pytest.mark.parametrize("intent_log", [False, True], ids=["journal-full", "intent-log"])
async def test_arb_live_trades_pairs_over_both_order_websockets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, intent_log: bool
) -> None:
    # a real arb live process, both venue files saying order_entry = "websocket": it says so at start,
    # every create goes over the sockets, and the journal settles equal to both ledgers (with the intent
    # log too: every intent it held reached the journal, and it ends empty)
    live = None if intent_log else {"journal_synchronous": "full", "intent_log": False}  # None: as shipped
    async with standing_pair(tmp_path, monkeypatch, order_entry="websocket", live=live) as pair:
        binance, bybit, config, keys = pair
        out = tmp_path / "run"
        async with live_trading(config, out, keys, binance, bybit, symbols=["BTCUSDT"]) as process:
            both = (binance, bybit)
            await until(lambda: all(len(account(v).trades) >= 2 for v in both), process, out, 60, *both)
            stderr = await interrupted(process, out)
        for venue in both:
            assert create_requests(venue) == [] and len(socket_answers(venue)) == len(account(venue).orders) > 0
        for name in ("binance spot", "bybit spot"):
            assert f"{name}: orders go over the WebSocket ws://127.0.0.1:" in stderr
        assert_journal_settled(tmp_path, {"binance": binance, "bybit": bybit})
        if intent_log:
            assert IntentLog(tmp_path / "live" / "main.intents").records() == []
