"""DataSift-style feeds: the interaction format, and its HTTP JSON stream.

An interaction (``interaction.content``, ``interaction.author``, ``interaction.geo``,
``twitter.*``, ``language``) may arrive bare or wrapped as ``{"hash": ..., "data": {...}}``.
``{"tick": ...}`` and ``{"status": ..., "message": ...}`` messages carry no post (a
``failure``/``warning`` status is recorded in the source's health). A ``deleted`` interaction
becomes :class:`PostDeleted`. Post ids are ``datasift:<interaction.id>``.

:class:`DataSiftStreamSource` reads ``datasift.stream_url`` (one JSON object per line) with
httpx; no data and no tick for ``datasift.watchdog_s`` -> reconnect; errors back off
exponentially from 1 s to 60 s (``Retry-After`` honoured). The push receiver is in
:mod:`civic_signal.listener.sources.push`.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import ValidationError

from civic_signal.config.errors import ConfigError, ParseError
from civic_signal.core.models import Coordinates, Post, PostDeleted
from civic_signal.listener.sources.formats import decode_json, parse_time, register_format
from civic_signal.listener.sources.lines import lf_lines
from civic_signal.listener.sources.streaming import Backoff, Item, StreamSource, close_quietly

log = logging.getLogger("civic_signal.sources.datasift")


def _dict(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _str(v: Any) -> str | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (str, int)):
        return str(v) or None
    return None


def unwrap(obj: Any) -> dict[str, Any] | None:
    """The interaction body of a message, or ``None`` for a tick/status message."""
    if not isinstance(obj, dict):
        raise ParseError(f"a DataSift message must be a JSON object, got {type(obj).__name__}")
    data = obj.get("data")
    if isinstance(data, dict) and ("interaction" in data or "deleted" in data):
        return data
    if "interaction" in obj:
        return obj
    if "tick" in obj or "status" in obj:
        return None
    raise ParseError(f"not a DataSift interaction (keys: {', '.join(sorted(map(str, obj))[:8]) or 'none'})")


def status_notice(obj: Any) -> str | None:
    """``"failure: ..."`` / ``"warning: ..."`` for a status message worth recording, else ``None``."""
    if isinstance(obj, dict) and "interaction" not in obj and not isinstance(obj.get("data"), dict):
        status = obj.get("status")
        if isinstance(status, str) and status.lower() in ("failure", "warning", "error"):
            return f"{status}: {obj.get('message', '')}"[:500]
    return None


def parse_datasift(obj: Any) -> Post | PostDeleted | None:
    """One DataSift message -> post, delete, or ``None`` (tick/status). Raises only :class:`ParseError`."""
    body = unwrap(obj)
    if body is None:
        return None
    inter = _dict(body.get("interaction"))
    iid = _str(inter.get("id"))
    if body.get("deleted") is True or inter.get("deleted") is True:
        if not iid:
            raise ParseError("deleted event without interaction.id")
        return PostDeleted(post_id=f"datasift:{iid}"[:200], source="datasift", reason="deleted (DataSift)")
    if not iid:
        raise ParseError("interaction.id is missing")
    twitter = _dict(body.get("twitter"))
    retweet = _dict(twitter.get("retweet"))
    text = inter.get("content")
    if not isinstance(text, str):
        text = twitter.get("text") if isinstance(twitter.get("text"), str) else retweet.get("text")
    if not isinstance(text, str):
        raise ParseError(f"interaction {iid}: interaction.content is missing")
    author = _dict(inter.get("author"))
    geo = _dict(inter.get("geo"))
    coords, warning = Coordinates.checked(geo.get("latitude"), geo.get("longitude")) if geo else (None, None)
    # malformed coordinates are dropped with a warning (raw keeps them); the post is kept
    media = [m.get("media_url_https") or m.get("media_url") or m.get("url")
             for m in twitter.get("media") or [] if isinstance(m, dict)] if isinstance(twitter.get("media"), list) else []
    tags = inter.get("tags") if isinstance(inter.get("tags"), list) else []
    place = _dict(twitter.get("place")).get("full_name")
    reposted = _str(_dict(twitter.get("retweeted")).get("id"))
    try:
        return Post.build(
            id=f"datasift:{iid}", source="datasift", author=_str(author.get("username")) or _str(author.get("name")),
            text=text, created_at=parse_time(inter.get("created_at"), "interaction.created_at"),
            language=_str(_dict(body.get("language")).get("tag")), coordinates=coords,
            warnings=(warning,) if warning else (),
            place=place if isinstance(place, str) else None,
            media_urls=tuple(u for u in media if isinstance(u, str)),
            is_reply=twitter.get("in_reply_to_status_id") is not None,
            is_repost=bool(retweet) or reposted is not None,
            reposted_id=f"x:{reposted}" if reposted else None,
            url=inter.get("link") if isinstance(inter.get("link"), str) else None,
            tags=tuple(str(t) for t in tags if isinstance(t, (str, int)))[:50], raw=obj if isinstance(obj, dict) else None,
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ParseError(f"interaction {iid}: {'.'.join(map(str, err['loc']))}: {err['msg']}"[:500]) from None


def _detect(o: dict[str, Any]) -> bool:
    data = o.get("data")
    return (isinstance(data, dict) and ("interaction" in data or "deleted" in data)) or \
        isinstance(o.get("interaction"), dict)


def _replay_parser(o: dict[str, Any]) -> Post | None:
    item = parse_datasift(o)
    return item if isinstance(item, Post) else None


# before x_v2: a wrapped interaction also has a "data" object
register_format("datasift", _detect, _replay_parser, first=True)
# ticks and status messages in an archived DataSift stream carry no post
register_format("datasift_tick", lambda o: "tick" in o or ("status" in o and set(o) <= {"status", "message", "hash"}),
                lambda o: None)


class DataSiftStreamSource(StreamSource):
    """Interactions from an HTTP JSON stream (one object per line)."""

    name = "datasift"

    def __init__(self, ds_settings: Any, *, backoff: Backoff | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        super().__init__()
        if not ds_settings.stream_url:
            raise ConfigError("datasift.stream_url is empty", hint="set CIVIC_DATASIFT__STREAM_URL")
        self.url = ds_settings.stream_url
        self.watchdog_s = ds_settings.watchdog_s
        self.backoff = backoff or Backoff(1.0, 60.0)
        self.transport = transport
        self.ticks = 0
        self._response: httpx.Response | None = None

    def _run(self) -> None:
        timeout = httpx.Timeout(10.0, read=self.watchdog_s)
        host = urlsplit(self.url).netloc.rsplit("@", 1)[-1]  # never log credentials in the URL
        with httpx.Client(timeout=timeout, transport=self.transport) as client:
            while not self.closed:
                retry_after = 0.0
                try:
                    with client.stream("GET", self.url, headers={"Accept": "application/json"}) as resp:
                        self._response = resp
                        if resp.status_code != 200:
                            retry_after = _retry_after(resp)
                            self.disconnected(f"{host} answered HTTP {resp.status_code}")
                        else:
                            self.connected()
                            for line in lf_lines(resp.iter_bytes()):  # NDJSON: LF only
                                if self.closed:
                                    return
                                if not line.strip():
                                    self.ticks += 1
                                    continue
                                self.backoff.reset()
                                if not self.put(line):
                                    return
                            self.disconnected(f"{host} closed the stream")
                except httpx.ReadTimeout:
                    self.disconnected(f"no data and no tick from {host} for {self.watchdog_s:g} s (watchdog)")
                except (httpx.HTTPError, OSError) as exc:
                    self.disconnected(f"{host}: {exc.__class__.__name__}: {exc}"[:300])
                finally:
                    self._response = None
                if self.wait(self.backoff.next(retry_after)):
                    return

    def close(self) -> None:
        super().close()
        close_quietly(self._response)

    def process(self, raw: Any) -> list[Item]:
        obj = decode_json(raw)
        notice = status_notice(obj)
        if notice:
            self.health.saw_error(f"stream status {notice}")
        if isinstance(obj, dict) and "tick" in obj:
            self.ticks += 1
        item = parse_datasift(obj)
        return [item] if item is not None else []

    def origin(self, raw: Any) -> str:
        return "datasift:stream"


def _retry_after(resp: httpx.Response) -> float:
    value = resp.headers.get("Retry-After", "")
    if value.strip().isdigit():
        return float(value)
    return 60.0 if resp.status_code == 429 else 0.0


def factory(settings: Any, **_: Any) -> DataSiftStreamSource:
    """``listen --source datasift``."""
    return DataSiftStreamSource(settings.datasift)
