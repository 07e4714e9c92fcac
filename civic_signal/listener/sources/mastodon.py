"""Mastodon streaming over server-sent events (httpx), e.g. ``public:local`` and ``hashtag:boston``.

``mastodon.streaming_url`` is the instance's streaming base, e.g.
``https://mastodon.example/api/v1/streaming``; each entry of ``mastodon.streams`` is one
connection: ``public:local`` -> ``<base>/public/local``, ``hashtag:boston`` ->
``<base>/hashtag?tag=boston``, ``hashtag:local:boston`` -> ``<base>/hashtag/local?tag=boston``.
The token (``CIVIC_MASTODON__TOKEN``, optional where the instance allows it) is sent as a
bearer header and never logged.

What callers may rely on: ``update`` (and ``status.update``) events become posts, the same status
from two streams once; ``delete`` events become :class:`PostDeleted` for statuses we yielded
recently or the archive holds (``known``), others are counted in ``filtered``; ``:`` comment
lines are heartbeats; no event and no heartbeat for ``mastodon.watchdog_s`` -> reconnect with
exponential backoff (1 s .. 60 s, ``Retry-After`` honoured). Post ids are ``mastodon:<status id>``
(the ids of the one instance streamed from).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import ValidationError

from civic_signal.config.errors import ConfigError, ParseError
from civic_signal.core.models import Post, PostDeleted
from civic_signal.listener.sources.formats import decode_json, parse_time, register_format
from civic_signal.listener.sources.lines import sse_lines
from civic_signal.listener.sources.streaming import Backoff, Item, StreamSource

log = logging.getLogger("civic_signal.sources.mastodon")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(html: str) -> str:
    """Mastodon's status HTML as plain text (paragraphs and line breaks kept)."""
    p = _Text()
    p.feed(html)
    p.close()
    return "".join(p.parts).strip()


def _s(v: Any) -> str | None:
    if isinstance(v, bool):
        return None
    return str(v) if isinstance(v, (str, int)) and str(v) else None


def parse_mastodon_status(obj: Any) -> Post:
    """A Mastodon status (the ``update`` payload) -> post. Raises only :class:`ParseError`."""
    if not isinstance(obj, dict):
        raise ParseError(f"a Mastodon status must be a JSON object, got {type(obj).__name__}")
    sid = _s(obj.get("id"))
    if not sid:
        raise ParseError("status without id")
    reblog = obj.get("reblog") if isinstance(obj.get("reblog"), dict) else None
    content = (reblog or obj).get("content")
    if not isinstance(content, str):
        raise ParseError(f"status {sid} has no content")
    spoiler = (reblog or obj).get("spoiler_text")
    text = html_to_text(content)
    if isinstance(spoiler, str) and spoiler.strip():
        text = f"{spoiler.strip()}\n\n{text}"
    account = obj.get("account") if isinstance(obj.get("account"), dict) else {}
    media = [m.get("url") or m.get("remote_url") for m in obj.get("media_attachments") or []
             if isinstance(m, dict)] if isinstance(obj.get("media_attachments"), list) else []
    tags = [t.get("name") for t in obj.get("tags") or [] if isinstance(t, dict)] if isinstance(obj.get("tags"), list) else []
    try:
        return Post.build(
            id=f"mastodon:{sid}"[:200], source="mastodon", author=_s(account.get("acct")), text=text,
            created_at=parse_time(obj.get("created_at"), "created_at"), language=_s(obj.get("language")),
            media_urls=tuple(u for u in media if isinstance(u, str)),
            is_reply=obj.get("in_reply_to_id") is not None, is_repost=reblog is not None,
            reposted_id=f"mastodon:{_s(reblog.get('id'))}" if reblog and _s(reblog.get("id")) else None,
            url=obj.get("url") if isinstance(obj.get("url"), str) else None,
            tags=tuple(t for t in tags if isinstance(t, str))[:50], raw=obj,
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ParseError(f"status {sid}: {'.'.join(map(str, err['loc']))}: {err['msg']}"[:500]) from None


register_format("mastodon", lambda o: {"id", "content", "account", "created_at"} <= o.keys(), parse_mastodon_status)


def parse_event(event: str, data: str) -> Post | PostDeleted | None:
    """One SSE event -> post, delete, or ``None`` (notifications, filters, ...)."""
    if event in ("update", "status.update"):
        return parse_mastodon_status(decode_json(data))
    if event == "delete":
        sid = data.strip().strip('"')
        if not sid or len(sid) > 100 or any(c.isspace() for c in sid):
            raise ParseError(f"delete event with an odd status id {data[:50]!r}")
        return PostDeleted(post_id=f"mastodon:{sid}", source="mastodon", reason="deleted (Mastodon delete event)")
    return None


def stream_url(base: str, stream: str) -> tuple[str, dict[str, str]]:
    """``public:local`` -> (``base/public/local``, {}); ``hashtag:boston`` -> (``base/hashtag``, {tag})."""
    parts = [p for p in stream.split(":") if p]
    if not parts:
        raise ConfigError(f"empty Mastodon stream name in {stream!r}")
    base = base.rstrip("/")
    if parts[0] == "hashtag":
        if len(parts) < 2:
            raise ConfigError(f"hashtag stream without a tag: {stream!r}", hint="e.g. hashtag:boston")
        return f"{base}/{'/'.join(parts[:-1])}", {"tag": parts[-1]}
    return f"{base}/{'/'.join(parts)}", {}


class MastodonSource(StreamSource):
    name = "mastodon"

    def __init__(self, m_settings: Any, *, backoff_factory: Callable[[], Backoff] = lambda: Backoff(1.0, 60.0),
                 known: Callable[[str], bool] | None = None) -> None:
        super().__init__()
        if not m_settings.streaming_url:
            raise ConfigError("mastodon.streaming_url is empty",
                              hint="set CIVIC_MASTODON__STREAMING_URL, e.g. https://instance/api/v1/streaming")
        self.base = m_settings.streaming_url
        self.streams = list(m_settings.streams)
        self.token = m_settings.token.get_secret_value()
        self.watchdog_s = m_settings.watchdog_s
        self.backoff_factory = backoff_factory
        self.known = known
        self.heartbeats = 0
        self._responses: dict[str, httpx.Response] = {}
        for s in self.streams:
            stream_url(self.base, s)  # a bad name fails at start-up

    def _run(self) -> None:
        threads = [threading.Thread(target=self._run_stream, args=(s,), name=f"mastodon-{s}", daemon=True)
                   for s in self.streams]
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive() and not self.closed:
                t.join(0.2)

    def _run_stream(self, stream: str) -> None:
        url, params = stream_url(self.base, stream)
        host = urlsplit(url).netloc
        headers = {"Accept": "text/event-stream"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        backoff = self.backoff_factory()
        with httpx.Client(timeout=httpx.Timeout(10.0, read=self.watchdog_s)) as client:
            while not self.closed:
                retry_after = 0.0
                try:
                    with client.stream("GET", url, params=params, headers=headers) as resp:
                        self._responses[stream] = resp
                        if resp.status_code != 200:
                            ra = resp.headers.get("Retry-After", "")
                            retry_after = float(ra) if ra.strip().isdigit() else 0.0
                            self.disconnected(f"{stream}: {host} answered HTTP {resp.status_code}")
                        else:
                            self.connected()
                            if not self._read_events(stream, resp, backoff):
                                return
                            self.disconnected(f"{stream}: {host} closed the stream")
                except httpx.ReadTimeout:
                    self.disconnected(f"{stream}: no event and no heartbeat for {self.watchdog_s:g} s (watchdog)")
                except (httpx.HTTPError, OSError) as exc:
                    if self.closed:
                        return
                    self.disconnected(f"{stream}: {exc.__class__.__name__}: {exc}"[:300])
                finally:
                    self._responses.pop(stream, None)
                if self.wait(backoff.next(retry_after)):
                    return

    def _read_events(self, stream: str, resp: httpx.Response, backoff: Backoff) -> bool:
        """Queue each event; False when the source closed."""
        event, data = "message", []
        for line in sse_lines(resp.iter_bytes()):  # CR, LF or CRLF only: never str.splitlines()
            if self.closed:
                return False
            if line.startswith(":"):
                self.heartbeats += 1
                continue
            if not line:
                if data:
                    backoff.reset()
                    if not self.put((stream, event, "\n".join(data))):
                        return False
                event, data = "message", []
                continue
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                event = value
            elif field == "data":
                data.append(value)
        return True

    def close(self) -> None:
        super().close()
        for resp in list(self._responses.values()):
            try:
                resp.close()
            except Exception:  # noqa: BLE001 - best effort from another thread
                pass

    def process(self, raw: Any) -> list[Item]:
        _stream, event, data = raw
        item = parse_event(event, data)
        if isinstance(item, PostDeleted) and not (item.post_id in self._recent or
                                                  (self.known is not None and self.known(item.post_id))):
            self.filtered += 1
            return []
        return [item] if item is not None else []

    def origin(self, raw: Any) -> str:
        return f"mastodon:{raw[0]}:{raw[1]}" if isinstance(raw, tuple) else "mastodon"


def factory(settings: Any, **_: Any) -> MastodonSource:
    """``listen --source mastodon``."""
    from civic_signal.sinks.archive import Archive
    from civic_signal.sinks.archive.models import PostRow

    archive = Archive.from_settings(settings)
    return MastodonSource(settings.mastodon, known=lambda pid: archive.count(PostRow, PostRow.id == pid) > 0)
