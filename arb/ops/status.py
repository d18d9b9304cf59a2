"""``arb status``: ask a running ``arb record``, ``arb dry-run`` or ``arb live`` whether it is ready.

It finds each process of the configuration where the process wrote it serves, in its own folder
(:mod:`arb.ops.address`: ``ops.json`` in ``[live] state_dir``, ``[dry_run] state_dir`` and ``[backtest]
recordings``, or in ``--state-dir``), asks its ops server for ``/readyz`` (``--liveness``: ``/healthz``)
and prints the answer for a shell (``--json``: as it came). An answer counts only when it carries the
process's ``run_id``: a port taken over by another process is reported as such, never as this one's.
``--url`` asks one address as it is (no identity to check). Exit codes: 0 ready (alive), 1 answering but
not ready (not alive) with every reason printed, :data:`~arb.errors.EXIT_NOT_RUNNING` (69) when nothing
(or another process) answers, 2 for a bad command line or configuration; with several processes, the
highest of theirs. Only the standard library: quick enough for a container's health check.
"""

from __future__ import annotations

__all__ = ["COMMAND", "describe", "ops_url"]

import argparse
import json
import os
import urllib.error
import urllib.request
from typing import Any

from arb.command_line import Command, duration, existing_folder
from arb.errors import EXIT_NOT_RUNNING, UsageError
from arb.ops.address import ADDRESS_FILE, Address, ops_url, read_address


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", type=_url, metavar="URL",
                   help="the ops server to ask, e.g. http://127.0.0.1:8321 (default: where each process of "
                        "the configuration wrote it serves)")  # fmt: skip
    parser.add_argument("--state-dir", type=existing_folder("a process's state folder"), metavar="DIR",
                   help="ask the process whose folder this is: its recordings (arb record --out), paper "
                        "account (arb dry-run --state-dir) or live state_dir (default: every one of the "
                        "configuration)")  # fmt: skip
    parser.add_argument("--liveness", action="store_true",
                   help="ask /healthz only: are the process and its trading loop alive (exit 0)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the answer as JSON, as the endpoint sent it")
    parser.add_argument("--timeout", type=duration, default="5s", metavar="TIME",
                   help="how long to wait for the answer (default: 5s)")  # fmt: skip


def _url(text: str) -> str:
    if not text.startswith(("http://", "https://")) or len(text.split("://", 1)[1].strip("/")) == 0:
        raise argparse.ArgumentTypeError(f"expected an address like http://127.0.0.1:8321, got {text!r}")
    return text.rstrip("/")


def describe(base: str, body: dict[str, Any], liveness: bool = False) -> list[str]:
    """The lines ``arb status`` prints for an answer ``body`` of ``/readyz`` (or ``/healthz``) at ``base``."""
    status = str(body.get("status", "?"))
    if liveness and body.get("alive"):
        status = "alive"
    what = " ".join(str(body[k]) for k in ("mode", "symbol") if body.get(k))
    lines = [f"arb {what or 'process'} at {base}: {status.upper()}"]
    shown = body.get("reasons") or []
    if liveness:  # only what keeps it from being alive
        shown = [] if body.get("alive") else shown
    lines += [f"  - {reason}" for reason in shown]
    facts = []
    if "uptime_s" in body:
        facts.append(f"up {_span(float(body['uptime_s']))}")
    if "snapshot_age_s" in body:
        facts.append(f"last snapshot {float(body['snapshot_age_s']):.1f} s ago")
    books = body.get("books") or []
    if books:
        facts.append("books: " + ", ".join(f"{b['venue']} {b['symbol']} {b['state']}" for b in books))
    for v in body.get("venues") or []:
        if v.get("rate_limited") and not v.get("banned"):  # a ban is among the reasons
            facts.append(f"{v['venue']} {v['market']} rate limited until {v['held_until']}")
    if body.get("journal"):
        facts.append(f"journal {body['journal']}")
    if body.get("paused"):
        facts.append(f"paused: {body['paused']}")
    if facts:
        lines.append("  " + "; ".join(facts))
    return lines


def _span(seconds: float) -> str:
    minutes, s = divmod(int(seconds), 60)
    hours, m = divmod(minutes, 60)
    days, h = divmod(hours, 24)
    if days:
        return f"{days}d{h:02d}h{m:02d}m"
    if hours:
        return f"{h}h{m:02d}m"
    return f"{m}m{s:02d}s" if minutes else f"{s}s"


def _cmd_status(args: argparse.Namespace) -> int:
    if args.url:
        return _ask(args.url, None, args)
    from arb.config import load_config

    config = load_config(args.config)
    if not config.ops.enabled:
        raise UsageError(f"{config.path}: [ops] enabled = false: a running arb serves no health endpoints; "
                         "turn it on, or pass --url")  # fmt: skip
    folders = [args.state_dir] if args.state_dir else [
        config.live.state_dir, config.dry_run.state_dir, config.backtest.recordings]  # fmt: skip
    found = [address for folder in folders if (address := read_address(folder)) is not None]
    if not found:
        where = ", ".join(str(folder / ADDRESS_FILE) for folder in folders)
        print(f"arb: NOT RUNNING (no arb record, dry-run or live of {config.path} says where it serves: "
              f"none of {where}); is it running, with [ops] enabled?")  # fmt: skip
        return EXIT_NOT_RUNNING
    codes = [(_ask(address.url, address, args), address) for address in found]
    # a file left by a process that has ended is said, not counted, beside one that runs (a dry run
    # killed last week does not make today's arb live unhealthy)
    counted = [code for code, address in codes if code != EXIT_NOT_RUNNING or _alive(address.pid)]
    return max(counted) if counted else EXIT_NOT_RUNNING


def _alive(pid: int) -> bool:
    # whether process ``pid`` exists on this machine
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's: it exists
        return True
    return True


def _left(address: Address) -> str:
    # what a file whose process does not answer is
    if _alive(address.pid):
        return f"pid {address.pid} runs, but its ops server does not answer"
    return f"the file is left by pid {address.pid}, which has ended"


def _ask(base: str, address: Address | None, args: argparse.Namespace) -> int:
    # Ask the ops server at ``base`` and print its answer; ``address``: the process expected there.
    path = "/healthz" if args.liveness else "/readyz"
    who = f"arb {address.mode} (pid {address.pid}, {address.file})" if address else "arb"
    try:
        code, raw = _get(base + path, args.timeout / 1e9)
    except (urllib.error.URLError, OSError, TimeoutError) as error:
        reason = getattr(error, "reason", None) or error
        if address is None:
            print(f"arb at {base}: NOT RUNNING (nothing answers: {reason}); is arb running there, with [ops] enabled?")
        else:
            print(f"{who} at {base}: NOT RUNNING (nothing answers: {reason}); {_left(address)}")
        return EXIT_NOT_RUNNING
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if not isinstance(body, dict) or "status" not in body:
        print(f"{who} at {base}: NOT RUNNING ({path} answered HTTP {code}, not as arb's ops server does)")
        return EXIT_NOT_RUNNING
    if address is not None and body.get("run_id") != address.run_id:
        other = " ".join(str(body[k]) for k in ("mode", "symbol") if body.get(k)) or "process"
        print(f"{who} at {base}: NOT RUNNING (another process answers there: arb {other}, pid {body.get('pid')}); "
              f"{_left(address)}")  # fmt: skip
        return EXIT_NOT_RUNNING
    if args.json:
        print(json.dumps(body, indent=2))
    else:
        print("\n".join(describe(base, body, args.liveness)))
    ok = bool(body.get("alive") if args.liveness else body.get("ready"))
    return 0 if ok else 1


def _get(url: str, timeout_s: float) -> tuple[int, bytes]:
    # (HTTP status, body); a 503 is an answer too
    request = urllib.request.Request(url, headers={"Accept": "application/json", "User-Agent": "arb-status"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return int(error.code), bytes(error.read())


COMMAND = Command(
    "status",
    _cmd_status,
    help="is a running arb live / dry-run / record alive and ready to trade (its /readyz); exit 0 ready, "
    "1 not ready, 69 nothing answers",
    description="Ask the ops server of each running arb process of the configuration (found where it wrote "
    "it serves, in its own folder; or --url) whether it is ready to trade: every venue's book of every symbol in sync "
    "and fresh, the journal open, no halt. Prints every reason it is not. Exit 0 ready, 1 not ready, 69 when "
    "nothing, or another process, answers.",
    arguments=_add_arguments,
)
"""Register ``arb status``."""
