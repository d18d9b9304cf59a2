"""The simulated Bybit v5: spot and linear market data (:mod:`.public`) and trading (:mod:`.exchange`)."""
