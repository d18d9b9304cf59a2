"""What every venue connector shares: the row sink, the normalizer contract and its counters."""

from connectors.common.normalizer import (
    Normalizer,
    NormalizerStats,
    SyncState,
    SyncStatus,
    SyncTransition,
)
from connectors.common.rows import RowSink

__all__ = [
    "Normalizer",
    "NormalizerStats",
    "RowSink",
    "SyncState",
    "SyncStatus",
    "SyncTransition",
]
