"""Docs a newcomer can walk: every doc listed in docs/README.md, every relative link and anchor resolving,
every key of the configuration reference in the shipped files (and every shipped key in the reference),
and ``arb backtest --help`` saying where both styles' fees come from."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from connectors.registry import venue_names
from tests.support.captures import ROOT

DOCS = ROOT / "docs"
CONFIG = ROOT / "config"
PAGES = [*sorted(DOCS.glob("*.md")), ROOT / "README.md"]

# --- every doc listed, every link and anchor resolving ---------------------------------------------------


def test_the_docs_index_lists_every_doc() -> None:
    # before: monitoring.md and sweeps.md were in docs/ and nowhere in its index
    index = (DOCS / "README.md").read_text()
    listed = set(re.findall(r"^\| \[[^\]]+\]\(([^)#]+\.md)\)", index, re.MULTILINE))
    assert listed == {p.name for p in DOCS.glob("*.md")} - {"README.md"}


_FENCE = re.compile(r"^(```|~~~)")
_LINK = re.compile(r"(?<!!)\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_CODE_SPAN = re.compile(r"`[^`]*`")


def _prose(path: Path) -> list[str]:
    # The page's lines outside fenced code blocks.
    lines, fenced = [], False
    for line in path.read_text().splitlines():
        if _FENCE.match(line.strip()):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: its text as rendered (links as their text, code without its
    backticks, backslash escapes undone), lower-cased, every character but letters, digits, ``_``, ``-``
    and spaces dropped, spaces as ``-``."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = text.replace("`", "")
    text = re.sub(r"\\(.)", r"\1", text)
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor of a page's headings, a repeated one numbered as GitHub numbers it (``-1``, ``-2``)."""
    seen: dict[str, int] = {}
    out: set[str] = set()
    for line in _prose(path):
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match is None:
            continue
        base = anchor(match.group(1))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def test_anchor_is_githubs() -> None:
    assert anchor("The maker-taker style") == "the-maker-taker-style"
    assert (
        anchor("[symbols.\\<SYMBOL\\>] and [symbols.\\<SYMBOL\\>.\\<venue\\>]")
        == "symbolssymbol-and-symbolssymbolvenue"
    )
    assert anchor("Order entry over WebSocket") == "order-entry-over-websocket"
    assert anchor("`arb fetch`: what it costs") == "arb-fetch-what-it-costs"


def test_every_relative_link_and_anchor_in_the_docs_resolves() -> None:
    # before: a link to a heading that no longer exists (see the commit that added this test)
    broken = []
    for page in PAGES:
        for line in _prose(page):
            for target in _LINK.findall(_CODE_SPAN.sub("", line)):
                if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                    continue
                file, _, fragment = target.partition("#")
                linked = (page.parent / file).resolve() if file else page
                if not linked.exists():
                    broken.append(f"{page.relative_to(ROOT)}: {target} (no such file)")
                elif fragment and linked.suffix == ".md" and fragment not in anchors(linked):
                    broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert broken == []


# --- the configuration reference against the shipped files -----------------------------------------------

_ROW_KEY = re.compile(r"^\|\s*`([a-z_][a-z0-9_]*|<venue>)`\s*\|")
_HEADER = re.compile(r"^\s*#?\s*\[([A-Za-z0-9_.<>-]+)\]")
_KEY = re.compile(r"^\s*#?\s*([a-z_][a-z0-9_]*)\s*=\s*\S")
_CHANNELS = ("telegram", "webhook", "email")


def _documented() -> dict[str, set[str]]:
    """The keys docs/configuration.md documents, per file kind ("arbitrage", "venue"), dotted."""
    found: dict[str, set[str]] = {"arbitrage": set(), "venue": set()}
    kind, table, channels = "", None, False
    for line in (DOCS / "configuration.md").read_text().splitlines():
        if line.startswith("## "):
            kind = {"## arbitrage.toml": "arbitrage", "## Venue files (config/&lt;venue&gt;.toml)": "venue"}.get(
                line, ""
            )
            table = None
        elif line.startswith("### "):
            heading = line[4:].replace("\\", "")
            named = re.fullmatch(r"\[([^\]]+)\]", heading)
            table = "" if heading == "Top-level keys" else (named.group(1) if named else None)
            channels = False
        elif line.startswith("| key | channel |"):
            channels = True
        elif kind and table is not None and (match := _ROW_KEY.match(line)):
            key = match.group(1)
            if channels:
                channel = line.split("|")[2].strip()
                found[kind] |= {f"alerts.{c}.{key}" for c in (_CHANNELS if channel == "all" else (channel,))}
            elif not (table == "" and key == "endpoints"):  # the [endpoints...] tables, documented below
                found[kind].add(f"{table}.{key}" if table else key)
    return found


def _shipped(path: Path) -> set[str]:
    """The keys a shipped file sets or shows commented out, dotted, with the tables a person names
    (endpoints' market and network, a venue of [leg_faults]) in the reference's spelling."""
    keys: set[str] = set()
    table = ""
    for line in path.read_text().splitlines():
        if header := _HEADER.match(line):
            table = header.group(1)
        elif key := _KEY.match(line):
            keys.add(f"{table}.{key.group(1)}" if table else key.group(1))
    out = set()
    for key in keys:
        key = re.sub(r"^endpoints\.[a-z]+\.[a-z]+\.", "endpoints.<market>.<network>.", key)
        key = re.sub(r"^leg_faults\.(binance|bybit)\.", "leg_faults.", key)
        key = re.sub(r"^venues\.[a-z_]+$", "venues.<venue>", key)
        if not key.startswith("symbols."):  # a symbol's own keys are the [strategy], [risk], [instrument] ones
            out.add(key)
    return out


def test_every_documented_key_is_in_the_shipped_files_and_every_shipped_key_is_documented() -> None:
    # before: config/arbitrage.toml said nothing of style, maker_venues, the quote keys or the queue model
    documented = _documented()
    assert len(documented["arbitrage"]) > 80 and len(documented["venue"]) > 30  # the parse found the tables
    shipped = _shipped(CONFIG / "arbitrage.toml")
    assert sorted(documented["arbitrage"] - shipped) == [], "documented, not in arbitrage.toml"
    assert sorted(shipped - documented["arbitrage"]) == [], "in arbitrage.toml, not documented"
    # every venue file's keys are documented, and every documented venue key is in a venue file (a key may be
    # one venue's own: OKX's api_passphrase)
    venue_files = sorted(p for p in CONFIG.glob("*.toml") if p.stem in venue_names())
    assert len(venue_files) >= 3
    for path in venue_files:
        assert sorted(_shipped(path) - documented["venue"]) == [], f"in {path.name}, not documented"
    in_some = set().union(*(_shipped(path) for path in venue_files))
    assert sorted(documented["venue"] - in_some) == [], "documented, in no venue file"


def test_backtest_help_says_where_both_styles_fees_come_from() -> None:
    # before: "taker fees" only, though a maker_taker quote's fill pays the maker fee
    done = subprocess.run([sys.executable, "-m", "arb.cli", "backtest", "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    assert "fees.taker" in text and "fees.maker" in text and "[fees]" in text
    assert "maker_taker" in text and "taker pair" in text
