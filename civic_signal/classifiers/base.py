"""Loading the classifier the settings ask for; the contract itself is :mod:`civic_signal.core.classifier`."""

from __future__ import annotations

from civic_signal.core.classifier import Classifier

__all__ = ["Classifier", "load_classifier"]


def load_classifier(settings, kind: str | None = None, *, follow: bool = True) -> Classifier:
    """The classifier the settings ask for (``classifier.kind``). For ``spacy``: the model at
    ``classifier.model_path`` when set, else the active version of ``classifier.models_dir``
    (:mod:`civic_signal.classifiers.registry`; the shipped model until one is promoted), which
    with ``follow`` switches to a newly promoted version between batches
    (:class:`civic_signal.classifiers.active.ActiveClassifier`); without, it stays on the version
    active when loaded (replays: one run, one version)."""
    kind = kind or settings.classifier.kind
    if kind == "spacy":
        from civic_signal.classifiers.pipeline import SpacyClassifier  # heavy import only when used
        path = settings.classifier.model_path or None
        if path:
            return SpacyClassifier.load(path, settings=settings)
        from civic_signal.classifiers.registry import Registry
        registry = Registry.from_settings(settings)
        if not follow:
            return SpacyClassifier.load(registry.path(registry.active()), settings=settings)
        from civic_signal.classifiers.active import ActiveClassifier
        return ActiveClassifier(registry, lambda p: SpacyClassifier.load(p, settings=settings),
                                check_s=settings.classifier.reload_check_s)
    from civic_signal.classifiers.keyword import KeywordClassifier
    return KeywordClassifier(actionable_threshold=settings.classifier.actionable_threshold)
