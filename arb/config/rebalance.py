"""``[rebalance]``: how ``arb rebalance`` splits each asset between the venues and which moves it makes
(``docs/rebalance.md``)."""

from __future__ import annotations

__all__ = ["RebalanceConfig"]

from typing import Annotated

from msgspec import Meta, field

from arb.config.fields import ConfigStruct, Fraction, NonNegative, fail
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
        poll_interval_ns: Time between two looks at a transfer under way, int64 ns (TOML ``poll_interval_ms``).
        arrival_timeout_ns: How long ``--execute`` follows one transfer before it stops and leaves it
            in flight in the journal (a later run resumes it), int64 ns (TOML ``arrival_timeout_s``).
        auto: Whether ``arb live`` may withdraw by itself. Not built: ``true`` is refused.
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

    def _rules(self) -> None:
        if self.auto:
            fail(self, "auto", "expected false: arb live does not withdraw by itself yet (run arb rebalance)")

    def share(self, asset: str) -> float:
        """The fraction of ``asset`` meant to sit on Binance."""
        return self.shares.get(asset, self.binance_share)
