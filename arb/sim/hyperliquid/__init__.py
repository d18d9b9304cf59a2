"""The simulated Hyperliquid: public market data (:mod:`.public`: the WebSocket and the info endpoint) and its
exchange (:mod:`.exchange`: signed actions on ``/exchange``, the private ``/info`` queries and streams, a ledger of
its own). arb's live adapter for Hyperliquid is not built yet; ccxt's ``hyperliquid`` trades against the fake."""
