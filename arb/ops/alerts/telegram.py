"""The Telegram channel: messages through the Bot API's ``sendMessage``, and the commands a person
sends the bot from the configured chat (``[alerts.telegram] commands``): ``/status``, ``/kill``."""

from __future__ import annotations

__all__ = [
    "COMMAND_POLL_S",
    "KILL_CONFIRM_NS",
    "TELEGRAM_MAX_CHARS",
    "TelegramCommands",
    "TelegramSender",
    "status_text",
]

import logging
from collections.abc import Awaitable, Callable
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Final

from arb.events import NS_PER_S
from arb.ops.alerts.channels import (
    DEFAULT_RETRY_AFTER_NS,
    RETRY_BACKOFF_NS,
    HttpSender,
    RateLimitedError,
    SendError,
    classify_http,
    retry_after_ns,
)
from arb.ops.alerts.model import Alert, AlertKind, money_change
from arb.ops.snapshot import Snapshot

log = logging.getLogger(__package__)  # "arb.ops.alerts": one logger for every part of the alerts

TELEGRAM_MAX_CHARS: Final = 4096  # sendMessage's text limit (UTF-16 code units)
COMMAND_POLL_S: Final = 25  # getUpdates long polling: how long the Bot API may hold a request
KILL_CONFIRM_NS: Final = 60 * NS_PER_S  # "/kill confirm" within this of "/kill"


class TelegramSender(HttpSender):
    """``POST {base_url}/bot{token}/sendMessage`` with JSON ``chat_id`` and ``text``.

    Answers (Bot API): ``{"ok": true, "result": {...}}``; rate limited, HTTP 429
    ``{"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 3",
    "parameters": {"retry_after": 3}}`` (whole seconds).
    """

    name = "telegram"
    max_chars = TELEGRAM_MAX_CHARS

    def __init__(self, *, token: str, chat_id: str, base_url: str, route: str, min_interval_ns: int,
                 timeout_ns: int, commands: bool = False) -> None:  # fmt: skip
        super().__init__(route=route, min_interval_ns=min_interval_ns, timeout_ns=timeout_ns)
        self._token = token
        self.chat_id = chat_id
        self.commands = commands
        self._url = f"{base_url.rstrip('/')}/bot{token}/sendMessage"
        self._updates_url = f"{base_url.rstrip('/')}/bot{token}/getUpdates"

    async def get_updates(self, offset: int, timeout_s: int) -> list[dict[str, Any]]:
        """``POST getUpdates`` with ``offset`` (updates before it are confirmed, so never sent again;
        ``-1``: the newest alone) and ``timeout`` (long polling: the answer comes when a message does,
        or after ``timeout_s``): ``{"ok":true,"result":[{"update_id":7,"message":{"chat":{"id":4242},
        "date":1795348800,"text":"/status",...}}]}``. Raises :class:`RateLimitedError` or :class:`SendError`."""
        body = {"offset": offset, "timeout": timeout_s, "allowed_updates": ["message"]}
        status, answer, header = await self._post(self._updates_url, body, timeout_s + self.timeout_ns / NS_PER_S)
        outcome = classify_http(status)
        if outcome == "ok" and isinstance(answer, dict) and answer.get("ok") is True:
            result = answer.get("result")
            return [u for u in result if isinstance(u, dict)] if isinstance(result, list) else []
        raise self._refused(outcome, status, answer, header, "getUpdates: ")

    def redact(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

    async def deliver(self, text: str, subject: str) -> None:
        status, answer, header = await self._post(self._url, {"chat_id": self.chat_id, "text": text})
        outcome = classify_http(status)
        if outcome == "ok" and isinstance(answer, dict) and answer.get("ok") is True:
            return
        raise self._refused(outcome, status, answer, header)

    def _refused(self, outcome: str, status: int, answer: Any, header: str | None, what: str = "") -> Exception:
        # A Bot API answer that is not a success: a rate limit waits the answer's retry_after (else the
        # header's), anything else fails with the API's description
        if outcome == "rate_limited":
            params = answer.get("parameters") if isinstance(answer, dict) else None
            wait = retry_after_ns(params.get("retry_after")) if isinstance(params, dict) else None
            return RateLimitedError(wait if wait is not None else retry_after_ns(header) or DEFAULT_RETRY_AFTER_NS)
        description = str(answer.get("description", "")) if isinstance(answer, dict) else ""
        reason = self.redact(f"{what}HTTP {status}" + (f": {description}" if description else ""))
        return SendError(reason, retryable=outcome == "retry")


def status_text(snapshot: Snapshot | None, mode: str) -> str:
    """A running process in a few lines, for a phone: what it trades, halts and pauses, equity and PnL,
    each venue's position and orders, and any feed that is not well."""
    if snapshot is None:
        return f"{mode}: starting (no snapshot yet)"
    lines = [f"{snapshot.mode} {snapshot.symbol}: " + (f"HALTED ({snapshot.halted})" if snapshot.halted
             else f"PAUSED ({snapshot.paused})" if snapshot.paused else "trading")]  # fmt: skip
    if snapshot.accounts:
        q = snapshot.quote_currency
        lines.append(f"equity {money_change(snapshot.equity, q)}, PnL {money_change(snapshot.pnl, q)}, fees "
                     f"{money_change(snapshot.fees, q)}, pairs {snapshot.pairs}")  # fmt: skip
    for state in snapshot.symbols:
        positions = ", ".join(f"{a.venue} {a.position:+g}" for a in state.accounts)
        orders = sum(a.open_orders for a in state.accounts)
        lines.append(f"{state.symbol}: {positions}; open orders {orders}" + ("; NAKED LEG" if state.naked else ""))
    unwell = [f"{f.venue} {f.symbol} " + ("disconnected" if not f.connected else "stale" if f.stale else "not synced")
              for f in snapshot.feeds if not f.connected or f.stale or not f.synced]  # fmt: skip
    lines.append("feeds: " + ("; ".join(unwell) if unwell else "all connected and synced"))
    return "\n".join(lines)


@dataclass(eq=False)
class TelegramCommands:
    """The commands of one Telegram channel: long-polls the bot's messages (``getUpdates``) and answers
    those from the configured chat through ``answer`` (the channel's queue: its pacing, its retries).

    ``/status``: the latest snapshot in a few lines (:func:`status_text`); ``/kill`` then
    ``/kill confirm`` within a minute: the kill switch ``kill()`` returns (``arb live``'s; None
    elsewhere); anything else: the list of commands. Messages from other chats are logged and not
    answered; messages sent before ``started_s`` (the process's start, Unix seconds) are skipped,
    never obeyed. ``clock``: int64 ns; ``sleep``: how it waits, in ns.
    """

    sender: TelegramSender
    _: KW_ONLY
    mode: str
    latest: Callable[[], Snapshot | None]
    answer: Callable[[Alert], None]
    kill: Callable[[], Callable[[], None] | None]
    clock: Callable[[], int]
    sleep: Callable[[int], Awaitable[None]]
    started_s: int
    poll_s: int = COMMAND_POLL_S
    _kill_asked_ns: int | None = field(default=None, init=False)

    async def run(self) -> None:
        """Read and answer the bot's messages until cancelled."""
        sender = self.sender
        offset = 0
        skipped = False
        while True:
            try:
                if not skipped:  # what was sent while arb was not running is confirmed unread
                    newest = await sender.get_updates(-1, 0)
                    ids = [u.get("update_id") for u in newest]
                    offset = max((i + 1 for i in ids if isinstance(i, int) and not isinstance(i, bool)), default=0)
                    skipped = True
                    continue
                updates = await sender.get_updates(offset, self.poll_s)
            except RateLimitedError as limited:
                await self.sleep(limited.retry_after_ns)
                continue
            except (SendError, TimeoutError) as error:
                log.warning("alerts: reading telegram commands failed: %s", sender.redact(str(error)))
                await self.sleep(RETRY_BACKOFF_NS[-1])
                continue
            for update in updates:
                update_id = update.get("update_id")
                if not isinstance(update_id, int) or isinstance(update_id, bool):
                    log.warning("alerts: a telegram update without an update_id skipped: %.500r", update)
                    continue
                offset = max(offset, update_id + 1)
                try:
                    answer = self.command(update)
                except Exception:  # one bad message must not end the commands (or the alerts)
                    log.exception("alerts: a telegram command failed: %.500r", update)
                    continue
                if answer is not None:
                    self.answer(answer)

    def command(self, update: dict[str, Any]) -> Alert | None:
        """The answer to one update (None: not a message to answer)."""
        chat_id = self.sender.chat_id
        message = update.get("message")
        if not isinstance(message, dict) or not isinstance(message.get("text"), str):
            return None
        chat = message.get("chat")
        sender_chat = str(chat.get("id", "")) if isinstance(chat, dict) else ""
        if sender_chat != chat_id:
            log.warning("alerts: a telegram command from chat %s ignored: only chat %s is obeyed", sender_chat, chat_id)
            return None
        date = message.get("date")
        if isinstance(date, int) and date < self.started_s:
            return None  # sent before this process started: never obeyed late
        now = self.clock()
        words = message["text"].strip().split()
        command = words[0].split("@")[0].lower() if words else ""
        if command == "/status":
            return self._reply("status", status_text(self.latest(), self.mode))
        if command != "/kill":
            return self._reply("commands", "/status: positions, PnL, halts, feeds\n"
                                            "/kill, then /kill confirm within 60 s: the kill switch of arb live "
                                            "(halt new pairs, cancel every open order, flatten, stop)")  # fmt: skip
        kill = self.kill()
        if kill is None:
            return self._reply("kill switch", f"no kill switch here: this is a {self.mode}; it reaches arb live only")
        if words[1:] != ["confirm"]:
            self._kill_asked_ns = now
            return self._reply("kill switch", "reply /kill confirm within 60 s to halt new pairs, cancel every "
                                               "open order, flatten every net position and stop arb live")  # fmt: skip
        asked, self._kill_asked_ns = self._kill_asked_ns, None
        if asked is None or now - asked > KILL_CONFIRM_NS:
            return self._reply("kill switch", "nothing to confirm: send /kill first, then /kill confirm within 60 s")
        log.warning("alerts: the kill switch was pulled from telegram (chat %s)", chat_id)
        kill()
        return self._reply("kill switch", "pulled: arb live halts new pairs, cancels every open order, "
                                           "flattens and stops")  # fmt: skip

    def _reply(self, title: str, text: str) -> Alert:
        return Alert(AlertKind.COMMAND, title, text, self.clock())
