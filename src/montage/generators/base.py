"""What a generator is, and what it may ask of the engine while it runs.

A generator is one stage's work. It has a ``name``, a pydantic ``Config`` for its
parameters, and ``run(ctx, config) -> outputs``. It writes files under
``ctx.workdir`` and declares each with ``ctx.add_artifact``; it reports progress and
log lines through ``ctx``; it calls ``ctx.check_cancelled()`` between units of work so a
cancel or a timeout interrupts it promptly. ``outputs`` is a small JSON-serializable dict
that later stages read as ``ctx.outputs[stage_name]``.

Generators never import the engine, the store or the API: the context is all they see.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict


@dataclass(frozen=True)
class ArtifactRef:
    """A file a stage produced, relative to the job's asset folder."""

    path: str  # e.g. "scene/scene.png"
    role: str  # e.g. "scene"
    mime: str
    bytes: int
    sha256: str


@runtime_checkable
class StageContext(Protocol):
    """The engine's side of a running stage."""

    job_id: str
    pipeline: str
    stage: str
    attempt: int
    #: The job's input, as submitted (already validated by the pipeline).
    input: dict[str, Any]
    #: Outputs of earlier stages of this job, by stage name.
    outputs: dict[str, dict[str, Any]]
    #: Reviewer feedback when this stage runs again after a reject, else None.
    feedback: str | None
    #: How many times this stage has been rejected before this run (0 on the first run).
    revision: int
    #: The job's asset folder, ``<data-dir>/assets/<job_id>``.
    workdir: Path
    #: A seed for deterministic output, fixed per job.
    seed: int

    def progress(self, percent: float, message: str = "") -> None:
        """Report progress of this stage, 0–100."""

    def log(self, text: str, level: str = "info") -> None:
        """Append a log line to the job's event stream."""

    def path(self, relpath: str) -> Path:
        """An absolute path under ``workdir`` for ``relpath`` (parents created)."""

    def add_artifact(self, relpath: str, role: str, mime: str | None = None) -> ArtifactRef:
        """Declare a file already written at ``path(relpath)`` as an artifact."""

    def check_cancelled(self) -> None:
        """Raise if the job was canceled or ran out of time."""

    def setting(self, name: str, default: Any = None) -> Any:
        """A server setting (e.g. ``llm_base_url``) or ``default``."""

    def service(self, name: str) -> Any:
        """A host service this stage may call, by name (e.g. ``"knowledge"``, ``"tasks"``; see
        ``montage.services.stage_services``); ``LookupError`` where the host offers none."""


class GeneratorConfig(BaseModel):
    """Base for generator parameters: unknown fields are an error."""

    model_config = ConfigDict(extra="forbid")


class Generator(Protocol):
    """One stage's work."""

    name: ClassVar[str]
    Config: ClassVar[type[GeneratorConfig]]

    def run(self, ctx: StageContext, config: Any) -> dict[str, Any]:
        """Do the work; return JSON-serializable outputs for later stages."""
        ...
