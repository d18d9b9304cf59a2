"""The venues of a run as its results name them: by number in every array, by name in every file and
table, by title where a person reads them, and the directions a pair can trade between them.

No venue is named here: the names come from the run (its configuration, ``config.venue_names``, or the
configuration a report saved, :func:`saved_venue_names`), the titles from each venue's facts file
(:func:`arb.catalog.venue_facts`). A venue's number is its place in the run's list; a direction
is an ordered pair of numbers, (buy venue, sell venue).
"""

from __future__ import annotations

__all__ = [
    "direction_name",
    "directions",
    "saved_venue_names",
    "venue_names",
    "venue_title",
    "venue_titles",
]

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from arb.catalog import default_venues, venue_catalog


def venue_names(n: int, given: Sequence[str] = ()) -> tuple[str, ...]:
    """The names of a run's ``n`` venues by number: ``given`` when it names ``n`` venues; else the default
    run's (:func:`arb.catalog.default_venues`, what a configuration without ``[strategy] venues``
    trades) when it has ``n``; else ``venue0``, ``venue1``, ... (data that does not say whose it is).

    Raises:
        ValueError: ``given`` names a number of venues other than ``n``.
    """
    names = tuple(str(name) for name in given)
    if names:
        if len(names) != n:
            raise ValueError(f"venues: expected the names of {n} venues, got {list(names)}")
        return names
    default = default_venues()
    return default if len(default) == n else tuple(f"venue{v}" for v in range(n))


def venue_title(name: str) -> str:
    """How a person reads venue ``name``: its facts file's ``title``; a name arb does not know, as itself."""
    facts = venue_catalog().get(name)
    return facts.title if facts is not None else name


def venue_titles(names: Sequence[str]) -> tuple[str, ...]:
    """:func:`venue_title` of each of ``names``."""
    return tuple(venue_title(name) for name in names)


def directions(n: int) -> tuple[tuple[int, int], ...]:
    """Every direction between ``n`` venues, ``(buy venue, sell venue)``, in the order every display lists
    them: by buy venue, then by sell venue (two venues: ``((0, 1), (1, 0))``)."""
    return tuple(itertools.permutations(range(n), 2))


def direction_name(buy: str, sell: str) -> str:
    """``buy_<buy>_sell_<sell>`` of two venues' names: a direction as the metrics' ``direction`` label,
    inventory.csv's columns and the JSON name it."""
    return f"buy_{buy}_sell_{sell}"


def saved_venue_names(config: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The venues of a run, in its order, from the configuration a report saved (``AppConfig.to_dict()``,
    summary.json's ``meta.config``): its ``strategy.venues``; a configuration written before that key
    (two venues, each file a table under its name) gives the tables whose ``name`` is their key, in the
    file's order. Empty when neither is there (no configuration saved)."""
    if not isinstance(config, Mapping):
        return ()
    listed = (config.get("strategy") or {}).get("venues")
    if isinstance(listed, Sequence) and not isinstance(listed, str) and all(isinstance(n, str) for n in listed):
        return tuple(listed)
    return tuple(key for key, table in config.items() if isinstance(table, Mapping) and table.get("name") == key)
