"""The venue simulator's own tests (``arb.sim``): its parts alone, and the fake venues on loopback."""
