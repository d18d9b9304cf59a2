"""Run the fake private OKX in a process of its own, for demos and benchmarks.

    python -m arb.sim.okx.serve linear --recording recordings/okx_swap/btc-usdt-swap_20260601.gz \\
        --key KEY --secret SECRET --passphrase PASSPHRASE --balance USDT=100000

prints one JSON line with its URLs (``rest``, ``ws`` the public stream, ``ws_private``, ``ws_base``: ccxt pro's
``urls['api']['ws']``), the instrument's ``instIdCode`` (``code``) and the best ``bid`` and ``ask`` once the book
is synced, then serves until stdin closes or it gets SIGTERM/SIGINT. Rate limits are lifted (``--no-limits``) for
benchmarks. The instrument is ``--instrument`` (``BTC-USDT`` on spot, ``BTC-USDT-SWAP`` on linear) with OKX's
published rules for its kind (:data:`~arb.sim.okx.wire.DEFAULT_INSTRUMENTS`).
"""

from __future__ import annotations

__all__ = ["main"]

import argparse
import asyncio

from arb.sim.serving import announce_synced, serve_parser


async def _serve(args: argparse.Namespace) -> None:
    from arb.sim.okx.calls import DEFAULT_RATE_LIMITS
    from arb.sim.okx.exchange import FakeOkxExchange

    instrument = args.instrument or ("BTC-USDT-SWAP" if args.market == "linear" else "BTC-USDT")
    limits = {name: (10**9, 1.0) for name in DEFAULT_RATE_LIMITS} if args.no_limits else None
    async with FakeOkxExchange(args.recording, market=args.market, instruments=[instrument], rate_limits=limits,
                               demo=args.demo) as venue:  # fmt: skip
        balances = dict(b.split("=", 1) for b in args.balance)
        venue.add_account("arb", api_key=args.key, api_secret=args.secret, passphrase=args.passphrase,
                          balances=balances)  # fmt: skip
        urls = {"rest": venue.rest_url, "ws": venue.ws_urls[0], "ws_private": venue.private_ws_url,
                "ws_base": venue.ws_base_url, "code": venue.inst_id_code(instrument)}  # fmt: skip
        await announce_synced(venue, instrument, "books", urls)


def main(argv: list[str] | None = None) -> None:
    parser = serve_parser("arb.sim.okx.serve", __doc__)
    parser.add_argument("--instrument", default="", help="OKX's instrument id (default: BTC-USDT[-SWAP])")
    parser.add_argument("--key", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--passphrase", required=True)
    parser.add_argument("--balance", action="append", default=[], metavar="CCY=AMOUNT")
    parser.add_argument("--demo", action="store_true", help="OKX's demo trading: x-simulated-trading: 1 required")
    parser.add_argument("--no-limits", action="store_true", help="lift the request-rate limits")
    asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
