"""Model versions under ``classifier.models_dir`` and which one is active.

Layout (``classifier.models_dir``, under ``var_dir`` when relative: ``var/models/``):
``<models_dir>/<version>/`` holds ``model.npz`` + ``meta.json`` (as the shipped model);
``<models_dir>/ACTIVE`` is a JSON pointer ``{"version", "previous", "promoted_at", "by", "forced",
"history": [...]}``. The shipped model (``classifiers/model/``) is the implicit first version,
:data:`SHIPPED`; without a pointer it is the active one. New versions are named ``v2``, ``v3`` ...

What callers may rely on: the pointer is replaced atomically (written to a temporary file in the
same folder, flushed, then ``os.replace``), so a reader sees the old or the new pointer, never a
half-written one; :func:`marker` is a cheap value that changes whenever the pointer does (its
mtime and size), for running classifiers to poll; :meth:`Registry.promote` refuses a version
whose held-out figures (:data:`GATED`) are lower than the active one's by more than the
tolerance, unless forced (and then the pointer records ``forced`` with the drops);
``civic-signal model promote`` scores both versions afresh on the held-out files, so a figure
recorded by older code (or on older files) is never compared with a new one.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from civic_signal.config.errors import ClassifierError

SHIPPED = "shipped"
#: the shipped model (as :data:`civic_signal.classifiers.components.DEFAULT_MODEL_DIR`, without importing spaCy)
SHIPPED_DIR = Path(__file__).resolve().parent / "model"
POINTER = "ACTIVE"
#: the held-out figures the gate compares: (evaluation set, figure), all "higher is better"
GATED = (("heldout_2018", "macro_f1"), ("heldout_2018", "actionable_accuracy"),
         ("handwritten_eval", "macro_f1"), ("handwritten_eval", "actionable_accuracy"),
         ("written_heldout", "macro_f1"), ("written_heldout", "actionable_accuracy"),
         ("written_heldout", "reports_kept"))
_NAME = re.compile(r"^v(\d+)$")


@dataclass(frozen=True)
class Version:
    name: str
    path: Path
    meta: dict

    @property
    def figures(self) -> dict[str, float]:
        """The gated figures this version carries in its ``meta.json``, ``"set.figure" -> value``."""
        return gated(self.meta.get("heldout") or {})


def gated(heldout: dict) -> dict[str, float]:
    """The gated figures of a ``heldout`` dict (``{set: {figure: value}}``), missing ones left out."""
    out = {}
    for s, f in GATED:
        v = (heldout.get(s) or {}).get(f)
        if isinstance(v, (int, float)):
            out[f"{s}.{f}"] = float(v)
    return out


def item_worth(heldout: dict, figure: str) -> float:
    """What one item moved is worth in ``figure`` (``"set.figure"``) of ``heldout`` (``{set: {...}}``):
    ``1 / actionable_n`` for ``actionable_accuracy`` (every line counts), ``1 / reports_n`` for the
    report figures (macro F1, reports kept); 0 when the counts are not recorded (older figures)."""
    s, _, f = figure.partition(".")
    d = heldout.get(s) or {}
    n = d.get("actionable_n") if f == "actionable_accuracy" else d.get("reports_n")
    return 1.0 / n if isinstance(n, int) and n > 0 else 0.0


@dataclass(frozen=True)
class Drop:
    figure: str
    active: float
    candidate: float

    @property
    def by(self) -> float:
        return self.active - self.candidate

    def __str__(self) -> str:
        return f"{self.figure} {self.candidate:.4f} < {self.active:.4f} (-{self.by:.4f})"


def marker(models_dir: str | Path) -> tuple[int, int] | None:
    """A value that changes when the active pointer changes (None without a pointer)."""
    try:
        st = os.stat(Path(models_dir) / POINTER)
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_size)


class Registry:
    def __init__(self, models_dir: str | Path, shipped: str | Path = SHIPPED_DIR) -> None:
        self.dir = Path(models_dir)
        self.shipped = Path(shipped)

    @classmethod
    def from_settings(cls, settings) -> "Registry":
        """``classifier.models_dir``, under ``var_dir`` when relative."""
        d = Path(settings.classifier.models_dir)
        return cls(d if d.is_absolute() else settings.var_path / d)

    # -- reading -----------------------------------------------------------------------------
    def pointer(self) -> dict:
        try:
            return json.loads((self.dir / POINTER).read_text())
        except FileNotFoundError:
            return {"version": SHIPPED, "history": []}
        except ValueError as exc:
            raise ClassifierError(f"the active-model pointer {self.dir / POINTER} cannot be read: {exc}",
                                  hint="`civic-signal model promote VERSION --force` writes a new one") from None

    def active(self) -> str:
        return str(self.pointer().get("version") or SHIPPED)

    def path(self, name: str) -> Path:
        if name == SHIPPED:
            return self.shipped
        if not _NAME.match(name):
            raise ClassifierError(f"no model version {name!r}", hint="see `civic-signal model list`")
        return self.dir / name

    def get(self, name: str) -> Version:
        p = self.path(name)
        try:
            meta = json.loads((p / "meta.json").read_text())
        except FileNotFoundError:
            raise ClassifierError(f"no model version {name!r} (nothing in {p})",
                                  hint="see `civic-signal model list`") from None
        return Version(name, p, meta)

    def versions(self) -> list[Version]:
        """The shipped model first, then the trained versions in order."""
        names = []
        if self.dir.is_dir():
            names = sorted((int(m.group(1)), d.name) for d in self.dir.iterdir()
                           if d.is_dir() and (m := _NAME.match(d.name)) and (d / "meta.json").exists())
        return [self.get(SHIPPED)] + [self.get(n) for _, n in names]

    def next_name(self) -> str:
        nums = [int(m.group(1)) for d in (self.dir.iterdir() if self.dir.is_dir() else [])
                if (m := _NAME.match(d.name))]
        return f"v{max(nums, default=1) + 1}"

    # -- the gate ----------------------------------------------------------------------------
    def drops(self, candidate: str, tolerance: float, against: str | None = None,
              heldout: dict[str, dict] | None = None) -> list[Drop]:
        """The gated figures of ``candidate`` lower than the active version's by more than the
        figure's tolerance: ``tolerance``, or one item's worth of the set when that is larger (see
        :func:`item_worth`: on the 60 reports of the written held-out set one report moved is 0.017,
        which no tolerance below that can tell from noise); a figure the active version has and the
        candidate lacks counts as a drop. ``heldout`` (version name -> figures, e.g. computed now by
        the caller) overrides the figures stored in ``meta.json``."""
        against = against or self.active()
        heldout = heldout or {}
        base_sets = heldout[against] if against in heldout else (self.get(against).meta.get("heldout") or {})
        base = gated(base_sets)
        cand = gated(heldout[candidate]) if candidate in heldout else self.get(candidate).figures
        out = []
        for k, v in base.items():
            c = cand.get(k, float("-inf"))
            if v - c > max(tolerance, item_worth(base_sets, k)) + 1e-12:
                out.append(Drop(k, v, c))
        return out

    # -- changing the active version -----------------------------------------------------------
    def promote(self, name: str, *, tolerance: float, by: str, force: bool = False,
                figures: Callable[[Path], dict] | None = None) -> dict:
        """Make ``name`` active (see the module docstring); returns the new pointer. With
        ``figures`` (model folder -> held-out figures) both versions are scored now, by the same
        code on the same files, instead of comparing the figures their ``meta.json`` recorded."""
        self.get(name)
        ptr = self.pointer()
        current = str(ptr.get("version") or SHIPPED)
        if name == current:
            raise ClassifierError(f"{name} is already the active version")
        heldout = {v: figures(self.path(v)) for v in (current, name)} if figures else None
        drops = self.drops(name, tolerance, against=current, heldout=heldout)
        if drops and not force:
            raise ClassifierError(
                f"{name} is worse than the active version {current} on the held-out figures "
                f"(tolerance {tolerance}): " + "; ".join(map(str, drops)),
                hint="retrain with more or better labels, or `--force` (recorded in the pointer)")
        return self._write(name, current, ptr, by=by, action="promote", forced=bool(drops) and force,
                           drops=[str(d) for d in drops])

    def rollback(self, *, by: str) -> dict:
        """Make the version active before the current one again."""
        ptr = self.pointer()
        prev = ptr.get("previous")
        if not prev:
            raise ClassifierError("nothing to roll back to: no version was active before this one")
        self.get(prev)
        return self._write(prev, str(ptr.get("version") or SHIPPED), ptr, by=by, action="rollback", forced=False,
                           drops=[])

    def _write(self, name: str, current: str, ptr: dict, *, by: str, action: str, forced: bool,
               drops: list[str]) -> dict:
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        entry = {"action": action, "version": name, "from": current, "at": now, "by": by, "forced": forced}
        if drops:
            entry["drops"] = drops
        history = list(ptr.get("history") or [])
        # a rollback's "previous" is the one before the version it returns to
        if action == "rollback":
            before = [h.get("from") for h in history if h.get("version") == name and h.get("action") == "promote"]
            previous = before[-1] if before else None
        else:
            previous = current
        new = {"version": name, "previous": previous, "promoted_at": now, "by": by, "forced": forced,
               "history": history + [entry]}
        write_atomic(self.dir / POINTER, json.dumps(new, indent=2) + "\n")
        return new


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old or the new content, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
