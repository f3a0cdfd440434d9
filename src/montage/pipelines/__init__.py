"""Pipelines by name: the built-ins, plus any a contract module or plugin registers."""

from __future__ import annotations

import importlib
import pkgutil
import threading

from montage.domain.pipelines import PipelineSpec
from montage.errors import UnknownPipeline

_pipelines: dict[str, PipelineSpec] = {}
_loaded = False
_lock = threading.Lock()


def register_pipeline(spec: PipelineSpec) -> PipelineSpec:
    _pipelines[spec.name] = spec
    return spec


def _load() -> None:
    """Import every pipeline module once; callers on other threads wait until it is done."""
    global _loaded
    if _loaded:
        return
    with _lock:
        if _loaded:
            return
        for info in pkgutil.iter_modules(__path__, prefix=f"{__name__}."):
            importlib.import_module(info.name)
        _loaded = True


def get_pipeline(name: str) -> PipelineSpec:
    """The pipeline called ``name``; ``UnknownPipeline`` lists the known ones otherwise."""
    _load()
    try:
        return _pipelines[name]
    except KeyError:
        known = sorted(_pipelines)
        raise UnknownPipeline(
            f"unknown pipeline {name!r}; known pipelines: {', '.join(known)}",
            field="pipeline", received=name, allowed=known,
        ) from None


def all_pipelines() -> list[PipelineSpec]:
    _load()
    return [_pipelines[n] for n in sorted(_pipelines)]
