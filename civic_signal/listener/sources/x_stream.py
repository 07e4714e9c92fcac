"""The X API v2 filtered stream, through ``tweepy.StreamingClient``.

What it does, and what callers may rely on:

- **Rules** are synced from ``x.rules`` before connecting: rules on the server that are not in
  the settings (same value and tag) are deleted, missing ones are added, each with its tag.
  Rule errors the API reports (an invalid rule) are recorded in the source's health.
- **Fields**: expansions and fields for the author, the geo place and media
  (:func:`civic_signal.listener.sources.x_common.request_fields`).
- **Reconnects** are tweepy's own loop: HTTP errors back off from 5 s doubling to 320 s, 420/429
  (``TooManyConnections``) from 60 s doubling as X documents, network errors linearly by 0.25 s
  up to 16 s. If tweepy's loop itself ends (an exception), this source starts it again after
  a backoff. Each disconnect counts in ``health.reconnects`` with its reason in ``last_error``.
- **Watchdog**: the read timeout of the streaming request is ``x.watchdog_s`` (default 30 s;
  X sends a ``\\r\\n`` keep-alive every 20 s). No data and no keep-alive for that long raises a
  read timeout inside tweepy's loop, which reconnects. The socket is the one place that sees
  every byte, so this is exact and needs no extra thread.
- **Parsing** happens in the consumer's thread, never in tweepy's (an exception there ends
  tweepy's thread): tweepy's ``on_data`` only queues the raw line. A line that is not a post
  becomes a dead letter; a compliance delete becomes :class:`PostDeleted`; an error notice
  (``operational-disconnect``) is recorded in the health. Matching rule tags are on
  :attr:`Post.tags`. A post id seen recently (backfill after a reconnect) is not yielded twice.
- The bearer token comes from ``CIVIC_X__BEARER_TOKEN`` only and is never logged.
"""

from __future__ import annotations

import logging
import socket
from typing import Any

import tweepy

from civic_signal.config.errors import SourceError
from civic_signal.core.models import Post, PostDeleted
from civic_signal.listener.sources.formats import decode_json
from civic_signal.listener.sources.lines import crlf_lines
from civic_signal.listener.sources.streaming import Backoff, Item, StreamSource
from civic_signal.listener.sources.x_common import (bearer_token, mount_base_url, parse_x_message, request_fields,
                                       stream_errors)

log = logging.getLogger("civic_signal.sources.x")

#: Seconds to wait for the TCP/TLS connection (the read timeout is the watchdog).
CONNECT_TIMEOUT_S = 10.0


class _Client(tweepy.StreamingClient):
    """tweepy's client, pointed at ``x.base_url``, handing raw lines to the source."""

    def __init__(self, source: "XStreamSource", token: str, base_url: str, read_timeout_s: float) -> None:
        super().__init__(token, wait_on_rate_limit=False, daemon=True)
        self.source = source
        self.read_timeout_s = read_timeout_s
        self.response = None
        mount_base_url(self.session, base_url)
        self.session.hooks["response"].append(self._remember)

    def _remember(self, response, *args: Any, **kwargs: Any):
        self.response = response
        # tweepy reads the stream with requests' ``iter_lines``, which splits on any CR or LF
        # (``bytes.splitlines``) and makes a false keep-alive of a CRLF cut between two network
        # chunks; X delimits messages and keep-alives with ``\r\n``: split on exactly that
        response.iter_lines = lambda chunk_size=512, *a, **kw: crlf_lines(  # type: ignore[method-assign]
            response.iter_content(chunk_size=chunk_size))
        return response

    def _connect(self, method, endpoint, **kwargs):  # the read timeout is the watchdog
        kwargs.setdefault("timeout", (CONNECT_TIMEOUT_S, self.read_timeout_s))
        super()._connect(method, endpoint, **kwargs)

    def interrupt(self) -> None:
        """Stop the loop and wake a blocked read (best effort; the read timeout ends it anyway)."""
        self.disconnect()
        resp = self.response
        sock = getattr(getattr(getattr(resp, "raw", None), "_connection", None), "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # -- tweepy's callbacks: never raise, never parse ------------------------------------------
    def on_connect(self) -> None:
        self.source.connected()

    def on_data(self, raw_data) -> None:
        if not self.source.put(raw_data):
            self.disconnect()

    def on_keep_alive(self) -> None:
        self.source.keep_alives += 1

    def on_closed(self, response) -> None:
        self.source.disconnected("the server closed the stream")

    def on_connection_error(self) -> None:
        self.source.disconnected(
            f"connection error, or no data and no keep-alive for {self.read_timeout_s:g} s (watchdog)")

    def on_request_error(self, status_code) -> None:
        why = f"HTTP {status_code}"
        if status_code in (420, 429):
            why += " (too many connections or requests: backing off from 60 s, doubling)"
        self.source.disconnected(why)

    def on_exception(self, exception) -> None:
        self.source.disconnected(f"stream loop ended: {exception.__class__.__name__}: {exception}")


class XStreamSource(StreamSource):
    """Posts from the X v2 filtered stream (see the module docstring)."""

    name = "x"

    def __init__(self, x_settings: Any, *, backoff: Backoff | None = None) -> None:
        super().__init__()
        self.settings = x_settings
        self.token = bearer_token(x_settings)
        self.keep_alives = 0
        self.backoff = backoff or Backoff(5.0, 320.0)
        self.client: _Client | None = None
        self.rule_errors: list[str] = []

    def make_client(self) -> _Client:
        return _Client(self, self.token, self.settings.base_url, self.settings.watchdog_s)

    # -- rules ---------------------------------------------------------------------------------
    def sync_rules(self, client: tweepy.StreamingClient) -> dict[str, list[str]]:
        """Make the server's rules equal ``x.rules`` (value and tag); returns what changed."""
        wanted = {(r.value, r.tag) for r in self.settings.rules}
        if not wanted:
            log.warning("x.rules is empty: every rule on the server is deleted and the stream matches nothing")
        current = client.get_rules().data or []
        stale = [r for r in current if (r.value, r.tag) not in wanted]
        have = {(r.value, r.tag) for r in current}
        missing = [tweepy.StreamRule(value=v, tag=t) for v, t in sorted(wanted - have)]
        if stale:
            client.delete_rules([r.id for r in stale])
        if missing:
            resp = client.add_rules(missing)
            for err in getattr(resp, "errors", None) or []:
                msg = f"rule rejected: {err.get('title', 'error')}: {err.get('details') or err.get('detail') or ''}"
                self.rule_errors.append(msg)
                self.health.saw_error(msg)
        return {"deleted": [r.id for r in stale], "added": [r.tag or r.value for r in missing]}

    # -- I/O -------------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self.closed:
            self.client = client = self.make_client()
            try:
                self.sync_rules(client)
                client.filter(**request_fields())  # blocks: tweepy's reconnect loop
            except tweepy.TweepyException as exc:  # rules calls: 4xx/5xx/429
                self.disconnected(f"X API error: {exc}"[:500])
            if self.closed:
                return
            delay = self.backoff.next()
            log.info("x: restarting the stream loop in %.1f s", delay)
            if self.wait(delay):
                return

    def close(self) -> None:
        super().close()
        if self.client is not None:
            self.client.interrupt()

    def origin(self, raw: Any) -> str:
        return "x:stream"

    def process(self, raw: Any) -> list[Item]:
        obj = decode_json(raw)
        notice = stream_errors(obj)
        if notice is not None:
            self.health.saw_error(f"stream notice: {notice}"[:500])
            return []
        item = parse_x_message(obj, source="x")
        if item is None:
            return []
        if isinstance(item, (Post, PostDeleted)):
            return [item]
        raise SourceError(f"unexpected parse result {type(item).__name__}")


def factory(settings: Any, **_: Any) -> XStreamSource:
    """``listen --source x``."""
    return XStreamSource(settings.x)
