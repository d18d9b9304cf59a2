"""What the fakes' own processes share (``python -m arb.sim.<venue>.serve``): the command line's first arguments,
say where the venue is once its book is synced, then serve until told to stop."""

from __future__ import annotations

__all__ = ["announce_and_serve", "announce_synced", "serve_parser"]

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from arb.sim.venue import FakeVenue


def serve_parser(module: str, description: str | None) -> argparse.ArgumentParser:
    """The command line of ``python -m <module>`` (``description``: the module's docstring, shown as written),
    with the arguments every fake's process takes first: its ``market`` (``spot`` or ``linear``) and
    ``--recording``; the venue adds its own."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("market", choices=("spot", "linear"))
    parser.add_argument("--recording", type=Path, required=True)
    return parser


async def announce_synced(venue: FakeVenue, symbol: str, book_stream: str, urls: Mapping[str, Any]) -> None:
    """Release ``venue``'s recording up to its first frame on a stream named ``book_stream...``, then announce
    ``urls`` and ``symbol``'s best ``bid`` and ``ask`` and serve (:func:`announce_and_serve`)."""
    await venue.advance_until(lambda frame: frame.stream.startswith(book_stream))
    book = venue.book(symbol, 1)
    await announce_and_serve({**urls, "bid": book.bids[0][0], "ask": book.asks[0][0]})


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
