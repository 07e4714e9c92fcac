"""Loading the classifier the settings ask for; the contract itself is :mod:`civic_signal.core.classifier`."""

from __future__ import annotations

from civic_signal.core.classifier import Classifier

__all__ = ["Classifier", "load_classifier"]


def load_classifier(settings, kind: str | None = None) -> Classifier:
    """The classifier the settings ask for (``classifier.kind``)."""
    kind = kind or settings.classifier.kind
    if kind == "spacy":
        from civic_signal.classifiers.pipeline import SpacyClassifier  # heavy import only when used
        path = settings.classifier.model_path or None
        return SpacyClassifier.load(path, settings=settings)
    from civic_signal.classifiers.keyword import KeywordClassifier
    return KeywordClassifier(actionable_threshold=settings.classifier.actionable_threshold)
