"""The endpoint's services, cached: the list, and definitions where ``metadata`` is true.

:meth:`ServiceCatalog.refresh` reloads the list (the scheduler runs it every
``open311.services_refresh_minutes``, and a code missing from it triggers one reload);
definitions are fetched on first use and dropped on refresh.
:func:`fill_attributes` chooses values for a definition's required attributes from the
ticket's own text.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from datetime import datetime

from civic_signal.config.errors import PermanentSinkError, SinkError
from civic_signal.sinks.open311.client import Open311Client
from civic_signal.sinks.open311.models import Service, ServiceAttribute, ServiceDefinition

log = logging.getLogger("civic_signal.open311")
_WORD = re.compile(r"[a-z0-9]+")
_FALLBACK = ("other", "unknown", "not sure", "unsure", "n/a", "none")


class ServiceCatalog:
    """Thread-safe cache over :class:`Open311Client`'s ``services()`` and ``definition()``."""

    def __init__(self, client: Open311Client, *, max_age_s: float = 86400.0, miss_refresh_s: float = 60.0) -> None:
        self.client = client
        self.max_age_s = max_age_s
        self.miss_refresh_s = miss_refresh_s
        self._lock = threading.Lock()
        self._services: dict[str, Service] | None = None
        self._loaded_at = 0.0
        self._definitions: dict[str, ServiceDefinition | None] = {}

    def refresh(self) -> int:
        """Reload the service list now; returns how many services the endpoint offers.
        Raises :class:`RetryableSinkError`/:class:`PermanentSinkError` from the client."""
        services = {s.code: s for s in self.client.services()}
        with self._lock:
            self._services, self._loaded_at = services, time.monotonic()
            self._definitions.clear()
        log.info("open311: %d services loaded", len(services))
        return len(services)

    def services(self) -> dict[str, Service]:
        with self._lock:
            fresh = self._services is not None and time.monotonic() - self._loaded_at < self.max_age_s
            if fresh:
                return dict(self._services or {})
        self.refresh()
        with self._lock:
            return dict(self._services or {})

    def lists(self, code: str) -> bool:
        """Whether the list as last loaded has ``code`` (no request)."""
        with self._lock:
            return code in (self._services or {})

    def find(self, code: str) -> Service | None:
        """The service ``code``, or None when the endpoint's list does not have it.

        A miss reloads the list once (unless it was loaded in the last ``miss_refresh_s``
        seconds), since a list read earlier may be stale or partial. A failed reload is logged and
        the old list kept: a missing code never fails a ticket by itself; the caller POSTs anyway
        and the server's answer decides."""
        svc = self.services().get(code)
        if svc is not None:
            return svc
        with self._lock:
            recent = time.monotonic() - self._loaded_at < self.miss_refresh_s
        if not recent:
            try:
                self.refresh()
            except SinkError as exc:
                log.warning("open311: service %s is not in the list; reloading the list failed: %s", code, exc)
                return None
            svc = self.services().get(code)
        if svc is None:
            log.warning("open311: service %s is not in the endpoint's services.json (%d services); "
                        "sending anyway, the endpoint decides", code, len(self._services or {}))
        return svc

    def service(self, code: str) -> Service:
        """The service ``code``; :class:`PermanentSinkError` when the endpoint does not list it
        (even after the reload :meth:`find` makes)."""
        svc = self.find(code)
        if svc is None:
            raise PermanentSinkError(f"the Open311 endpoint does not offer service code {code!r}",
                                     hint="map the category to a service the endpoint lists in services.json")
        return svc

    def definition(self, code: str) -> ServiceDefinition | None:
        """The definition where the service has ``metadata=true``, else None (cached). For a
        code the list lacks, ``services/{code}.json`` is asked anyway (a 4xx: None)."""
        svc = self.find(code)
        if svc is not None and not svc.metadata:
            return None
        with self._lock:
            if code in self._definitions:
                return self._definitions[code]
        try:
            d: ServiceDefinition | None = self.client.definition(code)
        except PermanentSinkError as exc:  # listed with metadata but no definition: send without attributes
            if svc is not None:
                log.warning("open311: service %s has no readable definition, sending without attributes: %s",
                            code, exc)
            d = ServiceDefinition(service_code=code) if svc is not None else None
        with self._lock:
            self._definitions[code] = d
        return d


def _pick(attr: ServiceAttribute, words: set[str]) -> str | None:
    if not attr.values:
        return None
    best, best_score = None, 0
    for v in attr.values:
        score = len(words & set(_WORD.findall(f"{v.name} {v.key}".lower())))
        if score > best_score:
            best, best_score = v.key, score
    if best is not None:
        return best
    for v in attr.values:
        if v.name.strip().lower() in _FALLBACK or v.key.strip().lower() in _FALLBACK:
            return v.key
    return attr.values[0].key


def fill_attributes(definition: ServiceDefinition | None, text: str, reported_at: datetime) -> dict[str, str | tuple[str, ...]]:
    """Values for every required attribute of ``definition``, chosen from ``text``.

    List attributes take the value whose name shares the most words with the text, else one
    named like "Other"/"Unknown", else the first; free-text attributes take the text (cut at
    500 characters); datetimes take ``reported_at``. Raises :class:`PermanentSinkError` for a
    required number, which cannot be guessed.
    """
    out: dict[str, str | tuple[str, ...]] = {}
    if definition is None:
        return out
    words = set(_WORD.findall(text.lower()))
    for attr in definition.required:
        dt = attr.datatype
        if dt in ("singlevaluelist", "multivaluelist"):
            value = _pick(attr, words)
            if value is None:
                raise PermanentSinkError(f"service {definition.service_code}: required attribute {attr.code} "
                                         "is a list without values")
            out[attr.code] = (value,) if dt == "multivaluelist" else value
        elif dt == "datetime":
            out[attr.code] = reported_at.isoformat()
        elif dt == "number":
            raise PermanentSinkError(f"service {definition.service_code}: required number attribute {attr.code} "
                                     f"({attr.description or attr.datatype_description}) cannot be filled from a post",
                                     hint="approve such tickets by hand in the 311 system")
        else:
            out[attr.code] = " ".join(text.split())[:500] or "See description"
    return out
