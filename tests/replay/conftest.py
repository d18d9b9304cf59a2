"""Fixtures of the replay tests."""

from __future__ import annotations

import pytest

from arb.config import AppConfig, load_config
from tests.support.captures import ROOT


@pytest.fixture(scope="module")
def sample_config() -> AppConfig:
    """The shipped sample configuration (config/arbitrage.toml), loaded once per test module."""
    return load_config(ROOT / "config" / "arbitrage.toml")
