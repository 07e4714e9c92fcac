"""X recent-search polling (``tweepy.Client.search_recent_tweets``), for API tiers without the stream.

An APScheduler job (:func:`poll_job`, a plain function) runs :meth:`XSearchSource.poll_once`
every ``x.poll_interval_s`` seconds. What callers may rely on:

- **Resume**: the newest id seen is stored as the archive cursor ``x-search:since_id``
  (:meth:`Archive.set_cursor`) once every post of that poll has been yielded (published); a
  restart asks for ``since_id`` from there. A poll that did not finish (rate limit or error in
  the middle of its pages) does not move the cursor: the next poll asks again and duplicates
  are dropped by post id.
- **Rate limits**: the ``x-rate-limit-remaining``/``x-rate-limit-reset`` headers are read on
  every page; at 0 remaining, and after a 429, no request is made before the reset time.
- Posts come out oldest first, as ``source="x-search"`` with the id ``x:<tweet id>`` (the same
  post from the stream and from search is one post).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import requests
import tweepy

from civic_signal.core.models import Post
from civic_signal.listener.sources.streaming import Item, StreamSource
from civic_signal.listener.sources.x_common import bearer_token, mount_base_url, parse_x_message, request_fields

log = logging.getLogger("civic_signal.sources.x_search")

CURSOR = "x-search:since_id"


def poll_job(source: "XSearchSource") -> int:
    """The scheduled job: one poll. A plain function so any scheduler (ours or APScheduler) can run it."""
    return source.poll_once()


class XSearchSource(StreamSource):
    name = "x-search"

    def __init__(self, x_settings: Any, cursors: Any | None = None, *, interval_s: float | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.settings = x_settings
        self.cursors = cursors
        self.interval_s = interval_s or x_settings.poll_interval_s
        self.clock = clock
        self.client = tweepy.Client(bearer_token(x_settings), return_type=requests.Response, wait_on_rate_limit=False)
        mount_base_url(self.client.session, x_settings.base_url)
        self.since_id: str | None = cursors.get_cursor(CURSOR) if cursors is not None else None
        self.not_before = 0.0     # epoch seconds: no request before this (rate limit)
        self.polls = 0
        self.scheduler = None

    # -- one poll -------------------------------------------------------------------------------
    def _rate(self, resp: requests.Response) -> None:
        remaining, reset = resp.headers.get("x-rate-limit-remaining"), resp.headers.get("x-rate-limit-reset")
        if remaining is not None and remaining.strip().isdigit() and int(remaining) == 0:
            self.not_before = float(reset) if reset and reset.strip().isdigit() else self.clock() + 15 * 60
            log.info("x-search: rate limit used up; next request after %s", self.not_before)

    def poll_once(self) -> int:
        """Fetch every page newer than ``since_id`` and queue its posts; returns how many were queued."""
        now = self.clock()
        if now < self.not_before or self.closed:
            return 0
        self.polls += 1
        pages: list[dict[str, Any]] = []
        newest: str | None = None
        token: str | None = None
        complete = False
        while not self.closed:
            params: dict[str, Any] = dict(max_results=self.settings.search_max_results, **request_fields())
            if self.since_id:
                params["since_id"] = self.since_id
            if token:
                params["next_token"] = token
            try:
                resp = self.client.search_recent_tweets(self.settings.search_query, **params)
            except tweepy.TooManyRequests as exc:
                reset = getattr(exc, "reset_time", None)
                self.not_before = float(reset) if reset else self.clock() + 60
                self.disconnected(f"429 rate limited; next request after {self.not_before:.0f}", reconnecting=False)
                break
            except (tweepy.TweepyException, requests.RequestException) as exc:
                self.disconnected(f"search failed: {exc.__class__.__name__}: {exc}"[:500], reconnecting=False)
                break
            self.connected()
            self._rate(resp)
            try:
                body = resp.json()
            except ValueError:
                self.disconnected("search answered with invalid JSON", reconnecting=False)
                break
            body = body if isinstance(body, dict) else {}
            meta = body.get("meta") if isinstance(body.get("meta"), dict) else {}
            if newest is None and isinstance(meta.get("newest_id"), str):
                newest = meta["newest_id"]
            pages.append(body)
            token = meta.get("next_token") if isinstance(meta.get("next_token"), str) else None
            if not token:
                complete = True
                break
            if self.clock() < self.not_before:
                break  # used up mid-way: the rest next time (the cursor does not move)
        queued = 0
        for body in reversed(pages):  # oldest page first, oldest post first
            data = body.get("data") if isinstance(body.get("data"), list) else []
            includes = body.get("includes") if isinstance(body.get("includes"), dict) else {}
            for tweet in reversed(data):
                queued += self.put(("tweet", {"data": tweet, "includes": includes,
                                              "matching_rules": [{"id": "search", "tag": "x-search"}]}))
        if complete and newest:
            self.since_id = newest
            self.put(("cursor", newest))
        return queued

    # -- the source -------------------------------------------------------------------------------
    def _run(self) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        self.scheduler = BackgroundScheduler(timezone="UTC")
        self.scheduler.add_job(poll_job, "interval", args=[self], seconds=self.interval_s, id="x-search",
                               max_instances=1, coalesce=True, next_run_time=_now())
        self.scheduler.start()
        try:
            self._closed.wait()
        finally:
            self.scheduler.shutdown(wait=False)

    def process(self, raw: Any) -> list[Item]:
        kind, value = raw
        if kind == "cursor":
            return []
        item = parse_x_message(value, source="x-search")
        return [item] if isinstance(item, Post) else []

    def done(self, raw: Any) -> None:
        kind, value = raw
        if kind == "cursor" and self.cursors is not None:
            self.cursors.set_cursor(CURSOR, value)

    def origin(self, raw: Any) -> str:
        return "x:search"


def _now():
    from datetime import datetime, timezone
    return datetime.now(timezone.utc)


def factory(settings: Any, **_: Any) -> XSearchSource:
    """``listen --source x-search``: the cursor lives in the archive database."""
    from civic_signal.sinks.archive import Archive
    return XSearchSource(settings.x, Archive.from_settings(settings))
