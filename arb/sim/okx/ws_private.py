"""The fake private OKX WebSocket (``/ws/v5/private``): login, the ``orders``, ``account`` and ``positions``
channels, order entry (``order``, ``batch-orders``, ``cancel-order``, ``batch-cancel-orders``, ``amend-order``,
``batch-amend-orders``), the text ``ping``, and the 30 s idle cut.

:class:`OkxPrivateWs` is a part of :class:`~arb.sim.okx.exchange.FakeOkxExchange`, usable alone with a ledger fed
by hand. As OKX documents it (docs v5 "WebSocket", "WS / Order channel", "WS / Place order"...):

* ``{"op":"login","args":[{"apiKey","passphrase","timestamp":"<unix s>","sign"}]}``, ``sign`` the Base64 HMAC-SHA256
  of ``timestamp + "GET" + "/users/self/verify"``, ``timestamp`` within 30 s -> ``{"event":"login","code":"0",
  "msg":"","connId"}``; refused with ``{"event":"error","code":...}`` (60005 unknown key, 60024 wrong passphrase,
  60004/60006 bad or expired timestamp, 60007 bad sign, 60009 a malformed login) and the connection closed
  (4001 "Login Failed"); a second login on a connection, 60031.
* ``subscribe`` ``{"channel":"orders","instType":"SPOT"|"SWAP"|"ANY","instId"?,"instFamily"?}``,
  ``{"channel":"account","ccy"?}``, ``{"channel":"positions","instType":"SWAP"|"ANY",...}`` (logged in only:
  60011), acknowledged ``{"event":"subscribe","arg":{...},"connId"}`` then ``{"event":"channel-conn-count",...}``;
  ``account`` and ``positions`` push a ``snapshot`` at once, every channel pushes ``event_update``s as the ledger
  moves: ``{"arg":{...,"uid"},"data":[...]}`` (``orders`` pushes one order state per ledger event, with its fill).
* An order operation ``{"id","op","args":[...],"expTime"?}`` names each instrument by integer ``instIdCode`` (OKX
  deprecated ``instId`` there in 2026: an item without ``instIdCode`` is refused with 50014, an unknown code with
  51001); it runs the REST endpoint's handler, under the same per-instrument limits and order faults, and is
  answered ``{"id","op","code","msg","data":[{...,"sCode","sMsg"}],"inTime","outTime"}`` (code ``"1"`` every item
  failed, ``"2"`` some; a malformed request ``60013`` with empty ``data``).
* A connection that sent nothing for 30 s of the venue's clock is closed with 4004 ("No data received in 30s") at
  the venue's next tick or released frame; one told of a service upgrade (``{"event":"notice","code":"64008"}``,
  :meth:`OkxPrivateWs.announce_upgrade`) is closed when the time announced has come.
"""

from __future__ import annotations

__all__ = ["IDLE_CUT_S", "PRIVATE_PATH", "OkxPrivateWs", "WsAnswer"]

import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from arb.sim.connection import VenueConnection
from arb.sim.faults import AppliedFault, FaultKind, FaultPlan, OrderFault, OrderOperation
from arb.sim.ledger import ExecType, FundingPayment, LedgerAccount, LedgerEvent, OrderStatus
from arb.sim.okx.calls import MSG, Reply, item, items_reply, message, ws_sign
from arb.sim.okx.orders import OPS, OkxOrders, answer_ids
from arb.sim.okx.rest import gateway_code
from arb.sim.okx.views import OkxViews
from arb.sim.private import EventPump, OrderDesk, encode

logger = logging.getLogger(__name__)

PRIVATE_PATH = "/ws/v5/private"
IDLE_CUT_S = 30.0
"""OKX closes a connection that received nothing for this long (4004)."""
_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")
_BATCH_MAX = 20
_CHANNELS = ("orders", "account", "positions")
_INST_TYPES = ("SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION", "ANY")
_LOGIN_WINDOW_S = 30.0
_UNKNOWN_CODE = "Instrument ID, Instrument ID code or Spread ID doesn't exist."
_OPERATIONS: dict[str, OrderOperation] = {"order": "create", "cancel-order": "cancel", "amend-order": "any"}


@dataclass(frozen=True, slots=True)
class WsAnswer:
    """One answer to an order operation the venue sent."""

    connection: int
    op: str
    id: Any
    code: str
    s_codes: tuple[str, ...]
    time: float
    """The venue's clock when it answered, seconds."""


@dataclass(slots=True)
class _Session:
    conn: VenueConnection
    heard_s: float
    account: str | None = None
    closing_s: float | None = None
    """The venue time a service upgrade announced to this connection closes it (``None``: none announced)."""
    args: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Each subscription (the connection's stream key) -> its arg as sent."""


def _key(arg: dict[str, Any]) -> str:
    # the connection's stream name of a subscription arg: "orders:SWAP:BTC-USDT-SWAP", "account", "positions:ANY"
    parts = [str(arg.get(k, "")) for k in ("channel", "instType", "instFamily", "instId", "ccy")]
    return ":".join(p for p in parts if p)


class OkxPrivateWs:
    """The private WebSocket of ``orders``' ledger as ``views`` shows it, and the pump (``events``) feeding it.

    ``desk`` places with the plan's order faults; ``tick`` is what is due before an operation is served; ``spawn``
    runs a held answer beside the connection's reading; ``clock`` is the venue's time (seconds); ``record``
    appends a fault that landed, ``notify`` wakes the venue's waiters, ``log_subscription`` records a
    (un)subscription ``(conn, op, streams, ok)``; ``banned()`` whether the venue refuses requests now.
    """

    def __init__(
        self, orders: OkxOrders, desk: OrderDesk, faults: FaultPlan, *, clock: Callable[[], float],
        tick: Callable[[], Awaitable[None]], record: Callable[[AppliedFault], None], notify: Callable[[], None],
        log_subscription: Callable[[VenueConnection, str, Sequence[str], bool], None],
        spawn: Callable[[Coroutine[Any, Any, None]], None], passphrase: Callable[[str], str],
        banned: Callable[[], bool], idle_cut_s: float | None = IDLE_CUT_S,
    ) -> None:  # fmt: skip
        self.orders = orders
        self.views: OkxViews = orders.views
        self.ledger = orders.ledger
        self.events = EventPump(
            faults, record=record, notify=notify, state_symbols=self._state_symbols, send_event=self._send_event,
            send_funding=self._send_funding, send_account_state=self._send_account_state,
        )  # fmt: skip
        """The ledger's events on their way to the channels (subscribe :meth:`EventPump.queue` to an account)."""
        self.auth_log: list[tuple[int, str, bool]] = []
        """``(connection, code, success)`` of every login."""
        self.op_log: list[WsAnswer] = []
        """Every answer to an order operation, in order."""
        self.idle_cut_s = idle_cut_s
        self._desk, self._faults = desk, faults
        self._clock, self._tick, self._record, self._notify = clock, tick, record, notify
        self._log = log_subscription
        self._spawn, self._passphrase, self._banned = spawn, passphrase, banned
        self._sessions: dict[int, _Session] = {}
        self._created: set[int] = set()

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    @staticmethod
    def is_user_stream(conn: VenueConnection) -> bool:
        """Whether ``conn`` is a private connection."""
        return conn.path.startswith(PRIVATE_PATH)

    def up(self) -> bool:
        """A logged-in connection is subscribed to ``orders``."""
        return any(s.conn.open and s.account and any(k.startswith("orders") for k in s.args)
                   for s in self._sessions.values())  # fmt: skip

    def sweep(self) -> None:
        """Forget the sessions of closed connections."""
        for conn_id, session in list(self._sessions.items()):
            if not session.conn.open:
                del self._sessions[conn_id]
        self._notify()

    async def check_idle(self) -> None:
        """Close (4004) every private connection that sent nothing for :attr:`idle_cut_s` of the venue's clock,
        and (1001) those a service upgrade announced (:meth:`announce_upgrade`) has come to."""
        now = self._clock()
        for session in list(self._sessions.values()):
            if session.conn.open and session.closing_s is not None and now >= session.closing_s:
                logger.info("private connection %d: service upgrade, closing 1001", session.conn.id)
                await session.conn.close(1001, "Service upgrade")
                self._record(AppliedFault(FaultKind.USER_STREAM_DROP, connection=session.conn.id,
                                          detail="service upgrade"))  # fmt: skip
            if self.idle_cut_s is None:
                continue
            if session.conn.open and now - session.heard_s > self.idle_cut_s:
                logger.info("private connection %d idle %.1fs: closing 4004", session.conn.id, now - session.heard_s)
                await session.conn.close(4004, "No data received in 30s")

    async def announce_upgrade(self, close_after_s: float = 30.0) -> int:
        """OKX's notice of a service upgrade to every open private connection, ``{"event":"notice","code":"64008",
        "msg":"The connection will soon be closed for a service upgrade. Please reconnect.","connId"}``; each is
        closed ``close_after_s`` later on the venue's clock (OKX: 30 s; the close code, 1001, is the fake's own:
        OKX documents none). Returns how many were told."""
        notice = "The connection will soon be closed for a service upgrade. Please reconnect."
        told = 0
        for session in list(self._sessions.values()):
            if session.conn.open:
                session.closing_s = self._clock() + close_after_s
                conn = session.conn
                await conn.send_control(encode({"event": "notice", "code": "64008", "msg": notice,
                                                "connId": conn.conn_id}).decode())  # fmt: skip
                told += 1
        self._notify()
        return told

    # -- requests --------------------------------------------------------------------------------

    async def on_text(self, conn: VenueConnection, text_: str) -> None:
        """Answer one text of a private connection: ``ping``, ``login``, ``subscribe``/``unsubscribe``, an order
        operation; anything else is an error event (60012 not a request, 60019 an unknown ``op``)."""
        session = self._sessions.get(conn.id)
        if session is None:
            session = self._sessions[conn.id] = _Session(conn, self._clock())
        session.heard_s = self._clock()
        if text_ == "ping":
            await conn.send_control("pong")
            return
        try:
            request = json.loads(text_)
        except json.JSONDecodeError:
            request = None
        op = request.get("op") if isinstance(request, dict) else None
        if not isinstance(request, dict) or not isinstance(op, str):
            logger.warning("private connection %d: not an OKX request: %.200r", conn.id, text_)
            await self._error(conn, "60012", f"Invalid request: {text_[:200]}")
        elif op == "login":
            await self._login(session, request.get("args"))
        elif op in ("subscribe", "unsubscribe"):
            await self._subscribe(session, op, request.get("args"))
        elif op in OPS:
            await self._operate(session, op, request)
        else:
            await self._error(conn, "60019", f"Invalid op: {op}")

    async def _error(self, conn: VenueConnection, code: str, msg: str) -> None:
        await conn.send_control(encode({"event": "error", "code": code, "msg": msg, "connId": conn.conn_id}).decode())

    async def _login(self, session: _Session, args: Any) -> None:
        conn = session.conn
        if session.account is not None:
            await self._error(conn, "60031", "The WebSocket endpoint does not allow multiple or repeated logins.")
            return
        account, code, msg = self._verify(args)
        self.auth_log.append((conn.id, code, account is not None))
        if account is None:
            await self._error(conn, code, msg)
            await conn.close(4001, "Login Failed")
            return
        session.account = account.name
        await conn.send_control(encode({"event": "login", "code": "0", "msg": "", "connId": conn.conn_id}).decode())
        self._notify()

    def _verify(self, args: Any) -> tuple[LedgerAccount | None, str, str]:
        # the account a login's args authenticate, or why not (OKX's code and message)
        entry = args[0] if isinstance(args, list) and len(args) == 1 and isinstance(args[0], dict) else None
        names = ("apiKey", "passphrase", "timestamp", "sign")
        if entry is None or not all(isinstance(entry.get(k), str | int) for k in names):
            return None, "60009", "Login failed."
        key, passphrase, stamp, sign = (str(entry[k]) for k in names)
        account = self.ledger.account_for_key(key)
        if account is None:
            return None, "60005", "Invalid apiKey"
        try:
            seconds = Decimal(stamp)
        except InvalidOperation:
            return None, "60004", "Invalid timestamp"
        if not seconds.is_finite():
            return None, "60004", "Invalid timestamp"
        if abs(float(seconds) - self._clock()) > _LOGIN_WINDOW_S:
            return None, "60006", "Timestamp request expired"
        if not hmac.compare_digest(passphrase, self._passphrase(account.name)):
            return None, "60024", "Wrong passphrase"
        if not hmac.compare_digest(sign, ws_sign(account.api_secret, stamp)):
            return None, "60007", "Invalid sign"
        return account, "0", ""

    async def _subscribe(self, session: _Session, op: str, args: Any) -> None:
        conn = session.conn
        entries = args if isinstance(args, list) and args and all(isinstance(a, dict) for a in args) else None
        if entries is None:
            await self._error(conn, "60012", f"Invalid request: {encode({'op': op, 'args': args}).decode()[:200]}")
            return
        for arg in entries:
            channel = arg.get("channel")
            key = _key(arg)
            if session.account is None:
                self._log(conn, op, [key], False)
                await self._error(conn, "60011", "Please log in")
                continue
            if channel not in _CHANNELS:
                self._log(conn, op, [key], False)
                await self._error(
                    conn,
                    "60018",
                    f"Wrong URL or channel:{channel} doesn't exist. Please use the "
                    "correct URL, channel and parameters referring to API document.",
                )
                continue
            if channel != "account" and arg.get("instType") not in _INST_TYPES:
                self._log(conn, op, [key], False)
                await self._error(conn, "60013", "Invalid args")
                continue
            ack = encode({"event": op, "arg": arg, "connId": conn.conn_id}).decode()
            if op == "unsubscribe":
                session.args.pop(key, None)
                await conn.change_subscriptions(remove=[key], reply=ack)
                self._log(conn, op, [key], True)
                continue
            session.args[key] = dict(arg)
            await conn.change_subscriptions(add=[key], reply=ack)
            self._log(conn, op, [key], True)
            count = sum(1 for s in self._sessions.values() if s.account == session.account and s.conn.open
                        and any(k.split(":")[0] == channel for k in s.args))  # fmt: skip
            await conn.send_control(encode({"event": "channel-conn-count", "channel": channel,
                                            "connCount": str(count), "connId": conn.conn_id}).decode())  # fmt: skip
            if channel in ("account", "positions"):
                await self._snapshot(session, key)
        self._notify()

    async def _snapshot(self, session: _Session, key: str) -> None:
        # the initial push of an account or positions subscription
        assert session.account is not None
        account = self.ledger.accounts[session.account]
        arg = session.args[key]
        if arg["channel"] == "account":
            data = [self._account_data(account, arg)]
        else:
            data = [self.views.position_entry(account, s) for s in self.views.held_instruments(account)
                    if self._matches(arg, s)]  # fmt: skip
        await self._push(session, key, data, {"eventType": "snapshot", "curPage": 1, "lastPage": True})

    # -- order operations ------------------------------------------------------------------------------

    async def _operate(self, session: _Session, op: str, request: dict[str, Any]) -> None:
        """Check an order operation (login, ``id``, ``args``), resolve each item's ``instIdCode``, then run the
        orders part on it under the order fault scripted for it, if any."""
        conn, req_id = session.conn, request.get("id")
        await self._tick()
        args = request.get("args")
        single = not op.startswith("batch-")
        well_formed = (isinstance(args, list) and 0 < len(args) <= (1 if single else _BATCH_MAX)
                       and all(isinstance(a, dict) for a in args) and (req_id is None or (isinstance(req_id, str)
                       and _ID.match(req_id))))  # fmt: skip
        if session.account is None:
            await self._answer(conn, op, req_id, Reply([], "60011", "Please log in"))
            return
        if not well_formed:
            await self._answer(conn, op, req_id, Reply([], "60013", "Invalid args"))
            return
        assert isinstance(args, list)
        account = self.ledger.accounts[session.account]
        now_ms = self.now_ms()
        resolved, failed = self._resolve(op, args, now_ms)
        if self._banned():
            items = [item("50013", MSG["50013"], **answer_ids(op, a, now_ms)) for a in args]
            await self._answer(conn, op, req_id, items_reply(items, ws=True))
            return
        operation = _OPERATIONS[OPS[op][0]]
        fault = self._faults.take_order_fault(operation)
        now_ms = await self._desk.arrives(operation)
        exp = request.get("expTime")
        exp_ms = int(exp) if isinstance(exp, str | int) and str(exp).isdigit() else None

        def run() -> Reply:
            done = iter(self.orders.run(op, account, resolved, now_ms, exp_ms=exp_ms))
            return items_reply([failed[k] if k in failed else next(done) for k in range(len(args))], ws=True)

        if fault is None:
            await self._answer(conn, op, req_id, await self._desk.act(run))
            return
        await self._faulted(conn, (op, req_id, args), fault, run)

    def _resolve(self, op: str, args: list[dict[str, Any]], now_ms: int) -> tuple[list[Any], dict[int, dict[str, Any]]]:
        # each item with its instrument named by id (from instIdCode), and the refusals of those that name none
        codes = {inst.code: inst.inst_id for inst in self.views.instruments.values()}
        resolved, failed = [], {}
        for k, arg in enumerate(args):
            code = arg.get("instIdCode")
            if code is None or code == "":
                failed[k] = item("50014", message("50014", "instIdCode"), **answer_ids(op, arg, now_ms))
            elif not isinstance(code, int) or isinstance(code, bool):
                failed[k] = item("51000", message("51000", "instIdCode"), **answer_ids(op, arg, now_ms))
            elif code not in codes:
                failed[k] = item("51001", _UNKNOWN_CODE, **answer_ids(op, arg, now_ms))
            else:
                resolved.append({**{k2: v for k2, v in arg.items() if k2 not in ("instId", "instIdCode")},
                                 "instId": codes[code]})  # fmt: skip
        return resolved, failed

    async def _faulted(self, conn: VenueConnection, request: tuple[str, Any, list[Any]], fault: OrderFault,
                       run: Callable[[], Reply]) -> None:  # fmt: skip
        """Answer an operation (``request``: its ``op``, ``id`` and ``args``) under ``fault``, having acted on it
        first when ``processed``: a held answer (sent once released, the operation acted on then if not before),
        the connection dropped without an answer, or an error answer (``fault.code``, else the gateway's for its
        status) with empty ``data``; an error of status 200 is a per-item refusal (each arg's ``sCode``)."""
        op, req_id, args = request

        async def answer(reply: Reply) -> None:
            await self._answer(conn, op, req_id, reply)

        if await self._desk.on_socket(conn, f"{PRIVATE_PATH} {op}", fault, call=None, run=run, answer=answer,
                                      spawn=self._spawn):  # fmt: skip
            return
        code = str(fault.code) if fault.code is not None else gateway_code(fault.status or 200) or "50026"
        if (fault.status or 200) == 200:
            now_ms = self.now_ms()
            items = [item(code, fault.msg or message(code), **answer_ids(op, a, now_ms)) for a in args]
            await self._answer(conn, op, req_id, items_reply(items, ws=True))
            return
        await self._answer(conn, op, req_id, Reply([], code, fault.msg or message(code)))

    async def _answer(self, conn: VenueConnection, op: str, req_id: Any, reply: Reply) -> None:
        stamp = str(int(self._clock() * 1_000_000))
        answer: dict[str, Any] = {} if req_id is None else {"id": req_id}
        answer.update({"op": op, "code": reply.code, "msg": reply.msg, "data": reply.data, "inTime": stamp,
                       "outTime": stamp})  # fmt: skip
        codes = tuple(str(d.get("sCode", "")) for d in reply.data if isinstance(d, dict))
        self.op_log.append(WsAnswer(conn.id, op, req_id, reply.code, codes, self._clock()))
        await conn.send_control(encode(answer).decode())
        self._notify()

    # -- pushes ----------------------------------------------------------------------------------

    def _matches(self, arg: dict[str, Any], inst_id: str) -> bool:
        # whether a subscription arg covers an instrument
        inst = self.views.instruments[inst_id]
        if arg.get("instType") not in (None, "ANY", inst.inst_type):
            return False
        if arg.get("instId") not in (None, "", inst_id):
            return False
        return arg.get("instFamily") in (None, "", inst.family) or not inst.swap

    def _subscribed(self, name: str, channel: str) -> Iterable[tuple[_Session, str]]:
        for session in list(self._sessions.values()):
            if session.account == name and session.conn.open:
                for key, arg in list(session.args.items()):
                    if arg.get("channel") == channel:
                        yield session, key

    def _state_symbols(self, event: LedgerEvent | FundingPayment) -> tuple[str, ...]:
        # the account follows every event; a position follows a fill or a funding settlement
        if isinstance(event, FundingPayment):
            return (event.symbol,)
        return (event.trade.symbol,) if event.trade is not None else ()

    async def _send_event(self, event: LedgerEvent) -> None:
        order = event.order
        created = order.order_id in self._created
        self._created.add(order.order_id)
        meta = self.views.meta_of(order)
        amended = (event.exec_type is ExecType.NEW and created) or (
            event.status is OrderStatus.CANCELED and meta.amend_result == "1"
        )
        entry = self.views.order_entry(event, push=True, amended=amended)
        for session, key in self._subscribed(event.account, "orders"):
            if self._matches(session.args[key], order.symbol):
                await self._push(session, key, [entry])

    async def _send_funding(self, payment: FundingPayment) -> None:
        """A settlement moves the position and the balance: pushed with the batch's account state."""

    async def _send_account_state(self, name: str, symbols: Iterable[str]) -> None:
        account = self.ledger.accounts[name]
        update = {"eventType": "event_update"}
        for session, key in self._subscribed(name, "account"):
            await self._push(session, key, [self._account_data(account, session.args[key])], update)
        swaps = [s for s in sorted(symbols) if self.views.instruments[s].swap]
        if not swaps:
            return
        for session, key in self._subscribed(name, "positions"):
            data = [self.views.position_entry(account, s) for s in swaps if self._matches(session.args[key], s)]
            if data:
                await self._push(session, key, data, update)

    def _account_data(self, account: LedgerAccount, arg: dict[str, Any]) -> dict[str, Any]:
        ccy = arg.get("ccy")
        return self.views.balance_entry(account, {str(ccy)} if ccy else None)

    async def _push(self, session: _Session, key: str, data: list[Any], extra: dict[str, Any] | None = None) -> None:
        """One push ``{"arg":{...as subscribed,"uid"},"data":[...]}`` on ``session``; withheld or lost as the fault
        plan says (the event kind is the channel)."""
        assert session.account is not None
        arg = {**session.args[key], "uid": self.views.uid(session.account)}
        message_ = {"arg": arg, **(extra or {}), "data": data}
        await self.events.write(session.conn, str(arg["channel"]), encode(message_).decode())
