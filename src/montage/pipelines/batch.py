"""Batch runs of the servers-batch-workflows facade: a parent job per execution, a job per item.

``batch.run`` waits for its items on a queue of its own (so it never holds the slot an item
needs); ``batch.item`` runs one item's workflow, on the queue of the item's server (its global
concurrency is the server's ``batch_size``), with the stage that fits the server's type.
"""

from __future__ import annotations

from typing import Any

import montage.generators.remote.runners  # noqa: F401  (registers the remote item runners)
from montage.domain.pipelines import PipelineSpec, RetryPolicy, StageSpec
from montage.pipelines import register_pipeline

FACADE = "batch"
RUN_PIPELINE = "batch.run"
ITEM_PIPELINE = "batch.item"
RUN_QUEUE = "batch-runs"
#: Server type → the stage (and generator) that runs an item there.
ITEM_STAGES = {"local": "local", "comfyui": "comfyui", "http": "http"}
_ITEM_RETRY = RetryPolicy(max_attempts=3, backoff_s=1.0)


def _item_stage(job_input: dict[str, Any]) -> list[str]:
    return [ITEM_STAGES[str(job_input.get("server_type", "local"))]]


register_pipeline(PipelineSpec(
    name=RUN_PIPELINE, version="1", facade=FACADE, queue=RUN_QUEUE,
    description="A batch execution: one batch.item job per matching folder, followed until all have ended.",
    stages=(StageSpec("items", "batch.run", retry=RetryPolicy(max_attempts=3, backoff_s=1.0)),),
))

register_pipeline(PipelineSpec(
    name=ITEM_PIPELINE, version="1", facade=FACADE,
    description="One item of a batch: its workflow on its server (local image nodes, ComfyUI or http).",
    stages=(StageSpec("local", "images.run_workflow", retry=_ITEM_RETRY),
            StageSpec("comfyui", "remote.comfyui_workflow", retry=_ITEM_RETRY),
            StageSpec("http", "remote.http_workflow", retry=_ITEM_RETRY)),
    select_stages=_item_stage,
))
