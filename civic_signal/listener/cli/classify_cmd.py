"""``civic-signal classify [PATH|-]`` and ``civic-signal eval PATH``.

classify reads JSON lines (``text``; optional ``id``, ``created_at``, ``lat``, ``lon``,
``lang``) and writes one JSON line per input line, in order::

    {"id": ..., "actionable": bool, "jurisdiction": "boston" | "cambridge" | ... | null,
     "category": {"code", "name", "score", "type"} | null,
     "location": {"text", "kind", "address", "neighborhood", "lat", "lon", "score", "radius_m"} | null}

``jurisdiction`` is the pack (city) the post is about (docs/jurisdictions.md); ``category.code`` is that
city's own service code. ``null`` = no configured city: ``reason`` then names the place
("elsewhere: Somerville (no jurisdiction pack)") and such a post is archived, never ticketed.

``id`` echoes the input's ``id``, or the 1-based line number when absent. A line that is not
valid JSON, not an object, or has no string ``text`` gives ``{"id": ..., "error": "..."}`` and
the run goes on. Blank lines are skipped (they produce no output line). Extra keys written
(``type``: the taxonomy type behind ``category.code``; ``language``, ``reason``,
``actionable_score``, ``confidence``) may be ignored by readers.
Malformed ``lat``/``lon`` ("north", NaN, 999, only one of them) do not refuse the line: they are
dropped, the post is located from its text, and ``"warnings": ["coordinates dropped: ..."]`` says so.

eval takes the same lines plus gold ``code`` (null: not a report), ``actionable`` and/or
``lat``/``lon``, and prints the figures of :mod:`civic_signal.classifiers.evaluate` (``--json`` for JSON).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import typer

CHUNK = 2000


def parse_line(line: str, lineno: int):
    """``(id, Post)`` for a good line, ``(id, error message)`` for a bad one."""
    from civic_signal.core.models import Coordinates, Post
    from civic_signal.core.sanitize import clean_str
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        return lineno, f"invalid JSON: {exc}"
    if not isinstance(obj, dict):
        return lineno, "a line must be a JSON object"
    ident = obj.get("id", lineno)
    if not isinstance(ident, (str, int, float)) or isinstance(ident, bool) or ident in (float("inf"), float("-inf")) or ident != ident:
        ident = lineno  # NaN and infinities cannot be written back as JSON
    ident = clean_str(ident) if isinstance(ident, str) else ident  # lone surrogates cannot be printed
    text = obj.get("text")
    if not isinstance(text, str):
        return ident, "missing text" if text is None else "text must be a string"
    try:
        # malformed coordinates ("north", NaN, 999, one of the two) are dropped with a warning
        # and the post is classified and located from its text
        coords, warning = Coordinates.checked(obj.get("lat"), obj.get("lon"))
        created = obj.get("created_at")
        created_at = datetime.now(timezone.utc)
        if isinstance(created, str) and created:
            created_at = datetime.fromisoformat(created.replace("Z", "+00:00"))
            if created_at.tzinfo is None:
                created_at = created_at.replace(tzinfo=timezone.utc)
        lang = obj.get("lang") or obj.get("language")
        post = Post.build(id=str(ident)[:200] or str(lineno), source="classify", text=text, created_at=created_at,
                          coordinates=coords, language=lang if isinstance(lang, str) else None,
                          warnings=(warning,) if warning else ())
    except (ValueError, TypeError) as exc:
        return ident, f"invalid line: {str(exc).splitlines()[0][:200]}"
    return ident, post


def result_json(ident, c, post=None) -> dict:
    """The output object of one classification (the CLI contract); ``warnings`` only when the post has some."""
    cat = c.category.model_dump(mode="json") if c.category else None
    loc = None
    if c.location is not None:
        loc = c.location.model_dump(mode="json")
    return {"id": ident, "actionable": c.actionable, "jurisdiction": c.jurisdiction, "category": cat, "location": loc,
            "type": cat.get("type") if cat else None, "language": c.language, "reason": c.reason,
            "actionable_score": c.actionable_score, "confidence": c.confidence,
            **({"warnings": list(post.warnings)} if post is not None and post.warnings else {})}


def classify_lines(classifier, lines: Iterable[str]) -> Iterator[dict]:
    """One output object per non-blank input line, in order; bad lines become error objects."""
    pending: list[tuple[object, object]] = []

    def flush():
        posts = [p for _, p in pending if not isinstance(p, str)]
        results = iter(classifier.classify(posts)) if posts else iter(())
        for ident, p in pending:
            if isinstance(p, str):
                yield {"id": ident, "error": p}
            else:
                yield result_json(ident, next(results), p)
        pending.clear()

    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        pending.append(parse_line(line, lineno))
        if len(pending) >= CHUNK:
            yield from flush()
    yield from flush()


def _open(path: str):
    """The input opened for binary reading (standard input's bytes for ``-``)."""
    if path in ("-", ""):
        return getattr(sys.stdin, "buffer", sys.stdin)
    p = Path(path)
    if not p.exists():
        from civic_signal.config.errors import InputError
        raise InputError(f"{path} does not exist", hint="give a JSON-lines file, or - for standard input")
    return p.open("rb")


def read_lines(fh) -> Iterator[str]:
    """The JSON lines of a binary input, split on LF only (text mode or ``str.splitlines()`` would
    also split at a CR or, for the latter, at U+2028 and the like inside a post's text)."""
    from civic_signal.listener.sources.lines import file_lines
    for line in file_lines(fh):
        yield line.decode("utf-8", "replace")


def _classifier(ctx: typer.Context, kind: str | None):
    from civic_signal.classifiers.base import load_classifier
    from civic_signal.listener.cli import settings_from
    settings = settings_from(ctx)
    return load_classifier(settings, kind)


def _eval_location(path: str, as_json: bool) -> None:
    """``eval --location``: see :func:`civic_signal.classifiers.location.realtext.score_real`."""
    import os
    from civic_signal.classifiers.location.realtext import real_rows, render, score_real
    from civic_signal.config.errors import InputError
    if path.startswith("open311:"):
        split = path.split(":", 1)[1]
        if split not in ("dev", "test"):
            raise InputError(f"unknown split {split!r}", hint="open311:test (2018-07..12) or open311:dev (2018-01..06)")
        data = os.environ.get("CIVIC_SHARED_DATA") or str(Path(__file__).resolve().parents[4] / "shared" / "data")
        if not (Path(data) / "boston_open311_2008_2018.jsonl.gz").exists():
            raise InputError(f"no Open311 dump under {data}", hint="set CIVIC_SHARED_DATA to the shared data folder")
        start, end = ("2018-01-01", "2018-07-01") if split == "dev" else ("2018-07-01", "2019-01-01")
        rows = list(real_rows(data, start, end))
    else:
        fh = _open(path)
        try:
            rows = []
            for ln in fh:
                try:
                    obj = json.loads(ln)
                except ValueError:
                    continue
                if isinstance(obj, dict) and isinstance(obj.get("text"), str) and \
                        isinstance(obj.get("lat"), (int, float)) and isinstance(obj.get("lon"), (int, float)):
                    rows.append(obj)
        finally:
            if fh is not sys.stdin:
                fh.close()
    rep = score_real(rows)
    typer.echo(json.dumps(rep, indent=2) if as_json else render(rep))


def register(app: typer.Typer) -> None:
    @app.command("classify")
    def classify(ctx: typer.Context,
                 path: str = typer.Argument("-", help="JSON-lines file, or - for standard input."),
                 kind: str = typer.Option(None, "--kind", help="spacy | keyword (default: classifier.kind)."),
                 ) -> None:
        """Classify JSON lines ({"text", "id"?, "lat"?, "lon"?}); one JSON line out per line in."""
        clf = _classifier(ctx, kind)
        fh = _open(path)
        out = sys.stdout
        try:
            for obj in classify_lines(clf, read_lines(fh)):
                out.write(json.dumps(obj, ensure_ascii=False) + "\n")
            out.flush()
        finally:
            if fh is not sys.stdin and fh is not getattr(sys.stdin, "buffer", None):
                fh.close()

    @app.command("eval")
    def evaluate(ctx: typer.Context,
                 path: str = typer.Argument(None, help="Gold JSON lines: text plus code and/or lat/lon."),
                 kind: str = typer.Option(None, "--kind", help="spacy | keyword (default: classifier.kind)."),
                 as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
                 location: bool = typer.Option(False, "--location",
                                               help="Location mode: score only where posts are placed. PATH holds "
                                                    "text/lat/lon(/kind) lines, or is open311:test / open311:dev "
                                                    "(real 2018 descriptions from $CIVIC_SHARED_DATA)."),
                 cross_source: bool = typer.Option(
                     False, "--cross-source", help="Leave-one-source-out over the labelled real reports "
                     "(trains one model per fold from civic_signal/classifiers/data; minutes)."),
                 only: str = typer.Option(None, "--only", help="With --cross-source: the folds whose name "
                                          "holds this text (e.g. dc_seeclickfix)."),
                 ) -> None:
        """Per-category precision/recall/F1, macro F1, actionable accuracy, location hit rate (300 m).

        With ``--location``: precision, recall and F1 of the points given within 300 m, by kind; with
        ``--cross-source``, the cross-city evaluation of docs/classifier.md."""
        if location:
            if not path:
                raise typer.BadParameter("give a PATH (a file, open311:test or open311:dev) with --location")
            _eval_location(path, as_json)
            return
        if cross_source:
            from civic_signal.classifiers.training import crosseval
            rep = crosseval.run(only=only, progress=None if as_json else
                                (lambda f: typer.echo(f"{f['fold']}: macro {f['macro_accuracy']}", err=True)))
            typer.echo(json.dumps(rep, indent=2) if as_json else crosseval.render(rep))
            return
        if not path:
            raise typer.BadParameter("give a gold file PATH, or --cross-source")
        from civic_signal.classifiers.evaluate import render, score
        clf = _classifier(ctx, kind)
        fh = _open(path)
        try:
            lines = [ln for ln in read_lines(fh) if ln.strip()]
        finally:
            if fh is not sys.stdin and fh is not getattr(sys.stdin, "buffer", None):
                fh.close()
        gold = []
        for ln in lines:
            try:
                obj = json.loads(ln)
            except ValueError:
                obj = {}
            gold.append(obj if isinstance(obj, dict) else {})
        # gold coordinates are the truth to compare with, not coordinates attached to the post
        stripped = [json.dumps({k: v for k, v in g.items() if k not in ("lat", "lon")}) if g else ln
                    for g, ln in zip(gold, lines)]
        predicted = list(classify_lines(clf, stripped))
        rep = score(gold, predicted)
        typer.echo(json.dumps(rep.as_dict(), indent=2) if as_json else render(rep))
