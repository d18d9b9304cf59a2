"""Each venue's writer of constructed scenarios, one module a venue: ``arb.testing.scenario_venues.<venue>``
exports ``WRITER`` (a :data:`~arb.testing.scenario_parts.WriterFactory`), found by the venue's name with
:func:`scenario_writer`. A venue a scenario can hold is a module here, and nothing else changes."""

from __future__ import annotations

__all__ = ["scenario_writer"]

import importlib

from arb.testing.scenario_parts import WriterFactory


def scenario_writer(venue: str) -> WriterFactory:
    """Venue ``venue``'s scenario writer; ``ValueError`` naming the venue when it has none."""
    try:
        module = importlib.import_module(f"{__name__}.{venue}")
    except ModuleNotFoundError as error:
        raise ValueError(f"no scenario writer for venue {venue!r} ({__name__}.{venue})") from error
    found: WriterFactory = module.WRITER
    return found
