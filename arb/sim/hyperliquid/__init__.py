"""The simulated Hyperliquid: public market data (:mod:`.public`: the WebSocket and the info endpoint). No
exchange yet (signed actions, the ledger): Hyperliquid is a public-only venue in arb for now."""
