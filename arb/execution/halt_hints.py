"""The command that lifts a kept halt, as it must be typed: ``arb halt --live --clear`` for ``arb live``'s
journal, ``arb halt --paper --clear --state-dir DIR`` for a paper account.

A hint is only worth printing if it runs as printed and does what it says: so it names the one account
it lifts (a paper account's hint never lifts ``arb live``'s kill switch, nor the other way round),
``--config`` when the configuration is not the default one (``config/arbitrage.toml`` under the
current folder), ``--set live.account=...`` / ``--set live.state_dir=...`` when the command that printed
it was given another live account than the file's, and every value quoted for a POSIX shell
(:mod:`arb.cli.halt` reads it).
"""

from __future__ import annotations

__all__ = ["clear_halt_command"]

import shlex
from pathlib import Path

from arb.config import AppConfig, as_written, config_option


def clear_halt_command(config: AppConfig, paper: Path | None = None) -> str:
    """``arb halt --live --clear`` (``paper`` None: ``config``'s live account) or ``arb halt --paper
    --clear --state-dir PAPER`` (the paper account in the folder ``paper``), with what else it takes to
    reach that same account of ``config``; it lifts that account's halt and daily loss pause, nothing else."""
    if paper is not None:
        command = f"arb halt --paper --clear --state-dir {shlex.quote(str(paper))}"
    else:
        command = "arb halt --live --clear"
    words = config_option(config)
    if paper is None:
        written = as_written(config)  # arb halt reads the file alone, without this command's --set
        if written is None or written.live.account != config.live.account:
            words += ["--set", f"live.account={config.live.account}"]
        if written is None or written.live.state_dir != config.live.state_dir:
            words += ["--set", f"live.state_dir={config.live.state_dir}"]
    return " ".join([command, *(shlex.quote(word) for word in words)])
