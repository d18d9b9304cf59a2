"""What watching costs the trading loop: a replayed dry run with and without its watchers.

Runs the dry run of the shipped sample (the live path: normalizers, engine, paper executor) several
times, alternating two set-ups, and prints the tick-to-decision time of every batch (p50, p99,
p99.9) and of the batches whose decision sent orders:

- *bare*: ``[ops]`` and ``[alerts]`` off (the loop still publishes snapshots into its hub: that part
  is always on);
- *watched*: the dashboard and ``/metrics`` served on 127.0.0.1, a client holding the dashboard's
  event stream open and reading every event, ``/metrics`` scraped every second, and alerts on, sent
  to a webhook receiver on 127.0.0.1 (an abnormal-spread threshold low enough that the rules fire).
  ``--browser`` opens the page in headless Chromium as well (it then shares the two cores).

The target (issue 11): the watched p99 within 5 % of the bare one. Timings are printed, never
asserted; run it on a quiet machine.

    python benchmarks/bench_ops.py [--runs 3] [--speed max|N] [--browser]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
from aiohttp import web
from machine import run_benchmark
from rich.console import Console

from arb.config import load_config
from arb.execution.paper_account import PaperAccount
from arb.live.dry_run import dry_run_replay
from arb.ops.terminal import dry_run_watchers
from arb.ops.watch import Watch
from arb.testing.configs import write_config_files

ROOT = Path(__file__).resolve().parent.parent


class _Watchers:
    """An SSE reader of the dashboard, a scraper of /metrics (every second) and a webhook receiver,
    in a thread of their own with their own loop, like a browser and a Prometheus elsewhere."""

    def __init__(self) -> None:
        self.events = 0
        self.scrapes = 0
        self.webhooks = 0
        self.url = ""
        self.webhook_url = ""
        self._ready = threading.Event()
        self._url_set = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(10)

    def watch(self, url: str) -> None:
        self.url = url
        self._url_set.set()

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()

        async def hook(request: web.Request) -> web.Response:
            await request.read()
            self.webhooks += 1
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_post("/hook", hook)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # the bound port
        self.webhook_url = f"http://127.0.0.1:{port}/hook"
        self._ready.set()
        await asyncio.get_running_loop().run_in_executor(None, self._url_set.wait)
        async with aiohttp.ClientSession() as session:
            tasks = [asyncio.create_task(self._read_events(session)), asyncio.create_task(self._scrape(session))]
            await self._stop.wait()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await runner.cleanup()

    async def _read_events(self, session: aiohttp.ClientSession) -> None:
        async with session.get(self.url + "/api/v1/history") as response:
            await response.read()
        async with session.get(self.url + "/events") as response:
            async for line in response.content:
                if line.startswith(b"data:"):
                    self.events += 1

    async def _scrape(self, session: aiohttp.ClientSession) -> None:
        while True:
            async with session.get(self.url + "/metrics") as response:
                await response.read()
                self.scrapes += 1
            await asyncio.sleep(1.0)


def _run(tmp: Path, watched: bool, speed: float | None, browser: bool, n: int) -> tuple[list[int], list[int], str]:
    watchers = _Watchers() if watched else None
    if watchers is not None:
        watchers.start()
    overrides: dict[str, Any] = {"backtest": {"recordings": str(ROOT / "recordings")}}
    if watched and watchers is not None:
        overrides["ops"] = {"enabled": True, "port": 0, "snapshot_ms": 500}
        overrides["alerts"] = {"abnormal_spread_bps": 0.5, "cooldown_s": 1, "webhook": {"url": watchers.webhook_url}}
    else:
        overrides["alerts"] = {"enabled": False}
    folder = tmp / f"run{n}"
    config = load_config(write_config_files(folder, arbitrage_overrides=overrides))
    account = PaperAccount.open(folder / "paper", config)
    samples: list[int] = []
    intents: list[int] = []
    chromium: subprocess.Popen[bytes] | None = None

    def on_watch(watch: Watch) -> None:
        nonlocal chromium
        watch.samples, watch.intent_samples = samples, intents
        if watchers is not None and watch.server is not None:
            watchers.watch(watch.server.url)
            exe = shutil.which("chromium")
            if browser and exe:
                chromium = subprocess.Popen(
                    [exe, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={folder / 'chrome'}",
                     "--remote-debugging-port=0", watch.server.url + "/"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )  # fmt: skip

    quiet = Console(file=open("/dev/null", "w"))  # noqa: SIM115 - closed with the run
    try:
        asyncio.run(dry_run_replay(config, account=account, console=quiet, speed=speed,
                                   watchers=dry_run_watchers(config, account, quiet),
                                   on_watch=lambda w: on_watch(w) if isinstance(w, Watch) else None))  # fmt: skip
    finally:
        quiet.file.close()
        if chromium is not None:
            chromium.terminate()
            chromium.wait(10)
        if watchers is not None:
            watchers.stop()
    note = ""
    if watchers is not None:
        note = f"events read {watchers.events:,}, scrapes {watchers.scrapes}, webhooks {watchers.webhooks}"
    return samples, intents, note


def _pct(values: list[int]) -> tuple[float, float, float]:
    if not values:
        return (float("nan"),) * 3
    a = np.asarray(values, dtype=np.float64) / 1e3
    p50, p99, p999 = np.percentile(a, [50, 99, 99.9])
    return float(p50), float(p99), float(p999)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each set-up, alternating (default 3)")
    parser.add_argument("--speed", default="max", help="replay speed: max (default) or a multiplier")
    parser.add_argument("--browser", action="store_true", help="also open the page in headless Chromium")
    args = parser.parse_args()
    speed = None if args.speed == "max" else float(args.speed)
    tmp = Path(tempfile.mkdtemp(prefix="bench-ops-"))
    bare: list[int] = []
    watched: list[int] = []
    bare_intents: list[int] = []
    watched_intents: list[int] = []
    notes = []
    try:
        _run(tmp, False, speed, False, 0)  # compile and warm every path once
        for i in range(args.runs):
            for on in (False, True):
                samples, intents, note = _run(tmp, on, speed, args.browser, 2 * i + 1 + int(on))
                (watched if on else bare).extend(samples)
                (watched_intents if on else bare_intents).extend(intents)
                if note:
                    notes.append(note)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    b, w = _pct(bare), _pct(watched)
    print(f"replayed dry run of the sample x {args.runs} per set-up, speed {args.speed}")
    for name, values, (p50, p99, p999) in (("bare", bare, b), ("watched", watched, w)):
        print(f"{name:<8} tick to decision n={len(values):>8,}  p50 {p50:6.1f} us  p99 {p99:6.1f} us  "
              f"p99.9 {p999:7.1f} us")  # fmt: skip
    print(f"watched p99 / bare p99 = {w[1] / b[1]:.3f} (target: within 5 %, i.e. <= 1.05)")
    for name, values in (("bare", bare_intents), ("watched", watched_intents)):
        p50, most = _pct(values)[0], max(values or [0]) / 1e3
        print(f"{name:<8} batches that sent orders n={len(values)}  p50 {p50:.1f} us  max {most:.1f} us")
    for note in notes:
        print(f"  watchers: {note}")


if __name__ == "__main__":
    run_benchmark(main)
