"""Execution: the risk gate every driver applies, and the executors (paper, live)."""
