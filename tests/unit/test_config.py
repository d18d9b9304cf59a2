"""arb.config: the shipped files load, every mistake names file, key and expectation, secrets stay secret."""

from __future__ import annotations

import dataclasses
import json
import logging
import pickle
import re
import tomllib
from pathlib import Path
from typing import Any

import msgspec
import pytest

from arb.catalog import known_venues
from arb.config import (
    AppConfig,
    Endpoints,
    FeedConfig,
    MissingSecretsError,
    Secret,
    StrategyConfig,
    VenueConfig,
    load_config,
    load_venue_config,
    require_credentials,
)
from arb.errors import ConfigError
from arb.events import NS_PER_MS, NS_PER_S
from arb.testing.configs import (
    DEFAULT_ARBITRAGE,
    deep_merge,
    dumps_toml,
    local_endpoints,
    venue_defaults,
    write_config_files,
)
from tests.support.venues import BINANCE, BYBIT

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "config" / "arbitrage.toml"
DOCS = REPO / "docs" / "configuration.md"
FAKE_KEY = "fake-key-not-a-secret-7f3a9c"


def _raises(path: Path, **overrides: Any) -> ConfigError:
    """Write the default set with ``overrides`` and return the ConfigError that loading raises."""
    config_path = write_config_files(path, **overrides)
    with pytest.raises(ConfigError) as info:
        load_config(config_path)
    return info.value


# --- the shipped configuration -------------------------------------------------------------------


def test_shipped_config_loads_with_safe_defaults() -> None:
    config = load_config(SHIPPED)

    assert config.path == SHIPPED
    assert config.strategy.symbol == "BTCUSDT"
    assert [v.name for v in config.venues] == ["binance", "bybit"]
    assert config.venues[BINANCE] is config.venue("binance")
    assert config.venues[BYBIT] is config.venue("bybit")
    for venue in config.venues:
        assert venue.network == "testnet"
        assert venue.api_key is not None and venue.api_key.env_name is not None
        assert venue.endpoints == venue.all_endpoints[venue.market]["testnet"]
        assert set(venue.all_endpoints) == {"spot", "linear"}
    assert config.venue("binance").endpoints.ws == ("wss://stream.testnet.binance.vision/stream",)
    assert config.venue("bybit").endpoints.rest == "https://api-testnet.bybit.com"
    assert config.backtest.recordings == REPO / "recordings"


def test_shipped_config_round_trips_through_to_dict() -> None:
    config = load_config(SHIPPED)
    data = config.to_dict()

    assert json.loads(json.dumps(data)) == data
    assert load_config(SHIPPED).to_dict() == data
    assert load_config(SHIPPED) == config
    assert data["risk"]["stale_after_ns"] == 2 * NS_PER_S
    assert data["binance"]["api_key"] == "${BINANCE_API_KEY}"
    assert data["bybit"]["endpoints"]["ws"] == ["wss://stream-testnet.bybit.com/v5/public/spot"]


def test_the_test_helper_defaults_are_the_shipped_files() -> None:
    for name, expected in [
        ("arbitrage.toml", DEFAULT_ARBITRAGE),
        ("binance.toml", venue_defaults("binance")),
        ("bybit.toml", venue_defaults("bybit")),
        ("okx.toml", venue_defaults("okx")),
    ]:
        with (REPO / "config" / name).open("rb") as f:
            assert tomllib.load(f) == expected, name


def test_the_config_writer_takes_overrides_of_known_venues_only(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="nowhere_overrides"):
        write_config_files(tmp_path, nowhere_overrides={"market": "spot"})


def test_load_config_defaults_to_config_folder_of_current_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    assert load_config() == load_config(SHIPPED)


def test_missing_default_config_says_to_pass_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_config()
    assert "config/arbitrage.toml" in str(info.value)
    assert "--config" in str(info.value)
    assert info.value.exit_code == 2


def test_written_default_set_loads_and_keeps_folders_inside(tmp_path: Path) -> None:
    config = load_config(write_config_files(tmp_path))

    assert config.backtest.recordings == tmp_path.resolve() / "recordings"
    assert config.backtest.out == tmp_path.resolve() / "results"
    assert config.dry_run.state_dir == tmp_path.resolve() / "paper"
    assert config.venue("binance").path == tmp_path.resolve() / "binance.toml"


# --- conversions and defaults ----------------------------------------------------------------------


def test_times_become_int_nanoseconds(tmp_path: Path) -> None:
    config = load_config(
        write_config_files(
            tmp_path,
            arbitrage_overrides={
                "strategy": {"cooldown_ms": 250},
                "execution": {"order_timeout_ms": 1500},
                "dry_run": {"report_interval_s": 60},
            },
            binance_overrides={"latency": {"order_entry_ms": 0.25, "order_response_ms": 3, "feed_ms": None}},
        )
    )

    assert config.strategy.cooldown_ns == 250 * NS_PER_MS
    assert config.execution.order_timeout_ns == 1_500_000_000
    assert config.dry_run.report_interval_ns == 60 * NS_PER_S
    latency = config.venue("binance").latency
    assert (latency.order_entry_ns, latency.order_response_ns, latency.feed_ns) == (250_000, 3_000_000, 0)
    for value in (latency.order_entry_ns, config.venue("bybit").feed.reconnect_after_stale_ns):
        assert type(value) is int


def test_int_is_accepted_where_a_number_is_expected(tmp_path: Path) -> None:
    config = load_config(write_config_files(tmp_path, arbitrage_overrides={"strategy": {"min_spread_bps": 3}}))
    assert config.strategy.min_spread_bps == 3.0
    assert type(config.strategy.min_spread_bps) is float


def test_optional_keys_take_documented_defaults(tmp_path: Path) -> None:
    path = write_config_files(
        tmp_path,
        arbitrage_overrides={"strategy": {"book_levels": None, "cooldown_ms": None}, "backtest": None},
        binance_overrides={"instrument": {"min_qty": None}, "feed": None, "account": None},
        bybit_overrides={"feed": {"depth_stream": None}, "network": None},
    )
    config = load_config(path)

    assert config.strategy.book_levels == 5
    assert config.strategy.cooldown_ns == 0
    assert config.backtest.recordings == tmp_path.resolve().parent / "recordings"
    assert config.backtest.feed_latency == "recorded"
    assert config.venue("binance").instrument.min_qty == config.venue("binance").instrument.lot_size
    assert config.venue("binance").feed.depth_stream == "depth@100ms"
    assert config.venue("binance").feed.reconnect_after_stale_ns == 10 * NS_PER_S
    assert config.venue("binance").account.quote == 10_000.0
    assert config.venue("bybit").feed.depth_stream == "orderbook.50"
    assert config.venue("bybit").network == "testnet"


def test_linear_market_defaults_to_the_unthrottled_depth_stream(tmp_path: Path) -> None:
    path = write_config_files(tmp_path, binance_overrides={"market": "linear", "feed": {"depth_stream": None}})
    config = load_config(path)
    assert config.venue("binance").feed.depth_stream == "depth@0ms"
    assert config.venue("binance").endpoints.rest == "https://testnet.binancefuture.com"


def test_fake_venue_on_loopback_via_local_network(tmp_path: Path) -> None:
    path = write_config_files(
        tmp_path,
        binance_overrides=local_endpoints("ws://127.0.0.1:45001/stream", "http://127.0.0.1:45002"),
        bybit_overrides=local_endpoints(
            ["ws://127.0.0.1:45003/v5/public/linear", "ws://127.0.0.1:45004/v5/public/linear"],
            "http://127.0.0.1:45005",
            market="linear",
        ),
    )
    config = load_config(path)

    assert config.venue("binance").network == "local"
    assert config.venue("binance").endpoints == Endpoints(
        ws=("ws://127.0.0.1:45001/stream",), rest="http://127.0.0.1:45002"
    )
    assert config.venue("bybit").market == "linear"
    assert config.venue("bybit").endpoints.ws[1] == "ws://127.0.0.1:45004/v5/public/linear"
    assert "mainnet" in config.venue("bybit").all_endpoints["linear"]


def test_load_venue_config_alone(tmp_path: Path) -> None:
    write_config_files(tmp_path)
    venue = load_venue_config(tmp_path / "bybit.toml", "bybit")
    assert venue.name == "bybit"
    assert venue.instrument.tick_size == 0.1
    assert venue.to_dict()["fees"] == {"maker": 0.001, "taker": 0.001, "source": ""}  # "": the venue file's


# --- every error names the file, the dotted key and the expectation -------------------------------

ERROR_CASES = {
    "leverage out of range": (
        {"bybit_overrides": {"perpetual": {"leverage": 200}}},
        "bybit.toml",
        "perpetual.leverage",
        ["expected an integer between 1 and 125, got 200"],
    ),
    "margin mode not one of the two": (
        {"binance_overrides": {"perpetual": {"margin_mode": "portfolio"}}},
        "binance.toml",
        "perpetual.margin_mode",
        ['"cross"', '"isolated"', '"portfolio"'],
    ),
    "quote hold of zero": (
        {"arbitrage_overrides": {"strategy": {"quote_hold_ms": 0}}},
        "arbitrage.toml",
        "strategy.quote_hold_ms",
        ["expected", "got 0"],
    ),
    "unknown key with suggestion": (
        {"arbitrage_overrides": {"strategy": {"min_sprad_bps": 1.0}}},
        "arbitrage.toml",
        "strategy.min_sprad_bps",
        ['did you mean "min_spread_bps"', "allowed keys in [strategy]", "book_levels"],
    ),
    "unknown top-level table": (
        {"arbitrage_overrides": {"strategey": {"symbol": "BTCUSDT"}}},
        "arbitrage.toml",
        "strategey",
        ['did you mean "strategy"', "venues"],
    ),
    "unknown time unit spelling": (
        {"bybit_overrides": {"feed": {"stale_after_s": 2}}},
        "bybit.toml",
        "feed.stale_after_s",
        ['did you mean "stale_after_ms"'],
    ),
    "wrong type": (
        {"arbitrage_overrides": {"strategy": {"min_spread_bps": "abc"}}},
        "arbitrage.toml",
        "strategy.min_spread_bps",
        ['expected a number >= 0, got "abc" (str)'],
    ),
    "bool for an integer": (
        {"arbitrage_overrides": {"risk": {"max_open_orders": True}}},
        "arbitrage.toml",
        "risk.max_open_orders",
        ["expected an integer >= 1, got true (bool)"],
    ),
    "bool for a number": (
        {"binance_overrides": {"fees": {"taker": False}}},
        "binance.toml",
        "fees.taker",
        ["expected a number between -0.01 and 0.01, got false (bool)"],
    ),
    "float for an integer": (
        {"arbitrage_overrides": {"strategy": {"book_levels": 5.0}}},
        "arbitrage.toml",
        "strategy.book_levels",
        ["expected an integer between 1 and 50, got 5.0 (float)"],
    ),
    "float for integer milliseconds": (
        {"arbitrage_overrides": {"execution": {"order_timeout_ms": 2.5}}},
        "arbitrage.toml",
        "execution.order_timeout_ms",
        ["expected an integer number of milliseconds > 0, got 2.5 (float)"],
    ),
    "out of range": (
        {"arbitrage_overrides": {"strategy": {"book_levels": 51}}},
        "arbitrage.toml",
        "strategy.book_levels",
        ["between 1 and 50", "got 51 (int)"],
    ),
    "zero replay speed": (
        {"arbitrage_overrides": {"dry_run": {"replay_speed": 0}}},
        "arbitrage.toml",
        "dry_run.replay_speed",
        ["expected a number > 0, got 0 (int)"],
    ),
    "time beyond int64 nanoseconds": (
        {"arbitrage_overrides": {"risk": {"stale_after_ms": 10**13}}},
        "arbitrage.toml",
        "risk.stale_after_ms",
        ["fits in int64 nanoseconds"],
    ),
    "not finite": (
        {"arbitrage_overrides": {"risk": {"max_drawdown": float("inf")}}},
        "arbitrage.toml",
        "risk.max_drawdown",
        ["expected a number > 0, got inf (float)"],
    ),
    "one of": (
        {"arbitrage_overrides": {"execution": {"order_type": "market"}}},
        "arbitrage.toml",
        "execution.order_type",
        ['expected one of "ioc", "limit", got "market" (str)'],
    ),
    "symbol spelling": (
        {"arbitrage_overrides": {"strategy": {"symbol": "btc-usdt"}}},
        "arbitrage.toml",
        "strategy.symbol",
        ["upper-case letters and digits", '"btc-usdt"'],
    ),
    "missing required key": (
        {"arbitrage_overrides": {"strategy": {"symbol": None}}},
        "arbitrage.toml",
        "strategy.symbol",
        ["missing required key", "upper-case letters and digits"],
    ),
    "missing required venue key": (
        {"bybit_overrides": {"fees": {"maker": None}}},
        "bybit.toml",
        "fees.maker",
        ["missing required key", "between -0.01 and 0.01"],
    ),
    "section is not a table": (
        {"arbitrage_overrides": {"risk": 5}},
        "arbitrage.toml",
        "risk",
        ["expected a table [risk], got 5 (int)"],
    ),
    "missing venue file": (
        {"arbitrage_overrides": {"venues": {"bybit": "nope.toml"}}},
        "arbitrage.toml",
        "venues.bybit",
        ["expected an existing venue file", "nope.toml"],
    ),
    "unknown market": (
        {"binance_overrides": {"market": "futures"}},
        "binance.toml",
        "market",
        ['expected one of "spot", "linear", got "futures" (str)'],
    ),
    "unknown endpoints market": (
        {"binance_overrides": {"endpoints": {"futures": {"mainnet": {"ws": ["wss://x/y"], "rest": "https://x"}}}}},
        "binance.toml",
        "endpoints.futures",
        ["unknown key", "linear, spot"],
    ),
    "network without endpoints": (
        {"bybit_overrides": {"network": "local"}},
        "bybit.toml",
        "network",
        ["[endpoints.spot.<network>]", '"mainnet", "testnet"', 'got "local" (str)'],
    ),
    "ws URL with the wrong scheme": (
        {"binance_overrides": local_endpoints("http://127.0.0.1:1/stream", "http://127.0.0.1:2")},
        "binance.toml",
        "endpoints.spot.local.ws",
        ["ws:// or wss:// URLs", "http://127.0.0.1:1/stream"],
    ),
    "maker venue not a venue": (
        {"arbitrage_overrides": {"strategy": {"maker_venues": ["binance", "kraken"]}}},
        "arbitrage.toml",
        "strategy.maker_venues",
        ["expected venues of the run ([strategy] venues: binance, bybit), got kraken"],
    ),
    "empty ws list": (
        {"binance_overrides": {"endpoints": {"spot": {"testnet": {"ws": []}}}}},
        "binance.toml",
        "endpoints.spot.testnet.ws",
        ["a non-empty list of strings"],
    ),
    "missing rest URL": (
        {"bybit_overrides": {"endpoints": {"linear": {"mainnet": {"rest": None}}}}},
        "bybit.toml",
        "endpoints.linear.mainnet.rest",
        ["missing required key", "http:// or https://"],
    ),
    "reconnect not after stale": (
        {"bybit_overrides": {"feed": {"stale_after_ms": 5000, "reconnect_after_stale_ms": 5000}}},
        "bybit.toml",
        "feed.reconnect_after_stale_ms",
        ["greater than stale_after (5000 ms)", "got 5000 ms"],
    ),
    "backoff max below initial": (
        {"binance_overrides": {"feed": {"backoff_initial_ms": 1000, "backoff_max_ms": 500}}},
        "binance.toml",
        "feed.backoff_max_ms",
        [">= backoff_initial (1000 ms)"],
    ),
    "linear with base holdings": (
        {
            "binance_overrides": {
                "market": "linear",
                "feed": {"depth_stream": "depth@0ms"},
                "account": {"base": 1.0},
            }
        },
        "binance.toml",
        "account.base",
        ["expected 0 for a linear market", "got 1.0 (float)"],
    ),
    "depth stream of the other venue": (
        {"bybit_overrides": {"feed": {"depth_stream": "depth@100ms"}}},
        "bybit.toml",
        "feed.depth_stream",
        ['"orderbook.50"', "for bybit spot", 'got "depth@100ms"'],
    ),
    "malformed secret reference": (
        {"binance_overrides": {"api_key": "${BINANCE API KEY}"}},
        "binance.toml",
        "api_key",
        ["a malformed reference", "${BINANCE_API_KEY}"],
    ),
    "order entry neither rest nor websocket": (
        {"bybit_overrides": {"order_entry": "ws"}},
        "bybit.toml",
        "order_entry",
        ['expected one of "rest", "websocket"', 'got "ws" (str)'],
    ),
    "websocket order entry on Bybit's demo": (
        {"bybit_overrides": {"network": "demo", "order_entry": "websocket"}},
        "bybit.toml",
        "order_entry",
        ['expected "rest" on network "demo"', "no WebSocket order entry (/v5/trade"],
    ),
    "websocket order entry without its URL": (
        {
            "binance_overrides": {
                **local_endpoints("ws://127.0.0.1:1/stream", "http://127.0.0.1:2"),
                "order_entry": "websocket",
            }
        },
        "binance.toml",
        "endpoints.spot.local.ws_orders",
        ["the order WebSocket's URL", 'order_entry = "websocket"'],
    ),
    "order WebSocket URL with the wrong scheme": (
        {"bybit_overrides": local_endpoints("ws://127.0.0.1:1/s", "http://127.0.0.1:2", ws_orders="http://h/v5/trade")},
        "bybit.toml",
        "endpoints.spot.local.ws_orders",
        ["ws:// or wss://", "http://h/v5/trade"],
    ),
    "intent log with a journal that must survive a power cut": (
        {"arbitrage_overrides": {"live": {"journal_synchronous": "full", "intent_log": True}}},
        "arbitrage.toml",
        "live.intent_log",
        ['expected false with journal_synchronous = "full"', "not a power cut"],
    ),
    "negative fee beyond a rebate": (
        {"bybit_overrides": {"fees": {"maker": -0.02}}},
        "bybit.toml",
        "fees.maker",
        ["between -0.01 and 0.01", "got -0.02 (float)"],
    ),
}


@pytest.mark.parametrize("case", list(ERROR_CASES), ids=list(ERROR_CASES))
def test_error_names_file_key_and_expectation(tmp_path: Path, case: str) -> None:
    overrides, file_name, key, expectations = ERROR_CASES[case]
    error = _raises(tmp_path, **overrides)
    message = str(error)

    assert Path(error.file).name == file_name
    assert error.key == key
    assert message.startswith(f"{error.file}: {key}: ")
    for expected in expectations:
        assert expected in message
    assert error.exit_code == 2


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.toml")
    assert str(info.value) == f"{tmp_path / 'nope.toml'}: file not found"


def test_toml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    path = write_config_files(tmp_path)
    path.write_text('[strategy]\nsymbol = "BTCUSDT"\nmin_spread_bps = = 3\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: invalid TOML: ")
    assert re.search(r"line 3, column \d+", message)


def test_toml_syntax_error_in_a_venue_file(tmp_path: Path) -> None:
    path = write_config_files(tmp_path)
    (tmp_path / "bybit.toml").write_text("market = spot\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.file.endswith("bybit.toml")
    assert "line 1" in str(info.value)


def test_unknown_venue_name_for_a_single_file(tmp_path: Path) -> None:
    write_config_files(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_venue_config(tmp_path / "binance.toml", "kraken")
    assert f'one of {", ".join(sorted(known_venues()))}, got "kraken"' in str(info.value)  # every venue arb knows


# --- secrets ---------------------------------------------------------------------------------------


def test_secret_value_never_leaks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BINANCE_API_KEY", FAKE_KEY)
    config = load_config(write_config_files(tmp_path))
    key = config.venue("binance").api_key
    assert key is not None

    assert key.resolve() == FAKE_KEY
    assert repr(key) == str(key) == "Secret(${BINANCE_API_KEY})"
    for text in (
        repr(config),
        str(config),
        repr(config.venue("binance")),
        json.dumps(config.to_dict()),
        repr(msgspec.structs.asdict(config)),
    ):
        assert FAKE_KEY not in text


def test_literal_secret_is_accepted_redacted_and_warned_about_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_config_files(tmp_path, bybit_overrides={"api_key": FAKE_KEY, "api_secret": FAKE_KEY + "-s"})
    with caplog.at_level(logging.WARNING, logger="arb.config"):
        config = load_config(path)
    key = config.venue("bybit").api_key
    assert key is not None and key.is_literal

    assert key.resolve() == FAKE_KEY
    assert repr(key) == "Secret(***)"
    assert config.to_dict()["bybit"]["api_secret"] == "***"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "environment variables" in warnings[0].getMessage()
    for text in (repr(config), json.dumps(config.to_dict()), repr(msgspec.structs.asdict(config)), caplog.text):
        assert FAKE_KEY not in text


def test_unset_environment_variable_fails_only_on_resolve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BINANCE_API_KEY", raising=False)
    config = load_config(write_config_files(tmp_path))  # a backtest needs no keys
    key = config.venue("binance").api_key
    assert key is not None

    with pytest.raises(ConfigError) as info:
        key.resolve()
    assert info.value.file == str(tmp_path / "binance.toml")
    assert info.value.key == "api_key"
    assert "expected environment variable BINANCE_API_KEY to be set" in str(info.value)

    monkeypatch.setenv("BINANCE_API_KEY", FAKE_KEY)  # read at call time, not at load time
    assert key.resolve() == FAKE_KEY


_VARIABLES = ("BINANCE_API_KEY", "BINANCE_API_SECRET", "BYBIT_API_KEY", "BYBIT_API_SECRET")


def test_every_missing_credential_is_named_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Once, a user learnt of one unset variable per attempt. Now: every file, key and variable in one line.
    for name in _VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BYBIT_API_KEY", FAKE_KEY)
    config = load_config(write_config_files(tmp_path, binance_overrides={"api_secret": None}))
    with pytest.raises(MissingSecretsError) as info:
        require_credentials(config)
    binance, bybit = tmp_path / "binance.toml", tmp_path / "bybit.toml"
    assert str(info.value) == (
        f"{binance}: api_key: expected environment variable BINANCE_API_KEY to be set; "
        f'{binance}: api_secret: expected "${{ENV_VAR}}" naming where the credential is; '
        f"{bybit}: api_secret: expected environment variable BYBIT_API_SECRET to be set"
    )
    assert isinstance(info.value, ConfigError) and info.value.exit_code == 2
    assert info.value.missing == [
        (str(binance), "api_key", "BINANCE_API_KEY"),
        (str(binance), "api_secret", None),
        (str(bybit), "api_secret", "BYBIT_API_SECRET"),
    ]
    with pytest.raises(MissingSecretsError) as info:  # one venue: only its own keys count
        require_credentials(config, [1])
    assert str(info.value) == f"{bybit}: api_secret: expected environment variable BYBIT_API_SECRET to be set"
    monkeypatch.setenv("BYBIT_API_SECRET", FAKE_KEY)
    require_credentials(config, [1])  # both set: nothing raised, no value read beyond being set


def test_secret_is_immutable_and_survives_copies() -> None:
    secret = Secret.parse("${SOME_KEY}", file="x.toml", key="api_key")
    with pytest.raises(dataclasses.FrozenInstanceError):
        secret.env_name = "OTHER"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(secret)) == secret
    assert secret.redacted() == "${SOME_KEY}"


# --- building and changing configs in code --------------------------------------------------------


def test_with_overrides_validates_like_a_file(tmp_path: Path) -> None:
    config = load_config(write_config_files(tmp_path))

    changed = config.with_overrides({"strategy.min_spread_bps": 2, "bybit.feed.stale_after_ns": NS_PER_S})
    assert changed.strategy.min_spread_bps == 2.0
    assert changed.venue("bybit").feed.stale_after_ns == NS_PER_S
    assert config.strategy.min_spread_bps == 5.0

    with pytest.raises(ConfigError) as info:
        config.with_overrides({"strategy.min_spread_bps": -1.0})
    assert str(info.value) == "<overrides>: strategy.min_spread_bps: expected a number >= 0, got -1.0 (float)"

    with pytest.raises(ConfigError) as info:
        config.with_overrides({"bybit.feed.reconnect_after_stale_ns": NS_PER_S})
    assert info.value.key == "bybit.feed.reconnect_after_stale_ns"

    with pytest.raises(ConfigError) as info:
        config.with_overrides({"binance.account.base": 1.0, "binance.market": "linear"})
    assert info.value.key == "binance.account.base"

    # before: maker_venues went unchecked in code (a "custom" field): ["kraken"] and "bybit" were taken
    assert config.with_overrides({"strategy.maker_venues": ["bybit"]}).strategy.maker_venues == ("bybit",)
    for venues in (["kraken"], "bybit"):
        with pytest.raises(ConfigError) as info:
            config.with_overrides({"strategy.maker_venues": venues})
        assert str(info.value).startswith("<overrides>: strategy.maker_venues: expected ")
    with pytest.raises(ConfigError) as info:
        config.with_overrides({"strategy.maker_venues": ["kraken"]})
    assert str(info.value).endswith("expected venues of the run ([strategy] venues: binance, bybit), got kraken")

    with pytest.raises(ConfigError) as info:
        config.with_overrides({"strategy.min_spread": 1.0})
    assert 'did you mean "strategy.min_spread_bps"' in str(info.value)


def test_switching_network_in_code_recomputes_endpoints(tmp_path: Path) -> None:
    config = load_config(write_config_files(tmp_path))
    mainnet = config.with_overrides({"binance.network": "mainnet"})
    assert mainnet.venue("binance").endpoints.rest == "https://api.binance.com"
    assert len(mainnet.venue("binance").endpoints.ws) == 3


def test_msgspec_replace_is_validated() -> None:
    strategy = StrategyConfig(
        symbol="ETHUSDT", min_spread_bps=1, max_order_size=0.1, max_position_size=1.0, rebalance_threshold=0.5
    )
    assert strategy.book_levels == 5
    with pytest.raises(ConfigError) as info:
        msgspec.structs.replace(strategy, book_levels=0)
    assert str(info.value) == "StrategyConfig: book_levels: expected an integer between 1 and 50, got 0 (int)"
    with pytest.raises(ConfigError):
        FeedConfig(depth_stream="orderbook.50", stale_after_ns=5 * NS_PER_S, reconnect_after_stale_ns=NS_PER_S)


def test_config_objects_are_frozen(tmp_path: Path) -> None:
    config = load_config(write_config_files(tmp_path))
    with pytest.raises(AttributeError, match="immutable"):
        config.risk.max_open_orders = 10  # type: ignore[misc]


def test_venue_built_in_code_uses_the_same_rules(tmp_path: Path) -> None:
    venue = load_config(write_config_files(tmp_path)).venue("bybit")
    with pytest.raises(ConfigError) as info:
        msgspec.structs.replace(venue, name="kraken")  # no folder carries it
    assert info.value.key == "name"


# --- the test helper itself ------------------------------------------------------------------------


def test_deep_merge_merges_replaces_and_deletes() -> None:
    base = {"a": {"b": 1, "c": 2}, "d": [1]}
    merged = deep_merge(base, {"a": {"b": 5, "c": None}, "d": [2], "e": "x"})
    assert merged == {"a": {"b": 5}, "d": [2], "e": "x"}
    assert base == {"a": {"b": 1, "c": 2}, "d": [1]}


def test_dumps_toml_round_trips() -> None:
    data = {
        "k": 'quote " and \\ and \x7f',
        "f": 1e-05,
        "t": {"i": 3, "b": False, "l": ["x", "y"], "n": {"m": {"z": 1.5}}},
        "odd key": {"x": 1},
    }
    assert tomllib.loads(dumps_toml(data)) == data


# --- the reference page documents every key ---------------------------------------------------------


def _toml_keys(cls: type, prefix: str = "") -> list[str]:
    from arb.config.fields import fields_of

    keys = []
    for info in fields_of(cls):
        if info.kind == "section":
            keys.extend(_toml_keys(info.hint, f"{prefix}{info.key}."))
        else:
            keys.append(prefix + info.key)
    return keys


def test_every_key_is_documented() -> None:
    text = DOCS.read_text()
    keys = (
        _toml_keys(AppConfig)
        + ["venues.<venue>"]
        + _toml_keys(VenueConfig)
        + [f"endpoints.<market>.<network>.{k}" for k in _toml_keys(Endpoints)]
    )
    missing = []
    for dotted in keys:
        section, _, key = dotted.rpartition(".")
        if f"`{key}`" not in text or (section and f"[{section}]" not in text):
            missing.append(dotted)
    assert not missing, f"not in docs/configuration.md: {missing}"


def test_an_order_size_beyond_the_position_limit_is_named_at_load(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_config_files(
        tmp_path, arbitrage_overrides={"strategy": {"max_order_size": 0.01}, "risk": {"position_limit": 0.005}}
    )
    with caplog.at_level("WARNING", logger="arb.config"):
        load_config(path)
    assert any("max_order_size 0.01 > risk.position_limit 0.005" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with caplog.at_level("WARNING", logger="arb.config"):
        load_config(write_config_files(tmp_path / "ok"))
    assert not caplog.records
