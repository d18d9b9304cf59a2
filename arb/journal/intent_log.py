"""The intent log: an order's intent made durable with a memory store, before its request is written.

Committing the intent to the journal is the one database write an order waits for (SQLite with
``synchronous = normal``: about 30 us, with a file system's occasional stall of a few hundred; PostgreSQL:
a round trip to the server). With ``[live] intent_log = true`` the intent is appended to this log instead,
and the journal commits it with its next flush, after the request went out.

The log is a file of fixed size (:data:`LOG_BYTES`) mapped into memory with ``MAP_SHARED``: appending is a
copy into the mapping, no system call. The mapped pages are the file's pages in the kernel's page cache,
so they outlive the process: whatever arb stored before it was killed (``SIGKILL``, a crash, the OOM
killer) is in the file. That is the promise SQLite's ``synchronous = normal`` makes for a commit: it
survives a crash of arb, and a power cut may lose it (the kernel writes the pages out within seconds,
not at once). A setting that must survive a power cut (``synchronous = full``) cannot use the log.

Layout (little-endian): an 8-byte magic (:data:`MAGIC`), the generation (u64), then records from offset
16, each an 8-byte header -- the payload's length (u32) and the CRC-32 of the generation and the payload
(u32) -- and the payload (the intent's row as JSON), padded to 8 bytes. A record counts only when its
CRC matches the current generation; the header slot after the last record is kept zero, and a record's
header is stored after its payload, so a process killed in the middle of an append leaves no record
(its order was not sent: nothing is lost). :meth:`IntentLog.restart` starts a new generation once the
journal holds every record: older records no longer count, and appends start again at offset 16.
"""

from __future__ import annotations

__all__ = ["LOG_BYTES", "MAGIC", "IntentLog", "IntentLogError"]

import logging
import mmap
import os
import struct
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from arb.errors import ArbError

MAGIC = b"ARBILOG1"
LOG_BYTES = 4 * 1024 * 1024
"""The log's size: about 10,000 intents between two flushes of the journal (a flush restarts it)."""

_FILE_HEADER = struct.Struct("<8sQ")  # magic, generation
_RECORD = struct.Struct("<II")  # payload length, CRC-32 of (generation, payload)
_GENERATION = struct.Struct("<Q")
_START = _FILE_HEADER.size
log = logging.getLogger(__name__)

_encode = msgspec.json.encode
_decode = msgspec.json.Decoder(dict[str, Any]).decode


class IntentLogError(ArbError):
    """The intent log's file cannot be used (not a log, the wrong size, unreadable)."""


def _padded(n: int) -> int:
    return (n + 7) & ~7


class IntentLog:
    """One account's intent log (see the module docstring). Used from one thread; open one per process
    (the journal's writer lock makes it one per account)."""

    def __init__(self, path: Path, *, size: int = LOG_BYTES) -> None:
        self.path = path
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            st = os.fstat(fd)
            if st.st_size not in (0, size):
                raise IntentLogError(f"intent log {path}: {st.st_size} bytes, expected {size} (not an intent log?)")
            if st.st_size == 0:
                os.posix_fallocate(fd, 0, size)  # the blocks exist up front: an append never allocates
            self._map = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        finally:
            os.close(fd)
        magic, generation = _FILE_HEADER.unpack_from(self._map, 0)
        if magic == b"\0" * 8:  # new (or made and never written): no records
            _FILE_HEADER.pack_into(self._map, 0, MAGIC, 1)
            generation = 1
        elif magic != MAGIC:
            self._map.close()
            raise IntentLogError(f"intent log {path}: not an intent log (its first bytes are {magic!r})")
        self.generation: int = generation
        self.size = size
        self.damaged_at: int | None = None
        """Where the last read found a damaged record (see :meth:`records`), or None."""
        self._offset = _START
        self._seen = 0
        self._scan()  # appends go after this generation's records (a crash may have left some)

    def _scan(self) -> list[bytes]:
        # The payloads of this generation's records, in order; leaves _offset after the last
        view, offset, generation = self._map, _START, zlib.crc32(_GENERATION.pack(self.generation))
        payloads: list[bytes] = []
        while offset + _RECORD.size <= self.size:
            length, crc = _RECORD.unpack_from(view, offset)
            if length == 0:
                break
            end = offset + _RECORD.size + length
            payload = view[offset + _RECORD.size : end] if end <= self.size else b""
            if end > self.size or zlib.crc32(payload, generation) != crc:
                # Appends write a record's header last, over a zero one: a header that is not zero and does
                # not match its payload was damaged after it was written, not torn by a crash
                self.damaged_at = offset
                log.error(
                    "intent log %s: the record at byte %d is damaged; the %d before it are read, nothing after "
                    "it (an order whose intent was there is reported by reconciliation as unknown to the "
                    "journal)", self.path, offset, len(payloads),
                )  # fmt: skip
                break
            payloads.append(payload)
            offset += _RECORD.size + _padded(length)
        self._offset, self._seen = offset, len(payloads)
        return payloads

    def records(self) -> list[dict[str, Any]]:
        """The intents logged in this generation (those the journal may not hold yet), oldest first."""
        return [_decode(payload) for payload in self._scan()]

    def __len__(self) -> int:
        """How many intents this generation holds."""
        return self._seen

    def append(self, row: Mapping[str, Any]) -> bool:
        """Store one intent (the journal's row); False when the log has no room left (nothing stored:
        the caller commits the intent to the journal instead)."""
        payload = _encode(row)
        offset = self._offset
        end = offset + _RECORD.size + _padded(len(payload))
        if end + _RECORD.size > self.size:
            return False
        view = self._map
        view[offset + _RECORD.size : offset + _RECORD.size + len(payload)] = payload
        _RECORD.pack_into(view, end, 0, 0)  # the next slot reads as the end
        crc = zlib.crc32(payload, zlib.crc32(_GENERATION.pack(self.generation)))
        _RECORD.pack_into(view, offset, len(payload), crc)  # last: until now there was no record
        self._offset = end
        self._seen += 1
        return True

    def restart(self) -> None:
        """Start a new generation: the journal holds every intent logged so far."""
        if self._offset == _START:
            return
        _RECORD.pack_into(self._map, _START, 0, 0)
        self.generation += 1
        _FILE_HEADER.pack_into(self._map, 0, MAGIC, self.generation)
        self._offset = _START
        self._seen = 0

    def close(self) -> None:
        """Unmap the file (what it holds stays in it)."""
        if not self._map.closed:
            self._map.close()
