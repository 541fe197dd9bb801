"""The registry: jobs are declared with a decorator, named once, and every part's are loaded."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crrt import parts
from crrt.jobs import registry
from crrt.jobs.registry import JobContext


def test_periodic_registers_the_function_unchanged_with_its_timing():
    def check(_db, _settings) -> bool:
        return True

    @registry.periodic("test.hourly", every=timedelta(hours=1), lease=timedelta(minutes=2),
                       pending=check)
    def hourly(ctx: JobContext) -> str:
        return "done"

    job = registry.PERIODIC["test.hourly"]
    assert (job.run, job.every, job.lease, job.pending) == (hourly, timedelta(hours=1),
                                                            timedelta(minutes=2), check)
    assert hourly(None) == "done"
    assert "test.hourly" not in registry.TASKS


def test_task_registers_with_its_attempts():
    @registry.task("test.once", max_attempts=3)
    def once(ctx: JobContext) -> None:
        return None

    assert registry.TASKS["test.once"].max_attempts == 3
    assert registry.TASKS["test.once"].run is once
    assert registry.TASKS["test.once"].lease == timedelta(minutes=5)


def test_two_jobs_cannot_share_a_name():
    @registry.task("test.taken")
    def first(ctx: JobContext) -> None:
        return None

    with pytest.raises(ValueError, match=r"two jobs are named 'test\.taken'"):
        @registry.periodic("test.taken", every=timedelta(minutes=1))
        def second(ctx: JobContext) -> None:
            return None

    assert registry.TASKS["test.taken"].run is first


@pytest.mark.parametrize("declare", [
    lambda: registry.periodic("test.bad", every=timedelta(0)),
    lambda: registry.periodic("test.bad", every=timedelta(minutes=1), lease=timedelta(0)),
    lambda: registry.task("test.bad", max_attempts=0),
])
def test_nonsense_timings_are_refused(declare):
    with pytest.raises(ValueError):
        declare()


def test_a_name_longer_than_the_column_is_refused():
    with pytest.raises(ValueError, match="1 to 100 characters"):
        registry.task("test." + "x" * 100)(lambda ctx: None)


def test_unregister_forgets_a_job():
    registry.task("test.gone")(lambda ctx: None)
    registry.unregister("test.gone")
    assert "test.gone" not in registry.TASKS


def test_loading_the_parts_registers_their_jobs():
    parts.load()
    deliver = registry.PERIODIC["outbox.deliver"]
    assert deliver.shared and deliver.pending is not None  # every worker, every pass
    prune = registry.PERIODIC["auth.prune_login_attempts"]
    assert prune.every == timedelta(hours=1) and prune.pending is not None
