"""The account's own fees as the venues charge them: read at the start of ``arb live`` and ``arb order``
(and by ``arb check`` and ``arb fees``), compared with the configured ``[fees]``, journaled, put in the
kernels' parameters, and stored by ``arb fees --write`` where the backtest and the dry run read them
(:data:`~arb.config.ACCOUNT_FEES_FILE`).

The venues state rates per symbol (:class:`~connectors.common.private.AccountFees`: Binance spot's
standard, special and tax parts and its BNB discount; USD-M's and Bybit's maker and taker); each
symbol's kernel takes its own. The file holds one rate per venue, as ``[fees]`` does: the highest over
the traded symbols, so a backtest never counts a symbol cheaper than the account pays it. When the
discount has fees paid in a third coin, that coin's price is read now and kept read while trading
(:meth:`~arb.execution.venue_account.AccountReads.keep_coin_prices`): a fee paid in it enters the PnL
at the last price read.
"""

from __future__ import annotations

__all__ = [
    "Rates",
    "at_start",
    "differences",
    "differs",
    "fees_file_text",
    "read_rates",
    "use_in_kernel",
]

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from arb.config import AppConfig
from connectors.common.private import AccountFees

if TYPE_CHECKING:
    from arb.execution.journaling import ExecutionJournal
    from arb.execution.venue_executor import VenueExecutor

log = logging.getLogger(__name__)

Rates = dict[int, list[AccountFees]]
"""The rates read, by venue number (the run's): each traded symbol's, in ``[strategy] symbols`` order."""


def _bps(rate: Decimal | float) -> str:
    return f"{float(rate) * 1e4:g}"


def _toml_rate(rate: Decimal) -> str:
    text = f"{rate.normalize():f}"
    return text if "." in text else text + ".0"  # a TOML float, never an integer


async def read_rates(executors: Mapping[int, VenueExecutor]) -> Rates:
    """Every venue's rates (``executors``: a session's, by venue number); a coin the venue has fees paid in
    (Binance's BNB) becomes its executor's fee coin, its price read once now (a failure is said: fees in it
    stay unvalued until a read works)."""
    rates: Rates = {}
    for v, executor in sorted(executors.items()):
        rates[v] = await executor.account_fees()
        for coin in sorted({f.coin for f in rates[v] if f.coin} - executor.fee_coins):
            executor.fee_coins.add(coin)
            await executor.read_coin_price(coin)
    return rates


def differs(config: AppConfig, v: int, fees: AccountFees) -> bool:
    """Whether ``fees`` (a symbol's on venue ``v``) are not venue ``v``'s configured ``[fees]``."""
    mine = config.venues[v].fees
    return (float(fees.maker), float(fees.taker)) != (mine.maker, mine.taker)


def differences(config: AppConfig, rates: Rates) -> list[str]:
    """Each symbol whose rates differ from its venue's configured ``[fees]``, as a phrase:
    ``"<venue> BTCUSDT maker 7.5 taker 7.5 bps paid in BNB (standard ...), configured 10/10 (<venue>.toml)"``."""
    out = []
    for v, fees in sorted(rates.items()):
        venue = config.venues[v]
        mine = venue.fees
        for f in fees:
            if differs(config, v, f):
                coin = f" paid in {f.coin}" if f.coin else ""
                where = mine.source or venue.path.name
                out.append(f"{venue.name} {f.symbol} maker {_bps(f.maker)} taker {_bps(f.taker)} bps{coin} "
                           f"({f.detail}), configured {_bps(mine.maker)}/{_bps(mine.taker)} ({where})")  # fmt: skip
    return out


async def at_start(config: AppConfig, executors: Mapping[int, VenueExecutor], journal: ExecutionJournal) -> Rates:
    """``arb live``'s and ``arb order``'s start: the rates read (:func:`read_rates`), one log line naming
    every difference from the configured fees, and one journal snapshot per venue (``fee_maker:<SYMBOL>``,
    ``fee_taker:<SYMBOL>``, ``fee_coin:<SYMBOL>``)."""
    rates = await read_rates(executors)
    found = differences(config, rates)
    if found:
        log.warning("fees: the account pays other rates than configured (arb live's kernels trade on the "
                    "account's): %s", "; ".join(found))  # fmt: skip
    else:
        log.info("fees: the account pays the configured rates")
    for v, fees in rates.items():
        executor = executors[v]
        values: dict[str, Any] = {}
        for f in fees:
            values |= {f"fee_maker:{f.symbol}": f.maker, f"fee_taker:{f.symbol}": f.taker}
            values |= {f"fee_coin:{f.symbol}": f.coin} if f.coin else {}
        journal.journal.add_snapshot(config.live.account, executor.venue, executor.market, values, executor.clock())
    journal.journal.flush()
    return rates


def use_in_kernel(params: Any, rates: Rates) -> None:
    """Put each symbol's rates in its ``RULES_DTYPE`` record (``params[s]``): the kernel's edge and sizes."""
    for v, fees in rates.items():
        for s, f in enumerate(fees):
            params[s]["maker_fee"][v] = float(f.maker)
            params[s]["taker_fee"][v] = float(f.taker)


def fees_file_text(config: AppConfig, rates: Rates) -> str:
    """:data:`~arb.config.ACCOUNT_FEES_FILE`'s text: each venue's highest maker and taker rate over the
    traded symbols, with a comment of where and when they were read."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"# The account's fees as the venues reported them on {when} (arb fees --write). Every arb",
             "# command reads them instead of the venue files' [fees]; delete this file to go back."]  # fmt: skip
    for v, fees in sorted(rates.items()):
        venue = config.venues[v]
        lines += ["", f"[{venue.name}]  # {venue.market} on {venue.network}: "
                  + "; ".join(f"{f.symbol} {f.detail}" for f in fees)]  # fmt: skip
        lines += [f"{role} = {_toml_rate(max(getattr(f, role) for f in fees))}" for role in ("maker", "taker")]
    return "\n".join(lines) + "\n"
