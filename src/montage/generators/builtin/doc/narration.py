"""doc.narration: outline → ``narration/narration.json`` and one WAV per slide.

The script is written by the built-in writer (:mod:`.script`) or, when ``llm_base_url`` is
set, by the language model. Speech comes from espeak-ng offline, or from an
OpenAI-compatible ``/audio/speech`` API when ``tts_base_url`` is set. A re-run after a
reviewer's reject writes a longer, more detailed script to new file names.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
from pydantic import Field

from montage.errors import GeneratorError
from montage.generators.base import GeneratorConfig, StageContext
from montage.generators.builtin.doc.files import (
    previous_version,
    read_json,
    revision_record,
    stage_output,
    version_of,
    versioned,
    write_json,
)
from montage.generators.builtin.doc.language import DEFAULT_LANGUAGE, LANGUAGES, Language, language_by_code
from montage.generators.builtin.doc.llm import ChatSettings, chat_json, chat_settings, clip_for_prompt, feedback_prompt
from montage.generators.builtin.doc.script import slide_script
from montage.generators.builtin.doc.text import clip_text, is_wide, strip_symbols_for_speech
from montage.generators.builtin.doc.tts import SpeechApi, api_speak, espeak_speak, pad_speech, write_wav
from montage.generators.registry import register

NARRATION_FILE = "narration/narration.json"

Speaker = Callable[[str], tuple[np.ndarray, int]]


class NarrationConfig(GeneratorConfig):
    """Parameters of doc.narration."""

    rate_wpm: int = Field(165, ge=80, le=400, description="espeak-ng speaking rate, words per minute.")
    pitch: int = Field(50, ge=0, le=99, description="espeak-ng pitch.")
    lead_s: float = Field(0.2, ge=0, le=5, description="Silence before each slide's speech.")
    tail_s: float = Field(0.45, ge=0, le=5, description="Silence after each slide's speech.")
    max_script_chars: int = Field(4000, ge=50, description="A slide's script is cut to this length.")


@register
class NarrationGenerator:
    """Write and speak the narration of every slide."""

    name = "doc.narration"
    Config = NarrationConfig

    def run(self, ctx: StageContext, config: NarrationConfig) -> dict[str, Any]:
        outline_out = stage_output(ctx, "doc.outline")
        outline = read_json(ctx, outline_out["outline"])
        language = language_by_code(outline.get("language"))
        version = version_of(ctx)
        slides = outline["slides"]
        scripts = write_scripts(ctx, outline, language, version, config)
        speaker, engine, voice = make_speaker(ctx, language, config)
        ctx.log(f"narration voice: {engine} {voice} ({language.code})")
        entries = []
        for number, (slide, script) in enumerate(zip(slides, scripts, strict=True), 1):
            ctx.check_cancelled()
            ctx.progress(10 + 85 * (number - 1) / len(slides), f"speaking slide {number}/{len(slides)}")
            entries.append(_speak_slide(ctx, slide, script, speaker, language, version, config))
        total = round(sum(e["duration_s"] for e in entries), 3)
        narration = {"title": outline["title"], "language": language.code, "engine": engine, "voice": voice,
                     "detail": version, "slides": entries, "total_duration_s": total,
                     "outline": outline_out["outline"], **revision_record(ctx, version)}
        relpath = write_json(ctx, versioned(NARRATION_FILE, version), narration, "narration")
        ctx.progress(100, f"{len(entries)} clips, {total:.1f} s")
        return {"kind": self.name, "narration": relpath, "version": version,
                "audio": [e["audio"] for e in entries], "durations": [e["duration_s"] for e in entries],
                "total_duration_s": total, "language": language.code, "engine": engine,
                "feedback": ctx.feedback}


def _speak_slide(ctx: StageContext, slide: dict[str, Any], script: str, speaker: Speaker,
                 language: Language, version: int, config: NarrationConfig) -> dict[str, Any]:
    spoken = speech_text(script, language)
    samples, rate = speaker(spoken) if spoken else (np.zeros(0, np.int16), 22050)
    clip = pad_speech(samples, rate, config.lead_s, config.tail_s)
    relpath = versioned(f"narration/slide_{slide['index']:02d}.wav", version)
    write_wav(ctx.path(relpath), clip, rate)
    ctx.add_artifact(relpath, "narration_audio", "audio/wav")
    return {"index": slide["index"], "title": slide["title"], "script": script, "audio": relpath,
            "sample_rate": rate, "duration_s": round(len(clip) / rate, 4),
            "speech_s": round(len(samples) / rate, 3), "lead_s": config.lead_s}


def speech_text(script: str, language: Language) -> str:
    """What the voice is given: no symbols; no Han characters for a non-Chinese voice."""
    text = strip_symbols_for_speech(script)
    if language.family != "zh":
        text = "".join(" " if is_wide(ch) else ch for ch in text)
    return " ".join(text.split())


def make_speaker(ctx: StageContext, language: Language, config: NarrationConfig) -> tuple[Speaker, str, str]:
    """The speech function for this job: the speech API when configured, else espeak-ng."""
    base = ctx.setting("tts_base_url")
    if base:
        api = SpeechApi(base_url=str(base), model=str(ctx.setting("tts_model") or "tts-1"),
                        voice=str(ctx.setting("tts_voice") or "alloy"), api_key=ctx.setting("tts_api_key"),
                        timeout_s=float(ctx.setting("tts_timeout_s", 120.0)))
        return (lambda text: api_speak(text, api)), "speech-api", api.voice
    voice = language.espeak_voice
    try:
        espeak_speak(".", voice, config.rate_wpm, config.pitch)
    except GeneratorError as exc:
        if exc.code != "TTS_VOICE_MISSING":
            raise
        fallback = LANGUAGES[DEFAULT_LANGUAGE].espeak_voice
        ctx.log(f"espeak-ng voice {voice!r} is missing; speaking with {fallback!r}", "warning")
        voice = fallback
    chosen = voice
    return (lambda text: espeak_speak(text, chosen, config.rate_wpm, config.pitch)), "espeak-ng", voice


def write_scripts(ctx: StageContext, outline: dict[str, Any], language: Language, version: int,
                  config: NarrationConfig) -> list[str]:
    """One script per slide: built-in, then rewritten by the language model when configured."""
    slides = outline["slides"]
    scripts = [slide_script(s, outline, language.family, version, i == len(slides) - 1)
               for i, s in enumerate(slides)]
    settings = chat_settings(ctx)
    if settings is not None:
        ctx.progress(5, "asking the language model for the narration")
        previous = previous_version(ctx, NARRATION_FILE, version)
        scripts = llm_scripts(settings, ctx, outline, scripts, previous)
    return [clip_text(script, config.max_script_chars) for script in scripts]


_NARRATION_SYSTEM = (
    "You write the spoken narration of an explainer video, one script per slide, in the slides' "
    "language, as natural speech (no markdown, no code read aloud). Answer with JSON only: "
    '{"scripts": [{"index": int, "text": str}]}. Keep every slide index.'
)


def llm_scripts(settings: ChatSettings, ctx: StageContext, outline: dict[str, Any], drafts: list[str],
                previous: dict[str, Any] | None) -> list[str]:
    """Scripts written by the model; a slide it skips keeps its built-in draft."""
    brief = [{"index": s["index"], "title": s["title"], "draft": draft}
             for s, draft in zip(outline["slides"], drafts, strict=True)]
    user = f"Language: {outline['language']}.\nSlides:\n" + clip_for_prompt(json.dumps(brief, ensure_ascii=False))
    if previous:
        before = [{"index": s.get("index"), "text": s.get("script")} for s in previous.get("slides", [])]
        user += ("\nThe previous narration (make the new one longer and more detailed):\n"
                 + clip_for_prompt(json.dumps(before, ensure_ascii=False), 8000))
    answer = chat_json(settings, _NARRATION_SYSTEM, user + feedback_prompt(ctx))
    items = answer.get("scripts") if isinstance(answer, dict) else answer
    written: dict[int, str] = {}
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("text"), str) and item["text"].strip():
            written[item.get("index", -1)] = item["text"].strip()
    ctx.log(f"narration written by {settings.model}")
    return [written.get(slide["index"], draft) for slide, draft in zip(outline["slides"], drafts, strict=True)]
