"""The strategies arb ships, each written through the strategy seam (:mod:`arb.strategy.seam`) as a user's would
be, importing only :mod:`arb.strategy` and the ground: the two built-ins ``[strategy] style`` names,
:mod:`arb.strategies.taker` (``TAKER``) and :mod:`arb.strategies.maker_taker` (``MAKER_TAKER``), and
:mod:`arb.strategies.funding_carry` (``FundingCarry``, named by ``[strategy] kernel``)."""
