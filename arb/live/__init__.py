"""The live path: market data as it arrives (or a recording replayed as if it did) into one engine.

:mod:`~arb.live.session_loop` is the one loop, :mod:`~arb.live.engine` the engine that applies batches and
runs the compiled strategy; :mod:`~arb.live.dry_run` (the paper venue) and :mod:`~arb.live.trading`
(``arb live``, the venues) are the set-ups around them; :mod:`~arb.live.trading_session` is a trading
account's executors and journal, :mod:`~arb.live.kill` the kill switch, :mod:`~arb.live.record` the
recorder's loop. It never imports the backtest (:mod:`arb.backtest`).
"""
