"""Source names -> constructors, for ``civic-signal listen --source NAME``.

Each source module adds itself to :data:`SOURCES` with a factory ``(settings, **options) -> Source``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from civic_signal.config.errors import ConfigError
from civic_signal.core.source import Source

SourceFactory = Callable[..., Source]


def _replay(settings: Any, path: str | None = None, speed: float | None = None, **_: Any) -> Source:
    from civic_signal.listener.sources.replay import ReplaySource
    return ReplaySource(settings.resolve_path(path or settings.replay.path),
                        speed=settings.replay.speed if speed is None else speed)


def _lazy(module: str) -> SourceFactory:
    """The ``factory`` of ``civic_signal.listener.sources.<module>``, imported only when that source is used."""
    def make(settings: Any, **options: Any) -> Source:
        from importlib import import_module
        return import_module(f"civic_signal.listener.sources.{module}").factory(settings, **options)
    make.__name__ = f"{module}_factory"
    return make


SOURCES: dict[str, SourceFactory] = {
    "replay": _replay,
    # network sources (docs/sources.md): each module's factory(settings, **options)
    "x": _lazy("x_stream"),
    "x-search": _lazy("x_search"),
    "datasift": _lazy("datasift"),
    "datasift-push": _lazy("push"),
    "jetstream": _lazy("jetstream"),
    "mastodon": _lazy("mastodon"),
}


def make_source(name: str, settings: Any, **options: Any) -> Source:
    try:
        factory = SOURCES[name]
    except KeyError:
        raise ConfigError(f"unknown source {name!r}", hint=f"choose one of: {', '.join(sorted(SOURCES))}") from None
    return factory(settings, **options)
