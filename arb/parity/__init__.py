"""Parity: the same recording through the backtest and through the live path, decision for decision.

:mod:`~arb.parity.against_dry_run` compares the backtest with the replayed dry run (``arb parity``);
:mod:`~arb.parity.against_live` with ``arb live`` trading the replay on the simulated venues (``arb parity
--live``). It is the one layer that imports both :mod:`arb.backtest` and :mod:`arb.live`.
"""
