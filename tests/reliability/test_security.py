"""Security properties of the code and the archive: SQL only through parameters, authors hashed."""

from __future__ import annotations

import ast
from pathlib import Path

import sqlalchemy as sa

from civic_signal.core.models import ClassifiedPost, Classification
from civic_signal.sinks.archive import Archive
from civic_signal.sinks.archive.store import author_handle
from civic_signal.sinks.archive_sink import ArchiveSink
from tests.conftest import REPO, make_post

PACKAGES = ("civic_signal", "bench", "scripts", "tools")
SQL_CALLS = {"text", "execute", "exec_driver_sql", "executemany", "executescript"}
#: Reviewed exceptions: identifiers cannot be bound parameters. ``path: what the line must contain``;
#: a line may also say ``# sql-ok: <why>``.
ALLOWED = {
    "bench/stages.py": ("CREATE DATABASE", "DROP DATABASE"),  # a database name the benchmark generates itself
}


def _call_name(node: ast.Call) -> str | None:
    f = node.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None


def _is_built_string(node: ast.AST) -> bool:
    """An f-string with values, ``"..." % x``, ``"...".format(...)`` or a concatenation with a non-constant."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return isinstance(node.left, (ast.Constant, ast.JoinedStr))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return not (isinstance(node.left, ast.Constant) and isinstance(node.right, ast.Constant))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return True
    return False


def string_built_sql() -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")) if (REPO / package).is_dir() else []:
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and _call_name(node) in SQL_CALLS and node.args:
                    if _is_built_string(node.args[0]):
                        rel = str(path.relative_to(REPO))
                        line = path.read_text(encoding="utf-8").splitlines()[node.lineno - 1]
                        if "# sql-ok:" in line or any(a in line for a in ALLOWED.get(rel, ())):
                            continue
                        found.append(f"{rel}:{node.lineno}")
    return found


def test_sql_is_never_built_from_strings_only_bound_parameters():
    assert string_built_sql() == [], "use bound parameters (sa.text(':name') / Core expressions), not f-strings or %"


def test_the_checker_finds_what_it_looks_for():
    bad = ast.parse('conn.execute(f"select * from posts where id = {x}")\nsa.text("a %s" % x)\n'
                    'c.execute("select " + col)\nsa.text("x {}".format(y))')
    good = ast.parse('conn.execute(sa.text("select * from posts where id = :id"), {"id": x})\nc.execute("PRAGMA x")')
    calls = lambda tree: [n for n in ast.walk(tree) if isinstance(n, ast.Call) and _call_name(n) in SQL_CALLS]  # noqa: E731
    assert all(_is_built_string(c.args[0]) for c in calls(bad))
    assert not any(_is_built_string(c.args[0]) for c in calls(good) if c.args)


def _one(author: str) -> ClassifiedPost:
    p = make_post("pothole", author=author)
    return ClassifiedPost(post=p, classification=Classification(post_id=p.id, actionable=False, actionable_score=0,
                                                                model_version="t"))


def test_author_handles_are_stored_hashed_by_default(tmp_path):
    a = Archive(f"sqlite:///{tmp_path}/h.db")
    ArchiveSink(a).write_batch([_one("resident_jane")])
    with a.engine.connect() as c:
        (stored,) = c.execute(sa.text("select author from posts")).scalars().all()
    assert stored == author_handle("resident_jane", True) and stored.startswith("h:") and "jane" not in stored
    assert b"resident_jane" not in (tmp_path / "h.db").read_bytes().replace(b"\x00", b"")


def test_author_handles_are_plain_only_when_the_setting_allows(tmp_path):
    a = Archive(f"sqlite:///{tmp_path}/p.db", hash_authors=False)
    ArchiveSink(a).write_batch([_one("resident_jane")])
    with a.engine.connect() as c:
        assert c.execute(sa.text("select author from posts")).scalar() == "resident_jane"


def test_archive_from_settings_follows_privacy_hash_authors(monkeypatch):
    from civic_signal.config.settings import load_settings
    assert Archive.from_settings(load_settings()).hash_authors is True
    monkeypatch.setenv("CIVIC_PRIVACY__HASH_AUTHORS", "false")
    assert Archive.from_settings(load_settings()).hash_authors is False


def test_hashed_handles_are_stable_distinct_and_of_fixed_length():
    hs = {author_handle(f"user{i}", True) for i in range(1000)}
    assert len(hs) == 1000 and {len(h) for h in hs} == {18}
    assert author_handle("a", True) == author_handle("a", True)
