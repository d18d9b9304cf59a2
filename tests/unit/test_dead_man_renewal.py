"""A dead-man's switch renewal lands before its keeper ends: a stop that cancels the keeper mid-renewal waits
for the renewal's answer, so the disarm that follows reaches the venue after it
(``connectors.common.ccxt_venue.landed``); the keeper renews every turn until the link stops, a refused renewal
again at the next turn (``renew_until_stopped``)."""

from __future__ import annotations

import asyncio
import functools

import pytest

from connectors.common.ccxt_venue import landed, renew_until_stopped
from tests.unit.private_link import ScriptedLink, refusal


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


async def test_renewals_go_every_turn_a_refused_one_again_at_the_next_until_the_link_stops() -> None:
    link = ScriptedLink({"countdown": [refusal("-1001"), {}], "other": [{}, {}]})

    async def last() -> object:
        answer = await link.request("other", {})
        if len(link.requests) == 4:  # the second turn's last renewal
            link.stop()
        return answer

    renewals = [("countdown", functools.partial(link.request, "countdown", {})), ("other", last)]
    await renew_until_stopped(link, "test", renewals, 0.0, armed=False)
    assert link.methods == ["countdown", "other", "countdown", "other"]


async def test_a_switch_just_armed_is_renewed_a_pause_later(monkeypatch: pytest.MonkeyPatch) -> None:
    link, seen = ScriptedLink({"countdown": [{}]}), []
    sleep = asyncio.sleep

    async def pause(seconds: float) -> None:
        seen.append(f"pause {seconds}")
        if len(link.requests) == 1:
            link.stop()
        await sleep(0)

    async def renew() -> object:
        seen.append("renewal")
        return await link.request("countdown", {})

    monkeypatch.setattr(asyncio, "sleep", pause)
    await renew_until_stopped(link, "test", [("countdown", renew)], 2.5, armed=True)
    assert seen == ["pause 2.5", "renewal", "pause 2.5"]
