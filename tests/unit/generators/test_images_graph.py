"""Local image workflows: nodes checked up front, then run for real with Pillow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from montage.errors import ValidationFailed
from montage.generators.builtin.doc.fonts import font_chains
from montage.generators.builtin.images.graph import GraphRun, outputs_wanted, parse_nodes, run_graph
from montage.generators.builtin.images.nodes import NODE_TYPES, ContactSheetInputs, NamedImage, WatermarkInputs
from montage.generators.builtin.images.runner import warn_undrawable
from montage.services.builtin_workflows import LOCAL_IMAGE


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "cats"
    folder.mkdir()
    for i, size in enumerate([(400, 300), (120, 160), (2000, 1000)]):
        Image.new("RGB", size, (30 * i, 90, 200)).save(folder / f"cat{i}.png")
    (folder / "notes.txt").write_text("not an image")
    return folder


def run(nodes: list[dict], folder: Path, out: Path, output_mapping: dict | None = None) -> list[Path]:
    specs = parse_nodes({"nodes": nodes})
    job = GraphRun(folder=folder, out_dir=out, allowed=lambda p: True, check_cancelled=lambda: None,
                   progress=lambda p, m: None)
    return run_graph(specs, outputs_wanted(specs, output_mapping or {}), job)


def test_the_builtin_workflow_resizes_watermarks_thumbnails_and_makes_a_contact_sheet(folder: Path,
                                                                                       tmp_path: Path) -> None:
    specs = parse_nodes(LOCAL_IMAGE["workflow_config"])
    wanted = outputs_wanted(specs, LOCAL_IMAGE["output_mapping"])
    job = GraphRun(folder=folder, out_dir=tmp_path / "out", allowed=lambda p: True, check_cancelled=lambda: None,
                   progress=lambda p, m: None)
    written = run_graph(specs, wanted, job)
    names = sorted(p.name for p in written)
    assert names == ["cat0.jpg", "cat0_thumb.png", "cat1.jpg", "cat1_thumb.png", "cat2.jpg", "cat2_thumb.png",
                     "contact_sheet.png"]
    assert job.loaded == 3
    with Image.open(tmp_path / "out" / "cat2.jpg") as big:
        assert big.format == "JPEG" and big.size == (1024, 512)  # fit into 1024 × 1024
    with Image.open(tmp_path / "out" / "cat1.jpg") as small:
        assert small.size == (120, 160)  # never enlarged
    with Image.open(tmp_path / "out" / "cat2_thumb.png") as thumb:
        assert max(thumb.size) == 256
    with Image.open(tmp_path / "out" / "contact_sheet.png") as sheet:
        assert sheet.width == 8 + 3 * (256 + 8)


def test_watermark_draws_only_in_its_corner(folder: Path, tmp_path: Path) -> None:
    nodes = [{"id": "load", "type": "load_images", "inputs": {"pattern": "cat0.*"}},
             {"id": "mark", "type": "watermark", "inputs": {"text": "montage", "opacity": 1.0}},
             {"id": "save", "type": "save", "inputs": {"format": "png"}}]
    [written] = run(nodes, folder, tmp_path / "out")
    with Image.open(folder / "cat0.png") as original, Image.open(written) as marked:
        changed = [(x, y) for x in range(0, original.width, 2) for y in range(0, original.height, 2)
                   if original.getpixel((x, y)) != marked.getpixel((x, y))]
    assert changed, "the watermark left no mark"
    assert min(x for x, _ in changed) > original.width / 2 and min(y for _, y in changed) > original.height * 0.8


def test_crop_convert_and_grayscale(folder: Path, tmp_path: Path) -> None:
    nodes = [{"id": "load", "type": "load_images", "inputs": {"pattern": "cat0.*"}},
             {"id": "crop", "type": "crop", "inputs": {"width": 100, "height": 50, "anchor": "top-left"}},
             {"id": "grey", "type": "grayscale"},
             {"id": "webp", "type": "convert", "inputs": {"format": "webp", "quality": 80}}]
    written = run(nodes, folder, tmp_path / "out")
    assert [p.name for p in written] == ["cat0.webp"]
    with Image.open(written[0]) as img:
        assert img.format == "WEBP" and img.size == (100, 50) and img.mode in ("L", "RGB")


def test_output_mapping_chooses_what_is_written(folder: Path, tmp_path: Path) -> None:
    nodes = [{"id": "load", "type": "load_images"}, {"id": "small", "type": "thumbnail", "inputs": {"size": 32}},
             {"id": "save", "type": "save"}]
    written = run(nodes, folder, tmp_path / "out", {"thumbs": {"node": "small"}})
    assert sorted(p.name for p in written) == ["cat0.png", "cat1.png", "cat2.png"]


@pytest.mark.parametrize(("nodes", "field"), [
    ([{"id": "a", "type": "blur"}], "workflow_config.nodes[0].type"),
    ([{"id": "a", "type": "resize"}], "workflow_config.nodes[0].from"),
    ([{"id": "a", "type": "load_images"}, {"id": "b", "type": "resize", "inputs": {"width": 0}}],
     "workflow_config.nodes[1].inputs.width"),
    ([{"id": "a", "type": "load_images"}, {"id": "b", "type": "convert", "inputs": {"format": "psd"}}],
     "workflow_config.nodes[1].inputs.format"),
    ([{"id": "a", "type": "load_images"}, {"id": "a", "type": "save"}], "workflow_config.nodes[1].id"),
])
def test_bad_nodes_are_refused_naming_the_node(nodes: list[dict], field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_nodes({"nodes": nodes})
    assert caught.value.details["field"] == field


def test_files_outside_the_allowed_roots_are_not_read(folder: Path, tmp_path: Path) -> None:
    outside = tmp_path / "secret.png"
    Image.new("RGB", (10, 10)).save(outside)
    (folder / "link.png").symlink_to(outside)
    specs = parse_nodes({"nodes": [{"id": "load", "type": "load_images"}, {"id": "save", "type": "save"}]})
    job = GraphRun(folder=folder, out_dir=tmp_path / "out", allowed=lambda p: p.is_relative_to(folder),
                   check_cancelled=lambda: None, progress=lambda p, m: None)
    written = run_graph(specs, ["save"], job)
    assert sorted(p.name for p in written) == ["cat0.png", "cat1.png", "cat2.png"]


def mark_of(text: str, background: tuple[int, int, int], **inputs: object) -> Image.Image:
    image = Image.new("RGB", (400, 240), background)
    [marked] = NODE_TYPES["watermark"].apply([NamedImage("x", image)],  # type: ignore[misc]
                                             WatermarkInputs(text=text, **inputs))
    return marked.image


def test_the_default_watermark_shows_on_a_white_image_too() -> None:
    marked = mark_of("montage", (255, 255, 255))  # white text at half opacity: visible by its outline
    darkest = min(sum(marked.getpixel((x, y))) / 3 for x in range(200, 400) for y in range(180, 240))
    assert darkest < 160, darkest
    plain = mark_of("montage", (255, 255, 255), outline=False)
    assert plain.getextrema() == ((255, 255),) * 3  # without the outline it would not


@pytest.mark.skipif(not font_chains().has_cjk, reason="no CJK font installed (fonts-noto-cjk)")
def test_a_chinese_watermark_draws_its_characters_not_boxes() -> None:
    # A font without Han glyphs draws the same "missing" box for every character.
    water, seal = (mark_of(t, (90, 90, 90), size=40, opacity=1.0) for t in ("水", "印"))
    assert water.tobytes() != seal.tobytes()


def test_contact_sheet_labels_stay_in_their_cell_and_small_images_are_not_enlarged_nor_lost_in_big_cells() -> None:
    small = Image.new("RGB", (32, 16), (200, 0, 0))
    images = [NamedImage("猫咪照片_a_very_long_file_name_that_is_wider_than_its_cell", small), NamedImage("b", small)]
    [sheet] = NODE_TYPES["contact_sheet"].apply(images, ContactSheetInputs(columns=2, cell=256))  # type: ignore[misc]
    red = dict((color, n) for n, color in sheet.image.getcolors(1 << 16) or [])[(200, 0, 0)]
    assert red == 2 * 32 * 16  # pasted at its own size, not blown up to the cell
    assert sheet.image.width == 8 + 2 * (32 + 8)  # cells no larger than the largest image
    gap = [sheet.image.getpixel((x, y)) for x in range(8 + 32, 8 + 32 + 8) for y in range(sheet.image.height)]
    assert set(gap) == {(255, 255, 255)}  # the first label was cut before the second cell


@pytest.mark.skipif(not any(f.bitmap_size for f in font_chains().regular),
                    reason="no colour emoji font (fonts-noto-color-emoji)")
def test_an_emoji_watermark_is_drawn_in_colour_with_the_watermarks_opacity() -> None:
    def saturation(image: Image.Image) -> int:
        pixels = np.asarray(image.convert("RGB"), dtype=np.int16)
        return int((pixels.max(axis=2) - pixels.min(axis=2)).max())

    grey = (128, 128, 128)
    assert saturation(mark_of("🎉 party", grey, size=60, opacity=1.0)) > 150
    assert 20 < saturation(mark_of("🎉 party", grey, size=60, opacity=0.3)) < 100


class _Log:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def log(self, text: str, level: str = "info") -> None:
        self.lines.append((text, level))


def test_a_watermark_with_characters_no_font_has_is_a_warning_in_the_jobs_log() -> None:
    specs = parse_nodes({"nodes": [{"id": "load", "type": "load_images"},
                                   {"id": "mark", "type": "watermark", "inputs": {"text": "logo \U000f0001 ok"}},
                                   {"id": "tag", "type": "watermark", "inputs": {"text": "猫 ok"}}]})
    ctx = _Log()
    warn_undrawable(ctx, specs)  # type: ignore[arg-type]
    assert ctx.lines == [("node mark (watermark): no installed font has '\\U000f0001'; drawn as '?'", "warning")]
