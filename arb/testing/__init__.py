"""Test-only helpers: rigs, fault campaigns, throwaway configuration files, waiting without sleeping.

Each helper lives in its own module (``arb.testing.configs``, ...); import from there. The simulated
venues they start are :mod:`arb.sim`, which production code may use too (``arb parity --live``);
nothing outside tests and benchmarks imports this package.
"""
