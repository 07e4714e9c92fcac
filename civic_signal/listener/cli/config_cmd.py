"""``civic-signal config show``: the effective settings, secrets masked."""

from __future__ import annotations

import json

import typer


def register(app: typer.Typer) -> None:
    config_app = typer.Typer(help="Show the effective settings (secrets masked).", no_args_is_help=True)
    app.add_typer(config_app, name="config")

    @config_app.command("show")
    def show(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON instead of TOML-like text.")) -> None:
        """Print the effective settings with secrets masked."""
        from civic_signal.listener.cli import settings_from
        from civic_signal.config.settings import masked_dump
        data = masked_dump(settings_from(ctx))
        if as_json:
            typer.echo(json.dumps(data, indent=2, default=str))
            return
        for key, value in data.items():
            if not isinstance(value, dict):
                typer.echo(f"{key} = {json.dumps(value, default=str)}")
        for key, value in data.items():
            if isinstance(value, dict):
                typer.echo(f"\n[{key}]")
                for k, v in value.items():
                    typer.echo(f"{k} = {json.dumps(v, default=str)}")
