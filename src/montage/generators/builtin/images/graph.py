"""Local workflows: a list of image nodes, checked once, then run over a folder's images.

``{"nodes": [{"id": "small", "type": "resize", "from": "load", "inputs": {"width": 512}}, ...]}``.
Each node takes the images of the node named by ``from`` (by default the one before it);
``load_images`` starts a chain. What gets written: the nodes named in ``output_mapping``
(``{name: {"node": id}}``), else every ``save`` node, else the last node.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps
from pydantic import ValidationError

from montage.errors import ValidationFailed
from montage.generators.builtin.images.nodes import (
    EXTENSIONS,
    IMAGE_SUFFIXES,
    NODE_TYPES,
    LoadInputs,
    NamedImage,
    NodeInputs,
    SaveInputs,
    pillow_format,
)

MAX_NODES = 200


@dataclass(frozen=True)
class NodeSpec:
    id: str
    type: str
    source: str | None
    inputs: Any  # the node type's NodeInputs


def node_list(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The raw nodes of a local workflow config, each with an ``id`` (its position if it had none)."""
    raw = config.get("nodes") or []
    if not isinstance(raw, list) or len(raw) > MAX_NODES:
        raise ValidationFailed(f"workflow_config.nodes must be a list of at most {MAX_NODES} nodes",
                               field="workflow_config.nodes")
    nodes = []
    for index, node in enumerate(raw):
        if not isinstance(node, Mapping):
            raise ValidationFailed(f"workflow_config.nodes[{index}] must be an object",
                                   field=f"workflow_config.nodes[{index}]")
        nodes.append({**node, "id": str(node.get("id") or index + 1)})
    return nodes


def parse_nodes(config: Mapping[str, Any]) -> list[NodeSpec]:
    """Check every node (type, inputs, where its images come from); ``ValidationFailed`` names it."""
    specs: list[NodeSpec] = []
    for index, node in enumerate(node_list(config)):
        where = f"workflow_config.nodes[{index}]"
        if node["id"] in {s.id for s in specs}:
            raise ValidationFailed(f"{where}: node id {node['id']!r} is used twice", field=f"{where}.id")
        kind = node.get("type")
        if kind not in NODE_TYPES:
            raise ValidationFailed(f"{where}: unknown node type {kind!r}", field=f"{where}.type", received=kind,
                                   allowed=sorted(NODE_TYPES))
        specs.append(NodeSpec(node["id"], str(kind), _source(node, specs, where),
                              _inputs(NODE_TYPES[str(kind)].inputs, node.get("inputs"), where)))
    return specs


def _source(node: Mapping[str, Any], earlier: list[NodeSpec], where: str) -> str | None:
    if node.get("type") == "load_images":
        return None
    source = node.get("from", earlier[-1].id if earlier else None)
    if source is None or str(source) not in {s.id for s in earlier}:
        raise ValidationFailed(f"{where}: 'from' must name an earlier node (got {source!r})", field=f"{where}.from",
                               allowed=[s.id for s in earlier])
    return str(source)


def _inputs(model: type[NodeInputs], raw: Any, where: str) -> NodeInputs:
    try:
        inputs = model.model_validate(raw or {})
        pillow_format(getattr(inputs, "format", None))
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"])
        raise ValidationFailed(f"{where}.inputs.{name}: {first['msg']}", field=f"{where}.inputs.{name}") from None
    except ValueError as exc:
        raise ValidationFailed(f"{where}.inputs.format: {exc}", field=f"{where}.inputs.format") from None
    return inputs


def outputs_wanted(specs: list[NodeSpec], output_mapping: Mapping[str, Any]) -> list[str]:
    """Ids of the nodes whose images are written."""
    named = [str(e.get("node")) for e in _entries(output_mapping)]
    unknown = [n for n in named if n not in {s.id for s in specs}]
    if unknown:
        raise ValidationFailed(f"output_mapping names node {unknown[0]!r}, which the workflow does not have",
                               field="output_mapping", allowed=[s.id for s in specs])
    if named:
        return named
    saves = [s.id for s in specs if s.type == "save"]
    return saves or ([specs[-1].id] if specs else [])


def _entries(mapping: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    for entry in mapping.values():
        yield from (entry if isinstance(entry, list) else [entry])


@dataclass
class GraphRun:
    """Where a run reads from and writes to, and how it reports."""

    folder: Path | None
    out_dir: Path
    allowed: Callable[[Path], bool]
    check_cancelled: Callable[[], None]
    progress: Callable[[float, str], None]
    loaded: int = 0  # images read, over all load_images nodes


def run_graph(specs: list[NodeSpec], wanted: list[str], run: GraphRun) -> list[Path]:
    """Run the nodes in order; the files written, in the order written."""
    results: dict[str, list[NamedImage]] = {}
    last_use = {s.source: i for i, s in enumerate(specs) if s.source is not None}
    written: list[Path] = []
    taken: set[str] = set()
    for index, spec in enumerate(specs):
        run.check_cancelled()
        if spec.type == "load_images":
            images = load_images(spec.inputs, run)
        else:
            images = results[spec.source or ""]
            apply = NODE_TYPES[spec.type].apply
            images = apply(images, spec.inputs) if apply is not None else images
        if spec.id in wanted:
            save = spec.inputs if spec.type == "save" else SaveInputs.model_validate({})
            written += [save_image(n, save, run.out_dir, taken) for n in images]
        results[spec.id] = images
        for done in [k for k, last in last_use.items() if last == index and k not in wanted]:
            results.pop(done, None)  # nothing later reads it: let the memory go
        run.progress(100.0 * (index + 1) / len(specs), f"node {spec.id} ({spec.type}): {len(images)} images")
    return written


def load_images(inputs: LoadInputs, run: GraphRun) -> list[NamedImage]:
    folder = Path(inputs.folder) if inputs.folder else run.folder
    if folder is None:
        raise ValidationFailed("load_images has no folder: map one (source 'folder') or give inputs.folder",
                               field="inputs.folder")
    folder = folder.resolve()
    if not run.allowed(folder) or not folder.is_dir():
        raise ValidationFailed(f"{folder} is not a folder inside the allowed roots", field="inputs.folder")
    pattern = folder.rglob(inputs.pattern) if inputs.recursive else folder.glob(inputs.pattern)
    paths = sorted(p for p in pattern if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
                   and run.allowed(p.resolve()))
    images = []
    for path in paths[:inputs.limit]:
        run.check_cancelled()
        images.append(_open(path, folder))
    run.loaded += len(images)
    return images


def _open(path: Path, folder: Path) -> NamedImage:
    with Image.open(path) as img:
        img.load()
        fmt = img.format
        upright = ImageOps.exif_transpose(img)
    stem = str(path.relative_to(folder).with_suffix("")).replace(os.sep, "__")
    return NamedImage(name=stem, image=upright, format=fmt if fmt in EXTENSIONS else None)


def save_image(named: NamedImage, inputs: SaveInputs, out_dir: Path, taken: set[str]) -> Path:
    """Write one image (atomically: a crash leaves no half file); names never repeat in one run."""
    fmt = pillow_format(inputs.format) or named.format or "PNG"
    image = named.image
    if fmt == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    base = f"{inputs.prefix}{named.name}{inputs.suffix}"
    name, n = base, 1
    while f"{name}{EXTENSIONS[fmt]}".casefold() in taken:
        n += 1
        name = f"{base}-{n}"
    filename = f"{name}{EXTENSIONS[fmt]}"
    taken.add(filename.casefold())
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / filename
    partial = out_dir / f".{filename}.part"
    options = {"quality": inputs.quality or named.quality} if fmt in ("JPEG", "WEBP") else {}
    image.save(partial, format=fmt, **options)
    os.replace(partial, target)
    return target
