"""``arb fees [--write]``: the account's fees as the venues charge them, beside the configured ones.

Reads the rates of each venue of ``[strategy] venues`` for every ``[strategy] symbols`` with the configured
keys (the venue's adapter asks its fee endpoint, e.g. Binance spot ``GET /api/v3/account/commission``) and
prints them beside the configuration's ``[fees]``. ``--write`` stores them in
:data:`~arb.config.ACCOUNT_FEES_FILE` in ``[live] state_dir``, which every command then reads instead of
the venue files' ``[fees]`` (a backtest and a dry run count the account's fees), and says so. ``arb check``
prints the same lines for each venue whose key is set.
"""

from __future__ import annotations

__all__ = ["COMMAND", "fee_lines"]

import argparse
import asyncio
import sys

from arb.command_line import Command, exit_codes_help
from arb.config import ACCOUNT_FEES_FILE, AppConfig, load_config, require_credentials


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--write",
        action="store_true",
        help=f"store the rates in [live] state_dir/{ACCOUNT_FEES_FILE}, where the backtest and the dry run read them",
    )


async def _read(config: AppConfig, venues: list[int]) -> tuple[list[str], str]:
    from arb.live.account_fees import differs, fees_file_text, read_rates
    from arb.live.trading_session import reading_session

    async with reading_session(config, venues) as session:
        rates = await read_rates(session.executors)
    lines = []
    for v, fees in sorted(rates.items()):
        venue = config.venues[v]
        mine = venue.fees
        lines.append(f"{venue.name} {venue.market} ({venue.network}), configured maker {mine.maker * 1e4:g} taker "
                     f"{mine.taker * 1e4:g} bps ({mine.source or venue.path}):")  # fmt: skip
        for f in fees:
            coin = f", paid in {f.coin}" if f.coin else ""
            lines.append(f"  {f.symbol}: maker {float(f.maker) * 1e4:g} taker {float(f.taker) * 1e4:g} bps{coin} "
                         f"({f.detail})")  # fmt: skip
    found = [f"{config.venues[v].name} {f.symbol}" for v, fees in rates.items() for f in fees if differs(config, v, f)]
    lines.append(f"differs from the configured fees: {', '.join(found)}" if found else "as configured")
    return lines, fees_file_text(config, rates)


def fee_lines(config: AppConfig, venues: list[int]) -> list[str]:
    """What ``arb fees`` prints of ``venues`` (numbers in the run, keys set): each symbol's rates as the
    account pays them, beside the configured ones."""
    return asyncio.run(_read(config, venues))[0]


def _cmd_fees(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    venues = list(range(len(config.venues)))
    require_credentials(config, venues)  # every missing key named at once, before anything connects
    lines, text = asyncio.run(_read(config, venues))
    sys.stdout.write("\n".join(lines) + "\n")
    path = config.live.state_dir / ACCOUNT_FEES_FILE
    if args.write:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        sys.stdout.write(f"wrote {path}: every arb command (backtest, dry-run, sweep, live) now reads these rates "
                         "instead of the venue files' [fees]; delete it to go back\n")  # fmt: skip
    else:
        sys.stdout.write(f"arb fees --write stores them in {path}, where the backtest and the dry run read them\n")
    return 0


COMMAND = Command(
    "fees",
    _cmd_fees,
    help="the account's fees as the venues charge them, beside the configured ones; --write stores them",
    description="Read each venue's fee rates for every traded symbol with the configured keys and print them "
    "beside the venue files' [fees]. --write stores them (each venue's highest rate over the symbols) in "
    f"[live] state_dir/{ACCOUNT_FEES_FILE}, which every command then reads instead of [fees].",
    arguments=_add_arguments,
    epilog=exit_codes_help("never"),
)
"""``arb fees``: the account's fee rates, and where the backtest and the dry run read them."""
