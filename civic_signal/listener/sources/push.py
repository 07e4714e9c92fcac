"""The DataSift-style push receiver: batches of interactions POSTed to us, stored durably, then yielded.

``POST /push`` (``/`` works too) with a JSON body ``{"interactions": [...]}`` (or a bare list)
and two headers::

    X-Civic-Timestamp: <unix seconds>
    X-Civic-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>

The secret is ``CIVIC_DATASIFT__PUSH_SECRET``. What a sender may rely on:

- ``200`` means the batch is on disk: written to ``<var_dir>/<push_spool_dir>/tmp``, fsynced,
  renamed into ``incoming/`` and the directory fsynced, before the answer. The same signed
  request sent again within the window answers ``200`` (``duplicate``) and is not stored twice.
- ``401``: missing or wrong signature (compared in constant time), or a timestamp more than
  ``push_max_skew_s`` away from our clock (a replayed old request). Nothing is stored.
- ``413``: the body is larger than ``push_max_body_bytes`` (checked on Content-Length and while
  reading). ``400``: not JSON, or no ``interactions`` list. ``408``: the body took more than
  8 s to arrive. ``503`` (``Retry-After``): too many batches wait to be processed.
- Every answer comes within 10 s (reading is bounded at 8 s; the write is one small fsync).

The source yields each stored batch's posts (a bad interaction is a dead letter naming the
batch file and its index) and deletes the batch file only after all of them were published.
Batch files left by a crash are yielded on the next start (duplicates are dropped by post id).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import socket
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from civic_signal.config.errors import ConfigError, ParseError
from civic_signal.core.models import DeadLetter
from civic_signal.listener.sources.datasift import parse_datasift
from civic_signal.listener.sources.streaming import Item, StreamSource

log = logging.getLogger("civic_signal.sources.push")

TIMESTAMP_HEADER = "x-civic-timestamp"
SIGNATURE_HEADER = "x-civic-signature"
BODY_READ_LIMIT_S = 8.0


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The signature header value a sender computes."""
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class Spool:
    """Batch files on disk: ``tmp/`` while being written, ``incoming/`` once durable."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp, self.incoming = root / "tmp", root / "incoming"
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.incoming.mkdir(parents=True, exist_ok=True)

    def store(self, body: bytes) -> Path:
        """Write ``body`` durably; returns its path in ``incoming/`` (names sort by arrival)."""
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.json"
        tmp = self.tmp / name
        with open(tmp, "wb") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        final = self.incoming / name
        os.replace(tmp, final)
        _fsync_dir(self.incoming)
        return final

    def pending(self) -> list[Path]:
        return sorted(self.incoming.glob("*.json"))

    def remove(self, path: Path) -> None:
        path.unlink(missing_ok=True)
        _fsync_dir(self.incoming)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def interactions_of(obj: Any) -> list[Any]:
    """The interactions of a batch body, or a ParseError saying what is wrong with it."""
    if isinstance(obj, list):
        return obj
    if isinstance(obj, dict) and isinstance(obj.get("interactions"), list):
        return obj["interactions"]
    raise ParseError("a push batch must be a JSON list or an object with an 'interactions' list")


def make_app(spool: Spool, secret: bytes, *, max_body: int, max_skew_s: int,
             accept: Callable[[Path], bool], has_room: Callable[[], bool], clock: Callable[[], float] = time.time):
    """The starlette app. ``accept(path)`` hands a stored batch to the source."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    seen: OrderedDict[str, float] = OrderedDict()  # signatures answered within the window

    def answer(code: int, message: str, **extra: Any) -> JSONResponse:
        return JSONResponse({"status": "ok" if code == 200 else "error", "message": message, **extra},
                            status_code=code, headers={"Retry-After": "5"} if code == 503 else None)

    async def read_body(request: Request) -> bytes | None:
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_body:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    async def push(request: Request) -> JSONResponse:
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > max_body:
            return answer(413, f"body larger than {max_body} bytes")
        try:
            body = await asyncio.wait_for(read_body(request), BODY_READ_LIMIT_S)
        except asyncio.TimeoutError:
            return answer(408, "the body took too long to arrive")
        if body is None:
            return answer(413, f"body larger than {max_body} bytes")
        ts, sig = request.headers.get(TIMESTAMP_HEADER, ""), request.headers.get(SIGNATURE_HEADER, "")
        if not ts.strip().isdigit() or len(ts.strip()) > 12 or not sig:  # 12 digits: any real unix time
            return answer(401, f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER}")
        now = clock()
        if abs(now - int(ts)) > max_skew_s:
            return answer(401, "timestamp outside the accepted window (replayed or clock skew)")
        if not hmac.compare_digest(sign(secret, ts, body).encode(), sig.strip().encode()):
            return answer(401, "bad signature")
        while seen and next(iter(seen.values())) < now - 2 * max_skew_s:
            seen.popitem(last=False)
        if sig in seen:
            return answer(200, "duplicate: already stored", duplicate=True)
        try:
            count = len(interactions_of(orjson.loads(body)))
        except (orjson.JSONDecodeError, ParseError) as exc:
            return answer(400, f"not a batch: {exc}"[:300])
        if not has_room():
            return answer(503, "too many batches waiting; retry later")
        path = await run_in_threadpool(spool.store, body)
        seen[sig] = now
        accept(path)
        return answer(200, "stored", count=count)

    return Starlette(routes=[Route("/push", push, methods=["POST"]), Route("/", push, methods=["POST"])])


class PushSource(StreamSource):
    """Serves the push endpoint and yields the posts of each stored batch (see the module docstring)."""

    name = "datasift-push"

    def __init__(self, ds_settings: Any, spool_dir: Path, *, host: str | None = None, port: int | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        secret = ds_settings.push_secret.get_secret_value()
        if not secret:
            raise ConfigError("the push receiver needs a shared secret",
                              hint="set CIVIC_DATASIFT__PUSH_SECRET in the environment (never in a file)")
        self.spool = Spool(Path(spool_dir))
        self.host = host or ds_settings.push_host
        self.port = ds_settings.push_port if port is None else port
        self.app = make_app(self.spool, secret.encode(), max_body=ds_settings.push_max_body_bytes,
                            max_skew_s=ds_settings.push_max_skew_s, accept=self._accept,
                            has_room=lambda: self._queue.qsize() < self.queue_size - 1, clock=clock)
        self.server = None
        self._sock: socket.socket | None = None
        for path in self.spool.pending():  # left by a previous run: delivered first
            self._queue.put(path)

    def _accept(self, path: Path) -> bool:
        try:
            self._queue.put_nowait(path)
            return True
        except Exception:  # noqa: BLE001 - full: it stays in the spool for the next start
            return False

    def start(self) -> None:
        """Bind the port (``self.port`` is then the real one) and serve in the I/O thread."""
        if self._sock is None:
            sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            sock.listen(128)
            self._sock = sock
            self.port = sock.getsockname()[1]
        super().start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/push"

    def _run(self) -> None:
        import uvicorn

        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", timeout_keep_alive=5,
                                limit_concurrency=64)
        self.server = uvicorn.Server(config)
        self.connected()
        self.server.run(sockets=[self._sock])

    def close(self) -> None:
        super().close()
        if self.server is not None:
            self.server.should_exit = True

    def process(self, raw: Any) -> list[Item]:
        path: Path = raw
        try:
            interactions = interactions_of(orjson.loads(path.read_bytes()))
        except FileNotFoundError:
            return []
        except (orjson.JSONDecodeError, ParseError) as exc:
            raise ParseError(f"batch {path.name} unreadable: {exc}") from None
        out: list[Item] = []
        for n, inter in enumerate(interactions):
            try:
                item = parse_datasift(inter)
            except ParseError as exc:
                self.health.saw_error(f"{path.name}#{n}: {exc.message}")
                out.append(DeadLetter(stage="source", reason=f"datasift-push: {exc.message}"[:2000],
                                      payload=orjson.dumps(inter).decode()[:100_000], origin=f"{path.name}#{n}"))
                continue
            if item is not None:
                out.append(item)
        return out

    def done(self, raw: Any) -> None:
        self.spool.remove(raw)

    def origin(self, raw: Any) -> str:
        return f"push:{getattr(raw, 'name', raw)}"


def factory(settings: Any, port: int | None = None, **_: Any) -> PushSource:
    """``listen --source datasift-push``: serves on ``datasift.push_host:push_port``."""
    spool = settings.var_path / settings.datasift.push_spool_dir
    return PushSource(settings.datasift, spool, port=port)
