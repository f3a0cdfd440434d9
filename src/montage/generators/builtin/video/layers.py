"""The scene as depth layers: painted once by the media scene painter, kept as YUV planes + alpha.

The media painter (:mod:`..media.scene`) paints a whole scene on one canvas. For parallax the
video needs the same scene in pieces that can move apart, back to front:

- **sky** — gradient, sun or moon, stars, clouds (and a nebula and planet in space); opaque;
- **far** — the first of the setting's far layers (the distant range or skyline);
- **middle** — the rest of them (nearer ranges, tree lines, dunes, the sea), if any;
- **near** — the textured ground, the setting's near layers (trees, dojo, palms, rocks) and
  wet reflections in rain.

All but the sky are painted on a :class:`CoverCanvas`, which starts black and records, next to
the colours, how much of each pixel its paint covered; since the painter blends every shape
with ``rgb += (colour - rgb) * mask``, painting on black gives colours premultiplied by that
coverage, exactly. Each layer is then graded like the painter grades a scene (bloom, tone, the
style's look, grain) and converted once to the YUV 4:2:0 planes x264 takes, with alpha in
0–128 (7 bits, so blending stays in int16). Weather is not painted: it moves, so
:mod:`.effects` draws it per frame.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from montage.generators.builtin.media.palette import Colour, scene_palette
from montage.generators.builtin.media.prompt import PromptAnalysis
from montage.generators.builtin.media.scene import HORIZON, SETTING_LAYERS, _sky
from montage.generators.builtin.media.scene_canvas import Canvas
from montage.generators.builtin.media.scene_grade import STYLE_GRADE, bloom, grain, to_rgb8, tone
from montage.generators.builtin.media.scene_ground import paint_ground, wet_reflection
from montage.generators.builtin.media.scene_sky import paint_nebula, paint_planet
from montage.generators.builtin.media.video import rgb_to_yuv420

Layer = Callable[[Canvas], object]
#: Alpha scale: 128 is opaque (7 bits, so ``(src - dst) * alpha`` fits in int16).
OPAQUE = 128
#: Rows per band: a band is skipped, copied or blended as a whole (even, for the chroma rows).
BAND = 16
#: Far layers that are really sky: additive light behind everything.
SKY_LAYERS = (paint_nebula, paint_planet)


@dataclass
class CoverCanvas(Canvas):
    """A canvas that also records how much of each pixel its paint covered (0–1)."""

    cover: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))

    def paint(self, mask: np.ndarray, colour: Colour | np.ndarray, top: int = 0, left: int = 0,
              opacity: float = 1.0) -> None:
        super().paint(mask, colour, top, left, opacity)
        window = self._window(mask.shape[:2], top, left)
        if window is None:
            return
        region, inner = window
        sub = mask[inner]
        alpha = (sub.max(axis=2) if sub.ndim == 3 else sub) * opacity
        covered = self.cover[region]
        covered += (1.0 - covered) * alpha


@dataclass
class PlanarLayer:
    """One depth layer in YUV 4:2:0, with alpha (None: opaque) and how fast it moves."""

    y: np.ndarray
    u: np.ndarray
    v: np.ndarray
    alpha: np.ndarray | None  # int16 0–128, full size
    alpha_half: np.ndarray | None  # int16 0–128, chroma size
    parallax: float
    #: (first row, last row + 1, "empty" | "opaque" | "mixed") per band of rows.
    bands: list[tuple[int, int, str]]

    @property
    def width(self) -> int:
        return int(self.y.shape[1])

    @property
    def height(self) -> int:
        return int(self.y.shape[0])

    def opaque_from(self) -> int:
        """The first row from which every row down is opaque (the height if none)."""
        row = self.height
        for start, _end, kind in reversed(self.bands):
            if kind != "opaque":
                break
            row = start
        return row


def planar_layer(rgb8: np.ndarray, cover: np.ndarray | None, parallax: float) -> PlanarLayer:
    """A layer from 8-bit RGB and coverage 0–1 (None: opaque); both even-sized."""
    y, u, v = rgb_to_yuv420(rgb8)
    if cover is None:
        bands = [(r, min(r + BAND, y.shape[0]), "opaque") for r in range(0, y.shape[0], BAND)]
        return PlanarLayer(y, u, v, None, None, parallax, bands)
    alpha = np.asarray(np.rint(np.clip(cover, 0.0, 1.0) * OPAQUE), dtype=np.int16)
    half = alpha.reshape(alpha.shape[0] // 2, 2, alpha.shape[1] // 2, 2).mean(axis=(1, 3))
    return PlanarLayer(y, u, v, alpha, np.asarray(np.rint(half), dtype=np.int16), parallax, _bands(alpha))


def _bands(alpha: np.ndarray) -> list[tuple[int, int, str]]:
    bands = []
    for start in range(0, alpha.shape[0], BAND):
        rows = alpha[start:start + BAND]
        low, high = int(rows.min()), int(rows.max())
        kind = "empty" if high == 0 else "opaque" if low == OPAQUE else "mixed"
        bands.append((start, start + rows.shape[0], kind))
    return bands


@dataclass
class PaintedScene:
    """The depth layers as float canvases, back to front, before grading."""

    sky: Canvas
    depths: list[CoverCanvas]  # far, [middle,] near

    @property
    def near(self) -> CoverCanvas:
        return self.depths[-1]


def _cover_canvas(template: Canvas) -> CoverCanvas:
    """A black, uncovered canvas sharing ``template``'s geometry, palette, notes and random stream."""
    shape = template.rgb.shape
    return CoverCanvas(rgb=np.zeros(shape, np.float32), glow=np.zeros(shape, np.float32),
                       horizon=template.horizon, palette=template.palette, analysis=template.analysis,
                       rng=template.rng, notes=template.notes, cover=np.zeros(shape[:2], np.float32))


def _paint_group(sky: Canvas, layers: list[Layer]) -> CoverCanvas:
    canvas = _cover_canvas(sky)
    for layer in layers:
        layer(canvas)
    return canvas


def paint_scene(analysis: PromptAnalysis, width: int, height: int, rng: np.random.Generator) -> PaintedScene:
    """Paint the depth layers in the painter's order (weather and grade left out)."""
    sky = Canvas.blank(width, height, HORIZON.get(analysis.setting, 0.62), scene_palette(analysis), analysis, rng)
    far_layers, near_layers = SETTING_LAYERS[analysis.setting]
    _sky(sky)
    for layer in far_layers:
        if layer in SKY_LAYERS:
            layer(sky)
    distant = [layer for layer in far_layers if layer not in SKY_LAYERS]
    depths = [_paint_group(sky, group) for group in (distant[:1], distant[1:]) if group]
    if "ground_top" in sky.notes:  # the sea is written straight into the pixels: opaque
        depths[-1].cover[sky.horizon:round(sky.notes["ground_top"])] = 1.0
    near = _cover_canvas(sky)
    paint_ground(near)
    near.cover[_ground_top(near):] = 1.0
    for layer in near_layers:
        layer(near)
    scene = PaintedScene(sky, [*depths, near])
    _reflect(scene)
    return scene


def _ground_top(canvas: Canvas) -> int:
    if canvas.analysis.setting == "beach" and "ground_top" in canvas.notes:
        return round(canvas.notes["ground_top"])
    return canvas.horizon


def _flatten(scene: PaintedScene) -> np.ndarray:
    """All layers blended as the painter would have them (premultiplied over)."""
    flat = scene.sky.rgb.copy()
    for layer in scene.depths:
        flat *= 1.0 - layer.cover[..., None]
        flat += layer.rgb
    return flat


def _reflect(scene: PaintedScene) -> None:
    """Rain: the painter's wet reflection of the whole scene, kept in the (opaque) ground rows."""
    if scene.sky.analysis.weather != "rain":
        return
    whole = copy.copy(scene.near)
    whole.rgb = _flatten(scene)
    whole.glow = scene.sky.glow + sum((layer.glow for layer in scene.depths), np.zeros_like(scene.sky.glow))
    wet_reflection(whole)
    top = _ground_top(scene.near)
    scene.near.rgb[top:] = whole.rgb[top:]


def _rows(canvas: Canvas, rows: tuple[int, int]) -> Canvas:
    """A canvas over rows ``rows`` of ``canvas`` (views: painting it paints them)."""
    part = copy.copy(canvas)
    part.rgb, part.glow = canvas.rgb[rows[0]:rows[1]], canvas.glow[rows[0]:rows[1]]
    return part


def _graded(canvas: Canvas, cover: np.ndarray | None, behind: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(graded 8-bit straight colour, the bloom's halo where this layer does not cover)."""
    before = canvas.rgb.copy()
    bloom(canvas)
    halo = canvas.rgb - before
    if cover is None:
        straight = canvas.rgb
        spill = np.zeros_like(halo)
    else:
        covered = cover[..., None]
        # where the layer is transparent its colour is the scene behind it, so edge-finding
        # grades (anime) see the same edges as in the flat picture
        straight = np.where(covered > 1e-3, before / np.maximum(covered, 1e-3), behind) + halo
        spill = halo * (1.0 - covered)
    work = copy.copy(canvas)
    work.rgb = np.asarray(straight, dtype=np.float32)
    tone(work)
    style = STYLE_GRADE.get(canvas.analysis.style)
    if style is not None:
        style(work)
    grain(work, 0.012)
    return to_rgb8(work), spill


def _first_covered(cover: np.ndarray) -> int:
    rows = np.flatnonzero(cover.max(axis=1) > 0)
    return int(rows[0]) // 2 * 2 if rows.size else cover.shape[0]


def _opaque_from(cover: np.ndarray) -> int:
    """The first even row from which every row down is (nearly) fully covered."""
    full = cover.min(axis=1) >= 1.0 - 0.5 / OPAQUE
    open_rows = np.flatnonzero(~full)
    return (int(open_rows[-1]) + 2) // 2 * 2 if open_rows.size else 0


def _visible_rows(scene: PaintedScene) -> list[tuple[int, int]]:
    """Per layer (sky first) the rows that can be seen: from its first painted row down to where
    a layer in front becomes solid."""
    height = scene.sky.rgb.shape[0]
    rows: list[tuple[int, int]] = []
    hidden_from = height
    for layer in reversed(scene.depths):
        rows.append((_first_covered(layer.cover[:hidden_from]), hidden_from))
        hidden_from = min(hidden_from, _opaque_from(layer.cover))
    rows.append((0, hidden_from))
    return rows[::-1]


@dataclass(frozen=True)
class SceneLayers:
    """The planar layers of a scene (back to front) and where its sun is (layer pixels)."""

    layers: list[PlanarLayer]
    sun: tuple[float, float]
    horizon: int


def depth_parallax(count: int, spread: tuple[float, float]) -> list[float]:
    """How fast each of ``count`` layers moves, from ``spread[0]`` (sky) to ``spread[1]`` (near)."""
    if count == 1:
        return [spread[1]]
    return [spread[0] + (spread[1] - spread[0]) * (i / (count - 1)) ** 1.6 for i in range(count)]


def scene_layers(analysis: PromptAnalysis, width: int, height: int, rng: np.random.Generator,
                 spread: tuple[float, float]) -> SceneLayers:
    """The scene as planar layers (back to front) of ``width``×``height`` (even).

    Only the rows of each layer that can be seen are graded: the near layer's ground hides
    everything behind it, and so on back to the sky.
    """
    scene = paint_scene(analysis, width, height, rng)
    flat = _flatten(scene)
    canvases: list[tuple[Canvas, np.ndarray | None]] = [(scene.sky, None)]
    canvases += [(layer, layer.cover) for layer in scene.depths]
    visible = _visible_rows(scene)
    rgb8 = [np.zeros((height, width, 3), np.uint8) for _ in canvases]
    for index in [*range(1, len(canvases)), 0]:  # the sky last: it takes the others' glow
        canvas, cover = canvases[index]
        r0, r1 = visible[index]
        if r0 >= r1:
            continue
        graded, spill = _graded(_rows(canvas, (r0, r1)), None if cover is None else cover[r0:r1], flat[r0:r1])
        rgb8[index][r0:r1] = graded
        scene.sky.rgb[r0:r1] += spill
    speeds = depth_parallax(len(canvases), spread)
    layers = [planar_layer(rgb, cover, speed) for rgb, (_canvas, cover), speed in zip(rgb8, canvases, speeds,
                                                                                      strict=True)]
    hide_covered_rows(layers)
    notes = scene.sky.notes
    return SceneLayers(layers, (notes.get("sun_x", width / 2), notes.get("sun_y", height * 0.2)), scene.sky.horizon)


def hide_covered_rows(layers: list[PlanarLayer]) -> None:
    """Drop the bands of each layer that a layer in front always covers (they share rows)."""
    hidden_from = layers[-1].height
    for layer in reversed(layers):
        own = layer.opaque_from()
        layer.bands = [(start, min(end, hidden_from), kind) for start, end, kind in layer.bands
                       if start < hidden_from and kind != "empty"]
        hidden_from = min(hidden_from, own)
