"""The backtest: a day range of recordings replayed through hftbacktest with the compiled strategy.

:mod:`~arb.backtest.run` sets a run up and writes its results, :mod:`~arb.backtest.compiled_loop` is the
Numba loop over hftbacktest's events, :mod:`~arb.backtest.hbt_orders` and :mod:`~arb.backtest.hbt_quotes`
carry the kernel's intents to hftbacktest's order API, :mod:`~arb.backtest.hbt_abi` is the layout of its
compiled objects, and :mod:`~arb.backtest.order_latency` the order latencies it replays. It never imports
the live path (:mod:`arb.live`): what both share sits below them (the strategy, the recordings, the results).
"""
