"""A venue is its folder: every venue found conforms to the one protocol, the catalog and the folders list
the same venues, and no production code outside a venue's folders names a venue.

The folders of venue ``v`` are ``connectors/v/``, ``arb/sim/v/`` and ``config/v.toml``. Production code is
``arb/`` and ``connectors/``, ``arb/testing/`` (what only tests and benchmarks use) too: its rigs,
configuration writers and fault campaign learn what they know of a venue from its folders (its test kit,
``arb/sim/v/testkit.py``, and its file ``config/v.toml``). A venue is named
by a string literal that holds its name or title (``"binance"``, ``"Bybit's archive"``) or an identifier
that holds its name (``BINANCE``, ``FakeBybitVenue``, ``bought_binance``), counted with Python's tokenizer:
comments and docstrings may mention a venue as an example.
"""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

import pytest

from arb.catalog import known_venues, venue_facts
from connectors.registry import venue, venue_archives, venue_names
from tests.support.sources import nodes

ROOT = Path(__file__).resolve().parents[2]


def _venue_folders() -> list[Path]:
    return [folder / name for folder in (ROOT / "connectors", ROOT / "arb" / "sim") for name in known_venues()]


def _production_files() -> list[Path]:
    skip = _venue_folders()
    files = sorted([*(ROOT / "arb").rglob("*.py"), *(ROOT / "connectors").rglob("*.py")])
    return [f for f in files if not any(f.is_relative_to(folder) for folder in skip)]


def _docstring_lines(path: Path) -> set[int]:
    # The lines a docstring (of a module, class or function, or an attribute's bare string) starts on.
    lines = set()
    for node in nodes(path):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            lines.add(node.lineno)
    return lines


def _names_a_venue(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    docstrings = _docstring_lines(path)
    names = [name.lower() for name in known_venues()]
    titles = [venue_facts(name).title.lower() for name in known_venues()]
    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        text = token.string.lower()
        if token.type == tokenize.STRING and token.start[0] not in docstrings:
            if any(name in text for name in (*names, *titles)):
                found.append(f"{shown}:{token.start[0]}: {token.string[:60]}")
        elif token.type == tokenize.NAME and any(name in text for name in names):
            found.append(f"{shown}:{token.start[0]}: {token.string}")
    return found


def test_no_production_code_outside_a_venues_folders_names_a_venue() -> None:
    found = [line for path in _production_files() for line in _names_a_venue(path)]
    assert not found, f"{len(found)} places name a venue outside its folders:\n" + "\n".join(found[:60])


def test_the_naming_rule_sees_a_venue_where_one_is_named(tmp_path: Path) -> None:
    # the rule itself: a literal and an identifier are found, a docstring and a comment are not. The probe
    # is written outside the tree: a .py file in arb/ changes the sources' fingerprint, and an arb process
    # started meanwhile would throw away Numba's whole cache (arb/_numba_cache.py)
    probe = tmp_path / "_probe_for_test.py"
    name = known_venues()[0]
    probe.write_text(
        f'"""A module docstring may say {name}."""\n'
        f"# a comment may say {name} too\n"
        f'VENUE = "{name}"\n'
        f"{name}_share = 0.5\n",
        encoding="utf-8",
    )
    found = _names_a_venue(probe)
    assert [line.split(": ", 1)[0].rsplit(":", 1)[1] for line in found] == ["3", "4"]


def test_the_catalog_and_the_folders_list_the_same_venues() -> None:
    assert venue_names() == known_venues()
    for name in known_venues():
        assert (ROOT / "config" / f"{name}.toml").is_file(), f"config/{name}.toml: every venue ships its file"
        assert (ROOT / "arb" / "sim" / name).is_dir(), f"arb/sim/{name}/: every venue has a fake"


@pytest.mark.parametrize("name", known_venues())
def test_every_venue_conforms_to_the_protocol(name: str) -> None:
    assert venue(name).conform() == []


@pytest.mark.parametrize("name", known_venues())
def test_every_venue_has_its_test_kit(name: str) -> None:
    from arb.sim.scenario import scenario_writer
    from arb.sim.testkit import VenueTestKit, venue_testkit

    kit = venue_testkit(name)
    assert isinstance(kit, VenueTestKit) and kit.name == name
    assert ("spot", "BTCUSDT") in kit.rules and kit.rules[("spot", "BTCUSDT")].symbol == "BTCUSDT"
    assert callable(scenario_writer(name))


@pytest.mark.parametrize("name", known_venues())
def test_every_venue_has_its_fakes(name: str) -> None:
    from arb.sim import fake_exchange, fake_venue
    from arb.sim.venue import FakeVenue

    assert issubclass(fake_venue(name), FakeVenue)
    if venue(name).trades_live:  # the private side's fake comes with the private side
        assert issubclass(fake_exchange(name), FakeVenue)


def test_each_archive_is_its_venues() -> None:
    for archive in venue_archives():
        assert archive.source == f"{archive.venue}-archive"
        assert venue_facts(archive.venue).archives
