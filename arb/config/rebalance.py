"""``[rebalance]``: how ``arb rebalance`` splits each asset between the venues and which moves it makes, and
whether ``arb live`` makes them by itself (``docs/rebalance.md``)."""

from __future__ import annotations

__all__ = ["RebalanceConfig", "held_assets"]

from collections.abc import Mapping, Sequence
from typing import Annotated

from msgspec import Meta, field

from arb.config.fields import ConfigStruct, Fraction, NonNegative
from arb.config.sections import quote_currency
from arb.events import NS_PER_MS, NS_PER_S

_ASSET = Annotated[str, Meta(pattern=r"\A[A-Z0-9]{2,12}\Z", description="an upper-case asset, e.g. USDT")]
_VENUE = Annotated[str, Meta(pattern=r"\A[a-z][a-z0-9_]*\Z", description="a venue's name")]


class RebalanceConfig(ConfigStruct, frozen=True):
    """``[rebalance]``: the target split of each asset between the venues and what a move may cost.

    ``split`` is each venue's share of every asset (``{ <venue> = 0.5, ... }``); ``shares`` an asset's
    own: a table of venue shares, or one number, the first venue's share (the others split the rest
    evenly). A venue the split leaves out shares evenly what the others leave. ``<venue>_share = x`` (the
    form of a two-venue configuration) is read as ``split = { <venue> = x }``.

    ``daily_limit`` counts the journal's withdrawals of the last 24 hours, so a restart does not reset it;
    ``auto = true`` needs a limit for every asset arb holds.
    """

    split: dict[_VENUE, Fraction] = field(default_factory=dict)
    shares: dict[_ASSET, Fraction | dict[_VENUE, Fraction]] = field(default_factory=dict)
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

    def targets(self, asset: str, venues: Sequence[str]) -> tuple[float, ...]:
        """The fraction of ``asset`` meant to sit on each of ``venues`` (they add up to 1)."""
        own = self.shares.get(asset)
        if isinstance(own, float | int):
            wanted: Mapping[str, float] = {venues[0]: float(own)}
        else:
            wanted = own if own is not None else self.split
        given = {v: float(wanted[v]) for v in venues if v in wanted}
        rest = [v for v in venues if v not in given]
        left = max(1.0 - sum(given.values()), 0.0)
        if not rest:
            total = sum(given.values())
            return tuple(given[v] / total if total > 0 else 1.0 / len(venues) for v in venues)
        return tuple(given[v] if v in given else left / len(rest) for v in venues)


def held_assets(symbols: Sequence[str]) -> list[str]:
    """The assets arb holds on the venues trading ``symbols``: the quote and each traded base coin."""
    out = [quote_currency(symbols[0])]
    for name in symbols:
        base = name.removesuffix(out[0])
        if base not in out:
            out.append(base)
    return out
