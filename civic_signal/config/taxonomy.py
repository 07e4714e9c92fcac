"""Boston's Open311 service catalogue (118 services), as the product needs it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).with_name("data")
GENERAL_CODE = "BOS311GEN"


@dataclass(frozen=True)
class Service:
    code: str
    name: str
    group: str
    keywords: tuple[str, ...]
    description: str
    metadata: bool
    type: str


@lru_cache(maxsize=1)
def services() -> dict[str, Service]:
    """Service code -> :class:`Service`, from ``config/data/services.json``."""
    raw = json.loads((DATA / "services.json").read_text())
    return {
        s["service_code"]: Service(
            code=s["service_code"], name=s["service_name"], group=s.get("group") or "",
            keywords=tuple(k.strip() for k in (s.get("keywords") or "").split(",") if k.strip()),
            description=s.get("description") or "", metadata=bool(s.get("metadata")),
            type=s.get("type") or "realtime",
        )
        for s in raw
    }


def service_name(code: str) -> str:
    svc = services().get(code)
    return svc.name if svc else code
