"""Where a running ``arb record``, ``arb dry-run`` or ``arb live`` serves, written into its own folder.

Several arb processes share one machine (a recorder beside a dry run, the card's two uses) and, from
one configuration, one ``[ops] port``. The first to start gets that port; the next finds it taken and
serves on a free port (:class:`~arb.ops.watch.Watch` says so in one line at start). So that ``arb
status`` never answers about another process, each process writes where it serves into its own folder
(a dry run its paper account's ``state_dir``, ``arb live`` its ``[live] state_dir``, ``arb record``
its recordings folder) as ``ops.json``::

    {"url": "http://127.0.0.1:40123", "pid": 4242, "run_id": "5f0c2a9e41d7b3c8", "mode": "dry-run",
     "symbol": "BTCUSDT", "started": "2026-11-23T15:04:05Z"}

and serves the same ``run_id`` in every ``/healthz`` and ``/readyz`` answer. ``arb status`` reads the
file and takes an answer for this process's only when the ``run_id`` matches. The file is removed when
the process stops (a process killed outright leaves it: the next start replaces it, and ``arb status``
finds nobody, or somebody else, answering there and says so).

Standard library only: ``arb status`` reads it and must answer quickly.
"""

from __future__ import annotations

__all__ = ["ADDRESS_FILE", "Address", "ops_url", "read_address", "remove_address", "write_address"]

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

from arb.files import atomic_writer

ADDRESS_FILE: Final = "ops.json"
"""The file a running process's address goes into, in its own folder."""

_ANY_ADDRESS = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1", "[::]": "::1"}


def ops_url(host: str, port: int) -> str:
    """The address a client on this machine reaches a server listening on ``host``:``port`` at (a server
    on every address, ``0.0.0.0`` or ``::``, is reached on loopback)."""
    host = _ANY_ADDRESS.get(host, host)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


@dataclass(frozen=True, slots=True)
class Address:
    """What a running process wrote into ``<folder>/ops.json`` (see the module docstring).

    Attributes:
        url: Where its ops server answers, as a client on this machine reaches it.
        pid: Its process id.
        run_id: A token of this run, served in every health answer: the process's identity.
        mode: ``"record"``, ``"dry-run"`` or ``"live"``.
        symbol: What it trades or records (comma-separated symbols).
        started: When it started serving, ISO 8601 UTC.
        file: The file it was read from (not written into it).
    """

    url: str
    pid: int
    run_id: str
    mode: str
    symbol: str = ""
    started: str = ""
    file: str = ""


def write_address(folder: Path, address: Address) -> Path:
    """Write ``address`` into ``folder``/ops.json whole (a temporary file renamed over it); returns the path.
    Raises ``OSError`` when the folder cannot be written."""
    path = folder / ADDRESS_FILE
    body = {k: v for k, v in asdict(address).items() if k != "file"}
    with atomic_writer(path, sync=False) as out:  # made again at each start: no fsync on the way up
        out.write((json.dumps(body) + "\n").encode())
    return path


def read_address(folder: Path) -> Address | None:
    """The address in ``folder``/ops.json, or None when there is none (or it is not one arb wrote)."""
    path = folder / ADDRESS_FILE
    try:
        body = json.loads(path.read_text())
        return Address(
            url=str(body["url"]),
            pid=int(body["pid"]),
            run_id=str(body["run_id"]),
            mode=str(body["mode"]),
            symbol=str(body.get("symbol", "")),
            started=str(body.get("started", "")),
            file=str(path),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remove_address(folder: Path, run_id: str) -> None:
    """Remove ``folder``/ops.json if it is still this run's (another process may have written its own)."""
    found = read_address(folder)
    if found is not None and found.run_id == run_id:
        Path(found.file).unlink(missing_ok=True)
