"""How a venue's recorded frames are read back: the part of a recording's format that is the venue's.

A recording keeps each frame as the venue sent it (``arb record``), so what tells one venue's files from
another's, and the symbol and market in them, is the venue's wire format: each venue's connector says it
in ``connectors/<venue>/recordings.py`` (``RECORDINGS``, a :class:`RecordingFormat`), and the converter
(``arb.recording``) asks the registry, never naming a venue.
"""

from __future__ import annotations

__all__ = ["ExchangeMs", "RecordingFormat", "between"]

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ExchangeMs = Callable[[dict[str, Any], str], object]
"""A decoded frame and its market -> its exchange time in ms as the venue wrote it (None: it has none)."""


@dataclass(frozen=True, slots=True)
class RecordingFormat:
    """What the converter needs of one venue's recordings."""

    name: str
    normalizer: type[Any]
    """The venue's normalizer class (``normalize.py``'s ``NORMALIZER``)."""
    scanner: str
    """How a compile notice names its compiled scanners."""
    scanners: Callable[[], list[Any]]
    """The compiled scanners a conversion uses (read late: the modules compile them lazily)."""
    scan_compile_s: float
    """About how long compiling them takes, for the notice."""
    bulk_scan: bool
    """A converter hands whole buffers to the compiled scan (``on_chunk``), so the per-frame scan
    would only decline what it declines: it is left out (never compiled) when converting."""
    recognise: Callable[[bytes], bool]
    """Whether a frame's first bytes are this venue's."""
    details: Callable[[bytes, bytes], tuple[str | None, str | None]]
    """``(symbol, market)`` as a frame tells them, from the frame and its first bytes (None where it
    does not)."""
    market_from_path: bool
    """Whether a market the frames do not tell is read from the path (``spot`` or ``linear`` in it)."""
    exchange_ms: ExchangeMs
    """Where the venue stamps a frame: its exchange time in ms as the venue wrote it, from the decoded frame
    and the market (None where the frame carries none: a REST snapshot, a control message)."""


def between(data: bytes, start: bytes, end: bytes) -> str:
    """The text of ``data`` between the first ``start`` and the ``end`` after it ("" when absent)."""
    i = data.find(start)
    if i < 0:
        return ""
    i += len(start)
    j = data.find(end, i)
    return data[i:j].decode("utf-8", "replace") if j > i else ""
