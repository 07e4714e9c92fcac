"""The ``civic-signal`` command line. Each command group lives in its own module under
``listener/cli/`` and registers itself through ``register(app)``; heavy imports happen inside
the commands so that ``--help`` stays fast."""

from __future__ import annotations

import importlib
import logging
import sys

import typer

from civic_signal.config.errors import CivicSignalError

app = typer.Typer(
    name="civic-signal", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    help="Civic Signal: resident reports on public social media -> Boston 311 tickets.",
)

#: Modules that add commands. Each defines ``register(app: typer.Typer) -> None``.
COMMAND_MODULES = [
    "civic_signal.listener.cli.run_cmd",
    "civic_signal.listener.cli.config_cmd",
    "civic_signal.listener.cli.replay_cmd",
    "civic_signal.listener.cli.report_cmd",
    "civic_signal.listener.cli.export_cmd",
    "civic_signal.listener.cli.console_cmd",
    "civic_signal.listener.cli.geocode_cmd",
    "civic_signal.listener.cli.listen_cmd",
    "civic_signal.listener.cli.review_cmd",
    "civic_signal.listener.cli.tickets_cmd",
    "civic_signal.listener.cli.classify_cmd",
    "civic_signal.listener.cli.purge_cmd",
    "civic_signal.listener.cli.opendata_cmd",
    "civic_signal.listener.cli.jurisdiction_cmd",
    "civic_signal.listener.cli.label_cmd",
    "civic_signal.listener.cli.model_cmd",
]


@app.callback()
def _root(ctx: typer.Context,
          config: str = typer.Option(None, "--config", "-c", envvar="CIVIC_CONFIG",
                                     help="TOML settings file (over config/defaults.toml)."),
          verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging.")) -> None:
    ctx.obj = {"config": config}
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from civic_signal.listener.log_secrets import install
    install()  # libraries log secrets at DEBUG (headers, client configs): mask them


def settings_from(ctx: typer.Context, **overrides):
    """Load settings once per command (``--config`` + environment + ``overrides``)."""
    from civic_signal.config.settings import load_settings
    from civic_signal.listener.log_secrets import protect_settings
    root = ctx.find_root()
    settings = load_settings((root.obj or {}).get("config"), **overrides)
    protect_settings(settings)
    from civic_signal.listener.log_format import apply
    apply(settings.log.format)  # CIVIC_LOG__FORMAT=json: one JSON object per log line
    return settings


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def main() -> None:
    try:
        app()
    except CivicSignalError as exc:
        from civic_signal.listener.log_secrets import scrub
        typer.echo(f"error: {scrub(str(exc))}", err=True)
        sys.exit(2)
