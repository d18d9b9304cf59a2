"""Run the fake private Bybit in a process of its own, for demos and benchmarks.

    python -m arb.sim.bybit.serve spot --recording recordings/bybit_spot/btcusdt_20240808.gz \\
        --key KEY --secret SECRET --balance USDT=100000 --balance BTC=50

prints one JSON line with its URLs (``rest``, ``ws``, ``ws_private``, ``ws_trade``) once the book is synced, then
serves until stdin closes or it gets SIGTERM/SIGINT. Rate limits are lifted (``--no-limits``) for
benchmarks. Trading rules are the shipped venue file's BTCUSDT rules unless ``--tick``/``--step`` say
otherwise.
"""

from __future__ import annotations

__all__ = ["main"]

import argparse
import asyncio
from decimal import Decimal

from arb.sim.ledger import SymbolRules
from arb.sim.serving import announce_synced, serve_parser


async def _serve(args: argparse.Namespace) -> None:
    from arb.sim.bybit.exchange import FakeBybitExchange

    rules = SymbolRules(args.symbol, args.base, args.quote, tick_size=Decimal(args.tick), step_size=Decimal(args.step),
                        min_qty=Decimal(args.step), min_notional=Decimal(args.min_notional))  # fmt: skip
    options = {"ip_limit": None, "rate_limits": {"/v5/order/create": 10**9}} if args.no_limits else {}
    async with FakeBybitExchange(args.recording, market=args.market, rules=[rules], **options) as venue:  # type: ignore[arg-type]
        balances = dict(b.split("=", 1) for b in args.balance)
        venue.add_account("arb", api_key=args.key, api_secret=args.secret, balances=balances)
        urls = {"rest": venue.rest_url, "ws": venue.ws_urls[0], "ws_private": venue.private_ws_url,
                "ws_trade": venue.trade_ws_url}  # fmt: skip
        await announce_synced(venue, args.symbol, "orderbook.", urls)


def main(argv: list[str] | None = None) -> None:
    parser = serve_parser("arb.sim.bybit.serve", __doc__)
    parser.add_argument("--symbol", default="BTCUSDT")
    parser.add_argument("--base", default="BTC")
    parser.add_argument("--quote", default="USDT")
    parser.add_argument("--tick", default="0.1")
    parser.add_argument("--step", default="0.000001")
    parser.add_argument("--min-notional", default="5")
    parser.add_argument("--key", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--balance", action="append", default=[], metavar="ASSET=AMOUNT")
    parser.add_argument("--no-limits", action="store_true", help="lift the request-rate limits")
    asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
