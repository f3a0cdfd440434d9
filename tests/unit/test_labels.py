"""Executor labels: which queue a pipeline's jobs go to and which queues an executor takes."""

from __future__ import annotations

import pytest

from montage.domain.pipelines import PipelineSpec, StageSpec, label_queue, queue_label
from montage.engine.takeover import listened_queues


def spec(*stages: StageSpec) -> PipelineSpec:
    return PipelineSpec(name="p", version="1", description="", stages=stages, queue="media")


def test_a_pipeline_whose_stage_requires_a_label_runs_on_that_labels_queue() -> None:
    assert spec(StageSpec("a", "g")).run_queue == "media"
    assert spec(StageSpec("a", "g"), StageSpec("b", "g", requires="gpu")).run_queue == "label:gpu"
    with pytest.raises(ValueError, match="several executor labels"):
        _ = spec(StageSpec("a", "g", requires="cpu"), StageSpec("b", "g", requires="gpu")).run_queue


def test_an_executor_takes_unlabelled_queues_and_only_its_own_label_queues() -> None:
    queues = ["default", "media", "server:comfy", label_queue("gpu"), label_queue("tpu")]
    assert listened_queues(queues, []) == ["default", "media", "server:comfy"]
    assert listened_queues(queues, ["gpu", "cpu"]) == ["default", "label:gpu", "media", "server:comfy"]
    assert queue_label("label:gpu") == "gpu" and queue_label("media") is None
