"""The job registry over APScheduler 3: recurring jobs, one-off jobs, kicks, failing jobs."""

import threading
from datetime import datetime, timedelta, timezone

import pytest

from civic_signal.core.scheduler import Job, Scheduler


@pytest.fixture
def sched():
    s = Scheduler()
    yield s
    s.shutdown(wait=True)


def test_a_one_off_job_runs_with_its_arguments(sched):
    got, done = [], threading.Event()
    sched.start()
    sched.at("retry:t-1", datetime.now(timezone.utc), lambda tid: (got.append(tid), done.set()), "t-1")
    assert done.wait(10) and got == ["t-1"]
    with pytest.raises(ValueError):
        sched.at("naive", datetime.now(), print)


def test_recurring_jobs_run_at_start_and_on_a_kick_and_survive_errors(sched):
    runs, second = [], threading.Event()
    boom_ran = threading.Event()

    def job():
        runs.append(1)
        if len(runs) >= 2:
            second.set()

    def boom():
        boom_ran.set()
        raise RuntimeError("job failure is logged, not fatal")
    sched.add([Job("sweep", job, 3600, first_run_now=True), Job("boom", boom, 3600, first_run_now=True)])
    sched.start()
    assert boom_ran.wait(10)
    for _ in range(100):
        if runs:
            break
        threading.Event().wait(0.05)
    sched.kick("sweep")
    assert second.wait(10)
    assert sched.names() == ["boom", "sweep"] and sched.running
    sched.at("later", datetime.now(timezone.utc) + timedelta(hours=1), print)
    assert "later" in sched.names()
