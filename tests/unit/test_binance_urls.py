"""The request weight arb charges itself for a Binance depth snapshot, against the venues' documented tables.

Spot ``GET /api/v3/depth``: limit 1-100 weighs 5, 101-500 25, 501-1000 50, 1001-5000 250.
USD-M ``GET /fapi/v1/depth``: limit 5-50 weighs 2, 100 5, 500 10, 1000 20.
"""

from __future__ import annotations

import pytest

from connectors.binance.urls import depth_snapshot_weight


@pytest.mark.parametrize(
    ("limit", "weight"),
    [(1, 5), (100, 5), (101, 25), (500, 25), (501, 50), (1000, 50), (1001, 250), (5000, 250)],
)
def test_spot_weights(limit: int, weight: int) -> None:
    assert depth_snapshot_weight("spot", limit) == weight


@pytest.mark.parametrize(("limit", "weight"), [(5, 2), (20, 2), (50, 2), (100, 5), (500, 10), (1000, 20)])
def test_usd_m_weights(limit: int, weight: int) -> None:
    assert depth_snapshot_weight("linear", limit) == weight
