"""Jurisdiction packs: a city is data, not code (docs/jurisdictions.md).

A pack is a folder ``<id>/`` holding ``pack.json`` (the manifest), ``boundary.geojson`` (the city limit),
a gazetteer (the location format of :mod:`civic_signal.classifiers.location.gazetteer`), ``services.json``
(its Open311 service catalogue, GeoReport v2 ``services.json`` rows) and the mapping from the city-neutral
taxonomy to its service codes (``taxonomy.json`` in the pack, else ``config/data/taxonomy/cities/<id>.json``).
Shipped packs live in ``config/data/jurisdictions/``; an operator's own in ``routing.packs_dir`` (which wins
for an id found in both). Packs are built by ``civic-signal jurisdiction build ID``.

What callers may rely on: :func:`available_packs` lists every pack found; :func:`active_packs` the ones
``routing.packs`` names, in that order, and raises :class:`ConfigError` naming a missing one;
:func:`endpoint` gives one city's Open311 settings (secrets from the environment only).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from civic_signal.config.errors import ConfigError
from civic_signal.config.taxonomy import GENERAL_TYPE, TAXONOMY, CityMapping, _check_types

SHIPPED_DIR = Path(__file__).with_name("data") / "jurisdictions"
_ID_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")


@dataclass(frozen=True)
class Pack:
    """One jurisdiction pack as read from its manifest (files are read on use)."""
    id: str
    name: str
    dir: Path
    manifest: dict = field(repr=False, compare=False, hash=False)
    shipped: bool = True

    @property
    def city_names(self) -> tuple[str, ...]:
        """Lower-case names of the city itself ("cambridge"): a post naming one is about this city."""
        return tuple(self.manifest.get("city_names") or (self.id,))

    def path(self, key: str) -> Path | None:
        """The file the manifest names under ``key``, relative to the pack (``@repo:`` = the package)."""
        v = self.manifest.get(key)
        if not v:
            return None
        if v.startswith("@package:"):
            return Path(__file__).resolve().parents[1] / v[len("@package:"):]
        return self.dir / v

    @property
    def gazetteer_path(self) -> Path:
        p = self.path("gazetteer")
        if p is None:
            raise ConfigError(f"pack {self.id!r} names no gazetteer in {self.dir / 'pack.json'}")
        return p

    def boundary(self) -> dict:
        """The boundary as GeoJSON geometry (WGS84)."""
        p = self.path("boundary")
        if p is None or not p.exists():
            raise ConfigError(f"pack {self.id!r} has no boundary ({p}): run `civic-signal jurisdiction build {self.id}`")
        g = json.loads(p.read_text(encoding="utf-8"))
        return g["features"][0]["geometry"] if g.get("type") == "FeatureCollection" else g

    def services(self) -> list[dict]:
        """The Open311 service catalogue shipped with the pack (may differ from the live endpoint's)."""
        p = self.path("services")
        return json.loads(p.read_text(encoding="utf-8")) if p is not None and p.exists() else []

    def mapping(self) -> CityMapping:
        """Taxonomy type -> this city's service code."""
        return _mapping(self.dir / "taxonomy.json" if (self.dir / "taxonomy.json").exists()
                        else TAXONOMY / "cities" / f"{self.id}.json", self.id)


@lru_cache(maxsize=16)
def _mapping(path: Path, jid: str) -> CityMapping:
    if not path.exists():
        raise ConfigError(f"no taxonomy mapping for jurisdiction {jid!r} ({path} is missing)")
    raw = json.loads(path.read_text(encoding="utf-8"))
    codes = dict(raw["codes"])
    _check_types(codes, path.name)
    if GENERAL_TYPE not in codes:
        raise ConfigError(f"{path.name} does not map the {GENERAL_TYPE!r} type")
    return CityMapping(jurisdiction=jid, city=raw.get("city", jid),
                       general_code=raw.get("general_code") or codes[GENERAL_TYPE], codes=MappingProxyType(codes))


def read_pack(pack_dir: Path, shipped: bool = False) -> Pack:
    """The pack in ``pack_dir``; :class:`ConfigError` when its manifest is missing or wrong."""
    mf = pack_dir / "pack.json"
    try:
        raw = json.loads(mf.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no pack manifest at {mf}") from None
    except ValueError as exc:
        raise ConfigError(f"pack manifest {mf} is not valid JSON: {exc}") from None
    jid = raw.get("id") or pack_dir.name
    if jid != pack_dir.name or not set(jid) <= _ID_CHARS:
        raise ConfigError(f"pack id {jid!r} in {mf}: must equal its folder name and be lower-case letters, "
                          "digits or '_'")
    return Pack(id=jid, name=raw.get("name", jid), dir=pack_dir, manifest=raw, shipped=shipped)


def _dirs(packs_dir: str | Path | None) -> list[tuple[Path, bool]]:
    out = [(SHIPPED_DIR, True)]
    if packs_dir:
        out.append((Path(packs_dir), False))
    return out


def available_packs(packs_dir: str | Path | None = None) -> dict[str, Pack]:
    """Every pack found, by id (an operator's pack replaces a shipped one of the same id)."""
    found: dict[str, Pack] = {}
    for d, shipped in _dirs(packs_dir):
        if not d.is_dir():
            if not shipped:
                raise ConfigError(f"routing.packs_dir {d} is not a folder")
            continue
        for sub in sorted(d.iterdir()):
            if (sub / "pack.json").exists():
                found[sub.name] = read_pack(sub, shipped)
    return found


def active_packs(settings) -> list[Pack]:
    """The packs ``routing.packs`` names, in its order."""
    r = settings.routing
    have = available_packs(settings.resolve_path(r.packs_dir) if r.packs_dir else None)
    missing = [j for j in r.packs if j not in have]
    if missing:
        raise ConfigError(f"routing.packs names unknown jurisdiction pack(s): {', '.join(missing)}",
                          hint=f"available: {', '.join(sorted(have))}; build one with `civic-signal jurisdiction build ID`")
    return [have[j] for j in r.packs]


def endpoint(settings, jid: str):
    """One city's Open311 settings: ``[open311]`` (retries, timeouts, sync) with the city's own url, api key
    and jurisdiction id. The default jurisdiction (``routing.default``) without its own url uses
    ``[open311]``'s (CIVIC_OPEN311__URL, as before jurisdictions existed); any other city without one has
    ``url = ""`` (its tickets stay pending)."""
    own = settings.jurisdictions.get(jid)
    base = settings.open311
    if own is not None and own.open311.url:
        return base.model_copy(update={"url": own.open311.url, "api_key": own.open311.api_key,
                                       "jurisdiction_id": own.open311.jurisdiction_id})
    if jid == settings.routing.default:
        return base
    return base.model_copy(update={"url": "", "api_key": type(base.api_key)(""), "jurisdiction_id": ""})


def summary(pack: Pack) -> dict[str, Any]:
    """What ``jurisdiction list`` shows for a pack: files and their sizes in bytes."""
    files = {}
    for key in ("boundary", "gazetteer", "services"):
        p = pack.path(key)
        files[key] = {"path": str(p), "bytes": p.stat().st_size if p is not None and p.exists() else None}
    return {"id": pack.id, "name": pack.name, "shipped": pack.shipped, "city_names": list(pack.city_names),
            "services": len(pack.services()), "files": files}
