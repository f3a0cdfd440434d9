"""A stage context that needs no engine: for unit tests, benchmarks and scripts.

It keeps progress, log lines and artifacts in memory and writes files under a folder
of the caller's choosing, so a generator can be run and inspected on its own.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from montage.errors import JobCanceled
from montage.generators.base import ArtifactRef


def file_digest(path: Path) -> tuple[int, str]:
    """(size in bytes, sha256 hex) of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return path.stat().st_size, digest.hexdigest()


def guess_mime(relpath: str) -> str:
    """The MIME type montage serves for a file name."""
    known = {".bvh": "text/plain", ".srt": "application/x-subrip", ".vtt": "text/vtt",
             ".md": "text/markdown", ".json": "application/json", ".wav": "audio/wav",
             ".mp4": "video/mp4", ".webm": "video/webm", ".png": "image/png"}
    suffix = Path(relpath).suffix.lower()
    return known.get(suffix) or mimetypes.guess_type(relpath)[0] or "application/octet-stream"


def safe_relpath(relpath: str) -> str:
    """Normalise a relative artifact path; refuse anything that leaves the folder."""
    parts = Path(relpath.replace("\\", "/")).parts
    if not parts or Path(relpath).is_absolute() or any(p in ("..", "") for p in parts) or "\x00" in relpath:
        raise ValueError(f"artifact path must stay inside the job folder: {relpath!r}")
    return "/".join(parts)


@dataclass
class StandaloneContext:
    """A :class:`~montage.generators.base.StageContext` backed by memory and a folder."""

    workdir: Path
    input: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    stage: str = "stage"
    job_id: str = "job_standalone"
    pipeline: str = "standalone"
    attempt: int = 1
    feedback: str | None = None
    revision: int = 0
    seed: int = 42
    settings: dict[str, Any] = field(default_factory=dict)
    services: dict[str, Any] = field(default_factory=dict)
    canceled: bool = False
    progress_log: list[tuple[float, str]] = field(default_factory=list)
    logs: list[tuple[str, str]] = field(default_factory=list)
    artifacts: list[ArtifactRef] = field(default_factory=list)

    def progress(self, percent: float, message: str = "") -> None:
        self.progress_log.append((max(0.0, min(100.0, percent)), message))

    def log(self, text: str, level: str = "info") -> None:
        self.logs.append((level, text))

    def path(self, relpath: str) -> Path:
        target = self.workdir / safe_relpath(relpath)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def add_artifact(self, relpath: str, role: str, mime: str | None = None) -> ArtifactRef:
        rel = safe_relpath(relpath)
        size, sha = file_digest(self.workdir / rel)
        ref = ArtifactRef(path=rel, role=role, mime=mime or guess_mime(rel), bytes=size, sha256=sha)
        self.artifacts = [a for a in self.artifacts if a.path != rel] + [ref]
        return ref

    def check_cancelled(self) -> None:
        if self.canceled:
            raise JobCanceled()

    def setting(self, name: str, default: Any = None) -> Any:
        return self.settings.get(name, default)

    def service(self, name: str) -> Any:
        try:
            return self.services[name]
        except KeyError:
            raise LookupError(f"no stage service {name!r} in this standalone context") from None
