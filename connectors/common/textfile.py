"""Whole lines of a gzip (or plain) text file, a buffer at a time, inflated ahead on a helper thread.

The readers of other formats (Tardis.dev's CSV datasets, Bybit's trade files) read their files through
:class:`TextChunks`: memory stays at a few buffers whatever the size of the file, ISA-L inflates on a
helper thread while the compiled parsers work on the previous buffers (both release the GIL), and what
can happen to a downloaded file is told apart and reported, never passed over:

- **truncated**: the gzip stream ends early (an incomplete download). Every complete line before the
  end is passed on; :attr:`TextChunks.truncated` says so and :attr:`TextChunks.lost_tail_bytes` counts
  the unfinished line;
- **damaged**: the inflater fails (invalid deflate data, a CRC-32 or length mismatch). What came out
  before the failure is passed on (deflate damage may have garbled some of it before the inflater
  noticed) and reading stops; :attr:`TextChunks.damage` words it.

Several gzip members in one file read as one stream, as ``zcat`` reads them.
"""

from __future__ import annotations

__all__ = ["GZIP_MAGIC", "TextChunks", "first_line", "head"]

import threading
from collections.abc import Generator, Iterator
from pathlib import Path

from connectors.common.record_files import INFLATE_ERRORS, inflater, prefetched

GZIP_MAGIC = b"\x1f\x8b"
_READ = 1 << 18
"""Compressed bytes read at a time: ~1-2 MB of CSV text, which stays in cache while it is parsed."""
_AHEAD = 4
"""Inflated buffers held ahead of the consumer."""


def head(path: str | Path, limit: int = 1 << 16) -> bytes:
    """The first ``limit`` bytes of the text of a gzip or plain file (fewer when it is shorter, or when what
    follows cannot be inflated); b"" when nothing can be read."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            raw = f.read(1 << 16)
            if raw[:2] != GZIP_MAGIC:
                return raw[:limit]
            inflate = inflater(31)
            out = b""
            while raw and len(out) < limit:
                out += inflate.decompress(raw, limit - len(out))
                raw = inflate.unconsumed_tail or f.read(1 << 16)
                if inflate.eof:
                    break
            return out
    except (OSError, *INFLATE_ERRORS):  # type: ignore[misc]  # a tuple of exception classes
        return b""


def first_line(path: str | Path, limit: int = 4096) -> bytes:
    """The first line of a gzip or plain text file (without its newline; at most ``limit`` bytes), b"" when
    it cannot be read (not gzip although it says so, empty)."""
    return head(path, limit + 1).split(b"\n", 1)[0][:limit].rstrip(b"\r")


class TextChunks:
    """Iterate the whole lines of ``path`` as buffers (``bytes`` or ``memoryview``, each ending with a
    newline except a last line left unterminated at a clean end of file).

    The attributes say what was found once the iteration ended: :attr:`truncated`,
    :attr:`lost_tail_bytes`, :attr:`damage` (empty when sound), :attr:`bytes_read` (compressed bytes
    consumed, for progress). Stopping the iteration early (``close()`` or leaving a ``for`` loop by an
    exception) stops the helper thread.
    """

    def __init__(self, path: str | Path, *, read_size: int = _READ, ahead: int = _AHEAD) -> None:
        self.path = Path(path)
        self.size = self.path.stat().st_size
        self.read_size = read_size
        self.ahead = ahead
        self.gzip = self._is_gzip()
        self.truncated = False
        self.lost_tail_bytes = 0
        self.damage = ""
        """What the inflater failed on, worded with the compressed offset ("": the file is sound)."""
        self.bytes_read = 0
        self._stop = threading.Event()

    def _is_gzip(self) -> bool:
        with self.path.open("rb") as f:
            return f.read(2) == GZIP_MAGIC

    def __iter__(self) -> Iterator[bytes | memoryview]:
        tail = b""
        for data in prefetched(self._pieces(), self.ahead, "arb-text-inflate"):
            last = data.rfind(b"\n")
            if last < 0:
                tail += data
                continue
            if tail:
                cut = data.find(b"\n") + 1
                yield tail + data[:cut]
                start = cut
            else:
                start = 0
            if start <= last:
                yield memoryview(data)[start : last + 1]
            tail = data[last + 1 :]
        if tail:
            if self.truncated or self.damage:
                self.lost_tail_bytes = len(tail)
            else:
                yield tail

    def close(self) -> None:
        """Stop reading (the iteration ends at its next buffer)."""
        self._stop.set()

    def _pieces(self) -> Generator[bytes, None, None]:
        # Run on the helper thread: read and inflate the file a read at a time.
        try:
            with self.path.open("rb") as f:
                if not self.gzip:
                    while not self._stop.is_set() and (raw := f.read(self.read_size)):
                        self.bytes_read += len(raw)
                        yield raw
                    return
                inflate = inflater(31)
                at = 0
                while not self._stop.is_set():
                    raw = f.read(self.read_size)
                    if not raw:
                        break
                    at += len(raw)
                    self.bytes_read = at
                    try:
                        out = inflate.decompress(raw)
                        while inflate.eof and inflate.unused_data:  # another gzip member follows
                            rest = inflate.unused_data
                            if out:
                                yield out
                            inflate = inflater(31)
                            out = inflate.decompress(rest)
                    except INFLATE_ERRORS as exc:
                        self.damage = (
                            f"corrupt gzip data ({exc}) in the {at - len(raw):,}-{at:,} byte range of {self.size:,}"
                        )
                        return
                    if out:
                        yield out
                if not self._stop.is_set() and not inflate.eof:
                    self.truncated = True
        except OSError as exc:
            self.damage = f"cannot read it ({exc.strerror or exc})"
