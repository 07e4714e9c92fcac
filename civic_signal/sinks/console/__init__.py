"""The operations console: a live rich dashboard over the archive (and, in ``run``, the live pipeline).

Modules: :mod:`.models` (tables), :mod:`.snapshot` (the frozen state a frame shows),
:mod:`.collect` (reads that state from the archive), :mod:`.panels` (one module per panel),
:mod:`.frame` (lays the panels out for the screen size), :mod:`.dashboard` (the live loop and
the plain-line fallback), :mod:`.run_display` (what ``civic-signal run`` shows).

Imports are lazy so that ``civic_signal.sinks.console.models`` stays cheap for Alembic.
"""

from __future__ import annotations

from typing import Any

__all__ = ["RunDisplay", "summary_table", "short", "Dashboard", "build_frame"]

_LAZY = {
    "RunDisplay": "civic_signal.sinks.console.run_display",
    "summary_table": "civic_signal.sinks.console.run_display",
    "short": "civic_signal.sinks.console.text",
    "Dashboard": "civic_signal.sinks.console.dashboard",
    "build_frame": "civic_signal.sinks.console.frame",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'civic_signal.sinks.console' has no attribute {name!r}")
