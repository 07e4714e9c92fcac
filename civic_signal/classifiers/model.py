"""The linear model: hashed features -> actionable logit and category logits.

Stored as ``model.npz`` (``keys``: sorted feature hashes, ``weights``: float16 rows, one per key,
column 0 the actionable head, columns 1.. the labels; ``bias``) plus ``meta.json`` (version,
``codes`` = the labels: taxonomy type ids when ``labels == "types"``, training data digest,
``temperature`` dividing the label logits (calibration), held-out figures).

Scoring is batched: the rows of every post in a batch are gathered with one fancy index and
summed with ``np.add.reduceat``. What callers may rely on: :meth:`LinearModel.predict` returns,
for each input, ``(actionable_probability, category_probabilities)`` with probabilities
summing to one over :attr:`LinearModel.codes` (calibrated by the stored temperature).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from civic_signal.config.errors import ClassifierError

MODEL_FILE = "model.npz"
META_FILE = "meta.json"


@dataclass
class LinearModel:
    keys: np.ndarray                 # int64, sorted feature hashes
    weights: np.ndarray              # float32 (len(keys), 1 + n_codes)
    bias: np.ndarray                 # float32 (1 + n_codes,)
    codes: tuple[str, ...]
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.keys = np.asarray(self.keys, np.int64)
        if len(self.keys) > 1 and not bool(np.all(self.keys[1:] > self.keys[:-1])):
            raise ClassifierError("the classifier model's feature keys are not sorted and unique",
                                  hint="run `make train` to rebuild it")
        self._row = {int(k): i for i, k in enumerate(self.keys.tolist())}
        # an all-zero row at the end: unknown features point there
        self._w = np.vstack([self.weights.astype(np.float32), np.zeros((1, self.weights.shape[1]), np.float32)])
        self._unknown = len(self.keys)
        # the category logits are divided by the calibration temperature (meta "temperature")
        self._inv_t = 1.0 / float(self.meta.get("temperature") or 1.0)

    @property
    def unknown(self) -> int:
        """The row every unknown feature maps to (all zeros)."""
        return self._unknown

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "unknown"))

    def rows(self, ids: list[int]) -> list[int]:
        get, unknown = self._row.get, self._unknown
        return [get(i, unknown) for i in ids]

    def rows_array(self, ids: np.ndarray) -> np.ndarray:
        """:meth:`rows` for a whole batch of ids at once (one binary search per id, in numpy)."""
        keys = self.keys
        if len(keys) == 0:
            return np.full(len(ids), self._unknown, np.int64)
        pos = np.searchsorted(keys, ids)
        np.minimum(pos, len(keys) - 1, out=pos)
        return np.where(keys[pos] == ids, pos, self._unknown)

    def logits_flat(self, rows: np.ndarray, starts: np.ndarray) -> np.ndarray:
        """:meth:`logits` for rows already flattened: post ``i`` owns ``rows[starts[i]:starts[i+1]]``
        (every post at least one row)."""
        if len(starts) == 0:
            return np.zeros((0, self._w.shape[1]), np.float32)
        return np.add.reduceat(self._w[rows], starts, axis=0) + self.bias

    def predict_flat(self, rows: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`predict` for rows already flattened (see :meth:`logits_flat`)."""
        return self._probabilities(self.logits_flat(rows, starts), self._inv_t)

    def logits(self, batch_rows: list[list[int]]) -> np.ndarray:
        """Summed weights plus bias, one row per post (``(n, 1 + n_codes)``)."""
        n = len(batch_rows)
        if n == 0:
            return np.zeros((0, self._w.shape[1]), np.float32)
        flat: list[int] = []
        starts = np.empty(n, np.int64)
        for i, r in enumerate(batch_rows):
            starts[i] = len(flat)
            flat.extend(r if r else [self._unknown])
        summed = np.add.reduceat(self._w[np.asarray(flat, np.int64)], starts, axis=0)
        return summed + self.bias

    def predict(self, batch_rows: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        return self._probabilities(self.logits(batch_rows), self._inv_t)

    def probabilities(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(actionable probabilities, category probabilities)`` of logits as :meth:`logits` gives
        them (the category part calibrated by the stored temperature)."""
        return self._probabilities(z, self._inv_t)

    @staticmethod
    def _probabilities(z: np.ndarray, inv_t: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        act = 1.0 / (1.0 + np.exp(-np.clip(z[:, 0], -30, 30)))
        c = z[:, 1:] * inv_t if inv_t != 1.0 else z[:, 1:]
        c = np.exp(c - c.max(axis=1, keepdims=True))
        return act, c / c.sum(axis=1, keepdims=True)

    # -- persistence -------------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / MODEL_FILE).open("wb") as fh:
            np.savez_compressed(fh, keys=self.keys.astype(np.int64), weights=self.weights.astype(np.float16),
                                bias=self.bias.astype(np.float32))
        meta = {**self.meta, "codes": list(self.codes)}
        (folder / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, folder: Path) -> "LinearModel":
        folder = Path(folder)
        try:
            meta = json.loads((folder / META_FILE).read_text())
            with np.load(folder / MODEL_FILE) as z:
                keys, weights, bias = z["keys"], z["weights"].astype(np.float32), z["bias"]
        except FileNotFoundError as exc:
            raise ClassifierError(f"no trained classifier model in {folder} ({exc.filename} is missing)",
                                  hint="run `make train`, or set classifier.kind = \"keyword\"") from None
        except (ValueError, KeyError, OSError) as exc:
            raise ClassifierError(f"the classifier model in {folder} cannot be read: {exc}",
                                  hint="run `make train` to rebuild it") from None
        codes = tuple(meta.get("codes") or ())
        if weights.shape[1] != len(codes) + 1 or len(keys) != len(weights):
            raise ClassifierError(f"the classifier model in {folder} is inconsistent "
                                  f"({weights.shape} weights for {len(codes)} codes)", hint="run `make train`")
        return cls(keys=keys, weights=weights, bias=bias, codes=codes, meta=meta)
