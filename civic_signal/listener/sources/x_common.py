"""What the X stream and the X recent-search sources share: the base-URL rewrite, the request
fields, the bearer token, and the parser for one v2 message (post, compliance delete, or error).
"""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter

from civic_signal.config.errors import ConfigError, ParseError
from civic_signal.core.models import Post, PostDeleted
from civic_signal.listener.sources.formats import parse_x_v2, register_format

#: tweepy sends every request here; :class:`BaseUrlAdapter` sends it to ``x.base_url`` instead.
TWITTER_HOST = "https://api.twitter.com"

EXPANSIONS = ["author_id", "geo.place_id", "attachments.media_keys", "referenced_tweets.id"]
TWEET_FIELDS = ["created_at", "lang", "geo", "author_id", "referenced_tweets", "attachments", "entities",
                "conversation_id", "in_reply_to_user_id"]
USER_FIELDS = ["username", "name", "location"]
PLACE_FIELDS = ["full_name", "geo", "country_code", "place_type"]
MEDIA_FIELDS = ["url", "preview_image_url", "type"]


def request_fields() -> dict[str, list[str]]:
    """The expansions and fields asked for on the stream and on search (author, place, media)."""
    return dict(expansions=EXPANSIONS, tweet_fields=TWEET_FIELDS, user_fields=USER_FIELDS,
                place_fields=PLACE_FIELDS, media_fields=MEDIA_FIELDS)


class BaseUrlAdapter(HTTPAdapter):
    """A requests adapter that sends ``https://api.twitter.com/...`` to ``base_url/...``
    (a relay, a proxy, or a test server on 127.0.0.1). tweepy fixes the host in code; mounting
    this on its session is the documented way around it and covers the stream and the rules."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        if request.url and request.url.startswith(TWITTER_HOST) and self.base_url != TWITTER_HOST:
            request.url = self.base_url + request.url[len(TWITTER_HOST):]
        return super().send(request, *args, **kwargs)


def mount_base_url(session: requests.Session, base_url: str) -> None:
    session.mount(TWITTER_HOST, BaseUrlAdapter(base_url))


def bearer_token(x_settings: Any) -> str:
    """The bearer token from the settings (``CIVIC_X__BEARER_TOKEN``), or a ConfigError."""
    token = x_settings.bearer_token.get_secret_value()
    if not token:
        raise ConfigError("the X sources need a bearer token",
                          hint="set CIVIC_X__BEARER_TOKEN in the environment (never in a file)")
    return token


def compliance_delete_id(obj: dict[str, Any]) -> str | None:
    """The tweet id of a delete event (v2 compliance ``{"data": {"delete": {"tweet": {"id"}}}}`` or
    the v1.1 ``{"delete": {"status": {"id_str"}}}``), else ``None``."""
    data = obj.get("data")
    if isinstance(data, dict) and isinstance(data.get("delete"), dict):
        tweet = data["delete"].get("tweet")
        tid = tweet.get("id") if isinstance(tweet, dict) else None
        if not isinstance(tid, (str, int)) or isinstance(tid, bool) or not str(tid):
            raise ParseError("compliance delete event without data.delete.tweet.id")
        return str(tid)
    legacy = obj.get("delete")
    if isinstance(legacy, dict) and isinstance(legacy.get("status"), dict):
        tid = legacy["status"].get("id_str") or legacy["status"].get("id")
        if not isinstance(tid, (str, int)) or isinstance(tid, bool) or not str(tid):
            raise ParseError("delete event without delete.status.id_str")
        return str(tid)
    return None


def is_compliance(obj: dict[str, Any]) -> bool:
    data = obj.get("data")
    return (isinstance(data, dict) and isinstance(data.get("delete"), dict)) or \
        (isinstance(obj.get("delete"), dict) and "data" not in obj)


def parse_x_message(obj: Any, *, source: str = "x") -> Post | PostDeleted | None:
    """One decoded X v2 message -> a post, a delete, or ``None`` for a stream error notice
    (``{"errors": [...]}`` without data: the caller records it in the source's health).
    Raises :class:`ParseError` (only) for anything else it cannot read."""
    if not isinstance(obj, dict):
        raise ParseError(f"an X message must be a JSON object, got {type(obj).__name__}")
    tid = compliance_delete_id(obj)
    if tid is not None:
        return PostDeleted(post_id=f"x:{tid}"[:200], source=source, reason="deleted (X compliance event)")
    if "data" not in obj and "errors" in obj:
        return None
    try:
        post = parse_x_v2(obj)
    except ParseError:
        raise
    except Exception as exc:  # noqa: BLE001 - parse_x_v2 on odd input: a clear error, never a crash
        raise ParseError(f"X v2 message could not be read: {exc.__class__.__name__}: {exc}"[:500]) from None
    if post is not None and source != post.source:
        post = post.model_copy(update={"source": source})
    return post


def stream_errors(obj: Any) -> str | None:
    """A readable summary of a stream error notice (``operational-disconnect`` ...), or ``None``."""
    if isinstance(obj, dict) and "data" not in obj and isinstance(obj.get("errors"), list):
        parts = []
        for e in obj["errors"][:5]:
            if isinstance(e, dict):
                parts.append(str(e.get("title") or e.get("type") or "error") + (f": {e.get('detail')}" if e.get("detail") else ""))
        return "; ".join(parts) or "error notice"
    return None


# Replay understands archived compliance events (they carry no post: ``None``).
register_format("x_compliance", is_compliance, lambda obj: None, first=True)
