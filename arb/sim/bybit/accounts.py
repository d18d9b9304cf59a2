"""The fake private Bybit's account and position endpoints: API key info, account info, coins,
wallet balance, transaction log, positions, leverage and position mode.

:class:`BybitAccounts` is a part of :class:`~arb.sim.bybit.exchange.FakeBybitExchange`, usable alone:
its handlers take a :class:`~arb.sim.bybit.calls.Call` and return a :class:`~arb.sim.bybit.calls.Reply`.
"""

from __future__ import annotations

__all__ = ["BybitAccounts"]

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from arb.sim.bybit.calls import (
    CATEGORIES,
    Call,
    Endpoint,
    Reply,
    api_error,
    category_refusal,
    empty_page,
    foreign_symbol,
    page_of,
    param_text,
    time_window,
    unknown_symbol,
)
from arb.sim.bybit.views import BybitViews
from arb.sim.bybit.wire import decimal_text, funding_exec_id, transaction_entry
from arb.sim.ledger import ZERO, FundingPayment, LedgerAccount, LedgerTrade, Side
from arb.sim.private import decimal_param


class BybitAccounts:
    """The account and position handlers of ``views``' ledger, and the position modes they set
    (``max_leverage``: the most ``set-leverage`` takes)."""

    def __init__(self, views: BybitViews, *, max_leverage: Decimal) -> None:
        self.views = views
        self.ledger = views.ledger
        self.category = views.category
        self.max_leverage = max_leverage
        self._hedge_mode: dict[tuple[str, str], bool] = {}

    def endpoints(self) -> dict[str, Endpoint]:
        """The account and position endpoints, by path."""
        return {
            "/v5/user/query-api": Endpoint("GET", self._query_api, True, None),
            "/v5/account/info": Endpoint("GET", self._account_info, True, None),
            "/v5/asset/coin/query-info": Endpoint("GET", self._coin_info, True, None),
            "/v5/account/wallet-balance": Endpoint("GET", self._wallet_balance, True, "query"),
            "/v5/account/fee-rate": Endpoint("GET", self._fee_rate, True, None),
            "/v5/account/transaction-log": Endpoint("GET", self._transaction_log, True, "query"),
            "/v5/position/list": Endpoint("GET", self._position_list, True, "query"),
            "/v5/position/set-leverage": Endpoint("POST", self._set_leverage, True, None),
            "/v5/position/switch-mode": Endpoint("POST", self._switch_mode, True, None),
        }

    def hedge(self, symbol: str) -> bool:
        """Whether ``symbol``'s positions are in hedge mode (``/v5/position/switch-mode``)."""
        return self._hedge_mode.get(("*", symbol), False)

    def _query_api(self, call: Call) -> Reply:
        """``GET /v5/user/query-api``: the key's details; ``uta: 1`` (a unified trading account)."""
        assert call.account is not None
        account = call.account
        trade = ["Order", "Position"] if account.can_trade else []
        result: dict[str, Any] = {
            "id": str(self.views.uid(account.name) * 10),
            "note": account.name,
            "apiKey": account.api_key,
            "readOnly": 0 if account.can_trade else 1,
            "secret": "",
            "permissions": {
                "ContractTrade": trade,
                "Spot": ["SpotTrade"] if account.can_trade else [],
                "Wallet": ["AccountTransfer", "SubMemberTransfer"],
                "Options": [],
                "Derivatives": ["DerivativesTrade"] if account.can_trade else [],
                "CopyTrading": [],
                "BlockTrade": [],
                "Exchange": [],
                "NFT": [],
                "Affiliate": [],
                "Earn": [],
            },
            "ips": [],
            "type": 1,
            "deadlineDay": 90,
            "expiredAt": "2099-01-01T00:00:00Z",
            "createdAt": "2024-01-01T00:00:00Z",
            "unified": 0,
            "uta": 1,
            "userID": self.views.uid(account.name),
            "inviterID": 0,
            "vipLevel": "No VIP",
            "mktMakerLevel": "0",
            "affiliateID": 0,
            "rsaPublicKey": "",
            "isMaster": True,
            "parentUid": "0",
            "kycLevel": "LEVEL_1",
            "kycRegion": "",
        }
        return Reply(ret_msg="", result=result)

    def _account_info(self, call: Call) -> Reply:
        """``GET /v5/account/info``: ``unifiedMarginStatus`` 6 (UTA 2.0 Pro), regular margin."""
        return Reply(
            result={
                "marginMode": "REGULAR_MARGIN",
                "updatedTime": str(call.now_ms),
                "unifiedMarginStatus": 6,
                "dcpStatus": "OFF",
                "timeWindow": 0,
                "smpGroup": 0,
                "isMasterTrader": False,
                "spotHedgingStatus": "OFF",
            }
        )

    def _coin_info(self, call: Call) -> Reply:
        """``GET /v5/asset/coin/query-info``: each coin of the venue's instruments, one chain each."""
        wanted = param_text(call.params, "coin")
        coins = sorted({c for r in self.ledger.rules.values() for c in (r.base, r.quote)})
        rows = [
            {
                "name": coin,
                "coin": coin,
                "remainAmount": "1000000",
                "chains": [
                    {
                        "chainType": coin,
                        "confirmation": "12",
                        "withdrawFee": "0",
                        "depositMin": "0",
                        "withdrawMin": "0",
                        "chain": coin,
                        "chainDeposit": "1",
                        "chainWithdraw": "1",
                        "minAccuracy": "8",
                        "withdrawPercentageFee": "0",
                        "contractAddress": "",
                        "safeConfirmNumber": "12",
                        "withdrawMax": "1000000",
                    }
                ],
            }
            for coin in coins
            if wanted is None or coin == wanted
        ]
        return Reply(ret_msg="success", result={"rows": rows})

    def _wallet_balance(self, call: Call) -> Reply:
        """``GET /v5/account/wallet-balance?accountType=UNIFIED``: the account's coins from the ledger."""
        assert call.account is not None
        if param_text(call.params, "accountType") != "UNIFIED":
            return api_error(10001, "accountType only support UNIFIED.")
        coins = param_text(call.params, "coin")
        wanted = set(coins.split(",")) if coins else None
        return Reply(result={"list": [self.views.wallet(call.account, wanted)]})

    def _fee_rate(self, call: Call) -> Reply:
        """``GET /v5/account/fee-rate?category=spot|linear[&symbol=S]``: the ledger's rates for each symbol
        (or ``symbol``), ``{"symbol","takerFeeRate","makerFeeRate"}``; ``category`` in the result for spot
        only, as documented (futures answer without it)."""
        refusal = category_refusal(self.category, call.params, other=Reply(result={"list": []}))
        if refusal is not None:
            return refusal
        symbol = param_text(call.params, "symbol")
        if symbol is not None and symbol not in self.ledger.rules:
            return unknown_symbol(self.category)
        taker, maker = decimal_text(self.ledger.taker_fee), decimal_text(self.ledger.maker_fee)
        rows = [{"symbol": s, "takerFeeRate": taker, "makerFeeRate": maker}
                for s in sorted(self.ledger.rules) if symbol in (None, s)]  # fmt: skip
        return Reply(result={"category": "spot", "list": rows} if self.category == "spot" else {"list": rows})

    def _transaction_log(self, call: Call) -> Reply:
        """``GET /v5/account/transaction-log`` (``accountType`` UNIFIED, ``category``, ``currency``,
        ``baseCoin``, ``type``, ``startTime``/``endTime`` at most 7 days apart, the last 7 days by default,
        ``limit`` 1-50 default 20, ``cursor``): a linear account's ``TRADE`` per trade and ``SETTLEMENT``
        per funding payment, newest first, each with the wallet balance after it (``cashBalance``)."""
        account = call.account
        assert account is not None
        params = call.params
        if param_text(params, "accountType") not in (None, "UNIFIED"):
            return api_error(10001, "accountType only support UNIFIED.")
        category = param_text(params, "category")
        if category is not None and category not in CATEGORIES:
            return api_error(10001, "Illegal category")
        window = time_window(call, capped=True)
        if isinstance(window, Reply):
            return window
        start, end = window
        entries = self._transactions(account) if self.category == "linear" and category in (None, "linear") else []
        kind, currency, base = (
            param_text(params, "type"),
            param_text(params, "currency"),
            param_text(params, "baseCoin"),
        )
        chosen = [
            e for e in entries
            if (kind is None or e["type"] == kind) and (currency is None or e["currency"] == currency)
            and (base is None or self.ledger.rules[e["symbol"]].base == base)
            and start <= int(e["transactionTime"]) <= end
        ]  # fmt: skip
        page, cursor = page_of(chosen, params, 20, 50)
        return Reply(result={"nextPageCursor": cursor, "list": page})

    def _transactions(self, account: LedgerAccount) -> list[dict[str, Any]]:
        """Every wallet change of a linear account, newest first: trades (realised PnL less the fee) and
        funding payments, the wallet after each counted back from the wallet now."""
        settle = self.ledger.settle_asset
        orders = {o.order_id: o for o in account.orders}
        moves: list[tuple[int, int, Decimal, LedgerTrade | FundingPayment]] = [
            (t.time_ms, k, t.realized_pnl - t.fee, t) for k, t in enumerate(account.trades)
        ]
        moves += [(f.funding_ms, len(account.trades) + k, f.payment, f) for k, f in enumerate(account.fundings)]
        moves.sort(key=lambda move: (move[0], move[1]))
        balance = account.balance(settle).total - sum((change for _, _, change, _ in moves), ZERO)
        sizes: dict[str, Decimal] = {}
        uid = self.views.uid(account.name)
        out = []
        for _, k, change, item in moves:
            balance += change
            rules = self.ledger.rules[item.symbol]
            if isinstance(item, FundingPayment):
                out.append(transaction_entry(
                    entry_id=f"{uid}_{item.symbol}_{item.payment_id}", kind="SETTLEMENT", symbol=item.symbol,
                    side="Buy" if item.position > 0 else "Sell", time_ms=item.funding_ms,
                    qty=decimal_text(abs(item.position), rules.step_size),
                    size=decimal_text(item.position, rules.step_size), currency=settle,
                    trade_price=decimal_text(item.mark_price, rules.tick_size), funding=item.payment, fee=ZERO,
                    cash_flow=ZERO, cash_balance=balance, fee_rate=item.rate if item.position > 0 else -item.rate,
                    trade_id=funding_exec_id(item.payment_id), order_id=self.views.funding_order_id(item),
                    order_link_id="",
                ))  # fmt: skip
                continue
            size = sizes[item.symbol] = sizes.get(item.symbol, ZERO) + item.qty * item.side.sign
            order = orders[item.order_id]
            out.append(transaction_entry(
                entry_id=f"{uid}_{item.symbol}_{k + 1}", kind="TRADE", symbol=item.symbol,
                side="Buy" if item.side is Side.BUY else "Sell", time_ms=item.time_ms,
                qty=decimal_text(item.qty, rules.step_size), size=decimal_text(size, rules.step_size),
                currency=settle, trade_price=decimal_text(item.price, rules.tick_size), funding=None, fee=item.fee,
                cash_flow=item.realized_pnl, cash_balance=balance,
                fee_rate=self.ledger.maker_fee if item.is_maker else self.ledger.taker_fee,
                trade_id=self.views.exec_id(item), order_id=self.views.order_id(order),
                order_link_id=order.client_id if not order.client_id.startswith("~") else "",
            ))  # fmt: skip
        out.reverse()
        return out

    def _position_list(self, call: Call) -> Reply:
        """``GET /v5/position/list?category=linear&symbol=XRPUSDT`` (or ``settleCoin=USDT``: the open ones)."""
        assert call.account is not None
        if (
            refusal := category_refusal(
                self.category, call.params, other=empty_page(call.params), allowed=CATEGORIES[1:]
            )
        ) is not None:
            return refusal
        symbol = param_text(call.params, "symbol")
        settle = param_text(call.params, "settleCoin")
        base = param_text(call.params, "baseCoin")
        account = call.account

        def held() -> list[str]:
            return [
                s for s, r in sorted(self.ledger.rules.items())
                if (settle is None or r.quote == settle) and (base is None or r.base == base)
                and account.position(s).qty != 0
            ]  # fmt: skip

        symbols = self._named_symbols(symbol, held if settle is not None or base is not None else None,
                                      "symbol or settleCoin or baseCoin")  # fmt: skip
        if isinstance(symbols, Reply):
            return symbols
        entries = [self.views.position_dict(call.account, s) for s in symbols]
        page, cursor = page_of(entries, call.params, 20, 200)
        return Reply(result={"list": page, "nextPageCursor": cursor, "category": self.category})

    # -- position and DCP handlers -----------------------------------------------------------

    def _named_symbols(
        self, symbol: str | None, others: Callable[[], list[str]] | None, missing: str
    ) -> list[str] | Reply:
        """The symbols a position request names: its ``symbol`` (refused when unknown), else ``others()``
        (what its coin parameters choose); without either, the refusal naming the ``missing`` parameters."""
        if symbol is not None:
            return [symbol] if self.views.rules(symbol) is not None else unknown_symbol(self.category)
        if others is not None:
            return others()
        return api_error(10001, f"Missing some parameters that must be filled in, {missing}")

    def _position_category(self, call: Call) -> Reply | None:
        """The refusal of a position setting for a category other than linear or inverse (or a symbol
        of another category); ``None`` when the category is one of those."""
        return category_refusal(
            self.category, call.params, other=foreign_symbol(call.params), allowed=("linear", "inverse")
        )

    def _set_leverage(self, call: Call) -> Reply:
        """``POST /v5/position/set-leverage``: one leverage for both sides (one-way mode)."""
        account = call.account
        assert account is not None
        if (refusal := self._position_category(call)) is not None:
            return refusal
        rules = self.views.rules(param_text(call.params, "symbol"))
        if rules is None:
            return unknown_symbol(self.category)
        try:
            buy = decimal_param(param_text(call.params, "buyLeverage"))
            sell = decimal_param(param_text(call.params, "sellLeverage"))
        except ValueError:
            return api_error(10001, "params error: leverage invalid")
        if buy is None or sell is None or buy != sell:
            return api_error(10001, "params error: buyLeverage must equal sellLeverage in one-way mode")
        if not Decimal(1) <= buy <= self.max_leverage:
            return api_error(10001, f"params error: leverage must be within [1, {self.max_leverage}]")
        position = account.position(rules.symbol)
        if position.leverage == buy:
            return api_error(110043, "Set leverage not modified")
        position.leverage = buy
        return Reply()

    def _switch_mode(self, call: Call) -> Reply:
        """``POST /v5/position/switch-mode`` (``mode`` 0 one-way, 3 hedge) for a symbol or a coin."""
        account = call.account
        assert account is not None
        if (refusal := self._position_category(call)) is not None:
            return refusal
        mode = param_text(call.params, "mode")
        if mode not in ("0", "3"):
            return api_error(10001, "params error: mode invalid")
        symbol = param_text(call.params, "symbol")
        coin = param_text(call.params, "coin")

        def quoted() -> list[str]:
            return [s for s, r in self.ledger.rules.items() if r.quote == coin]

        symbols = self._named_symbols(symbol, quoted if coin is not None else None, "symbol or coin")
        if isinstance(symbols, Reply):
            return symbols
        hedge = mode == "3"
        if all(self.hedge(s) == hedge for s in symbols):
            return api_error(110025, "Position mode is not modified")
        for s in symbols:
            if account.position(s).qty != 0 or self.ledger.open_orders(account, s):
                return api_error(110024, "You have an existing position, so the position mode cannot be switched.")
        for s in symbols:
            self._hedge_mode[("*", s)] = hedge
        return Reply()
