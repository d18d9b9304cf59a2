"""The fake venues' ledger: matching by the paper executor's rules, filters, balances, positions."""

from __future__ import annotations

from decimal import Decimal as D  # noqa: N817 - short for the many literals below

import pytest

from arb.sim.funding import FundingAnnouncements, Settlement
from arb.sim.ledger import (
    ExecType,
    FundingPayment,
    Ledger,
    LedgerEvent,
    OrderStatus,
    OrderType,
    RejectReason,
    Side,
    SymbolRules,
    TimeInForce,
    VenueRejectError,
)

BIDS = [("100.00", "1.0"), ("99.90", "2.0"), ("99.80", "5.0")]
ASKS = [("100.10", "0.5"), ("100.20", "1.5"), ("100.30", "4.0")]


class Book:
    """A settable book and version counter standing in for the public fake."""

    def __init__(self) -> None:
        self.bids, self.asks, self.version = list(BIDS), list(ASKS), 0

    def levels(self, symbol: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        return self.bids, self.asks

    def move(self, bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> None:
        self.bids, self.asks = bids, asks
        self.version += 1


def make(market: str = "spot", **options: object) -> tuple[Ledger, Book, list[LedgerEvent]]:
    book = Book()
    rules = SymbolRules.of("BTCUSDT", tick_size="0.01", step_size="0.001", min_notional="5")
    ledger = Ledger(
        market=market,  # type: ignore[arg-type]
        rules=[rules],
        book=book.levels,
        book_version=lambda: book.version,
        clock_ms=lambda: 1_700_000_000_000,
        **options,  # type: ignore[arg-type]
    )
    balances = {"BTC": "2", "USDT": "1000"} if market == "spot" else {"USDT": "1000"}
    ledger.add_account("alice", api_key="k1", api_secret="s1", balances=balances)
    events: list[LedgerEvent] = []
    ledger.subscribe("alice", events.append)
    return ledger, book, events


def ioc(ledger: Ledger, side: Side, qty: str, price: str, cid: str, **kw: object):  # type: ignore[no-untyped-def]
    return ledger.place(
        ledger.accounts["alice"], symbol="BTCUSDT", side=side, type=OrderType.LIMIT, qty=D(qty), price=D(price),
        time_in_force=TimeInForce.IOC, client_id=cid, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def refusal(ledger: Ledger, side: Side, qty: str, price: str, cid: str, **kw: object) -> RejectReason:
    """Why the ledger refuses this IOC order (the test fails if it accepts it)."""
    with pytest.raises(VenueRejectError) as caught:
        ioc(ledger, side, qty, price, cid, **kw)
    return caught.value.reason


def test_ioc_buy_takes_levels_best_first_and_expires_the_rest() -> None:
    ledger, _, events = make()
    order = ioc(ledger, Side.BUY, "3.0", "100.20", "c1")
    assert [(t.price, t.qty) for t in order.trades] == [(D("100.10"), D("0.5")), (D("100.20"), D("1.5"))]
    assert order.status is OrderStatus.EXPIRED and order.executed_qty == D("2.0")
    assert [e.exec_type for e in events] == [ExecType.NEW, ExecType.TRADE, ExecType.TRADE, ExecType.EXPIRED]
    assert events[1].status is OrderStatus.PARTIALLY_FILLED and events[1].executed_qty == D("0.5")
    alice = ledger.accounts["alice"]
    cost = D("100.10") * D("0.5") + D("100.20") * D("1.5")
    assert alice.balance("USDT").free == D("1000") - cost
    assert alice.balance("BTC").free == D("2") + D("2.0") * (1 - D("0.001"))  # fee in the coin received
    assert all(t.fee_asset == "BTC" for t in order.trades)


def test_liquidity_taken_is_not_taken_twice_until_the_book_changes() -> None:
    ledger, book, _ = make()
    first = ioc(ledger, Side.BUY, "0.4", "100.10", "c1")
    second = ioc(ledger, Side.BUY, "0.4", "100.10", "c2")
    assert first.executed_qty == D("0.4") and second.executed_qty == D("0.1")
    book.move(BIDS, ASKS)  # the venue's book changed: the level shows 0.5 again
    assert ioc(ledger, Side.BUY, "0.4", "100.10", "c3").executed_qty == D("0.4")


def test_sell_pays_the_fee_in_quote_and_quote_convention_is_available() -> None:
    ledger, _, _ = make(spot_fee_asset="quote")
    order = ioc(ledger, Side.BUY, "0.5", "100.10", "c1")
    alice = ledger.accounts["alice"]
    assert order.trades[0].fee_asset == "USDT" and alice.balance("BTC").free == D("2.5")
    sell = ioc(ledger, Side.SELL, "1.0", "100.00", "c2")
    assert sell.status is OrderStatus.FILLED and sell.trades[0].fee == D("0.1")


@pytest.mark.parametrize(
    ("side", "qty", "price", "reason"),
    [
        (Side.BUY, "0.1", "100.005", RejectReason.PRICE_TICK),
        (Side.BUY, "0.1005", "100.10", RejectReason.QTY_STEP),
        (Side.BUY, "0.0", "100.10", RejectReason.QTY_MIN),
        (Side.BUY, "0.01", "100.10", RejectReason.NOTIONAL_MIN),
        (Side.BUY, "20", "100.10", RejectReason.INSUFFICIENT_BALANCE),
        (Side.SELL, "3", "100.00", RejectReason.INSUFFICIENT_BALANCE),
        (Side.BUY, "0.1", "0.001", RejectReason.PRICE_RANGE),
    ],
)
def test_filters_reject_before_anything_changes(side: Side, qty: str, price: str, reason: RejectReason) -> None:
    ledger, _, events = make()
    assert refusal(ledger, side, qty, price, "c1") is reason
    assert events == [] and ledger.accounts["alice"].orders == []


def test_client_id_reuse_binance_after_done_bybit_never() -> None:
    binance, _, _ = make(client_id_scope="open")
    ioc(binance, Side.BUY, "0.1", "100.10", "same")
    assert ioc(binance, Side.BUY, "0.1", "100.10", "same").executed_qty == D("0.1")  # a second order!
    assert len(binance.accounts["alice"].orders) == 2
    bybit, _, _ = make(client_id_scope="all")
    ioc(bybit, Side.BUY, "0.1", "100.10", "same")
    assert refusal(bybit, Side.BUY, "0.1", "100.10", "same") is RejectReason.DUPLICATE_CLIENT_ID


def test_open_order_id_is_refused_even_on_binance() -> None:
    ledger, _, _ = make()
    alice = ledger.accounts["alice"]
    ledger.place(alice, symbol="BTCUSDT", side=Side.BUY, type=OrderType.LIMIT, qty=D("1"), price=D("90"),
                 client_id="rest")  # fmt: skip
    assert refusal(ledger, Side.BUY, "0.1", "100.10", "rest") is RejectReason.DUPLICATE_CLIENT_ID


def test_resting_order_locks_funds_fills_when_crossed_and_cancel_unlocks() -> None:
    ledger, book, events = make()
    alice = ledger.accounts["alice"]
    order = ledger.place(alice, symbol="BTCUSDT", side=Side.BUY, type=OrderType.LIMIT, qty=D("1"), price=D("99"),
                         client_id="gtc")  # fmt: skip
    assert order.status is OrderStatus.NEW
    assert alice.balance("USDT").locked == D("99") and alice.balance("USDT").free == D("901")
    book.move([("98.00", "1")], [("98.50", "0.4")])
    ledger.on_book_change("BTCUSDT")
    assert order.status is OrderStatus.PARTIALLY_FILLED and order.trades[-1].is_maker
    assert order.trades[-1].price == D("99")  # a maker fills at its own price
    assert alice.balance("USDT").locked == D("0.6") * D("99")
    cancelled = ledger.cancel(alice, "BTCUSDT", client_id="gtc")
    assert cancelled is order and order.status is OrderStatus.CANCELED
    assert alice.balance("USDT").locked == 0
    assert events[-1].exec_type is ExecType.CANCELED
    assert ledger.cancel(alice, "BTCUSDT", client_id="gtc") is None  # nothing open any more


def test_linear_positions_realise_pnl_and_reduce_only_is_enforced() -> None:
    ledger, book, _ = make("linear")
    alice = ledger.accounts["alice"]
    ioc(ledger, Side.BUY, "1.0", "100.20", "open")
    position = alice.position("BTCUSDT")
    assert position.qty == D("1.0")
    assert position.entry_price == (D("100.10") * D("0.5") + D("100.20") * D("0.5")) / 1
    assert refusal(ledger, Side.BUY, "0.1", "100.30", "more", reduce_only=True) is RejectReason.REDUCE_ONLY
    book.move([("101.00", "5")], ASKS)
    close = ioc(ledger, Side.SELL, "1.0", "101.00", "close", reduce_only=True)
    assert close.status is OrderStatus.FILLED and position.qty == 0
    assert position.realized_pnl == D("101.00") - D("100.15")
    fees = sum(t.fee for t in alice.trades)
    assert alice.balance("USDT").free == D("1000") + position.realized_pnl - fees


def test_linear_margin_is_checked() -> None:
    ledger, book, _ = make("linear")
    book.move(BIDS, [("100.10", "1000")])
    # 10,010 notional / 10x = 1,001 margin > 1,000
    assert refusal(ledger, Side.BUY, "100", "100.10", "big") is RejectReason.INSUFFICIENT_BALANCE
    assert ioc(ledger, Side.BUY, "90", "100.10", "ok").status is OrderStatus.FILLED


def test_an_order_can_stay_invisible_to_queries_for_a_while() -> None:
    ledger, _, _ = make()
    order = ioc(ledger, Side.BUY, "0.1", "100.10", "late", hidden_queries=2)
    alice = ledger.accounts["alice"]
    assert ledger.find(alice, "BTCUSDT", client_id="late") is None
    assert ledger.find(alice, "BTCUSDT", client_id="late") is None
    assert ledger.find(alice, "BTCUSDT", client_id="late") is order
    assert ledger.trades(alice, "BTCUSDT") == order.trades  # the fill itself was real all along


def test_fok_and_post_only() -> None:
    ledger, _, _ = make()
    alice = ledger.accounts["alice"]
    with pytest.raises(VenueRejectError):
        ledger.place(alice, symbol="BTCUSDT", side=Side.BUY, type=OrderType.LIMIT, qty=D("1"), price=D("100.10"),
                     time_in_force=TimeInForce.FOK, client_id="fok")  # fmt: skip
    post = ledger.place(alice, symbol="BTCUSDT", side=Side.BUY, type=OrderType.LIMIT, qty=D("0.1"),
                        price=D("100.10"), time_in_force=TimeInForce.POST_ONLY, client_id="post")  # fmt: skip
    assert post.status is OrderStatus.EXPIRED and post.executed_qty == 0
    (refusal,) = ledger.post_only_refusals
    assert (refusal.client_id, refusal.side, refusal.price, refusal.refused) == ("post", Side.BUY, D("100.10"), False)


@pytest.mark.parametrize("fraction", [None, D("0")])
def test_a_post_only_that_would_take_is_refused_unrecorded_where_the_venue_refuses_it(fraction: D | None) -> None:
    # Binance refuses LIMIT_MAKER (-2010) and GTX (-5022) at once: nothing recorded, no event. A partial-fill
    # fault caps what an order may take, not whether a post-only order would take.
    ledger, _, events = make(post_only_taking="reject")
    alice = ledger.accounts["alice"]
    with pytest.raises(VenueRejectError) as caught:
        ledger.place(alice, symbol="BTCUSDT", side=Side.BUY, type=OrderType.LIMIT, qty=D("0.1"), price=D("100.10"),
                     time_in_force=TimeInForce.POST_ONLY, client_id="taker", fill_fraction=fraction)  # fmt: skip
    assert caught.value.reason is RejectReason.POST_ONLY_TAKES
    assert alice.orders == [] and events == [] and ledger.order_requests == [("alice", "taker")]
    assert [(r.client_id, r.refused) for r in ledger.post_only_refusals] == [("taker", True)]
    assert alice.balance("USDT").free == D("1000") and alice.balance("USDT").locked == 0
    rests = ledger.place(alice, symbol="BTCUSDT", side=Side.BUY, type=OrderType.LIMIT, qty=D("0.1"),
                         price=D("100.09"), time_in_force=TimeInForce.POST_ONLY, client_id="maker")  # fmt: skip
    assert rests.status is OrderStatus.NEW and [e.exec_type for e in events] == [ExecType.NEW]


def test_market_order_takes_what_the_book_has() -> None:
    ledger, _, _ = make()
    alice = ledger.accounts["alice"]
    order = ledger.place(alice, symbol="BTCUSDT", side=Side.SELL, type=OrderType.MARKET, qty=D("1.5"),
                         client_id="mkt")  # fmt: skip
    assert [(t.price, t.qty) for t in order.trades] == [(D("100.00"), D("1.0")), (D("99.90"), D("0.5"))]
    assert order.status is OrderStatus.FILLED


def test_trade_history_filters() -> None:
    ledger, _, _ = make()
    ioc(ledger, Side.BUY, "1.0", "100.20", "a")
    alice = ledger.accounts["alice"]
    trades = ledger.trades(alice, "BTCUSDT")
    assert len(trades) == 2
    assert ledger.trades(alice, "BTCUSDT", from_id=trades[1].trade_id) == [trades[1]]
    assert ledger.trades(alice, "BTCUSDT", limit=1) == [trades[1]]  # the newest, as the venues do


def test_fok_the_book_cannot_fill_expires_when_the_venue_says_so() -> None:
    ledger, _, events = make(fok_unfilled="expire")
    alice = ledger.accounts["alice"]
    fok = ledger.place(alice, symbol="BTCUSDT", side=Side.BUY, type=OrderType.LIMIT, qty=D("1"), price=D("100.10"),
                       time_in_force=TimeInForce.FOK, client_id="fok")  # fmt: skip
    assert fok.status is OrderStatus.EXPIRED and fok.executed_qty == 0 and alice.orders == [fok]
    assert [e.exec_type for e in events] == [ExecType.EXPIRED]
    assert alice.balance("USDT").free == D("1000")  # nothing taken, nothing locked


def test_a_fill_fraction_caps_what_an_order_takes_and_the_rest_expires() -> None:
    ledger, _, events = make()
    order = ioc(ledger, Side.BUY, "1.5", "100.20", "c1", fill_fraction=D("0.5"))  # the book has 2.0 up to 100.20
    assert [(t.price, t.qty) for t in order.trades] == [(D("100.10"), D("0.5")), (D("100.20"), D("0.25"))]
    assert order.status is OrderStatus.EXPIRED and order.executed_qty == D("0.75")
    assert events[-1].exec_type is ExecType.EXPIRED
    odd = ioc(ledger, Side.SELL, "0.107", "99.00", "c2", fill_fraction=D("0.5"))  # 0.0535 rounds down to the step
    assert odd.executed_qty == D("0.053")
    nothing = ioc(ledger, Side.SELL, "0.5", "99.00", "c3", fill_fraction=D("0"))
    assert nothing.status is OrderStatus.EXPIRED and nothing.executed_qty == 0 and not nothing.trades


def test_every_order_presented_is_logged_with_its_client_id_refused_copies_included() -> None:
    ledger, _, _ = make(client_id_scope="all")
    ioc(ledger, Side.BUY, "0.1", "100.10", "once")
    with pytest.raises(VenueRejectError):
        ioc(ledger, Side.BUY, "0.1", "100.10", "once")
    assert ledger.order_requests == [("alice", "once"), ("alice", "once")]
    assert len(ledger.accounts["alice"].orders) == 1


# -- funding ---------------------------------------------------------------------------------------


def test_funding_moves_each_position_held_at_the_funding_time_into_its_wallet() -> None:
    # alice long 1.0 and bob short 1.5 before the funding time at 5 s; alice buys 0.5 more after it.
    book, clock = Book(), [1_000]
    rules = SymbolRules.of("BTCUSDT", tick_size="0.01", step_size="0.001", min_notional="5")
    ledger = Ledger(market="linear", rules=[rules], book=book.levels, book_version=lambda: book.version,
                    clock_ms=lambda: clock[0], taker_fee=D("0.0005"))  # fmt: skip
    heard: dict[str, list[object]] = {}
    for name in ("alice", "bob"):
        ledger.add_account(name, api_key=name, api_secret="s", balances={"USDT": "1000"})
        ledger.subscribe(name, heard.setdefault(name, []).append)
    alice, bob = ledger.accounts["alice"], ledger.accounts["bob"]
    for account, side, qty, price in ((alice, Side.BUY, "1.0", "100.20"), (bob, Side.SELL, "1.5", "99.90")):
        ledger.place(account, symbol="BTCUSDT", side=side, type=OrderType.LIMIT, qty=D(qty), price=D(price),
                     time_in_force=TimeInForce.IOC, client_id=f"{account.name}-open")  # fmt: skip
    clock[0] = 6_000
    ledger.place(alice, symbol="BTCUSDT", side=Side.BUY, type=OrderType.LIMIT, qty=D("0.5"), price=D("100.30"),
                 time_in_force=TimeInForce.IOC, client_id="alice-after")  # fmt: skip
    assert alice.position("BTCUSDT").qty == D("1.5") and bob.position("BTCUSDT").qty == D("-1.5")
    wallets = {a.name: a.balance("USDT").free for a in (alice, bob)}
    clock[0] = 6_100
    booked = ledger.settle_funding("BTCUSDT", 5_000, D("0.0001"), D("100.05"))
    # by hand: -position x mark x rate, on the position held at 5 s (alice's later 0.5 is not charged)
    assert [(p.account, p.position, p.payment) for p in booked] == [
        ("alice", D("1.0"), D("-0.01000500")),  # a long pays a positive rate: 1.0 x 100.05 x 0.0001
        ("bob", D("-1.5"), D("0.01500750")),  # a short receives it: 1.5 x 100.05 x 0.0001
    ]
    for account, payment in zip((alice, bob), booked, strict=True):
        assert account.balance("USDT").free == wallets[account.name] + payment.payment
        assert payment.balance == account.balance("USDT").total
        assert (payment.funding_ms, payment.time_ms, payment.rate, payment.mark_price) == (
            5_000, 6_100, D("0.0001"), D("100.05"))  # fmt: skip
        assert account.fundings == [payment] and account.position("BTCUSDT").funding == payment.payment
        assert [e for e in heard[account.name] if isinstance(e, FundingPayment)] == [payment]
    assert booked[0].payment_id != booked[1].payment_id
    # each funding time is settled once, however often it is announced; an unknown symbol has none
    assert ledger.settle_funding("BTCUSDT", 5_000, D("0.0001"), D("100.05")) == []
    assert ledger.settle_funding("ETHUSDT", 5_000, D("0.0001"), D("100.05")) == []
    assert alice.fundings == [booked[0]]


def test_a_flat_position_and_a_spot_account_book_no_funding() -> None:
    ledger, _, events = make("linear")
    assert ledger.settle_funding("BTCUSDT", 5_000, D("0.0001"), D("100")) == []  # nothing held
    spot, _, spot_events = make("spot")
    ioc(spot, Side.BUY, "1.0", "100.20", "coins")
    before = {asset: (b.free, b.locked) for asset, b in spot.accounts["alice"].balances.items()}
    assert spot.settle_funding("BTCUSDT", 5_000, D("0.0001"), D("100")) == []
    assert {asset: (b.free, b.locked) for asset, b in spot.accounts["alice"].balances.items()} == before
    assert not spot.accounts["alice"].fundings
    assert not [e for e in events + spot_events if isinstance(e, FundingPayment)]


def test_announcements_settle_a_funding_time_when_the_next_one_is_announced() -> None:
    announced = FundingAnnouncements()
    assert announced.announce("BTCUSDT", mark_price=D("60000"), rate=D("0.0001"), next_funding_ms=8_000) is None
    assert announced.announce("BTCUSDT", mark_price=D("60010")) is None  # a Bybit delta: the mark alone
    assert announced.announce("ETHUSDT", rate=D("0.0005"), next_funding_ms=9_000) is None  # another symbol
    # the next funding time moves on: the one before passed, at its rate and the mark price last announced
    # before this message (not the one it brings)
    passed = announced.announce("BTCUSDT", mark_price=D("60020"), rate=D("0.0002"), next_funding_ms=16_000)
    assert passed == Settlement("BTCUSDT", 8_000, D("0.0001"), D("60010"))
    assert announced.announce("BTCUSDT", mark_price=D("60030"), rate=D("0.0002"), next_funding_ms=16_000) is None
    # a symbol with no mark price announced yet settles nothing (the venue could not have priced it)
    assert announced.announce("ETHUSDT", next_funding_ms=17_000) is None
