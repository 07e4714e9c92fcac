"""The wire format of every message on Kafka: a small, versioned JSON envelope.

``{"v": 1, "type": "post", "data": {...}}`` where ``type`` is one of ``post``,
``classified``, ``dead_letter``, ``ticket`` and ``data`` is the model's JSON form. Encoding is
orjson; decoding validates against the frozen core types, so nothing unchecked travels inward.

Callers may rely on:

- :func:`encode` accepts exactly :data:`TYPES`' models and returns bytes;
  ``decode(encode(x)) == x``.
- :func:`decode` raises :class:`config.errors.ParseError` (never anything else) for bytes that
  are not JSON, not an envelope, of an unknown version or type, of another type than
  ``expect``, or whose data does not validate. The stage turns that into a dead letter.
- A reader of version ``v`` reads every version up to ``v``; a new field in ``data`` gets a new
  version only when older readers would misread it (models forbid unknown fields).
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

from config.errors import ParseError
from listener.models import ClassifiedPost, DeadLetter, Post, Ticket

VERSION = 1

#: Envelope ``type`` -> model.
TYPES: dict[str, type[BaseModel]] = {
    "post": Post,
    "classified": ClassifiedPost,
    "dead_letter": DeadLetter,
    "ticket": Ticket,
}
_NAMES: dict[type[BaseModel], str] = {model: name for name, model in TYPES.items()}


def type_name(model: type[BaseModel]) -> str:
    """The envelope ``type`` of a model class (``Post`` -> ``"post"``)."""
    try:
        return _NAMES[model]
    except KeyError:
        raise TypeError(f"{model.__name__} cannot travel on the bus; use one of {sorted(TYPES)}") from None


def encode(value: BaseModel) -> bytes:
    """``value`` in an envelope, as UTF-8 JSON bytes."""
    name = type_name(type(value))
    return orjson.dumps({"v": VERSION, "type": name, "data": value.model_dump(mode="json")})


def decode(raw: bytes | str | None, expect: type[BaseModel] | None = None, *, where: str | None = None) -> Any:
    """The model inside an envelope; ``expect`` makes any other type an error.

    ``where`` (e.g. ``"civic.posts.raw/3@1200"``) goes into the error message.
    """
    if raw is None:
        raise ParseError("empty message (no value)", where=where, raw=raw)
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ParseError(f"not JSON: {exc}", where=where, raw=raw,
                         hint="only civic-signal envelopes belong on these topics") from None
    if not isinstance(obj, dict) or "v" not in obj or "type" not in obj or "data" not in obj:
        raise ParseError("not an envelope: expected an object with 'v', 'type' and 'data'", where=where, raw=raw)
    version, name, data = obj["v"], obj["type"], obj["data"]
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= VERSION:
        raise ParseError(f"envelope version {version!r} is not supported (this reader knows 1..{VERSION})",
                         where=where, raw=raw, hint="upgrade this worker")
    model = TYPES.get(name) if isinstance(name, str) else None
    if model is None:
        raise ParseError(f"unknown envelope type {name!r}; known: {', '.join(TYPES)}", where=where, raw=raw)
    if expect is not None and model is not expect:
        raise ParseError(f"expected a {type_name(expect)!r} envelope on this topic, got {name!r}", where=where, raw=raw)
    if not isinstance(data, dict):
        raise ParseError(f"envelope data must be an object, got {type(data).__name__}", where=where, raw=raw)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "(root)"
        raise ParseError(f"invalid {name}: {loc}: {first['msg']} ({exc.error_count()} error(s))",
                         where=where, raw=raw) from None
