"""The rules records under this module's earlier name: :mod:`arb.strategy.rules` (``make_params`` and
``params_of`` are :func:`~arb.strategy.rules.make_rules` and :func:`~arb.strategy.rules.rules_of`), for code
that imports them from here."""

from __future__ import annotations

__all__ = ["common_lot", "copy_settings", "make_params", "params_of"]

from arb.strategy.rules import common_lot, copy_settings, make_params, params_of
