"""Checks over everything a chaos run left in the database and the data folder."""

from __future__ import annotations

import hashlib
import itertools
from collections import defaultdict
from pathlib import Path
from typing import Any

from montage.domain.jobs import TRANSITIONS, JobStatus
from tests.support.cluster import Cluster

TERMINAL_KINDS = ("done", "failed", "canceled")


def job_events(group: Cluster, job_ids: list[str]) -> dict[str, list[Any]]:
    """Every event of these jobs, in id order, grouped by job."""
    by_job: dict[str, list[Any]] = defaultdict(list)
    rows = group.query("SELECT job_id, id, kind, stage, status, payload FROM events "
                       "WHERE job_id = ANY(:ids) ORDER BY id", ids=job_ids)
    for row in rows:
        by_job[row.job_id].append(row)
    return by_job


def illegal_transitions(events: list[Any]) -> list[str]:
    """Status changes in the job's event history that the transition table does not allow."""
    statuses = [e.status for e in events if e.status]
    problems = []
    if statuses and statuses[0] not in (JobStatus.CREATED.value, JobStatus.QUEUED.value):
        problems.append(f"starts at {statuses[0]}")
    for before, after in itertools.pairwise(statuses):
        if before != after and JobStatus(after) not in TRANSITIONS[JobStatus(before)]:
            problems.append(f"{before} -> {after}")
    return problems


def stage_history_problems(events: list[Any]) -> list[str]:
    """A stage that started again after it had finished (the one thing a crash must not cause)."""
    finished: set[str] = set()
    problems = []
    for e in events:
        if e.kind != "stage":
            continue
        state = (e.payload or {}).get("state")
        if state == "started" and e.stage in finished:
            problems.append(f"{e.stage} started again after it finished (event {e.id})")
        if state == "finished":
            finished.add(e.stage)
    return problems


def extra_starts(events: list[Any]) -> int:
    """Stage starts beyond one per stage (each is a stage re-run after a lost worker)."""
    starts: dict[str, int] = defaultdict(int)
    for e in events:
        if e.kind == "stage" and (e.payload or {}).get("state") == "started":
            starts[e.stage] += 1
    return sum(n - 1 for n in starts.values())


def history_report(group: Cluster, job_ids: list[str]) -> dict[str, Any]:
    """Per job: terminal events, illegal transitions, stages run after finishing; totals."""
    by_job = job_events(group, job_ids)
    report: dict[str, Any] = {"missing": [], "terminal_not_once": {}, "illegal": {}, "rerun_finished": {},
                              "extra_starts": 0}
    for job_id in job_ids:
        events = by_job.get(job_id, [])
        if not events:
            report["missing"].append(job_id)
            continue
        terminal = sum(1 for e in events if e.kind in TERMINAL_KINDS)
        if terminal != 1:
            report["terminal_not_once"][job_id] = terminal
        if bad := illegal_transitions(events):
            report["illegal"][job_id] = bad
        if rerun := stage_history_problems(events):
            report["rerun_finished"][job_id] = rerun
        report["extra_starts"] += extra_starts(events)
    return report


def broken_artifacts(group: Cluster, data_dir: Path, job_ids: list[str]) -> list[str]:
    """Artifacts whose file is missing or differs from the size and digest recorded for it."""
    broken = []
    for row in group.query("SELECT job_id, path, bytes, sha256 FROM artifacts WHERE job_id = ANY(:ids)",
                           ids=job_ids):
        target = data_dir / "assets" / row.job_id / row.path
        if not target.is_file():
            broken.append(f"{row.job_id}/{row.path}: missing")
            continue
        data = target.read_bytes()
        if len(data) != row.bytes or hashlib.sha256(data).hexdigest() != row.sha256:
            broken.append(f"{row.job_id}/{row.path}: {len(data)} bytes, digest differs")
    return broken
