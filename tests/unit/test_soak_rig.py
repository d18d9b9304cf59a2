"""The soak rig's pacing: neither fake venue plays more than a moment ahead of the other."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from arb.testing.soak import LOCKSTEP_NS, lockstep


@dataclass
class _Frame:
    local_ts: int


@dataclass
class _Venue:
    """What the rig reads of a venue's playback: its next frame, and the gate it is given."""

    head: int | None
    gates: list[int | None] = field(default_factory=list)

    def peek(self) -> _Frame | None:
        return None if self.head is None else _Frame(self.head)

    def gate(self, gate_ns: int | None) -> None:
        self.gates.append(gate_ns)


async def _gates_after_one_turn(*venues: _Venue) -> None:
    task = asyncio.ensure_future(lockstep(venues))
    while not all(v.gates for v in venues):
        await asyncio.sleep(0)
    task.cancel()


async def test_the_venue_ahead_waits_for_the_one_behind() -> None:
    behind, ahead = _Venue(1_000_000_000), _Venue(9_000_000_000)
    await _gates_after_one_turn(behind, ahead)
    assert behind.gates[0] == ahead.gates[0] == 1_000_000_000 + LOCKSTEP_NS


async def test_a_venue_done_with_its_pass_holds_no_one_back() -> None:
    done, playing = _Venue(None), _Venue(5_000_000_000)
    await _gates_after_one_turn(done, playing)
    assert playing.gates[0] == 5_000_000_000 + LOCKSTEP_NS
    both_done = _Venue(None), _Venue(None)
    await _gates_after_one_turn(*both_done)
    assert [v.gates[0] for v in both_done] == [None, None]


@dataclass
class _Endpoints:
    # what the configuration writers read of a fake venue
    venue_name: str
    market: str = "spot"
    ws_urls: list[str] = field(default_factory=lambda: ["ws://127.0.0.1:1/ws"])
    rest_url: str = "http://127.0.0.1:1"
    private_ws_url: str = "ws://127.0.0.1:1/private"


def test_a_folder_given_relative_keeps_the_state_inside_it(tmp_path, monkeypatch) -> None:
    # `python -m arb.testing.soak --folder sandbox` (docs/strategies.md): the journal and the paper account go
    # to sandbox/live and sandbox/paper, not sandbox/sandbox/... (the file resolves a relative state_dir
    # against its own folder)
    from arb.config import load_config
    from arb.testing.soak import soak_config

    monkeypatch.chdir(tmp_path)
    venues = (_Endpoints("binance"), _Endpoints("bybit"))
    live = load_config(soak_config(Path("sandbox"), *venues, mode="live", style="taker"))
    assert live.live.state_dir == tmp_path / "sandbox" / "live"
    paper = load_config(soak_config(Path("paper-box"), *venues, mode="dry", style="taker"))
    assert paper.dry_run.state_dir == tmp_path / "paper-box" / "paper"
