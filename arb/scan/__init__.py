"""``arb scan``: where a spread is worth trading, for every symbol the venues share, on history and live.

The scan reads the same normalized rows as a backtest (recordings, Tardis datasets, a venue's archive),
keeps each venue's top of book, and measures every ordered venue pair of every (symbol, day): the net edge
after both taker fees, its episodes above the threshold, the depth crossable at each episode's start, what
a bot at a given latency could take, and which venue moves first (docs/scan.md). Work is sharded by
(symbol, day) and runs on local processes or a Ray cluster; each shard's result is kept as it finishes.
"""
