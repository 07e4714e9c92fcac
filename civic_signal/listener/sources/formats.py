"""Wire formats -> :class:`Post`. One function per shape; :func:`parse_any` picks the shape.

Each parser takes a decoded JSON object and returns a Post, or ``None`` for a message that
carries no post on purpose (keep-alive, status, delete handled elsewhere). Anything it cannot
understand raises :class:`ParseError` with a clear reason; callers turn that into a dead letter.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

import orjson
from pydantic import ValidationError

from civic_signal.config.errors import ParseError
from civic_signal.core.models import Coordinates, Post

Parser = Callable[[dict[str, Any]], Post | None]


def parse_time(value: Any, where: str = "created_at") -> datetime:
    """ISO 8601 (with ``Z``) or epoch seconds -> aware datetime (UTC when no zone is given)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(float(value), tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise ParseError(f"{where} is not a usable epoch time: {value!r}"[:200]) from None
    if not isinstance(value, str) or not value:
        raise ParseError(f"{where} is missing or not a string: {value!r}"[:200])
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:  # RFC 2822-ish: "Mon, 03 Mar 2014 12:00:00 +0000"
            from email.utils import parsedate_to_datetime
            dt = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            raise ParseError(f"{where} is not a date: {value!r}"[:200]) from None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def _require_dict(obj: Any, what: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise ParseError(f"{what} must be a JSON object, got {type(obj).__name__}")
    return obj


def _dicts(value: Any) -> list[dict[str, Any]]:
    """The dict items of ``value`` when it is a list; anything else (a wrong type) counts as empty."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _key(value: Any) -> str | int | None:
    """``value`` when it can be a lookup key (a string or number), else ``None``."""
    return value if isinstance(value, (str, int)) and not isinstance(value, bool) else None


def _coordinates(point: Any) -> tuple[Coordinates | None, tuple[str, ...]]:
    """A GeoJSON point ``[lon, lat]``; a malformed or impossible one is dropped with a warning (the
    post is kept and located from its text; ``raw`` keeps the original)."""
    if point is None:
        return None, ()
    if not isinstance(point, dict) or not isinstance(point.get("coordinates"), list) or len(point["coordinates"]) != 2:
        return None, (f"coordinates dropped: {str(point)[:60]!r} is not a GeoJSON point",)
    lon, lat = point["coordinates"]
    coords, warning = Coordinates.checked(lat, lon)
    return coords, (warning,) if warning else ()


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
    users = {_key(u.get("id")): u for u in _dicts(includes.get("users"))}
    places = {_key(p.get("id")): p for p in _dicts(includes.get("places"))}
    media = {_key(m.get("media_key")): m for m in _dicts(includes.get("media"))}
    author = users.get(_key(data.get("author_id"))) or {}
    username = next((str(u) for u in (author.get("username"), data.get("author_id")) if _key(u) not in (None, "")), None)
    handle = username if username and len(username) <= 50 else "i"  # x.com/i/status/ID works for anyone
    place_name = None
    geo = data.get("geo") if isinstance(data.get("geo"), dict) else {}
    coords, warnings = _coordinates(geo.get("coordinates"))
    if _key(geo.get("place_id")) in places:
        place_name = places[geo["place_id"]].get("full_name")
    refs = _dicts(data.get("referenced_tweets"))
    reposted = next((r.get("id") for r in refs if r.get("type") == "retweeted"), None)
    quoted = next((r.get("id") for r in refs if r.get("type") == "quoted"), None)
    replied = any(r.get("type") == "replied_to" for r in refs)
    keys = data["attachments"].get("media_keys") if isinstance(data.get("attachments"), dict) else []
    keys = [k for k in keys if _key(k) is not None] if isinstance(keys, list) else []
    media_urls = tuple(u for u in ((media.get(k) or {}).get("url") or (media.get(k) or {}).get("preview_image_url")
                                   for k in keys) if u)
    tags = tuple(r.get("tag") or str(r.get("id")) for r in _dicts(obj.get("matching_rules")))
    try:
        return Post.build(
            id=f"x:{tid}", source="x", author=username, text=text,
            created_at=parse_time(data.get("created_at"), "data.created_at"),
            language=data.get("lang"), coordinates=coords, place=place_name, media_urls=media_urls,
            is_reply=replied, is_repost=reposted is not None or text.startswith("RT @"),
            reposted_id=f"x:{reposted}" if reposted else None, quoted_id=f"x:{quoted}" if quoted else None,
            url=f"https://x.com/{quote(handle, safe='')}/status/{quote(tid, safe='')}", tags=tags, raw=obj,
            warnings=warnings,
        )
    except ValidationError as exc:
        raise ParseError(f"tweet {tid}: {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}") from None


def parse_post_json(obj: dict[str, Any]) -> Post | None:
    """Our own archived :class:`Post` JSON (``{"id":..., "source":..., "text":..., "created_at":...}``)."""
    try:
        return Post.build(**obj)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ParseError(f"not a valid post: {'.'.join(map(str, err['loc'])) or '(root)'}: {err['msg']}"[:300]) from None
    except TypeError as exc:
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


#: Modules that teach :func:`parse_any` the network sources' shapes (DataSift, Jetstream,
#: Mastodon, X compliance events); imported on first use, so a replay reads any of them.
FORMAT_MODULES = ("civic_signal.listener.sources.x_common", "civic_signal.listener.sources.datasift", "civic_signal.listener.sources.jetstream",
                  "civic_signal.listener.sources.mastodon")
_format_modules_loaded = False


def load_format_modules() -> None:
    """Import :data:`FORMAT_MODULES` once (each registers its shapes with :func:`register_format`)."""
    global _format_modules_loaded
    if not _format_modules_loaded:
        _format_modules_loaded = True
        import importlib
        for module in FORMAT_MODULES:
            importlib.import_module(module)


def parse_any(obj: Any) -> Post | None:
    """Detect the shape of one decoded message and parse it.

    Raises only :class:`ParseError`: a parser that fails in any other way (a payload with a
    field of an unexpected type, say) is reported as a ParseError naming the format, so that one
    odd message becomes a dead letter instead of ending the source.
    """
    load_format_modules()
    _require_dict(obj, "a stream message")
    for name, detect, parser in _FORMATS:
        try:
            if detect(obj):
                return parser(obj)
        except ParseError:
            raise
        except ValidationError as exc:
            err = exc.errors()[0] if exc.errors() else {"loc": (), "msg": str(exc)}
            raise ParseError(f"{name} message has an invalid field {err['loc']}: {err['msg']}"[:500]) from None
        except Exception as exc:  # noqa: BLE001 - any parser bug on odd input becomes a dead letter
            raise ParseError(f"{name} parser could not read this message: {exc.__class__.__name__}: {exc}"[:500]) from None
    keys = ", ".join(sorted(map(str, obj.keys()))[:8])
    raise ParseError(f"unknown message shape (keys: {keys or 'none'})")


def decode_json(line: bytes | str) -> Any:
    """orjson.loads with a :class:`ParseError` that says what is wrong. A leading UTF-8 BOM is ignored."""
    if isinstance(line, (bytes, bytearray)) and line.startswith(b"\xef\xbb\xbf"):
        line = line[3:]
    elif isinstance(line, str) and line.startswith("\ufeff"):
        line = line[1:]
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise ParseError(f"invalid JSON: {exc}") from None
