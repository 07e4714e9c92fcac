"""Bluesky Jetstream over WebSocket (``websockets``), ``wantedCollections=app.bsky.feed.post``.

What callers may rely on:

- **Resume**: the ``time_us`` of the last message handled (yielded, or skipped on purpose) is
  stored as the archive cursor ``jetstream:time_us`` every few seconds and when the source ends;
  a restart asks for ``cursor = time_us - jetstream.cursor_rewind_s`` (a reconnect: from the
  newest message received), so nothing between is missed (the overlap is dropped by post id).
- **Keyword pre-filter**: a created post whose text contains none of ``jetstream.keywords``
  (case-insensitive; empty list = keep all) is skipped and counted in ``filtered``.
- **Deletes**: a ``delete`` commit becomes :class:`PostDeleted` when the post is one we yielded
  recently or one the archive holds (``known``); deletes of the rest of the network are counted
  in ``filtered`` and go no further.
- No message for ``jetstream.watchdog_s`` -> reconnect (exponential backoff 1 s .. 60 s).
- Post ids are ``bsky:<did>/<rkey>``; the URL is the bsky.app link.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

from pydantic import ValidationError

from civic_signal.config.errors import ParseError
from civic_signal.core.models import Post, PostDeleted
from civic_signal.listener.sources.formats import decode_json, parse_time, register_format
from civic_signal.listener.sources.streaming import Backoff, Item, StreamSource, close_quietly

log = logging.getLogger("civic_signal.sources.jetstream")

COLLECTION = "app.bsky.feed.post"
CURSOR = "jetstream:time_us"
CURSOR_EVERY_S = 5.0
_TIME_US = re.compile(r'"time_us"\s*:\s*(\d{1,20})')


def _s(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None


def post_id(did: str, rkey: str) -> str:
    return f"bsky:{did}/{rkey}"[:200]


def parse_jetstream(obj: Any) -> Post | PostDeleted | None:
    """One Jetstream event -> post, delete, or ``None`` (identity/account events, other collections).
    Raises only :class:`ParseError`."""
    if not isinstance(obj, dict):
        raise ParseError(f"a Jetstream event must be a JSON object, got {type(obj).__name__}")
    if obj.get("kind") != "commit":
        if isinstance(obj.get("kind"), str):
            return None
        raise ParseError("Jetstream event without 'kind'")
    commit = obj.get("commit")
    did = _s(obj.get("did"))
    if not isinstance(commit, dict) or not did:
        raise ParseError("commit event without 'commit' or 'did'")
    if commit.get("collection") != COLLECTION:
        return None
    rkey = _s(commit.get("rkey"))
    if not rkey:
        raise ParseError("commit without rkey")
    op = commit.get("operation")
    if op == "delete":
        return PostDeleted(post_id=post_id(did, rkey), source="jetstream", reason="deleted (Bluesky delete op)")
    if op not in ("create", "update"):
        raise ParseError(f"unknown commit operation {op!r}"[:200])
    record = commit.get("record")
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise ParseError(f"post {did}/{rkey} has no record.text")
    langs = record.get("langs") if isinstance(record.get("langs"), list) else []
    embed = record.get("embed") if isinstance(record.get("embed"), dict) else {}
    quoted = embed.get("record") if isinstance(embed.get("record"), dict) else {}
    quoted = quoted.get("record") if isinstance(quoted.get("record"), dict) else quoted  # recordWithMedia
    media = []
    for img in embed.get("images") or [] if isinstance(embed.get("images"), list) else []:
        ref = img.get("image", {}).get("ref", {}) if isinstance(img, dict) and isinstance(img.get("image"), dict) else {}
        link = ref.get("$link") if isinstance(ref, dict) else None
        if isinstance(link, str):
            media.append(f"https://cdn.bsky.app/img/feed_fullsize/plain/{did}/{link}@jpeg")
    created = record.get("createdAt")
    if created is None and isinstance(obj.get("time_us"), int):
        created = obj["time_us"] / 1e6
    try:
        return Post.build(
            id=post_id(did, rkey), source="jetstream", author=did, text=record["text"],
            created_at=parse_time(created, "record.createdAt"),
            language=langs[0] if langs and isinstance(langs[0], str) else None,
            media_urls=tuple(media), is_reply=isinstance(record.get("reply"), dict),
            quoted_id=f"bsky:{_s(quoted.get('uri'))}" if _s(quoted.get("uri")) else None,
            url=f"https://bsky.app/profile/{did}/post/{rkey}", raw=obj,
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ParseError(f"post {did}/{rkey}: {'.'.join(map(str, err['loc']))}: {err['msg']}"[:500]) from None


def _replay(o: dict[str, Any]) -> Post | None:
    item = parse_jetstream(o)
    return item if isinstance(item, Post) else None


register_format("jetstream", lambda o: "did" in o and "time_us" in o and "kind" in o, _replay, first=True)


def matches(text: str, keywords: list[str]) -> bool:
    folded = text.casefold()
    return not keywords or any(k.casefold() in folded for k in keywords)


class JetstreamSource(StreamSource):
    name = "jetstream"

    def __init__(self, js_settings: Any, cursors: Any | None = None, *, backoff: Backoff | None = None,
                 known: Callable[[str], bool] | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.url = js_settings.url
        self.keywords = [k for k in js_settings.keywords if k.strip()]
        self.watchdog_s = js_settings.watchdog_s
        self.rewind_us = int(js_settings.cursor_rewind_s * 1_000_000)
        self.cursors = cursors
        self.backoff = backoff or Backoff(1.0, 60.0)
        self.known = known
        self.clock = clock
        stored = cursors.get_cursor(CURSOR) if cursors is not None else None
        self.cursor: int | None = int(stored) if stored and stored.isdigit() else None
        self._saved_cursor = self.cursor
        self._saved_at = clock()
        self._received_us: int | None = None  # newest time_us received (I/O thread); for reconnects
        self._ws = None

    def connect_url(self) -> str:
        """The subscribe URL; after a reconnect it resumes from the newest message received (what
        is queued will still be handled), after a restart from the stored cursor."""
        params = [("wantedCollections", COLLECTION)]
        resume = max(self.cursor or 0, self._received_us or 0)
        if resume:
            params.append(("cursor", str(max(resume - self.rewind_us, 0))))
        sep = "&" if urlsplit(self.url).query else "?"
        return f"{self.url}{sep}{urlencode(params)}"

    def _run(self) -> None:
        from websockets.exceptions import WebSocketException
        from websockets.sync.client import connect

        host = urlsplit(self.url).netloc
        while not self.closed:
            try:
                with connect(self.connect_url(), open_timeout=10, close_timeout=1, max_size=2 ** 21) as ws:
                    self._ws = ws
                    self.connected()
                    while not self.closed:
                        try:
                            msg = ws.recv(timeout=self.watchdog_s)
                        except TimeoutError:
                            self.disconnected(f"no message from {host} for {self.watchdog_s:g} s (watchdog)")
                            break
                        self.backoff.reset()
                        found = _TIME_US.search(msg if isinstance(msg, str) else msg.decode("utf-8", "replace"))
                        if found:
                            self._received_us = max(self._received_us or 0, int(found.group(1)))
                        if not self.put(msg):
                            return
            except (WebSocketException, OSError) as exc:
                if self.closed:
                    return
                self.disconnected(f"{host}: {exc.__class__.__name__}: {exc}"[:300])
            finally:
                self._ws = None
            if self.wait(self.backoff.next()):
                return

    def close(self) -> None:
        super().close()
        close_quietly(self._ws)

    def process(self, raw: Any) -> list[Item]:
        obj = decode_json(raw)
        if isinstance(obj, dict) and isinstance(obj.get("time_us"), int) and not isinstance(obj["time_us"], bool):
            self._pending = obj["time_us"]
        item = parse_jetstream(obj)
        if isinstance(item, Post) and not matches(item.text, self.keywords):
            self.filtered += 1
            return []
        if isinstance(item, PostDeleted) and not self.is_known(item.post_id):
            self.filtered += 1
            return []
        return [item] if item is not None else []

    def is_known(self, pid: str) -> bool:
        return pid in self._recent or (self.known is not None and self.known(pid))

    def done(self, raw: Any) -> None:
        pending = getattr(self, "_pending", None)
        if pending is not None:
            self.cursor = max(self.cursor or 0, pending)
            self._pending = None
        if self.clock() - self._saved_at >= CURSOR_EVERY_S:
            self.save_cursor()

    def items_for(self, raw: Any) -> list[Item]:
        self._pending = None
        return super().items_for(raw)

    def save_cursor(self) -> None:
        self._saved_at = self.clock()
        if self.cursors is not None and self.cursor and self.cursor != self._saved_cursor:
            self.cursors.set_cursor(CURSOR, str(self.cursor))
            self._saved_cursor = self.cursor

    def finish(self) -> None:
        self.save_cursor()

    def origin(self, raw: Any) -> str:
        return "jetstream"


def factory(settings: Any, **_: Any) -> JetstreamSource:
    """``listen --source jetstream``: the cursor lives in the archive database."""
    from civic_signal.sinks.archive import Archive
    from civic_signal.sinks.archive.models import PostRow

    archive = Archive.from_settings(settings)
    return JetstreamSource(settings.jetstream, archive,
                           known=lambda pid: archive.count(PostRow, PostRow.id == pid) > 0)
