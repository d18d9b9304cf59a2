"""The fake private OKX's order queries and its dead man's switch: ``GET /api/v5/trade/order``,
``orders-pending``, ``orders-history``, ``fills``, ``fills-history``, and ``POST /api/v5/trade/cancel-all-after``.

:class:`OkxQueries` is a part of :class:`~arb.sim.okx.exchange.FakeOkxExchange`, usable alone. Lists are newest
first and page as OKX documents: ``after`` (records older than that id), ``before`` (newer), ``limit`` (at most
100). The plan's ``hide_orders`` applies: an order hidden from queries answers 51603 and is left out of the order
lists, while its fills are listed (the order service lags the trade history, as on the other fakes: ``/trade/fills``
and ``/trade/order`` are two services, and OKX promises no order between them).

Cancel All After (``{"timeOut":"10".."120"|"0","tag"?}`` -> ``{"triggerTime","tag","ts"}``, seconds): when the
venue's clock passes a timer, every open order of the account (with that ``tag``, for a tag-level timer) is
cancelled with ``cancelSource`` 20, at the next :meth:`OkxQueries.check_timers` (the venue's ``tick``).
"""

from __future__ import annotations

__all__ = ["CAA_TAGS_MAX", "OkxQueries"]

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from arb.sim.ledger import LedgerOrder
from arb.sim.okx.calls import Call, Endpoint, Reply, param_text, refusal
from arb.sim.okx.ledger import OkxLedger
from arb.sim.okx.views import STATES, OkxViews
from arb.sim.private import CancelTrigger

logger = logging.getLogger(__name__)

CAA_TAGS_MAX = 20
"""Tag-level Cancel All After timers a user may run at once (51071 past it)."""
_TAG = re.compile(r"^[A-Za-z0-9]{1,16}$")
_DAY_MS = 24 * 3600 * 1000
_KEPT_CANCELLED_MS = 2 * 3600 * 1000
"""An order cancelled with nothing filled stays in the history this long ("reserved for 2 hours")."""


def _page(entries: list[dict[str, Any]], key: str, params: Mapping[str, Any]) -> list[dict[str, Any]] | Reply:
    # newest first by ``key`` (numeric ids): ``after`` older than, ``before`` newer than, ``limit`` 1..100
    after, before, limit_text = (param_text(params, k) for k in ("after", "before", "limit"))
    if any(v is not None and not v.isdigit() for v in (after, before, limit_text)):
        return refusal("51000", "after, before or limit")
    limit = min(int(limit_text), 100) if limit_text else 100
    chosen = [e for e in entries if (after is None or int(e[key]) < int(after))
              and (before is None or int(e[key]) > int(before))]  # fmt: skip
    return chosen[:limit]


class OkxQueries:
    """The order queries and Cancel All After of ``ledger`` as ``views`` shows it. ``clock``: the venue's time
    (seconds)."""

    def __init__(self, ledger: OkxLedger, views: OkxViews, *, clock: Callable[[], float]) -> None:
        self.ledger = ledger
        self.views = views
        self.caa_triggers: list[CancelTrigger] = []
        """Every Cancel All After that fired, with the orders it cancelled (``scope``: its tag, empty for the
        account-level timer)."""
        self._clock = clock
        self._timers: dict[tuple[str, str], float] = {}

    def endpoints(self) -> dict[tuple[str, str], Endpoint]:
        """The query endpoints and Cancel All After, by ``(method, path)``."""
        trade = "/api/v5/trade/"
        return {
            ("GET", trade + "order"): Endpoint(self._order, True, "query", trade + "order", "instId"),
            ("GET", trade + "orders-pending"): Endpoint(self._pending, True, "query", trade + "orders-pending"),
            ("GET", trade + "orders-history"): Endpoint(self._history, True, "query", trade + "orders-history"),
            ("GET", trade + "fills"): Endpoint(self._fills, True, "query", trade + "fills"),
            ("GET", trade + "fills-history"): Endpoint(self._fills_history, True, "query", trade + "fills-history"),
            ("POST", trade + "cancel-all-after"): Endpoint(self._cancel_all_after, True, None,
                                                           trade + "cancel-all-after"),
        }  # fmt: skip

    # -- orders ----------------------------------------------------------------------------------

    def _order(self, call: Call) -> Reply:
        """``GET /api/v5/trade/order?instId=BTC-USDT&ordId=680800019749904384`` (or ``clOrdId``: the newest with
        it) -> one order entry; 51603 when the venue finds none."""
        assert call.account is not None
        inst_id = param_text(call.params, "instId")
        if inst_id is None:
            return refusal("50014", "instId")
        if self.views.instrument(inst_id) is None:
            return refusal("51001")
        ord_id, client_id = param_text(call.params, "ordId"), param_text(call.params, "clOrdId")
        if ord_id is None and client_id is None:
            return refusal("50015", "ordId", "clOrdId")
        order = None
        if ord_id is None or ord_id.isdigit():
            order = self.ledger.find(call.account, inst_id, order_id=int(ord_id) if ord_id else None,
                                     client_id=client_id)  # fmt: skip
        if order is None:
            return refusal("51603")
        return Reply([self.views.order_entry(order)])

    def _orders(self, call: Call, *, history: bool) -> list[LedgerOrder] | Reply:
        # the account's visible orders a list query names, newest first
        assert call.account is not None
        params = call.params
        inst_type, inst_id = param_text(params, "instType"), param_text(params, "instId")
        if history and inst_type is None:
            return refusal("50014", "instType")
        types = param_text(params, "ordType")
        states, now = param_text(params, "state"), call.now_ms
        chosen = []
        for order in reversed(call.account.orders):
            inst = self.views.instruments[order.symbol]
            meta = self.views.meta_of(order)
            if order.hidden_queries > 0 or order.status.is_open == history:
                continue
            if inst_type not in (None, inst.inst_type) or inst_id not in (None, order.symbol):
                continue
            if types is not None and meta.ord_type not in types.split(","):
                continue
            if states is not None and STATES[order.status] != states:
                continue
            if history and (now - order.updated_ms > 7 * _DAY_MS or (order.executed_qty == 0 and now - order.updated_ms
                                                                       > _KEPT_CANCELLED_MS)):  # fmt: skip
                continue
            chosen.append(order)
        return chosen

    def _listed(self, call: Call, *, history: bool) -> Reply:
        orders = self._orders(call, history=history)
        if isinstance(orders, Reply):
            return orders
        page = _page([self.views.order_entry(o) for o in orders], "ordId", call.params)
        return page if isinstance(page, Reply) else Reply(page)

    def _pending(self, call: Call) -> Reply:
        """``GET /api/v5/trade/orders-pending`` (``instType``, ``instId``, ``ordType``, ``state``, paging): the
        open orders, newest first."""
        return self._listed(call, history=False)

    def _history(self, call: Call) -> Reply:
        """``GET /api/v5/trade/orders-history?instType=SPOT`` (``instId``, ``ordType``, ``state``, paging): the
        orders completed in the last 7 days (one cancelled unfilled: 2 hours), newest first."""
        return self._listed(call, history=True)

    # -- fills -----------------------------------------------------------------------------------

    def _trades(self, call: Call, *, history: bool) -> Reply:
        assert call.account is not None
        params = call.params
        inst_type = param_text(params, "instType")
        if history and inst_type is None:
            return refusal("50014", "instType")
        inst_id, ord_id = param_text(params, "instId"), param_text(params, "ordId")
        begin, end = param_text(params, "begin"), param_text(params, "end")
        if any(v is not None and not v.isdigit() for v in (begin, end)):
            return refusal("51000", "begin or end")
        oldest = call.now_ms - (90 if history else 3) * _DAY_MS
        trades = [
            t for t in call.account.trades
            if inst_type in (None, self.views.instruments[t.symbol].inst_type) and inst_id in (None, t.symbol)
            and ord_id in (None, str(t.order_id)) and t.time_ms >= oldest
            and (begin is None or t.time_ms >= int(begin)) and (end is None or t.time_ms <= int(end))
        ]  # fmt: skip
        entries = self.views.fill_entries(call.account, trades)
        page = _page(list(reversed(entries)), "billId", params)
        return page if isinstance(page, Reply) else Reply(page)

    def _fills(self, call: Call) -> Reply:
        """``GET /api/v5/trade/fills`` (``instType``, ``instId``, ``ordId``, ``begin``/``end``, paging by
        ``billId``): the fills of the last 3 days, newest first."""
        return self._trades(call, history=False)

    def _fills_history(self, call: Call) -> Reply:
        """``GET /api/v5/trade/fills-history?instType=SWAP``: the fills of the last 3 months (ccxt's
        ``fetch_my_trades``)."""
        return self._trades(call, history=True)

    # -- Cancel All After ------------------------------------------------------------------------

    def _cancel_all_after(self, call: Call) -> Reply:
        """``POST /api/v5/trade/cancel-all-after`` ``{"timeOut":"60","tag"?}`` -> ``[{"triggerTime","tag","ts"}]``
        (seconds; ``triggerTime`` "0": the timer is off)."""
        assert call.account is not None
        timeout, tag = param_text(call.params, "timeOut"), param_text(call.params, "tag") or ""
        if timeout is None:
            return refusal("50014", "timeOut")
        if not timeout.isdigit() or not (int(timeout) == 0 or 10 <= int(timeout) <= 120):
            return refusal("51000", "timeOut")
        if tag and not _TAG.match(tag):
            return refusal("51000", "tag")
        now = self._clock()
        key = (call.account.name, tag)
        if int(timeout) == 0:
            self._timers.pop(key, None)
            return Reply([{"triggerTime": "0", "tag": tag, "ts": str(int(now))}])
        tags = {t for (name, t) in self._timers if name == call.account.name and t}
        if tag and tag not in tags and len(tags) >= CAA_TAGS_MAX:
            return refusal("51071")
        self._timers[key] = now + int(timeout)
        return Reply([{"triggerTime": str(int(now + int(timeout))), "tag": tag, "ts": str(int(now))}])

    def timers(self, account: str) -> dict[str, float]:
        """``account``'s running Cancel All After timers: tag (empty: the account's) -> venue time it fires."""
        return {tag: at for (name, tag), at in self._timers.items() if name == account}

    def check_timers(self) -> None:
        """Fire every timer the venue's clock has passed: cancel the account's open orders (of the timer's tag)."""
        now = self._clock()
        for (name, tag), at in sorted(self._timers.items(), key=lambda kv: kv[1]):
            if now < at:
                continue
            del self._timers[(name, tag)]
            account = self.ledger.accounts[name]
            cancelled = [o for o in self.ledger.open_orders(account) if not tag or self.views.meta_of(o).tag == tag]
            for order in cancelled:
                self.views.meta_of(order).cancel_source = "20"
                self.ledger.cancel(account, order.symbol, order_id=order.order_id)
            self.caa_triggers.append(CancelTrigger(name, tag, now, tuple(o.order_id for o in cancelled)))
            logger.info("cancel-all-after %r of %s fired: %d orders cancelled", tag, name, len(cancelled))
