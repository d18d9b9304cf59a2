"""The inputs of a conversion checked before any line is read: each file there, not empty, not an ``.npz``,
given once and in time order, and holding the venue, market and symbol asked for (or settling them from
its name and first lines). :func:`prepare_inputs` is what :mod:`arb.recording.convert` and the scan call
first; a refusal is a ``RecordingError`` naming the file and what it holds."""

from __future__ import annotations

__all__ = ["prepare_inputs"]

import itertools
from collections.abc import Sequence
from pathlib import Path

from arb.errors import RecordingError
from arb.recording.imports import Import, npz_given
from arb.recording.npz import EodSnapshot
from arb.recording.venues import FOLDER, Sniff, infer_venue, refuse_other_data, sniff
from connectors.common.findings import order_error


def prepare_inputs(
    inputs: Sequence[str | Path],
    venue: str | None,
    market: str | None,
    symbol: str | None,
    initial: EodSnapshot | None,
    source: Import | None = None,
) -> tuple[list[Path], str, str | None, str | None]:
    """Check the inputs exist and hold what was asked for; settle venue, market and symbol (``RecordingError``
    naming the file and what it holds otherwise). Returns ``(paths, venue, market, symbol)``."""
    paths = [Path(p) for p in inputs]
    if not paths:
        raise RecordingError("no input files given")
    seen: set[Path] = set()
    for path in paths:
        if not path.is_file():
            raise RecordingError(f"{path}: no such recording file")
        if path.stat().st_size == 0:
            raise RecordingError(f"{path}: empty file (0 bytes): nothing was recorded")
        if source is None:
            with path.open("rb") as f:
                if f.read(4) == _ZIP_MAGIC:
                    raise npz_given(path)
        if path.resolve() in seen:
            raise RecordingError(f"{path}: given twice: the inputs are one session's files in time order, each once")
        seen.add(path.resolve())
    if source is not None:  # another format identifies its files itself
        return (paths, *source.prepare(paths, venue, market, symbol, initial))
    sniffs = [sniff(path) for path in paths]
    _refuse_out_of_order(paths, sniffs)
    if venue is None:
        venue, guessed = infer_venue(paths[0])
        folder = FOLDER.match(paths[0].parent.name)
        market = market or guessed or (folder["market"] if folder and folder["venue"] == venue else None)
    if initial is not None:
        if initial.venue != venue:
            raise RecordingError(f"initial snapshot is for {initial.venue}, the recording is {venue}")
        market = market or initial.market
        symbol = symbol or initial.symbol
    for path, found in zip(paths, sniffs, strict=True):
        refuse_other_data(path, found, venue, market, symbol)
    return paths, venue, market, symbol


_ZIP_MAGIC = b"PK\x03\x04"
"""The first bytes of a zip archive, so of every ``.npz``."""


def _refuse_out_of_order(paths: list[Path], sniffs: list[Sniff]) -> None:
    # A file whose first line is older than the first line of the file given before it: the days of a
    # session given out of order (the full check, against where the file before ends, is the findings').
    given = [(str(path), found.read.first_ts if found.read else 0) for path, found in zip(paths, sniffs, strict=True)]
    for (earlier, earlier_ts), (later, later_ts) in itertools.pairwise(given):
        if later_ts and earlier_ts and later_ts < earlier_ts:
            raise RecordingError(order_error(earlier, earlier_ts, later, later_ts, given, ends=False))
