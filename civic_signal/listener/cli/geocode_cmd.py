"""``civic-signal geocode "TEXT"``: the location the classifier would read from TEXT, as JSON."""

from __future__ import annotations

import json

import typer


def register(app: typer.Typer) -> None:
    @app.command("geocode")
    def geocode(text: str = typer.Argument(..., help="Post text, e.g. \"pothole outside 45 Dot Ave\"."),
                lat: float = typer.Option(None, "--lat", help="Coordinates attached to the post (win over text)."),
                lon: float = typer.Option(None, "--lon"),
                gazetteer: str = typer.Option(None, "--gazetteer", help="Gazetteer file (default: the shipped one).")) -> None:
        """Find and geocode the place a post is about (offline); prints the Location as JSON, or null."""
        from civic_signal.classifiers.location import LocationFinder
        from civic_signal.classifiers.location.gazetteer import Gazetteer
        from civic_signal.core.models import Coordinates
        finder = LocationFinder(Gazetteer.load(gazetteer)) if gazetteer else LocationFinder.default()
        coords = Coordinates(lat=lat, lon=lon) if lat is not None and lon is not None else None
        loc = finder.find(text, coords)
        typer.echo(json.dumps(loc.model_dump(mode="json") if loc else None, ensure_ascii=False))
