"""The wire format of every message on Kafka: a small, versioned JSON envelope.

Version 1, one item: ``{"v": 1, "type": "post", "data": {...}}`` where ``type`` is one of
``post``, ``classified``, ``dead_letter``, ``ticket`` and ``data`` is the model's JSON form.
Version 2, a batch of items of one type: ``{"v": 2, "type": "post", "items": [{"key": "x:1",
"data": {...}}, ...]}``; ``key`` is what the item would have been keyed by on its own (the post
id). Batches exist for speed: kafka-python costs 150-250 µs of CPU per message on each side,
which was most of the Kafka path's time (docs/benchmarks.md). Encoding is pydantic's own JSON;
decoding validates against the frozen core types, so nothing unchecked travels inward.

Callers may rely on:

- :func:`encode` accepts exactly :data:`TYPES`' models and returns bytes (version 1);
  ``decode(encode(x)) == x``. :func:`encode_batch` writes version 2.
- :func:`decode` raises :class:`civic_signal.config.errors.ParseError` (never anything else) for bytes that
  are not JSON, not an envelope, of an unknown version or type, of another type than
  ``expect``, or whose data does not validate. The stage turns that into a dead letter.
- :func:`decode_items` reads both versions and judges each item of a batch on its own: a
  message-level fault raises :class:`ParseError`; a bad item comes back as its ParseError in
  place of its value, so one bad item costs only itself.
- A reader of version ``v`` reads every version up to ``v``; a new field in ``data`` gets a new
  version only when older readers would misread it (models forbid unknown fields).
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

from civic_signal.config.errors import ParseError
from civic_signal.core.models import ClassifiedPost, DeadLetter, Post, Ticket

VERSION = 2
#: The version :func:`encode` writes (one item); :func:`encode_batch` writes :data:`VERSION`.
SINGLE_VERSION = 1

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
    """``value`` in a version-1 envelope, as UTF-8 JSON bytes."""
    name = type_name(type(value))
    return b'{"v":%d,"type":"%s","data":%s}' % (SINGLE_VERSION, name.encode(), value.model_dump_json().encode())


def encode_batch(items: list[tuple[str | None, BaseModel]]) -> bytes:
    """``(key, value)`` pairs of one type in a version-2 envelope."""
    if not items:
        raise ValueError("a batch envelope needs at least one item")
    model = type(items[0][1])
    name = type_name(model)
    parts = []
    for key, value in items:
        if type(value) is not model:
            raise TypeError(f"a batch envelope holds one type; got {model.__name__} and {type(value).__name__}")
        parts.append(b'{"key":%s,"data":%s}' % (orjson.dumps(key), value.model_dump_json().encode()))
    return b'{"v":%d,"type":"%s","items":[%s]}' % (VERSION, name.encode(), b",".join(parts))


def decode(raw: bytes | str | None, expect: type[BaseModel] | None = None, *, where: str | None = None) -> Any:
    """The model inside an envelope; ``expect`` makes any other type an error.

    ``where`` (e.g. ``"civic.posts.raw/3@1200"``) goes into the error message.
    """
    obj, model, name = _open(raw, expect, where)
    if obj["v"] != 1:
        raise ParseError(f"a batch envelope (version {obj['v']}) where one item was expected", where=where, raw=raw,
                         hint="read it with decode_items")
    return _item(model, name, obj.get("data"), where, raw)


def decode_items(raw: bytes | str | None, expect: type[BaseModel] | None = None, *,
                 where: str | None = None) -> list[tuple[str | None, Any]]:
    """``(key, value)`` for every item of a version-1 or version-2 envelope; ``key`` is ``None``
    for version 1 (the record's own key applies). A bad item's value is its :class:`ParseError`
    (``where`` gets ``#index``); a bad message raises :class:`ParseError`."""
    obj, model, name = _open(raw, expect, where)
    if obj["v"] == 1:
        return [(None, _item(model, name, obj.get("data"), where, raw))]
    out: list[tuple[str | None, Any]] = []
    for n, it in enumerate(obj["items"]):
        at = f"{where}#{n}" if where else f"#{n}"
        if not isinstance(it, dict) or not isinstance(it.get("key"), (str, type(None))):
            out.append((None, ParseError("batch item must be an object with 'key' (string or null) and 'data'",
                                         where=at, raw=orjson.dumps(it))))
            continue
        try:
            out.append((it["key"], _item(model, name, it.get("data"), at, None)))
        except ParseError as exc:
            exc.raw = orjson.dumps(it)  # the dead letter keeps this item, not the whole batch
            out.append((it["key"], exc))
    return out


def _open(raw: bytes | str | None, expect: type[BaseModel] | None, where: str | None) -> tuple[dict, type[BaseModel], str]:
    """The envelope object, its model and type name, checked down to (not into) its data."""
    if raw is None:
        raise ParseError("empty message (no value)", where=where, raw=raw)
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ParseError(f"not JSON: {exc}", where=where, raw=raw,
                         hint="only civic-signal envelopes belong on these topics") from None
    if not isinstance(obj, dict) or "v" not in obj or "type" not in obj or not ("data" in obj or "items" in obj):
        raise ParseError("not an envelope: expected an object with 'v', 'type' and 'data' (or 'items')",
                         where=where, raw=raw)
    version, name = obj["v"], obj["type"]
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= VERSION:
        raise ParseError(f"envelope version {version!r} is not supported (this reader knows 1..{VERSION})",
                         where=where, raw=raw, hint="upgrade this worker")
    if version == 1 and "data" not in obj:
        raise ParseError("not an envelope: version 1 needs 'data'", where=where, raw=raw)
    if version == 2 and not isinstance(obj.get("items"), list):
        raise ParseError("not an envelope: version 2 needs an 'items' list", where=where, raw=raw)
    model = TYPES.get(name) if isinstance(name, str) else None
    if model is None:
        raise ParseError(f"unknown envelope type {name!r}; known: {', '.join(TYPES)}", where=where, raw=raw)
    if expect is not None and model is not expect:
        raise ParseError(f"expected a {type_name(expect)!r} envelope on this topic, got {name!r}", where=where, raw=raw)
    return obj, model, name


def _item(model: type[BaseModel], name: str, data: Any, where: str | None, raw: Any) -> Any:
    if not isinstance(data, dict):
        raise ParseError(f"envelope data must be an object, got {type(data).__name__}", where=where, raw=raw)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "(root)"
        raise ParseError(f"invalid {name}: {loc}: {first['msg']} ({exc.error_count()} error(s))",
                         where=where, raw=raw) from None
