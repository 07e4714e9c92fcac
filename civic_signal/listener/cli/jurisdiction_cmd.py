"""``civic-signal jurisdiction list`` / ``build ID`` / ``route "TEXT"``: the jurisdiction packs (docs/jurisdictions.md).

``list`` shows every pack found (shipped ones and those in ``routing.packs_dir``), whether it is active
(``routing.packs``), whether its city has an Open311 endpoint, and its files with their sizes.
``build ID`` (re)builds a pack's files from the open data its manifest names (``--data`` or
``CIVIC_SHARED_DATA``, default ``../shared/data``); deterministic. ``route`` prints the jurisdiction and
location a post would get, as JSON.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    japp = typer.Typer(help="Jurisdiction packs: each post goes to the 311 of the city it is about.",
                       no_args_is_help=True)
    app.add_typer(japp, name="jurisdiction")

    def _settings(ctx: typer.Context):
        from civic_signal.listener.cli import settings_from
        return settings_from(ctx)

    @japp.command("list")
    def list_packs(ctx: typer.Context,
                   as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
        """Every pack found: id, name, active, Open311 endpoint configured, files and sizes."""
        from civic_signal.config.jurisdictions import available_packs, endpoint, summary
        s = _settings(ctx)
        packs = available_packs(s.resolve_path(s.routing.packs_dir) if s.routing.packs_dir else None)
        rows = []
        for p in packs.values():
            row = summary(p)
            row["active"] = p.id in s.routing.packs
            row["default"] = p.id == s.routing.default
            row["open311"] = bool(endpoint(s, p.id).url)
            rows.append(row)
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
            return
        for r in rows:
            sizes = ", ".join(f"{k} {v['bytes'] // 1024 if v['bytes'] is not None else '-'} KiB"
                              for k, v in r["files"].items())
            typer.echo(f"{r['id']:<12} {r['name']:<20} {'active' if r['active'] else 'inactive':<8} "
                       f"{'default ' if r['default'] else ''}"
                       f"open311 {'configured' if r['open311'] else 'none (tickets stay pending)'}; "
                       f"{r['services']} services; {'shipped' if r['shipped'] else 'own'}; {sizes}")

    @japp.command("build")
    def build(ctx: typer.Context, ident: str = typer.Argument(..., metavar="ID", help="Pack id, e.g. cambridge."),
              data: str = typer.Option(None, "--data", help="Open data root (default $CIVIC_SHARED_DATA or ../shared/data).")) -> None:
        """Build a pack's boundary, gazetteer and service catalogue from open data (deterministic)."""
        from civic_signal.classifiers.location.packbuild import build_pack
        from civic_signal.config.jurisdictions import available_packs
        from civic_signal.config.settings import REPO_ROOT
        s = _settings(ctx)
        packs = available_packs(s.resolve_path(s.routing.packs_dir) if s.routing.packs_dir else None)
        if ident not in packs:
            raise typer.BadParameter(f"no pack {ident!r} (found: {', '.join(sorted(packs))}); "
                                     "create <packs_dir>/<id>/pack.json first (docs/jurisdictions.md)")
        root = Path(data or os.environ.get("CIVIC_SHARED_DATA") or REPO_ROOT.parent / "shared" / "data")
        stats = build_pack(packs[ident], root)
        for k in sorted(stats):
            typer.echo(f"{k}: {stats[k]}")

    @japp.command("route")
    def route(ctx: typer.Context, text: str = typer.Argument(..., help="Post text."),
              lat: float = typer.Option(None, "--lat"), lon: float = typer.Option(None, "--lon")) -> None:
        """The jurisdiction and location a post gets, as JSON."""
        from civic_signal.classifiers.location.router import JurisdictionRouter
        from civic_signal.core.models import Coordinates
        r = JurisdictionRouter.from_settings(_settings(ctx))
        got = r.find(text, Coordinates(lat=lat, lon=lon) if lat is not None and lon is not None else None)
        typer.echo(json.dumps({"jurisdiction": got.jurisdiction, "reason": got.reason,
                               "location": got.location.model_dump(mode="json") if got.location else None}))
