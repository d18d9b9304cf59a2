"""Write a complete, working set of configuration files into a folder, for tests and demos.

The defaults are the shipped ``config/*.toml`` files of the checkout, read (``config/arbitrage.toml`` and
each venue's ``config/<venue>.toml``): a venue's file is its own, so a new venue's is written with no change
here.

    path = write_config_files(tmp_path, binance_overrides=local_endpoints("ws://127.0.0.1:9001/stream",
                                                                          "http://127.0.0.1:9002"))
    config = arb.config.load_config(path)

Overrides are deep-merged into the defaults; a ``None`` value deletes the key (to test a missing one).
"""

from __future__ import annotations

__all__ = [
    "CONFIG",
    "DEFAULT_ARBITRAGE",
    "deep_merge",
    "dumps_toml",
    "local_endpoints",
    "venue_defaults",
    "write_config_files",
]

import copy
import functools
import json
import math
import re
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from arb.catalog import known_venues
from arb.testing.twins import source_of


def _config_folder() -> Path:
    # config/ of the checkout beside the package; an installed arb's copy of it (pyproject.toml's data-files
    # put the shipped *.toml under <prefix>/share/arb/config), so the soak rig runs from any folder.
    checkout = Path(__file__).resolve().parents[2] / "config"
    if (checkout / "arbitrage.toml").is_file():
        return checkout
    return Path(sys.prefix) / "share" / "arb" / "config"


CONFIG: Final = _config_folder()
"""The shipped configuration files (``config/`` of the checkout, or an installed arb's copy of them):
``arbitrage.toml`` and each venue's ``<venue>.toml``, read as the defaults."""


def _shipped(name: str) -> dict[str, Any]:
    # A shipped file as data; a clear error where there is no checkout beside the package.
    path = CONFIG / name
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{path}: the test kit writes configurations from the shipped files (config/ of a checkout beside "
            "arb/, or <prefix>/share/arb/config of an install)"
        ) from None


@functools.cache
def _venue_file(name: str) -> Mapping[str, Any]:
    return MappingProxyType(_shipped(f"{name}.toml"))


def venue_defaults(name: str) -> Mapping[str, Any]:
    """Venue ``name``'s shipped file, ``config/<name>.toml``, as data (read once; merge, do not change it); a
    twin's (:mod:`arb.testing.twins`) is its source's."""
    return _venue_file(source_of(name))


DEFAULT_ARBITRAGE: Final[Mapping[str, Any]] = MappingProxyType(_shipped("arbitrage.toml"))
"""``config/arbitrage.toml`` as data."""

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
    arbitrage_overrides: Mapping[str, Any] | None = None,
    **venue_overrides: Mapping[str, Any] | None,
) -> Path:
    """Write ``arbitrage.toml`` and every venue's ``<venue>.toml`` into ``directory``; return the first (a run
    trades the venues ``[strategy] venues`` names).

    Starts from the shipped files, except that the ``[backtest]`` and ``[dry_run]`` folders point
    inside ``directory`` (``recordings/``, ``results/``, ``paper/``), then deep-merges each file's
    overrides: ``arbitrage_overrides``, and ``<venue>_overrides`` for venue ``<venue>``'s (TOML spelling:
    ``{"strategy": {"cooldown_ms": 5}}``; ``None`` deletes a key). Values are written as given, so tests
    can write invalid ones on purpose; the one exception: a venue switched to ``market = "linear"`` without
    an ``account.base`` override starts with base 0 (the spot default holds BTC, which a linear venue
    refuses). The folder is created if needed. ``TypeError`` for overrides of a venue arb does not know.
    """
    names = known_venues()
    unknown = sorted(set(venue_overrides) - {f"{name}_overrides" for name in names})
    if unknown:
        raise TypeError(f"write_config_files() got overrides of no known venue: {', '.join(unknown)} "
                        f"(expected <venue>_overrides, <venue> one of {', '.join(names)})")  # fmt: skip
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    arbitrage = deep_merge(deep_merge(DEFAULT_ARBITRAGE, _LOCAL_FOLDERS), arbitrage_overrides)
    for name in names:
        overrides = venue_overrides.get(f"{name}_overrides")
        venue = deep_merge(venue_defaults(name), overrides)
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
