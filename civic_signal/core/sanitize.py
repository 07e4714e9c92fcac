"""Make strings and JSON values from the outside safe to store, encode and serialize.

What callers may rely on:

- :func:`clean_str` returns a string that encodes to UTF-8 (lone surrogates become U+FFFD,
  surrogate pairs are joined) and holds no NUL (PostgreSQL rejects NUL in text; NUL is
  removed). Every other character, control or right-to-left ones included, is kept.
- :func:`clean_json` returns a value that ``orjson.dumps`` can serialize: strings cleaned,
  keys made strings, unknown objects turned into their ``str``. Values that are already clean
  come back as the same object (no copy).
- :func:`fit` cuts a string to a column's length.
"""

from __future__ import annotations

from typing import Any

import orjson


def clean_str(s: str) -> str:
    """``s`` without lone surrogates (-> U+FFFD) and without NUL characters."""
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        # joins surrogate pairs that arrived as two code points, replaces the lone ones
        s = s.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if "\x00" in s:
        s = s.replace("\x00", "")
    return s


def _clean(v: Any, depth: int) -> Any:
    if isinstance(v, str):
        return clean_str(v)
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, int):
        return v if -(2 ** 63) <= v < 2 ** 64 else str(v)  # orjson serializes 64-bit integers only
    if isinstance(v, float):
        return v if v == v and v not in (float("inf"), float("-inf")) else None
    if depth > 200:
        return None
    if isinstance(v, dict):
        return {clean_str(str(k)): _clean(x, depth + 1) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x, depth + 1) for x in v]
    return clean_str(str(v))


def clean_json(value: Any) -> Any:
    """``value`` if ``orjson`` can serialize it as is, else a cleaned copy that it can."""
    try:
        orjson.dumps(value)
        return value
    except (orjson.JSONEncodeError, TypeError):
        return _clean(value, 0)


def fit(s: str | None, n: int) -> str | None:
    """``s`` cut to at most ``n`` characters (``None`` stays ``None``)."""
    return s if s is None or len(s) <= n else s[:n]
