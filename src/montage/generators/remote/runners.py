"""Batch items on remote servers: a workflow run on a ComfyUI server or an http generator service.

Both run the workflow once per image of the item's folder when an input-mapping entry has
``source: "file"`` (uploading each image), else once for the item. They follow the remote work
with ``ctx.check_cancelled`` (a cancel stops it on the server too), download what it made into
the job's assets and copy it to ``output_root/<folder>/``. Files finished by an earlier attempt
of the stage are not sent again. Node errors become the item's error: ``COMFYUI_GRAPH_REJECTED``
(naming each refused node), ``COMFYUI_EXECUTION_ERROR``, ``HTTP_GENERATOR_REJECTED`` / ``_FAILED``.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, TypeVar, cast

from montage.errors import GeneratorError, ValidationFailed
from montage.generators.base import GeneratorConfig, StageContext
from montage.generators.builtin.batch.items import (
    OUTPUTS,
    DoneLog,
    ItemWork,
    begin_item,
    deliver,
    file_mapped,
    input_files,
    item_outputs,
    mapping_values,
)
from montage.generators.registry import register
from montage.generators.remote.comfyui import ComfyUIClient
from montage.generators.remote.comfyui_graph import apply_input_mapping
from montage.generators.remote.http_generator import HttpGeneratorClient
from montage.generators.standalone import guess_mime

_Client = TypeVar("_Client", ComfyUIClient, HttpGeneratorClient)


class _Empty(GeneratorConfig):
    pass


_clients = threading.local()


def _cached(kind: type[_Client], url: str) -> _Client:
    """This thread's client of the server at ``url``, kept across items: making one costs more than a
    dispatch (a TLS context, a connection, for ComfyUI a websocket). One thread follows one item at a
    time, and a client follows one prompt at a time."""
    cache: dict[tuple[type, str], Any] = getattr(_clients, "cache", None) or {}
    _clients.cache = cache
    client = cache.get((kind, url))
    if client is None:
        client = cache[(kind, url)] = kind(url)
    return cast(_Client, client)


def _max_wait(ctx: StageContext) -> float:
    """How long one remote run may take (the item as a whole is bounded by the batch's timeout)."""
    return float(ctx.setting("default_timeout_s", 3600.0))


def _scaled(ctx: StageContext, index: int, count: int) -> Callable[[float, str], None]:
    def report(percent: float, message: str) -> None:
        ctx.progress((index + percent / 100.0) / count * 100.0, f"{index + 1}/{count}: {message}")
    return report


def _named_after(files: list[Path], source: Path | None) -> list[Path]:
    """Name a run's outputs after its input (``cat.png`` → ``cat.png``, ``cat_2.png`` …)."""
    if source is None:
        return files
    renamed = []
    for k, path in enumerate(files, start=1):
        target = path.with_name(f"{source.stem}{'' if k == 1 else f'_{k}'}{path.suffix}")
        path.replace(target)
        renamed.append(target)
    return renamed


def _run_each(work: ItemWork, run_one: Callable[[int, Path | None, Path], list[Path]]) -> dict[str, Any]:
    """Run ``run_one(index, input file or None, download folder)`` per input, skipping done ones."""
    per_file = file_mapped(work.spec.input_mapping)
    inputs: list[Path | None] = list(input_files(work)) if per_file else [None]
    done, outputs = DoneLog(work.ctx), []
    for index, source in enumerate(inputs):
        key = source.name if source is not None else "-"
        if key in done.done:
            outputs += done.done[key]
            continue
        work.ctx.check_cancelled()
        files = run_one(index, source, work.ctx.workdir / OUTPUTS / f"{index:05d}")
        delivered = deliver(work, _named_after(files, source))
        done.record(key, delivered)
        outputs += delivered
    return item_outputs(work, outputs, len(inputs) if per_file else 0)


def _invalid(exc: ValidationFailed) -> GeneratorError:
    return GeneratorError(f"the workflow cannot run: {exc.message}", code="WORKFLOW_INVALID", retryable=False,
                          field=exc.details.get("field"))


def _output_nodes(output_mapping: Mapping[str, Any]) -> list[str] | None:
    entries = [e for v in output_mapping.values() for e in (v if isinstance(v, list) else [v])]
    nodes = [str(e["node"]) for e in entries if isinstance(e, Mapping) and "node" in e]
    return nodes or None


def _start(ctx: StageContext, client_type: type[_Client]) -> tuple[ItemWork, int, _Client]:
    """The item's work, how many inputs it runs over, and the cached client of its server."""
    work = begin_item(ctx)
    assert work.endpoint is not None
    count = len(input_files(work)) if file_mapped(work.spec.input_mapping) else 1
    return work, count, _cached(client_type, work.endpoint.url)


@register
class ComfyWorkflowRunner:
    """Run a ComfyUI (API format) workflow on the item's server."""

    name: ClassVar[str] = "remote.comfyui_workflow"
    Config: ClassVar[type[GeneratorConfig]] = _Empty

    def run(self, ctx: StageContext, config: Any) -> dict[str, Any]:
        work, count, client = _start(ctx, ComfyUIClient)

        def run_one(index: int, source: Path | None, dest: Path) -> list[Path]:
            uploaded = (client.upload_image(source, subfolder=f"montage/{ctx.job_id}", overwrite=True)
                        if source is not None else None)
            try:
                graph = apply_input_mapping(work.spec.workflow_config, work.spec.input_mapping,
                                            mapping_values(work, uploaded))
            except ValidationFailed as exc:
                raise _invalid(exc) from None
            result = client.run(graph, dest, _scaled(ctx, index, count), ctx.check_cancelled,
                                output_nodes=_output_nodes(work.spec.output_mapping), max_wait=_max_wait(ctx))
            return result.files

        return _run_each(work, run_one)


def _public_base(ctx: StageContext) -> str:
    configured = ctx.setting("public_url")
    if configured:
        return str(configured).rstrip("/")
    host = str(ctx.setting("host", "127.0.0.1"))
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{ctx.setting('port', 8000)}"


def _http_request(work: ItemWork, file_value: dict[str, Any] | None) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(task, inputs, params): the workflow's, with each mapped value at its ``input`` or ``param``."""
    config = work.spec.workflow_config
    inputs, params = dict(config.get("inputs") or {}), {**work.parameters, **(config.get("params") or {})}
    for name, value in mapping_values(work, file_value).items():
        entry = work.spec.input_mapping[name]
        for target in entry if isinstance(entry, list) else [entry]:
            if "param" in target:
                params[str(target["param"])] = value
            else:
                inputs[str(target.get("input") or name)] = value
    return str(config["task"]), inputs, params


@register
class HttpWorkflowRunner:
    """Run a task of a service speaking the generic http generator protocol."""

    name: ClassVar[str] = "remote.http_workflow"
    Config: ClassVar[type[GeneratorConfig]] = _Empty

    def run(self, ctx: StageContext, config: Any) -> dict[str, Any]:
        work, count, client = _start(ctx, HttpGeneratorClient)

        def run_one(index: int, source: Path | None, dest: Path) -> list[Path]:
            task, inputs, params = _http_request(work, _shared_input(ctx, source))
            key = f"{ctx.job_id}:{ctx.stage}:{ctx.attempt}:{index}"
            result = client.run(task, inputs, params, dest, _scaled(ctx, index, count), ctx.check_cancelled,
                                idempotency_key=key, max_wait=_max_wait(ctx))
            return result.files

        return _run_each(work, run_one)


def _shared_input(ctx: StageContext, source: Path | None) -> dict[str, Any] | None:
    """An input file as the protocol passes it: a URL montage serves it at (and its path)."""
    if source is None:
        return None
    relpath = f"inputs/{source.name}"
    shutil.copyfile(source, ctx.path(relpath))
    ctx.add_artifact(relpath, role="input")
    return {"url": f"{_public_base(ctx)}/assets/{ctx.job_id}/{relpath}", "path": str(source),
            "name": source.name, "mime": guess_mime(source.name)}
