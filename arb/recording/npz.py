"""The ``.npz`` files a conversion writes: event parts, end-of-day snapshots, and how they are named.

Every file is written atomically (:func:`arb.files.atomic_writer`: a temporary file in the target's
folder, synced, renamed) and deflated with ISA-L at level 1 where it is installed: any zip reader,
``np.load`` and hftbacktest included, reads them. A conversion of a long day writes parts of a bounded
number of rows (:func:`part_path`), compressing one on a helper thread while the next is converted
(:class:`PartWriter`).
"""

from __future__ import annotations

__all__ = [
    "EodSnapshot",
    "PartWriter",
    "Worker",
    "add_arrays",
    "load_eod",
    "part_path",
    "part_paths",
    "read_member",
    "remove_parts_after",
    "save_eod",
    "write_npz",
]

import contextlib
import glob
import os
import queue
import re
import threading
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from arb.errors import RecordingError
from arb.events import EventArray, event_dtype
from arb.files import atomic_writer
from connectors.common.funding import PerpSnapshot

_deflate_module: Any = zlib
try:  # ISA-L deflates .npz members ~4x faster than zlib at level 1 (it inflates recordings already)
    from isal import isal_zlib

    _deflate_module = isal_zlib
except ImportError:  # pragma: no cover - isal is a dependency; zlib is the fallback
    pass


@dataclass(frozen=True, slots=True)
class EodSnapshot:
    """The book at the end of a conversion, to start the next file from."""

    rows: EventArray
    """``DEPTH_SNAPSHOT_EVENT`` rows, bids then asks, best first (hftbacktest's initial_snapshot)."""
    venue: str
    market: str
    symbol: str
    update_id: int
    """The venue's update id of the book in ``rows``."""
    synced: bool
    """False when the stream ended out of sync: the next file must resync from its own snapshot."""
    exch_ts: int
    local_ts: int
    perp: PerpSnapshot = field(default_factory=PerpSnapshot)
    """Mark price and funding as the stream last said them (nothing known: no mark-price stream)."""
    venue_state: str = ""
    """What the venue's normalizer needs beyond the book to read the next day on
    (:meth:`~connectors.common.normalizer.VenueNormalizer.saved_state`: a perpetual's contract size, the
    book as the venue spelled it for its checksum), as JSON; empty when it needs nothing."""


def part_path(target: str | Path, index: int) -> Path:
    """Where part ``index`` of a conversion written to ``target`` goes: ``target`` itself for part 0,
    ``<stem>.p001.npz``, ``<stem>.p002.npz``, ... for the others."""
    target = Path(target)
    return target if index == 0 else target.with_name(f"{target.stem}.p{index:03d}.npz")


def part_paths(target: str | Path, count: int) -> list[Path]:
    """The ``count`` part files of a conversion written to ``target``, in order (hftbacktest's ``data``)."""
    return [part_path(target, i) for i in range(count)]


_DEFLATE_LEVEL = 1
"""Deflate level of every ``.npz`` arb writes (ISA-L's level 1: ~15x as fast as ``savez_compressed``'s
zlib level 6, files ~25% larger; any zip reader, ``np.load`` included, reads them)."""


def _fast_deflate(entry: Any) -> None:
    # zipfile deflates with zlib and has no option for another deflater: the member opened for
    # writing gets ISA-L's (same raw deflate format) before anything is written to it. If zipfile's
    # internals ever change, the member keeps zlib's: slower, never wrong.
    if getattr(entry, "_compressor", None) is not None and getattr(entry, "_file_size", None) == 0:
        entry._compressor = _deflate_module.compressobj(_DEFLATE_LEVEL, _deflate_module.DEFLATED, -15)


def _write_arrays(f: Any, arrays: dict[str, Any], mode: Literal["w", "a"] = "w") -> None:
    # Arrays as .npz members ``<name>.npy`` (as np.savez_compressed names them) into the zip ``f``.
    with zipfile.ZipFile(f, mode, zipfile.ZIP_DEFLATED, allowZip64=True) as z:
        for name, value in arrays.items():
            with z.open(f"{name}.npy", "w", force_zip64=True) as entry:
                _fast_deflate(entry)
                np.lib.format.write_array(entry, np.asanyarray(value), allow_pickle=False)  # type: ignore[no-untyped-call]  # unannotated


class Worker:
    """Runs ``work(*item)`` for each item :meth:`put`, in order, on a thread of its own (named ``name``),
    so work that releases the GIL (deflate, a compiled book) overlaps the caller's; at most ``waiting``
    items wait. ``close()`` waits for the last and raises what failed; after a failure the rest is
    skipped and the next ``put`` raises it."""

    def __init__(self, work: Callable[..., None], name: str, waiting: int = 1) -> None:
        self._work = work
        self._queue: queue.Queue[tuple[Any, ...] | None] = queue.Queue(maxsize=waiting)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def put(self, *item: Any) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(item)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._work(*item)
                except Exception as exc:  # noqa: BLE001  # re-raised in the caller's thread by put() and close()
                    self._error = exc


class PartWriter(Worker):
    """Writes parts (``put(path, rows)``) on a helper thread (deflate releases the GIL), so compressing one
    part overlaps converting the next; at most one part waits."""

    def __init__(self) -> None:
        super().__init__(_write_part, "arb-part-writer")


def _write_part(path: Path, rows: EventArray) -> None:
    # One part as an .npz with key ``data`` (what np.load and hftbacktest read), atomically.
    with atomic_writer(path) as f:
        _write_arrays(f, {"data": rows})


_READ_STEP = 1 << 20
"""Bytes :func:`read_member` asks a zip member for at a time. zipfile's ``readinto`` inflates into a new
bytes object of the size asked and copies that into the array: asked for a whole day at once, that is a
second day's worth of fresh memory, every page of it faulted in and handed back; 1 MiB at a time, the
allocator reuses the buffer (``benchmarks/bench_read_days.py``: the sample's days read with a sixth of the
page faults)."""


def read_member(z: Any, key: str) -> np.ndarray[Any, Any]:
    """``z[key]`` of an archive ``np.load`` opened (``z``), the same array, read in one pass: NumPy's reader
    assigns a record array from a zip member 256 KiB at a time, field by field (for a day of events most of
    the time it takes to read it); here the member's bytes go straight into the array, :data:`_READ_STEP`
    at a time. Anything but a one-dimensional array in C order of a plain dtype is left to NumPy."""
    with z.zip.open(f"{key}.npy") as member:
        version = np.lib.format.read_magic(member)  # type: ignore[no-untyped-call]  # unannotated
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(member)  # type: ignore[no-untyped-call]
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(member)  # type: ignore[no-untyped-call]
        else:
            return np.asarray(z[key])
        if fortran or dtype.hasobject or len(shape) != 1:
            return np.asarray(z[key])
        out = np.empty(shape, dtype)
        into = out.view(np.uint8).data  # the array's own memory, as bytes
        done = 0
        while done < len(into):
            got = member.readinto(into[done : done + _READ_STEP])
            if not got:
                raise ValueError(f"{key}.npy: {done:,} of {len(into):,} bytes of array data")
            done += got
    return out


def add_arrays(path: Path, arrays: dict[str, Any]) -> None:
    """Append ``arrays`` to the ``.npz`` at ``path`` (written by :func:`write_npz` or a part writer), synced;
    the file is removed if that fails (a part without its index is never left looking whole)."""
    try:
        _write_arrays(path, arrays, "a")
        with path.open("rb+") as f:
            os.fsync(f.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        raise


_PART_NAME = re.compile(r"^(?P<stem>.+)\.p(?P<index>\d{3,})\.npz$")


def remove_parts_after(target: Path, count: int) -> None:
    """Remove the parts beyond ``count`` that an earlier, longer conversion to ``target`` left."""
    if not target.parent.is_dir():
        return
    for path in target.parent.glob(f"{glob.escape(target.stem)}.p*.npz"):
        m = _PART_NAME.match(path.name)
        if m and m["stem"] == target.stem and int(m["index"]) >= count:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def write_npz(path: str | Path, rows: EventArray, **extra: Any) -> Path:
    """Save rows as ``.npz`` with key ``data`` (plus any ``extra`` arrays), atomically."""
    path = Path(path)
    if rows.dtype != event_dtype:
        raise TypeError(f"rows must be event_dtype, got {rows.dtype}")
    with atomic_writer(path) as f:
        _write_arrays(f, {"data": rows, **extra})
    return path


def save_eod(path: str | Path, eod: EodSnapshot) -> Path:
    """Save an end-of-day snapshot (``data`` = snapshot rows; metadata alongside), atomically."""
    return write_npz(
        path,
        eod.rows,
        venue=np.array(eod.venue),
        market=np.array(eod.market),
        symbol=np.array(eod.symbol),
        update_id=np.array(eod.update_id, np.int64),
        synced=np.array(eod.synced),
        exch_ts=np.array(eod.exch_ts, np.int64),
        local_ts=np.array(eod.local_ts, np.int64),
        perp_prices=np.array(
            [eod.perp.mark_price, eod.perp.index_price, eod.perp.settle_estimate, eod.perp.funding_rate], np.float64
        ),
        perp_times=np.array([eod.perp.next_funding_ns, eod.perp.last_exch_ts, eod.perp.funding_interval_ns], np.int64),
        venue_state=np.array(eod.venue_state),
    )


def load_eod(path: str | Path) -> EodSnapshot:
    """Load a snapshot written by :func:`save_eod`."""
    path = Path(path)
    if not path.is_file():
        raise RecordingError(f"{path}: no such snapshot file")
    with path.open("rb") as f:
        if f.read(4) != b"PK\x03\x04":  # every .npz is a zip archive
            raise RecordingError(f"{path}: not an arb end-of-day snapshot (not an .npz file)")
    try:
        with np.load(path, allow_pickle=False) as z:
            return EodSnapshot(
                rows=np.ascontiguousarray(z["data"]),
                venue=str(z["venue"]),
                market=str(z["market"]),
                symbol=str(z["symbol"]),
                update_id=int(z["update_id"]),
                synced=bool(z["synced"]),
                exch_ts=int(z["exch_ts"]),
                local_ts=int(z["local_ts"]),
                perp=_perp_of(z),
                venue_state=str(z["venue_state"]) if "venue_state" in z else "",
            )
    except (KeyError, ValueError, OSError) as exc:
        raise RecordingError(f"{path}: not an arb end-of-day snapshot ({exc})") from exc


def _perp_of(z: Any) -> PerpSnapshot:
    # The mark and funding state of a snapshot file (files written before it existed have none; before
    # the funding interval was kept, two times).
    if "perp_prices" not in z or "perp_times" not in z:
        return PerpSnapshot()
    prices = [float(v) for v in z["perp_prices"]]
    times = [int(v) for v in z["perp_times"]]
    if len(prices) != 4 or len(times) not in (2, 3):
        raise ValueError(f"perp_prices/perp_times hold {len(prices)}/{len(times)} values, expected 4/3")
    mark, index, settle, rate = prices
    interval = times[2] if len(times) == 3 else 0
    return PerpSnapshot(mark, index, settle, rate, times[0], times[1], interval)
