"""Strategies arb ships beyond its two built-ins, each written through the strategy seam
(:mod:`arb.strategy.seam`) as a user's would be, importing only :mod:`arb.strategy` and the ground:
:mod:`arb.strategies.funding_carry` (``FundingCarry``)."""
