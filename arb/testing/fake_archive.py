"""A local Tardis.dev datasets API and Bybit archive on 127.0.0.1 (port 0), with faults, for ``arb fetch``.

It serves files at the URL paths the real services use (``/v1/{exchange}/{data_type}/{YYYY}/{MM}/{DD}/
{SYMBOL}.csv.gz``; ``/orderbook/{market}/{SYMBOL}/{day}_{SYMBOL}_ob{N}.data.zip``, ``/trading/...``,
``/spot/...``), made from the real captures by :mod:`arb.testing.history_files`, with what real HTTP
servers do: ``Content-Length``, ``Range`` requests answered ``206`` with ``Content-Range`` (or, with
``ranges=False``, ignored), ``HEAD``. Tardis's key: with ``key`` set, a ``/v1/`` file of any day but
the first of a month needs ``Authorization: Bearer <key>``, else 401 (a wrong key: 401 too).

Faults, each for the next ``times`` requests of a path (or of every path, ``path=None``)::

    with FakeArchive(key="k") as server:          # server.base_url, server.tardis_url
        server.add_tree(written, root)            # files as history_files wrote them
        server.fault("status", path, status=429, headers={"Retry-After": "0"})
        server.fault("truncate", path, at=1000)   # a short body sent as if whole (Content-Length 1000)
        server.fault("drop", path, at=1000)       # the connection closes after 1000 bytes of the body
        server.fault("corrupt", path)             # one byte in the middle flipped (a CRC mismatch)
        server.requests.items()                   # (method, path, Range, whether a Bearer key came)

It runs aiohttp in its own thread and loop (an :class:`~arb.ops.server.OpsServer`), so ``arb fetch``
(its own loop) and a test can use it alike; tests wait on what it recorded
(:class:`~arb.testing.fake_alerts.Recorder`), never on time.
"""

from __future__ import annotations

__all__ = ["FakeArchive", "Seen"]

import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

from aiohttp import web

from arb.ops.server import OpsServer
from arb.testing.fake_alerts import Recorder

_HOST = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class Seen:
    """One request the fake received."""

    method: str
    path: str
    range: str
    """The ``Range`` header ("" when none)."""
    bearer: bool
    """An ``Authorization: Bearer ...`` header came (its value is never kept)."""


@dataclass(slots=True)
class _Fault:
    kind: str
    path: str | None
    times: int
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    at: int = 0


class FakeArchive:
    """Both sources on one local server; see the module docstring."""

    def __init__(self, *, key: str | None = None, ranges: bool = True) -> None:
        self.key = key
        self.ranges = ranges
        self.files: dict[str, bytes] = {}
        self.requests: Recorder[Seen] = Recorder(maxlen=100_000)
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self._server = OpsServer(_HOST, 0, [self._routes], name="fake-archive", shutdown_timeout_s=0.5)
        self.base_url = ""
        """``http://127.0.0.1:<port>`` once started (kept after the stop): ``--base-url`` of Bybit's
        archive (both of its hosts' paths)."""

    @property
    def tardis_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``: ``--base-url`` of Tardis's datasets API."""
        return f"{self.base_url}/v1"

    def add(self, url_path: str, body: bytes | Path) -> None:
        """Serve ``body`` (bytes, or a file's) at ``url_path``."""
        data = body.read_bytes() if isinstance(body, Path) else body
        with self._lock:
            self.files["/" + url_path.lstrip("/")] = data

    def add_tree(self, paths: dict[object, Path] | list[Path], root: Path) -> list[str]:
        """Serve files written under a recordings folder ``root`` (by :mod:`arb.testing.history_files`) at
        their source's URL paths: ``tardis/<exchange>_<type>_<day>_<SYMBOL>.csv.gz`` at Tardis's, and
        ``bybit-archive/<rest>`` at ``/<rest>``. Returns the URL paths."""
        out = []
        for path in paths.values() if isinstance(paths, dict) else paths:
            rel = path.relative_to(root)
            if rel.parts[0] == "tardis":
                exchange, rest = rel.name.split("_", 1)
                kind, day, symbol = rest.rsplit("_", 2)
                y, m, d = day.split("-")
                url = f"/v1/{exchange}/{kind}/{y}/{m}/{d}/{symbol}"
            else:
                url = "/" + "/".join(rel.parts[1:])
            self.add(url, path)
            out.append(url)
        return out

    def fault(
        self,
        kind: str,
        path: str | None = None,
        *,
        times: int = 1,
        status: int = 0,
        headers: dict[str, str] | None = None,
        at: int = 0,
    ) -> None:
        """Inject a fault (``status``, ``truncate``, ``drop``, ``corrupt``) into the next ``times`` requests of
        ``path`` (None: of any path)."""
        if kind not in ("status", "truncate", "drop", "corrupt"):
            raise ValueError(f"unknown fault {kind!r}")
        with self._lock:
            self._faults.append(_Fault(kind, path, times, status, dict(headers or {}), at))

    # -- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self._server.start()
        self.base_url = self._server.url
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self._server.stop()

    def _routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/{tail:.*}", self._handle)

    # -- serving ---------------------------------------------------------------------------------

    def _take_fault(self, path: str, method: str) -> _Fault | None:
        # The fault for this request, if any (a HEAD takes only status faults: it has no body to spoil).
        with self._lock:
            for fault in self._faults:
                if (fault.path is None or fault.path == path) and (method != "HEAD" or fault.kind == "status"):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def _authorized(self, request: web.Request) -> bool:
        parts = request.path.split("/")
        if self.key is None or not request.path.startswith("/v1/") or len(parts) < 7 or parts[6] == "01":
            return True  # /v1/{exchange}/{type}/{YYYY}/{MM}/{DD}/...: the first of a month is free
        return request.headers.get("Authorization", "") == f"Bearer {self.key}"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        auth = request.headers.get("Authorization", "")
        self.requests.add(
            Seen(request.method, request.path, request.headers.get("Range", ""), auth.startswith("Bearer "))
        )
        fault = self._take_fault(request.path, request.method)
        if fault is not None and fault.kind == "status":
            return web.Response(status=fault.status, headers=fault.headers, text=f"fault {fault.status}\n")
        with self._lock:
            body = self.files.get(request.path)
        if body is None:
            return web.Response(status=404, text='{"code":404,"message":"Not Found"}')
        if not self._authorized(request):
            said = "Invalid API key: only the first day of each month is available without one"
            return web.json_response({"code": 401, "message": said}, status=401)
        if fault is not None and fault.kind == "corrupt":
            mid = len(body) // 2
            body = body[:mid] + bytes([body[mid] ^ 0x55]) + body[mid + 1 :]
        start = 0
        headers = {"Accept-Ranges": "bytes"} if self.ranges else {}
        status = 200
        wanted = request.headers.get("Range", "")
        if self.ranges and wanted.startswith("bytes=") and wanted.endswith("-"):
            start = int(wanted[6:-1] or 0)
            if start >= len(body):
                return web.Response(status=416, headers={"Content-Range": f"bytes */{len(body)}"})
            status = 206
            headers["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
        payload = body[start:]
        if fault is not None and fault.kind == "truncate":
            payload = payload[: fault.at]
            headers.pop("Content-Range", None)
            status = 200
        headers["Content-Length"] = str(len(payload))
        headers["Content-Type"] = "application/octet-stream"
        if request.method == "HEAD":
            return web.Response(status=status, headers=headers)
        resp = web.StreamResponse(status=status, headers=headers)
        await resp.prepare(request)
        if fault is not None and fault.kind == "drop":
            await resp.write(payload[: fault.at])
            transport = request.transport
            if transport is not None:
                transport.abort()  # the connection goes mid-body, as a network drop does
            return resp
        await resp.write(payload)
        await resp.write_eof()
        return resp
