"""Small pipelines for trying montage out, for tests and for the engine benchmark."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from montage.domain.pipelines import PipelineSpec, RetryPolicy, StageSpec
from montage.pipelines import register_pipeline


class DemoInput(BaseModel):
    """Input of the demo pipelines: every field optional."""

    model_config = ConfigDict(extra="allow")

    text: str = Field("hello", max_length=10_000, description="Text the stages pass along.")
    seconds: float = Field(0.0, ge=0, le=3600, description="How long each sleeping stage works.")
    fail_times: int = Field(0, ge=0, le=100, description="How many times the flaky stage fails first.")


register_pipeline(PipelineSpec(
    name="noop",
    version="1",
    description="One stage that does nothing: measures the engine itself.",
    stages=(StageSpec("noop", "demo.noop"),),
    input_model=DemoInput,
))

register_pipeline(PipelineSpec(
    name="demo",
    version="1",
    description="Three stages (draft, review, publish) with an approval gate after draft.",
    stages=(
        StageSpec("draft", "demo.sleep", approval=True),
        StageSpec("review", "demo.flaky", retry=RetryPolicy(max_attempts=3, backoff_s=0.2)),
        StageSpec("publish", "demo.sleep"),
    ),
    input_model=DemoInput,
))

register_pipeline(PipelineSpec(
    name="steps",
    version="1",
    description="Three sleeping stages, no gate: for crash, cancel and retry tests.",
    stages=(
        StageSpec("one", "demo.sleep"),
        StageSpec("two", "demo.flaky", retry=RetryPolicy(max_attempts=2, backoff_s=0.1)),
        StageSpec("three", "demo.sleep"),
    ),
    input_model=DemoInput,
))

register_pipeline(PipelineSpec(
    name="steps-gpu",
    version="1",
    description="The steps pipeline on an executor labelled gpu (`montage worker --labels gpu`).",
    stages=(
        StageSpec("one", "demo.sleep", requires="gpu"),
        StageSpec("two", "demo.sleep", requires="gpu"),
    ),
    input_model=DemoInput,
))
