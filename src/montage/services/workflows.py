"""Use cases of workflow definitions: create, read, version, hide, show, archive, activate, delete.

A workflow's name and version are unique together; a new version takes the next patch number
after the highest version of that name and points at the workflow it was made from. Archived
workflows keep their history but start no new runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from montage.domain.workflows import (
    ACTIONS,
    Workflow,
    WorkflowKind,
    WorkflowStatus,
    check_mapping,
    check_text,
    check_version,
    kind_of,
    next_patch,
    status_after,
)
from montage.errors import ValidationFailed, WorkflowArchived, WorkflowNotFound, WorkflowVersionExists
from montage.generators.builtin.images.graph import parse_nodes
from montage.services.builtin_workflows import BUILTINS
from montage.services.runtime import Runtime
from montage.store import workflows as repo

DEFAULT_VERSION = "1.0.0"
_OBJECTS = ("workflow_config", "node_config", "parameters")


@dataclass(frozen=True)
class WorkflowFields:
    """A request's fields; None means "not given"."""

    name: Any = None
    description: Any = None
    scenario: Any = None
    version: Any = None
    workflow_config: Any = None
    node_config: Any = None
    input_mapping: Any = None
    output_mapping: Any = None
    parameters: Any = None

    def given(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def checked(fields: dict[str, Any]) -> dict[str, Any]:
    """Each given field checked (400 naming it); the workflow config is checked for its kind."""
    out = dict(fields)
    if "name" in out:
        out["name"] = check_text(out["name"], "name", required=True)
    for key in ("description", "scenario"):
        if key in out:
            out[key] = check_text(out[key], key, limit=100_000 if key == "description" else 200)
    if "version" in out:
        out["version"] = check_version(out["version"])
    for key in _OBJECTS:
        if key in out and not isinstance(out[key], dict):
            raise ValidationFailed(f"{key} must be an object", field=key)
    for key in ("input_mapping", "output_mapping"):
        if key in out:
            out[key] = check_mapping(out[key], key)
    if "workflow_config" in out and kind_of(out["workflow_config"]) == WorkflowKind.LOCAL:
        parse_nodes(out["workflow_config"])
    return out


class WorkflowService:
    def __init__(self, runtime: Runtime) -> None:
        self.db = runtime.db

    def create(self, fields: WorkflowFields) -> Workflow:
        values = {"description": "", "scenario": "", "version": DEFAULT_VERSION, "workflow_config": {},
                  "node_config": {}, "input_mapping": {}, "output_mapping": {}, "parameters": {},
                  **checked(fields.given())}
        if "name" not in values:
            raise ValidationFailed("name is required", field="name")
        return self._insert(values)

    def _insert(self, values: dict[str, Any]) -> Workflow:
        clash = WorkflowVersionExists(f"workflow {values['name']!r} version {values['version']} already exists",
                                      field="version", name=values["name"], version=values["version"])
        try:
            with self.db.transaction() as s:
                if repo.exists(s, values["name"], values["version"]):
                    raise clash
                return repo.insert_workflow(s, status=WorkflowStatus.NORMAL.value, **values)
        except IntegrityError:
            raise clash from None

    def list_workflows(self, *, status: str | None = None, scenario: str | None = None, skip: int = 0,
             limit: int = 100) -> list[Workflow]:
        if status is not None and status not in {s.value for s in WorkflowStatus}:
            raise ValidationFailed(f"status must be one of: {', '.join(s.value for s in WorkflowStatus)}",
                                   field="status", received=status, allowed=[s.value for s in WorkflowStatus])
        with self.db.read() as s:
            return repo.list_workflows(s, status=status, scenario=scenario, skip=skip, limit=limit)

    def get(self, workflow_id: int) -> Workflow:
        with self.db.read() as s:
            return repo.load_workflow(s, workflow_id)

    def new_version(self, workflow_id: int, fields: WorkflowFields) -> Workflow:
        """A copy of the workflow with the given fields changed, at the next patch version."""
        changes = checked(fields.given())
        changes.pop("name", None)  # a version belongs to the same workflow name
        with self.db.read() as s:
            source = repo.load_workflow(s, workflow_id)
            highest = repo.versions_of(s, source.name)[-1].version
        values = {key: getattr(source, key) for key in ("name", "description", "scenario", "workflow_config",
                                                        "node_config", "input_mapping", "output_mapping",
                                                        "parameters")}
        values |= {"version": next_patch(highest), **changes, "parent_id": source.id}
        return self._insert(values)

    def versions(self, workflow_id: int) -> list[Workflow]:
        with self.db.read() as s:
            return repo.versions_of(s, repo.load_workflow(s, workflow_id).name)

    def update(self, workflow_id: int, fields: WorkflowFields) -> Workflow:
        changes = checked(fields.given())
        try:
            with self.db.transaction() as s:
                current = repo.load_workflow(s, workflow_id)
                name, version = changes.get("name", current.name), changes.get("version", current.version)
                if (name, version) != (current.name, current.version) and \
                        repo.exists(s, name, version, besides=workflow_id):
                    raise WorkflowVersionExists(f"workflow {name!r} version {version} already exists",
                                                field="name", name=name, version=version)
                return repo.update_workflow(s, workflow_id, **changes)
        except IntegrityError:
            raise WorkflowVersionExists("a workflow with this name and version already exists",
                                        field="name") from None

    def change_status(self, workflow_id: int, action: str) -> Workflow:
        """hide, show, archive or activate."""
        assert action in ACTIONS
        with self.db.transaction() as s:
            current = repo.load_workflow(s, workflow_id)
            target = status_after(action, current.status, workflow_id)
            return repo.update_workflow(s, workflow_id, status=target.value)

    def delete(self, workflow_id: int) -> None:
        with self.db.transaction() as s:
            repo.load_workflow(s, workflow_id)
            repo.delete_workflow(s, workflow_id)

    # -- for batch runs ------------------------------------------------------------------------
    def runnable(self, name_or_id: str | int) -> Workflow:
        """The workflow a run uses: by id, or by name its highest version that is not archived."""
        with self.db.read() as s:
            if isinstance(name_or_id, int):
                workflows = [repo.load_workflow(s, name_or_id)]
            else:
                workflows = repo.versions_of(s, name_or_id)
        if not workflows:
            raise WorkflowNotFound(f"workflow {name_or_id!r} not found", workflow_name=str(name_or_id))
        live = [w for w in workflows if w.status != WorkflowStatus.ARCHIVED]
        if not live:
            raise WorkflowArchived(f"workflow {name_or_id!r} is archived and cannot start new runs; "
                                   "activate it first", workflow_id=workflows[-1].id)
        return live[-1]

    def seed_builtins(self) -> int:
        """Insert the built-in workflows that are missing (by name); how many were added."""
        added = 0
        for builtin in BUILTINS:
            with self.db.read() as s:
                present = bool(repo.versions_of(s, builtin["name"]))
            if present:
                continue
            try:
                with self.db.transaction() as s:
                    repo.insert_workflow(s, status=WorkflowStatus.NORMAL.value, parent_id=None, **builtin)
                added += 1
            except IntegrityError:  # another replica seeded it meanwhile
                pass
        return added
