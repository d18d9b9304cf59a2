"""``arb sweep --grid FILE [--config PATH] [--start D] [--end D] [--workers N] [--ray auto|local|ADDRESS]
[--recordings DIR] [--out DIR] [--allow-damaged]``: backtests over a parameter grid.

Every value is checked while the command line is parsed (one line naming the option, exit 2); the
grid file's keys and values are checked against the configuration before anything runs (a
:class:`~arb.errors.ConfigError` naming the grid file and the key, exit 2). The ranked table goes to
stdout, the files to ``--out`` (see :mod:`arb.sweep.output`).
"""

from __future__ import annotations

__all__ = ["COMMAND", "ray_address", "workers"]

import argparse
import importlib.util
import os
import re
from pathlib import Path

import msgspec

from arb.command_line import (
    Command,
    add_config_argument,
    day,
    existing_file,
    existing_folder,
    output_folder,
    report_folder,
)

MAX_WORKERS = 256
_HOST_PORT = re.compile(r"(?:ray://)?[A-Za-z0-9._-]+:\d{1,5}")


def workers(text: str) -> int:
    """``--workers``: a whole number of processes, 1 to 256."""
    what = f"a whole number of worker processes from 1 to {MAX_WORKERS}"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not 1 <= value <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value


def ray_address(text: str) -> str:
    """``--ray``: ``local`` (start a cluster here), ``auto`` (the running one) or ``[ray://]host:port``;
    Ray must be installed (the ``arb[ray]`` extra)."""
    what = "local, auto or a cluster address such as ray://10.0.0.5:10001 or 10.0.0.5:6379"
    if text not in ("local", "auto"):
        match = _HOST_PORT.fullmatch(text)
        if match is None or not 0 < int(text.rsplit(":", 1)[1]) < 65536:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    if importlib.util.find_spec("ray") is None:
        raise argparse.ArgumentTypeError(
            f"expected Ray to be installed for {text!r} (pip install 'arb[ray]'), got no module named 'ray'"
        )
    return text


def _default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--grid", required=True, type=existing_file("grid file"), metavar="FILE",
        help="TOML: [grid] settings and their values, [sweep] objective and heatmap (docs/sweeps.md)",
    )  # fmt: skip
    add_config_argument(parser)
    parser.add_argument(
        "--start", type=day, metavar="DATE",
        help="first UTC day, e.g. 2024-08-08 (default: the first recorded for every venue)",
    )  # fmt: skip
    parser.add_argument("--end", type=day, metavar="DATE", help="last UTC day, inclusive (default: the last recorded)")
    parser.add_argument(
        "--workers", type=workers, metavar="N",
        help="worker processes, each compiling once and holding the data once (default: this machine's CPUs)",
    )  # fmt: skip
    parser.add_argument(
        "--ray", type=ray_address, metavar="ADDRESS",
        help="run on Ray: local (a cluster started here), auto (the running one, RAY_ADDRESS) or host:port",
    )  # fmt: skip
    parser.add_argument(
        "--recordings", type=existing_folder("a recordings folder"), metavar="DIR",
        help="recordings folder (default: [backtest] recordings)",
    )  # fmt: skip
    parser.add_argument(
        "--out", type=output_folder("a report folder"), metavar="DIR",
        help="results folder (default: a timestamped folder under results/)",
    )  # fmt: skip
    parser.add_argument(
        "--allow-damaged", action="store_true",
        help="keep what can be read of a damaged recording instead of failing (the lost parts are reported)",
    )  # fmt: skip


def _cmd_sweep(args: argparse.Namespace) -> int:
    from rich.console import Console

    from arb.config import load_config
    from arb.sweep.grid import load_grid
    from arb.sweep.output import print_results, write_results
    from arb.sweep.sweep import run_sweep
    from arb.ui import status_and_progress

    config = load_config(args.config)
    if args.recordings is not None:
        backtest = msgspec.structs.replace(config.backtest, recordings=args.recordings.resolve())
        config = msgspec.structs.replace(config, backtest=backtest)
    from arb.strategy.selection import prepare

    prepare(config)  # the strategy loads, takes its parameters and compiles: exit 2 before the grid runs
    grid = load_grid(args.grid, config)
    out: Path = report_folder(args.out, config.backtest.out, "sweep")
    total = len(grid.points())
    count = [0]
    with status_and_progress("sweep", enabled=not args.quiet) as (status, advance):

        def on_result(_: object) -> None:
            count[0] += 1
            advance(count[0], total)

        sweep = run_sweep(
            config, grid, args.start, args.end,
            workers=args.workers or _default_workers(), ray=args.ray, allow_damaged=args.allow_damaged,
            on_status=status, on_result=on_result,
        )  # fmt: skip
    paths = write_results(out, sweep, _own_options(args))
    console = Console()
    if not console.is_terminal:  # a file or a pipe: the whole table, not one squeezed to 80 columns
        console = Console(width=200)
    print_results(sweep, console)
    print(f"results: {out} ({', '.join(p.name for p in paths)})")
    return 0


def _own_options(args: argparse.Namespace) -> list[str]:
    # the options that chose this sweep's configuration and data, as given: best.toml's command repeats
    # them so that its point runs on the same (--workers, --ray and --out only say where and how fast)
    from arb.sweep.grid import toml_value

    words: list[str] = []
    if args.config is not None:
        words += ["--config", str(args.config)]
    for key, value in getattr(args, "set", None) or []:
        words += ["--set", f"{key}={toml_value(value)}"]
    for name in ("start", "end"):
        if getattr(args, name) is not None:
            words += [f"--{name}", f"{getattr(args, name):%Y-%m-%d}"]
    if args.recordings is not None:
        words += ["--recordings", str(args.recordings)]
    if args.allow_damaged:
        words.append("--allow-damaged")
    return words


COMMAND = Command(
    "sweep",
    _cmd_sweep,
    help="backtest every point of a parameter grid (local processes or a Ray cluster)",
    description="Backtest the configuration at every point of a grid of settings (a TOML file: [grid] "
    "and [sweep]), on local processes or a Ray cluster, each worker compiling once and loading the "
    "recordings once; write results.csv (a row per point), best.toml and a heatmap of the objective.",
    arguments=_add_arguments,
    config=False,
)
"""Register ``arb sweep``."""
