"""Write a complete, working set of configuration files into a folder, for tests and demos.

The defaults below are the shipped ``config/*.toml`` files as data (a unit test keeps the two equal),
so the helper works from an installed package too, where ``config/`` does not exist.

    path = write_config_files(tmp_path, binance_overrides=local_endpoints("ws://127.0.0.1:9001/stream",
                                                                          "http://127.0.0.1:9002"))
    config = arb.config.load_config(path)

Overrides are deep-merged into the defaults; a ``None`` value deletes the key (to test a missing one).
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_ARBITRAGE",
    "DEFAULT_BINANCE",
    "DEFAULT_BYBIT",
    "DEFAULT_OKX",
    "deep_merge",
    "dumps_toml",
    "local_endpoints",
    "write_config_files",
]

import copy
import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

DEFAULT_ARBITRAGE: Final[Mapping[str, Any]] = {
    "strategy": {
        "symbol": "BTCUSDT",
        "min_spread_bps": 5.0,
        "max_order_size": 0.001,
        "max_position_size": 0.01,
        "rebalance_threshold": 0.005,
        "book_levels": 5,
        "cooldown_ms": 0,
        "funding_horizon_h": 0.0,
        "close_before_funding_s": 0,
        "style": "taker",
    },
    "risk": {
        "max_drawdown": 100.0,
        "stop_loss_bps": 50.0,
        "position_limit": 0.005,
        "max_notional_per_venue": 1000.0,
        "stale_after_ms": 2000,
        "max_open_orders": 4,
        "max_daily_loss": 0.0,
        "max_daily_loss_fraction": 0.0,
        "daily_reset_hour_utc": 0,
        "max_pair_loss": 0.0,
        "max_pairs_per_day": 0,
        "min_pair_interval_ms": 0,
        "max_imbalance_hold_ms": 0,
        "max_capital_use": 0.0,
        "max_unknown_orders": 0,
        "max_symbol_share": 0.0,
        "max_total_notional": 0.0,
        "min_liquidation_distance": 0.0,
    },
    "execution": {
        "order_type": "ioc",
        "order_timeout_ms": 5000,
        "slippage_tolerance_bps": 2.0,
        "hedge_mode": "hedge",
        "max_hedge_attempts": 3,
        "hedge_retry_ms": 1000,
    },
    "backtest": {
        "recordings": "../recordings",
        "out": "../results",
        "feed_latency": "recorded",
        "initial_equity_check": True,
    },
    "dry_run": {"report_interval_s": 300, "state_dir": "../paper", "replay_speed": 1.0},
    "live": {
        "state_dir": "../live",
        "account": "main",
        "journal_url": "",
        "journal_synchronous": "normal",
        "intent_log": True,
        "request_timeout_ms": 5000,
        "unknown_check_interval_ms": 500,
        "unknown_checks": 5,
        "unknown_grace_ms": 10000,
        "fill_check_after_ms": 2000,
        "shutdown_timeout_ms": 10000,
        "stop_timeout_s": 60,
        "dead_man_window_s": 30,
        "quotes_without_dead_man": False,
        "rate_headroom": 0.8,
        "warm_interval_ms": 5,
        "gc_interval_ms": 20,
    },
    "ops": {
        "enabled": True,
        "host": "127.0.0.1",
        "port": 8321,
        "metrics": True,
        "dashboard": True,
        "snapshot_ms": 500,
        "history": 3600,
        "daily_report": True,
        "daily_reports_kept": 0,
        "health_max_age_ms": 10000,
    },
    "alerts": {
        "enabled": True,
        "cooldown_s": 300,
        "queue_size": 256,
        "stale_after_s": 10,
        "resync_burst": 5,
        "resync_window_s": 60,
        "abnormal_spread_bps": 100.0,
        "abnormal_spread_sigma": 0.0,
        "disk_free_min_mb": 1024,
        "order_ack_p99_ms": 500,
        "order_ack_window_s": 300,
        "rss_max_mb": 0,
        "daily_summary": True,
        "telegram": {"route": "all", "commands": False},
        "webhook": {"route": "all"},
        "email": {
            "host": "localhost",
            "port": 587,
            "sender": "arb@localhost",
            "security": "starttls",
            "route": "critical",
        },
    },
    "venues": {"binance": "binance.toml", "bybit": "bybit.toml"},
}
"""``config/arbitrage.toml`` as data."""

_FEED: Final[Mapping[str, Any]] = {
    "snapshot_limit": 1000,
    "stale_after_ms": 2000,
    "reconnect_after_stale_ms": 10000,
    "ping_interval_ms": 20000,
    "read_timeout_ms": 30000,
    "backoff_initial_ms": 250,
    "backoff_max_ms": 30000,
    "failover_after": 3,
    "max_buffered_diffs": 10000,
}
_LATENCY: Final[Mapping[str, Any]] = {"order_entry_ms": 10.0, "order_response_ms": 10.0, "feed_ms": 0.0}
_ACCOUNT: Final[Mapping[str, Any]] = {"base": 0.05, "quote": 5000.0}


def _venue_sections(
    *, tick_size: float, lot_size: float, maintenance_margin_rate: float, depth_stream: str
) -> dict[str, Any]:
    """A shipped venue file's sections after ``[endpoints]``: the same for every venue but for the
    instrument's sizes (``min_qty`` is the lot), the maintenance margin rate and the depth stream."""
    return {
        "fees": {"maker": 0.001, "taker": 0.001},
        "instrument": {
            "tick_size": tick_size,
            "lot_size": lot_size,
            "min_qty": lot_size,
            "min_notional": 5.0,
            "contract_size": 1.0,
        },
        "latency": dict(_LATENCY),
        "account": dict(_ACCOUNT),
        "perpetual": {
            "leverage": 1,
            "margin_mode": "cross",
            "maintenance_margin_rate": maintenance_margin_rate,
            "funding_interval_h": 8,
        },
        "feed": {"depth_stream": depth_stream, **_FEED},
    }


def _bybit_networks(market: str) -> dict[str, Any]:
    """Bybit's endpoints per network for ``market``: only the public stream's path names the market."""
    return {
        "mainnet": {"ws": [f"wss://stream.bybit.com/v5/public/{market}"], "rest": "https://api.bybit.com",
                    "ws_private": "wss://stream.bybit.com/v5/private", "ws_orders": "wss://stream.bybit.com/v5/trade"},
        "testnet": {"ws": [f"wss://stream-testnet.bybit.com/v5/public/{market}"],
                    "rest": "https://api-testnet.bybit.com", "ws_private": "wss://stream-testnet.bybit.com/v5/private",
                    "ws_orders": "wss://stream-testnet.bybit.com/v5/trade"},
        "demo": {"ws": [f"wss://stream.bybit.com/v5/public/{market}"], "rest": "https://api-demo.bybit.com",
                 "ws_private": "wss://stream-demo.bybit.com/v5/private"},
    }  # fmt: skip


DEFAULT_BINANCE: Final[Mapping[str, Any]] = {
    "market": "spot",
    "network": "testnet",
    "data_network": "mainnet",
    "order_entry": "rest",
    "rest_connections": 2,
    "api_key": "${BINANCE_API_KEY}",
    "api_secret": "${BINANCE_API_SECRET}",
    "endpoints": {
        "spot": {
            "mainnet": {
                "ws": [
                    "wss://stream.binance.com:9443/stream",
                    "wss://stream.binance.com:443/stream",
                    "wss://data-stream.binance.vision/stream",
                ],
                "rest": "https://api.binance.com",
                "ws_private": "wss://ws-api.binance.com:443/ws-api/v3",
                "ws_orders": "wss://ws-api.binance.com:443/ws-api/v3",
            },
            "testnet": {
                "ws": ["wss://stream.testnet.binance.vision/stream"],
                "rest": "https://testnet.binance.vision",
                "ws_private": "wss://ws-api.testnet.binance.vision/ws-api/v3",
                "ws_orders": "wss://ws-api.testnet.binance.vision/ws-api/v3",
            },
            "demo": {
                "ws": ["wss://demo-stream.binance.com/stream"],
                "rest": "https://demo-api.binance.com",
                "ws_private": "wss://demo-ws-api.binance.com/ws-api/v3",
                "ws_orders": "wss://demo-ws-api.binance.com/ws-api/v3",
            },
        },
        "linear": {
            "mainnet": {
                "ws": ["wss://fstream.binance.com/stream"],
                "rest": "https://fapi.binance.com",
                "ws_private": "wss://fstream.binance.com/ws",
                "ws_orders": "wss://ws-fapi.binance.com/ws-fapi/v1",
            },
            "testnet": {
                "ws": ["wss://stream.binancefuture.com/stream", "wss://fstream.binancefuture.com/stream"],
                "rest": "https://testnet.binancefuture.com",
                "ws_private": "wss://fstream.binancefuture.com/ws",
                "ws_orders": "wss://testnet.binancefuture.com/ws-fapi/v1",
            },
        },
    },
    **_venue_sections(tick_size=0.01, lot_size=0.00001, maintenance_margin_rate=0.004, depth_stream="depth@100ms"),
}
"""``config/binance.toml`` as data."""

DEFAULT_BYBIT: Final[Mapping[str, Any]] = {
    "market": "spot",
    "network": "testnet",
    "data_network": "mainnet",
    "order_entry": "rest",
    "rest_connections": 2,
    "api_key": "${BYBIT_API_KEY}",
    "api_secret": "${BYBIT_API_SECRET}",
    "endpoints": {"spot": _bybit_networks("spot"), "linear": _bybit_networks("linear")},
    **_venue_sections(tick_size=0.1, lot_size=0.000001, maintenance_margin_rate=0.005, depth_stream="orderbook.50"),
}
"""``config/bybit.toml`` as data."""


def _okx_networks() -> dict[str, Any]:
    """OKX's endpoints per network, the same for both markets (one public and one private WebSocket)."""
    hosts = {"mainnet": "wss://ws.okx.com:8443", "testnet": "wss://wspap.okx.com:8443"}
    return {
        network: {"ws": [f"{host}/ws/v5/public"], "rest": "https://www.okx.com",
                  "ws_private": f"{host}/ws/v5/private", "ws_orders": f"{host}/ws/v5/private"}
        for network, host in hosts.items()
    }  # fmt: skip


def _okx_sections() -> dict[str, Any]:
    """OKX's sections after ``[endpoints]``: the shared ones but for its fees, minimum size and no minimum
    value."""
    sections = _venue_sections(tick_size=0.1, lot_size=0.00000001, maintenance_margin_rate=0.004, depth_stream="books")
    sections["fees"]["maker"] = 0.0008
    sections["instrument"].update(min_qty=0.00001, min_notional=0.0)
    return sections


DEFAULT_OKX: Final[Mapping[str, Any]] = {
    "market": "spot",
    "network": "testnet",
    "data_network": "mainnet",
    "order_entry": "rest",
    "rest_connections": 2,
    "api_key": "${OKX_API_KEY}",
    "api_secret": "${OKX_API_SECRET}",
    "api_passphrase": "${OKX_API_PASSPHRASE}",
    "endpoints": {"spot": _okx_networks(), "linear": _okx_networks()},
    **_okx_sections(),
}
"""``config/okx.toml`` as data."""

# Folders that write_config_files keeps inside the target folder, so a test never writes outside it;
# and no HTTP server on the shipped port (a test that wants one turns it on, on port 0).
_LOCAL_FOLDERS: Final[Mapping[str, Any]] = {
    "backtest": {"recordings": "recordings", "out": "results"},
    "dry_run": {"state_dir": "paper"},
    "live": {"state_dir": "live"},
    "ops": {"enabled": False, "port": 0},
}

_BARE_KEY: Final = re.compile(r"[A-Za-z0-9_-]+")


def deep_merge(base: Mapping[str, Any], overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return ``base`` with ``overrides`` merged in, table by table (inputs are not modified).

    A mapping merges into a mapping; any other value replaces; ``None`` deletes the key.
    """
    merged: dict[str, Any] = copy.deepcopy(dict(base))
    for key, value in (overrides or {}).items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def local_endpoints(
    ws: str | list[str],
    rest: str,
    *,
    market: str = "spot",
    network: str = "local",
    ws_private: str = "",
    ws_orders: str = "",
) -> dict[str, Any]:
    """Venue overrides that point ``network`` of ``market`` at a fake venue and select it, for the orders
    and the market data alike (``network`` and ``data_network``).

    ``local_endpoints("ws://127.0.0.1:9001/stream", "http://127.0.0.1:9002")`` gives
    ``{"market": "spot", "network": "local", "data_network": "local", "endpoints": {"spot": {"local": {...}}}}``;
    ``ws_private`` adds the private stream of a fake private venue, ``ws_orders`` its order WebSocket.
    """
    urls = [ws] if isinstance(ws, str) else list(ws)
    endpoints: dict[str, Any] = {"ws": urls, "rest": rest}
    if ws_private:
        endpoints["ws_private"] = ws_private
    if ws_orders:
        endpoints["ws_orders"] = ws_orders
    return {
        "market": market,
        "network": network,
        "data_network": network,
        "endpoints": {market: {network: endpoints}},
    }


def write_config_files(
    directory: str | Path,
    *,
    binance_overrides: Mapping[str, Any] | None = None,
    bybit_overrides: Mapping[str, Any] | None = None,
    arbitrage_overrides: Mapping[str, Any] | None = None,
    okx_overrides: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``arbitrage.toml``, ``binance.toml``, ``bybit.toml`` and ``okx.toml`` into ``directory``; return
    the first (a run trades OKX when ``[strategy] venues`` names it).

    Starts from the shipped defaults, except that the ``[backtest]`` and ``[dry_run]`` folders point
    inside ``directory`` (``recordings/``, ``results/``, ``paper/``), then deep-merges each file's
    overrides (TOML spelling: ``{"strategy": {"cooldown_ms": 5}}``; ``None`` deletes a key). Values
    are written as given, so tests can write invalid ones on purpose; the one exception: a venue
    switched to ``market = "linear"`` without an ``account.base`` override starts with base 0 (the spot
    default holds BTC, which a linear venue refuses). The folder is created if needed.
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    arbitrage = deep_merge(deep_merge(DEFAULT_ARBITRAGE, _LOCAL_FOLDERS), arbitrage_overrides)
    for name, defaults, overrides in (
        ("binance", DEFAULT_BINANCE, binance_overrides),
        ("bybit", DEFAULT_BYBIT, bybit_overrides),
        ("okx", DEFAULT_OKX, okx_overrides),
    ):
        venue = deep_merge(defaults, overrides)
        given = (overrides or {}).get("account") or {}
        if venue.get("market") == "linear" and "base" not in given and isinstance(venue.get("account"), Mapping):
            # a linear venue holds positions, not base: the spot default of some BTC would be refused
            venue = deep_merge(venue, {"account": {"base": 0.0}})
        (folder / f"{name}.toml").write_text(dumps_toml(venue))
    path = folder / "arbitrage.toml"
    path.write_text(dumps_toml(arbitrage))
    return path


def dumps_toml(data: Mapping[str, Any]) -> str:
    """Serialise nested mappings of str, int, float, bool and lists of those as TOML text.

    Enough for configuration files (no arrays of tables, no dates); raises ``TypeError`` otherwise.
    """
    lines: list[str] = []
    _emit_table(data, [], lines)
    return "\n".join(lines).lstrip("\n") + "\n"


def _emit_table(table: Mapping[str, Any], path: list[str], lines: list[str]) -> None:
    scalars = {k: v for k, v in table.items() if not isinstance(v, Mapping)}
    tables = {k: v for k, v in table.items() if isinstance(v, Mapping)}
    if path and (scalars or not tables):
        lines.append("")
        lines.append("[" + ".".join(_key(p) for p in path) + "]")
    for key, value in scalars.items():
        lines.append(f"{_key(key)} = {_value(value)}")
    for key, sub in tables.items():
        _emit_table(sub, [*path, key], lines)


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _string(text: str) -> str:
    # JSON string escapes are TOML basic-string escapes; DEL is the one control character JSON leaves.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, (str, Path)):
        return _string(str(value))
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML: {value!r}")
