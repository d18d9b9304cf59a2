"""What every simulated venue takes: one options object instead of a list of keyword arguments.

:class:`VenueOptions` holds how a venue serves (ports, pacing, sockets, its clock), the funding its
market-data streams announce, and the trading terms both trading venues share (fees, leverage,
maintenance margin). Each venue class takes it as ``options=`` beside the few arguments that are its
own (Binance's ``weight_limit``, Bybit's ``seed``...)::

    FakeBybitExchange(recording, market="linear", rules=[rules],
                      options=VenueOptions(clock=clock, taker_fee="0.0006"))

A field left at its default means the venue's own habit: Binance pings every 20 s and Bybit does not
(``ping_interval="venue"``); fees, leverage and maintenance rate ``None`` are the venue's base rates
for its market. The market-data venues read the serving fields and ``funding`` only.
"""

from __future__ import annotations

__all__ = ["MANUAL", "VENUE_DEFAULT", "Speed", "VenueOptions", "speed_factor"]

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from arb.sim.funding import FundingSchedule

MANUAL: Literal["manual"] = "manual"
Speed = float | Literal["manual", "max"] | None
"""``"manual"`` (default), a replay speed factor (``1.0`` = recorded pace), or ``None``/``"max"``."""
VENUE_DEFAULT: Literal["venue"] = "venue"
"""A ``ping_interval`` that is the venue's own (Binance 20 s, Bybit none)."""


def speed_factor(speed: Speed) -> float | None:
    """``None`` for flat out, else the positive replay speed factor; ``ValueError`` for a bad speed."""
    if speed is None or speed == "max":
        return None
    if isinstance(speed, str):
        raise ValueError(f"speed must be 'manual', 'max', None or a positive number, got {speed!r}")
    if speed <= 0:
        raise ValueError(f"speed must be positive, got {speed}")
    return float(speed)


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueOptions:
    """How a simulated venue serves and trades; every field has the venue's default.

    Serving: ``speed`` is ``"manual"`` (nothing flows until the test moves the clock) or a timed
    speed that starts playing at ``start()``; ``endpoints`` how many ports (alternative hosts of one
    venue); ``max_frames`` stops the recording after that many lines; ``ping_interval`` and
    ``pong_timeout`` (seconds) are the server's WebSocket pings and how long one may stay unanswered
    before the connection is closed with ``pong_timeout_close_code``; ``write_timeout`` (seconds)
    drops a connection whose writes block that long (the client stopped reading), so it cannot stall
    the clock for everyone; ``send_buffer`` (bytes) is each accepted WebSocket's kernel send buffer;
    ``clock`` is the venue's wall time in seconds (``serverTime``, request timestamps, bans, rate-limit
    windows, listen keys, dead-man timers).

    Market data: ``funding`` a :class:`~arb.sim.funding.FundingSchedule` per symbol (linear only),
    announced in the mark-price streams.

    Trading (the private venues): ``taker_fee``/``maker_fee`` (fractions; Binance spot 0.1 %/0.1 %,
    USD-M 0.05 %/0.02 %, Bybit spot 0.1 %/0.1 %, linear 0.055 %/0.02 %); ``spot_fee_asset`` where a
    spot fee is paid: in the asset received (a buy's in the base coin, as without a fee-discount coin)
    or always in the quote (``"quote"``, as the backtest and the paper executor count it); ``fee_coin``
    ``(coin, price in quote)``: spot fees paid in that third coin instead (Binance's BNB);
    ``max_leverage`` (Binance 125, Bybit 100) and ``maintenance_rate`` (Binance 0.4 %, Bybit 0.5 %).
    """

    speed: Speed = MANUAL
    endpoints: int = 1
    host: str = "127.0.0.1"
    max_frames: int | None = None
    ping_interval: float | Literal["venue"] | None = VENUE_DEFAULT
    pong_timeout: float = 60.0
    pong_timeout_close_code: int = 1008
    write_timeout: float | None = 10.0
    send_buffer: int | None = None
    clock: Callable[[], float] = time.time
    funding: Mapping[str, FundingSchedule] | None = None
    taker_fee: Decimal | str | None = None
    maker_fee: Decimal | str | None = None
    spot_fee_asset: Literal["received", "quote"] = "received"
    fee_coin: tuple[str, Decimal] | None = None
    max_leverage: int | None = None
    maintenance_rate: Decimal | str | None = None

    def __post_init__(self) -> None:
        if self.endpoints < 1:
            raise ValueError("a venue needs at least one endpoint")
        if self.speed != MANUAL:
            speed_factor(self.speed)  # reject a bad speed here, not after the ports are open

    def pings(self, venue_default: float | None) -> float | None:
        """The ping interval in seconds (``None``: no pings), ``venue_default`` unless one was chosen."""
        return venue_default if isinstance(self.ping_interval, str) else self.ping_interval

    def fee(self, which: Literal["taker", "maker"], venue_default: str) -> Decimal:
        """The taker or maker fee as a fraction: the one chosen, or ``venue_default``."""
        chosen = self.taker_fee if which == "taker" else self.maker_fee
        return Decimal(chosen if chosen is not None else venue_default)
