"""Location: find the place a post is about, geocode it offline, and route it to its city
(one gazetteer per jurisdiction pack, :mod:`civic_signal.classifiers.location.router`).

Public interface (used by ``civic_signal.classifiers.pipeline``):
- :func:`register_location_factory` registers the spaCy factory ``civic_location`` and the
  ``Doc._.location`` / ``Doc._.coordinates`` extensions (idempotent).
- :class:`LocationFinder` (``LocationFinder.default().find(text, coordinates=None)``).
"""

from civic_signal.classifiers.location.component import FACTORY_NAME, LocationComponent, register_location_factory
from civic_signal.classifiers.location.finder import LocationFinder

__all__ = ["FACTORY_NAME", "LocationComponent", "LocationFinder", "register_location_factory"]
