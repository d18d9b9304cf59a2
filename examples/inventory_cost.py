"""What inventory costs on a tape whose basis stays one-sided: the figures of docs/inventory.md.

Writes the generated tape of :mod:`arb.testing.inventory_tape` (12 s; Bybit's bid keeps standing 45
bps over Binance's ask, every third episode Bybit's ask dips 24 bps under Binance's bid; 0.05 BTC and
100,000 USDT a venue, pairs of 0.01 BTC) into a folder, backtests it four ways and prints one
Markdown row per run: no policy, the inventory skew, a transfer policy, both.

Usage::

    python examples/inventory_cost.py [--out /tmp/inventory-cost]

Each run's configuration is left in ``<out>/<run>/arbitrage.toml``, so ``arb backtest --config
<out>/<run>/arbitrage.toml`` reruns one with the full report.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from arb.backtest.run import run_backtest
from arb.config import load_config
from arb.testing.inventory_tape import write_one_sided

SKEW = {"inventory_skew_bps": 4.0}
THRESHOLD = {"transfer_policy": "threshold", "transfer_threshold": 0.25, "transfer_fee_base": 0.0002,
             "transfer_delay_base_s": 1.0}  # fmt: skip
RUNS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "none": ({}, {}),
    "skew": (SKEW, {}),
    "threshold": ({}, THRESHOLD),
    "skew+threshold": (SKEW, THRESHOLD),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="folder for the tapes (default: a temporary one)")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="inventory-cost-"))
    print(
        "| run | pairs | missed for balance | last pair (s) | transfers | transfer fees (BTC / USDT) "
        "| in transit at end (BTC) | BTC held at end (Binance / Bybit) | cash from the fills, fees paid (USDT) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, (strategy, backtest) in RUNS.items():
        result = run_backtest(load_config(write_one_sided(out / name, strategy, backtest)))
        inv = result.inventory
        fills = result.fills
        last = (fills["local_ts"].max() - result.start_ns) / 1e9 if len(fills) else 0.0
        btc = inv["assets"]["BTC"]
        held = inv["balances"]
        cash = float((-fills["side"] * fills["price"] * fills["qty"] - fills["fee"]).sum())
        print(
            f"| {name} | {result.kernel_state['pairs']} | {inv['missed_for_balance']} | {last:.2f} | "
            f"{inv['transfers']} | {btc['fees']:.4f} ({inv['transfer_fees_quote']:.2f} USDT) | "
            f"{btc['in_transit']:.4f} | {held['binance']['BTC']:.4f} / {held['bybit']['BTC']:.4f} | {cash:.2f} |"
        )


if __name__ == "__main__":
    main()
