"""arb live's guard rails that need no venue: mainnet must be allowed and confirmed, every venue traded."""

from __future__ import annotations

from pathlib import Path

import pytest

from arb.cli import main
from arb.cli.live import confirm_mainnet as _confirm_mainnet
from arb.config import load_config
from arb.errors import UsageError
from arb.testing.configs import write_config_files


def _config(tmp_path: Path, network: str):  # type: ignore[no-untyped-def]
    return load_config(write_config_files(tmp_path, bybit_overrides={"network": network}))


def test_testnet_needs_nothing(tmp_path: Path) -> None:
    _confirm_mainnet(_config(tmp_path, "testnet"), allowed=False, yes=False, ask=lambda _: pytest.fail("asked"))


def test_mainnet_needs_the_flag_and_the_typed_words(tmp_path: Path) -> None:
    config = _config(tmp_path, "mainnet")
    with pytest.raises(UsageError, match="bybit on mainnet: real money; pass --mainnet"):
        _confirm_mainnet(config, allowed=False, yes=True)
    with pytest.raises(UsageError, match="not confirmed"):
        _confirm_mainnet(config, allowed=True, yes=False, ask=lambda _: "yes")
    _confirm_mainnet(config, allowed=True, yes=False, ask=lambda prompt: "trade real money")
    _confirm_mainnet(config, allowed=True, yes=True, ask=lambda _: pytest.fail("asked"))


def test_arb_live_on_mainnet_without_the_flag_exits_2_before_connecting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config_files(tmp_path, binance_overrides={"network": "mainnet"})
    assert main(["live", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "binance on mainnet" in err and "Traceback" not in err


def test_arb_live_with_a_venue_that_has_no_private_side_exits_2_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The refusal reads the registry (a venue without private.py and wallet.py), never a venue's name: every venue
    # in turn is made one without a private side, and arb live refuses it before keys, mainnet or any connection.
    from arb.catalog import venue_facts
    from connectors.registry import VenueConnector, venue_names

    for name in venue_names():
        for other in venue_names():
            monkeypatch.setenv(f"{other.upper()}_API_KEY", "k")
            monkeypatch.setenv(f"{other.upper()}_API_SECRET", "s")
            monkeypatch.setenv(f"{other.upper()}_API_PASSPHRASE", "p")
        public_only = property(lambda connector, name=name: connector.name != name)
        monkeypatch.setattr(VenueConnector, "trades_live", public_only)
        partner = next(other for other in venue_names() if other != name)
        folder = tmp_path / name
        path = write_config_files(folder, arbitrage_overrides={"strategy": {"venues": [partner, name]}})
        assert main(["live", "--config", str(path)]) == 2
        err = capsys.readouterr().err
        title = venue_facts(name).title
        assert "strategy.venues" in err and f"{title}: no private side yet" in err and "arb dry-run" in err, name
        assert "Traceback" not in err


def test_every_venue_arb_knows_is_traded_live() -> None:
    # Hyperliquid's public side came first (issue 79), its private side (through ccxt) after it
    from connectors.registry import venue, venue_names

    assert [name for name in venue_names() if not venue(name).trades_live] == []


def test_a_naked_leg_is_named_loudly_once_the_kernel_gave_up(tmp_path: Path) -> None:
    from arb.execution.exposure import naked_leg_lines as exposure_lines
    from arb.live.engine import Engine
    from arb.strategy.types import HEDGE_FAILED

    engine = Engine(load_config(write_config_files(tmp_path)))
    engine.position[:] = [0.002, 0.0]
    engine.last_mid[:] = [60_000.0, 60_010.0]
    assert exposure_lines(engine) == []  # still hedging: the kernel's business
    engine.kernel_state[0]["flags"] |= HEDGE_FAILED
    (line,) = exposure_lines(engine)
    assert "NAKED LEG" in line and "binance long 0.002" in line and "mark value 120.00" in line
    engine.position[:] = [0.002, -0.002]  # hedged after all: flat net
    assert exposure_lines(engine) == []


def test_dust_left_after_the_kernel_gave_up_is_not_called_a_naked_leg(tmp_path: Path) -> None:
    # Found by the fault campaign: the unwind closed the leg but for a few steps of fee (below every
    # venue's minimum notional, flat to the kernel), and arb live kept printing "NAKED LEG ... long 6e-06
    # ... arb kill flattens it", which no order could do.
    from arb.execution.exposure import naked_leg_lines as exposure_lines
    from arb.live.engine import Engine
    from arb.strategy.types import HEDGE_FAILED

    engine = Engine(load_config(write_config_files(tmp_path)))
    engine.kernel_state[0]["flags"] |= HEDGE_FAILED
    engine.last_mid[:] = [60_000.0, 60_010.0]
    lowest = min(max(v.instrument.min_qty, v.instrument.min_notional / 60_000.0) for v in engine.config.venues)
    engine.position[:] = [0.004, -0.004 + lowest * 0.5]
    assert exposure_lines(engine) == []
    engine.position[:] = [0.004, -0.004 + lowest * 1.5]  # enough for an order: named
    assert len(exposure_lines(engine)) == 2
