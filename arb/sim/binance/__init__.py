"""The simulated Binance: spot and USD-M market data (:mod:`.public`) and trading (:mod:`.exchange`)."""
