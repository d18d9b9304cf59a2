"""A dead-man's switch renewal lands before its keeper ends: a stop that cancels the keeper mid-renewal waits
for the renewal's answer, so the disarm that follows reaches the venue after it
(``connectors.common.ccxt_venue.landed``)."""

from __future__ import annotations

import asyncio

import pytest

from connectors.common.ccxt_venue import landed


async def test_a_keeper_cancelled_mid_renewal_ends_only_once_the_renewal_is_answered() -> None:
    sent, answer = asyncio.Event(), asyncio.Event()
    order: list[str] = []

    async def renewal() -> str:
        sent.set()
        await answer.wait()  # the venue answers when the test says
        order.append("renewal answered")
        return "ok"

    keeper = asyncio.create_task(landed(renewal()))
    await sent.wait()
    keeper.cancel()  # the stop, while the renewal is on its way
    await asyncio.sleep(0)  # the cancellation is delivered (one turn of the loop, not a wait for time)
    assert not keeper.done()  # still waiting for the answer
    answer.set()
    with pytest.raises(asyncio.CancelledError):
        await keeper
    order.append("keeper ended")
    assert order == ["renewal answered", "keeper ended"]


async def test_an_uncancelled_renewal_returns_its_answer() -> None:
    async def renewal() -> str:
        return "ok"

    assert await landed(renewal()) == "ok"
