"""The test suite's own support, in one place: what the tests share and nothing outside ``tests/`` uses.

``captures`` (paths to the real captures and book oracles over them), ``scenario_days`` (the constructed
day most end-to-end tests trade), ``two_symbols`` (the two-symbol recordings), ``paper_rig`` (the paper
executor's rig), ``feed_rig`` (a real feed against a fake venue, on a driven clock), ``live_rig`` (a fake
private venue, a configuration pointing at it, a trading session), ``processes`` (``arb`` as a child
process), ``stand_in`` (a process holding arb live's pid file that does not end at the kill switch),
``postgres`` (a real PostgreSQL server), ``report_checks`` (every report says what summary.json says),
``book_check`` (every fill read against the book it took from, net of our earlier takes). The fakes and
rigs that the benchmarks use too are in :mod:`arb.testing`; the venue simulator itself is :mod:`arb.sim`.
"""
