"""``arb alert-test [--config PATH]``: one test message to every alert channel that is on.

Exit 0 when every channel took it, 1 when one failed (each channel's result is printed), 2 when no
channel is on (the configuration, or the environment variable a channel's secret names, says why).
"""

from __future__ import annotations

__all__ = ["COMMAND"]

import argparse
import socket
import sys

from arb.command_line import Command
from arb.config import load_config
from arb.errors import UsageError

_SEND_TIMEOUT_S = 60.0  # each channel's own timeout and retries end well within it


def _cmd_alert_test(args: argparse.Namespace) -> int:
    from arb.ops.alerts.model import Alert
    from arb.ops.alerts.service import AlertService
    from arb.ops.snapshot import OpsHub

    config = load_config(args.config)
    service = AlertService.from_config(config, OpsHub(), mode="test")
    if service is None:
        raise UsageError(
            f"no alert channel is on in {config.path}: set [alerts.telegram] token and chat_id, "
            "[alerts.webhook] url or [alerts.email] to (and export the variables they name), "
            "and keep [alerts] enabled = true"
        )
    service.start()
    try:
        service.notify(Alert.test(f"a test alert from arb on {socket.gethostname()}: this channel works"))
    finally:
        service.stop(timeout_s=_SEND_TIMEOUT_S)
    counters = service.counters()
    failed = []
    for name in service.channel_names:
        sent = counters["sent"].get(name, 0)
        print(f"{name}: {'sent' if sent else 'FAILED (see the log above)'}")
        if not sent:
            failed.append(name)
    if failed:
        print(f"arb alert-test: {', '.join(failed)} did not take the message", file=sys.stderr)
        return 1
    return 0


COMMAND = Command(
    "alert-test",
    _cmd_alert_test,
    help="send one test message to every alert channel that is on ([alerts])",
    description="Send one test alert through every channel [alerts] turns on (Telegram, webhook, email), "
    "with the secrets from the environment, and say which arrived. Exit 0 when every channel took it.",
)
"""Register ``arb alert-test``."""
