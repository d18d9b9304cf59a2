"""From a day nobody recorded to its backtest on the shipped configuration, each command as a user types it.

A copy of the shipped configuration (``config/*.toml``, byte for byte, plus one ``[history] tardis_url``
pointing at a local Tardis-shaped server, arb/testing/fake_archive.py) and the shipped recordings (linked)
stand for a fresh clone. The server holds 2024-01-01 of both venues' spot books as Tardis serves them, made
from the sample's real captures moved by 220 days (arb/testing/history_files.py). What must show:

- the hint ``arb backtest --start 2024-01-01`` prints runs as printed, and then the same backtest runs on
  what it fetched with no other flag; so too with a ``--set`` of the recordings folder or the symbol (the
  hint names ``--out`` or ``--symbols``: ``arb fetch`` reads the file alone);
- docs/data.md's walk is true: its commands, extracted from the page, run in order as typed, and each
  line of output it shows is one the commands print;
- with the host unreachable (a name that does not resolve, a closed port on 127.0.0.1): one line naming
  the host, no retry, no folder left, exit 4, ``--dry-run`` too.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shlex
import socket
from pathlib import Path

import pytest

from arb.cli import main
from arb.config import load_config
from arb.recording.fetch import fetch, plan
from arb.testing.fake_archive import FakeArchive
from arb.testing.history_files import tardis_from
from tests.support.captures import RECORDINGS, ROOT, SPOT_BTC
from tests.support.feed_rig import Waits
from tests.support.processes import run_arb
from tests.support.shared import made_once

JAN_1 = "2024-01-01"
MOVE = -220  # 2024-08-08 - 220 days = 2024-01-01
UNRESOLVABLE = "http://arb-fetch-test.invalid/v1"  # RFC 6761: .invalid never resolves


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """2024-01-01 of Binance spot and Bybit spot BTCUSDT, and the same books as ETHUSDT's, as Tardis's files
    (``binance``, ``bybit-spot``); written once for the run's workers (read-only)."""

    def write(root: Path) -> None:
        bybit = [RECORDINGS / "bybit_spot" / "btcusdt_20240808.gz"]
        for symbol in (None, "ETHUSDT"):  # ETHUSDT: a symbol the shipped configuration does not trade
            tardis_from("binance", SPOT_BTC[:1], root, market="spot", symbol=symbol, move_days=MOVE)
            tardis_from("bybit", bybit, root, market="spot", symbol=symbol, move_days=MOVE)

    root = made_once(tmp_path_factory, "fetch-path-served", write)
    return sorted((root / "tardis").rglob("*.csv.gz"))


def fresh_clone(folder: Path, tardis_url: str) -> Path:
    """``folder`` as a fresh clone's root: the shipped configuration, Tardis pointed at ``tardis_url``, and
    the shipped recordings. Returns ``folder``."""
    config = folder / "config"
    config.mkdir(parents=True)
    for name in ("arbitrage.toml", "binance.toml", "bybit.toml"):
        (config / name).write_bytes((ROOT / "config" / name).read_bytes())
    with (config / "arbitrage.toml").open("a") as f:
        f.write(f'\n[history]\ntardis_url = "{tardis_url}"\n')
    for venue in ("binance_spot", "bybit_spot"):
        (folder / "recordings" / venue).mkdir(parents=True)
        for day in sorted((RECORDINGS / venue).glob("btcusdt_*.gz")):
            (folder / "recordings" / venue / day.name).symlink_to(day)
    return folder


def summaries(folder: Path) -> list[dict[str, object]]:
    return [json.loads(p.read_text()) for p in sorted((folder / "results").glob("backtest-*/summary.json"))]


HINT = re.compile(r"; fetch (?:it|them): (arb fetch .*?)(?: \(docs/data\.md\))?$")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("setting", "added"),
    [
        (None, []),  # the shipped configuration needs nothing more
        ("backtest.recordings=elsewhere", ["--out", "{clone}/elsewhere"]),
        ("strategy.symbol=ETHUSDT", ["--symbols", "ETHUSDT"]),
    ],
)
async def test_the_printed_hint_runs_as_printed_then_the_backtest_runs_on_what_it_fetched(
    tmp_path: Path, served: list[Path], setting: str | None, added: list[str]
) -> None:
    # Once, a --set was taken for what the file says: the hint fetched into ./recordings, or BTCUSDT.
    with FakeArchive() as server:
        server.add_tree(served, served[0].parents[1])
        clone = fresh_clone(tmp_path / "clone", server.tardis_url)
        if setting == "backtest.recordings=elsewhere":
            (clone / "recordings").rename(clone / "elsewhere")  # the file's folder is not there: --out must say
        options = ["--set", setting] if setting else []
        code, _, err = await run_arb("backtest", *options, "--start", JAN_1, cwd=clone, forked=True)
        assert code == 2
        (line,) = err.strip().splitlines()
        symbol = "ETHUSDT" if added[:1] == ["--symbols"] else "BTCUSDT"
        if symbol == "ETHUSDT":  # none of its days is recorded
            assert line.startswith(f"arb backtest: no binance spot recordings of {symbol} in ")
        else:
            assert line.startswith(f"arb backtest: --start {JAN_1}: no recording of that day for binance spot BTCUSDT")
        printed = HINT.search(line)
        assert printed is not None, line
        hint = shlex.split(printed.group(1))
        assert hint == ["arb", "fetch", "--start", JAN_1, *(word.format(clone=clone) for word in added)]
        code, out, err = await run_arb(*hint[1:], cwd=clone, forked=True)
        assert code == 0, out + err
        assert "source: tardis (the default: Tardis.dev has every venue's spot and linear books" in out
        assert f" {symbol} into " in out.splitlines()[0]
        code, out, err = await run_arb("backtest", *options, "--start", JAN_1, cwd=clone, forked=True)
    assert code == 0, out + err
    (summary,) = summaries(clone)
    assert summary["meta"]["dates"] == [JAN_1]  # type: ignore[index]  # the fetched day alone, not the sample's


WALK = re.compile(r"<!-- walk:[^>]*-->\n```console\n(.*?)```", re.DOTALL)


def walk() -> list[tuple[list[str], list[str]]]:
    """docs/data.md's walk: each ``$`` command (as words) and the output lines it shows."""
    (block,) = WALK.findall((ROOT / "docs" / "data.md").read_text())
    steps: list[tuple[list[str], list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            steps.append((shlex.split(line[2:]), []))
        else:
            steps[-1][1].append(line)
    return steps


def shown(line: str, output: list[str]) -> bool:
    # Whether a line of the page is one of the output's lines ("..." on the page stands for any text).
    if line == "...":
        return True
    pattern = ".*".join(re.escape(part) for part in line.split("..."))
    return any(re.fullmatch(pattern, got) for got in output)


@pytest.mark.slow
async def test_the_walk_of_docs_data_md_runs_as_typed(tmp_path: Path, served: list[Path], charts: None) -> None:
    steps = walk()
    assert [words[:2] for words, _ in steps] == [["arb", "backtest"], ["arb", "fetch"], ["arb", "backtest"]]
    codes = []
    with FakeArchive() as server:
        server.add_tree(served, served[0].parents[1])
        clone = fresh_clone(tmp_path / "clone", server.tardis_url)
        for n, (words, lines) in enumerate(steps):
            code, out, err = await run_arb(*words[1:], cwd=clone, forked=True)
            codes.append(code)
            output = (out + err).splitlines()
            missing = [line for line in lines if not shown(line, output)]
            assert not missing, f"{' '.join(words)} did not print {missing}; it printed:\n{out}{err}"
            hints = [line.partition("; fetch it: ")[2] for line in output if "; fetch it: " in line]
            if hints:  # the page's next command is the hint, as printed
                assert shlex.split(hints[0]) == steps[n + 1][0]
    assert codes == [2, 0, 0]
    assert [s["meta"]["dates"] for s in summaries(clone)] == [[JAN_1]]  # type: ignore[index]


def closed_port() -> int:
    # A port on 127.0.0.1 nothing listens on: bound, then closed (connections to it are refused).
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("where", ["unresolvable", "closed port"])
def test_an_unreachable_host_is_one_line_naming_it_and_leaves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    url = UNRESOLVABLE if where == "unresolvable" else f"http://127.0.0.1:{closed_port()}/v1"
    clone = fresh_clone(tmp_path / "clone", url)
    host = url.split("/")[2]
    before = sorted(p for p in clone.rglob("*"))
    config = str(clone / "config" / "arbitrage.toml")
    assert main(["fetch", "--config", config, "--start", JAN_1]) == 4
    out, err = capsys.readouterr()
    why = "its name does not resolve" if where == "unresolvable" else "connection refused"
    assert err.splitlines() == [
        f"arb fetch: tardis: cannot reach {host} ({why}): 4 tardis files not fetched; check the network, or "
        "[history] / --base-url"
    ]
    assert out.splitlines()[0] == f"fetching {JAN_1}: binance spot, bybit spot BTCUSDT into {clone / 'recordings'}"
    assert sorted(p for p in clone.rglob("*")) == before  # no folder, no .part
    assert main(["fetch", "--config", config, "--start", JAN_1, "--dry-run"]) == 4
    assert capsys.readouterr().err.splitlines() == [
        f"arb fetch: cannot reach {host} ({why}): sizes of 4 files not learned"
    ]


@pytest.mark.parametrize("where", ["unresolvable", "closed port"])
async def test_an_unreachable_host_is_not_retried(tmp_path: Path, where: str) -> None:
    base = UNRESOLVABLE if where == "unresolvable" else f"http://127.0.0.1:{closed_port()}/v1"
    config = load_config(fresh_clone(tmp_path / "clone", base) / "config" / "arbitrage.toml")
    venues = [("binance", "spot"), ("bybit", "spot")]
    items = plan(config, "tardis", venues, ["BTCUSDT"], [dt.date(2024, 1, 1)], tmp_path / "r")
    waits = Waits()
    results = await fetch(config, items, sleep=waits, downloads=1)
    assert waits.seconds == []  # every retry waits first (0 s at the least): none was tried
    host = base.split("/")[2]
    assert [(r.unreachable, r.stopped) for r in results] == [(host, False)] + [(host, True)] * 3
    assert not (tmp_path / "r").exists()
