"""What the venues' wire messages share (their structs are in ``connectors/<venue>/messages.py``)."""

from __future__ import annotations

__all__ = ["RawLevels"]

import msgspec

RawLevels = msgspec.Raw
"""A JSON array of ``["price", "qty"]`` string pairs, left undecoded: msgspec only skips over it and
``connectors.common.levels.parse_levels`` turns it into an ``(n, 2)`` float array (the bulk of a
depth message is its levels, and this is several times faster than decoding them as tuples)."""
