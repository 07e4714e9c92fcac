"""``civic-signal model list|train|promote VERSION|rollback``: versioned classifier models
under ``classifier.models_dir`` (docs/learning.md)."""

from __future__ import annotations

from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    model_app = typer.Typer(help="Classifier model versions: list, train from labels, promote, roll back.",
                            no_args_is_help=True)
    app.add_typer(model_app, name="model")

    def _registry(ctx):
        from civic_signal.classifiers.registry import Registry
        from civic_signal.listener.cli import settings_from
        settings = settings_from(ctx)
        return settings, Registry.from_settings(settings)

    @model_app.command("list")
    def list_(ctx: typer.Context) -> None:
        """The versions, their held-out figures, and which one is active."""
        _, reg = _registry(ctx)
        active = reg.active()
        for v in reg.versions():
            mark = "*" if v.name == active else " "
            figs = v.figures
            short = "  ".join(f"{k}={figs[k]:.4f}" for k in ("heldout_2018.macro_f1", "handwritten_eval.macro_f1",
                                                              "written_heldout.actionable_accuracy") if k in figs)
            extra = ""
            if v.meta.get("archive_labels"):
                extra = f"  labels={sum(v.meta['archive_labels'].values())}"
            typer.echo(f"{mark} {v.name:8} {v.meta.get('version', '?'):24} data={v.meta.get('training_data_sha256') or v.meta.get('data_sha256', '?')}"
                       f"  {short}{extra}")
        typer.echo(f"active: {active} (models_dir {reg.dir})")

    @model_app.command("train")
    def train(ctx: typer.Context,
              no_eval: bool = typer.Option(False, "--no-eval", help="Skip the held-out figures (the gate then refuses it).")) -> None:
        """Train a new version from the shipped data plus the archive's labels (a few minutes on 2 cores)."""
        from civic_signal.listener.model_training import train_version
        from civic_signal.sinks.archive import Archive
        settings, _ = _registry(ctx)
        name, meta = train_version(settings, Archive.from_settings(settings), evaluate=not no_eval,
                                   log=lambda m: typer.echo(m, err=True))
        typer.echo(f"trained {name} ({meta['version']}) in {meta['train_seconds']} s, data {meta['training_data_sha256']}")
        for s, f in (meta.get("heldout") or {}).items():
            typer.echo(f"  {s}: " + ", ".join(f"{k} {v}" for k, v in f.items() if v is not None))
        typer.echo(f"promote with: civic-signal model promote {name}")

    @model_app.command("promote")
    def promote(ctx: typer.Context, version: str = typer.Argument(..., help="A version from `model list`."),
                force: bool = typer.Option(False, "--force", help="Promote even if held-out figures drop (recorded)."),
                by: Optional[str] = typer.Option(None, "--by", help="Who promotes (default: $USER).")) -> None:
        """Make VERSION the active one, unless its held-out figures are worse beyond classifier.promote_tolerance."""
        from civic_signal.listener.cli.label_cmd import who
        from civic_signal.listener.model_training import heldout_figures
        settings, reg = _registry(ctx)
        # both versions scored now, the same way, on the same held-out files (a few seconds each)
        ptr = reg.promote(version, tolerance=settings.classifier.promote_tolerance, by=who(by), force=force,
                          figures=heldout_figures)
        last = ptr["history"][-1]
        typer.echo(f"active: {version} (was {last['from']})" + (
            f"; FORCED despite: {'; '.join(last.get('drops', []))}" if ptr["forced"] else ""))

    @model_app.command("rollback")
    def rollback(ctx: typer.Context,
                 by: Optional[str] = typer.Option(None, "--by", help="Who rolls back (default: $USER).")) -> None:
        """Make the previously active version active again."""
        from civic_signal.listener.cli.label_cmd import who
        _, reg = _registry(ctx)
        ptr = reg.rollback(by=who(by))
        typer.echo(f"active: {ptr['version']} (rolled back from {ptr['history'][-1]['from']})")
