"""Local fakes of the alert services, on 127.0.0.1 (port 0), each in a thread of its own.

Every fake records what it received (bounded), can be scripted to answer "too many requests" or to
hang, and is waited on by condition, never by sleeping::

    with FakeTelegram() as telegram:                 # a Bot API on http://127.0.0.1:PORT
        telegram.rate_limit(calls=1, retry_after=3)  # the next call: 429 with retry_after 3
        ...                                          # point [alerts.telegram] base_url at telegram.base_url
        telegram.wait_for(1, timeout_s=30)           # the messages, once one has arrived

    with FakeWebhook() as hook:                      # hook.url: http://127.0.0.1:PORT/hooks/<secret>
        hook.hang()                                  # requests are held until the fake stops
    with FakeSmtp() as smtp:                         # aiosmtpd on 127.0.0.1; smtp.port
        smtp.wait_for(1)                             # EmailMessage objects

The HTTP fakes run aiohttp in their own thread and loop, so the code under test (a thread with its
own loop) and a plain synchronous test can both use them.
"""

from __future__ import annotations

__all__ = ["FakeSmtp", "FakeTelegram", "FakeWebhook", "Recorder"]

import asyncio
import email
import email.policy
import threading
import time
from collections import deque
from collections.abc import Callable
from email.message import EmailMessage
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from arb.ops.server import OpsServer
from arb.waiting import SharedConditions, wait_set

_HOST = "127.0.0.1"
T = TypeVar("T")


class Recorder(Generic[T]):
    """A bounded, thread-safe list of what a fake received, with waiting by condition: blocking
    (:meth:`wait_for`) or on an event loop (:meth:`wait_until`)."""

    def __init__(self, maxlen: int = 1000) -> None:
        self._items: deque[T] = deque(maxlen=maxlen)
        self._cond = threading.Condition()
        self._waiters = SharedConditions()
        self.total = 0  # received, including those that fell out of the bounded list

    def add(self, item: T) -> None:
        with self._cond:
            self._items.append(item)
            self.total += 1
            self._cond.notify_all()
        self._waiters.notify()

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Return once ``predicate()`` is true: asked now and, on the caller's loop, after each item
        received (in the fake's thread)."""
        await self._waiters.wait_until(predicate)

    def items(self) -> list[T]:
        with self._cond:
            return list(self._items)

    def wait_for(self, n: int, timeout_s: float = 30.0) -> list[T]:
        """The items once at least ``n`` were received; ``TimeoutError`` after ``timeout_s`` (a bound on a
        test that hangs: a busy machine delivers late, not never)."""
        with self._cond:
            if not self._cond.wait_for(lambda: self.total >= n, timeout_s):
                raise TimeoutError(f"{self.total} of {n} received within {timeout_s:g} s")
            return list(self._items)

    def wait_for_match(self, match: Callable[[T], bool], timeout_s: float = 30.0) -> T:
        """The first item kept for which ``match`` holds, once one was received; ``TimeoutError`` after
        ``timeout_s`` (as :meth:`wait_for`)."""
        with self._cond:
            if not self._cond.wait_for(lambda: any(match(item) for item in self._items), timeout_s):
                raise TimeoutError(f"no matching item in the {self.total} received within {timeout_s:g} s")
            return next(item for item in self._items if match(item))


class _Started:
    """A fake that a ``with`` block starts and stops."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


class _HttpFake(_Started):
    """An aiohttp app served on 127.0.0.1 (port 0) from its own thread (an :class:`OpsServer`)."""

    def __init__(self, name: str) -> None:
        self._server = OpsServer(_HOST, 0, [self._setup], name=name, shutdown_timeout_s=0.5)
        self._release: asyncio.Event | None = None  # set on stop: hanging requests end
        self._lock = threading.Lock()
        self._limited: list[tuple[int, float, bool]] = []  # (calls left, retry_after, header) scripts, in order
        self._hang = False
        self.calls: Recorder[int] = Recorder()  # the monotonic ns of every request, answered or not

    @property
    def base_url(self) -> str:
        return self._server.url

    def rate_limit(self, calls: int, retry_after: float, *, header: bool = True) -> None:
        """Answer the next ``calls`` requests with 429 and ``retry_after`` (seconds); ``header``:
        also as a ``Retry-After`` header where the service sends one (the webhook)."""
        with self._lock:
            self._limited.append((calls, retry_after, header))

    def hang(self, on: bool = True) -> None:
        """Hold every request (no answer) until :meth:`hang` ``(False)`` or the fake stops."""
        with self._lock:
            self._hang = on

    def _routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def _setup(self, app: web.Application) -> None:
        # The server's setup: the fake's routes, and what its stopping ends.
        self._release = asyncio.Event()
        self._routes(app)
        app.on_shutdown.append(self._on_shutdown)

    async def _on_shutdown(self, app: web.Application) -> None:
        self._shut()

    async def _gate(self) -> tuple[float, bool] | None:
        # every request passes here: count it, hang if told to, and say whether to answer 429
        self.calls.add(time.monotonic_ns())
        with self._lock:
            hang = self._hang
        if hang and self._release is not None:
            await self._release.wait()
        with self._lock:
            if self._limited:
                left, retry_after, header = self._limited[0]
                if left <= 1:
                    self._limited.pop(0)
                else:
                    self._limited[0] = (left - 1, retry_after, header)
                return retry_after, header
        return None

    def start(self, timeout_s: float = 10.0) -> None:
        self._server.start(timeout_s)

    def stop(self, timeout_s: float = 10.0) -> None:
        self._server.stop(timeout_s)

    def _shut(self) -> None:
        # The server is stopping (its loop): held requests end.
        if self._release is not None:
            self._release.set()


class FakeTelegram(_HttpFake):
    """The Bot API's ``sendMessage`` for one token: ``messages`` records ``{"chat_id", "text"}``.

    And ``getUpdates``, for a bot that takes commands: :meth:`say` puts a message from a chat in the
    bot's updates (``{"update_id": n, "message": {"message_id": n, "date": ..., "chat": {"id": ...,
    "type": "private"}, "from": {...}, "text": ...}}``). ``getUpdates`` answers the updates from
    ``offset`` on (``-1``: the newest alone) and forgets those before it (confirmed, as the Bot API
    does); with none, it holds the request until one comes or ``timeout`` seconds pass (long polling).
    ``polls`` records each request's ``(offset, timeout)``.

    A 429 answer is the Bot API's: ``{"ok": false, "error_code": 429, "description": "Too Many
    Requests: retry after N", "parameters": {"retry_after": N}}``. A request for another token gets
    401 ``{"ok": false, "error_code": 401, "description": "Unauthorized"}``.
    """

    def __init__(self, token: str = "123456:TEST-token_abc", *, max_messages: int = 1000) -> None:
        super().__init__("fake-telegram")
        self.token = token
        self.messages: Recorder[dict[str, Any]] = Recorder(max_messages)
        self.polls: Recorder[tuple[int, int]] = Recorder()
        self._updates: list[dict[str, Any]] = []
        self._next_update = 1
        self._arrived: asyncio.Event | None = None  # set when say() adds an update (the fake's loop)

    def wait_for(self, n: int, timeout_s: float = 30.0) -> list[dict[str, Any]]:
        return self.messages.wait_for(n, timeout_s)

    def say(self, text: str, *, chat_id: int = 4242, date: int | None = None) -> int:
        """A message to the bot from ``chat_id`` (now, or at ``date`` in Unix seconds); its update id."""
        return self.say_raw({
            "date": int(time.time()) if date is None else date, "chat": {"id": chat_id, "type": "private"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "ops"}, "text": text,
        })  # fmt: skip

    def say_raw(self, message: Any) -> int:
        """An update whose ``message`` is this value as it is (a malformed one, for the client's sake)."""
        with self._lock:
            n = self._next_update
            self._next_update += 1
            if isinstance(message, dict):
                message = {"message_id": n, **message}
            self._updates.append({"update_id": n, "message": message})
        arrived = self._arrived
        if arrived is not None:
            self._server.call_soon(arrived.set)
        return n

    def _routes(self, app: web.Application) -> None:
        app.router.add_post("/bot{token}/sendMessage", self._send_message)
        app.router.add_post("/bot{token}/getUpdates", self._get_updates)

    def _shut(self) -> None:
        if self._arrived is not None:  # a held long poll answers (nothing) before the server closes
            self._arrived.set()
        super()._shut()

    def _pending(self, offset: int) -> list[dict[str, Any]]:
        with self._lock:
            if offset < 0:
                return self._updates[-1:]
            self._updates = [u for u in self._updates if u["update_id"] >= offset]  # the rest are confirmed
            return list(self._updates)

    async def _refusal(self, request: web.Request) -> web.Response | None:
        """The Bot API's answer when this request is refused (401 for another token, 429 while rate
        limited); ``None`` when it is served. Every request passes the gate (counted, held if hanging)."""
        limited = await self._gate()
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        if limited is not None:
            n = int(limited[0])
            answer = {"ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {n}",
                      "parameters": {"retry_after": n}}  # fmt: skip
            return web.json_response(answer, status=429)
        return None

    async def _get_updates(self, request: web.Request) -> web.Response:
        body = await request.json()
        refused = await self._refusal(request)
        if refused is not None:
            return refused
        offset, timeout = int(body.get("offset", 0)), int(body.get("timeout", 0))
        self.polls.add((offset, timeout))
        if self._arrived is None:
            self._arrived = asyncio.Event()
        updates = self._pending(offset)
        if not updates and timeout > 0:
            self._arrived.clear()
            updates = self._pending(offset)  # one that came between the look and the clear
            if not updates:
                await wait_set(self._arrived, timeout)
                updates = self._pending(offset)
        return web.json_response({"ok": True, "result": updates})

    async def _send_message(self, request: web.Request) -> web.Response:
        body = await request.json()  # read before a scripted hang: the client may give up meanwhile
        refused = await self._refusal(request)
        if refused is not None:
            return refused
        text = str(body.get("text", ""))
        if not 1 <= len(text.encode("utf-16-le")) // 2 <= 4096:
            return web.json_response({"ok": False, "error_code": 400,
                                      "description": "Bad Request: message is too long"}, status=400)  # fmt: skip
        self.messages.add({"chat_id": str(body.get("chat_id", "")), "text": text})
        result = {"message_id": self.messages.total, "date": int(time.time()), "text": text}
        return web.json_response({"ok": True, "result": result})


class FakeWebhook(_HttpFake):
    """A Slack/Discord-style incoming webhook at ``url``; ``bodies`` records the JSON bodies.

    Rate limited: 429 with a ``Retry-After`` header and a JSON ``{"retry_after": s}`` (Discord's
    shape), both in seconds; ``rate_limit(..., header=False)`` leaves the header out. Answers 204
    (as Discord does) when accepted.
    """

    def __init__(self, secret: str = "T000/B000/XXXXsecret", *, max_messages: int = 1000) -> None:
        super().__init__("fake-webhook")
        self.secret = secret
        self.bodies: Recorder[dict[str, Any]] = Recorder(max_messages)

    @property
    def url(self) -> str:
        return f"{self.base_url}/hooks/{self.secret}"

    def wait_for(self, n: int, timeout_s: float = 30.0) -> list[dict[str, Any]]:
        return self.bodies.wait_for(n, timeout_s)

    def _routes(self, app: web.Application) -> None:
        app.router.add_post("/hooks/{secret:.+}", self._hook)

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.json()  # read before a scripted hang: the client may give up meanwhile
        limited = await self._gate()
        if request.match_info["secret"] != self.secret:
            return web.Response(status=404, text="no such webhook")
        if limited is not None:
            retry_after, header = limited
            headers = {"Retry-After": f"{retry_after:g}"} if header else {}
            return web.json_response({"message": "You are being rate limited.", "retry_after": retry_after},
                                     status=429, headers=headers)  # fmt: skip
        self.bodies.add(body)
        return web.Response(status=204)


class _PortZeroController(Controller):
    # aiosmtpd's Controller checks it is up by connecting to the port it was given; with port 0 that
    # is the port it was bound to
    def _trigger_server(self) -> None:
        server: Any = self.server  # an asyncio.Server once bound: it has the sockets
        self.port = int(server.sockets[0].getsockname()[1])
        super()._trigger_server()  # type: ignore[no-untyped-call]  # aiosmtpd leaves it unannotated


class FakeSmtp(_Started):
    """An SMTP server (aiosmtpd) on 127.0.0.1, port 0: ``messages`` records the parsed mails and
    ``envelopes`` (mail_from, rcpt_tos). No TLS and no login: send with ``security = "none"``."""

    def __init__(self, *, max_messages: int = 1000) -> None:
        self.messages: Recorder[EmailMessage] = Recorder(max_messages)
        self.envelopes: Recorder[tuple[str, list[str]]] = Recorder(max_messages)
        # up within 30 s, not aiosmtpd's 5 s: a busy machine starts the thread late
        self._controller = _PortZeroController(self, hostname=_HOST, port=0, ready_timeout=30.0)
        self.port = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        content = envelope.original_content or b""
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.envelopes.add((str(envelope.mail_from), [str(r) for r in envelope.rcpt_tos]))
        self.messages.add(message)
        return "250 OK"

    def wait_for(self, n: int, timeout_s: float = 30.0) -> list[EmailMessage]:
        return self.messages.wait_for(n, timeout_s)

    def start(self) -> None:
        self._controller.start()
        self.port = int(self._controller.port)

    def stop(self) -> None:
        self._controller.stop()
