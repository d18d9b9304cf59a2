"""A linear venue's account settings, made what the configuration asks before ``arb live`` trades.

arb trades perpetuals in **one-way** position mode (one net position per symbol: the kernel's
positions are signed quantities, and a reduce-only order must reduce that one position), with the
``[perpetual]`` leverage and margin mode of the venue file, for every traded symbol:

* Binance USD-M: ``positionSide/dual`` (account-wide) is switched to one-way if it is not, then for
  each symbol ``marginType`` set to ``CROSSED``/``ISOLATED`` and ``leverage`` set. The venue refuses
  to change position or margin mode while positions or orders are open (``-4068``, ``-4048``): the
  start stops then and says what to do.
* Bybit v5 (unified account): for each symbol ``switch-mode`` to one-way (``mode=0``) and
  ``set-leverage`` with the same leverage both ways. The margin mode of a unified account is
  account-wide (``/v5/account/info`` ``marginMode``), so arb only checks it, once: a difference stops
  the start rather than move every position of the account.

"Not modified" answers (Binance ``-4046``/``-4059``, Bybit ``110025``/``110043``) mean the setting
already holds. Every call is a private request through the venue executor (:meth:`VenueExecutor.call`):
a venue that cannot be reached or fails to answer is its :class:`~arb.errors.VenueError`, a refusal
a :class:`PerpetualSettingsError` that names the setting.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from arb.errors import ArbError, VenueError

if TYPE_CHECKING:
    from arb.config import PerpetualConfig
    from arb.execution.live import VenueExecutor

__all__ = ["PerpetualSettingsError", "apply_perpetual_settings"]

log = logging.getLogger(__name__)

_UNCHANGED = {"binance": ("-4046", "-4059"), "bybit": ("110025", "110043")}
"""Codes meaning "already so" (margin type, position side; position mode, leverage)."""
_BYBIT_MARGIN = {"cross": ("REGULAR_MARGIN", "PORTFOLIO_MARGIN"), "isolated": ("ISOLATED_MARGIN",)}


class PerpetualSettingsError(ArbError):
    """A linear venue's account could not be set as the configuration asks: nothing was traded."""


async def apply_perpetual_settings(executor: VenueExecutor, wanted: PerpetualConfig, source: str) -> list[str]:
    """Make ``executor``'s account one-way with ``wanted`` leverage and margin mode for every symbol it
    trades; say what was done, a line per symbol.

    ``source`` names the venue file, for messages. Raises :class:`PerpetualSettingsError` when the
    venue refuses or the account differs in a way arb does not change.
    """
    if executor.market != "linear":
        return []
    name = f"{executor.venue} {executor.market}"
    lines = []
    try:
        if executor.venue == "binance":
            account = await _binance_position_mode(executor)
        else:
            account = await _bybit_margin_mode(executor, wanted, source)
        for symbol in executor.symbols:
            if executor.venue == "binance":
                done = account + await _binance(executor, symbol, wanted)
            else:
                done = await _bybit(executor, symbol, wanted)
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


async def _call(executor: VenueExecutor, method: str, params: dict[str, Any]) -> bool:
    """Send one setting; True when it changed something, False when the venue says it already held."""
    request = getattr(executor.exchange, method)
    try:
        await executor.call(lambda: request(params))
    except VenueError as error:
        if error.code in _UNCHANGED[executor.venue]:
            return False
        raise
    return True


async def _binance_position_mode(executor: VenueExecutor) -> list[str]:
    # The account's position mode (one for every symbol): one-way
    changed = []
    dual = await executor.call(lambda: executor.exchange.fapiPrivateGetPositionSideDual({}))
    if str((dual or {}).get("dualSidePosition", "false")).lower() == "true":
        try:
            await _call(executor, "fapiPrivatePostPositionSideDual", {"dualSidePosition": "false"})
        except VenueError as error:
            if error.retryable:
                raise
            raise PerpetualSettingsError(
                f"binance linear: the account is in hedge position mode and could not be switched to one-way "
                f"({error.answered}); close its USD-M positions and orders, or switch it in Binance, then start again"
            ) from None
        changed.append("position mode switched to one-way")
    return changed


async def _binance(executor: VenueExecutor, symbol: str, wanted: PerpetualConfig) -> list[str]:
    # One symbol's margin type and leverage
    changed = []
    margin = "ISOLATED" if wanted.margin_mode == "isolated" else "CROSSED"
    try:
        if await _call(executor, "fapiPrivatePostMarginType", {"symbol": symbol, "marginType": margin}):
            changed.append(f"margin type set to {margin}")
    except VenueError as error:
        if error.retryable:
            raise
        raise PerpetualSettingsError(
            f"binance linear: margin type of {symbol} could not be set to {margin} ({error.answered}); "
            "Binance refuses while a position or order is open"
        ) from None
    await _call(executor, "fapiPrivatePostLeverage", {"symbol": symbol, "leverage": wanted.leverage})
    changed.append(f"leverage set to {wanted.leverage}")
    return changed


async def _bybit_margin_mode(executor: VenueExecutor, wanted: PerpetualConfig, source: str) -> list[str]:
    # The unified account's margin mode (account-wide): checked, never changed
    info = await executor.call(lambda: executor.exchange.privateGetV5AccountInfo({}))
    mode = str(((info or {}).get("result") or {}).get("marginMode", ""))
    if mode not in _BYBIT_MARGIN[wanted.margin_mode]:
        raise PerpetualSettingsError(
            f"bybit linear: the unified account's margin mode is {mode or 'unknown'}, and {source} asks for "
            f'[perpetual] margin_mode = "{wanted.margin_mode}"; it is account-wide on Bybit, so arb does not '
            "change it: set it in Bybit or change margin_mode"
        )
    return []


async def _bybit(executor: VenueExecutor, symbol: str, wanted: PerpetualConfig) -> list[str]:
    # One symbol's position mode and leverage
    changed = []
    params = {"category": "linear", "symbol": symbol}
    if await _call(executor, "privatePostV5PositionSwitchMode", {**params, "mode": 0}):
        changed.append("position mode switched to one-way")
    leverage = str(wanted.leverage)
    if await _call(
        executor, "privatePostV5PositionSetLeverage", {**params, "buyLeverage": leverage, "sellLeverage": leverage}
    ):
        changed.append(f"leverage set to {wanted.leverage}")
    return changed
