"""What ``arb fetch`` (:mod:`arb.cli.fetch`) does: download history arb did not record (Tardis.dev, a
venue's own archive) into the recordings.

For every UTC day from ``--start`` to ``--end`` (default ``--start``), symbol (default ``[strategy]
symbols``) and venue (every venue of the run, or ``--venue``; a venue's archive has that venue only) in its
market (``--market``, default each venue's configured one), the files a backtest needs land where the
loader finds them (:mod:`arb.recording.sources`), kept exactly as the source serves them:

- Tardis: ``incremental_book_L2`` (or, asked for, ``book_snapshot_25`` or ``book_snapshot_5``: the top levels
  only) and ``trades`` (and ``derivative_ticker`` on perpetuals, for the mark price and funding) from
  ``{[history] tardis_url}/{exchange}/{data_type}/{YYYY}/{MM}/{DD}/{SYMBOL}.csv.gz``
  (``SYMBOL`` as the venue's datasets name it: :func:`arb.recording.tardis.names`),
  with the key in ``TARDIS_API_KEY`` sent as ``Authorization: Bearer`` (none is needed for the first day
  of a month);
- a venue's archive (:class:`~connectors.common.archive.VenueArchive`): the files of each day its
  ``downloads`` lists (Bybit's: the order book zip of the deepest of 500, 200, 1000 the day has, from
  ``[history] bybit_orderbook_url``, and the trade file from ``[history] bybit_trades_url``).

``--base-url`` points the source at another server (a mirror, or a test's on 127.0.0.1).

Every download goes to ``<file>.part`` first and is renamed only after its size matched what the server
announced and the whole file inflated cleanly (gzip CRC and length, every zip member's CRC): a partial
or damaged file never takes a real file's name. A ``.part`` left by a dropped connection or an earlier
run is resumed with an HTTP ``Range`` request (a server without ranges sends it whole again). A few
files download at once (``[history] downloads``). A 429 waits for ``Retry-After`` (or backs off 1, 2, 4
... s) and tries again, as does a 5xx; a dropped connection or a damaged body is tried again at once, then
after 1, 2, 4 ... s, up to five tries in all. A 404
is one line naming the day, the file and the source; 401 and 403 name ``TARDIS_API_KEY`` (never its
value) and stop the remaining downloads of that source. A host that cannot be reached (its name does not
resolve, the connection is refused, no route to it) is not a passing failure: asking again in a second
finds the same network, so it is not retried, and the remaining downloads of that source stop too, each
result naming the host (:attr:`FetchResult.unreachable`). The command goes on with the other files and
exits 1 if any failed, after one line per failure. A folder is made only when a file is about to be
written into it, and one this run made that holds nothing at the end is removed again: a run that
fetched nothing leaves nothing behind.
"""

from __future__ import annotations

__all__ = [
    "KEY_VARIABLE",
    "FetchResult",
    "Planned",
    "Sizes",
    "fetch",
    "plan",
    "sizes",
    "verify",
]

import asyncio
import contextlib
import datetime as dt
import email.utils
import logging
import os
import time
import zipfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

from arb.config import AppConfig
from arb.execution.wire_trace import failure_reason
from arb.recording import sources
from arb.recording.fetch_choices import KEY_VARIABLE
from arb.recording.tardis import BOOK, BOOK_TYPES, TICKER, TRADES, exchange_of, names
from connectors.registry import venue as venue_connector

log = logging.getLogger(__name__)

_ATTEMPTS = 5
"""Tries per file for passing failures (a dropped connection, 5xx, 429, a damaged body)."""
_MAX_WAIT_S = 300.0
_CHUNK = 1 << 16
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Planned:
    """One file to fetch: where it comes from (with alternatives tried on a 404) and where it goes."""

    source: str
    label: str
    """What it is, for messages: ``binance-futures incremental_book_L2 BTCUSDT 2024-01-01``."""
    day: dt.date
    choices: tuple[tuple[str, Path], ...]
    """(URL, destination) pairs, tried in order while the server answers 404."""
    kind: str
    """``gzip`` or ``zip``: how the download is checked."""
    key: bool = False
    """Send the Tardis key (``Authorization: Bearer``)."""

    @property
    def done(self) -> Path | None:
        """A destination already there (fetched by an earlier run), or None."""
        return next((path for _, path in self.choices if path.is_file()), None)


@dataclass(slots=True)
class FetchResult:
    """What one file's fetch came to."""

    planned: Planned
    path: Path | None = None
    bytes: int = 0
    skipped: bool = False
    error: str = ""
    stopped: bool = False
    """Not tried: an earlier file of its source stopped that source (a refused key, an unreachable host),
    in the line that result's :attr:`error` holds."""
    unreachable: str = ""
    """The host (``name[:port]``) that could not be reached, for this file or the one that stopped its source."""


def plan(
    config: AppConfig,
    source: str,
    venues: Sequence[tuple[str, str]],
    symbols: Sequence[str],
    days: Sequence[dt.date],
    out: Path,
    base_url: str | None = None,
    book: str = BOOK,
) -> list[Planned]:
    """The files to fetch from ``source`` for every (venue, market), symbol and day, day by day; ``ValueError``
    for a symbol a venue's Tardis datasets cannot name (:func:`arb.recording.tardis.names`). ``book``: the
    Tardis data type of the book (:data:`arb.recording.tardis.BOOK_TYPES`; a venue's archive has its own)."""
    if book not in BOOK_TYPES:
        raise ValueError(f"expected a Tardis book data type ({', '.join(BOOK_TYPES)}), got {book!r}")
    history = config.history
    out_files: list[Planned] = []
    for d in days:
        for venue, market in venues:
            for symbol in symbols:
                if source == "tardis":
                    exchange = exchange_of(venue, market)
                    name = names(venue).symbol(symbol, market)
                    base = base_url or history.tardis_url
                    types = (book, TRADES, TICKER) if market == "linear" else (book, TRADES)
                    for data_type in types:
                        url = sources.tardis_url(base, exchange, data_type, d, name)
                        path = sources.tardis_path(out, exchange, data_type, d, name)
                        label = f"{exchange} {data_type} {name} {d:%Y-%m-%d}"
                        out_files.append(Planned("tardis", label, d, ((url, path),), "gzip", key=True))
                else:
                    archive = venue_connector(venue).archive
                    if archive is None or archive.source != source:
                        raise ValueError(f"{source} holds no {venue} data")

                    def server(kind: str, venue: str = venue) -> str:
                        return base_url or history.archive_url(venue, kind)

                    for down in archive.downloads(out, server, market, symbol, d):
                        out_files.append(Planned(source, down.label, d, down.choices, down.kind))
    return out_files


# -- checks ------------------------------------------------------------------------------------------


class _DamagedError(Exception):
    """A whole download that does not inflate cleanly."""


def verify(path: Path, kind: str) -> None:
    """Raise :class:`_DamagedError` unless ``path`` is a whole gzip file (every member's CRC and length) or a
    whole zip archive (every member's CRC)."""
    if kind == "zip":
        try:
            with zipfile.ZipFile(path) as z:
                bad = z.testzip()
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise _DamagedError(f"not a whole zip archive ({exc})") from None
        if bad is not None:
            raise _DamagedError(f"zip member {bad} fails its CRC check")
        return
    from connectors.common.textfile import TextChunks

    reader = TextChunks(path)
    try:
        for _ in reader:
            pass
    except OSError as exc:
        raise _DamagedError(str(exc)) from None
    if reader.damage:
        raise _DamagedError(reader.damage)
    if reader.truncated:
        raise _DamagedError("the gzip stream ends early")
    if not reader.gzip:
        raise _DamagedError("not a gzip file")


# -- downloading -------------------------------------------------------------------------------------


class _StopError(Exception):
    """The source refused the key, or its host cannot be reached: the remaining downloads of that source are
    not tried. ``why`` is said in their results ("refused the key"), ``host`` the unreachable one."""

    def __init__(self, line: str, why: str, host: str = "") -> None:
        super().__init__(line)
        self.why = why
        self.host = host


def _host(url: str) -> str:
    # "datasets.tardis.dev", or "127.0.0.1:8080" with a port named in the URL
    return urlsplit(url).netloc.rpartition("@")[2]


def _unreachable(exc: aiohttp.ClientConnectorError) -> str:
    # Why a connection could not be made, in a few words: "its name does not resolve", "connection refused"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "its name does not resolve"
    return failure_reason(exc)


@dataclass(slots=True)
class _Run:
    http: aiohttp.ClientSession
    key: str | None
    sleep: Sleep
    limit: asyncio.Semaphore
    progress: Callable[[int, int], None]
    stopped: dict[str, _StopError] = field(default_factory=dict)
    """Sources that refused the key or cannot be reached, with what said so."""
    made: list[Path] = field(default_factory=list)
    """Folders this run created, outermost first (removed again at the end when empty)."""
    total: int = 0
    done: int = 0


async def _fetch_one(run: _Run, item: Planned) -> FetchResult:
    result = FetchResult(item)
    there = item.done
    if there is not None:
        result.path, result.skipped, result.bytes = there, True, there.stat().st_size
        return result
    async with run.limit:
        if item.source in run.stopped:
            return _not_tried(result, run.stopped[item.source])
        try:
            for n, (url, path) in enumerate(item.choices):
                got = await _download(run, item, url, path)
                if got is not None:
                    result.path, result.bytes = path, got
                    return result
                if n + 1 == len(item.choices):
                    result.error = _missing(item, [u for u, _ in item.choices])
        except _StopError as exc:
            if item.source in run.stopped:
                return _not_tried(result, run.stopped[item.source])
            run.stopped[item.source] = exc
            result.error, result.unreachable = str(exc), exc.host
        except _GaveUpError as exc:
            result.error = str(exc)
    return result


def _not_tried(result: FetchResult, stop: _StopError) -> FetchResult:
    item = result.planned
    result.error = f"{item.label}: not fetched ({item.source} {stop.why}, above)"
    result.stopped, result.unreachable = True, stop.host
    return result


class _GaveUpError(Exception):
    pass


def _missing(item: Planned, urls: list[str]) -> str:
    where = urls[0] if len(urls) == 1 else f"{urls[0]} (and {len(urls) - 1} other depths)"
    hint = (
        " (Tardis publishes a day around 06:00 UTC the next day; before a symbol was listed there is none)"
        if item.source == "tardis"
        else " (a venue's archive starts at different days per symbol and market)"
    )
    return f"{item.source} has no {item.label}: 404 Not Found at {where}{hint}"


async def _download(run: _Run, item: Planned, url: str, path: Path) -> int | None:
    # One URL into ``path`` through ``<path>.part``; the size, or None on 404. Raises _StopError, _GaveUpError.
    part = path.with_name(path.name + ".part")
    headers = {"Accept-Encoding": "identity"}
    if item.key and run.key:
        headers["Authorization"] = f"Bearer {run.key}"
    failures: list[str] = []
    wait = 1.0  # the server's errors: 1, 2, 4 ... s
    again = 0.0  # a dropped connection or a damaged body: at once, then 1, 2, 4 ... s
    pause = 0.0  # before the next try
    for attempt in range(_ATTEMPTS):
        if attempt:
            await run.sleep(min(pause, _MAX_WAIT_S))
        offset = part.stat().st_size if part.exists() else 0
        ask = dict(headers)
        if offset:
            ask["Range"] = f"bytes={offset}-"
        try:
            async with run.http.get(url, headers=ask, allow_redirects=True) as resp:
                if resp.status == 404:
                    return None
                if resp.status in (401, 403):
                    raise _StopError(_refused(item, url, resp.status, run.key is not None), "refused the key")
                if resp.status == 416 and offset:  # the .part is not a prefix of this file: start over
                    part.unlink(missing_ok=True)
                    failures.append("416 for the resumed range")
                    pause = 0.0
                    continue
                if resp.status == 429 or resp.status >= 500:
                    said = _retry_after(resp.headers.get("Retry-After")) if resp.status == 429 else None
                    failures.append(f"{resp.status} {resp.reason}")
                    if said is not None:
                        pause = said  # the server said how long
                    else:
                        pause, wait = wait, min(wait * 2, _MAX_WAIT_S)
                    continue
                if resp.status not in (200, 206):
                    raise _GaveUpError(f"{item.source} answered {resp.status} {resp.reason} for {item.label} ({url})")
                expected = _expected_size(resp, offset)
                if resp.status == 206 and not resp.headers.get("Content-Range", "").startswith(f"bytes {offset}-"):
                    part.unlink(missing_ok=True)  # not the range asked for: the .part cannot be trusted
                    failures.append(f"a 206 for another range ({resp.headers.get('Content-Range', '')!r})")
                    pause = 0.0
                    continue
                if resp.status == 200:
                    offset = 0
                mode = "ab" if resp.status == 206 else "wb"
                _make_folder(run, path.parent)
                if expected is not None:
                    run.total += expected - (offset if resp.status == 206 else 0)
                    run.progress(run.done, run.total)
                with part.open(mode) as f:
                    async for block in resp.content.iter_chunked(_CHUNK):
                        f.write(block)
                        run.done += len(block)
                        run.progress(run.done, run.total)
                    f.flush()
                    os.fsync(f.fileno())
        except aiohttp.ClientConnectorError as exc:  # no connection at all: the same network in a second
            host = _host(url)
            raise _StopError(f"{item.source}: cannot reach {host} ({_unreachable(exc)})", f"cannot reach {host}",
                             host) from None  # fmt: skip
        except (aiohttp.ClientError, TimeoutError, ConnectionError) as exc:
            failures.append(f"connection: {type(exc).__name__}")  # the .part is resumed on the next try
            pause, again = again, min(max(again * 2, 1.0), _MAX_WAIT_S)
            continue
        size = part.stat().st_size
        if expected is not None and size != expected:
            failures.append(f"{size:,} of {expected:,} bytes")
            pause, again = again, min(max(again * 2, 1.0), _MAX_WAIT_S)
            continue
        try:
            await asyncio.to_thread(verify, part, item.kind)
        except _DamagedError as exc:
            part.unlink(missing_ok=True)
            failures.append(f"damaged: {exc}")
            pause, again = again, min(max(again * 2, 1.0), _MAX_WAIT_S)
            continue
        os.replace(part, path)
        return size
    kept = f"; {part.name} kept ({part.stat().st_size:,} bytes): the next run resumes it" if part.exists() else ""
    happened = "; ".join(
        f"{why} (x{failures.count(why)})" if failures.count(why) > 1 else why for why in dict.fromkeys(failures)
    )
    raise _GaveUpError(f"{item.source}: gave up on {item.label} after {_ATTEMPTS} tries ({happened}){kept}")


def _make_folder(run: _Run, folder: Path) -> None:
    # ``folder`` and the parents it lacks, each one made remembered for :func:`_remove_empty`.
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    run.made.extend(p for p in reversed(missing) if p not in run.made)


def _remove_empty(made: list[Path]) -> None:
    # The folders a run made that hold nothing (a damaged file deleted, a .part never written), innermost first.
    for folder in reversed(made):
        with contextlib.suppress(OSError):  # not empty, or gone: kept as it is
            folder.rmdir()


def _expected_size(resp: aiohttp.ClientResponse, offset: int) -> int | None:
    # The whole file's size when the answer tells it (Content-Range of a 206, Content-Length of a 200).
    if resp.status == 206:
        total = resp.headers.get("Content-Range", "").rpartition("/")[2]
        return int(total) if total.isdigit() else None
    length = resp.headers.get("Content-Length", "")
    return int(length) if length.isdigit() else None


def _retry_after(value: str | None) -> float | None:
    # Retry-After in seconds or as an HTTP date; None when absent or unreadable.
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _refused(item: Planned, url: str, status: int, have_key: bool) -> str:
    word = "401 Unauthorized" if status == 401 else "403 Forbidden"
    if item.source != "tardis":
        return f"{item.source} answered {word} for {item.label} ({url}): check --base-url / [history]"
    if not have_key:
        free = item.day.replace(day=1)
        return (
            f"tardis answered {word} for {item.label}: {KEY_VARIABLE} is not set, and only the first day of "
            f"each month is free (e.g. {free:%Y-%m-%d}); set {KEY_VARIABLE} to your Tardis.dev API key"
        )
    return (
        f"tardis answered {word} for {item.label}: the key in {KEY_VARIABLE} was refused (expired, or its "
        "plan does not cover this exchange or day); check it at tardis.dev"
    )


async def fetch(
    config: AppConfig,
    items: Sequence[Planned],
    *,
    key: str | None = None,
    sleep: Sleep = asyncio.sleep,
    downloads: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    timeout_s: float = 60.0,
) -> list[FetchResult]:
    """Fetch ``items`` (``downloads`` at a time, default ``[history] downloads``); one result per item, in
    order. ``key``: Tardis's API key (sent to Tardis only). ``sleep`` (seconds) paces the retries;
    ``timeout_s`` abandons a connection that delivers nothing for that long."""
    limit = asyncio.Semaphore(downloads or config.history.downloads)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeout_s, sock_read=timeout_s)
    async with aiohttp.ClientSession(timeout=timeout, auto_decompress=False) as http:
        run = _Run(http, key, sleep, limit, progress or (lambda done, total: None))
        tasks = [asyncio.ensure_future(_fetch_one(run, item)) for item in items]
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        finally:
            _remove_empty(run.made)


@dataclass(slots=True)
class Sizes:
    """What ``--dry-run`` learned: one line per item, whether each one's size was learned, and the host that
    could not be reached (then the remaining items of its source were not asked)."""

    lines: list[tuple[Planned, str]] = field(default_factory=list)
    unknown: int = 0
    """Items whose size could not be learned (a 404, a refused key, an error, an unreachable host)."""
    unreachable: str = ""
    """``"cannot reach <host> (<why>)"``; empty when every host answered."""


async def sizes(config: AppConfig, items: Sequence[Planned], *, key: str | None = None) -> Sizes:
    """For ``--dry-run``: each item's URL and size as the server tells on ``HEAD`` (or why not). A host that
    cannot be reached ends the asking: every item after it would ask the same network."""
    out = Sizes()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30), auto_decompress=False) as http:
        for n, item in enumerate(items):
            there = item.done
            if there is not None:
                out.lines.append((item, f"{there} already there ({there.stat().st_size:,} bytes)"))
                continue
            said, learned = "", False
            for url, path in item.choices:
                headers = {"Authorization": f"Bearer {key}"} if item.key and key else {}
                try:
                    async with http.head(url, headers=headers, allow_redirects=True) as resp:
                        if resp.status == 404:
                            said = f"404 Not Found at {url}"
                            continue
                        if resp.status in (401, 403):
                            said = _refused(item, url, resp.status, key is not None)
                            break
                        length = resp.headers.get("Content-Length", "")
                        size = f"{int(length):,} bytes" if length.isdigit() else "size unknown"
                        learned = resp.status == 200
                        said = f"{url} -> {path} ({size})" if learned else f"{resp.status} at {url}"
                        break
                except aiohttp.ClientConnectorError as exc:
                    out.unreachable = f"cannot reach {_host(url)} ({_unreachable(exc)})"
                    out.unknown += len(items) - n
                    return out
                except (aiohttp.ClientError, TimeoutError) as exc:
                    said = f"{url}: {type(exc).__name__}"
                    break
            out.unknown += not learned
            out.lines.append((item, said))
    return out
