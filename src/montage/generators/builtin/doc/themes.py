"""Slide themes and layouts, and how a free-form ``style`` picks one.

``style`` is whatever the user typed ("Google 风格", "dark", "极简"…). Keywords pick a
theme; anything else gets the default theme. Each theme lists layout variants in the
order a re-run after a reviewer's reject walks through them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class CodeColors:
    """Syntax colours for code blocks."""

    text: RGB
    keyword: RGB
    string: RGB
    comment: RGB
    number: RGB
    function: RGB


@dataclass(frozen=True)
class Theme:
    """Colours and layouts of one slide theme."""

    name: str
    background: RGB
    title: RGB
    text: RGB
    muted: RGB
    accent: RGB
    #: extra accent colours (bullets, the title-slide bar); the first is ``accent``
    palette: tuple[RGB, ...]
    surface: RGB  # panels: image placeholders, quotes
    code_background: RGB
    code: CodeColors
    table_header: RGB
    table_header_text: RGB
    table_stripe: RGB
    border: RGB
    on_accent: RGB = (255, 255, 255)
    layouts: tuple[str, ...] = field(default=("classic", "banner", "sidebar"))


_LIGHT_CODE = CodeColors(text=(36, 41, 47), keyword=(207, 34, 46), string=(10, 48, 105),
                         comment=(110, 119, 129), number=(5, 80, 174), function=(130, 80, 223))
_DARK_CODE = CodeColors(text=(230, 237, 243), keyword=(255, 123, 114), string=(165, 214, 255),
                        comment=(139, 148, 158), number=(121, 192, 255), function=(210, 168, 255))

THEMES: dict[str, Theme] = {
    theme.name: theme
    for theme in (
        Theme("default", background=(250, 250, 252), title=(28, 32, 48), text=(45, 50, 66),
              muted=(110, 116, 134), accent=(79, 70, 229), palette=((79, 70, 229), (14, 165, 233)),
              surface=(238, 240, 246), code_background=(246, 248, 250), code=_LIGHT_CODE,
              table_header=(79, 70, 229), table_header_text=(255, 255, 255),
              table_stripe=(241, 242, 250), border=(214, 218, 230)),
        Theme("google", background=(255, 255, 255), title=(32, 33, 36), text=(60, 64, 67),
              muted=(95, 99, 104), accent=(26, 115, 232),
              palette=((66, 133, 244), (234, 67, 53), (251, 188, 4), (52, 168, 83)),
              surface=(241, 243, 244), code_background=(248, 249, 250), code=_LIGHT_CODE,
              table_header=(232, 240, 254), table_header_text=(23, 78, 166),
              table_stripe=(248, 249, 250), border=(218, 220, 224)),
        Theme("dark", background=(18, 22, 33), title=(241, 245, 249), text=(203, 213, 225),
              muted=(148, 163, 184), accent=(56, 189, 248), palette=((56, 189, 248), (167, 139, 250)),
              surface=(30, 36, 52), code_background=(13, 17, 23), code=_DARK_CODE,
              table_header=(37, 99, 235), table_header_text=(255, 255, 255),
              table_stripe=(26, 32, 46), border=(51, 65, 85), on_accent=(15, 23, 42),
              layouts=("banner", "classic", "sidebar")),
        Theme("minimal", background=(255, 255, 255), title=(17, 17, 17), text=(38, 38, 38),
              muted=(115, 115, 115), accent=(17, 17, 17), palette=((17, 17, 17), (115, 115, 115)),
              surface=(245, 245, 245), code_background=(247, 247, 247), code=_LIGHT_CODE,
              table_header=(245, 245, 245), table_header_text=(17, 17, 17),
              table_stripe=(250, 250, 250), border=(229, 229, 229),
              layouts=("classic", "sidebar", "banner")),
        Theme("warm", background=(253, 248, 240), title=(67, 40, 24), text=(87, 61, 43),
              muted=(140, 115, 95), accent=(194, 65, 12), palette=((194, 65, 12), (217, 119, 6)),
              surface=(245, 235, 220), code_background=(250, 243, 232), code=_LIGHT_CODE,
              table_header=(194, 65, 12), table_header_text=(255, 255, 255),
              table_stripe=(248, 240, 228), border=(230, 214, 194),
              layouts=("sidebar", "classic", "banner")),
    )
}

DEFAULT_THEME = "default"

_STYLE_KEYWORDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("google", "谷歌", "material"), "google"),
    (("dark", "night", "暗", "深色", "黑", "夜"), "dark"),
    (("minimal", "simple", "clean", "简约", "极简", "简洁", "素"), "minimal"),
    (("warm", "paper", "academic", "暖", "纸", "学术"), "warm"),
    (("default", "默认"), "default"),
)


def theme_for_style(style: str | None) -> tuple[Theme, bool]:
    """The theme a ``style`` asks for, and whether the style was recognised."""
    if not style:
        return THEMES[DEFAULT_THEME], True
    lowered = style.lower()
    if lowered.strip() in THEMES:
        return THEMES[lowered.strip()], True
    for keywords, name in _STYLE_KEYWORDS:
        if any(word in lowered for word in keywords):
            return THEMES[name], True
    return THEMES[DEFAULT_THEME], False


def layout_for_version(theme: Theme, version: int) -> str:
    """The layout of the ``version``-th rendering: each reject moves to the next variant."""
    return theme.layouts[(max(version, 1) - 1) % len(theme.layouts)]
