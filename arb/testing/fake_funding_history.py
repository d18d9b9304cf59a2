"""A fake REST server of a venue's funding-rate history, for tests of ``arb fetch-funding``: the server is
:class:`arb.sim.funding_history.FakeFundingHistoryVenue`, each venue's REST its folder's
(``arb/sim/<venue>/funding_history.py``); the names are here for the tests that import them from here."""

from __future__ import annotations

__all__ = ["FakeFundingHistoryVenue", "FundingRequest"]

from arb.sim.funding_history import FakeFundingHistoryVenue, FundingRequest
