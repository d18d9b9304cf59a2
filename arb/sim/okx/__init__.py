"""The simulated OKX v5: public market data (:mod:`.public`) in OKX's wire format (:mod:`.wire`)."""
