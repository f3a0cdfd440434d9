"""Workflow definitions (the seed's word for a pipeline definition): versions, status, kinds.

A workflow's ``workflow_config`` is what runs, and its shape says where it can run:

- ``{"nodes": [...]}`` — montage's own image nodes, run by this montage's executors (a
  ``local`` server);
- ``{node_id: {"class_type", "inputs"}, ...}`` — a ComfyUI graph in API format (a ``comfyui``
  server);
- ``{"task": name, "params": {...}}`` — a task of a service speaking the generic http generator
  protocol (an ``http`` server).

``input_mapping`` names where each input goes (``{name: {"node", "input", "source"}}``, see
``docs/servers-batch-workflows-api.md``); ``output_mapping`` which outputs to collect.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from montage.errors import ValidationFailed, WorkflowArchived

_NUMBER = re.compile(r"(\d+)$")
#: Where an input-mapping value comes from.
SOURCES = ("parameter", "file", "folder", "folder_name", "output_dir")


class WorkflowStatus(StrEnum):
    NORMAL = "normal"
    HIDDEN = "hidden"
    ARCHIVED = "archived"


class WorkflowKind(StrEnum):
    LOCAL = "local"
    COMFYUI = "comfyui"
    HTTP = "http"


@dataclass(frozen=True)
class Workflow:
    id: int
    name: str
    description: str
    scenario: str
    version: str
    workflow_config: dict[str, Any]
    node_config: dict[str, Any]
    input_mapping: dict[str, Any]
    output_mapping: dict[str, Any]
    parameters: dict[str, Any]
    parent_id: int | None
    status: WorkflowStatus
    created_at: datetime
    updated_at: datetime

    @property
    def kind(self) -> WorkflowKind:
        return kind_of(self.workflow_config)


def next_patch(version: str) -> str:
    """The next patch version: ``1.0.0`` → ``1.0.1``, ``2.3`` → ``2.4``, ``beta`` → ``beta.1``."""
    match = _NUMBER.search(version)
    if match is None:
        return f"{version}.1"
    return f"{version[:match.start()]}{int(match.group(1)) + 1}"


def version_key(version: str) -> tuple[tuple[int, Any], ...]:
    """Sort key ordering ``1.0.10`` after ``1.0.9`` (numbers as numbers, words as words)."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"[.\-+]", version))


#: action → (statuses it may start from, status it leads to)
ACTIONS: dict[str, tuple[frozenset[WorkflowStatus], WorkflowStatus]] = {
    "hide": (frozenset({WorkflowStatus.NORMAL, WorkflowStatus.HIDDEN}), WorkflowStatus.HIDDEN),
    "show": (frozenset({WorkflowStatus.NORMAL, WorkflowStatus.HIDDEN}), WorkflowStatus.NORMAL),
    "archive": (frozenset(WorkflowStatus), WorkflowStatus.ARCHIVED),
    "activate": (frozenset(WorkflowStatus), WorkflowStatus.NORMAL),
}


def status_after(action: str, current: WorkflowStatus, workflow_id: int) -> WorkflowStatus:
    """The status ``action`` leads to, or ``WorkflowArchived`` for hide/show of an archived one."""
    sources, target = ACTIONS[action]
    if current not in sources:
        raise WorkflowArchived(f"workflow {workflow_id} is archived; activate it before you {action} it",
                               workflow_id=workflow_id, status=current.value)
    if action == "activate" and current == WorkflowStatus.HIDDEN:
        return current  # activate undoes an archive; a hidden workflow stays hidden
    return target


def kind_of(config: Mapping[str, Any]) -> WorkflowKind:
    """Which kind of server ``config`` runs on; ``ValidationFailed`` says what shapes there are."""
    if not isinstance(config, Mapping):
        raise ValidationFailed("workflow_config must be an object", field="workflow_config")
    if "links" in config and isinstance(config.get("nodes"), list):
        raise ValidationFailed("workflow_config looks like a ComfyUI UI workflow (nodes + links); export it "
                               "with 'Save (API Format)' and store that graph", field="workflow_config")
    if not config or isinstance(config.get("nodes"), list):
        return WorkflowKind.LOCAL
    if isinstance(config.get("task"), str):
        return WorkflowKind.HTTP
    if all(isinstance(n, Mapping) and isinstance(n.get("class_type"), str) for n in config.values()):
        return WorkflowKind.COMFYUI
    raise ValidationFailed(
        'workflow_config must be montage image nodes ({"nodes": [...]}), a ComfyUI graph in API format '
        '({node_id: {"class_type": ..., "inputs": {...}}}) or an http generator task ({"task": ...})',
        field="workflow_config")


def check_mapping(mapping: Any, field: str) -> dict[str, Any]:
    """An input or output mapping: an object whose entries are objects or lists of objects."""
    if mapping is None:
        return {}
    if not isinstance(mapping, Mapping):
        raise ValidationFailed(f"{field} must be an object", field=field)
    for name, entry in mapping.items():
        items = entry if isinstance(entry, list) else [entry]
        for item in items:
            if not isinstance(item, Mapping):
                raise ValidationFailed(f"{field}.{name} must be an object or a list of objects",
                                       field=f"{field}.{name}")
            source = item.get("source", "parameter")
            if field == "input_mapping" and source not in SOURCES:
                raise ValidationFailed(f"{field}.{name}.source must be one of: {', '.join(SOURCES)}",
                                       field=f"{field}.{name}.source", received=source, allowed=list(SOURCES))
    return dict(mapping)


def check_version(value: Any) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text or len(text) > 50:
        raise ValidationFailed(f"version must be 1 to 50 characters (got {value!r})", field="version")
    return text


def check_text(value: Any, field: str, *, required: bool = False, limit: int = 200) -> str:
    if value is None and not required:
        return ""
    text = value.strip() if isinstance(value, str) else ""
    if (required and not text) or len(text) > limit or (value is not None and not isinstance(value, str)):
        raise ValidationFailed(f"{field} must be {'1' if required else '0'} to {limit} characters",
                               field=field, received=value)
    return text
