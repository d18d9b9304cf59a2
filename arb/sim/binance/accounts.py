"""The fake private Binance's account endpoints: spot's account and commission rates and USD-M's balances,
account, positions, income and commission rate, the fee coin's price, the USD-M settings (leverage, margin
type, position mode) and the dead-man's switch (``countdownCancelAll``).

:class:`BinanceAccounts` is a part of :class:`~arb.sim.binance.exchange.FakeBinanceExchange`, usable
alone: its handlers take a :class:`~arb.sim.binance.calls.Call` and return a
:class:`~arb.sim.binance.calls.Reply`, with no HTTP in between.
"""

from __future__ import annotations

__all__ = ["BinanceAccounts"]

import logging
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import Any

from arb.sim.binance.calls import (
    DAY_MS,
    FIRST_TRADE_TRAN_ID,
    INCOME_TYPES,
    Call,
    CountdownTrigger,
    Endpoint,
    Reply,
    api_error,
    int_param,
    mandatory,
    rules_of,
    symbol_and_int,
)
from arb.sim.binance.symbols import BinanceMarket
from arb.sim.binance.wire import fixed, funding_income, income_entry, position_risk
from arb.sim.ledger import FEE_COIN_DISCOUNT, ZERO, Ledger, LedgerAccount

logger = logging.getLogger(__name__)


class BinanceAccounts:
    """The account and settings handlers of ``ledger``'s accounts, and the countdowns they arm.

    ``clock``: the venue's time (seconds); ``mark_price``: a symbol's mark price (the book's mid; ``None``
    for an empty book); ``max_leverage`` and ``maintenance_rate``: USD-M's terms, one bracket for all.
    """

    def __init__(
        self,
        ledger: Ledger,
        *,
        market: BinanceMarket,
        clock: Callable[[], float],
        mark_price: Callable[[str], Decimal | None],
        max_leverage: int,
        maintenance_rate: Decimal,
    ) -> None:
        self.ledger = ledger
        self.market = market
        self.max_leverage = max_leverage
        self.maintenance_rate = maintenance_rate
        self.countdown_triggers: list[CountdownTrigger] = []
        """Every countdown that ran out, with the orders it cancelled."""
        self._clock = clock
        self._mark_price = mark_price
        self._countdowns: dict[tuple[str, str], tuple[int, float]] = {}
        self._dual: dict[str, bool] = {}
        self._margin_type: dict[tuple[str, str], str] = {}

    def endpoints(self) -> dict[tuple[str, str], Endpoint]:
        """The account endpoints of the market, by method and path."""
        if self.market == "spot":
            return {
                ("GET", "/api/v3/account"): Endpoint(self._spot_account, 20, "signed", "query"),
                ("GET", "/api/v3/account/commission"): Endpoint(self._spot_commission, 20, "signed"),
                ("GET", "/api/v3/ticker/price"): Endpoint(self._coin_price, 2, "none"),
            }
        return {
            ("GET", "/fapi/v1/commissionRate"): Endpoint(self._commission_rate, 20, "signed"),
            ("GET", "/fapi/v1/ticker/price"): Endpoint(self._coin_price, 2, "none"),
            ("GET", "/fapi/v2/balance"): Endpoint(self._futures_balance, 5, "signed", "query"),
            ("GET", "/fapi/v3/balance"): Endpoint(self._futures_balance, 5, "signed", "query"),
            ("GET", "/fapi/v2/account"): Endpoint(partial(self._futures_account, v2=True), 5, "signed", "query"),
            ("GET", "/fapi/v3/account"): Endpoint(partial(self._futures_account, v2=False), 5, "signed", "query"),
            ("GET", "/fapi/v2/positionRisk"): Endpoint(partial(self._position_risk, v2=True), 5, "signed", "query"),
            ("GET", "/fapi/v3/positionRisk"): Endpoint(partial(self._position_risk, v2=False), 5, "signed", "query"),
            ("GET", "/fapi/v1/income"): Endpoint(self._income, 30, "signed", "query"),
            ("POST", "/fapi/v1/countdownCancelAll"): Endpoint(self._countdown, 10, "signed"),
            ("POST", "/fapi/v1/leverage"): Endpoint(self._set_leverage, 1, "signed"),
            ("GET", "/fapi/v1/leverageBracket"): Endpoint(self._leverage_brackets, 1, "signed"),
            ("POST", "/fapi/v1/marginType"): Endpoint(self._set_margin_type, 1, "signed"),
            ("GET", "/fapi/v1/positionSide/dual"): Endpoint(self._get_dual, 30, "signed"),
            ("POST", "/fapi/v1/positionSide/dual"): Endpoint(self._set_dual, 1, "signed"),
        }

    def margin_type(self, account: str, symbol: str) -> str:
        """USD-M: ``"cross"`` or ``"isolated"``, the account's margin type of ``symbol``."""
        return "isolated" if self._margin_type.get((account, symbol)) == "ISOLATED" else "cross"

    def position_mode(self, account: str) -> str:
        """USD-M: ``"one-way"`` or ``"hedge"`` (``positionSide/dual``)."""
        return "hedge" if self.dual(account) else "one-way"

    def dual(self, account: str) -> bool:
        """Whether ``account`` is in hedge mode."""
        return self._dual.get(account, False)

    def countdowns(self, account: str) -> dict[str, float]:
        """``account``'s running countdowns: symbol -> venue time (s) it cancels the symbol's orders at."""
        return {symbol: deadline for (name, symbol), (_, deadline) in self._countdowns.items() if name == account}

    def check_countdowns(self) -> None:
        """Cancel the open orders of every countdown that ran out by now."""
        now = self._clock()
        for key, (_, deadline) in list(self._countdowns.items()):
            if now < deadline:
                continue
            del self._countdowns[key]
            name, symbol = key
            account = self.ledger.accounts[name]
            cancelled = [o.order_id for o in self.ledger.cancel_all(account, symbol)]
            self.countdown_triggers.append(CountdownTrigger(name, symbol, now, tuple(cancelled)))
            logger.info("countdown cancel: %s %s: cancelled %d orders", name, symbol, len(cancelled))

    # -- account handlers --------------------------------------------------------------------------

    def _spot_account(self, call: Call) -> Reply:
        """``GET /api/v3/account`` (``omitZeroBalances=true`` leaves out empty assets)."""
        account = call.account
        assert account is not None
        omit = (call.params.get("omitZeroBalances") or "false").lower() == "true"
        maker = int(self.ledger.maker_fee * 10_000)
        taker = int(self.ledger.taker_fee * 10_000)
        balances = [
            {"asset": asset, "free": fixed(b.free), "locked": fixed(b.locked)}
            for asset, b in sorted(account.balances.items())
            if not (omit and b.total == 0)
        ]
        return Reply(body={
            "makerCommission": maker, "takerCommission": taker, "buyerCommission": 0, "sellerCommission": 0,
            "commissionRates": {"maker": fixed(self.ledger.maker_fee), "taker": fixed(self.ledger.taker_fee),
                                "buyer": "0.00000000", "seller": "0.00000000"},
            "canTrade": account.can_trade, "canWithdraw": True, "canDeposit": True, "brokered": False,
            "requireSelfTradePrevention": False, "preventSor": False, "updateTime": call.now_ms,
            "accountType": "SPOT", "balances": balances, "permissions": ["SPOT"], "uid": 354937868,
        })  # fmt: skip

    def _symbol(self, call: Call) -> str | Reply:
        symbol = call.params.get("symbol")
        if not symbol:
            return mandatory("symbol")
        return symbol if symbol in self.ledger.rules else api_error(-1121, "Invalid symbol.")

    def _spot_commission(self, call: Call) -> Reply:
        """``GET /api/v3/account/commission?symbol=S``: the ledger's rates as the standard part; with a fee
        coin (``VenueOptions.fee_coin``) the discount is on and the ledger charges the rate times it in the coin."""
        symbol = self._symbol(call)
        if isinstance(symbol, Reply):
            return symbol
        coin = self.ledger.fee_coin[0] if self.ledger.fee_coin else ""
        none = {"maker": "0.00000000", "taker": "0.00000000", "buyer": "0.00000000", "seller": "0.00000000"}
        standard = {**none, "maker": fixed(self.ledger.maker_fee), "taker": fixed(self.ledger.taker_fee)}
        return Reply(body={
            "symbol": symbol, "standardCommission": standard, "specialCommission": none, "taxCommission": none,
            "discount": {"enabledForAccount": bool(coin), "enabledForSymbol": bool(coin),
                         "discountAsset": coin or "BNB", "discount": fixed(FEE_COIN_DISCOUNT)},
        })  # fmt: skip

    def _commission_rate(self, call: Call) -> Reply:
        """``GET /fapi/v1/commissionRate?symbol=S``: ``{"symbol","makerCommissionRate","takerCommissionRate"}``."""
        symbol = self._symbol(call)
        if isinstance(symbol, Reply):
            return symbol
        return Reply(body={"symbol": symbol, "makerCommissionRate": str(self.ledger.maker_fee),
                           "takerCommissionRate": str(self.ledger.taker_fee)})  # fmt: skip

    def _coin_price(self, call: Call) -> Reply:
        """``GET /api/v3/ticker/price?symbol=BNBUSDT`` (USD-M's ``/fapi/v1/ticker/price`` alike): the fee
        coin's price (``VenueOptions.fee_coin``, changed by setting ``ledger.fee_coin``) against ``quote``;
        the ledger's other symbols have no ticker here (``-1121``)."""
        coin, price = self.ledger.fee_coin or ("", ZERO)
        quotes = {rules.quote for rules in self.ledger.rules.values()}
        asked = call.params.get("symbol", "")
        if not coin or asked not in {coin + quote for quote in quotes}:
            return api_error(-1121, "Invalid symbol.")
        return Reply(body={"symbol": asked, "price": fixed(price)})

    def _margins(self, account: LedgerAccount) -> dict[str, Decimal]:
        settle = self.ledger.settle_asset
        wallet = account.balance(settle)
        upl = position_im = mm = ZERO
        for position in account.positions.values():
            if not position.qty:
                continue
            mark = self._mark_price(position.symbol) or position.entry_price
            upl += (mark - position.entry_price) * position.qty
            position_im += abs(position.qty) * mark / position.leverage
            mm += abs(position.qty) * mark * self.maintenance_rate
        total = wallet.total
        available = total + upl - position_im - wallet.locked
        return {"wallet": total, "upl": upl, "position_im": position_im, "order_im": wallet.locked, "mm": mm,
                "available": available}  # fmt: skip

    def _futures_balance(self, call: Call) -> Reply:
        """``GET /fapi/v2/balance`` (and v3): one row per asset of the wallet."""
        account = call.account
        assert account is not None
        m = self._margins(account)
        settle = self.ledger.settle_asset
        rows = [
            {
                "accountAlias": "SgsR",
                "asset": asset,
                "balance": fixed(m["wallet"] if asset == settle else b.total),
                "crossWalletBalance": fixed(m["wallet"] if asset == settle else b.total),
                "crossUnPnl": fixed(m["upl"] if asset == settle else ZERO),
                "availableBalance": fixed(m["available"] if asset == settle else b.free),
                "maxWithdrawAmount": fixed(m["available"] if asset == settle else b.free),
                "marginAvailable": True,
                "updateTime": call.now_ms,
            }
            for asset, b in sorted(account.balances.items())
        ]
        return Reply(body=rows)

    def _futures_account(self, call: Call, *, v2: bool) -> Reply:
        account = call.account
        assert account is not None
        m = self._margins(account)
        settle = self.ledger.settle_asset
        totals = {
            "totalInitialMargin": fixed(m["position_im"] + m["order_im"]),
            "totalMaintMargin": fixed(m["mm"]),
            "totalWalletBalance": fixed(m["wallet"]),
            "totalUnrealizedProfit": fixed(m["upl"]),
            "totalMarginBalance": fixed(m["wallet"] + m["upl"]),
            "totalPositionInitialMargin": fixed(m["position_im"]),
            "totalOpenOrderInitialMargin": fixed(m["order_im"]),
            "totalCrossWalletBalance": fixed(m["wallet"]),
            "totalCrossUnPnl": fixed(m["upl"]),
            "availableBalance": fixed(m["available"]),
            "maxWithdrawAmount": fixed(m["available"]),
        }
        asset = {
            "asset": settle, "walletBalance": totals["totalWalletBalance"],
            "unrealizedProfit": totals["totalUnrealizedProfit"], "marginBalance": totals["totalMarginBalance"],
            "maintMargin": totals["totalMaintMargin"], "initialMargin": totals["totalInitialMargin"],
            "positionInitialMargin": totals["totalPositionInitialMargin"],
            "openOrderInitialMargin": totals["totalOpenOrderInitialMargin"],
            "crossWalletBalance": totals["totalCrossWalletBalance"], "crossUnPnl": totals["totalCrossUnPnl"],
            "availableBalance": totals["availableBalance"], "maxWithdrawAmount": totals["maxWithdrawAmount"],
            "marginAvailable": True, "updateTime": call.now_ms,
        }  # fmt: skip
        positions = self._position_rows(account, None, v2=v2, all_symbols=v2)
        body: dict[str, Any] = {"feeTier": 0, "canTrade": account.can_trade, "canDeposit": True, "canWithdraw": True,
                                "updateTime": 0, "multiAssetsMargin": False, "tradeGroupId": -1, **totals,
                                "assets": [asset], "positions": positions}  # fmt: skip
        return Reply(body=body)

    def _position_rows(
        self, account: LedgerAccount, symbol: str | None, *, v2: bool, all_symbols: bool
    ) -> list[dict[str, Any]]:
        rows = []
        for name, rules in sorted(self.ledger.rules.items()):
            if symbol is not None and name != symbol:
                continue
            position = account.position(name)
            if not all_symbols and position.qty == 0 and not self.ledger.open_orders(account, name):
                continue
            trades = [t for t in account.trades if t.symbol == name]
            rows.append(position_risk(position, rules, mark=self._mark_price(name),
                                      maintenance_rate=self.maintenance_rate,
                                      updated_ms=trades[-1].time_ms if trades else 0, v2=v2,
                                      margin_type=self.margin_type(account.name, name)))  # fmt: skip
        return rows

    def _position_risk(self, call: Call, *, v2: bool) -> Reply:
        """``GET /fapi/v2/positionRisk`` (every symbol, or ``symbol``) or v3 (only symbols with a position
        or open orders)."""
        assert call.account is not None
        symbol = call.params.get("symbol")
        if symbol is not None and symbol not in self.ledger.rules:
            return api_error(-1121, "Invalid symbol.")
        return Reply(body=self._position_rows(call.account, symbol, v2=v2, all_symbols=v2))

    def _income(self, call: Call) -> Reply:
        """``GET /fapi/v1/income`` (``symbol``, ``incomeType``, ``startTime``, ``endTime`` inclusive, ``page``,
        ``limit`` default 100, at most 1000): the account's COMMISSION and REALIZED_PNL per trade and
        FUNDING_FEE per funding payment, oldest first; the last 7 days when neither time is sent."""
        account = call.account
        assert account is not None
        params = call.params
        symbol = params.get("symbol")
        if symbol is not None and symbol not in self.ledger.rules:
            return api_error(-1121, "Invalid symbol.")
        kind = params.get("incomeType")
        if kind is not None and kind not in INCOME_TYPES:
            return api_error(-1130, "Data sent for parameter 'incomeType' is not valid.")
        start, end = int_param(params, "startTime"), int_param(params, "endTime")
        if start is None and end is None:
            start, end = call.now_ms - 7 * DAY_MS, call.now_ms
        limit = max(1, min(int_param(params, "limit") or 100, 1000))
        page = max(1, int_param(params, "page") or 1)
        settle = self.ledger.settle_asset
        rows: list[dict[str, Any]] = []
        for k, trade in enumerate(account.trades):
            tran_id, trade_id = FIRST_TRADE_TRAN_ID + k, str(trade.trade_id)
            if trade.realized_pnl:
                rows.append(income_entry("REALIZED_PNL", trade.symbol, trade.realized_pnl, settle, trade.time_ms,
                                         tran_id, trade_id))  # fmt: skip
            rows.append(income_entry("COMMISSION", trade.symbol, -trade.fee, trade.fee_asset, trade.time_ms, tran_id,
                                     trade_id))  # fmt: skip
        rows += [funding_income(payment, settle) for payment in account.fundings]
        rows = [
            r for r in rows
            if (symbol is None or r["symbol"] == symbol) and (kind is None or r["incomeType"] == kind)
            and (start is None or r["time"] >= start) and (end is None or r["time"] <= end)
        ]  # fmt: skip
        rows.sort(key=lambda r: (r["time"], r["tranId"]))
        return Reply(body=rows[(page - 1) * limit : page * limit])

    # -- USD-M settings and the dead-man's switch ---------------------------------------------------

    def _countdown(self, call: Call) -> Reply:
        """``POST /fapi/v1/countdownCancelAll`` ``symbol``, ``countdownTime`` (ms, 0 stops it): unless
        renewed within the countdown, the symbol's open orders are cancelled."""
        if isinstance(asked := symbol_and_int(self.ledger.rules, call, "countdownTime"), Reply):
            return asked
        rules, countdown = asked
        assert call.account is not None
        key = (call.account.name, rules.symbol)
        if countdown <= 0:
            self._countdowns.pop(key, None)
        else:
            self._countdowns[key] = (countdown, self._clock() + countdown / 1000)
        return Reply(body={"symbol": rules.symbol, "countdownTime": str(countdown)})

    def _set_leverage(self, call: Call) -> Reply:
        """``POST /fapi/v1/leverage`` ``symbol``, ``leverage`` (1 to the symbol's maximum)."""
        if isinstance(asked := symbol_and_int(self.ledger.rules, call, "leverage"), Reply):
            return asked
        rules, leverage = asked
        assert call.account is not None
        if not 1 <= leverage <= self.max_leverage:
            return api_error(-4028, f"Leverage {leverage} is not valid")
        call.account.position(rules.symbol).leverage = Decimal(leverage)
        return Reply(body={"leverage": leverage, "maxNotionalValue": "1000000", "symbol": rules.symbol})

    def _leverage_brackets(self, call: Call) -> Reply:
        """``GET /fapi/v1/leverageBracket``: one bracket per symbol (the fake's maximum leverage and
        maintenance rate apply to any notional); ccxt reads it before a positions snapshot."""
        symbol = call.params.get("symbol")
        if symbol is not None and symbol not in self.ledger.rules:
            return api_error(-1121, "Invalid symbol.")
        rows = [
            {"symbol": name, "notionalCoef": 1.0, "brackets": [
                {"bracket": 1, "initialLeverage": self.max_leverage, "notionalCap": 1_000_000_000, "notionalFloor": 0,
                 "maintMarginRatio": float(self.maintenance_rate), "cum": 0.0}]}
            for name in sorted(self.ledger.rules) if symbol is None or name == symbol
        ]  # fmt: skip
        return Reply(body=rows)

    def _set_margin_type(self, call: Call) -> Reply:
        """``POST /fapi/v1/marginType`` ``ISOLATED``/``CROSSED`` (``-4046`` when unchanged). The fake keeps
        the setting and reports it; its margin arithmetic is cross-margin either way."""
        rules = rules_of(self.ledger.rules, call.params)
        if isinstance(rules, Reply):
            return rules
        assert call.account is not None
        wanted = call.params.get("marginType")
        if wanted not in ("ISOLATED", "CROSSED"):
            return mandatory("marginType")
        key = (call.account.name, rules.symbol)
        if self._margin_type.get(key, "CROSSED") == wanted:
            return api_error(-4046, "No need to change margin type.")
        if call.account.position(rules.symbol).qty or self.ledger.open_orders(call.account, rules.symbol):
            return api_error(-4048, "Margin type cannot be changed if there exists position.")
        self._margin_type[key] = wanted
        return Reply(body={"code": 200, "msg": "success"})

    def _get_dual(self, call: Call) -> Reply:
        assert call.account is not None
        return Reply(body={"dualSidePosition": self._dual.get(call.account.name, False)})

    def _set_dual(self, call: Call) -> Reply:
        """``POST /fapi/v1/positionSide/dual`` ``dualSidePosition`` ``true`` (hedge) or ``false`` (one-way)."""
        account = call.account
        assert account is not None
        wanted = (call.params.get("dualSidePosition") or "").lower()
        if wanted not in ("true", "false"):
            return mandatory("dualSidePosition")
        dual = wanted == "true"
        if self._dual.get(account.name, False) == dual:
            return api_error(-4059, "No need to change position side.")
        if any(p.qty for p in account.positions.values()) or self.ledger.open_orders(account):
            return api_error(-4068, "The position side cannot be changed if there exists position.")
        self._dual[account.name] = dual
        return Reply(body={"code": 200, "msg": "success"})
