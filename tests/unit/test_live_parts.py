"""``arb.execution.live_parts.patient``: a ccxt client waits at least the market load's time inside the block, and
its own ``request_timeout_ms`` again after it, however the block ends."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from arb.execution.live_parts import MARKETS_TIMEOUT_MS, patient


def test_a_short_timeout_is_raised_inside_the_block_and_restored_after() -> None:
    client = SimpleNamespace(timeout=300)
    with patient(client):
        assert client.timeout == MARKETS_TIMEOUT_MS
    assert client.timeout == 300


def test_a_longer_timeout_is_left_as_it_is_and_an_error_restores_it() -> None:
    client = SimpleNamespace(timeout=30_000)
    with patient(client):
        assert client.timeout == 30_000
    short = SimpleNamespace(timeout=300)
    with pytest.raises(RuntimeError), patient(short):
        raise RuntimeError("the venue did not answer")
    assert short.timeout == 300
