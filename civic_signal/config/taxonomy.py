"""Problem types that hold in any city, and how each city and each labelled source maps onto them.

Data (``config/data/``):

- ``services.json``: Boston's Open311 catalogue (118 services), :func:`services`;
- ``taxonomy/types.json``: the city-neutral problem types (``pothole``, ``street_light_out``, ...),
  :func:`types`; the classifier predicts one of them;
- ``taxonomy/cities/<jurisdiction>.json``: type -> that city's service code (several types may
  share a code), :func:`city_mapping`. Another city is another file with the same shape;
- ``taxonomy/sources/<source>.json``: a labelled data source's own labels -> the types each label
  may mean (a broad label maps to several), the labels that are real reports of unknown type
  (``untyped``) and the labels left out (``unmapped``), each with a reason; :func:`source_mapping`.

What callers may rely on: every type named in a city or source file is in :func:`types` (checked
on load, :class:`~civic_signal.config.errors.ConfigError` otherwise); :data:`GENERAL_TYPE` is in
every city mapping; the loaders are cached and return frozen objects.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from collections.abc import Mapping

from civic_signal.config.errors import ConfigError

DATA = Path(__file__).with_name("data")
TAXONOMY = DATA / "taxonomy"
GENERAL_CODE = "BOS311GEN"
#: The type for a problem that fits no specific type (Boston: ``BOS311GEN``).
GENERAL_TYPE = "other"


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


# -- the city-neutral taxonomy ----------------------------------------------------------------

@dataclass(frozen=True)
class ProblemType:
    """One city-neutral problem type."""
    id: str
    name: str
    group: str
    description: str


@lru_cache(maxsize=1)
def types() -> Mapping[str, ProblemType]:
    """Type id -> :class:`ProblemType`, in the file's order (``taxonomy/types.json``)."""
    raw = json.loads((TAXONOMY / "types.json").read_text())
    out = {t["id"]: ProblemType(t["id"], t["name"], t.get("group", ""), t.get("description", ""))
           for t in raw["types"]}
    if GENERAL_TYPE not in out:
        raise ConfigError(f"taxonomy/types.json has no {GENERAL_TYPE!r} type")
    return MappingProxyType(out)


def type_ids() -> tuple[str, ...]:
    """Every type id, in the file's order."""
    return tuple(types())


def type_name(type_id: str) -> str:
    t = types().get(type_id)
    return t.name if t else type_id


def _check_types(ids, where: str) -> None:
    unknown = sorted(set(ids) - set(types()))
    if unknown:
        raise ConfigError(f"{where} names unknown taxonomy types: {', '.join(unknown)}",
                          hint="add them to config/data/taxonomy/types.json or fix the mapping")


@dataclass(frozen=True)
class CityMapping:
    """Type -> one city's service code (``taxonomy/cities/<jurisdiction>.json``)."""
    jurisdiction: str
    city: str
    general_code: str
    codes: Mapping[str, str]

    def code(self, type_id: str) -> str:
        """The city's code for ``type_id`` (the general code for a type the city does not map)."""
        return self.codes.get(type_id, self.general_code)

    def types_for(self, code: str) -> tuple[str, ...]:
        """The types that map to ``code``, in taxonomy order (empty for an unmapped code)."""
        return tuple(t for t in types() if self.codes.get(t) == code)

    def primary_type(self, code: str) -> str | None:
        """The first type (taxonomy order) that maps to ``code``, or ``None``."""
        got = self.types_for(code)
        return got[0] if got else None


@lru_cache(maxsize=8)
def city_mapping(jurisdiction: str = "boston") -> CityMapping:
    path = TAXONOMY / "cities" / f"{jurisdiction}.json"
    if not path.exists():
        raise ConfigError(f"no taxonomy mapping for jurisdiction {jurisdiction!r} ({path} is missing)")
    raw = json.loads(path.read_text())
    codes = dict(raw["codes"])
    _check_types(codes, path.name)
    if GENERAL_TYPE not in codes:
        raise ConfigError(f"{path.name} does not map the {GENERAL_TYPE!r} type")
    return CityMapping(jurisdiction=raw.get("jurisdiction", jurisdiction), city=raw.get("city", jurisdiction),
                       general_code=raw.get("general_code") or codes[GENERAL_TYPE],
                       codes=MappingProxyType(codes))


@dataclass(frozen=True)
class SourceMapping:
    """A labelled source's own labels -> taxonomy types (``taxonomy/sources/<source>.json``).

    ``labels[label]`` is the tuple of types the label may mean (one for a precise label, several
    for a broad one: a prediction of any of them is right). ``untyped`` labels are real reports of
    an unknown type; ``unmapped`` labels are left out. ``counts[label]`` is the number of rows the
    training-data build found (0 when the file was never built)."""
    source: str
    description: str
    labels: Mapping[str, tuple[str, ...]]
    untyped: frozenset[str]
    unmapped: frozenset[str]
    counts: Mapping[str, int]

    def types_of(self, label: str) -> tuple[str, ...] | None:
        """The label's types; ``()`` for an untyped report; ``None`` for an unmapped or unknown label."""
        if label in self.labels:
            return self.labels[label]
        if label in self.untyped:
            return ()
        return None


def source_names() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in (TAXONOMY / "sources").glob("*.json")))


@lru_cache(maxsize=16)
def source_mapping(source: str) -> SourceMapping:
    path = TAXONOMY / "sources" / f"{source}.json"
    if not path.exists():
        raise ConfigError(f"no label mapping for source {source!r} ({path} is missing)")
    raw = json.loads(path.read_text())
    labels = {k: tuple(v["types"]) for k, v in raw["labels"].items()}
    _check_types({t for ts in labels.values() for t in ts}, path.name)
    counts = {k: int(v.get("n", 0)) for part in ("labels", "untyped", "unmapped")
              for k, v in raw.get(part, {}).items()}
    return SourceMapping(source=raw["source"], description=raw.get("description", ""),
                         labels=MappingProxyType(labels), untyped=frozenset(raw.get("untyped", {})),
                         unmapped=frozenset(raw.get("unmapped", {})), counts=MappingProxyType(counts))
