"""A scripted :class:`~connectors.common.private.PrivateLink` for the venue adapters' unit tests.

Each request is answered from a table, method name -> the answers in order (a body, or an exception to
raise), and remembered, so a test checks both what an adapter asked and what it made of the answer,
without a socket. REST bodies come from ccxt's recorded responses (``tests/fixtures/*.response.subset.json``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from arb.errors import VenueError
from tests.support.captures import FIXTURES


def bodies(venue: str, method: str) -> list[Any]:
    """The recorded venue bodies of ccxt's unified ``method`` (``"fetchOrder"``) for ``venue``."""
    data = json.loads((FIXTURES / f"{venue}.response.subset.json").read_text())
    return [entry["httpResponse"] for entry in data["methods"][method]]


def refusal(code: str, message: str = "refused") -> VenueError:
    """What the executor raises when the venue refuses a request with ``code``."""
    return VenueError("test venue", f"GET /x was refused: {code} {message}", "the test", code=code)


class ScriptedLink:
    """Answers each request by method from ``answers`` (one answer used per request, in order)."""

    def __init__(self, answers: Mapping[str, list[Any]] | None = None, *, exchange: Any = None) -> None:
        self.answers = {method: list(queue) for method, queue in (answers or {}).items()}
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.hints: list[str] = []
        self._exchange = exchange
        self._stopping = False

    @property
    def name(self) -> str:
        return "test venue"

    @property
    def exchange(self) -> Any:
        return self._exchange

    @property
    def order_entry(self) -> None:
        return None  # orders by REST, as a venue file without order_entry = "websocket"

    @property
    def stopping(self) -> bool:
        return self._stopping

    @property
    def known_client_ids(self) -> list[str]:
        return []

    def stop(self) -> None:
        self._stopping = True

    async def request(self, method: str, params: Mapping[str, Any], *, hint: str = "") -> Any:
        self.requests.append((method, dict(params)))
        self.hints.append(hint)
        queue = self.answers.get(method)
        if not queue:
            raise AssertionError(f"unexpected request {method} {dict(params)}")
        answer = queue.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    @property
    def methods(self) -> list[str]:
        """The methods requested, in order."""
        return [method for method, _ in self.requests]
