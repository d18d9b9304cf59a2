"""The next command arb names when a run lacks days: ``arb fetch``, as it must be typed to fetch them.

A hint is only worth printing if it runs as printed, from where the user ran the command that printed
it: so it names ``--config`` when the configuration is not the default one (``config/arbitrage.toml``
under the current folder), ``--out`` when the recordings folder is not the one that file names (``arb
backtest --recordings``), ``--symbols`` when the symbols are not the file's, and ``--venue`` when only
one venue lacks the days; every value is quoted for a POSIX shell. ``arb fetch`` with no more than that
fetches what the run needs: every venue of the run (or the one named) in its configured market, from Tardis.dev
(:mod:`arb.cli.fetch`).
"""

from __future__ import annotations

__all__ = ["fetch_command"]

import datetime as dt
import shlex
from collections.abc import Sequence

from arb.config import AppConfig, as_written, config_option


def fetch_command(config: AppConfig, first: dt.date, last: dt.date | None = None, venues: Sequence[str] = ()) -> str:
    """``arb fetch --start FIRST [--end LAST]`` with what else it takes to fetch those days of ``config``'s
    venues (``venues``: only these, when just one lacks them) into its recordings folder."""
    words = ["arb", "fetch", *config_option(config), "--start", f"{first:%Y-%m-%d}"]
    if last is not None and last != first:
        words += ["--end", f"{last:%Y-%m-%d}"]
    if len(set(venues)) == 1:
        words += ["--venue", venues[0]]
    written = as_written(config)  # arb fetch reads the file alone, without this command's --set
    if written is None or written.symbol_names != config.symbol_names:
        words += ["--symbols", *config.symbol_names]
    if written is None or written.backtest.recordings != config.backtest.recordings:
        words += ["--out", str(config.backtest.recordings)]
    return shlex.join(words)
