"""What the fakes' own processes share (``python -m arb.sim.<venue>.serve``): say where the venue is, then
serve until told to stop."""

from __future__ import annotations

__all__ = ["announce_and_serve"]

import asyncio
import json
import signal
import sys
from collections.abc import Mapping
from typing import Any


async def announce_and_serve(urls: Mapping[str, Any]) -> None:
    """Print ``urls`` as one JSON line, then serve until stdin closes or the process gets SIGTERM/SIGINT."""
    sys.stdout.write(json.dumps(dict(urls)) + "\n")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not sys.stdin.readline() else None)
    await stop.wait()
