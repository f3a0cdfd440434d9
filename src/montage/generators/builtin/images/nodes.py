"""The image nodes of local workflows, with Pillow: each a pydantic model of its inputs and a
function from a list of images to a list of images.

``load_images`` (a folder's images) and ``save`` (write them) are handled by the graph runner;
the rest transform: ``resize``, ``crop``, ``watermark``, ``thumbnail``, ``contact_sheet``,
``convert`` (format and colour mode), ``grayscale``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

from PIL import Image, ImageDraw, ImageOps
from pydantic import BaseModel, ConfigDict, Field

from montage.generators.builtin.images import text

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff")
FORMATS = {"png": "PNG", "jpeg": "JPEG", "jpg": "JPEG", "webp": "WEBP", "bmp": "BMP", "tiff": "TIFF",
           "gif": "GIF"}
EXTENSIONS = {"PNG": ".png", "JPEG": ".jpg", "WEBP": ".webp", "BMP": ".bmp", "TIFF": ".tif", "GIF": ".gif"}
Anchor = Literal["center", "top-left", "top-right", "bottom-left", "bottom-right", "top", "bottom", "left",
                 "right"]
Color = tuple[int, int, int]
_LABEL_PX = 12


@dataclass(frozen=True)
class NamedImage:
    """An image on its way through a graph: its stem, pixels and the format to save it in."""

    name: str
    image: Image.Image
    format: str | None = None  # a Pillow format name; None: what the source was, else PNG
    quality: int = 90


class NodeInputs(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoadInputs(NodeInputs):
    folder: str | None = Field(None, description="Folder to read; by default the batch item's folder.")
    pattern: str = Field("*", description="Glob of file names to read, e.g. '*.png'.")
    recursive: bool = Field(False, description="Read sub-folders too.")
    limit: int | None = Field(None, ge=1, le=100_000, description="Read at most this many files.")


class SaveInputs(NodeInputs):
    format: str | None = Field(None, description="png, jpeg, webp, bmp, tiff or gif; default: as it came.")
    quality: int | None = Field(None, ge=1, le=100, description="JPEG/WebP quality.")
    prefix: str = Field("", max_length=100)
    suffix: str = Field("", max_length=100)


class ResizeInputs(NodeInputs):
    width: int | None = Field(None, ge=1, le=20000)
    height: int | None = Field(None, ge=1, le=20000)
    mode: Literal["fit", "fill", "stretch"] = "fit"
    upscale: bool = Field(False, description="Enlarge images smaller than the box (fit mode).")


class CropInputs(NodeInputs):
    width: int | None = Field(None, ge=1, le=20000)
    height: int | None = Field(None, ge=1, le=20000)
    anchor: Anchor = "center"
    box: tuple[int, int, int, int] | None = Field(None, description="[left, top, right, bottom] in pixels.")


class WatermarkInputs(NodeInputs):
    text: str = Field("montage", max_length=200)
    position: Anchor = "bottom-right"
    opacity: float = Field(0.5, ge=0.0, le=1.0)
    size: int = Field(0, ge=0, le=1000, description="Font size in pixels; 0: 1/20 of the image's height.")
    color: Color = (255, 255, 255)
    margin: int = Field(8, ge=0, le=1000)
    outline: bool = Field(True, description="A thin outline in a contrasting colour, so the text shows on "
                                            "light and dark images alike.")


class ThumbnailInputs(NodeInputs):
    size: int = Field(256, ge=8, le=4096)


class ContactSheetInputs(NodeInputs):
    columns: int = Field(4, ge=1, le=100)
    cell: int = Field(256, ge=16, le=2048)
    padding: int = Field(8, ge=0, le=200)
    background: Color = (255, 255, 255)
    labels: bool = True
    name: str = Field("contact_sheet", min_length=1, max_length=100)


class ConvertInputs(NodeInputs):
    format: str | None = Field(None, description="png, jpeg, webp, bmp, tiff or gif.")
    quality: int = Field(90, ge=1, le=100)
    mode: Literal["RGB", "RGBA", "L"] | None = None


class GrayscaleInputs(NodeInputs):
    pass


def pillow_format(name: str | None) -> str | None:
    if name is None:
        return None
    try:
        return FORMATS[name.lower()]
    except KeyError:
        raise ValueError(f"format must be one of: {', '.join(sorted(FORMATS))} (got {name!r})") from None


def _resize(images: list[NamedImage], p: ResizeInputs) -> list[NamedImage]:
    def one(img: Image.Image) -> Image.Image:
        width, height = p.width or img.width, p.height or img.height
        if p.mode == "stretch":
            return img.resize((width, height), Image.Resampling.LANCZOS)
        if p.mode == "fill":
            return ImageOps.fit(img, (width, height), Image.Resampling.LANCZOS)
        if not p.upscale and img.width <= width and img.height <= height:
            return img
        return ImageOps.contain(img, (width, height), Image.Resampling.LANCZOS)
    return [replace(n, image=one(n.image)) for n in images]


def _anchor_box(size: tuple[int, int], inner: tuple[int, int], anchor: str, margin: int = 0) -> tuple[int, int]:
    """Top-left corner of ``inner`` placed at ``anchor`` inside ``size``."""
    (w, h), (iw, ih) = size, inner
    x = margin if "left" in anchor else w - iw - margin if "right" in anchor else (w - iw) // 2
    y = margin if "top" in anchor else h - ih - margin if "bottom" in anchor else (h - ih) // 2
    return x, y


def _crop(images: list[NamedImage], p: CropInputs) -> list[NamedImage]:
    def one(img: Image.Image) -> Image.Image:
        if p.box is not None:
            left, top, right, bottom = p.box
            return img.crop((max(0, left), max(0, top), min(img.width, right), min(img.height, bottom)))
        width, height = min(p.width or img.width, img.width), min(p.height or img.height, img.height)
        x, y = _anchor_box(img.size, (width, height), p.anchor)
        return img.crop((x, y, x + width, y + height))
    return [replace(n, image=one(n.image)) for n in images]


def _watermark(images: list[NamedImage], p: WatermarkInputs) -> list[NamedImage]:
    alpha = round(255 * p.opacity)
    fill = (*p.color, alpha)
    light = 0.299 * p.color[0] + 0.587 * p.color[1] + 0.114 * p.color[2] >= 128
    outline = ((0, 0, 0) if light else (255, 255, 255), alpha)

    def one(img: Image.Image) -> Image.Image:
        base = img.convert("RGBA")
        size = p.size or max(10, base.height // 20)
        stroke = max(1, round(size / 16)) if p.outline else 0
        layer = Image.new("RGBA", base.size, (0, 0, 0, 0))
        width, height, _ = text.text_size(p.text, size, stroke)
        x, y = _anchor_box(base.size, (width, height), p.position, p.margin)
        text.draw_line(ImageDraw.Draw(layer), (x, y), p.text, size, fill, stroke, (*outline[0], outline[1]))
        marked = Image.alpha_composite(base, layer)
        return marked if img.mode == "RGBA" else marked.convert("RGB")
    return [replace(n, image=one(n.image)) for n in images]


def _thumbnail(images: list[NamedImage], p: ThumbnailInputs) -> list[NamedImage]:
    def one(img: Image.Image) -> Image.Image:
        copy = img.copy()
        copy.thumbnail((p.size, p.size), Image.Resampling.LANCZOS)
        return copy
    return [replace(n, image=one(n.image)) for n in images]


def _contact_sheet(images: list[NamedImage], p: ContactSheetInputs) -> list[NamedImage]:
    if not images:
        return []
    # Images are never enlarged (a small one stays sharp), and cells are no larger than the
    # largest image: a sheet of 64 px thumbnails is a compact grid, not specks in 256 px cells.
    size = min(p.cell, max(max(n.image.size) for n in images))
    label_h = _LABEL_PX + 6 if p.labels else 0
    columns = min(p.columns, len(images))
    rows = -(-len(images) // columns)
    step_x, step_y = size + p.padding, size + label_h + p.padding
    sheet = Image.new("RGB", (p.padding + columns * step_x, p.padding + rows * step_y), p.background)
    draw = ImageDraw.Draw(sheet)
    for i, named in enumerate(images):
        cell = named.image.convert("RGB")
        if cell.width > size or cell.height > size:
            cell = ImageOps.contain(cell, (size, size), Image.Resampling.LANCZOS)
        x0, y0 = p.padding + (i % columns) * step_x, p.padding + (i // columns) * step_y
        sheet.paste(cell, (x0 + (size - cell.width) // 2, y0 + (size - cell.height) // 2))
        if p.labels:
            text.draw_line(draw, (x0, y0 + size + 2), text.fit(named.name, _LABEL_PX, size), _LABEL_PX, (40, 40, 40))
    return [NamedImage(name=p.name, image=sheet, format="PNG")]


def _convert(images: list[NamedImage], p: ConvertInputs) -> list[NamedImage]:
    fmt = pillow_format(p.format)
    mode = p.mode or ("RGB" if fmt == "JPEG" else None)
    return [replace(n, image=n.image.convert(mode) if mode and n.image.mode != mode else n.image,
                    format=fmt or n.format, quality=p.quality) for n in images]


def _grayscale(images: list[NamedImage], p: GrayscaleInputs) -> list[NamedImage]:
    return [replace(n, image=ImageOps.grayscale(n.image)) for n in images]


@dataclass(frozen=True)
class NodeType:
    inputs: type[NodeInputs]
    apply: Callable[[list[NamedImage], Any], list[NamedImage]] | None
    description: str


NODE_TYPES: dict[str, NodeType] = {
    "load_images": NodeType(LoadInputs, None, "Read the images of a folder (the batch item's by default)."),
    "save": NodeType(SaveInputs, None, "Write its images to the item's output folder."),
    "resize": NodeType(ResizeInputs, _resize, "Fit into, fill or stretch to width × height."),
    "crop": NodeType(CropInputs, _crop, "Cut width × height at an anchor, or a box."),
    "watermark": NodeType(WatermarkInputs, _watermark, "Draw text over each image."),
    "thumbnail": NodeType(ThumbnailInputs, _thumbnail, "Shrink to fit size × size."),
    "contact_sheet": NodeType(ContactSheetInputs, _contact_sheet, "One grid image of all its images."),
    "convert": NodeType(ConvertInputs, _convert, "Change the format to save in, and the colour mode."),
    "grayscale": NodeType(GrayscaleInputs, _grayscale, "Make each image grey."),
}
