"""``[rebalance]``: how ``arb rebalance`` splits each asset between the venues and which moves it makes, and
whether ``arb live`` makes them by itself (``docs/rebalance.md``)."""

from __future__ import annotations

__all__ = ["RebalanceConfig", "held_assets"]

from collections.abc import Sequence
from typing import Annotated

from msgspec import Meta, field

from arb.config.fields import ConfigStruct, Fraction, NonNegative
from arb.config.sections import quote_currency
from arb.events import NS_PER_MS, NS_PER_S

_ASSET = Annotated[str, Meta(pattern=r"\A[A-Z0-9]{2,12}\Z", description="an upper-case asset, e.g. USDT")]


class RebalanceConfig(ConfigStruct, frozen=True):
    """``[rebalance]``: the target split of each asset between the venues and what a move may cost.

    Attributes:
        binance_share: The fraction of each asset's total (both venues, every wallet) meant to sit on
            Binance; the rest is Bybit's. 0.5: half on each.
        shares: Per asset, its own Binance share instead (TOML ``shares = { BTC = 0.6 }``).
        tolerance: A venue off its target by at most this fraction of the asset's total is left alone.
        max_cost_bps: A move is worth making when the network fee plus the edge lost while the money
            travels is at most this many basis points of the amount moved.
        idle_bps_per_hour: The edge the moved amount would have earned per hour: what the money in transit
            costs, basis points of the amount per hour of expected arrival.
        poll_interval_ns: Time between two looks at a transfer under way, and between two looks of ``arb live``
            at the journal for the moves another process made, int64 ns (TOML ``poll_interval_ms``).
        arrival_timeout_ns: How long ``--execute`` follows one transfer before it stops and leaves it
            in flight in the journal (a later run resumes it), int64 ns (TOML ``arrival_timeout_s``).
        auto: Whether ``arb live`` makes the moves worth making by itself, off the order path, every
            ``auto_interval_ns``; ``true`` needs a ``daily_limit`` for every asset arb holds.
        daily_limit: Per asset, the most ``arb live`` withdraws by itself in 24 hours, in the asset (TOML
            ``daily_limit = { USDT = 5000, BTC = 0.05 }``): the journal's withdrawals of the last 24 hours count
            (a restart does not reset them); a withdrawal over what is left is not sent. 0: never by itself.
        auto_interval_ns: Time between two automatic looks, int64 ns (TOML ``auto_interval_s``).
    """

    binance_share: Fraction = 0.5
    shares: dict[_ASSET, Fraction] = field(default_factory=dict)
    tolerance: Fraction = 0.1
    max_cost_bps: NonNegative = 50.0
    idle_bps_per_hour: NonNegative = 1.0
    poll_interval_ns: Annotated[int, Meta(ge=10 * NS_PER_MS, le=600 * NS_PER_S)] = field(
        default=10 * NS_PER_S, name="poll_interval_ms"
    )
    arrival_timeout_ns: Annotated[int, Meta(ge=NS_PER_S, le=7 * 86_400 * NS_PER_S)] = field(
        default=6 * 3600 * NS_PER_S, name="arrival_timeout_s"
    )
    auto: bool = False
    daily_limit: dict[_ASSET, NonNegative] = field(default_factory=dict)
    auto_interval_ns: Annotated[int, Meta(ge=NS_PER_S, le=86_400 * NS_PER_S)] = field(
        default=300 * NS_PER_S, name="auto_interval_s"
    )

    def share(self, asset: str) -> float:
        """The fraction of ``asset`` meant to sit on Binance."""
        return self.shares.get(asset, self.binance_share)


def held_assets(symbols: Sequence[str]) -> list[str]:
    """The assets arb holds on the venues trading ``symbols``: the quote and each traded base coin."""
    out = [quote_currency(symbols[0])]
    for name in symbols:
        base = name.removesuffix(out[0])
        if base not in out:
            out.append(base)
    return out
