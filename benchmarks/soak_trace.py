"""``arb`` with Python's allocation tracing on, for ``bench_soak.py --tracemalloc DIR``.

    python benchmarks/soak_trace.py DIR SECONDS FRAMES AFTER -- dry-run --live-data --config ...

runs ``arb`` with the arguments after ``--`` in this process and, ``AFTER`` wall seconds later (past the
start-up: Numba's compiler under tracing is many times slower), starts ``tracemalloc`` (``FRAMES`` frames
a trace); a thread of its own then writes a snapshot every ``SECONDS`` wall seconds as
``DIR/<wall ns>.tracemalloc`` (``tracemalloc.Snapshot.dump``), and one last at the exit. What was
allocated before tracing started is not in the snapshots: they show what grows, not everything held. Taking a
snapshot holds the interpreter for a moment: the figures of a traced run are for finding what grows,
not for timing.
"""

from __future__ import annotations

import atexit
import sys
import threading
import time
import tracemalloc
from pathlib import Path


def _dump(folder: Path) -> None:
    snapshot = tracemalloc.take_snapshot()
    path = folder / f"{time.time_ns()}.tracemalloc"
    snapshot.dump(str(path.with_suffix(".part")))
    path.with_suffix(".part").rename(path)


def main() -> None:
    folder, seconds, frames, after = Path(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    if sys.argv[5] != "--":
        raise SystemExit(__doc__)
    folder.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()

    def every() -> None:
        if stop.wait(after):
            return
        tracemalloc.start(frames)
        while not stop.wait(seconds):
            _dump(folder)

    threading.Thread(target=every, name="soak-tracemalloc", daemon=True).start()

    def last() -> None:
        stop.set()
        if tracemalloc.is_tracing():
            _dump(folder)

    atexit.register(last)
    sys.argv = ["arb", *sys.argv[6:]]
    from arb.cli import run

    run()


if __name__ == "__main__":
    main()
