"""The simulated OKX v5: public market data (:mod:`.public`) in OKX's wire format (:mod:`.wire`), and trading
(:mod:`.exchange`: signed REST, the private WebSocket, a ledger of its own)."""
