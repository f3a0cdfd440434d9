"""JobViews: a view is served from memory until the job changes, never kept across a change."""

from __future__ import annotations

from montage.services.job_views import JOB, JobViews


def test_a_view_is_read_once_then_served_until_the_job_changes() -> None:
    views, loads = JobViews(), []

    def load() -> str:
        loads.append(1)
        return f"v{len(loads)}"

    assert views.read("j1", JOB, load) == "v1"
    assert views.read("j1", JOB, load) == "v1"
    assert len(loads) == 1
    views.evict(["j1"])
    assert views.read("j1", JOB, load) == "v2"
    views.evict(["other"])
    assert views.read("j1", JOB, load) == "v2"


def test_a_read_overtaken_by_a_change_is_returned_but_not_kept() -> None:
    views = JobViews()

    def load_while_the_job_changes() -> str:
        views.evict(["j1"])  # a commit lands while the read is on its way
        return "stale"

    assert views.read("j1", JOB, load_while_the_job_changes) == "stale"
    assert views.read("j1", JOB, lambda: "fresh") == "fresh"


def test_no_view_outlives_its_max_age() -> None:
    views = JobViews(max_age_s=0.0)
    assert views.read("j1", JOB, lambda: "a") == "a"
    assert views.read("j1", JOB, lambda: "b") == "b"


def test_the_oldest_views_go_first_when_full() -> None:
    views = JobViews(size=2)
    for job_id in ("a", "b", "c"):
        views.read(job_id, JOB, lambda job_id=job_id: job_id)  # type: ignore[misc]
    assert views.read("a", JOB, lambda: "reloaded") == "reloaded"
    assert views.read("c", JOB, lambda: "reloaded") == "c"
