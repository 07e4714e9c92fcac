"""Wire formats -> :class:`Post`. One function per shape; :func:`parse_any` picks the shape.

Each parser takes a decoded JSON object and returns a Post, or ``None`` for a message that
carries no post on purpose (keep-alive, status, delete handled elsewhere). Anything it cannot
understand raises :class:`ParseError` with a clear reason; callers turn that into a dead letter.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import orjson
from pydantic import ValidationError

from config.errors import ParseError
from listener.models import Coordinates, Post

Parser = Callable[[dict[str, Any]], Post | None]


def parse_time(value: Any, where: str = "created_at") -> datetime:
    """ISO 8601 (with ``Z``) or epoch seconds -> aware datetime (UTC when no zone is given)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), tz=timezone.utc)
    if not isinstance(value, str) or not value:
        raise ParseError(f"{where} is missing or not a string: {value!r}"[:200])
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:  # RFC 2822-ish: "Mon, 03 Mar 2014 12:00:00 +0000"
            from email.utils import parsedate_to_datetime
            dt = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            raise ParseError(f"{where} is not a date: {value!r}"[:200]) from None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def _require_dict(obj: Any, what: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise ParseError(f"{what} must be a JSON object, got {type(obj).__name__}")
    return obj


def parse_x_v2(obj: dict[str, Any]) -> Post | None:
    """An X API v2 filtered-stream (or search) line: ``{"data": {...}, "includes": {...}, "matching_rules": [...]}``."""
    data = _require_dict(obj.get("data"), "data")
    tid = data.get("id")
    text = data.get("text")
    if not isinstance(tid, str) or not tid:
        raise ParseError("data.id is missing")
    if not isinstance(text, str):
        raise ParseError(f"data.text is missing for tweet {tid}")
    includes = obj.get("includes") if isinstance(obj.get("includes"), dict) else {}
    users = {u.get("id"): u for u in includes.get("users", []) if isinstance(u, dict)}
    places = {p.get("id"): p for p in includes.get("places", []) if isinstance(p, dict)}
    media = {m.get("media_key"): m for m in includes.get("media", []) if isinstance(m, dict)}
    author = users.get(data.get("author_id"), {})
    username = author.get("username") or data.get("author_id")
    coords = None
    place_name = None
    geo = data.get("geo") if isinstance(data.get("geo"), dict) else {}
    point = geo.get("coordinates") if isinstance(geo.get("coordinates"), dict) else None
    if point and isinstance(point.get("coordinates"), list) and len(point["coordinates"]) == 2:
        lon, lat = point["coordinates"]
        coords = Coordinates(lat=lat, lon=lon)
    if geo.get("place_id") in places:
        place_name = places[geo["place_id"]].get("full_name")
    refs = [r for r in data.get("referenced_tweets") or [] if isinstance(r, dict)]
    reposted = next((r.get("id") for r in refs if r.get("type") == "retweeted"), None)
    quoted = next((r.get("id") for r in refs if r.get("type") == "quoted"), None)
    replied = any(r.get("type") == "replied_to" for r in refs)
    keys = (data.get("attachments") or {}).get("media_keys") or [] if isinstance(data.get("attachments"), dict) else []
    media_urls = tuple(u for u in ((media.get(k) or {}).get("url") or (media.get(k) or {}).get("preview_image_url")
                                   for k in keys) if u)
    tags = tuple(r.get("tag") or str(r.get("id")) for r in obj.get("matching_rules") or [] if isinstance(r, dict))
    try:
        return Post.build(
            id=f"x:{tid}", source="x", author=username, text=text,
            created_at=parse_time(data.get("created_at"), "data.created_at"),
            language=data.get("lang"), coordinates=coords, place=place_name, media_urls=media_urls,
            is_reply=replied, is_repost=reposted is not None or text.startswith("RT @"),
            reposted_id=f"x:{reposted}" if reposted else None, quoted_id=f"x:{quoted}" if quoted else None,
            url=f"https://x.com/{username or 'i'}/status/{tid}", tags=tags, raw=obj,
        )
    except ValidationError as exc:
        raise ParseError(f"tweet {tid}: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}") from None


def parse_post_json(obj: dict[str, Any]) -> Post | None:
    """Our own archived :class:`Post` JSON (``{"id":..., "source":..., "text":..., "created_at":...}``)."""
    try:
        return Post.build(**obj)
    except (ValidationError, TypeError) as exc:
        raise ParseError(f"not a valid post: {str(exc).splitlines()[0][:200]}") from None


#: (predicate, parser) in order; other modules add theirs with :func:`register_format`.
_FORMATS: list[tuple[str, Callable[[dict[str, Any]], bool], Parser]] = [
    ("x_v2", lambda o: isinstance(o.get("data"), dict), parse_x_v2),
    ("post", lambda o: {"id", "source", "text", "created_at"} <= o.keys(), parse_post_json),
]


def register_format(name: str, detect: Callable[[dict[str, Any]], bool], parser: Parser,
                    *, first: bool = False) -> None:
    """Teach :func:`parse_any` a new shape (used by the DataSift, Jetstream, Mastodon modules)."""
    entry = (name, detect, parser)
    if any(n == name for n, _, _ in _FORMATS):
        return
    _FORMATS.insert(0, entry) if first else _FORMATS.append(entry)


def parse_any(obj: Any) -> Post | None:
    """Detect the shape of one decoded message and parse it."""
    _require_dict(obj, "a stream message")
    for _name, detect, parser in _FORMATS:
        if detect(obj):
            return parser(obj)
    keys = ", ".join(sorted(map(str, obj.keys()))[:8])
    raise ParseError(f"unknown message shape (keys: {keys or 'none'})")


def decode_json(line: bytes | str) -> Any:
    """orjson.loads with a :class:`ParseError` that says what is wrong."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ParseError(f"invalid JSON: {exc}") from None
