"""``connectors.common.ccxt_venue.landed``: a dead-man's switch renewal runs to its answer even when the task that
sent it is cancelled meanwhile, then the cancellation goes through; a renewal that fails then is read and logged (left
unread, asyncio reports it with a traceback when the task is collected)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from connectors.common.ccxt_venue import landed


async def _cancelled_mid_request(outcome: BaseException | None) -> list[str]:
    sent, answer = asyncio.Event(), asyncio.Event()
    seen: list[str] = []

    async def renewal() -> str:
        sent.set()
        await answer.wait()
        if outcome is not None:
            raise outcome
        seen.append("answered")
        return "ok"

    task = asyncio.ensure_future(landed(renewal()))
    await sent.wait()
    task.cancel()
    answer.set()  # the venue answers after the cancel
    with pytest.raises(asyncio.CancelledError):
        await task
    return seen


async def test_a_renewal_cancelled_after_it_left_is_answered_before_the_cancel_goes_through() -> None:
    assert await _cancelled_mid_request(None) == ["answered"]


async def test_a_renewal_that_fails_after_the_cancel_is_read_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        assert await _cancelled_mid_request(RuntimeError("venue said no")) == []
    said = [r.getMessage() for r in caplog.records]
    assert said == ["a dead-man's switch renewal sent as arb stopped failed: venue said no"]


async def test_without_a_cancel_the_answer_and_the_error_are_the_callers() -> None:
    async def answered() -> str:
        return "ok"

    async def refused() -> str:
        raise RuntimeError("refused")

    assert await landed(answered()) == "ok"
    with pytest.raises(RuntimeError, match="refused"):
        await landed(refused())
