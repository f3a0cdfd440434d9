"""A batch item of a local workflow: this montage's executors run its image nodes on the item's
folder, with Pillow, and write the results to the job's assets and the output folder."""

from __future__ import annotations

from typing import Any, ClassVar

from montage.errors import GeneratorError, ValidationFailed
from montage.generators.base import GeneratorConfig, StageContext
from montage.generators.builtin.batch.items import (
    OUTPUTS,
    ItemWork,
    begin_item,
    deliver,
    item_outputs,
    mapping_values,
)
from montage.generators.builtin.doc.fonts import undrawn_warning
from montage.generators.builtin.images import text
from montage.generators.builtin.images.graph import (
    GraphRun,
    NodeSpec,
    node_list,
    outputs_wanted,
    parse_nodes,
    run_graph,
)
from montage.generators.registry import register
from montage.generators.remote import apply_input_mapping


class _Empty(GeneratorConfig):
    pass


def prepared_nodes(work: ItemWork) -> tuple[list[NodeSpec], list[str]]:
    """The workflow's nodes with this item's inputs written in, checked; and the nodes to write."""
    graph = {node["id"]: node for node in node_list(work.spec.workflow_config)}
    try:
        filled = apply_input_mapping(graph, work.spec.input_mapping, mapping_values(work))
        specs = parse_nodes({"nodes": list(filled.values())})
        return specs, outputs_wanted(specs, work.spec.output_mapping)
    except ValidationFailed as exc:
        raise GeneratorError(f"the workflow cannot run: {exc.message}", code="WORKFLOW_INVALID",
                             retryable=False, field=exc.details.get("field")) from None


def warn_undrawable(ctx: StageContext, specs: list[NodeSpec]) -> None:
    """A warning in the job's log for each watermark with characters no installed font has."""
    for spec in specs:
        missing = text.undrawable(spec.inputs.text) if spec.type == "watermark" else []
        if missing:
            ctx.log(f"node {spec.id} (watermark): {undrawn_warning(missing)}", "warning")


@register
class LocalWorkflowRunner:
    """Run a local (image nodes) workflow on one batch item."""

    name: ClassVar[str] = "images.run_workflow"
    Config: ClassVar[type[GeneratorConfig]] = _Empty

    def run(self, ctx: StageContext, config: Any) -> dict[str, Any]:
        work = begin_item(ctx)
        specs, wanted = prepared_nodes(work)
        warn_undrawable(ctx, specs)
        out_dir = ctx.workdir / OUTPUTS
        run = GraphRun(folder=work.folder, out_dir=out_dir, allowed=work.allowed,
                       check_cancelled=ctx.check_cancelled, progress=ctx.progress)
        try:
            files = run_graph(specs, wanted, run)
        except ValidationFailed as exc:
            raise GeneratorError(exc.message, code="WORKFLOW_INVALID", retryable=False) from None
        return item_outputs(work, deliver(work, files), run.loaded)
