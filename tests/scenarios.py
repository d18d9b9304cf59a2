"""The constructed two-venue recordings live in :mod:`arb.testing.scenarios` (the fault campaign uses
them too); the tests import them from here as before."""

from arb.testing.scenarios import FEED_LATENCY_NS, Book, Change, write_scenario

__all__ = ["FEED_LATENCY_NS", "Book", "Change", "write_scenario"]
