"""Imports every module that defines archive tables, so Alembic and tests see them all.

Features that add tables (incidents, alerts, replay runs ...) add their module here and a
migration under ``migrations/versions`` whose ``down_revision`` is ``"0001_base"`` (or a later
revision of their own): the archive upgrades to all heads.
"""

import civic_signal.sinks.archive.models  # noqa: F401
import civic_signal.sinks.runs  # noqa: F401  (replay runs, issue 7)
import civic_signal.sinks.console.models  # noqa: F401  (heartbeats, source health, alerts: issue 6)
import civic_signal.sinks.incident_tables  # noqa: F401  (incidents, incident reports, ticket events: issue 5)
import civic_signal.sinks.labels  # noqa: F401  (labels for retraining: issue 17)
import civic_signal.sinks.learning_queue  # noqa: F401  (posts offered for labelling: issue 17)
