"""Build frozen pydantic models from values our own code has already checked, cheaply.

``Model.model_construct`` walks every field's aliases and defaults (about 10 µs a call); the
classifier builds two or three models per post. :func:`trusted` sets the instance state the way
``model_construct`` does, from a dict that names every field, and nothing else.

What callers may rely on: the result equals (``==``, ``model_dump``) what ``model_construct``
gives for the same values. Only for models without extra fields, private attributes or
``model_post_init`` (checked once per class; any other class falls back to ``model_construct``).
"""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")
_set = object.__setattr__
_OK: dict[type, bool] = {}


def _plain(cls) -> bool:
    ok = _OK.get(cls)
    if ok is None:
        ok = _OK[cls] = (cls.model_config.get("extra") != "allow" and not cls.__pydantic_post_init__
                         and not cls.__private_attributes__ and not cls.__pydantic_root_model__)
    return ok


def trusted(cls: type[T], values: dict[str, Any]) -> T:
    """An instance of ``cls`` holding ``values`` (every field of ``cls``, already valid)."""
    if not _plain(cls) or len(values) != len(cls.__pydantic_fields__):
        return cls.model_construct(**values)
    m = cls.__new__(cls)
    _set(m, "__dict__", values)
    _set(m, "__pydantic_fields_set__", set(values))
    _set(m, "__pydantic_extra__", None)
    _set(m, "__pydantic_private__", None)
    return m
