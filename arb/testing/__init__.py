"""Helpers for tests and demos: fakes, replays and throwaway configuration files.

Each helper lives in its own module (``arb.testing.configs``, ...); import from there.
"""
