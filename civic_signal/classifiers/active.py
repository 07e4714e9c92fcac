"""``ActiveClassifier``: the active model version (:mod:`civic_signal.classifiers.registry`),
switched to a newly promoted (or rolled back) one between batches, without a restart.

Before a batch, at most every ``check_s`` seconds, it compares the pointer's
:func:`~civic_signal.classifiers.registry.marker` (one ``stat``) with the one it loaded; when it
changed, it loads the version the pointer names and classifies this batch and the next with it.
What callers may rely on: a batch is classified by one version, whole (``version`` is the version
of the last batch); a version that fails to load is logged and the old one kept (checked again
at the next change of the pointer); nothing of a batch is lost or repeated by a switch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from civic_signal.classifiers.registry import Registry, marker
from civic_signal.config.errors import CivicSignalError
from civic_signal.core.classifier import Classifier
from civic_signal.core.models import Classification, Post

log = logging.getLogger(__name__)


class ActiveClassifier(Classifier):
    def __init__(self, registry: Registry, load: Callable[[object], Classifier], *, check_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.registry, self._load, self.check_s, self.clock = registry, load, check_s, clock
        self._marker = marker(registry.dir)
        self.active = registry.active()
        self.inner = load(registry.path(self.active))
        self._checked = clock()

    @property
    def version(self) -> str:
        return self.inner.version

    def __getattr__(self, name):  # nlp, docs(), has_location ... of the loaded classifier
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    def maybe_switch(self) -> bool:
        """Load the version the pointer names if the pointer changed; True when it switched."""
        now = self.clock()
        if now - self._checked < self.check_s:
            return False
        self._checked = now
        m = marker(self.registry.dir)
        if m == self._marker:
            return False
        self._marker = m
        try:
            name = self.registry.active()
            if name == self.active:
                return False
            inner = self._load(self.registry.path(name))
        except (CivicSignalError, OSError) as exc:
            log.error("could not switch to the promoted classifier version: %s; keeping %s", exc, self.active)
            return False
        log.warning("classifier: switched from %s (%s) to %s (%s)", self.active, self.inner.version, name,
                    inner.version)
        self.inner, self.active = inner, name
        return True

    def classify(self, posts: Sequence[Post]) -> list[Classification]:
        self.maybe_switch()
        return self.inner.classify(posts)
