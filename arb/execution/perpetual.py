"""A linear venue's account settings, made what the configuration asks before ``arb live`` trades.

arb trades perpetuals in **one-way** position mode (one net position per symbol: the kernel's
positions are signed quantities, and a reduce-only order must reduce that one position), with the
``[perpetual]`` leverage and margin mode of the venue file, for every traded symbol. What that takes
is the venue's (its adapter's :meth:`~connectors.common.private.PrivateVenue.perpetual_account`, once,
then :meth:`~connectors.common.private.PrivateVenue.perpetual_symbol` per symbol):

* Binance USD-M: ``positionSide/dual`` (account-wide) is switched to one-way if it is not, then for
  each symbol ``marginType`` set to ``CROSSED``/``ISOLATED`` and ``leverage`` set. The venue refuses
  to change position or margin mode while positions or orders are open (``-4068``, ``-4048``): the
  start stops then and says what to do.
* Bybit v5 (unified account): for each symbol ``switch-mode`` to one-way (``mode=0``) and
  ``set-leverage`` with the same leverage both ways. The margin mode of a unified account is
  account-wide (``/v5/account/info`` ``marginMode``), so arb only checks it, once: a difference stops
  the start rather than move every position of the account.

"Not modified" answers (Binance ``-4046``/``-4059``, Bybit ``110025``/``110043``) mean the setting
already holds. Every call is a private request through the venue executor (:meth:`VenueExecutor.request`):
a venue that cannot be reached or fails to answer is its :class:`~arb.errors.VenueError`, a refusal
a :class:`~connectors.common.private.PerpetualSettingsError` that names the setting.
"""

from __future__ import annotations

__all__ = ["apply_perpetual_settings"]

import logging
from typing import TYPE_CHECKING

from arb.errors import VenueError
from connectors.common.private import PerpetualSettingsError

if TYPE_CHECKING:
    from arb.config import PerpetualConfig
    from arb.execution.venue_executor import VenueExecutor

log = logging.getLogger(__name__)


async def apply_perpetual_settings(executor: VenueExecutor, wanted: PerpetualConfig, source: str) -> list[str]:
    """Make ``executor``'s account one-way with ``wanted`` leverage and margin mode for every symbol it
    trades; say what was done, a line per symbol.

    ``source`` names the venue file, for messages. Raises :class:`PerpetualSettingsError` when the
    venue refuses or the account differs in a way arb does not change.
    """
    if executor.market != "linear":
        return []
    name = executor.name
    adapter = executor.adapter
    lines = []
    try:
        account = await adapter.perpetual_account(executor, wanted.margin_mode, source)
        for symbol in executor.symbols:
            done = account + await adapter.perpetual_symbol(executor, symbol, wanted.leverage, wanted.margin_mode)
            account = []  # said once, on the first symbol's line
            text = "; ".join(done) or "already so"
            line = f"{name} {symbol}: one-way, {wanted.margin_mode} margin, leverage {wanted.leverage}x ({text})"
            log.info("%s", line)
            lines.append(line)
    except VenueError as error:
        if error.retryable:
            raise
        raise PerpetualSettingsError(
            f"{name}: the venue refused a setting of [perpetual] in {source}: {error.answered}"
        ) from None
    return lines
