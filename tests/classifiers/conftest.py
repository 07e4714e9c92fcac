"""Fixtures for the classifier tests: the shipped model, loaded once per session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def classifier():
    from civic_signal.classifiers.pipeline import SpacyClassifier
    return SpacyClassifier.load()


@pytest.fixture(scope="session")
def nlp(classifier):
    return classifier.nlp
