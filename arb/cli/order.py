"""``arb order --venue VENUE [--symbol SYMBOL] --side buy|sell --qty Q --price P [--timeout 30s]``.

One immediate-or-cancel limit order through the very same path as ``arb live`` (reconcile first,
journal, send, unknown resolution, fills from the user stream:
:func:`arb.live.trading_session.place_one`), printed when done: a smoke test of keys and endpoints on
testnet or demo, and a handle for operations by hand. ``--venue`` is one of ``[strategy] venues``,
``--symbol`` one of ``[strategy] symbols`` (the first by default).
"""

from __future__ import annotations

__all__ = ["COMMAND"]

import argparse
import asyncio
import sys

from arb.cli.venue_option import add_venue_option, venue_numbers
from arb.command_line import Command, duration, exit_codes_help, positive_decimal
from arb.command_line import symbol as symbol_name
from arb.config import AppConfig, load_config, require_credentials
from arb.errors import UsageError


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    add_venue_option(parser, required=True, help_text="the venue to send it to, one of [strategy] venues")
    parser.add_argument(
        "--symbol", type=symbol_name, metavar="SYMBOL", help="one of [strategy] symbols (default: the first)"
    )
    parser.add_argument("--side", choices=("buy", "sell"), required=True)
    parser.add_argument("--qty", type=positive_decimal, required=True, help="base units, on the venue's lot grid")
    parser.add_argument("--price", type=positive_decimal, required=True, help="limit price")
    parser.add_argument("--reduce-only", action="store_true", help="linear venues: only reduce the position")
    parser.add_argument(
        "--timeout",
        type=duration,
        default=30_000_000_000,
        metavar="TIME",
        help="how long to wait for the order to be done (default: 30s)",
    )


def _symbol_number(config: AppConfig, name: str | None) -> int:
    # --symbol: its number in [strategy] symbols (the first when not given); another symbol is a usage error
    if name is None:
        return 0
    if name not in config.symbol_names:
        raise UsageError(
            f"arb order: --symbol: expected one of [strategy] symbols ({', '.join(config.symbol_names)}), got {name}"
        )
    return config.symbol_names.index(name)


def _cmd_order(args: argparse.Namespace) -> int:
    from arb.strategy.types import BUY, SELL

    config = load_config(args.config)
    [venue] = venue_numbers(config, args.venue, "arb order")
    side = BUY if args.side == "buy" else SELL
    number = _symbol_number(config, args.symbol)
    require_credentials(config, [venue])  # every missing key named at once, before anything connects
    from arb.live.trading_session import place_one

    order, reports = asyncio.run(
        place_one(
            config,
            venue,
            side,
            args.qty,
            args.price,
            reduce_only=args.reduce_only,
            timeout_ns=args.timeout,
            symbol=number,
        )
    )
    for report in reports:
        sys.stdout.write("\n".join(report.describe()) + "\n")
    lines = [f"order {order.client_id} ({order.symbol}): {order.state.value}"]
    for fill in order.fills.values():
        lines.append(f"  fill {fill.trade_id}: {fill.qty} @ {fill.price}, fee {fill.fee} {fill.fee_asset}")
    if order.rejection is not None:
        lines.append(f"  rejected: {order.rejection.code} {order.rejection.message}")
    if order.written_ns:
        lines.append(f"  intent -> request written {(order.written_ns - order.intent_ns) / 1e3:.0f} us")
    if not order.answered:
        lines.append("  NOT DONE: its outcome is still unknown; `arb reconcile` will find it out (never resend it)")
    sys.stdout.write("\n".join(lines) + "\n")
    if not order.answered:
        return 1
    if order.rejection is not None:
        raise UsageError(f"the venue rejected the order: {order.rejection.code} {order.rejection.message}")
    return 0


COMMAND = Command(
    "order",
    _cmd_order,
    help="place one immediate-or-cancel order through the live executor",
    description="Reconcile the venue, then send one IOC limit order through the journal and the live "
    "executor, and print it when done. For smoke tests on testnet or demo accounts and operations by hand.",
    arguments=_add_arguments,
    epilog=exit_codes_help("the order's outcome is still unknown (arb reconcile finds it out)"),
)
"""``arb order``: one immediate-or-cancel order by hand."""
