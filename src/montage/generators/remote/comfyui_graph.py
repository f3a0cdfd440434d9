"""ComfyUI graphs ("API format" prompts): filling inputs in, and reading why a graph was refused.

A graph is ``{node_id: {"class_type": str, "inputs": {name: value | [node_id, slot]}}}``. A
workflow stores one graph plus an input mapping that says where each of its named inputs goes,
e.g. ``{"image": {"node": "10", "input": "image"}, "seed": {"node": "3", "input": "seed"}}``;
a mapping entry may also be a list of such targets when one value feeds several nodes.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from montage.errors import GeneratorError, ValidationFailed

#: ComfyUI names the node in ``error.details`` when it refuses a graph before looking at inputs
#: (missing or unknown ``class_type``): ``"Node ID '#7'"`` (execution.py, validate_prompt).
_NODE_IN_DETAILS = re.compile(r"Node ID '#([^']+)'")


def _targets(name: str, entry: Any) -> list[tuple[str, str]]:
    """The (node id, input name) pairs of one mapping entry, or a clear error."""
    items = entry if isinstance(entry, list) else [entry]
    targets = []
    for item in items:
        if not isinstance(item, Mapping) or not isinstance(item.get("node"), str | int) \
                or not isinstance(item.get("input"), str) or not item.get("input"):
            raise ValidationFailed(
                f"input mapping {name!r} must be {{'node': <node id>, 'input': <input name>}} "
                f"or a list of those, got {item!r}",
                field=f"input_mapping.{name}",
            )
        targets.append((str(item["node"]), item["input"]))
    return targets


def apply_input_mapping(
    graph: Mapping[str, Any], mapping: Mapping[str, Any], values: Mapping[str, Any]
) -> dict[str, Any]:
    """A deep copy of ``graph`` with each of ``values`` written where ``mapping`` says.

    Values the mapping does not name, and mapping entries that point at nodes the graph does not
    have, are refused with ``ValidationFailed`` naming the field and the allowed choices. Mapped
    names absent from ``values`` leave the graph's own value in place.
    """
    unknown = sorted(set(values) - set(mapping))
    if unknown:
        raise ValidationFailed(
            f"no input mapping for {', '.join(map(repr, unknown))}",
            field=f"inputs.{unknown[0]}", allowed=sorted(mapping),
        )
    result = copy.deepcopy(dict(graph))
    for name, value in values.items():
        for node_id, input_name in _targets(name, mapping[name]):
            node = result.get(node_id)
            if not isinstance(node, dict):
                raise ValidationFailed(
                    f"input mapping {name!r} points at node {node_id!r}, which the graph does not have",
                    field=f"input_mapping.{name}.node", allowed=sorted(result),
                )
            node.setdefault("inputs", {})[input_name] = copy.deepcopy(value)
    return result


def _node_problems(node_errors: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One entry per refused node from ComfyUI's ``node_errors``."""
    problems = []
    for node_id, info in node_errors.items():
        errors = info.get("errors", []) if isinstance(info, Mapping) else []
        messages = [
            f"{e.get('message', '')}: {e.get('details', '')}".rstrip(": ")
            for e in errors if isinstance(e, Mapping)
        ]
        problems.append({
            "node_id": str(node_id),
            "class_type": info.get("class_type") if isinstance(info, Mapping) else None,
            "message": "; ".join(messages) or "invalid",
            "errors": errors,
        })
    return problems


def _problem_from_error(error: Mapping[str, Any], graph: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The node named in a whole-graph error's details, if there is one."""
    match = _NODE_IN_DETAILS.search(str(error.get("details", "")))
    if not match:
        return []
    node_id = match.group(1)
    node = graph.get(node_id)
    class_type = node.get("class_type") if isinstance(node, Mapping) else None
    return [{"node_id": node_id, "class_type": class_type,
             "message": str(error.get("message", "")), "errors": [dict(error)]}]


def graph_rejected(body: Any, graph: Mapping[str, Any]) -> GeneratorError:
    """Map a ``400`` answer of ``POST /prompt`` to ``COMFYUI_GRAPH_REJECTED``.

    ComfyUI answers ``{"error": {"type", "message", "details", "extra_info"}, "node_errors":
    {node_id: {"errors": [...], "dependent_outputs": [...], "class_type": ...}}}``; ``error`` is a
    plain string on some older servers. The raised error carries every refused node's id,
    class_type and message so the workflow's author can find the node.
    """
    body = body if isinstance(body, Mapping) else {}
    raw_error = body.get("error")
    error = raw_error if isinstance(raw_error, Mapping) else {"message": str(raw_error or "invalid prompt")}
    node_errors = body.get("node_errors")
    nodes = _node_problems(node_errors) if isinstance(node_errors, Mapping) else []
    nodes = nodes or _problem_from_error(error, graph)
    summary = "; ".join(f"node {n['node_id']} ({n['class_type']}): {n['message']}" for n in nodes)
    message = f"ComfyUI rejected the graph: {error.get('message', 'invalid prompt')}"
    return GeneratorError(
        f"{message} — {summary}" if summary else message,
        code="COMFYUI_GRAPH_REJECTED", retryable=False,
        error_type=error.get("type"), node_ids=[n["node_id"] for n in nodes], nodes=nodes,
    )
