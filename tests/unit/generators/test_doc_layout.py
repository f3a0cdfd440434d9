"""Text layout, fonts, Markdown parsing, timing and subtitles of the doc generators, piece by piece."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from montage.generators.builtin.doc.fonts import FontFace, font_chains, missing_glyphs, split_runs, undrawn_warning
from montage.generators.builtin.doc.markdown import parse_markdown
from montage.generators.builtin.doc.render import resample, timeline
from montage.generators.builtin.doc.slidebase import SlideStyle
from montage.generators.builtin.doc.slides import Box, fit_body, render_slide
from montage.generators.builtin.doc.subtitles import Cue, slide_cues, subtitle_pieces, to_srt, to_vtt
from montage.generators.builtin.doc.tables import column_widths
from montage.generators.builtin.doc.text import is_wide, key_phrase, split_sentences, width_units
from montage.generators.builtin.doc.textlayout import GlyphLog, TextPainter, tokens, wrap
from montage.generators.builtin.doc.themes import THEMES
from montage.generators.builtin.doc.tts import AUDIO_QUANTUM_S, espeak_speak, pad_speech


@pytest.fixture(scope="module")
def painter() -> TextPainter:
    return TextPainter(font_chains("SC").regular, 40, GlyphLog())


def test_tokens_split_cjk_per_character_and_latin_per_word() -> None:
    assert tokens("深度 learning is 很好") == ["深", "度", " ", "learning", " ", "is", " ", "很", "好"]


def test_wrapped_lines_never_exceed_the_width(painter: TextPainter) -> None:
    text = ("深度学习（Deep Learning）是机器学习的一个分支，它使用多层神经网络。"
            "A_very_long_identifier_without_any_spaces_that_cannot_fit_on_one_line_at_all and more words. ") * 3
    for width in (120, 333, 800):
        lines = wrap(text, painter, width)
        assert all(painter.width(line) <= width for line in lines)
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")


def test_latin_wraps_between_words(painter: TextPainter) -> None:
    lines = wrap("the quick brown fox jumps over the lazy dog " * 4, painter, 400)
    words = {"the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog"}
    assert len(lines) > 1 and all(set(line.split()) <= words for line in lines)


def test_closing_punctuation_never_starts_a_line(painter: TextPainter) -> None:
    text = "这是一个测试句子，" * 12
    for width in range(150, 600, 37):
        assert not any(line.startswith(("，", "。")) for line in wrap(text, painter, width)[1:])


def test_glyph_helper_finds_missing_characters() -> None:
    chains = font_chains("SC")
    cjk = chains.regular[0]
    assert missing_glyphs("深度学习 Deep learning 123", cjk) == []
    dejavu = next(f for f in chains.regular if "DejaVu" in f.path)
    assert missing_glyphs("深度 ok", dejavu) == ["深", "度"]


def test_runs_give_each_character_to_a_face_that_has_it() -> None:
    chain = font_chains("SC").mono
    missing: set[str] = set()
    runs = split_runs("print('你好')  # ☃ \U000f0000", chain, missing)
    assert "".join(text for _, text in runs) == "print('你好')  # ☃ ?"
    for face, text in runs:
        assert all(face.covers(ch) for ch in text)
    assert missing == {"\U000f0000"}


def test_painter_records_which_face_drew_what() -> None:
    log = GlyphLog()
    chain = font_chains("SC").mono
    image = Image.new("RGB", (400, 60))
    TextPainter(chain, 20, log).draw(ImageDraw.Draw(image), 0, 0, "x = 1  # 注释", (255, 255, 255))
    assert set().union(*log.used.values()) == set("x=1#注释")
    for key, chars in log.used.items():
        path, index = key.rsplit("#", 1)
        assert missing_glyphs(''.join(chars), FontFace(path, int(index))) == []
    assert np.asarray(image).max() > 0


def test_column_widths_give_narrow_columns_their_natural_width() -> None:
    widths = column_widths([100, 80, 2000], 1000, minimum=50)
    assert sum(widths) == pytest.approx(1000)
    assert widths[:2] == pytest.approx([100, 80]) and widths[2] == pytest.approx(820)
    assert column_widths([100, 100], 1000, 50) == pytest.approx([500, 500])


def test_body_that_cannot_fit_is_cut_and_marked() -> None:
    style = SlideStyle(THEMES["default"], font_chains("SC"), GlyphLog(), unit=1.0)
    elements = [{"type": "paragraph", "text": "很长的段落。" * 200}, {"type": "paragraph", "text": "tail"}]
    laid, scale, dropped = fit_body(elements, style, Box(0, 0, 800, 400))
    assert scale == 0.5 and dropped == 1 and len(laid) == 1


def test_rendered_slide_keeps_text_inside_the_image() -> None:
    style = SlideStyle(THEMES["dark"], font_chains("SC"), GlyphLog(), unit=360 / 1080)
    slide = {"index": 2, "kind": "content", "title": "标题 " * 30,
             "elements": [{"type": "code", "language": "python", "code": "x = 1\n" * 60}]}
    for layout in ("classic", "banner", "sidebar"):
        image, result = render_slide(slide, "Deck", 3, style, (640, 360), layout)
        assert image.size == (640, 360) and result.scale <= 1.0


def test_markdown_sections_title_and_blocks() -> None:
    document = parse_markdown("# T\n\nIntro text.\n\n## A\n\n### Sub\n\n- x\n  1. y\n\n## B\n\n> quoted\n\n<b>html</b>")
    assert document.title == "T"
    assert [s.heading for s in document.sections] == ["T", "A", "B"]
    assert document.sections[0].intro
    assert document.sections[1].blocks == [
        {"type": "subheading", "text": "Sub"},
        {"type": "list", "ordered": False, "items": [{"text": "x", "level": 0}, {"text": "y", "level": 1}]},
    ]
    assert document.sections[2].blocks == [{"type": "quote", "text": "quoted"},
                                           {"type": "paragraph", "text": "html"}]


def test_markdown_joins_chinese_soft_breaks_without_spaces() -> None:
    document = parse_markdown("## 标题\n深度学习\n是一个分支\nand English\nwords")
    assert document.sections[0].blocks[0]["text"] == "深度学习是一个分支 and English words"


def test_several_top_headings_are_all_sections() -> None:
    document = parse_markdown("# One\n\ntext\n\n# Two\n\nmore")
    assert document.title == "One" and [s.heading for s in document.sections] == ["One", "Two"]


def test_sentences_clauses_and_key_phrases() -> None:
    assert split_sentences("第一句。第二句！Third one. Fourth?") == ["第一句。", "第二句！", "Third one.", "Fourth?"]
    sentence = "深度学习是机器学习的一个分支，它使用多层神经网络来学习数据的层次化表示"
    assert key_phrase(sentence, 30) == "深度学习是机器学习的一个分支"
    assert width_units("ab中") == 4


def test_clips_are_padded_to_whole_steps_so_frames_line_up() -> None:
    samples, rate = espeak_speak("你好，世界", "cmn")
    clip = pad_speech(samples, rate)
    steps = len(clip) / (rate * AUDIO_QUANTUM_S)
    assert steps == int(steps) and len(clip) > len(samples)
    for fps in (5, 10, 25):
        assert (len(clip) / rate * fps) == pytest.approx(round(len(clip) / rate * fps))


def test_timeline_rounds_the_running_total_onto_frames() -> None:
    pages = [{"index": i, "image": f"p{i}.png"} for i in range(3)]
    segments = timeline(pages, [33075, 33075, 33075], 22050, 5)  # 1.5 s each
    # boundaries at 0, 7.5, 15 and 22.5 frames round (half to even) to 0, 8, 15, 22
    assert [s["frames"] for s in segments] == [8, 7, 7]
    assert sum(s["frames"] for s in segments) == round(4.5 * 5)


def test_resample_keeps_the_duration() -> None:
    assert len(resample(np.zeros(24000, np.int16), 24000, 22050)) == 22050


def test_subtitles_are_cut_and_timed() -> None:
    script = "这是第一句话。这是一个非常非常长的第二句话，它需要被切成几段，才能放在字幕的一行里面显示出来。"
    pieces = subtitle_pieces(script, 20)
    assert all(width_units(p) <= 20 for p in pieces) and len(pieces) >= 4
    cues = slide_cues("One. Two two.", 1.0, 4.0)
    assert cues[0].start == 1.0 and cues[-1].end == 4.0 and cues[0].end <= cues[1].start + 1e-9
    srt = to_srt([Cue(0.0, 1.5, "a"), Cue(3661.25, 3662.0, "b")])
    assert "1\n00:00:00,000 --> 00:00:01,500\na\n" in srt and "01:01:01,250" in srt
    assert to_vtt([Cue(0, 1, "a < b")]).startswith("WEBVTT\n\n00:00:00.000 --> 00:00:01.000\na &lt; b")


def _assert_cut_between_words(text: str, pieces: list[str]) -> None:
    """Each piece is the text as written, in order; only spaces lie between pieces, and a break
    with no space falls next to a wide (CJK) character, never inside a word."""
    at = 0
    for piece in pieces:
        start = text.index(piece, at)
        gap = text[at:start]
        assert not gap.strip(), (gap, pieces)
        if at and not gap:
            boundary = text[at - 1:start + 1]
            assert is_wide(boundary[0]) or is_wide(boundary[1]) or boundary[0] in "…", (boundary, pieces)
        at = start + len(piece)
    assert not text[at:].strip()


def test_subtitles_break_only_between_words_and_keep_punctuation_as_written() -> None:
    english = ("Wait... what happened next? The optimizer adjusts millions of parameters, step by step... "
               "until the predictions match the examples well enough to generalize to supercalifragilistic data.")
    chinese = ("深度学习（Deep Learning）是机器学习的一个分支……它使用多层神经网络 transformers architecture "
               "来学习数据的表示方法和特征，就像 GPT... 那样，效果非常好。")
    for text, limit in ((english, 30), (chinese, 24), (chinese, 40)):
        pieces = subtitle_pieces(text, limit)
        assert len(pieces) >= 4 and all(width_units(p) <= limit + 2 for p in pieces), pieces
        _assert_cut_between_words(text, pieces)
        joined = " ".join(pieces)
        assert ". . ." not in joined and "… …" not in joined and "D e e p" not in joined, pieces
        assert not any(p[0] in "，。、）…" or p[-1] in "（" for p in pieces), pieces
    assert "supercalifragilistic" in subtitle_pieces(english, 12)  # wider than a cue: whole, not cut


COLOUR_FACES = [f for f in font_chains("SC").regular if f.bitmap_size]
needs_emoji_font = pytest.mark.skipif(not COLOUR_FACES, reason="no colour emoji font (fonts-noto-color-emoji)")


def _saturated(image: Image.Image) -> int:
    """Pixels of a clear colour: no grey text or background has them."""
    pixels = np.asarray(image.convert("RGB"), dtype=np.int16)
    return int(((pixels.max(axis=2) - pixels.min(axis=2)) > 80).sum())


@needs_emoji_font
def test_emoji_go_whole_to_the_colour_face() -> None:
    missing: set[str] = set()
    runs = split_runs("ok 👍🏽 ❤️ 👨‍👩‍👧 🇨🇳 1️⃣ ✅ 😀 ❤︎ 1", font_chains("SC").regular, missing)
    colour = [run for face, run in runs if face.bitmap_size]
    assert colour == ["👍🏽", "❤️", "👨‍👩‍👧", "🇨🇳", "1️⃣", "✅", "😀"] and not missing, runs
    # U+FE0E asks for the text glyph: that heart stays with the text faces
    assert [bool(face.bitmap_size) for face, run in runs if "❤" in run] == [True, False]


@needs_emoji_font
@pytest.mark.parametrize("kind", ["regular", "bold", "mono"])
def test_emoji_on_a_slide_are_drawn_in_colour_at_the_texts_size(kind: str) -> None:
    log = GlyphLog()
    painter = TextPainter(getattr(font_chains("SC"), kind), 40, log)
    image = Image.new("RGB", (400, 100), (255, 255, 255))
    end = painter.draw(ImageDraw.Draw(image), 10, 10, "Go 🚀 now", (0, 0, 0))
    assert not log.missing and end == pytest.approx(10 + painter.width("Go 🚀 now"))
    assert _saturated(image) > 300
    ink = image.convert("L").point(lambda v: 255 if v < 250 else 0).getbbox()
    assert ink is not None and ink[1] >= 10 and ink[3] <= 10 + painter.line_height, ink  # within its line
    rocket = painter.width("🚀")
    assert 40 <= rocket <= 60  # about one em of a 40 px font


def test_without_a_colour_face_emoji_become_a_question_mark_and_a_warning_names_them() -> None:
    plain = tuple(f for f in font_chains("SC").regular if not f.bitmap_size)
    missing: set[str] = set()
    runs = split_runs("a 🚀 ❤️", plain, missing)
    assert "".join(run for _, run in runs) == "a ? ❤" and missing == {"🚀"}  # the selector draws nothing
    warning = undrawn_warning(missing)
    assert warning == "no installed font has '🚀'; drawn as '?' (install fonts-noto-color-emoji to draw emoji)"
