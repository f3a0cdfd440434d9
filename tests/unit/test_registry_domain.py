"""Rules of servers, workflows and batch executions, without I/O."""

from __future__ import annotations

import pytest

from montage.domain.batch import (
    ExecutionStatus,
    ItemState,
    check_execution_transition,
    final_status,
    matches,
    summarise,
    unique_names,
)
from montage.domain.servers import ServerStatus, check_batch_size, check_url, status_after_probe
from montage.domain.workflows import WorkflowKind, WorkflowStatus, kind_of, next_patch, status_after, version_key
from montage.errors import IllegalTransition, ValidationFailed, WorkflowArchived


@pytest.mark.parametrize(("version", "after"), [("1.0.0", "1.0.1"), ("1.0.9", "1.0.10"), ("2.3", "2.4"),
                                                 ("v1", "v2"), ("beta", "beta.1")])
def test_next_patch(version: str, after: str) -> None:
    assert next_patch(version) == after


def test_versions_sort_as_numbers() -> None:
    assert sorted(["1.0.10", "1.0.9", "1.0.0", "1.1.0"], key=version_key) == ["1.0.0", "1.0.9", "1.0.10", "1.1.0"]


def test_hide_and_show_refuse_an_archived_workflow_and_activate_restores_it() -> None:
    assert status_after("hide", WorkflowStatus.NORMAL, 1) == WorkflowStatus.HIDDEN
    assert status_after("show", WorkflowStatus.HIDDEN, 1) == WorkflowStatus.NORMAL
    with pytest.raises(WorkflowArchived):
        status_after("hide", WorkflowStatus.ARCHIVED, 1)
    assert status_after("activate", WorkflowStatus.ARCHIVED, 1) == WorkflowStatus.NORMAL
    assert status_after("activate", WorkflowStatus.HIDDEN, 1) == WorkflowStatus.HIDDEN


def test_workflow_kind_follows_the_config_shape() -> None:
    assert kind_of({"nodes": []}) == WorkflowKind.LOCAL
    assert kind_of({}) == WorkflowKind.LOCAL
    assert kind_of({"task": "image.solid"}) == WorkflowKind.HTTP
    assert kind_of({"3": {"class_type": "SaveImage", "inputs": {}}}) == WorkflowKind.COMFYUI
    with pytest.raises(ValidationFailed, match="API Format"):
        kind_of({"nodes": [], "links": []})
    with pytest.raises(ValidationFailed, match="workflow_config must be"):
        kind_of({"3": {"inputs": {}}})


@pytest.mark.parametrize("url", ["localhost:8001", "ftp://host", "http://", "http://exa mple.com", "", None,
                                 "http://host:99999"])
def test_bad_urls_are_refused_naming_the_field(url: object) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_url(url)
    assert caught.value.details["field"] == "url"


def test_good_url_loses_its_trailing_slash() -> None:
    assert check_url("https://gpu-1.lan:8188/") == "https://gpu-1.lan:8188"


@pytest.mark.parametrize("size", [0, -1, True, 1.5, "5", 1001])
def test_batch_size_must_be_a_positive_integer(size: object) -> None:
    with pytest.raises(ValidationFailed):
        check_batch_size(size)


def test_a_probe_moves_online_and_offline_but_never_out_of_maintenance() -> None:
    assert status_after_probe(ServerStatus.OFFLINE, True, False) == ServerStatus.ONLINE
    assert status_after_probe(ServerStatus.OFFLINE, True, True) == ServerStatus.BUSY
    assert status_after_probe(ServerStatus.BUSY, False, True) == ServerStatus.OFFLINE
    assert status_after_probe(ServerStatus.ONLINE, True, False) == ServerStatus.ONLINE
    assert status_after_probe(ServerStatus.MAINTENANCE, True, False) == ServerStatus.MAINTENANCE
    assert status_after_probe(ServerStatus.MAINTENANCE, False, False) == ServerStatus.MAINTENANCE


def test_folder_names_match_any_keyword_ignoring_case() -> None:
    assert matches("Cat_Photos", ["dog", "cat"])
    assert not matches("birds", ["dog", "cat"])
    assert matches("anything", [])
    assert unique_names(["a", "b", "A", "a"]) == ["a", "b", "A-2", "a-3"]


def test_summary_counts_and_final_status() -> None:
    done = ItemState(0, "a", "/a", "j1", ExecutionStatus.COMPLETED, ["x.png", "y.png"])
    bad = ItemState(1, "b", "/b", "j2", ExecutionStatus.FAILED, error="boom")
    waiting = ItemState(2, "c", "/c", "j3", ExecutionStatus.RUNNING)
    result = summarise([done, bad, waiting])
    assert (result["processed_files"], result["success_count"], result["fail_count"]) == (2, 1, 1)
    assert (result["total"], result["finished"]) == (3, 2)
    assert final_status(result) == ExecutionStatus.COMPLETED
    assert final_status(summarise([bad])) == ExecutionStatus.FAILED
    assert final_status(summarise([])) == ExecutionStatus.COMPLETED


def test_an_ended_execution_does_not_change_status() -> None:
    assert check_execution_transition(ExecutionStatus.RUNNING, ExecutionStatus.CANCELLED)
    with pytest.raises(IllegalTransition):
        check_execution_transition(ExecutionStatus.COMPLETED, ExecutionStatus.RUNNING)
