"""Source names -> constructors, for ``civic-signal listen --source NAME``.

Each source module adds itself to :data:`SOURCES` with a factory ``(settings, **options) -> Source``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from config.errors import ConfigError
from listener.sources.base import Source

SourceFactory = Callable[..., Source]


def _replay(settings: Any, path: str | None = None, speed: float | None = None, **_: Any) -> Source:
    from listener.sources.replay import ReplaySource
    return ReplaySource(settings.resolve_path(path or settings.replay.path),
                        speed=settings.replay.speed if speed is None else speed)


SOURCES: dict[str, SourceFactory] = {
    "replay": _replay,
}


def make_source(name: str, settings: Any, **options: Any) -> Source:
    try:
        factory = SOURCES[name]
    except KeyError:
        raise ConfigError(f"unknown source {name!r}", hint=f"choose one of: {', '.join(sorted(SOURCES))}") from None
    return factory(settings, **options)
