"""What a run produces besides its fills, as pure data: made by the backtest and the live engine alike,
read by the reports, the terminal and the dashboard. :mod:`~arb.results.marks`: out-of-sync spans and
boundary mids; :mod:`~arb.results.pairs`: the arbitrage pairs of a run's fills and what each made;
:mod:`~arb.results.inventory`: each venue's balances available and reserved, and each direction's pairs left.
"""
