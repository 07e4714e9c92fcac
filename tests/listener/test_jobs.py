"""The background jobs of long-running commands: alerts are recorded even with no console open."""

from civic_signal.config.settings import load_settings
from civic_signal.listener.jobs import BackgroundJobs
from civic_signal.sinks.alerts import recent_alerts
from tests.sinks.test_alerts import archive_with, seeded_archive  # noqa: F401  (fixtures)


def test_background_jobs_record_a_spike_without_a_console(seeded_archive, monkeypatch):  # noqa: F811
    from datetime import datetime, timezone

    monkeypatch.setenv("CIVIC_CONSOLE__ALERT_CHECK_S", "3600")  # only the final check runs in this test
    jobs = BackgroundJobs(load_settings(), seeded_archive).start()
    assert "alerts.check" in jobs.scheduler.names()
    jobs.close()
    alerts = recent_alerts(seeded_archive, datetime.now(timezone.utc))
    assert [a.rule for a in alerts] == ["category_spike"] and "Dorchester" in alerts[0].subject + alerts[0].message
