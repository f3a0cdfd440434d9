"""Node types and graph validation for the fake ComfyUI server, done for real with Pillow.

The node names, inputs and outputs follow ComfyUI's ``nodes.py`` (LoadImage, EmptyImage,
ImageScale, ImageInvert, SaveImage, PreviewImage); two test nodes are added: ``MontageFail``
raises, ``MontageSlow`` takes ``steps`` steps, reporting progress and honouring interrupt.
Validation mirrors ComfyUI's ``execution.validate_prompt``/``validate_inputs``: the same error
``type``/``message``/``details`` strings and the same ``node_errors`` layout.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from PIL import Image, ImageOps


class Interrupted(Exception):
    """Processing interrupted (ComfyUI's InterruptProcessingException)."""


@dataclass
class RunContext:
    """What a node sees while it runs."""

    input_dir: Path
    output_dir: Path
    temp_dir: Path
    step_delay: float
    interrupt: threading.Event
    report_progress: Callable[[int, int], None]
    send_preview: Callable[[Image.Image], None]

    def pause(self, seconds: float) -> None:
        """Simulated work that an interrupt cuts short (like ComfyUI's progress hook)."""
        if self.interrupt.wait(seconds) if seconds > 0 else self.interrupt.is_set():
            raise Interrupted("Processing interrupted")


class NodeType:
    """A node class: required inputs as (type, options), return types, and the work."""

    inputs: ClassVar[dict[str, tuple[Any, dict[str, Any]]]] = {}
    return_types: ClassVar[tuple[str, ...]] = ()
    output_node: ClassVar[bool] = False

    def validate(self, ctx: RunContext, values: dict[str, Any]) -> tuple[str, str] | None:
        """(input name, message) when custom validation (ComfyUI's VALIDATE_INPUTS) fails."""
        return None

    #: ``run(ctx, **inputs)`` returns output values, or ``{"ui": ..., "result": ...}`` for output nodes.
    run: Callable[..., tuple[Any, ...] | dict[str, Any]]


UPSCALE = ["nearest-exact", "bilinear", "area", "bicubic", "lanczos"]
_RESAMPLE = {"nearest-exact": Image.Resampling.NEAREST, "bilinear": Image.Resampling.BILINEAR,
             "area": Image.Resampling.BOX, "bicubic": Image.Resampling.BICUBIC,
             "lanczos": Image.Resampling.LANCZOS}


class LoadImage(NodeType):
    inputs: ClassVar = {"image": ("IMAGEUPLOAD", {"image_upload": True})}
    return_types = ("IMAGE", "MASK")

    def validate(self, ctx: RunContext, values: dict[str, Any]) -> tuple[str, str] | None:
        path = (ctx.input_dir / str(values.get("image", ""))).resolve()
        if not path.is_relative_to(ctx.input_dir.resolve()) or not path.is_file():
            return "image", f"Invalid image file: {values.get('image')}"
        return None

    def run(self, ctx: RunContext, image: str) -> tuple[Any, ...]:
        with Image.open(ctx.input_dir / image) as img:
            loaded = ImageOps.exif_transpose(img).convert("RGBA")
        return loaded.convert("RGB"), loaded.getchannel("A")


class EmptyImage(NodeType):
    inputs: ClassVar = {"width": ("INT", {"default": 512, "min": 1, "max": 16384}),
                        "height": ("INT", {"default": 512, "min": 1, "max": 16384}),
                        "batch_size": ("INT", {"default": 1, "min": 1, "max": 4096}),
                        "color": ("INT", {"default": 0, "min": 0, "max": 0xFFFFFF})}
    return_types = ("IMAGE",)

    def run(self, ctx: RunContext, width: int, height: int, batch_size: int, color: int) -> tuple[Any, ...]:
        rgb = ((color >> 16) & 0xFF, (color >> 8) & 0xFF, color & 0xFF)
        return (Image.new("RGB", (width, height), rgb),)


class ImageScale(NodeType):
    inputs: ClassVar = {"image": ("IMAGE", {}), "upscale_method": (UPSCALE, {}),
                        "width": ("INT", {"default": 512, "min": 0, "max": 16384}),
                        "height": ("INT", {"default": 512, "min": 0, "max": 16384}),
                        "crop": (["disabled", "center"], {})}
    return_types = ("IMAGE",)

    def run(self, ctx: RunContext, image: Image.Image, upscale_method: str, width: int, height: int,
            crop: str) -> tuple[Any, ...]:
        if width == 0 and height == 0:
            return (image,)
        width = width or max(1, round(image.width * height / image.height))
        height = height or max(1, round(image.height * width / image.width))
        if crop == "center":
            return (ImageOps.fit(image, (width, height), _RESAMPLE[upscale_method]),)
        return (image.resize((width, height), _RESAMPLE[upscale_method]),)


class ImageInvert(NodeType):
    inputs: ClassVar = {"image": ("IMAGE", {})}
    return_types = ("IMAGE",)

    def run(self, ctx: RunContext, image: Image.Image) -> tuple[Any, ...]:
        return (ImageOps.invert(image.convert("RGB")),)


class SaveImage(NodeType):
    inputs: ClassVar = {"images": ("IMAGE", {}), "filename_prefix": ("STRING", {"default": "ComfyUI"})}
    output_node = True
    kind = "output"

    def run(self, ctx: RunContext, images: Image.Image, filename_prefix: str = "ComfyUI") -> dict[str, Any]:
        root = ctx.output_dir if self.kind == "output" else ctx.temp_dir
        subfolder, prefix = _split_prefix(filename_prefix)
        folder = (root / subfolder).resolve()
        if not folder.is_relative_to(root.resolve()):
            raise ValueError("Saving image outside the output folder is not allowed.")
        folder.mkdir(parents=True, exist_ok=True)
        counter = _next_counter(folder, prefix)
        name = f"{prefix}_{counter:05}_.png"
        images.save(folder / name, compress_level=1 if self.kind == "temp" else 4)
        return {"ui": {"images": [{"filename": name, "subfolder": subfolder, "type": self.kind}]}}


class PreviewImage(SaveImage):
    inputs: ClassVar = {"images": ("IMAGE", {})}
    kind = "temp"

    def run(self, ctx: RunContext, images: Image.Image,
            filename_prefix: str = "ComfyUI_temp") -> dict[str, Any]:
        return super().run(ctx, images, filename_prefix)


class MontageFail(NodeType):
    """Always raises, so a prompt ends with ``execution_error``."""

    inputs: ClassVar = {"image": ("IMAGE", {}), "message": ("STRING", {"default": "deliberate failure"})}
    return_types = ("IMAGE",)

    def run(self, ctx: RunContext, image: Image.Image, message: str) -> tuple[Any, ...]:
        raise RuntimeError(message)


class MontageSlow(NodeType):
    """Passes its image through after ``steps`` steps, each as long as the server's step delay
    (or ``seconds_per_step`` when that is >= 0), sending ``progress`` and a preview frame."""

    inputs: ClassVar = {"image": ("IMAGE", {}), "steps": ("INT", {"default": 4, "min": 1, "max": 100000}),
                        "seconds_per_step": ("FLOAT", {"default": -1.0, "min": -1.0, "max": 3600.0})}
    return_types = ("IMAGE",)

    def run(self, ctx: RunContext, image: Image.Image, steps: int,
            seconds_per_step: float) -> tuple[Any, ...]:
        delay = ctx.step_delay if seconds_per_step < 0 else seconds_per_step
        for step in range(1, steps + 1):
            ctx.pause(delay)
            ctx.report_progress(step, steps)
            if step == 1:
                ctx.send_preview(image)
        return (image,)


NODE_TYPES: dict[str, type[NodeType]] = {cls.__name__: cls for cls in (
    LoadImage, EmptyImage, ImageScale, ImageInvert, SaveImage, PreviewImage, MontageFail, MontageSlow)}


def _split_prefix(filename_prefix: str) -> tuple[str, str]:
    parts = filename_prefix.replace("\\", "/").rsplit("/", 1)
    return (parts[0], parts[1]) if len(parts) == 2 else ("", parts[0])


def _next_counter(folder: Path, prefix: str) -> int:
    used = [int(p.name[len(prefix) + 1:].split("_")[0]) for p in folder.glob(f"{prefix}_*_.png")
            if p.name[len(prefix) + 1:].split("_")[0].isdigit()]
    return max(used, default=0) + 1


# -- validation, as ComfyUI's execution.validate_prompt does it ---------------------------------

Error = dict[str, Any]


def _error(kind: str, message: str, details: str, **extra_info: Any) -> Error:
    return {"type": kind, "message": message, "details": details, "extra_info": extra_info}


def _convert(name: str, kind: Any, options: dict[str, Any], value: Any) -> tuple[Any, Error | None]:
    """ComfyUI's widget checks: type conversion, min/max, combo membership."""
    converters: dict[str, Callable[[Any], Any]] = {"INT": int, "FLOAT": float, "STRING": str}
    if isinstance(kind, str) and kind in converters:
        try:
            value = converters[kind](value)
        except (TypeError, ValueError) as ex:
            return value, _error("invalid_input_type", f"Failed to convert an input value to a {kind} value",
                                 f"{name}, {value}, {ex}", input_name=name, received_value=value)
    if "min" in options and value < options["min"]:
        return value, _error("value_smaller_than_min", f"Value {value} smaller than min of {options['min']}",
                             name, input_name=name, received_value=value)
    if "max" in options and value > options["max"]:
        return value, _error("value_bigger_than_max", f"Value {value} bigger than max of {options['max']}",
                             name, input_name=name, received_value=value)
    if isinstance(kind, list) and value not in kind:
        return value, _error("value_not_in_list", "Value not in list", f"{name}: '{value}' not in {kind}",
                             input_name=name, received_value=value)
    return value, None


def _check_link(prompt: dict[str, Any], name: str, kind: Any, link: list[Any]) -> Error | None:
    if len(link) != 2:
        return _error("bad_linked_input",
                      "Bad linked input, must be a length-2 list of [node_id, slot_index]",
                      name, input_name=name, received_value=link)
    # Like ComfyUI, a link to a node the graph lacks raises here (KeyError) and is reported
    # against the output being validated as "exception_during_validation".
    received = NODE_TYPES[prompt[link[0]]["class_type"]].return_types[link[1]]
    if received != kind:
        return _error("return_type_mismatch", "Return type mismatch between linked nodes",
                      f"{name}, received_type({received}) mismatch input_type({kind})",
                      input_name=name, received_type=received, linked_node=link)
    return None


def _validate_node(prompt: dict[str, Any], node_id: str, validated: dict[str, Any],
                   ctx: RunContext) -> tuple[bool, list[Error]]:
    if node_id in validated:
        return validated[node_id]
    node = prompt[node_id]
    cls = NODE_TYPES[node["class_type"]]
    inputs = node.setdefault("inputs", {})
    errors: list[Error] = []
    valid = True
    for name, (kind, options) in cls.inputs.items():
        if name not in inputs:
            errors.append(_error("required_input_missing", "Required input is missing", name,
                                 input_name=name))
        elif isinstance(inputs[name], list):
            error = _check_link(prompt, name, kind, inputs[name])
            if error is None:
                valid = _validate_node(prompt, str(inputs[name][0]), validated, ctx)[0] and valid
            else:
                errors.append(error)
        else:
            inputs[name], error = _convert(name, kind, options, inputs[name])
            errors += [error] if error else []
    problem = cls().validate(ctx, inputs) if not errors else None
    if problem:
        errors.append(_error("custom_validation_failed", "Custom validation failed for node",
                             f"{problem[0]} - {problem[1]}", input_name=problem[0]))
    validated[node_id] = (valid and not errors, errors)
    return validated[node_id]


def _validate_output(prompt: dict[str, Any], output: str, validated: dict[str, Any],
                     ctx: RunContext) -> tuple[bool, list[Error]]:
    try:
        return _validate_node(prompt, output, validated, ctx)
    except Exception as ex:
        reasons = [_error("exception_during_validation", "Exception when validating node", str(ex),
                          exception_type=type(ex).__qualname__,
                          traceback=traceback.format_tb(sys.exc_info()[2]))]
        validated[output] = (False, reasons)
        return False, reasons


def _graph_error(prompt: Any) -> Error | None:
    """The whole-graph problems ComfyUI reports before looking at inputs."""
    if not isinstance(prompt, dict):
        return _error("invalid_prompt", "Cannot execute because the prompt is not an object.", "")
    for node_id, node in prompt.items():
        if not isinstance(node, dict) or "class_type" not in node:
            return _error("invalid_prompt",
                          "Cannot execute because a node is missing the class_type property.",
                          f"Node ID '#{node_id}'")
        if node["class_type"] not in NODE_TYPES:
            return _error("invalid_prompt",
                          f"Cannot execute because node {node['class_type']} does not exist.",
                          f"Node ID '#{node_id}'")
    if not any(NODE_TYPES[n["class_type"]].output_node for n in prompt.values()):
        return _error("prompt_no_outputs", "Prompt has no outputs", "")
    return None


def validate_prompt(prompt: Any, ctx: RunContext) -> tuple[bool, Error | None, list[str], dict[str, Any]]:
    """(valid, error, outputs to execute, node_errors), shaped like ComfyUI's."""
    error = _graph_error(prompt)
    if error is not None:
        return False, error, [], {}
    outputs = [nid for nid, n in prompt.items() if NODE_TYPES[n["class_type"]].output_node]
    validated: dict[str, Any] = {}
    good: list[str] = []
    failures: list[list[Error]] = []
    node_errors: dict[str, Any] = {}
    for output in outputs:
        ok, reasons = _validate_output(prompt, output, validated, ctx)
        if ok:
            good.append(output)
            continue
        failures.append(reasons)
        for node_id, (node_ok, node_reasons) in validated.items():
            if not node_ok and node_reasons:
                entry = node_errors.setdefault(node_id, {"errors": node_reasons, "dependent_outputs": [],
                                                         "class_type": prompt[node_id]["class_type"]})
                entry["dependent_outputs"].append(output)
    if not good:
        details = "\n".join(f"{r['message']}: {r['details']}" for reasons in failures for r in reasons)
        error = _error("prompt_outputs_failed_validation", "Prompt outputs failed validation", details)
        return False, error, [], node_errors
    return True, None, good, node_errors
