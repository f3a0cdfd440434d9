"""What every batch item runner does the same way: read its item, wait for its server, fill the
workflow's inputs, and hand the files it made to the job's assets and the output folder.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from montage.errors import GeneratorError
from montage.generators.base import StageContext
from montage.generators.builtin.batch.ports import BatchControl, Endpoint, ItemSpec, batch_control
from montage.generators.builtin.images.nodes import IMAGE_SUFFIXES

OUTPUTS = "outputs"


@dataclass
class ItemWork:
    """One item as its runner sees it."""

    ctx: StageContext
    control: BatchControl
    spec: ItemSpec
    endpoint: Endpoint | None
    folder: Path | None
    name: str
    output_dir: Path | None
    roots: list[Path]

    def allowed(self, path: Path) -> bool:
        return any(path.is_relative_to(root) for root in self.roots)

    @property
    def parameters(self) -> dict[str, Any]:
        return self.spec.parameters


def begin_item(ctx: StageContext, *, needs_server: bool = True) -> ItemWork:
    """Read the item; wait (bounded) until its server takes work when it runs on one."""
    control = batch_control(ctx)
    spec = control.item_spec(int(ctx.input["execution_id"]))
    endpoint = control.wait_for_server(spec.server_name, ctx.check_cancelled) if needs_server else None
    roots = [Path(r) for r in ctx.setting("upload_roots", [])]
    work = ItemWork(ctx=ctx, control=control, spec=spec, endpoint=endpoint,
                    folder=Path(ctx.input["folder"]) if ctx.input.get("folder") else None,
                    name=str(ctx.input.get("name") or "item"),
                    output_dir=Path(ctx.input["output_dir"]) if ctx.input.get("output_dir") else None,
                    roots=roots)
    for path in (work.folder, work.output_dir):
        if path is not None and not work.allowed(path.resolve()):
            raise GeneratorError(f"{path} is outside the allowed roots", code="PATH_NOT_ALLOWED", retryable=False)
    if work.folder is not None and not work.folder.is_dir():
        raise GeneratorError(f"folder {work.folder} no longer exists", code="FOLDER_NOT_FOUND", retryable=False)
    return work


def _first(entry: Any) -> Mapping[str, Any]:
    return entry[0] if isinstance(entry, list) and entry else entry


def file_mapped(mapping: Mapping[str, Any]) -> bool:
    """Whether the workflow takes one file at a time (a mapping entry with source ``file``)."""
    return any(_first(e).get("source") == "file" for e in mapping.values())


def mapping_values(work: ItemWork, file_value: Any = None) -> dict[str, Any]:
    """The value of each input-mapping entry for this item (and file), by its source.

    ``parameter`` (the default) takes the task's parameter of that name, else the workflow's,
    else the entry's ``default``; an entry with none of these keeps the graph's own value.
    """
    given = {
        "file": file_value,
        "folder": str(work.folder) if work.folder else None,
        "folder_name": work.name,
        "output_dir": str(work.output_dir) if work.output_dir else None,
    }
    values: dict[str, Any] = {}
    for name, entry in work.spec.input_mapping.items():
        first = _first(entry)
        source = first.get("source", "parameter")
        if source == "parameter":
            if name in work.parameters:
                values[name] = work.parameters[name]
            elif "default" in first:
                values[name] = first["default"]
        elif given.get(source) is not None:
            values[name] = given[source]
    return values


def input_files(work: ItemWork) -> list[Path]:
    """The image files of the item's folder (sorted; none outside the allowed roots)."""
    if work.folder is None:
        raise GeneratorError("this workflow takes files, but the item has no folder: give target_folders",
                             code="NO_INPUT_FOLDER", retryable=False)
    files = sorted(p for p in work.folder.iterdir()
                   if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and work.allowed(p.resolve()))
    return files


def deliver(work: ItemWork, files: list[Path]) -> list[str]:
    """Declare files (already under the job's folder) as artifacts and copy them to the output
    folder; the paths of the copies (or of the artifacts when there is no output folder)."""
    delivered = []
    for path in files:
        relpath = path.relative_to(work.ctx.workdir).as_posix()
        work.ctx.add_artifact(relpath, role="output")
        if work.output_dir is None:
            delivered.append(relpath)
            continue
        work.output_dir.mkdir(parents=True, exist_ok=True)
        target = work.output_dir / path.name
        partial = work.output_dir / f".{path.name}.part"
        shutil.copyfile(path, partial)
        partial.replace(target)
        delivered.append(str(target))
    return delivered


class DoneLog:
    """Input files already processed by an earlier attempt of this stage, so a retry skips them."""

    def __init__(self, ctx: StageContext) -> None:
        self.path = ctx.path("state/done.jsonl")
        self.done: dict[str, list[str]] = {}
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                entry = json.loads(line)
                self.done[entry["input"]] = entry["outputs"]

    def record(self, key: str, outputs: list[str]) -> None:
        self.done[key] = outputs
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"input": key, "outputs": outputs}) + "\n")


def item_outputs(work: ItemWork, outputs: list[str], inputs: int) -> dict[str, Any]:
    return {"folder": work.name, "outputs": outputs, "inputs": inputs}
